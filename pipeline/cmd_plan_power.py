"""`utility-gap plan-power`: pairs per cell (and items x repeats) for a smallest effect of interest.

Example: `utility-gap plan-power --effect 0.05 --cells 28 --ties 0.1` -> how many judged
pairs each (model, task) cell needs so the exact binomial test at alpha/28 detects a win
rate of 0.55 with 80% power, and how many confirm a null by TOST. `--simulate N` checks
the answer by simulating N studies.
"""

from __future__ import annotations

import argparse
import json

from utility_gap.analysis.power_planner import plan_power, simulate_power
from utility_gap.analysis.win_rates import FrameError
from utility_gap.pipeline.errors import CommandError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--effect", type=float, required=True,
                        help="smallest effect of interest: win rate 0.5 + EFFECT (e.g. 0.05)")
    parser.add_argument("--cells", type=int, required=True,
                        help="cells in the comparison, e.g. models x tasks (sets the family-wise alpha/cells)")
    parser.add_argument("--ties", type=float, default=0.0, help="expected tie share of judged pairs (default 0)")
    parser.add_argument("--alpha", type=float, default=0.05, help="family-wise alpha (default 0.05)")
    parser.add_argument("--power", type=float, default=0.8, help="target power per cell (default 0.8)")
    parser.add_argument("--per-test", action="store_true",
                        help="use alpha per cell instead of alpha/cells (no family-wise correction)")
    parser.add_argument("--items", type=int, nargs="+", default=[30, 20, 10],
                        help="item counts to suggest repeats for (default: 30 20 10)")
    parser.add_argument("--simulate", type=int, default=0, metavar="N",
                        help="also simulate N studies at the planned size to check the power (default: off)")
    parser.add_argument("--seed", type=int, default=0, help="seed for --simulate (default 0)")
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")


def run(args: argparse.Namespace) -> int:
    if any(i < 1 for i in args.items):
        raise CommandError(f"--items must be positive integers; got {args.items}.")
    if args.simulate < 0:
        raise CommandError(f"--simulate must be >= 0; got {args.simulate}.")
    try:
        plan = plan_power(args.effect, args.cells, ties=args.ties, alpha=args.alpha, power=args.power,
                          family_wise=not args.per_test, item_counts=args.items)
    except FrameError as ex:
        raise CommandError(str(ex)) from None
    simulated = None
    if args.simulate:
        simulated = simulate_power(plan.pairs_per_cell, args.cells, args.effect, ties=args.ties, alpha=args.alpha,
                                   family_wise=not args.per_test, n_sims=args.simulate, seed=args.seed)
    if args.json:
        out = plan.to_dict()
        if simulated is not None:
            out["simulation"] = simulated.__dict__
        print(json.dumps(out, indent=2))
        return 0
    print(plan.summary())
    if simulated is not None:
        print(f"Simulated ({simulated.n_sims} studies, seed {args.seed}): per-cell power "
              f"{simulated.per_test_power:.3f} +- {simulated.per_test_power_se:.3f} "
              f"(planned {plan.expected_power:.3f}); after Holm {simulated.holm_power:.3f}")
    return 0
