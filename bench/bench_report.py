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
      .venv/bin/python bench/bench_report.py --real --pairs 50000 --before REV   # A/B against REV's report

Synthetic samples carry no events or messages; real logs do (every model call), which
makes full sample reads several times slower per sample. `--real` uses real logs: a base
run (the four writing tasks on the simulated writer with three simulated judges, pairwise
and rubric scorers, `--base-pairs` pairs; slow, about 1 s a pair on this loaded machine)
generated once into bench/.cache/real-base, then, for more pairs than that, replicated
through Inspect's log API into one log per (model, task) in bench/.cache/real-logs-N
(`bench/replicated_logs.py` says what a replica changes: model, ids, repeats, and each
output text, replaced by a distinct 120-700-word text so that features cost what real
outputs cost). Neither is committed.

Without `--before`, one process times `read_frames(summaries=False)` (the reader before
sample summaries held every frame), `read_frames()` and `write_report` with each, and
checks the frames agree. With `--before REV`, whole report processes are timed instead,
alternating REV's code (`git archive REV`, imported ahead of this checkout) and this
checkout's, on the same logs (`--rounds` pairs); each prints its wall, CPU and peak
memory, and every table CSV of the two reports must be byte-identical. `--check-features N`
also measures the texts of N logs again and checks the recorded features frame equals it.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the synthetic-log fixture

from utility_gap.analysis.frames import judged_pairs_frame, read_frames  # noqa: E402
from utility_gap.analysis.report import write_report  # noqa: E402

MODELS = ("sim/alpha", "sim/beta", "sim/gamma", "sim/delta")
TASKS = ("essay", "grant_abstract", "incident_postmortem", "translation")
CONTRASTS = (("exhort_vs_neutral", 0.8), ("sandbag_vs_neutral", -0.8), ("utility_high_vs_utility_low", 0.0))
N_ITEMS = 30


def generate(log_dir: Path, pairs: int) -> int:
    """Write the logs unless a previous run left the same set; returns the number of pairs."""
    from synthetic_logs import SyntheticRun, write_synthetic_logs

    manifest = log_dir / "bench_manifest.txt"
    cells = len(MODELS) * len(TASKS) * len(CONTRASTS)
    repeats = math.ceil(pairs / cells / N_ITEMS)
    total = cells * N_ITEMS * repeats
    if manifest.is_file() and manifest.read_text().strip() == str(total):
        return total
    log_dir.mkdir(parents=True, exist_ok=True)
    manifest.unlink(missing_ok=True)  # first: an interrupted generation leaves no manifest of a set it deleted
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
    manifest.unlink(missing_ok=True)  # first: an interrupted generation leaves no manifest of a set it deleted
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


def real_logs(cache: Path, pairs: int, base_pairs: int, copies: int, workers: int) -> tuple[Path, int]:
    """Real logs of at least `pairs` pairs: the base run itself, or its replicas (built once)."""
    base = generate_real(cache / "real-base", base_pairs)
    if pairs <= base:
        return cache / "real-base", base
    from replicated_logs import replicate_logs

    models = math.ceil(pairs / (base * copies))
    total = base * copies * models
    log_dir = cache / f"real-logs-{total}"
    manifest = log_dir / "bench_manifest.txt"
    if manifest.is_file() and manifest.read_text().strip() == f"replicated {total}":
        return log_dir, total
    shutil.rmtree(log_dir, ignore_errors=True)
    start = time.perf_counter()
    replicate_logs(cache / "real-base", log_dir, models=models, copies=copies, workers=workers)
    print(f"replicated {base} real pairs into {total} ({models} models x {copies} copies) "
          f"in {time.perf_counter() - start:.1f} s")
    manifest.write_text(f"replicated {total}")
    return log_dir, total


def existing_real(log_dir: Path) -> int | None:
    """The pairs of a real-log folder this bench made (base run or replicas), or None.

    A `--logs` folder of replicas is used as it is: regenerating it as a base run would
    delete its logs and start an hour-long eval.
    """
    manifest = log_dir / "bench_manifest.txt"
    kind, _, total = (manifest.read_text().strip() if manifest.is_file() else "").partition(" ")
    if kind in ("real", "replicated") and total.isdigit() and any(log_dir.glob("*.eval")):
        return int(total)
    return None


def source_of(rev: str, cache: Path) -> Path:
    """A directory that imports as `utility_gap` with the code of git revision `rev` (extracted once)."""
    repo = Path(__file__).resolve().parents[1]
    commit = subprocess.run(["git", "-C", str(repo), "rev-parse", rev], check=True, capture_output=True,
                            text=True).stdout.strip()
    root = cache / f"src-{commit[:12]}"
    package = root / "pkg" / "utility_gap"
    if not package.is_dir():
        (root / "src").mkdir(parents=True, exist_ok=True)
        folders = ["analysis", "evals", "solvers", "scorers", "models", "pipeline", "datasets"]
        archive = subprocess.run(["git", "-C", str(repo), "archive", commit, *folders], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(root / "src")], input=archive, check=True)
        package.mkdir(parents=True)
        for folder in folders:
            (package / folder).symlink_to(root / "src" / folder)
    return root / "pkg"


def one_report(logs: Path, out: Path, cache: Path | None) -> None:
    """The child process of an A/B round: one report, its timings as JSON on the last line."""
    settings = None
    if cache is not None:  # only this checkout's code has the frames cache
        from utility_gap.analysis.report import ReportSettings

        settings = ReportSettings(frames_cache=cache)
    start = time.perf_counter()
    write_report(logs, out, *([settings] if settings is not None else []))
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({"wall": round(wall, 1), "cpu": round(usage.ru_utime + usage.ru_stime, 1),
                      "cpu_children": round(children.ru_utime + children.ru_stime, 1),
                      "peak_mib": round(usage.ru_maxrss / 1024), "peak_children_mib": round(children.ru_maxrss / 1024)}))


def ab_reports(logs: Path, out: Path, before: Path, rounds: int) -> list[dict[str, object]]:
    """Whole report processes, `rounds` times: REV's code, then this checkout's with an empty
    frames cache (a first report) and again with the cache it filled (a repeat report).
    Every table CSV must be the same in all three."""
    rows: list[dict[str, object]] = []
    variants = (("before", str(before), False), ("now-first", "", True), ("now-repeat", "", False))
    for round_ in range(rounds):
        cache = out / "frames-cache"
        for label, pythonpath, empty_cache in variants:
            env = {**os.environ, "PYTHONPATH": pythonpath}
            target = out / label
            command = [sys.executable, __file__, "--one-report", "--logs", str(logs), "--out", str(target)]
            if label != "before":
                if empty_cache:
                    shutil.rmtree(cache, ignore_errors=True)
                command += ["--cache", str(cache)]
            load = os.getloadavg()[0]
            start = time.perf_counter()
            result = subprocess.run(command, env=env, capture_output=True, text=True)
            process_wall = round(time.perf_counter() - start, 1)  # what a user waits: with Python's start and imports
            if result.returncode != 0:
                raise SystemExit(f"{label} report failed:\n{result.stderr[-3000:]}")
            timing = json.loads(result.stdout.strip().splitlines()[-1])
            rows.append({"round": round_ + 1, "code": label, "load_avg_1min": round(load, 1), **timing,
                         "process_wall": process_wall})
            print(rows[-1], flush=True)
    before_tables = sorted(p.name for p in (out / "before" / "tables").glob("*.csv"))
    for label in ("now-first", "now-repeat"):
        tables = sorted(p.name for p in (out / label / "tables").glob("*.csv"))
        if tables != before_tables:
            raise SystemExit(f"{label} and before hold different tables: {sorted(set(tables) ^ set(before_tables))}")
        differ = [t for t in tables if not filecmp.cmp(out / label / "tables" / t, out / "before" / "tables" / t,
                                                       shallow=False)]
        if differ:
            raise SystemExit(f"tables differ between {label} and before: {differ}")
    print(f"all {len(before_tables)} table CSVs identical in the three reports")
    return rows


def check_features(logs: Path, n_logs: int) -> None:
    """Recorded features (summaries) against the texts of `n_logs` logs measured again."""
    from utility_gap.analysis.frames import features_frame

    frames = read_frames(logs, detail=False)
    recorded = features_frame(logs, frames=frames)
    chosen = [s.log for s in frames.logs if s.kind == "pairs"][:n_logs]
    for log in chosen:
        frames.recorded_features.pop(log)
    start = time.perf_counter()
    measured = features_frame(logs, frames=frames)
    print(f"measured the texts of {n_logs} logs again in {time.perf_counter() - start:.1f} s")
    assert measured.equals(recorded), "recorded features differ from the texts measured again"
    print(f"features frame identical ({len(recorded)} rows; {n_logs} logs measured, the rest recorded)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=50_000)
    parser.add_argument("--real", action="store_true", help="real logs with events (generated once, cached)")
    parser.add_argument("--base-pairs", type=int, default=720, help="pairs of the real base run (--real)")
    parser.add_argument("--copies", type=int, default=7, help="replicas of each base sample per log (--real)")
    parser.add_argument("--workers", type=int, default=2, help="processes replicating logs (--real)")
    parser.add_argument("--logs", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=Path("/tmp/utility-gap-bench/report"))
    parser.add_argument("--before", default=None, help="git revision whose report to time against this one")
    parser.add_argument("--rounds", type=int, default=1, help="A/B rounds with --before")
    parser.add_argument("--check-features", type=int, default=0, metavar="N",
                        help="measure N logs' texts again and compare with the recorded features")
    parser.add_argument("--one-report", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--cache", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_report:
        one_report(args.logs, args.out, args.cache)
        return
    cache = Path(__file__).resolve().parent / ".cache"
    if args.real:
        if args.logs is None:
            args.logs, total = real_logs(cache, args.pairs, args.base_pairs, args.copies, args.workers)
        else:
            total = existing_real(args.logs) or generate_real(args.logs, args.pairs)
    else:
        args.logs = args.logs or cache / "synthetic-logs"
        total = generate(args.logs, args.pairs)
    size = sum(p.stat().st_size for p in args.logs.glob("*.eval")) / 1e6
    if args.check_features:
        check_features(args.logs, args.check_features)
    if args.before is not None:
        rows = ab_reports(args.logs, args.out, source_of(args.before, cache), args.rounds)
        print(json.dumps({"pairs": total, "logs_mb": round(size, 1), "cpus": os.cpu_count(), "runs": rows}))
        return

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
