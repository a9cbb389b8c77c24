"""The report's opening: the findings per contrast and what the data cannot support.

Written last (they summarise every other section) and printed first. The cautions come
from every section (`ReportDocument.cautions`) plus the cell-level checks here: too few
decisive pairs, every pair a tie, nulls that are absence of evidence.
"""

from __future__ import annotations

import pandas as pd

from utility_gap.analysis.report.document import ReportContext, ReportDocument, fmt
from utility_gap.analysis.report.result_sections import sides
from utility_gap.analysis.report.settings import MIN_DECISIVE, ReportSettings
from utility_gap.analysis.report.text_sections import length_control_finding


def data_cautions_section(doc: ReportDocument, ctx: ReportContext) -> None:
    frames, kept = ctx.frames, ctx.analysed
    table = ctx.results.get("win_rates", pd.DataFrame(columns=["contrast", "n", "significant_holm", "equivalent_fw"]))
    if frames.pairs.empty:
        doc.cautions.append(
            "No judged pair has a pairwise panel verdict (rubric-only logs, or every pair unscored): no win-rate "
            "conclusion is possible."
        )
        return
    if kept.empty:
        doc.cautions.append("Every judged pair was excluded: no conclusion is possible.")
        return
    if (kept["winner"] == "tie").all():
        doc.cautions.append("Every analysed pair is a tie: the panel never separated the two sides.")
    empty = table[table["n_total"] == 0] if "n_total" in table.columns else table.iloc[:0]
    if len(empty):
        doc.cautions.append(
            f"{len(empty)} planned cell(s) have no judged pair (never run, or every pair excluded): they are listed "
            "and count in m and in Holm (the planned family), but say nothing themselves."
        )
    small = table[(table["n"] < MIN_DECISIVE) & ~table["significant_holm"].astype(bool)].drop(empty.index)
    if len(small):
        doc.cautions.append(
            f"{len(small)} of {len(table) - len(empty)} cells have fewer than {MIN_DECISIVE} decisive pairs and no significant "
            "difference; they support no conclusion either way."
        )
    small_significant = table[(table["n"] < MIN_DECISIVE) & table["significant_holm"].astype(bool)]
    if len(small_significant):
        doc.cautions.append(
            f"{len(small_significant)} significant cell(s) rest on fewer than {MIN_DECISIVE} decisive pairs: the "
            "direction is supported by the exact test, the size of the effect is not pinned down."
        )
    weak = table[
        (table["n"] >= MIN_DECISIVE) & ~table["significant_holm"].astype(bool) & ~table["equivalent_fw"].astype(bool)
    ]
    if len(weak):
        doc.cautions.append(
            f"{len(weak)} cell(s) show neither a significant difference nor equivalence within the margin: a "
            "null there is absence of evidence, not evidence of absence (see `mde_fw`)."
        )


def findings(ctx: ReportContext) -> list[str]:
    """The findings lines (empty when no aggregate was computed)."""
    table, aggregate, settings = ctx.results.get("win_rates"), ctx.results.get("aggregate"), ctx.settings
    if table is None or aggregate is None or aggregate.empty:
        return []
    lines = ["## Findings"]
    level = f"{1 - settings.alpha:.0%}"
    for _, row in aggregate.iterrows():
        contrast = row["contrast"]
        cells = table[table["contrast"] == contrast]
        better = cells[cells["significant_holm"] & (cells["direction"] == "a")]
        worse = cells[cells["significant_holm"] & (cells["direction"] == "b")]
        equivalent = cells[cells["equivalent_fw"]]
        a, b = sides(contrast)
        if row["boot_reliable"]:
            interval = (f"{level} CI {fmt(row['boot_ci_low'])}–{fmt(row['boot_ci_high'])}, "
                        f"{row['boot_method']} bootstrap over {row['boot_resampled']}")
        else:
            interval = f"{level} CI {row['boot_note'] or 'not available'}"
        holm = f"Holm over m = {_family_size(cells)}"
        sided = settings.sided(contrast)
        if sided == "greater":
            tests = (f"{a} significantly better than {b} in {len(better)} (one-sided exact tests, {holm}; {b} better "
                     f"than {a} was not tested)")
        elif sided == "less":
            tests = (f"{b} significantly better than {a} in {len(worse)} (one-sided exact tests, {holm}; {a} better "
                     f"than {b} was not tested)")
        else:
            tests = (f"{a} significantly better than {b} in {len(better)}, {b} better than {a} in {len(worse)} "
                     f"(two-sided exact tests, {holm})")
        lines.append(
            f"- **{contrast}**: equal-cell win rate of {a} {fmt(row['equal_cell_win_rate'])} ({interval}) over "
            f"{int(row['n_cells'])} cell(s); {tests}, equivalent to 0.5 "
            f"within ±{settings.margin_for(contrast)} in {len(equivalent)} of {len(cells)} cell(s)."
            + length_control_finding(ctx, contrast)
            + (" *Not in the analysis plan: exploratory.*" if _unplanned(settings, contrast) else "")
        )
    return lines


def _unplanned(settings: ReportSettings, contrast: str) -> bool:
    plan = settings.plan
    return plan is not None and bool(plan.contrasts) and contrast not in plan.contrast_names


def _family_size(cells: pd.DataFrame) -> str:
    sizes = sorted({int(m) for m in cells["m"].dropna()})
    return "/".join(str(m) for m in sizes) or "0"
