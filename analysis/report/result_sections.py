"""Report sections with the main results: win rates per cell, aggregates, rubric, dose-response.

Each arranges tables from the statistics modules (`win_rates`, `effect_sizes`,
`equivalence_power`, `dose_response`) and their figures; the numbers come from there.
The win-rate and aggregate tables are kept in `ReportContext.results` for the findings.
"""

from __future__ import annotations

import pandas as pd

from utility_gap.analysis import figures
from utility_gap.analysis.dose_response import dose_response, high_side_frame
from utility_gap.analysis.effect_sizes import add_cohens_h, judge_icc, net_scores, rubric_effect_sizes
from utility_gap.analysis.equivalence_power import equivalence_table
from utility_gap.analysis.report.document import ReportContext, ReportDocument, fmt, ordered_contrasts
from utility_gap.analysis.report.settings import MIN_DECISIVE, SIDE_BY_SIDE
from utility_gap.analysis.win_rates import FrameError as StatisticsInputError
from utility_gap.analysis.win_rates import aggregate_win_rates, win_rates


def _conclusion(row: pd.Series, margin: float, power: float) -> str:
    n = int(row["n"])
    if row["significant_holm"]:  # the exact test is valid at any n; a small n only widens the interval
        side = "a" if row["win_rate"] > 0.5 else "b"
        small = f"; only {n} decisive pairs, so the size is imprecise" if n < MIN_DECISIVE else ""
        return f"side {side} better (Holm p = {fmt(row['p_holm'])}{small})"
    if n < MIN_DECISIVE:
        return f"cannot say: only {n} decisive pair(s)"
    if row.get("equivalent_fw", False):
        return f"no effect larger than ±{margin} (TOST, family-wise)"
    return f"inconclusive (MDE {fmt(row.get('mde_fw'))} at {power:.0%} power)"


def win_rates_section(doc: ReportDocument, ctx: ReportContext) -> None:
    pairs, settings = ctx.analysed, ctx.settings
    if pairs.empty:
        return
    doc.add(
        "## Win rates per model and task",
        "Win rate = share of decisive pairs won by side a (the first arm of the contrast); ties are "
        "excluded from the denominator and shown beside it. Exact two-sided binomial test against 0.5, "
        "Holm-adjusted within each contrast; `fw_ci` is the family-wise Clopper-Pearson interval at "
        "1 - alpha/m (m = testable cells of the contrast). `equivalent_fw`: the TOST against "
        f"±{settings.margin} rejects at alpha/m. `mde_fw`: the smallest win-rate difference from 0.5 the "
        f"cell could detect with {settings.power:.0%} power.",
    )
    table = win_rates(pairs, alpha=settings.alpha)
    table = add_cohens_h(table)
    table = equivalence_table(table, margin=settings.margin, alpha=settings.alpha, power=settings.power)
    table["conclusion"] = [_conclusion(row, settings.margin, settings.power) for _, row in table.iterrows()]
    table = table.sort_values(
        ["contrast", "model", "task"], key=lambda s: s.map({c: i for i, c in enumerate(ordered_contrasts(s.unique()))})
        if s.name == "contrast" else s
    ).reset_index(drop=True)
    shown = [
        "model", "task", "n_a", "n_b", "n_tie", "win_rate", "fw_ci_low", "fw_ci_high", "p_holm",
        "cohens_h", "equivalent_fw", "mde_fw", "conclusion",
    ]
    for contrast in ordered_contrasts(table["contrast"].unique()):
        rows = table[table["contrast"] == contrast]
        doc.add(f"### {contrast}")
        safe = contrast.replace("/", "-")
        doc.table(f"win_rates__{safe}", rows, shown)
        doc.figure(
            figures.win_rate_lollipop(rows, contrast, doc.root / "figures" / f"win_rates__{safe}"),
            f"Win rates for {contrast}",
        )
    ctx.results["win_rates"] = table
    table.to_csv(doc.root / "tables" / "win_rates.csv", index=False)
    doc.tables.append(doc.root / "tables" / "win_rates.csv")
    doc.add("All cells of every contrast, with every column: [tables/win_rates.csv](tables/win_rates.csv)")
    side = [c for c in SIDE_BY_SIDE if c in set(table["contrast"])]
    if len(side) >= 2:
        doc.add("### Contrasts side by side")
        doc.figure(
            figures.contrasts_side_by_side(table, side, doc.root / "figures" / "contrasts_side_by_side"),
            "Exhortation and utility contrasts side by side",
        )


def aggregates_section(doc: ReportDocument, ctx: ReportContext) -> None:
    pairs, settings = ctx.analysed, ctx.settings
    if pairs.empty:
        return
    doc.add(
        "## Aggregates per contrast",
        "Equal-cell mean: every model x task cell weighs the same; its CI is a two-stage cell "
        "bootstrap. The pooled rate weighs cells by their decisive pairs. With fewer than about 8 "
        "cells the bootstrap interval is rough.",
    )
    table = aggregate_win_rates(pairs, alpha=settings.alpha, n_boot=settings.n_boot, seed=settings.seed)
    order = {c: i for i, c in enumerate(ordered_contrasts(table["contrast"].unique()))}
    table = table.sort_values("contrast", key=lambda s: s.map(order)).reset_index(drop=True)
    doc.table(
        "aggregate_win_rates",
        table,
        ["contrast", "n_cells", "equal_cell_win_rate", "boot_ci_low", "boot_ci_high", "equal_cell_net_score",
         "n_a", "n_b", "n_tie", "pooled_win_rate", "pooled_ci_low", "pooled_ci_high", "pooled_p_value"],
    )
    nets = net_scores(pairs, alpha=settings.alpha)
    doc.table(
        "net_scores",
        nets,
        caption="Net score per cell (+1 a wins, 0 tie, -1 b wins; ties stay in the denominator), t-interval:",
    )
    ctx.results["aggregate"] = table


def dose_response_section(doc: ReportDocument, ctx: ReportContext) -> None:
    pairs, settings = ctx.analysed, ctx.settings
    if pairs.empty:
        return
    if pairs["utility_diff"].isna().all():
        return
    doc.add(
        "## Dose-response",
        "Does the side with the higher-utility outcome win more often the larger the utility gap? "
        "Logistic regression of 'high side wins' on |utility difference| over decisive pairs, pooled and "
        "with model/task/domain fixed effects; standard errors clustered by item.",
    )
    utility_contrasts = sorted(pairs.loc[pairs["utility_diff"].notna(), "contrast"].unique())
    pairs = pairs[pairs["contrast"].isin(utility_contrasts)]
    doc.add(f"Contrasts with utilities: {', '.join(utility_contrasts)}.")
    data, _ = high_side_frame(pairs)
    try:
        fits = dose_response(pairs, cluster="item_id", alpha=settings.alpha)
    except StatisticsInputError as ex:
        doc.add(f"No dose-response fit: {ex}")
        doc.cautions.append("The dose-response slope could not be estimated from these pairs.")
        fits = None
    if fits is not None:
        doc.table("dose_response", fits)
    pooled = fits[fits["spec"] == "pooled"].iloc[0].to_dict() if fits is not None else None
    doc.figure(
        figures.dose_response_plot(data, pooled, doc.root / "figures" / "dose_response"),
        "Dose-response: share won by the higher-utility side against the utility gap",
    )


def rubric_section(doc: ReportDocument, ctx: ReportContext) -> None:
    frames, kept, settings = ctx.frames, ctx.analysed, ctx.settings
    excluded = set(frames.pairs["pair_key"]) - set(kept["pair_key"])
    outputs = frames.outputs[~frames.outputs["pair_key"].isin(excluded)]
    if outputs.empty:
        return
    doc.add(
        "## Rubric scores (secondary)",
        "Each output scored 1-10 per criterion by each judge; an output's score is its mean over judges "
        "and criteria. d_z: paired standardised difference (a - b).",
    )
    doc.table("rubric_effect_sizes", rubric_effect_sizes(outputs, alpha=settings.alpha, n_boot=settings.n_boot))
    icc = judge_icc(outputs, by=("task",), alpha=settings.alpha)
    doc.table("judge_icc", icc, caption="Agreement of the judges' rubric scores (ICC) per task:")
