"""Report sections about the input: what was run, and what was excluded and why.

"What was run" lists every log used with the settings from its eval spec; "Exclusions"
counts skipped and partial logs, unscored pairs and pairs without a panel verdict, and the
flagged pairs per flag, and sets `ReportContext.kept` (the pairs every statistic uses).
"""

from __future__ import annotations

import pandas as pd

from utility_gap.analysis.choices_frame import ELICITATION_TASK
from utility_gap.analysis.entity_behaviour import ADVICE_TASK, READING_TASK
from utility_gap.analysis.framed_scores import FRAMED_TASK
from utility_gap.analysis.frames import FLAGS, SkippedLog
from utility_gap.analysis.ranking import RANKING_TASK
from utility_gap.analysis.report.document import ReportContext, ReportDocument, compact, ordered_contrasts
from utility_gap.analysis.report.settings import ReportSettings
from utility_gap.analysis.win_rates import exclude_flagged


# The suite's other logs: not paired writing, but reported (task -> where), so never "not used".
READ_BY_OTHER_SECTIONS: dict[str, str] = {
    ELICITATION_TASK: "Stage 1 (through the utilities files, with --utilities)",
    RANKING_TASK: "Stage 1 method agreement; entity preferences",
    ADVICE_TASK: "Entity preferences and behaviour",
    READING_TASK: "Entity preferences and behaviour",
    FRAMED_TASK: "Framed benchmarks",
}


def _read_elsewhere(skipped: list[SkippedLog]) -> tuple[list[SkippedLog], list[SkippedLog]]:
    """(logs another section reads, logs nothing reads)."""
    elsewhere = [s for s in skipped if s.task.split("/")[-1] in READ_BY_OTHER_SECTIONS]
    return elsewhere, [s for s in skipped if s not in elsewhere]


def settings_lines(settings: ReportSettings) -> list[str]:
    """The settings that produced the numbers, as report lines (every ReportSettings field)."""
    return [
        f"- Exclusion flags applied: {', '.join(settings.exclude_flags) or 'none'}; "
        f"equivalence margin ±{settings.margin}; alpha {settings.alpha}; power target {settings.power:.0%}; "
        f"bootstrap {settings.n_boot} replicates (seed {settings.seed})"
        + (f"; pairwise scorer `{settings.scorer}`" if settings.scorer else ""),
        f"- Statistical conventions: per-cell interval {settings.interval}; tests "
        + (", ".join(f"{c} {side}" for c, side in settings.alternatives) + ", others two-sided"
           if settings.alternatives else "two-sided")
        + f"; Holm family {settings.family}; aggregate bootstrap {settings.bootstrap} (intervals withheld below "
        f"{settings.min_levels} levels per resampled factor); net-score interval {settings.net_ci}",
    ]


def what_was_run_section(doc: ReportDocument, ctx: ReportContext) -> None:
    if ctx.table is not None:  # a table input: table_sections says what was analysed
        return
    frames, log_dir, settings = ctx.frames, ctx.log_dir, ctx.settings
    pairs = frames.pairs
    judges = sorted(frames.verdicts["judge"].unique()) if len(frames.verdicts) else []
    elsewhere, unused = _read_elsewhere(frames.skipped)
    doc.add("## What was run")
    doc.add(
        f"- Logs read from: `{log_dir}` ({len(frames.logs)} paired-writing or judge-control logs used"
        + (f", {len(elsewhere)} of other tasks read by their own sections" if elsewhere else "")
        + f", {len(unused)} not used)",
        f"- Models under test: {', '.join(f'`{m}`' for m in sorted({s.model for s in frames.logs})) or 'none'}",
        f"- Tasks: {', '.join(sorted({s.task.split('/')[-1] for s in frames.logs})) or 'none'}",
        f"- Contrasts: {', '.join(ordered_contrasts(pairs['contrast'].unique())) or 'none with a judged pair'}",
        f"- Outcome domains: {', '.join(sorted(pairs['domain'].dropna().unique())) or 'none (no utility arms)'}",
        f"- Judges: {', '.join(f'`{j}`' for j in judges) or 'none recorded'}",
        f"- Judged pairs read: {len(pairs)}"
        f" ({sum(x.n_no_verdict for x in frames.logs)} more with no panel verdict: every judge unparseable;"
        f" {sum(x.n_unscored for x in frames.logs)} unscored)",
        *settings_lines(settings),
    )
    logs = pd.DataFrame(
        [
            {
                "log": s.log,
                "kind": s.kind,
                "task": s.task,
                "model": s.model,
                "status": s.status,
                "partial": s.partial,
                "expected": s.n_expected,
                "samples": s.n_samples,
                "rows": s.n_rows,
                "unscored": s.n_unscored,
                "no_verdict": s.n_no_verdict,
                "scorer": s.scorer,
                "judges (model roles)": "; ".join(f"{r}={m}" for r, m in s.model_roles.items()),
                "task_args": compact(s.task_args),
                "generate_config": compact(s.generate_config),
                "model_args": compact(s.model_args),
                "created": s.created,
            }
            for s in frames.logs
        ]
    )
    doc.table(
        "logs",
        logs,
        ["log", "kind", "task", "model", "status", "rows", "judges (model roles)", "task_args", "model_args",
         "generate_config"],
        caption="Each log used, with the settings from its eval spec:",
    )


def exclusions_section(doc: ReportDocument, ctx: ReportContext) -> None:
    frames, settings = ctx.frames, ctx.settings
    doc.add("## Exclusions")
    elsewhere, unused = _read_elsewhere(frames.skipped)
    if elsewhere:
        counts = pd.Series([s.task.split("/")[-1] for s in elsewhere]).value_counts(sort=False)
        doc.add(
            f"{len(elsewhere)} log(s) of other tasks are read by their own sections, not here: "
            + "; ".join(f"{task} ({n}): {READ_BY_OTHER_SECTIONS[task]}" for task, n in counts.items()) + "."
        )
    if unused:
        skipped = pd.DataFrame([vars(s) for s in unused]).drop(columns=["path"])
        doc.table("skipped_logs", skipped, caption=f"{len(skipped)} log(s) in the directory were not used:")
    elif ctx.table is None:
        doc.add("No log in the directory was skipped.")
    partial = [s for s in frames.logs if s.partial]
    if partial:
        doc.add(
            f"{len(partial)} log(s) did not finish; their finished samples are used and marked `partial_log`:",
            *[
                f"- `{s.log}`: status {s.status}, {s.n_samples} of {s.n_expected} samples present, "
                f"{s.n_rows} judged pairs read"
                for s in partial
            ],
        )
        doc.cautions.append(
            f"{len(partial)} log(s) are partial: the cells they feed may be unbalanced across items."
        )
    unscored = sum(s.n_unscored for s in frames.logs)
    no_verdict = sum(s.n_no_verdict for s in frames.logs if s.kind == "pairs")
    if unscored:
        doc.add(f"{unscored} sample(s) have no panel score (the sample failed before judging) and are not pairs.")
    if no_verdict:
        doc.add(
            f"{no_verdict} pair(s) have no panel verdict (every judge's answer was unparseable after retries) "
            "and are left out of every table."
        )
    excluded = exclude_flagged(frames.pairs, settings.exclude_flags) if settings.exclude_flags else None
    counts = pd.DataFrame(
        [
            {"flag": flag, "n_flagged": int(frames.pairs[f"flag_{flag}"].sum()), "excluded": flag in settings.exclude_flags}
            for flag in FLAGS
        ]
    )
    n_excluded = len(excluded.excluded) if excluded is not None else 0
    counts.loc[len(counts)] = {"flag": "any (excluded)", "n_flagged": n_excluded, "excluded": bool(settings.exclude_flags)}
    counts["share"] = counts["n_flagged"] / max(len(frames.pairs), 1)
    doc.table(
        "exclusions",
        counts,
        caption=(
            f"Pairs flagged on either side ({len(frames.pairs)} judged pairs read; a pair with two flags is "
            f"counted under both; {n_excluded} excluded, {len(frames.pairs) - n_excluded} analysed):"
        ),
    )
    if n_excluded and excluded is not None:
        by_contrast = (
            frames.pairs.assign(excluded=frames.pairs["pair_key"].isin(set(excluded.excluded["pair_key"])))
            .groupby(["contrast", "model", "task"])["excluded"].agg(["size", "sum"]).reset_index()
            .rename(columns={"size": "pairs", "sum": "excluded"})
        )
        by_contrast["share_excluded"] = by_contrast["excluded"] / by_contrast["pairs"]
        doc.table(
            "exclusions_by_cell",
            by_contrast,
            caption="Excluded pairs per cell (an exclusion rate that differs between cells or contrasts can bias "
            "the comparison; compare with `--exclude-flags none`):",
        )
    missing = int((frames.verdicts["judge_verdict"].isna()).sum())
    if missing:
        doc.add(
            f"{missing} of {len(frames.verdicts)} judge presentations belong to a judge verdict that is missing "
            "(unparseable after retries); where other judges answered, the panel decided by them."
        )
    ctx.kept = excluded.kept if excluded is not None else frames.pairs
