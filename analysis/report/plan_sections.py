"""Report section for an analysis plan (`utility-gap report --plan FILE`).

The plan is printed as written (with its checksum), then one table puts every setting the
plan fixes beside the setting the report used and marks those that differ, and the data
beside the plan (contrasts, models, tasks, planned cells without pairs). Every difference
is also a caution at the top of the report, and contrasts outside the plan are called
exploratory in the findings. The section also hands the planned cells to the win-rate
section when the Holm family is fixed to them.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from utility_gap.analysis.analysis_plan import AnalysisPlan, plan_settings, planned_cells
from utility_gap.analysis.report.document import ReportContext, ReportDocument
from utility_gap.analysis.report.settings import ReportSettings

# setting name in the report -> ReportSettings field
_SETTINGS = {
    "exclusions": "exclude_flags",
    "alpha": "alpha",
    "margin": "margin",
    "margin per contrast": "contrast_margins",
    "power": "power",
    "sidedness": "alternatives",
    "per-cell interval": "interval",
    "Holm family": "family",
    "bootstrap method": "bootstrap",
    "bootstrap replicates": "n_boot",
    "bootstrap seed": "seed",
    "bootstrap min levels": "min_levels",
    "net-score interval": "net_ci",
}


def settings_from_plan(plan: AnalysisPlan, **overrides: Any) -> ReportSettings:
    """Report settings that follow `plan`, with `overrides` (what a user set anyway) on top."""
    return ReportSettings(**{**plan_settings(plan), **overrides, "plan": plan})


def _show(value: Any) -> str:
    if isinstance(value, tuple) and value and isinstance(value[0], tuple):
        return "; ".join(f"{k}: {v}" for k, v in sorted(value)) or "none"
    if isinstance(value, tuple):
        return ", ".join(map(str, value)) or "none"
    return str(value)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, tuple) and isinstance(b, tuple):
        return sorted(a) == sorted(b)
    return a == b


def plan_comparison(plan: AnalysisPlan, settings: ReportSettings, pairs: pd.DataFrame) -> pd.DataFrame:
    """One row per planned setting and per planned piece of data: `plan`, `used`, `differs`."""
    planned = plan_settings(plan)
    rows = [
        {"item": name, "plan": _show(planned[field]), "used": _show(getattr(settings, field)),
         "differs": not _same(planned[field], getattr(settings, field))}
        for name, field in _SETTINGS.items()
    ]
    for name, listed, seen in (
        ("contrasts", plan.contrast_names, sorted(pairs["contrast"].unique())),
        ("models", list(plan.models), sorted(pairs["model"].unique())),
        ("tasks", list(plan.tasks), sorted(pairs["task"].unique())),
    ):
        if listed:
            rows.append({"item": name, "plan": ", ".join(listed), "used": ", ".join(seen),
                         "differs": set(listed) != set(seen)})
    return pd.DataFrame(rows)


def plan_section(doc: ReportDocument, ctx: ReportContext) -> None:
    plan, settings = ctx.settings.plan, ctx.settings
    if settings.family == "planned" and plan is not None:
        ctx.results["planned_cells"] = planned_cells(plan, ctx.frames.pairs)
    if plan is None:
        return
    doc.add("## Analysis plan")
    doc.add(
        f"Plan `{plan.path}` (sha256 `{plan.sha256[:16]}…`)" + (f": {plan.title}" if plan.title else "") + ". "
        "Keys it does not set take the suite's defaults. As written:"
    )
    doc.lines.extend(["```yaml", *plan.text.rstrip("\n").splitlines(), "```", ""])
    pairs = ctx.frames.pairs
    table = plan_comparison(plan, settings, pairs)
    differs = table[table["differs"]]
    doc.table(
        "analysis_plan",
        table,
        caption="Each setting the plan fixes beside the one used, and the data beside the plan "
        "(`differs` marks a departure):",
    )
    if differs.empty:
        doc.add("The analysis follows the plan: no setting differs and the data hold what was planned.")
        return
    settings_rows = differs[differs["item"].isin(list(_SETTINGS))]
    if len(settings_rows):
        listed = "; ".join(f"{r['item']} (plan {r['plan']}, used {r['used']})" for _, r in settings_rows.iterrows())
        doc.cautions.append(f"The analysis departs from the plan in {len(settings_rows)} setting(s): {listed}.")
    planned_names, seen = set(plan.contrast_names), set(pairs["contrast"].unique())
    if planned_names:
        if seen - planned_names:
            doc.cautions.append(
                f"Contrast(s) not in the plan, so exploratory: {', '.join(sorted(seen - planned_names))}."
            )
        if planned_names - seen:
            doc.cautions.append(f"Planned contrast(s) with no judged pair: {', '.join(sorted(planned_names - seen))}.")
    for name, listed, column in (("model", plan.models, "model"), ("task", plan.tasks, "task")):
        if listed:
            extra = sorted(set(pairs[column]) - set(listed))
            missing = sorted(set(listed) - set(pairs[column]))
            if extra:
                doc.cautions.append(f"{name.capitalize()}(s) not in the plan: {', '.join(extra)}.")
            if missing:
                doc.cautions.append(f"Planned {name}(s) with no judged pair: {', '.join(missing)}.")
