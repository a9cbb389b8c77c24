"""Report sections on what the texts say: text features, length control and the effort dose.

A careful reader's first question about a win rate is whether the winning side simply
wrote more, since LLM judges are known to prefer longer answers. These sections show,
per contrast, what changed in the texts (paired feature differences), whether the win
survives control for length (`length_control`), and whether more requested effort wins
more (`effort_dose`). The numbers come from those modules; the texts are read once per
report (`features_for`) and shared with the judge diagnostics (each judge's preference
for the longer text).
"""

from __future__ import annotations

import pandas as pd

from utility_gap.analysis import figures
from utility_gap.analysis.effort_dose import effort_dose
from utility_gap.analysis.frames import features_frame
from utility_gap.analysis.length_control import (
    LENGTH,
    feature_deltas,
    length_control_verdict,
    length_controlled_win_rates,
    paired_features,
)
from utility_gap.analysis.report.document import ReportContext, ReportDocument, fmt, ordered_contrasts
from utility_gap.analysis.report.result_sections import sides
from utility_gap.analysis.report.settings import frames_cache
from utility_gap.analysis.text_features import FEATURES
from utility_gap.solvers.contrasts import EFFORT_DOSE_CONTRASTS

POOLED_CLUSTER: tuple[str, ...] = ("model", "task", "item_id")
ARM_MEANS: tuple[str, ...] = (
    "words", "sentences", "paragraphs", "mean_sentence_length", "mattr", "fk_grade", "rare_word_rate",
    "quant_per_100_words", "headings", "list_items",
)


def features_for(ctx: ReportContext) -> pd.DataFrame | None:
    """The features frame of every used log, read once per report; None when switched off
    or when the pairs come from a table (`--table`), which carries no output texts."""
    if not ctx.settings.text_features or ctx.table is not None:
        return None
    if "features" not in ctx.results:
        ctx.results["features"] = features_frame(ctx.log_dir, frames=ctx.frames, cache=frames_cache(ctx.settings))
    return ctx.results["features"]


def paired_for(ctx: ReportContext, pairs: pd.DataFrame) -> pd.DataFrame | None:
    """`pairs` with both sides' features (`length_control.paired_features`), or None."""
    features = features_for(ctx)
    return None if features is None else paired_features(pairs, features)


def _csv(doc: ReportDocument, name: str, frame: pd.DataFrame) -> str:
    path = doc.root / "tables" / f"{name}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    doc.tables.append(path)
    return f"[tables/{name}.csv](tables/{name}.csv)"


def text_features_section(doc: ReportDocument, ctx: ReportContext) -> None:
    pairs, settings = ctx.analysed, ctx.settings
    if pairs.empty:
        return
    doc.add("## Text features and length control")
    features = features_for(ctx)
    if ctx.table is not None:
        doc.add("The pairs come from a table, which carries no output texts: no feature deltas or length control.")
        return
    if features is None:
        doc.add("Text features were not computed (`--no-text-features`): no length control, no feature deltas.")
        return
    doc.add(
        "What changed in the texts, and does side a still win at equal length? Features are computed from each "
        "side's output in the logs (`analysis/text_features.py`: words by wordfreq's tokenizer, Flesch-Kincaid "
        "grade by textstat, rare words by wordfreq Zipf frequency < 3, lexical variety as a moving-average "
        "type-token ratio). Only the analysed pairs (after exclusions) are used."
    )
    kept = features[features["pair_key"].isin(set(pairs["pair_key"]))]
    _outputs_by_arm(doc, kept, len(pairs))
    paired = paired_features(pairs, features)
    _deltas(doc, ctx, paired)
    _length_control(doc, ctx, paired)
    ctx.results["paired_features"] = paired


def _outputs_by_arm(doc: ReportDocument, kept: pd.DataFrame, n_pairs: int) -> None:
    present = kept[kept["present"]]
    by_arm = kept.groupby(["contrast", "arm"], sort=False).agg(
        outputs=("present", "size"), missing=("present", lambda s: int((~s).sum())),
        empty=("empty", "sum"), truncated=("truncated", "sum"),
    )
    means = present.groupby(["contrast", "arm"], sort=False)[list(ARM_MEANS)].mean()
    table = by_arm.join(means).reset_index()
    order = {c: i for i, c in enumerate(ordered_contrasts(table["contrast"].unique()))}
    table = table.sort_values(["contrast", "arm"], key=lambda s: s.map(order) if s.name == "contrast" else s)
    doc.table(
        "text_features_by_arm",
        table,
        caption=(
            "Outputs per contrast and arm: `missing` = the log holds no output for that side (counted, never "
            "dropped silently); `empty` = whitespace only; `truncated` = hit the token limit. Feature means are "
            "over outputs present:"
        ),
    )
    expected = 2 * n_pairs
    missing = expected - int(kept["present"].sum())
    if missing:
        doc.cautions.append(
            f"{missing} of {expected} outputs of the analysed pairs are not in the logs: those pairs are counted "
            "(`n_no_text`, `n_missing`) but have no text features and are left out of the length control."
        )
    truncated = int(kept["truncated"].sum())
    if truncated:
        doc.add(f"{truncated} output(s) hit the token limit; their length is the limit's, not the writer's choice.")


def _deltas(doc: ReportDocument, ctx: ReportContext, paired: pd.DataFrame) -> None:
    alpha = ctx.settings.alpha
    cells = feature_deltas(paired, by=("model", "task", "contrast"), alpha=alpha)
    pooled = feature_deltas(paired, by=("contrast",), alpha=alpha, cluster=POOLED_CLUSTER)
    contrasts = ordered_contrasts(pooled["contrast"].unique())
    doc.add(
        "### What changed in the text",
        "Mean paired difference a - b of each feature per contrast over all cells, with a "
        f"{1 - alpha:.0%} interval clustered by (model, task, item); `d_z` = mean difference / sd of the "
        f"differences. The table shows d_z (`*`: Holm-adjusted p < {alpha:g} over the {len(FEATURES)} features of "
        "the contrast, since with this many features one interval in twenty excludes 0 by chance alone); the "
        "CSVs hold means, per-feature intervals, p-values and Holm p-values per contrast and per model x task cell.",
    )
    marked = pooled.assign(
        shown=[
            f"{fmt(d)}{'*' if p_holm < alpha else ''}" if pd.notna(d) else f"– ({note})"
            for d, p_holm, note in zip(pooled["d_z"], pooled["p_holm"], pooled["note"])
        ]
    )
    summary = marked.pivot(index="feature", columns="contrast", values="shown").reindex(index=list(FEATURES))
    summary = summary[contrasts].reset_index()
    doc.table("feature_deltas_summary", summary)
    doc.add(
        f"Per contrast: {_csv(doc, 'feature_deltas_by_contrast', pooled)}; per cell: "
        f"{_csv(doc, 'feature_deltas_by_cell', cells)}"
    )
    doc.draw(figures.feature_deltas_plot, pooled, stem=doc.root / "figures" / "feature_deltas", contrasts=contrasts,
             alpha=alpha, alt="Paired feature differences per contrast")


def _length_control(doc: ReportDocument, ctx: ReportContext, paired: pd.DataFrame) -> None:
    alpha, extra = ctx.settings.alpha, ctx.settings.length_covariates
    covariates = (LENGTH, *extra)
    pooled = length_controlled_win_rates(paired, by=("contrast",), covariates=covariates, alpha=alpha,
                                         cluster=POOLED_CLUSTER)
    order = {c: i for i, c in enumerate(ordered_contrasts(pooled["contrast"].unique()))}
    pooled = pooled.sort_values("contrast", key=lambda s: s.map(order)).reset_index(drop=True)
    pooled["verdict"] = [length_control_verdict(row) for _, row in pooled.iterrows()]
    cells = length_controlled_win_rates(paired, by=("model", "task", "contrast"), covariates=covariates, alpha=alpha)
    cells["verdict"] = [length_control_verdict(row) for _, row in cells.iterrows()]
    also = (
        f" The model also holds the a - b differences of {', '.join(f'`{name}`' for name in extra)} at zero "
        "(`--length-covariates`), so 'at equal length' below means at equal length and equal "
        f"{', '.join(extra)}." if extra else ""
    )
    doc.add(
        "### Length-controlled win rates",
        "A logistic regression of 'side a wins' (decisive pairs) on the length difference "
        f"`log2((words_a + 1) / (words_b + 1))`; the win rate at zero length difference is the "
        f"length-controlled rate, with a {1 - alpha:.0%} interval from cluster-robust errors (pooled: clusters "
        "are (model, task, item); per cell: items). The raw rate beside it uses the same pairs and clusters. "
        "`length_slope` is the change in log-odds per doubling of relative length (> 0: longer wins). "
        "`extrapolated`: fewer than 5% of pairs lie on one side of equal length, so the equal-length rate "
        "is an extrapolation. See docs/statistics.md." + also,
    )
    doc.table(
        "length_controlled_by_contrast",
        pooled,
        ["contrast", "n", "n_no_text", "raw_win_rate", "raw_ci_low", "raw_ci_high", "lc_win_rate", "lc_ci_low",
         "lc_ci_high", "length_slope", "length_slope_p", "share_a_longer", "extrapolated"]
        + (["covariates"] if extra else []) + ["verdict"],
    )
    lines = []
    for _, row in pooled.iterrows():
        controlled = (
            f"at equal length {fmt(row['lc_win_rate'])} ({fmt(row['lc_ci_low'])}–{fmt(row['lc_ci_high'])})"
            if pd.notna(row["lc_win_rate"]) else "no equal-length estimate"
        )
        lines.append(
            f"- **{row['contrast']}**: raw {fmt(row['raw_win_rate'])} ({fmt(row['raw_ci_low'])}–"
            f"{fmt(row['raw_ci_high'])}), {controlled}: {row['verdict']}."
        )
        raw_effect = row["raw_ci_low"] > 0.5 or row["raw_ci_high"] < 0.5
        if raw_effect and row["separation"] in ("longer", "shorter"):
            doc.cautions.append(
                f"`{row['contrast']}`: the length difference alone separates the winners (the {row['separation']} "
                "text won every decisive pair), so the raw win rate cannot be told apart from the judges' "
                "preference for length."
            )
        elif row["separation"] in ("a", "b"):
            doc.cautions.append(
                f"`{row['contrast']}`: side {row['separation']} is better at equal length, but there is no estimate "
                f"or interval of how much ({row['note']}); more pairs near equal length would give one."
            )
        if row["verdict"].startswith(("does not survive", "reverses")):
            doc.cautions.append(
                f"`{row['contrast']}`: the raw win rate {fmt(row['raw_win_rate'])} {row['verdict']}. "
                "Part or all of the effect may be the judges' preference for length."
            )
        elif row["extrapolated"]:
            doc.cautions.append(
                f"`{row['contrast']}`: side a is longer (or shorter) in almost every pair, so its win rate at "
                "equal length is an extrapolation."
            )
    doc.add(*lines)
    doc.table(
        "length_controlled_by_cell",
        cells,
        ["model", "task", "contrast", "n", "raw_win_rate", "lc_win_rate", "lc_ci_low", "lc_ci_high", "length_slope",
         "verdict"],
        caption="Per model x task cell (every column in the CSV):",
    )
    doc.draw(figures.length_control_plot, pooled, stem=doc.root / "figures" / "length_control",
             alt="Raw and length-controlled win rates per contrast")
    ctx.results["length_controlled"] = pooled


def length_control_finding(ctx: ReportContext, contrast: str) -> str:
    """The findings' sentence on a contrast's length control ("" when the texts were not read)."""
    table = ctx.results.get("length_controlled")
    if table is None or contrast not in set(table["contrast"]):
        return ""
    row = table[table["contrast"] == contrast].iloc[0]
    if pd.isna(row["lc_win_rate"]):
        return f" Length control (pooled over cells): {row['verdict']}."
    a, _ = sides(contrast)
    return (
        f" At equal length the win rate of {a} is {fmt(row['lc_win_rate'])} ({fmt(row['lc_ci_low'])}–"
        f"{fmt(row['lc_ci_high'])}), raw {fmt(row['raw_win_rate'])} (both pooled over cells): {row['verdict']}."
    )


def effort_dose_section(doc: ReportDocument, ctx: ReportContext) -> None:
    pairs = ctx.analysed
    present = [c for c in EFFORT_DOSE_CONTRASTS if c in set(pairs["contrast"])]
    if len(present) < 2:
        return
    paired = ctx.results.get("paired_features")
    levels, trend = effort_dose(paired if paired is not None else pairs, contrasts=present, alpha=ctx.settings.alpha)
    doc.add(
        "## Effort dose",
        "Graded requests for effort, each against the same neutral arm (`"
        + "`, `".join(present)
        + "`): does more requested effort win more often? The trend is a logistic regression of 'the exhorted "
        "side wins' on the dose over the decisive pairs of these contrasts, with errors clustered by (model, "
        "task, item); `length_controlled` adds the log2 length ratio, so it asks whether more effort wins more "
        "at equal length.",
    )
    doc.table("effort_dose", levels)
    doc.table("effort_dose_trend", trend, caption="Slope per dose step (log-odds):")
    cells = None
    rates = ctx.results.get("win_rates")
    if rates is not None and {"contrast", "model", "task", "win_rate"} <= set(rates.columns):
        dose = dict(zip(levels["contrast"], levels["dose"]))
        cells = rates[rates["contrast"].isin(present)].assign(dose=lambda t: t["contrast"].map(dose))
    doc.draw(figures.effort_dose_plot, levels, cells, stem=doc.root / "figures" / "effort_dose",
             alt="Win rate against neutral at each effort dose")
