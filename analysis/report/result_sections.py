"""Report sections with the main results: win rates per cell, aggregates, rubric, dose-response.

Each arranges tables from the statistics modules (`win_rates`, `effect_sizes`,
`equivalence_power`, `dose_response`) and their figures; the numbers come from there.
The win-rate and aggregate tables are kept in `ReportContext.results` for the findings.
"""

from __future__ import annotations

import pandas as pd

from utility_gap.analysis import figures
from utility_gap.analysis.bootstrap import CELL_COVERAGE, ROUGH_LEVELS
from utility_gap.analysis.dose_response import dose_response, high_side_frame
from utility_gap.analysis.effect_sizes import add_cohens_h, judge_icc, net_scores, rubric_effect_sizes
from utility_gap.analysis.equivalence_power import equivalence_table
from utility_gap.analysis.report.document import ReportContext, ReportDocument, fmt, ordered_contrasts
from utility_gap.analysis.report.settings import MIN_DECISIVE, SIDE_BY_SIDE, ReportSettings
from utility_gap.analysis.win_rates import FrameError as StatisticsInputError
from utility_gap.analysis.win_rates import aggregate_win_rates, win_rates


def sides(contrast: str) -> tuple[str, str]:
    """The two arms a contrast name compares (`exhort_vs_neutral` -> exhort, neutral)."""
    a, sep, b = str(contrast).partition("_vs_")
    return (a, b) if sep and a and b else ("side a", "side b")


def direction_text(contrast: str, direction: str) -> str:
    """'exhort better than neutral' for a significant cell of `exhort_vs_neutral`."""
    a, b = sides(contrast)
    return f"{a} better than {b}" if direction == "a" else f"{b} better than {a}"


def _conclusion(row: pd.Series, margin: float, power: float) -> str:
    n = int(row["n"])
    if row["significant_holm"]:  # the exact test is valid at any n; a small n only widens the interval
        small = f"; only {n} decisive pairs, so the size is imprecise" if n < MIN_DECISIVE else ""
        test = "one-sided" if row.get("alternative", "two-sided") != "two-sided" else "two-sided"
        return f"{direction_text(row['contrast'], row['direction'])} ({test}, Holm p = {fmt(row['p_holm'])}{small})"
    if int(row["n_total"]) == 0:  # a planned cell without a judged pair (never run, or every pair excluded)
        return "no judged pair: a planned cell, counted in m and in Holm"
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
        "excluded from the denominator and shown beside it. Exact binomial test against 0.5 "
        f"({_sidedness(settings)}), Holm-adjusted within each contrast; `fw_ci` is the family-wise "
        f"{_interval_name(settings)} interval at 1 - alpha/m (m = {_family_words(settings)}; the CSV has "
        "both Clopper-Pearson and Wilson intervals). `equivalent_fw`: the TOST against "
        f"±{_margins(settings)} rejects at alpha/m. `mde_fw`: the smallest win-rate difference from 0.5 the "
        f"cell's test could detect with {settings.power:.0%} power (a one-sided test: in its direction). A "
        "significant result names the side it favours.",
    )
    table = win_rates(
        pairs, alpha=settings.alpha, alternative=settings.alternative, family=settings.family,
        planned=ctx.results.get("planned_cells"),
    )
    table = add_cohens_h(table)
    table = pd.concat(
        [equivalence_table(rows, margin=settings.margin_for(contrast), alpha=settings.alpha, power=settings.power)
         for contrast, rows in table.groupby("contrast", sort=False)],
    )
    table["conclusion"] = [_conclusion(row, row["margin"], settings.power) for _, row in table.iterrows()]
    table = table.sort_values(
        ["contrast", "model", "task"], key=lambda s: s.map({c: i for i, c in enumerate(ordered_contrasts(s.unique()))})
        if s.name == "contrast" else s
    ).reset_index(drop=True)
    low, high = ("fw_wilson_low", "fw_wilson_high") if settings.interval == "wilson" else ("fw_ci_low", "fw_ci_high")
    shown = [
        "model", "task", "n_a", "n_b", "n_tie", "win_rate", low, high, "p_holm",
        "cohens_h", "equivalent_fw", "mde_fw", "conclusion",
    ]
    for contrast in ordered_contrasts(table["contrast"].unique()):
        rows = table[table["contrast"] == contrast]
        doc.add(f"### {contrast}")
        if settings.sided(contrast) != "two-sided":
            a, b = sides(contrast)
            hypothesis = f"{a} better than {b}" if settings.sided(contrast) == "greater" else f"{b} better than {a}"
            doc.add(f"One-sided test: the hypothesis is *{hypothesis}*; a difference the other way is not tested.")
        safe = contrast.replace("/", "-")
        doc.table(f"win_rates__{safe}", rows, shown)
        drawn = rows.assign(fw_ci_low=rows[low], fw_ci_high=rows[high])
        doc.draw(figures.win_rate_lollipop, drawn, contrast, stem=doc.root / "figures" / f"win_rates__{safe}",
                 interval=_interval_name(settings), alt=f"Win rates for {contrast}")
    ctx.results["win_rates"] = table
    table.to_csv(doc.root / "tables" / "win_rates.csv", index=False)
    doc.tables.append(doc.root / "tables" / "win_rates.csv")
    doc.add("All cells of every contrast, with every column: [tables/win_rates.csv](tables/win_rates.csv)")
    side = [c for c in SIDE_BY_SIDE if c in set(table["contrast"])]
    if len(side) >= 2:
        doc.add("### Contrasts side by side")
        doc.draw(figures.contrasts_side_by_side, table, side, stem=doc.root / "figures" / "contrasts_side_by_side",
                 alt="Exhortation and utility contrasts side by side")


def aggregates_section(doc: ReportDocument, ctx: ReportContext) -> None:
    pairs, settings = ctx.analysed, ctx.settings
    if pairs.empty:
        return
    doc.add(
        "## Aggregates per contrast",
        "Equal-cell mean: every model x task cell weighs the same. Its interval is a percentile bootstrap "
        f"({settings.n_boot} replicates, seed {settings.seed}; method `{settings.bootstrap}`): the **crossed** "
        "bootstrap resamples models and tasks independently, then the pairs inside each drawn cell, so the "
        "interval is for models and tasks in general, not only the cells run; the **cell** bootstrap resamples "
        "cells as if they were independent (used when only one model or one task varies). `boot_method` says "
        f"which was used. With fewer than {settings.min_levels} levels on a resampled factor, or when every "
        "replicate gives the same value, the interval is withheld and `boot_note` says why. The pooled rate "
        f"weighs cells by their decisive pairs ({_interval_name(settings)} interval; exact test, "
        f"{_sidedness(settings)}); its interval and p-value treat every pair as independent, so they speak for "
        "the pairs judged here, not for models and tasks in general.",
    )
    table = aggregate_win_rates(
        pairs, alpha=settings.alpha, n_boot=settings.n_boot, seed=settings.seed, method=settings.bootstrap,
        min_levels=settings.min_levels, alternative=settings.alternative,
    )
    order = {c: i for i, c in enumerate(ordered_contrasts(table["contrast"].unique()))}
    table = table.sort_values("contrast", key=lambda s: s.map(order)).reset_index(drop=True)
    pooled_low, pooled_high = (
        ("pooled_wilson_low", "pooled_wilson_high") if settings.interval == "wilson" else ("pooled_ci_low", "pooled_ci_high")
    )
    doc.table(
        "aggregate_win_rates",
        table,
        ["contrast", "n_cells", "equal_cell_win_rate", "boot_ci_low", "boot_ci_high", "boot_method", "boot_levels",
         "boot_note", "equal_cell_net_score", "n_a", "n_b", "n_tie", "pooled_win_rate", pooled_low, pooled_high,
         "pooled_alternative", "pooled_p_value"],
    )
    for _, row in table[~table["boot_reliable"].astype(bool)].iterrows():
        doc.cautions.append(f"The aggregate interval of {row['contrast']} is withheld: {row['boot_note']}.")
    rough = table[table["boot_reliable"].astype(bool) & (table["boot_fewest_levels"] < ROUGH_LEVELS)]
    for _, row in rough.iterrows():
        doc.cautions.append(
            f"The aggregate interval of {row['contrast']} resamples few levels ({row['boot_levels']}): a percentile "
            f"interval over fewer than {ROUGH_LEVELS} levels under-covers when that factor's effects dominate (in "
            "planted checks about 92% at 5 levels for a nominal 95%); read it as approximate."
        )
    for caution in cell_bootstrap_cautions(table, pairs):
        doc.cautions.append(caution)
    nets = net_scores(pairs, alpha=settings.alpha, ci=settings.net_ci, n_boot=settings.n_boot, seed=settings.seed)
    how = (
        "percentile bootstrap over the cell's pairs, inside [-1, 1]; none when all pairs agree"
        if settings.net_ci == "bootstrap" else "t-interval (can leave [-1, 1] on few pairs)"
    )
    doc.table(
        "net_scores",
        nets,
        caption=f"Net score per cell (+1 a wins, 0 tie, -1 b wins; ties stay in the denominator), {how}:",
    )
    ctx.results["aggregate"] = table


def cell_bootstrap_cautions(aggregate: pd.DataFrame, pairs: pd.DataFrame) -> list[str]:
    """A cell-bootstrap interval over cells that share models and tasks is about those cells only.

    `--bootstrap cell` is allowed (the cells may be the sampling units), but when models and
    tasks both vary the headline claim is usually about models and tasks in general, and
    for that the cell interval is too narrow: say so, with the planted coverage.
    """
    decisive = pairs[pairs["winner"].isin(["a", "b"])]
    levels = decisive.groupby("contrast")[["model", "task"]].nunique()
    cautions = []
    for _, row in aggregate[(aggregate["boot_method"] == "cell") & aggregate["boot_reliable"].astype(bool)].iterrows():
        if row["contrast"] not in levels.index:
            continue
        n_models, n_tasks = levels.loc[row["contrast"], ["model", "task"]]
        if n_models > 1 and n_tasks > 1:
            cautions.append(
                f"The aggregate interval of {row['contrast']} is the cell bootstrap although models and tasks both "
                f"vary ({n_models} models x {n_tasks} tasks): it treats the {int(row['n_cells'])} cells as "
                "independent, so it speaks for these cells only; for models and tasks in general it is too narrow "
                f"(in planted checks with model and task effects it covered {CELL_COVERAGE} for a nominal 95%; "
                "the crossed bootstrap, the default, covers them)."
            )
    return cautions


def _margins(settings: ReportSettings) -> str:
    own = "; ".join(f"{m} for {c}" for c, m in settings.contrast_margins)
    return f"{settings.margin}" + (f" ({own})" if own else "")


def _interval_name(settings: ReportSettings) -> str:
    return "Wilson" if settings.interval == "wilson" else "Clopper-Pearson"


def _sidedness(settings: ReportSettings) -> str:
    one_sided = [f"{c}: {side}" for c, side in settings.alternatives if side != "two-sided"]
    return "two-sided" + (f", except one-sided for {'; '.join(one_sided)}" if one_sided else "")


def _family_words(settings: ReportSettings) -> str:
    if settings.family == "planned":
        return "planned cells of the contrast, including those without a decisive pair"
    return "cells of the contrast with at least one decisive pair"


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
    pooled = None
    if fits is not None:
        doc.table("dose_response", fits)
        for spec, error in fits.loc[fits["error"] != "", ["spec", "error"]].itertuples(index=False):
            doc.cautions.append(f"The {spec} dose-response fit was not estimable: {error}")
        for spec in fits.loc[(fits["error"] == "") & ~fits["converged"].astype(bool), "spec"]:
            doc.cautions.append(
                f"The {spec} dose-response fit did not converge (typically a fixed-effect level where one side "
                f"always wins, whose coefficient runs off): read its slope and interval with care."
            )
        estimated = fits[(fits["spec"] == "pooled") & (fits["error"] == "")]
        pooled = estimated.iloc[0].to_dict() if len(estimated) else None
    doc.draw(figures.dose_response_plot, data, pooled, stem=doc.root / "figures" / "dose_response",
             alt="Dose-response: share won by the higher-utility side against the utility gap")


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
    doc.table("rubric_effect_sizes", rubric_effect_sizes(outputs, alpha=settings.alpha, n_boot=settings.n_boot,
                                                         seed=settings.seed))
    icc = judge_icc(outputs, by=("task",), alpha=settings.alpha)
    doc.table("judge_icc", icc, caption="Agreement of the judges' rubric scores (ICC) per task:")
