"""Bench: coverage of the crossed and the cell bootstrap on planted model and task random effects.

Each study draws its own models and tasks from a population (`tests/planted_crossed.py`):
cell (i, j) has true win rate 0.55 + a_i + b_j + e_ij with a_i ~ N(0, sd_model),
b_j ~ N(0, sd_task), e_ij ~ N(0, sd_cell), then `pairs` judged pairs (10% ties). The
equal-cell aggregate's 95% interval should cover 0.55 in 95% of studies. For each design
the script runs both bootstraps (`aggregate_win_rates(method=...)`, min_levels lowered to 2
so the few-level designs are measured too) and prints coverage +- its binomial SE and the
mean interval width.

    .venv/bin/python bench/bootstrap_coverage.py --studies 1000 --replicates 1000

Designs: the planted one the tests use (6 x 5), a larger one (8 x 6), the published
study's shape (7 models x 4 tasks), many levels (12 x 10), no model/task effects (both
cover; the crossed interval is wider than needed), and task effects that dominate with
8, 5, 4 and 3 tasks (what few levels on the dominant factor do: why intervals over fewer
than 5 levels are withheld by default).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the planted-data fixture

from planted_crossed import planted_crossed_studies  # noqa: E402

from utility_gap.analysis.win_rates import aggregate_win_rates  # noqa: E402

# name: (models, tasks, pairs per cell, sd_model, sd_task, sd_cell)
DESIGNS = {
    "6x5 (tests)": (6, 5, 40, 0.06, 0.06, 0.02),
    "8x6": (8, 6, 40, 0.06, 0.06, 0.02),
    "7x4 (published shape)": (7, 4, 40, 0.06, 0.06, 0.02),
    "12x10": (12, 10, 40, 0.06, 0.06, 0.02),
    "8x6, no model/task effects": (8, 6, 40, 0.0, 0.0, 0.02),
    "7x8, task effects dominate": (7, 8, 40, 0.02, 0.10, 0.02),
    "7x5, task effects dominate": (7, 5, 40, 0.02, 0.10, 0.02),
    "7x4, task effects dominate": (7, 4, 40, 0.02, 0.10, 0.02),
    "7x3, task effects dominate": (7, 3, 40, 0.02, 0.10, 0.02),
}
MEAN = 0.55


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=1000)
    parser.add_argument("--replicates", type=int, default=1000, help="bootstrap replicates per interval")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--designs", nargs="*", default=list(DESIGNS), choices=list(DESIGNS))
    args = parser.parse_args()
    print(f"{args.studies} studies per design, {args.replicates} bootstrap replicates, planted mean {MEAN}")
    print(f"{'design':28} {'sd model/task/cell':>20} {'method':>8} {'coverage':>16} {'width':>7} {'s':>6}")
    for name in args.designs:
        models, tasks, pairs, sd_m, sd_t, sd_c = DESIGNS[name]
        rng = np.random.default_rng(args.seed)
        frame = planted_crossed_studies(rng, args.studies, models, tasks, pairs, mean=MEAN,
                                        sd_model=sd_m, sd_task=sd_t, sd_cell=sd_c)
        for method in ("crossed", "cell"):
            start = time.perf_counter()
            agg = aggregate_win_rates(frame, comparison=("study",), n_boot=args.replicates, seed=1,
                                      method=method, min_levels=2)
            seconds = time.perf_counter() - start
            covered = ((agg["boot_ci_low"] <= MEAN) & (agg["boot_ci_high"] >= MEAN)).to_numpy()
            share = covered.mean()
            se = np.sqrt(share * (1 - share) / len(covered))
            width = (agg["boot_ci_high"] - agg["boot_ci_low"]).mean()
            print(f"{name:28} {f'{sd_m}/{sd_t}/{sd_c}':>20} {method:>8} {share:8.3f} ± {se:.3f} {width:7.3f} "
                  f"{seconds:6.1f}", flush=True)


if __name__ == "__main__":
    main()
