"""Bench: Stage 2 throughput on the simulated provider (writer + three simulated judges).

Measures wall time for one `essay` run of `--samples` paired samples (two generations and
six judge calls each), i.e. the suite's own overhead per judged pair.

    /root/ug/bin/python bench/stage2_simulated.py --samples 120
"""

from __future__ import annotations

import argparse
import tempfile
import time

from inspect_ai import eval
from inspect_ai.model import get_model

from utility_gap.evals.writing import essay


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=120, help="paired samples (items x 2 contrasts x repeats)")
    args = parser.parse_args()
    items = 10
    repeats = max(1, args.samples // (items * 2))
    roles = {f"judge{i}": get_model("simulated/judge", memoize=False, seed=i) for i in (1, 2, 3)}
    with tempfile.TemporaryDirectory() as log_dir:
        start = time.perf_counter()
        (log,) = eval(
            essay,
            task_args={"contrast": "exhort_vs_neutral,sandbag_vs_neutral", "items": items, "repeats": repeats},
            model="simulated/writer",
            model_args={"shifts": "exhort:0.8,sandbag:-0.8"},
            model_roles=roles,
            log_dir=log_dir,
            display="none",
        )
        elapsed = time.perf_counter() - start
        n = len(log.samples or [])
    print(f"stage2 simulated: {n} judged pairs in {elapsed:.1f}s ({elapsed / n * 1000:.0f} ms/pair), status {log.status}")


if __name__ == "__main__":
    main()
