"""Benchmark: ~50k judged pairs of logs -> frames -> report, today's reader and the full-sample one side by side.

Synthetic logs (`tests/synthetic_logs.py`: real `EvalLog`s written with
`write_eval_log`, no model calls) follow the paired-writing contract: 4 models x 4 tasks
x 3 contrasts, 3 judges, 2 presentations each, rubric scores. They are generated once
into --logs (reused when present with the same size) and the timed part is:

1. `judged_pairs_frame` (sample summaries only),
2. `read_frames` (full samples: verdicts and rubric frames too),
3. `write_report` (frames, every statistic, every figure, atomic swap).

Run:  .venv/bin/python bench/bench_report.py [--pairs 50000] [--logs DIR] [--out DIR]
      .venv/bin/python bench/bench_report.py --real --pairs 50000   # real logs, with events

Synthetic samples carry no events or messages; real logs do (every model call), which
makes full sample reads several times slower per sample. `--real` generates real logs
once (the four writing tasks run on the simulated writer with three simulated judges,
pairwise and rubric scorers: slow, about 80 ms a pair on 2 cores) into
bench/.cache/real-logs (not committed) and reuses them. Each run times, in one process:
`read_frames(summaries=False)` (the reader before sample summaries held every frame),
`read_frames()` (summaries), and `write_report` with each, and checks the frames agree.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the synthetic-log fixture

from utility_gap.analysis.frames import judged_pairs_frame, read_frames  # noqa: E402
from utility_gap.analysis.report import write_report  # noqa: E402
from synthetic_logs import SyntheticRun, write_synthetic_logs  # noqa: E402

MODELS = ("sim/alpha", "sim/beta", "sim/gamma", "sim/delta")
TASKS = ("essay", "grant_abstract", "incident_postmortem", "translation")
CONTRASTS = (("exhort_vs_neutral", 0.8), ("sandbag_vs_neutral", -0.8), ("utility_high_vs_utility_low", 0.0))
N_ITEMS = 30


def generate(log_dir: Path, pairs: int) -> int:
    """Write the logs unless a previous run left the same set; returns the number of pairs."""
    manifest = log_dir / "bench_manifest.txt"
    cells = len(MODELS) * len(TASKS) * len(CONTRASTS)
    repeats = math.ceil(pairs / cells / N_ITEMS)
    total = cells * N_ITEMS * repeats
    if manifest.is_file() and manifest.read_text().strip() == str(total):
        return total
    log_dir.mkdir(parents=True, exist_ok=True)
    for old in log_dir.glob("*.eval"):
        old.unlink()
    runs = [
        SyntheticRun(model=model, task=task, contrast=contrast, shift=shift, n_items=N_ITEMS, repeats=repeats,
                     seed=seed, flag_rate=0.01, missing_rate=0.02, output_words=120)
        for seed, (model, task, (contrast, shift)) in enumerate(
            (m, t, c) for m in MODELS for t in TASKS for c in CONTRASTS
        )
    ]
    start = time.perf_counter()
    write_synthetic_logs(str(log_dir), runs)
    print(f"generated {total} pairs in {len(runs)} logs in {time.perf_counter() - start:.1f} s")
    manifest.write_text(str(total))
    return total


def generate_real(log_dir: Path, pairs: int) -> int:
    """Real logs with events (simulated writer and judges), generated once; returns the pairs."""
    from inspect_ai import eval as inspect_eval
    from inspect_ai.model import get_model

    from utility_gap.evals.writing import essay, grant_abstract, incident_postmortem, translation

    manifest = log_dir / "bench_manifest.txt"
    tasks = (essay, grant_abstract, incident_postmortem, translation)
    repeats = math.ceil(pairs / len(tasks) / N_ITEMS / 2)
    total = len(tasks) * N_ITEMS * 2 * repeats
    if manifest.is_file() and manifest.read_text().strip() == f"real {total}":
        return total
    log_dir.mkdir(parents=True, exist_ok=True)
    for old in log_dir.glob("*.eval"):
        old.unlink()
    start = time.perf_counter()
    judges = {"judge": [get_model("simulated/judge", memoize=False, seed=s) for s in (1, 2, 3)]}
    inspect_eval(
        [t(contrast="exhort_vs_neutral,sandbag_vs_neutral", items=N_ITEMS, repeats=repeats, scorer="both") for t in tasks],
        model=get_model("simulated/writer", memoize=False, shifts="exhort:0.8,sandbag:-0.8"),
        model_roles=judges, log_dir=str(log_dir), display="none", max_samples=200, max_connections=400,
    )
    print(f"generated {total} real pairs in {time.perf_counter() - start:.1f} s")
    manifest.write_text(f"real {total}")
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=50_000)
    parser.add_argument("--real", action="store_true", help="real logs with events (generated once, cached)")
    parser.add_argument("--logs", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=Path("/tmp/utility-gap-bench/report"))
    args = parser.parse_args()
    cache = Path(__file__).resolve().parent / ".cache"
    if args.real:
        args.logs = args.logs or cache / "real-logs"
        total = generate_real(args.logs, args.pairs)
    else:
        args.logs = args.logs or cache / "synthetic-logs"
        total = generate(args.logs, args.pairs)
    size = sum(p.stat().st_size for p in args.logs.glob("*.eval")) / 1e6

    from utility_gap.analysis.report import writer

    timings: dict[str, float] = {}
    start = time.perf_counter()
    pairs = judged_pairs_frame(args.logs)
    timings["judged_pairs_frame"] = time.perf_counter() - start
    start = time.perf_counter()
    full = read_frames(args.logs, summaries=False)
    timings["read_frames, full samples (before)"] = time.perf_counter() - start
    start = time.perf_counter()
    frames = read_frames(args.logs)
    timings["read_frames, summaries (now)"] = time.perf_counter() - start
    for name in ("pairs", "verdicts", "outputs", "controls"):
        assert getattr(full, name).equals(getattr(frames, name)), f"the {name} frames differ"
    original = writer.read_frames
    writer.read_frames = lambda *a, **k: original(*a, **k, summaries=False)  # type: ignore[assignment]
    start = time.perf_counter()
    write_report(args.logs, args.out)
    timings["write_report, full samples (before)"] = time.perf_counter() - start
    writer.read_frames = original  # type: ignore[assignment]
    start = time.perf_counter()
    write_report(args.logs, args.out)
    timings["write_report, summaries (now)"] = time.perf_counter() - start

    assert len(pairs) == len(frames.pairs) == total - sum(s.n_no_verdict for s in frames.logs)
    for name, seconds in timings.items():
        print(f"{name:42s} {seconds:6.1f} s")
    print(json.dumps({"pairs": total, "logs_mb": round(size, 1), "cpus": os.cpu_count(),
                      **{k: round(v, 1) for k, v in timings.items()}}))


if __name__ == "__main__":
    main()
