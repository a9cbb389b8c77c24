"""Bench: the power planner checked on the simulated provider (writer -> 3-judge panel -> tests).

Times `provider_power_check` end to end and per judged pair (calibration + all studies).

    /root/ug/bin/python bench/power_check.py --shift 0.25 --cells 3 --replicates 60 --calibration-pairs 6000
"""

from __future__ import annotations

import argparse
import time

from utility_gap.pipeline.power_check import provider_power_check


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shift", type=float, default=0.25)
    parser.add_argument("--cells", type=int, default=3)
    parser.add_argument("--replicates", type=int, default=60)
    parser.add_argument("--calibration-pairs", type=int, default=6000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    start = time.perf_counter()
    check = provider_power_check(args.shift, cells=args.cells, replicates=args.replicates, seed=args.seed,
                                 calibration_pairs=args.calibration_pairs)
    elapsed = time.perf_counter() - start
    pairs = args.calibration_pairs + args.replicates * args.cells * check.pairs_per_cell
    print(check.summary())
    print(f"{pairs} judged pairs in {elapsed:.1f} s ({1000 * elapsed / pairs:.2f} ms/pair)")


if __name__ == "__main__":
    main()
