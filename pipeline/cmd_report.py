"""`utility-gap report LOGDIR --out DIR`: Stage 4, logs -> tables, figures, report.md.

`utility-gap report --table FILE --map ... --out DIR` writes the same report from a table
of judged pairs made elsewhere (analysis/pairs_table.py).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from utility_gap.analysis.bootstrap import BOOTSTRAP_METHODS
from utility_gap.analysis.effect_sizes import NET_CI_METHODS
from utility_gap.analysis.frames import DUPLICATE_POLICIES, FLAGS, FrameError
from utility_gap.analysis.frames.cache import default_cache_dir
from utility_gap.analysis.analysis_plan import read_plan
from utility_gap.analysis.pairs_table import DEFAULT_CONTRAST, ColumnMapping, read_pairs_table
from utility_gap.analysis.report import (
    ReportError,
    ReportSettings,
    settings_from_plan,
    write_table_report,
)
from utility_gap.analysis.structured_files import read_mapping_file
from utility_gap.analysis.text_features import FEATURES
from utility_gap.analysis.win_rates import FAMILIES, INTERVALS
from utility_gap.analysis.win_rates import FrameError as StatisticsInputError
from utility_gap.pipeline.arguments import positive_int
from utility_gap.analysis.locations import location
from utility_gap.pipeline.storage import StorageError, check_urls, report_folder_at, write_report_at


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


def _features(value: str) -> tuple[str, ...]:
    names = tuple(f.strip() for f in value.split(",") if f.strip())
    unknown = [f for f in names if f not in FEATURES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown text feature(s) {', '.join(unknown) or repr(value)}; use a comma list of {', '.join(FEATURES)}"
        )
    return names


def _margin(value: str) -> float:
    try:
        margin = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a number; e.g. --margin 0.05") from None
    if not 0 < margin < 0.5:
        raise argparse.ArgumentTypeError(f"{margin} is outside (0, 0.5); e.g. --margin 0.05 (win rate 0.45-0.55)")
    return margin


def _one_sided(value: str) -> tuple[tuple[str, str], ...]:
    """`exhort_vs_neutral,sandbag_vs_neutral:less` -> ((exhort_vs_neutral, greater), (sandbag_vs_neutral, less))."""
    sided = []
    for part in (p.strip() for p in value.split(",") if p.strip()):
        contrast, _, side = part.partition(":")
        side = side.strip() or "greater"
        if side not in ("greater", "less"):
            raise argparse.ArgumentTypeError(
                f"'{part}': the direction after ':' must be 'greater' (side a wins more) or 'less'"
            )
        sided.append((contrast.strip(), side))
    return tuple(sided)


def add_statistics_arguments(parser: argparse.ArgumentParser) -> None:
    """The statistical conventions (docs/statistics.md); None = the plan's value or the default."""
    group = parser.add_argument_group("statistical conventions (default: the analysis plan's, else the suite's)")
    group.add_argument("--interval", choices=INTERVALS, default=None,
                       help="per-cell interval shown and drawn (default clopper-pearson; the CSV has both)")
    group.add_argument("--one-sided", type=_one_sided, default=None, metavar="CONTRAST[:less],...",
                       help="one-sided exact tests for these contrasts (side a better; ':less' for side b), "
                       "Holm over the one-sided p-values")
    group.add_argument("--family", choices=FAMILIES, default=None,
                       help="Holm family and m: 'testable' cells (default) or all 'planned' cells, empty ones too")
    group.add_argument("--bootstrap", choices=BOOTSTRAP_METHODS, default=None,
                       help="aggregate interval: auto (crossed over models x tasks when both vary; default), "
                       "crossed, or cell")
    group.add_argument("--bootstrap-replicates", type=positive_int, default=None, metavar="N",
                       help="bootstrap replicates (default 2000)")
    group.add_argument("--seed", type=int, default=None, help="bootstrap seed (default 0)")
    group.add_argument("--min-levels", type=positive_int, default=None, metavar="N",
                       help="withhold an aggregate interval when a resampled factor has fewer levels (default 5)")
    group.add_argument("--net-ci", choices=NET_CI_METHODS, default=None,
                       help="per-cell net-score interval: bootstrap (inside [-1, 1]; default) or t")


def statistics_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The `ReportSettings` fields the flags set explicitly (flags left out are absent, so the
    analysis plan's value or the default applies)."""
    flags = {
        "exclude_flags": "exclude_flags", "margin": "margin", "alpha": "alpha",
        "interval": "interval", "alternatives": "one_sided", "family": "family", "bootstrap": "bootstrap",
        "n_boot": "bootstrap_replicates", "seed": "seed", "min_levels": "min_levels", "net_ci": "net_ci",
    }
    # getattr: a Namespace built by hand (tests, other callers) may leave these flags out
    given = {field: getattr(args, flag, None) for field, flag in flags.items()}
    return {k: v for k, v in given.items() if v is not None}


def _values(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


def _column_map(value: str) -> dict[str, str]:
    """`model=llm,task=writing_task,winner=preferred` -> {"model": "llm", ...}."""
    pairs = {}
    for part in (p.strip() for p in value.split(",") if p.strip()):
        key, sep, column = part.partition("=")
        if not sep or not key.strip() or not column.strip():
            raise argparse.ArgumentTypeError(f"'{part}' is not KEY=COLUMN (e.g. model=llm)")
        pairs[key.strip()] = column.strip()
    return pairs


def add_table_arguments(parser: argparse.ArgumentParser) -> None:
    """A judged-pairs table instead of LOGDIR (docs/analysis.md, 'A judged-pairs table as input')."""
    group = parser.add_argument_group("a judged-pairs table instead of LOGDIR")
    group.add_argument("--table", type=Path, default=None, metavar="FILE",
                       help="CSV, TSV or Parquet file with one judged pair per row")
    group.add_argument("--map", type=_column_map, default=None, metavar="KEY=COLUMN,...",
                       help="which column holds what: model, task, winner (required); contrast, item, pair_id, "
                       "arm_a, arm_b, domain, utility_a, utility_b, flag_empty, flag_truncated, flag_refusal, "
                       "flag_leak (optional)")
    group.add_argument("--mapping", type=Path, default=None, metavar="FILE",
                       help="the same mapping (and the value lists) as a YAML/JSON file; flags given too override it")
    group.add_argument("--a-wins", type=_values, default=None, metavar="VALUES",
                       help="winner values meaning side a won (default 'a')")
    group.add_argument("--b-wins", type=_values, default=None, metavar="VALUES",
                       help="winner values meaning side b won (default 'b')")
    group.add_argument("--tie", type=_values, default=None, metavar="VALUES", help="winner values meaning a tie (default 'tie')")
    group.add_argument("--unresolved", type=_values, default=None, metavar="VALUES",
                       help="winner values meaning no verdict (counted, not analysed); an empty cell always is")
    group.add_argument("--contrast-name", default=None, metavar="NAME",
                       help=f"contrast of every pair when no contrast column is mapped (default {DEFAULT_CONTRAST})")


TABLE_FLAGS = ("map", "mapping", "a_wins", "b_wins", "tie", "unresolved", "contrast_name")


def table_mapping(args: argparse.Namespace) -> ColumnMapping:
    """The column mapping from --mapping FILE, then --map and the value flags on top."""
    mapping_file = getattr(args, "mapping", None)
    spec: dict[str, Any] = read_mapping_file(mapping_file, "--mapping") if mapping_file else {}
    spec.update(getattr(args, "map", None) or {})
    for key in ("a_wins", "b_wins", "tie", "unresolved", "contrast_name"):
        if getattr(args, key, None) is not None:
            spec[key] = getattr(args, key)
    return ColumnMapping.from_dict(spec, "--map/--mapping")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("logdir", metavar="LOGDIR", nargs="?", default=None,
                        help="directory of Inspect logs (searched recursively); or give --table")
    parser.add_argument("--out", required=True, metavar="DIR", help="report folder to write (replaced atomically; a path, or a URL such as s3://bucket/study/report)")
    # defaults None: the analysis plan's value, else the suite's default (a flag given overrides the plan)
    parser.add_argument(
        "--exclude-flags",
        type=_flags,
        default=None,
        metavar="FLAGS",
        help=f"drop pairs with any of these flags on either side (default: {','.join(FLAGS)}; 'none' keeps all)",
    )
    parser.add_argument(
        "--margin", type=_margin, default=None, help="smallest win-rate difference from 0.5 that matters (TOST; default 0.05)"
    )
    parser.add_argument("--alpha", type=float, default=None, help="family-wise error rate (default 0.05)")
    parser.add_argument("--plan", type=Path, default=None, metavar="FILE",
                        help="analysis plan (YAML/JSON) fixing the settings before the data; the report prints it and "
                        "marks every setting and piece of data that differs from it")
    parser.add_argument("--utilities", type=location, default=None, metavar="DIR",
                        help="folder of utilities files (Stage 1; a path or a URL)")
    parser.add_argument("--scorer", default=None, help="pairwise score to use when logs were re-judged (e.g. judge_panel1)")
    parser.add_argument(
        "--duplicates", choices=DUPLICATE_POLICIES, default="error",
        help="a judged pair found in more than one log: stop with the logs named (error, the default), "
        "or keep the copy from the newest or the first log",
    )
    parser.add_argument("--no-text-features", action="store_true",
                        help="skip reading the output texts (no feature deltas, length control or judge length bias)")
    parser.add_argument("--length-covariates", type=_features, default=(), metavar="FEATURE,...",
                        help="text features whose a - b differences the length control holds at zero beside length "
                        "(e.g. mattr,fk_grade: the win rate at equal length and equal lexical variety and grade)")
    parser.add_argument("--cache", type=Path, default=None, metavar="DIR",
                        help="folder keeping each log's rows, reused while the log is unchanged (default: "
                        "$UTILITY_GAP_CACHE, else ~/.cache/utility-gap/frames)")
    parser.add_argument("--no-cache", action="store_true", help="read every log afresh and keep no rows")
    add_statistics_arguments(parser)
    add_table_arguments(parser)
    parser.add_argument(
        "--ratings", type=Path, nargs="+", default=(), metavar="RATINGS",
        help="human ratings files from `utility-gap rate` (one per rater): the panel is compared with people",
    )


def run(args: argparse.Namespace) -> int:
    from utility_gap.pipeline.errors import CommandError

    table_path = getattr(args, "table", None)
    if (args.logdir is None) == (table_path is None):
        raise CommandError("give either LOGDIR (a directory of Inspect logs) or --table FILE (a judged-pairs table).")
    table_only = [f"--{name.replace('_', '-')}" for name in TABLE_FLAGS if getattr(args, name, None) is not None]
    if table_path is None and table_only:
        raise CommandError(f"{', '.join(table_only)} describe a --table input; with LOGDIR leave them out.")
    try:  # a store that cannot be used fails here, before anything is read or written
        check_urls(reads=[("LOGDIR", args.logdir), ("--utilities", args.utilities)], writes=[("--out", args.out)])
    except StorageError as ex:
        raise CommandError(str(ex)) from None
    if args.logdir is not None and not location(args.logdir).exists():
        raise CommandError(f"LOGDIR '{args.logdir}' does not exist; pass the directory `inspect eval --log-dir` wrote to.")
    from utility_gap.pipeline.study_parts import study_report_defaults

    study_models, study_utilities = study_report_defaults(args.logdir) if args.logdir is not None else ((), None)
    try:
        explicit = {"scorer": args.scorer, "utilities_dir": args.utilities or study_utilities,
                    "study_models": study_models, **statistics_settings(args),
                    "ratings": tuple(getattr(args, "ratings", None) or ()),
                    "text_features": not args.no_text_features, "duplicates": args.duplicates,
                    "length_covariates": tuple(getattr(args, "length_covariates", ()) or ()),
                    "frames_cache": None if args.no_cache else (args.cache or default_cache_dir())}
        plan_file = getattr(args, "plan", None)
        settings = settings_from_plan(read_plan(plan_file), **explicit) if plan_file else ReportSettings(**explicit)
        if table_path is not None:
            table = read_pairs_table(table_path, table_mapping(args))
            path = report_folder_at(args.out, lambda folder: write_table_report(table, folder, settings))
        else:
            path = write_report_at(args.logdir, args.out, settings)  # logs, report or utilities may be URLs
    except (FrameError, ReportError, StatisticsInputError, StorageError) as ex:
        raise CommandError(str(ex)) from None
    print(f"Report written: {path}")
    return 0
