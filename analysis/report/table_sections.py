"""Report section for a judged-pairs table input (`utility-gap report --table`).

A table carries one verdict per pair and none of the logs' detail, so this section says
where the pairs came from (file, checksum, the column mapping), how many rows were
verdicts and how many were unresolved (per cell and per raw value), and that the judge
panel checks need logs. It writes nothing for a log directory.
"""

from __future__ import annotations

import pandas as pd

from utility_gap.analysis.report.document import ReportContext, ReportDocument, ordered_contrasts
from utility_gap.analysis.report.run_sections import settings_lines


def table_input_section(doc: ReportDocument, ctx: ReportContext) -> None:
    table = ctx.table
    if table is None:
        return
    pairs = table.pairs
    doc.add("## What was analysed (a judged-pairs table)")
    doc.add(
        f"- Table: `{table.path}` ({table.n_rows} data rows; sha256 `{table.sha256[:16]}…`)",
        f"- Models: {', '.join(f'`{m}`' for m in sorted(pairs['model'].unique())) or 'none'}",
        f"- Tasks: {', '.join(sorted(pairs['task'].unique())) or 'none'}",
        f"- Contrasts: {', '.join(ordered_contrasts(pairs['contrast'].unique())) or 'none'}",
        f"- Judged pairs with a verdict: {len(pairs)}; unresolved (no verdict, counted and left out of every "
        f"table): {table.n_unresolved}",
        "- Judge panel checks (order consistency, position bias, agreement, judge controls) are unavailable: "
        "a table holds the verdicts, not the judges' answers.",
        *settings_lines(ctx.settings),
        "- Exclusion flags can only be set by flag columns in the mapping.",
    )
    mapping = pd.DataFrame([{"key": k, "column or values": v} for k, v in table.mapping.describe().items()])
    doc.table("table_mapping", mapping, caption="Column mapping used to read the table:")
    if table.n_unresolved:
        doc.table(
            "unresolved_pairs",
            table.unresolved,
            caption=f"{table.n_unresolved} unresolved pair(s) per cell (winner value "
            + ", ".join(f"{v!r} x {n}" if v else f"empty x {n}" for v, n in table.unresolved_values.items())
            + "); they are in no denominator:",
        )
        share = table.n_unresolved / table.n_rows
        doc.cautions.append(
            f"{table.n_unresolved} of {table.n_rows} table rows ({share:.1%}) have no verdict (unresolved); if "
            "being unresolved depends on which side is better, the win rates are biased (see unresolved_pairs)."
        )
    else:
        doc.add("Every row of the table has a verdict (no unresolved pair).")
    doc.cautions.append(
        "The pairs come from a table: the judge panel could not be checked here (no per-judge answers or judge "
        "controls); the win rates are only as good as the verdicts in the table."
    )
