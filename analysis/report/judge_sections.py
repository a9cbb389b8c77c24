"""Report sections about the judge panel: diagnostics, agreement, controls and chrF.

A null result means something only if the panel can see quality: these sections show each
judge's missing answers, order consistency, position bias and preference for the longer
text, the agreement between
judges, the panel's accuracy on judge controls (intact vs damaged texts), and, for
translation, how often the panel agrees with chrF against the reference.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from utility_gap.analysis.effect_sizes import output_scores
from utility_gap.analysis.judge_agreement import control_accuracy, fleiss_kappa_table, order_consistency, position_bias
from utility_gap.analysis.length_control import judge_length_bias
from utility_gap.analysis.report.document import ReportContext, ReportDocument, fmt
from utility_gap.analysis.report.settings import MIN_DECISIVE


def judges_section(doc: ReportDocument, ctx: ReportContext) -> None:
    frames, kept, settings = ctx.frames, ctx.analysed, ctx.settings
    doc.add("## Judges")
    if ctx.table is not None:
        doc.add(
            "The pairs come from a table with one verdict per pair, so the panel checks (missing answers, order "
            "consistency, position bias, agreement between judges, judge-control accuracy) are unavailable. "
            "Run the panel through `inspect eval` to get them."
        )
        return
    excluded = set(frames.pairs["pair_key"]) - set(kept["pair_key"])
    verdicts = frames.verdicts[~frames.verdicts["pair_key"].isin(excluded)]
    if verdicts.empty:
        doc.add("No judge verdicts were recorded.")
        doc.cautions.append("No judge verdicts: nothing about the panel can be checked.")
        return
    outputs = frames.outputs[~frames.outputs["pair_key"].isin(excluded)]
    diag = judge_diagnostics(
        verdicts, alpha=settings.alpha, lengths=ctx.results.get("paired_features"),
        rubric=output_scores(outputs) if len(outputs) else None,
    )
    doc.table(
        "judge_diagnostics",
        diag,
        caption=(
            "Per judge: `missing` = presentations with no parseable answer; `order_consistency` = share of "
            "pairs whose two presentations agree; `first_position_rate` = share of decisive answers choosing "
            "the response shown first (0.5 = no position bias; binomial p against 0.5); `tie_rate` of combined "
            "verdicts; `answers_all_same`: the judge gave one answer to everything; `longer_win_rate` = share "
            "of its decisive verdicts that went to the text with at least 10% more words (`longer_pairs` such "
            "pairs, binomial p against 0.5), and `..._equal_rubric` the same among pairs whose mean rubric "
            "scores differ by at most 0.5 (when rubric scores exist)."
        ),
    )
    for _, row in diag.iterrows():
        if row["answers_all_same"]:
            doc.cautions.append(
                f"Judge `{row['judge']}` answered {row['only_answer']!r} in every presentation: its verdicts carry "
                "no information about quality (after the order flip they are all ties)."
            )
        elif row["order_consistency"] < 0.5:
            doc.cautions.append(
                f"Judge `{row['judge']}` agrees with itself across presentation orders in only "
                f"{row['order_consistency']:.0%} of pairs: its verdicts are mostly position, not quality."
            )
        if "longer_p" in row and row["longer_p"] < settings.alpha and row["longer_win_rate"] > 0.5:
            doc.cautions.append(
                f"Judge `{row['judge']}` chose the longer text in {fmt(row['longer_win_rate'])} of "
                f"{int(row['longer_pairs'])} decisive verdicts (p = {fmt(row['longer_p'])}): read the "
                "length-controlled win rates before taking a win for quality."
            )
        if row["position_p"] < settings.alpha:
            doc.cautions.append(
                f"Judge `{row['judge']}` picks the response shown first in {fmt(row['first_position_rate'])} of "
                f"its decisive answers (p = {fmt(row['position_p'])}); both orders are judged, so this bias "
                "becomes ties rather than wins, but it lowers the panel's resolution."
            )
    _agreement(doc, verdicts)
    _controls(doc, frames, settings.alpha)


def judge_diagnostics(
    verdicts: pd.DataFrame,
    alpha: float = 0.05,
    lengths: pd.DataFrame | None = None,
    rubric: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per judge: order consistency and position bias (judge_agreement), missing, retries, ties, sameness.

    With `lengths` (`pair_key`, `words_a`, `words_b`), also each judge's win rate for the
    longer text (`length_control.judge_length_bias`, near-equal `rubric` scores too).
    """
    consistency = order_consistency(verdicts, by=("judge",), alpha=alpha)[["judge", "consistency_rate", "n_pairs"]]
    bias = position_bias(verdicts, by=("judge",), alpha=alpha)[["judge", "first_share", "p_value"]]
    rows = []
    for judge, group in verdicts.groupby("judge", sort=True):
        parsed = group["parsed"].dropna()
        combined = group.drop_duplicates("pair_key")["judge_verdict"]
        rows.append(
            {
                "judge": judge,
                "presentations": len(group),
                "missing": int(group["parsed"].isna().sum()),
                "retried": int((group["n_attempts"] > 1).sum()),
                "tie_rate": float((combined == "tie").mean()) if combined.notna().any() else np.nan,
                "answers_all_same": bool(len(parsed) >= 2 and parsed.nunique() == 1),
                "only_answer": parsed.iloc[0] if len(parsed) and parsed.nunique() == 1 else None,
            }
        )
    table = consistency.merge(bias, on="judge", how="outer").merge(pd.DataFrame(rows), on="judge", how="outer")
    table = table.rename(
        columns={"n_pairs": "pairs_both_orders", "consistency_rate": "order_consistency",
                 "first_share": "first_position_rate", "p_value": "position_p"}
    )[["judge", "presentations", "missing", "retried", "pairs_both_orders", "order_consistency",
       "first_position_rate", "position_p", "tie_rate", "answers_all_same", "only_answer"]]
    if lengths is not None:
        table = table.merge(judge_length_bias(verdicts, lengths, rubric), on="judge", how="left")
    return table


def _agreement(doc: ReportDocument, verdicts: pd.DataFrame) -> None:
    with np.errstate(invalid="ignore", divide="ignore"):  # kappa is NaN when every verdict is the same
        overall = fleiss_kappa_table(verdicts).assign(task="all")
        per_task = fleiss_kappa_table(verdicts, by=("task",))
    table = pd.concat([overall, per_task], ignore_index=True)
    table = table[["task"] + [c for c in table.columns if c != "task"]]
    doc.table(
        "judge_agreement",
        table,
        caption="Agreement between the judges' combined verdicts (Fleiss' kappa over a / b / tie; pairs with a "
        "missing judge are dropped and counted):",
    )


def _controls(doc: ReportDocument, frames: Frames, alpha: float) -> None:
    controls = frames.controls
    if controls.empty:
        doc.add(
            "No judge-control log was found, so the panel's ability to tell a good text from a damaged copy "
            "was not checked (run `inspect eval utility_gap/judge_controls` with the same judges)."
        )
        doc.cautions.append("The panel was not validated on judge controls in this run.")
        return
    table = control_accuracy(controls, by=("judge", "damage"), alpha=alpha)
    table = pd.concat(
        [table[table["judge"] != "all"], control_accuracy(controls, by=("judge",), alpha=alpha).assign(damage="all")],
        ignore_index=True,
    )
    table = table[table["judge"] != "all"].sort_values(["judge", "damage"]).reset_index(drop=True)
    doc.table(
        "judge_controls",
        table,
        ["judge", "damage", "n", "n_correct", "n_missing", "accuracy", "ci_low", "ci_high"],
        caption="Judge-control accuracy: share of (intact, damaged) pairs where the intact text was preferred "
        "(a tie counts as not preferred; `panel` is the panel's verdict):",
    )
    panel = table[(table["judge"] == "panel") & (table["damage"] == "all")]
    n = int(panel["n"].iloc[0]) if len(panel) else 0
    if n < MIN_DECISIVE:
        doc.cautions.append(
            f"Only {n} judge-control pair(s) have a panel verdict: too few to validate the panel "
            "(run judge_controls with more control texts)."
        )
    elif not panel["accuracy"].iloc[0] >= 0.75:
        doc.cautions.append(
            f"The panel preferred the intact text in only {fmt(panel['accuracy'].iloc[0])} of {n} judge-control "
            f"pairs (95% CI {fmt(panel['ci_low'].iloc[0])}–{fmt(panel['ci_high'].iloc[0])}): its verdicts on "
            "the writing tasks may not track quality."
        )


def chrf_section(doc: ReportDocument, ctx: ReportContext) -> None:
    pairs = ctx.analysed
    scored = pairs[pairs["chrf_a"].notna() & pairs["chrf_b"].notna() & pairs["winner"].isin(["a", "b"])]
    if scored.empty:
        return
    higher = np.where(scored["chrf_a"] > scored["chrf_b"], "a", np.where(scored["chrf_a"] < scored["chrf_b"], "b", "tie"))
    agree = scored.assign(chrf_higher=higher)
    agree = agree[agree["chrf_higher"] != "tie"]
    table = (
        agree.assign(agrees=agree["chrf_higher"] == agree["winner"])
        .groupby(["model", "contrast"])["agrees"].agg(["mean", "size"]).reset_index()
        .rename(columns={"mean": "panel_agrees_with_chrf", "size": "n"})
    )
    doc.add(
        "## Translation: chrF against the reference",
        "Share of decisive translation pairs where the panel's winner is the side with the higher chrF.",
    )
    doc.table("chrf_agreement", table)
