"""`utility-gap plan-power`: pairs per cell (and items x repeats) for a smallest effect of interest.

Example: `utility-gap plan-power --effect 0.05 --cells 28 --ties 0.1` -> how many judged
pairs each (model, task) cell needs so the exact binomial test at alpha/28 detects a win
rate of 0.55 with 80% power, and how many confirm a null by TOST. `--simulate N` checks
the answer by simulating N studies.

`utility-gap plan-power --check-on-provider --shift 0.25 --cells 3 [--replicates 50]`
checks the planner on the simulated provider instead: it measures the win rate and tie
share that a planted `exhort` shift produces through the real writer -> judge-panel chain,
plans pairs per cell for that effect and runs the studies (`pipeline.power_check`).
"""

from __future__ import annotations

import argparse
import json

from utility_gap.pipeline.power_check import DEFAULT_CALIBRATION_PAIRS, provider_power_check
from utility_gap.analysis.power_planner import plan_power, simulate_power
from utility_gap.analysis.win_rates import FrameError
from utility_gap.pipeline.errors import CommandError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--effect", type=float, default=None,
                        help="smallest effect of interest: win rate 0.5 + EFFECT (e.g. 0.05); "
                             "required unless --check-on-provider")
    parser.add_argument("--cells", type=int, required=True,
                        help="cells in the comparison, e.g. models x tasks (sets the family-wise alpha/cells)")
    parser.add_argument("--ties", type=float, default=None, help="expected tie share of judged pairs (default 0)")
    parser.add_argument("--alpha", type=float, default=0.05, help="family-wise alpha (default 0.05)")
    parser.add_argument("--power", type=float, default=0.8, help="target power per cell (default 0.8)")
    parser.add_argument("--per-test", action="store_true",
                        help="use alpha per cell instead of alpha/cells (no family-wise correction)")
    parser.add_argument("--items", type=int, nargs="+", default=[30, 20, 10],
                        help="item counts to suggest repeats for (default: 30 20 10)")
    parser.add_argument("--simulate", type=int, default=0, metavar="N",
                        help="also simulate N studies at the planned size to check the power (default: off)")
    parser.add_argument("--seed", type=int, default=0, help="seed for --simulate / --check-on-provider (default 0)")
    check = parser.add_argument_group("check on the simulated provider")
    check.add_argument("--check-on-provider", action="store_true",
                       help="measure the effect a planted --shift produces on simulated/writer + 3 simulated/judge "
                            "seats, plan for it and check the power over --replicates simulated studies")
    check.add_argument("--shift", type=float, default=None,
                       help="planted quality shift of the exhort arm (simulated/writer -M shifts=exhort:SHIFT)")
    check.add_argument("--replicates", type=int, default=50, help="simulated studies to run (default 50)")
    check.add_argument("--calibration-pairs", type=int, default=DEFAULT_CALIBRATION_PAIRS,
                       help=f"pairs judged to measure the win rate and tie share (default {DEFAULT_CALIBRATION_PAIRS})")
    check.add_argument("--pairs-per-cell", type=int, default=None,
                       help="check this size instead of the planned one (needed for a null shift, e.g. 0)")
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")


def run(args: argparse.Namespace) -> int:
    if args.check_on_provider:
        return _run_check(args)
    for flag, value in (("--shift", args.shift), ("--pairs-per-cell", args.pairs_per_cell)):
        if value is not None:
            raise CommandError(f"{flag} only applies with --check-on-provider.")
    if args.effect is None:
        raise CommandError("--effect is required (the smallest effect of interest, e.g. --effect 0.05), "
                           "unless --check-on-provider measures it from --shift.")
    if args.ties is None:
        args.ties = 0.0
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


def _run_check(args: argparse.Namespace) -> int:
    """`--check-on-provider`: the planner's power against studies run on the simulated provider."""
    if args.shift is None:
        raise CommandError("--check-on-provider needs --shift (the planted exhort shift, e.g. --shift 0.25).")
    for flag, given in (("--effect", args.effect is not None), ("--ties", args.ties is not None),
                        ("--simulate", bool(args.simulate)), ("--per-test", args.per_test)):
        if given:
            raise CommandError(f"{flag} does not apply with --check-on-provider: the effect and tie share are "
                               f"measured on the provider and the test is family-wise (alpha / --cells); drop {flag}.")
    try:
        check = provider_power_check(args.shift, pairs_per_cell=args.pairs_per_cell, cells=args.cells,
                                     replicates=args.replicates, seed=args.seed, alpha=args.alpha, power=args.power,
                                     calibration_pairs=args.calibration_pairs)
    except FrameError as ex:
        raise CommandError(str(ex)) from None
    if args.json:
        print(json.dumps(check.to_dict(), indent=2))
    else:
        print(check.summary())
    return 0
