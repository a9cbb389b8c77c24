"""A log directory -> one report folder: report.md, tables/*.csv, figures/*.{png,svg}.

Why one folder: a reader (or a reviewer) gets every number the report states as a CSV
beside it, every figure in two formats, and the settings and exclusions that produced
them, in a folder that can be zipped and sent. The report states plainly where the data
cannot support a conclusion (too few decisive pairs, a judge that always gives the same
answer, a panel that was never validated).

Statistics come from the statistics modules (`win_rates`, `effect_sizes`,
`equivalence_power`, `dose_response`, `judge_agreement`); this package only arranges
their tables, figures and words, one module per family of sections:

- `settings`: `ReportSettings` (every field printed in the report) and shared thresholds;
- `document`: the report being built (`ReportDocument`), what sections share
  (`ReportContext`), Markdown formatting;
- `run_sections`: what was run, exclusions;
- `result_sections`: win rates per cell, aggregates, dose-response, rubric scores;
- `judge_sections`: judge diagnostics, agreement, judge controls, chrF;
- `stage1_sections`: elicitation diagnostics and method agreement;
- `table_sections`: a judged-pairs table input (`--table`): mapping and unresolved pairs;
- `plan_sections`: the analysis plan (`--plan`), what differs from it (`settings_from_plan`);
- `summary_sections`: findings and "What the data cannot support" (printed first);
- `writer`: section order, staging folder and atomic swap (`write_report`).
"""

from utility_gap.analysis.report.document import ReportContext, ReportDocument, markdown_table
from utility_gap.analysis.report.judge_sections import judge_diagnostics
from utility_gap.analysis.report.plan_sections import settings_from_plan
from utility_gap.analysis.report.settings import (
    CONTRAST_ORDER,
    MIN_DECISIVE,
    SIDE_BY_SIDE,
    ReportError,
    ReportSettings,
)
from utility_gap.analysis.report.writer import BODY_SECTIONS, REPORT_FILE, write_report, write_table_report

__all__ = [
    "BODY_SECTIONS",
    "CONTRAST_ORDER",
    "MIN_DECISIVE",
    "REPORT_FILE",
    "SIDE_BY_SIDE",
    "ReportContext",
    "ReportDocument",
    "ReportError",
    "ReportSettings",
    "judge_diagnostics",
    "markdown_table",
    "settings_from_plan",
    "write_report",
    "write_table_report",
]
