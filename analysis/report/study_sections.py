"""Report section about the study the logs belong to: which of its models have logs.

A study split across machines (`utility-gap run --only-model`, docs/run.md) is reported
by one `utility-gap report` over the shared folder. If a model's part has not run there
yet, nothing in the logs shows it is missing: every table would just have one model
fewer. So when the report knows the study's models (`ReportSettings.study_models`, from
the study file), it names the models with no logs and says what that means.
"""

from __future__ import annotations

from utility_gap.analysis.report.document import ReportContext, ReportDocument


def study_models_section(doc: ReportDocument, ctx: ReportContext) -> None:
    listed = list(ctx.settings.study_models)
    if not listed or ctx.table is not None:
        return
    with_logs = {s.model for s in ctx.frames.logs}
    missing = [m for m in listed if m not in with_logs]
    outside = sorted(with_logs - set(listed))
    if len(listed) == 1 and not missing and not outside:
        return  # one model, and it is there: "What was run" says all there is to say
    doc.add("## The study's models")
    doc.add(
        f"- The study file lists {len(listed)} model(s) under test: {', '.join(f'`{m}`' for m in listed)}.",
        f"- With judged logs here: {', '.join(f'`{m}`' for m in listed if m in with_logs) or 'none'}.",
    )
    if missing:
        doc.add(f"- **No logs yet**: {', '.join(f'`{m}`' for m in missing)}.")
        doc.cautions.append(
            f"The study is not complete: {', '.join(missing)} (listed in the study file) has no logs in "
            f"{ctx.log_dir}, so every table lacks it and the aggregates over models pool only "
            f"{len(listed) - len(missing)} of {len(listed)}. Write the report again when every model's part is done."
        )
    if outside:
        doc.add(f"- Logs of models the study file does not list: {', '.join(f'`{m}`' for m in outside)}.")
        doc.cautions.append(
            f"{', '.join(outside)} has logs in {ctx.log_dir} but is not a model of the study; its rows are "
            "reported beside the study's and pooled in the aggregates."
        )
