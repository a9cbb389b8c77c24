"""`utility-gap entities LOGDIR --utilities FILE --out DIR`: entity preference vs behaviour.

Reads the `entity_donation_advice` and `entity_reading_task` logs under LOGDIR (the
utilities file's model only), averages the fitted utilities (and, with `--rankings`,
the direct-ranking Borda scores) per entity, and writes to DIR:

- `entity_behaviour.csv`: one row per entity, preference and behaviour columns;
- `entity_correlations.csv`: Spearman per (preference, behaviour), Holm-corrected;
- `entities.md`: both tables with the counts of refusals, unparseable and failed samples.

Each file is written to a temporary name and renamed, so a failed run leaves no half file.
No model is called.
"""

from __future__ import annotations

import argparse
import math
from utility_gap.analysis.locations import location
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("log_dir", type=location, metavar="LOGDIR",
                        help="Directory with entity task logs (a path, or a URL such as s3://bucket/run/logs).")
    parser.add_argument("--utilities", required=True, type=location, metavar="FILE",
                        help="Utilities file fitted over the entity outcome set (utility-gap elicit).")
    parser.add_argument("--out", required=True, type=location, metavar="DIR", help="Folder for the report files (a path or a URL).")
    parser.add_argument("--outcomes", default=None, metavar="SET",
                        help="Outcome set that maps outcomes to entities (default: the utilities file's domain; "
                             "`entities` is the shipped set).")
    parser.add_argument("--rankings", type=location, default=None, metavar="LOGDIR",
                        help="preference_ranking logs over the same outcome set, for a second preference measure.")
    parser.add_argument("--alpha", type=float, default=0.05, help="Family-wise error rate for Holm (default 0.05).")


def _markdown(frame: "pd.DataFrame", digits: int = 3) -> str:
    """A pipe table; NaN as an empty cell, floats to `digits` significant figures."""
    def cell(value: object) -> str:
        if isinstance(value, float):
            return "" if math.isnan(value) else f"{value:.{digits}g}"
        return "" if value is None else str(value)

    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "---|" * len(frame.columns)
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def run(args: argparse.Namespace) -> int:
    from utility_gap.analysis import entity_behaviour as eb
    from utility_gap.analysis.atomic_files import write_text_atomic
    from utility_gap.analysis.ranking import aggregate_rankings, rankings_frame
    from utility_gap.analysis.utilities_file import UtilitiesFileError, read_utilities
    from utility_gap.evals.outcomes import OutcomeSetError, load_outcomes
    from utility_gap.pipeline.errors import CommandError
    from utility_gap.pipeline.storage import StorageError, check_urls

    if not 0 < args.alpha < 1:
        raise CommandError(f"--alpha {args.alpha}: must be between 0 and 1.")
    try:
        check_urls(reads=[("LOGDIR", args.log_dir), ("--utilities", args.utilities), ("--rankings", args.rankings)],
                   writes=[("--out", args.out)])
    except StorageError as ex:
        raise CommandError(str(ex)) from None
    if not args.log_dir.is_dir():
        raise CommandError(f"LOGDIR {args.log_dir}: no such directory of entity task logs.")
    try:
        uf = read_utilities(args.utilities)
    except (UtilitiesFileError, OSError, ValueError) as ex:
        raise CommandError(f"--utilities {args.utilities}: {ex}") from ex
    source = args.outcomes or uf.domain
    try:
        outcomes = load_outcomes(source)
    except OutcomeSetError as ex:
        raise CommandError(f"--outcomes {source}: {ex}") from ex

    advice = eb.advice_frame(str(args.log_dir))
    reading = eb.reading_frame(str(args.log_dir))
    found_models = sorted(set(advice["model"]) | set(reading["model"]))
    advice, reading = advice[advice["model"] == uf.model], reading[reading["model"] == uf.model]
    if advice.empty and reading.empty:
        where = f" (logs found for: {', '.join(found_models)})" if found_models else ""
        raise CommandError(
            f"LOGDIR {args.log_dir}: no entity_donation_advice or entity_reading_task logs for model "
            f"{uf.model}{where}. Run `inspect eval utility_gap/entity_donation_advice --model {uf.model}` first."
        )
    try:
        preferences = {"utility": eb.entity_utilities(uf, outcomes)}
    except ValueError as ex:
        raise CommandError(f"--utilities {args.utilities}: {ex}") from ex
    if args.rankings is not None:
        ranks = rankings_frame(str(args.rankings))
        ranks = ranks[ranks["model"] == uf.model] if not ranks.empty else ranks
        if ranks.empty or not ranks["parsed"].any():
            raise CommandError(f"--rankings {args.rankings}: no parsed preference_ranking answers for {uf.model}.")
        preferences["ranking_borda"] = eb.entity_borda(aggregate_rankings(ranks), outcomes)

    table, correlations = eb.entity_study(advice, reading, preferences, alpha=args.alpha)

    args.out.mkdir(parents=True, exist_ok=True)
    lines = [
        f"# Entity preferences and behaviour: {uf.model}",
        "",
        f"Utilities: `{args.utilities}` (domain {uf.domain}, informative: {uf.informative}). "
        f"Advice samples: {len(advice)}; reading samples: {len(reading)}.",
        "",
        "## Spearman correlations (Holm-corrected over this table)",
        "",
        _markdown(correlations),
        "",
        "## Per entity",
        "",
        _markdown(table),
        "",
    ]
    if not advice.empty:
        lines[4:4] = [eb.advice_counts_text(advice), ""]
    write_text_atomic(args.out / "entity_behaviour.csv", table.to_csv(index=False))
    write_text_atomic(args.out / "entity_correlations.csv", correlations.to_csv(index=False))
    write_text_atomic(args.out / "entities.md", "\n".join(lines))
    significant = correlations[correlations["significant"]]
    print(f"Wrote {args.out / 'entities.md'} ({len(table)} entities; "
          f"{len(significant)} of {int(correlations['p_value'].notna().sum())} correlations significant after Holm).")
    return 0
