"""Report section: the panel against people (human ratings from `utility-gap rate`).

Why: an LLM panel's null means something only if the panel tracks what people call
better. With `--ratings FILE ...` this section shows, per task and overall, how often
the panel and each rater agree (raw agreement, Cohen's kappa), how raters agree among
themselves (pairwise kappa, Krippendorff's alpha), the panel's accuracy against the human
majority, the correlation of panel and human rubric scores where both exist, and the win
rates people's verdicts give beside the panel's on the same pairs. Without ratings, or
with too few or a weak agreement, it says so in "What the data cannot support".
"""

from __future__ import annotations

import pandas as pd

from utility_gap.analysis.human_agreement import (
    human_win_rates,
    panel_accuracy,
    panel_rater_agreement,
    rater_agreement,
    rubric_correlation,
    unmatched_ratings,
)
from utility_gap.analysis.human_ratings import RatingsError, read_ratings
from utility_gap.analysis.report.document import ReportContext, ReportDocument, fmt
from utility_gap.analysis.report.settings import MIN_DECISIVE, ReportError

MIN_HUMAN_PAIRS = 30  # below this many pairs with a human majority the check is too small to trust
WEAK_KAPPA = 0.4  # panel-human (or human-human) kappa/alpha below this is at best "fair" agreement
WEAK_DIRECTION = 0.75  # share of decisive pairs where panel and people pick the same side
SKEWED = 0.8  # one majority verdict on this share of pairs or more: kappa is uninformative, direction decides

NO_RATINGS = (
    "The panel was not checked against human judgement: no ratings were given. Rate a sample of the judged "
    "pairs blind with `utility-gap rate LOGDIR --out RATINGS` and pass `--ratings RATINGS ...` to the report."
)


def human_section(doc: ReportDocument, ctx: ReportContext) -> None:
    settings = ctx.settings
    if not settings.ratings:
        doc.cautions.append(NO_RATINGS)
        return
    try:
        ratings = read_ratings([str(p) for p in settings.ratings])
    except RatingsError as ex:
        raise ReportError(f"--ratings: {ex}") from None
    pairs = ctx.analysed
    doc.add("## The panel against people")
    verdicts = ratings.verdicts
    unmatched = unmatched_ratings(pairs, verdicts)
    matched = verdicts[~verdicts.index.isin(unmatched.index)]
    summary = (
        verdicts.assign(matched=~verdicts.index.isin(unmatched.index), tie=verdicts["verdict"] == "tie")
        .groupby(["rater", "file"], sort=True)
        .agg(ratings=("pair_key", "size"), matched=("matched", "sum"), tie_share=("tie", "mean"),
             median_seconds=("seconds", "median"))
        .reset_index()
    )
    doc.table(
        "human_raters",
        summary,
        caption=(
            f"Ratings read from {len(ratings.files)} file(s) ({ratings.n_replaced} earlier rating(s) of a pair "
            "replaced by the same rater's later one). `matched`: ratings of pairs analysed here (flagged or "
            "other logs' pairs are not)."
        ),
    )
    if matched.empty:
        doc.cautions.append(
            "None of the human ratings given is of a pair analysed here (other logs, or excluded pairs): the "
            "panel was not checked against human judgement."
        )
        return
    alpha = settings.alpha
    agreement = panel_rater_agreement(pairs, matched, by=("task",), alpha=alpha)
    doc.table(
        "human_panel_agreement",
        agreement,
        caption=(
            "Panel vs each rater, per task and overall: `agreement` = share of pairs with the same verdict "
            "(a / b / tie), Clopper-Pearson CI; `kappa` = Cohen's kappa (chance-corrected; 0 = chance, 1 = "
            "perfect), asymptotic CI."
        ),
    )
    accuracy = panel_accuracy(pairs, matched, by=("task",), alpha=alpha)
    doc.table(
        "human_panel_accuracy",
        accuracy,
        ["task", "n_rated", "n_split", "n", "accuracy", "ci_low", "ci_high", "kappa", "n_decisive",
         "direction_accuracy", "direction_ci_low", "direction_ci_high"],
        caption=(
            "The panel's accuracy against the human majority (the unique plurality of the raters of a pair; "
            "`n_split` pairs have none and are left out): `accuracy` counts ties as verdicts, "
            "`direction_accuracy` is the share of pairs both call decisive where they pick the same side."
        ),
    )
    raters = matched["rater"].nunique()
    alphas = pd.DataFrame()
    if raters >= 2:
        pairwise, alphas = rater_agreement(pairs, matched, by=("task",), alpha=alpha, n_boot=settings.n_boot,
                                           seed=settings.seed)
        doc.table("human_rater_agreement", pairwise,
                  caption="Between raters, on the pairs both rated (raw agreement and Cohen's kappa):")
        doc.table(
            "human_krippendorff",
            alphas,
            caption=(
                "Krippendorff's alpha (nominal, a / b / tie) over pairs rated at least twice, among the raters and "
                "with the panel as one more rater; bootstrap CI over pairs:"
            ),
        )
    else:
        doc.add("One rater only: agreement between people cannot be measured (give the same sample to a second rater).")
    wins = human_win_rates(pairs, matched, alpha=alpha)
    doc.table(
        "human_win_rates",
        wins,
        ["contrast", "model", "task", "n_pairs", "human_win_rate", "human_ci_low", "human_ci_high", "human_n_tie",
         "panel_win_rate", "panel_ci_low", "panel_ci_high", "panel_n_tie", "same_direction"],
        caption=(
            "Win rate of side a on the rated pairs, from the human majority and from the panel (ties excluded "
            "from the denominator; 95% Clopper-Pearson CIs): would people draw the same conclusion?"
        ),
    )
    _rubric(doc, ctx, ratings.scores[ratings.scores["pair_key"].isin(set(matched["pair_key"]))], alpha)
    _cautions(doc, pairs, matched, accuracy, alphas, wins)


def _rubric(doc: ReportDocument, ctx: ReportContext, scores: pd.DataFrame, alpha: float) -> None:
    outputs = ctx.frames.outputs
    if scores.empty or outputs.empty:
        return
    table = rubric_correlation(outputs, scores, ctx.analysed, by=("task",), alpha=alpha)
    doc.table(
        "human_rubric_correlation",
        table,
        caption=(
            "Rubric scores: Spearman correlation of the panel's mean score (over judges) and the raters' mean "
            "score, per (pair, side, criterion) both scored; Fisher-z CI."
        ),
    )


def _cautions(
    doc: ReportDocument, pairs: pd.DataFrame, matched: pd.DataFrame, accuracy: pd.DataFrame,
    alphas: pd.DataFrame, wins: pd.DataFrame,
) -> None:
    checked = set(pairs[pairs["pair_key"].isin(set(matched["pair_key"]))]["task"])
    unchecked = sorted(set(pairs["task"]) - checked)
    if unchecked:
        doc.cautions.append(
            f"No human rating covers task(s) {', '.join(unchecked)}: the panel's verdicts there have no human check."
        )
    rows = accuracy if accuracy["task"].nunique() > 2 else accuracy[accuracy["task"] == "all"]  # one task: once
    for _, row in rows.iterrows():
        where = "overall" if row["task"] == "all" else f"on {row['task']}"
        if row["n"] < MIN_HUMAN_PAIRS:
            doc.cautions.append(
                f"Only {int(row['n'])} pair(s) {where} have a human majority verdict: too few to validate the panel "
                f"against people (aim for at least {MIN_HUMAN_PAIRS} per task)."
            )
            continue
        # kappa says little when one verdict dominates (a strong effect): then only direction counts
        weak_kappa = row["top_share"] < SKEWED and not row["kappa"] >= WEAK_KAPPA
        weak_direction = not row["direction_accuracy"] >= WEAK_DIRECTION
        if weak_kappa or weak_direction:
            doc.cautions.append(
                f"The panel agrees weakly with people {where}: Cohen's kappa {fmt(row['kappa'])} against the human "
                f"majority (95% CI {fmt(row['kappa_ci_low'])}–{fmt(row['kappa_ci_high'])}), same side in "
                f"{fmt(row['direction_accuracy'])} of {int(row['n_decisive'])} decisive pairs. Its verdicts there "
                "may not track what people call better, and a null from it means little."
            )
    if len(alphas):
        humans = alphas[(alphas["raters"] == "humans") & (alphas["task"] == "all")]
        if len(humans) and humans["n_pairs"].iloc[0] > 0 and not humans["alpha"].iloc[0] >= WEAK_KAPPA:
            doc.cautions.append(
                f"The raters agree little among themselves (Krippendorff's alpha {fmt(humans['alpha'].iloc[0])} over "
                f"{int(humans['n_pairs'].iloc[0])} pairs): the human standard the panel is checked against is itself "
                "noisy."
            )
    differ = wins[(wins["n_pairs"] >= MIN_DECISIVE) & ~wins["same_direction"].astype(bool)]
    if len(differ):
        cells = "; ".join(f"{r.contrast} {r.model} {r.task}" for r in differ.itertuples())
        doc.cautions.append(
            f"On the rated pairs, people's verdicts and the panel's point in different directions in {len(differ)} "
            f"cell(s) ({cells}): people might draw a different conclusion there."
        )
