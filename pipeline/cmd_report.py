"""`utility-gap report LOGDIR --out DIR`: Stage 4, logs -> tables, figures, report.md."""

from __future__ import annotations

import argparse
from pathlib import Path

from utility_gap.analysis.frames import FLAGS, FrameError
from utility_gap.analysis.report import ReportError, ReportSettings, write_report
from utility_gap.analysis.win_rates import FrameError as StatisticsInputError


def _flags(value: str) -> tuple[str, ...]:
    if value.strip().lower() in ("", "none"):
        return ()
    flags = tuple(f.strip() for f in value.split(",") if f.strip())
    unknown = [f for f in flags if f not in FLAGS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown flag(s) {', '.join(unknown)}; use a comma list of {', '.join(FLAGS)} or 'none'"
        )
    return flags


def _margin(value: str) -> float:
    try:
        margin = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a number; e.g. --margin 0.05") from None
    if not 0 < margin < 0.5:
        raise argparse.ArgumentTypeError(f"{margin} is outside (0, 0.5); e.g. --margin 0.05 (win rate 0.45-0.55)")
    return margin


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("logdir", metavar="LOGDIR", help="directory of Inspect logs (searched recursively)")
    parser.add_argument("--out", required=True, metavar="DIR", help="report folder to write (replaced atomically)")
    parser.add_argument(
        "--exclude-flags",
        type=_flags,
        default=FLAGS,
        metavar="FLAGS",
        help=f"drop pairs with any of these flags on either side (default: {','.join(FLAGS)}; 'none' keeps all)",
    )
    parser.add_argument(
        "--margin", type=_margin, default=0.05, help="smallest win-rate difference from 0.5 that matters (TOST; default 0.05)"
    )
    parser.add_argument("--alpha", type=float, default=0.05, help="family-wise error rate (default 0.05)")
    parser.add_argument("--utilities", type=Path, default=None, metavar="DIR", help="folder of utilities files (Stage 1)")
    parser.add_argument("--scorer", default=None, help="pairwise score to use when logs were re-judged (e.g. judge_panel1)")


def run(args: argparse.Namespace) -> int:
    from utility_gap.pipeline.errors import CommandError

    if not Path(args.logdir).exists():
        raise CommandError(f"LOGDIR '{args.logdir}' does not exist; pass the directory `inspect eval --log-dir` wrote to.")
    try:
        settings = ReportSettings(
            exclude_flags=args.exclude_flags,
            margin=args.margin,
            alpha=args.alpha,
            scorer=args.scorer,
            utilities_dir=args.utilities,
        )
        path = write_report(args.logdir, args.out, settings)
    except (FrameError, ReportError, StatisticsInputError) as ex:
        raise CommandError(str(ex)) from None
    print(f"Report written: {path}")
    return 0
