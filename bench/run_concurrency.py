"""What one eval at a time costs: `utility-gap run` wall time, Stages 2-3 one eval at a time vs in parallel.

Since #9 the run's eval set runs one eval at a time with at most `--max-connections`
samples in flight, so an interrupt loses at most that many samples. Before, Inspect's
default ran up to ten evals at once, each with that many samples in flight. This times
a simulated study (calls that take `--latency` seconds, like an API) both ways, in turn
(A B A B ...), each as its own process, and prints every pair's wall times and ratio.

    .venv/bin/python bench/run_concurrency.py --pairs 3 --latency 0.2 --items 6
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_CHILD = """
import sys
import utility_gap.pipeline.log_writes as run_module  # where the run calls eval_set
from utility_gap.pipeline.cli import main
if sys.argv[1] == "parallel":  # the eval set as before: Inspect's default task parallelism
    original = run_module.eval_set
    def parallel(*args, **kwargs):
        kwargs.pop("max_tasks", None)
        kwargs.pop("max_samples", None)
        return original(*args, **kwargs)
    run_module.eval_set = parallel
sys.exit(main(sys.argv[2:]))
"""


def _run(mode: str, args: argparse.Namespace) -> float:
    with tempfile.TemporaryDirectory(prefix="bench-concurrency-") as out:
        command = [
            sys.executable, "-c", _CHILD, mode, "run", "--model", "simulated/subject", "-M", f"latency={args.latency}",
            *[flag for _ in range(args.judges) for flag in ("--judge", "simulated/judge")], "-J", f"latency={args.latency}",
            "--items", str(args.items), "--max-connections", str(args.connections), "--display", "none", "--out", out,
        ]
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, cwd=Path(out))
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=3, help="A/B pairs of runs")
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per simulated call")
    parser.add_argument("--items", type=int, default=6, help="items per writing task (4 tasks, 2 contrasts)")
    parser.add_argument("--judges", type=int, default=3)
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args()
    ratios = []
    for pair in range(args.pairs):
        one, parallel = _run("one", args), _run("parallel", args)
        ratios.append(one / parallel)
        print(f"pair {pair + 1}: one eval at a time {one:.1f} s, parallel evals {parallel:.1f} s, ratio {one / parallel:.3f}")
    print(f"median ratio (one at a time / parallel): {statistics.median(ratios):.3f} "
          f"(min {min(ratios):.3f}, max {max(ratios):.3f})")


if __name__ == "__main__":
    main()
