"""Report section on framed benchmarks: a task's own scores compared between arms, paired by sample.

Reads the `framed_benchmark` logs the frames skipped (`analysis/framed_scores.py`).
Shows, per (model, task, score): each arm's mean score with a 95% interval (table and
figure), the paired comparisons between arms (exact McNemar or paired permutation test,
Holm over the table, TOST against the report's margin with power and MDE), and for the
entity arm the score per entity, the omnibus test across entities, each entity against
the reference arm, and, when a utilities file over the entity set is given, the Spearman
correlation between the entity's utility and its score.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import t as student_t

from utility_gap.analysis import entity_behaviour as eb
from utility_gap.analysis import framed_scores as fs
from utility_gap.analysis.entity_figures import arm_means_plot
from utility_gap.analysis.report.document import ReportContext, ReportDocument, fmt, slug
from utility_gap.analysis.task_logs import unfinished_logs
from utility_gap.analysis.utilities_file import UtilitiesFileError, read_utilities
from utility_gap.evals.outcomes import OutcomeSetError, load_outcomes

COMPARISON_TABLE = ["model", "task", "score", "arm_a", "arm_b", "n_pairs", "mean_a", "mean_b", "diff", "diff_ci_low",
                    "diff_ci_high", "test", "n_a", "n_b", "p_value", "p_holm", "significant", "tost_p", "equivalent",
                    "power_at_margin", "mde"]


def arm_means(frame: pd.DataFrame) -> pd.DataFrame:
    """Per (model, task, score, arm): samples, failed, mean score and a t interval over samples."""
    rows = []
    for (model, task, score, arm), group in frame.groupby(["model", "task", "score", "arm"], sort=True):
        values = group.loc[group["status"] == "scored", "value"].to_numpy(float)
        n = len(values)
        mean = float(values.mean()) if n else math.nan
        half = float(student_t.ppf(0.975, n - 1) * values.std(ddof=1) / math.sqrt(n)) if n >= 2 else math.nan
        rows.append({"model": model, "task": task, "score": score, "arm": arm, "n_samples": len(group),
                     "n_failed": int((group["status"] == "failed").sum()), "mean": mean,
                     "ci_low": mean - half, "ci_high": mean + half})
    return pd.DataFrame(rows, columns=["model", "task", "score", "arm", "n_samples", "n_failed", "mean", "ci_low",
                                       "ci_high"])


def framed_section(doc: ReportDocument, ctx: ReportContext) -> None:
    paths = [s.path for s in ctx.frames.skipped if s.task.split("/")[-1] == fs.FRAMED_TASK and s.path]
    if not paths:
        return
    settings = ctx.settings
    frame = fs.framed_frame(paths)
    doc.add("## Framed benchmarks")
    doc.add(
        "A lab's own task run under incentive framings and scored by its own scorer. Copies of a sample under two "
        "arms are paired; binary scores get the exact McNemar test, other scores a paired permutation test. "
        f"`win_rate` is the share of differing pairs where arm a scored higher; the equivalence test (TOST) asks "
        f"whether it lies within 0.5 +- {settings.margin}, with the power and minimum detectable effect of that test."
    )
    unfinished = unfinished_logs(paths)
    if unfinished:
        doc.add("Logs that did not finish (their finished samples are used; the others are missing):",
                *[f"- {line}" for line in unfinished])
        doc.cautions.append(f"Framed benchmarks: {len(unfinished)} log(s) did not finish; some samples are missing "
                            "from the comparisons (see the section).")
    if frame.empty:
        doc.add("The framed-benchmark logs hold no samples.")
        return
    means = arm_means(frame)
    doc.table("framed_arm_means", means, caption="Mean score per arm (95% t interval over samples):")
    for (model, task, score), group in means.groupby(["model", "task", "score"], sort=True):
        stem = doc.root / "figures" / f"framed_arms__{slug(str(model))}__{slug(str(task))[-60:]}__{slug(str(score))}"
        doc.draw(arm_means_plot, group, stem=stem, title=f"{model} | {task} | {score}", y_label=f"mean {score}",
                 alt=f"Mean {score} per arm")
    failed = int((frame["status"] == "failed").sum())
    if failed:
        doc.cautions.append(f"Framed benchmarks: {failed} sample score(s) are missing (the sample errored or was not "
                            "scored); their pairs are left out of the comparisons.")
    comparisons = fs.arm_comparisons(frame, margin=settings.margin, alpha=settings.alpha, power=settings.power,
                                     seed=settings.seed)
    if not comparisons.empty:
        doc.table("framed_comparisons", comparisons, COMPARISON_TABLE,
                  caption="Paired comparisons between arms (Holm over this table):")
        for _, row in comparisons.iterrows():
            if not row["significant"] and not row["equivalent"]:
                doc.cautions.append(
                    f"Framed `{row['task']}` ({row['score']}), {row['arm_a']} vs {row['arm_b']}: neither a difference "
                    f"nor equivalence is shown ({row['n']} differing pairs of {row['n_pairs']}; minimum detectable "
                    f"win-rate effect {fmt(row['mde'])}, '–' when no effect is detectable at this size)."
                )
    if (frame["arm"] == "entity").any():
        _entities(doc, ctx, frame)


def _entities(doc: ReportDocument, ctx: ReportContext, frame: pd.DataFrame) -> None:
    settings = ctx.settings
    per_entity, omnibus = fs.entity_scores(frame)
    doc.add("### Score per entity (entity arm)")
    doc.table("framed_entity_omnibus", omnibus,
              caption="Does the score depend on the entity? (items scored for every entity):")
    versus = fs.entity_vs_reference(frame, margin=settings.margin, alpha=settings.alpha, power=settings.power,
                                    seed=settings.seed)
    if not versus.empty:
        doc.table("framed_entity_vs_reference", versus, COMPARISON_TABLE,
                  caption="Each entity against the reference arm (Holm over the entities):")
    per_entity = _with_utilities(per_entity, ctx)
    doc.table("framed_entity_scores", per_entity, caption="Mean score per entity:")
    if "utility" in per_entity:
        for (model, task, score), group in per_entity.groupby(["model", "task", "score"], sort=True):
            table = group.rename(columns={"mean_score": "framed_score"})
            result = eb.preference_behaviour_correlations(table, ["utility"], ["framed_score"], alpha=settings.alpha)
            row = result.iloc[0]
            rho = "n/a" if np.isnan(row["spearman"]) else f"{row['spearman']:.2f} (p = {row['p_value']:.2g})"
            doc.add(f"Spearman between the entity's utility and its mean {score} on `{task}` ({model}): {rho}, "
                    f"{row['n_entities']} entities{'; ' + row['note'] if row['note'] else ''}.")


def _with_utilities(per_entity: pd.DataFrame, ctx: ReportContext) -> pd.DataFrame:
    """Add each entity's mean utility from a utilities file of the same model over a set naming it."""
    folder = Path(ctx.settings.utilities_dir) if ctx.settings.utilities_dir else None
    if folder is None or not folder.is_dir():
        return per_entity
    values: dict[tuple[str, str], float] = {}
    for path in sorted(folder.rglob("*.json")):
        try:
            uf = read_utilities(path)
            outcomes = load_outcomes(uf.domain)
        except (UtilitiesFileError, OutcomeSetError):
            continue
        try:
            by_entity = eb.entity_utilities(uf, outcomes)
        except ValueError:
            continue
        for entity, value in by_entity.items():
            values.setdefault((uf.model, entity), value)
    column = [values.get((m, e)) for m, e in zip(per_entity["model"], per_entity["entity"])]
    if not any(v is not None for v in column):
        return per_entity
    return per_entity.assign(utility=pd.to_numeric(pd.Series(column, index=per_entity.index), errors="coerce"))
