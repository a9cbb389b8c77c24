"""The report's figures (matplotlib, Agg backend), each saved as PNG and SVG.

Why these: a reader should see at a glance (1) per contrast, which model x task
cells move off 0.5 once family-wise uncertainty is accounted for, (2) the positive
control beside the utility contrast on one scale, (3) whether quality rises with the
size of the utility difference, (4) whether the two ways of eliciting utilities
agree, (5) what changed in the texts, whether a win survives control for length,
and whether more requested effort wins more, and (6) how many of one entity a model
trades for one of another (exchange rates). Every function takes tables (the outputs of the statistics modules), writes
`<stem>.png` and `<stem>.svg`, and returns the two paths; none reads logs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

FORMATS: tuple[str, ...] = ("png", "svg")
DPI = 130  # of the PNG
SVG_ID_SALT = "utility-gap"
_POINT = "#1f5fa8"
_SIGNIFICANT = "#c0392b"
_GREY = "#8a8a8a"
MAX_POINTS = 2000  # raw pairs drawn in the dose-response figure (a seeded subsample beyond this)


class FigureError(ValueError):
    """A table handed to a figure lacks a column it needs."""


def _need(table: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise FigureError(f"The {what} figure needs column(s) {', '.join(missing)}; got {list(table.columns)}.")


def figure_paths(stem: Path) -> list[Path]:
    """The files a figure function writes for `stem`, in its order (one per format)."""
    return [stem.with_suffix(f".{fmt}") for fmt in FORMATS]


def _save(fig: plt.Figure, stem: Path) -> list[Path]:
    """Write every format, cropped to what is drawn (as `bbox_inches="tight"`).

    The crop is measured once, at the PNG's resolution (so drawing the PNG reuses the
    label layouts), and used for every format, instead of once per format (measuring lays
    out every label: a third of the cost of a 40-row figure); SVG keeps text as text
    (`svg.fonttype` none) instead of one path per glyph, which is faster to write and
    smaller, and stays searchable. A fixed salt for the SVG's element ids makes a figure's
    SVG the same file wherever it is drawn (only its date differs), instead of random ids.
    """
    stem.parent.mkdir(parents=True, exist_ok=True)
    fig.set_dpi(DPI)
    crop = fig.get_tightbbox(fig.canvas.get_renderer()).padded(matplotlib.rcParams["savefig.pad_inches"])
    paths = figure_paths(stem)
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": SVG_ID_SALT}):
        for fmt, path in zip(FORMATS, paths):
            fig.savefig(path, format=fmt, dpi=DPI, bbox_inches=crop)
    plt.close(fig)
    return paths


def _cell_labels(table: pd.DataFrame) -> list[str]:
    return [f"{m} | {t}" for m, t in zip(table["model"], table["task"])]


def _lollipop(ax: plt.Axes, table: pd.DataFrame, labels: list[str], title: str) -> None:
    """Win rate per cell as a stem from 0.5 with its family-wise interval."""
    y = np.arange(len(labels))
    rows = table.set_axis(_cell_labels(table), axis=0).reindex(labels)
    rate = rows["win_rate"].to_numpy(dtype=float)
    low = rows["fw_ci_low"].to_numpy(dtype=float)
    high = rows["fw_ci_high"].to_numpy(dtype=float)
    significant = rows["significant_holm"].fillna(False).to_numpy(dtype=bool)
    colours = [_SIGNIFICANT if s else _POINT for s in significant]
    ax.axvline(0.5, color=_GREY, linestyle="--", linewidth=1, zorder=0)
    ax.hlines(y, 0.5, rate, color=colours, linewidth=1.5, alpha=0.6)
    ax.errorbar(
        rate, y, xerr=[np.clip(np.nan_to_num(rate - low), 0, None), np.clip(np.nan_to_num(high - rate), 0, None)],
        fmt="none",
        ecolor=_GREY, elinewidth=1, capsize=3,
    )
    ax.scatter(rate, y, color=colours, s=40, zorder=3)
    for yi, (r, n) in enumerate(zip(rate, rows["n"].to_numpy())):
        if np.isnan(r):
            ax.text(0.5, yi, "  no decisive pairs", va="center", fontsize=8, color=_GREY)
        else:
            ax.text(1.01, yi, f"n={int(n)}", va="center", fontsize=7, color=_GREY, transform=ax.get_yaxis_transform())
    ax.set_xlim(0, 1)
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("win rate of side a (ties excluded)")
    ax.set_title(title, fontsize=10)
    ax.grid(axis="x", alpha=0.3)


def win_rate_lollipop(table: pd.DataFrame, contrast: str, stem: Path, interval: str = "Clopper-Pearson") -> list[Path]:
    """One contrast: a model x task lollipop of win rates with family-wise CIs and a 0.5 line.

    `table` is `win_rates(...)` output (columns contrast, model, task, win_rate, n,
    fw_ci_low, fw_ci_high, significant_holm). Red points are Holm-significant.
    """
    _need(table, ["contrast", "model", "task", "win_rate", "n", "fw_ci_low", "fw_ci_high", "significant_holm"], "lollipop")
    rows = table[table["contrast"] == contrast]
    labels = _cell_labels(rows)
    level = rows["fw_level"].dropna().iloc[0] if "fw_level" in rows and rows["fw_level"].notna().any() else np.nan
    fig, ax = plt.subplots(figsize=(7, 1.8 + 0.35 * max(len(labels), 1)))
    _lollipop(ax, rows, labels, f"{contrast}\n(bars: family-wise {level:.1%} {interval}; red: Holm p < 0.05)")
    return _save(fig, stem)


def contrasts_side_by_side(table: pd.DataFrame, contrasts: Sequence[str], stem: Path) -> list[Path]:
    """Several contrasts (e.g. exhortation vs utility) in panels sharing one model x task axis."""
    _need(table, ["contrast", "model", "task", "win_rate", "n", "fw_ci_low", "fw_ci_high", "significant_holm"], "side-by-side")
    contrasts = [c for c in contrasts if (table["contrast"] == c).any()]
    if not contrasts:
        raise FigureError("No contrast of the side-by-side figure has rows in the win-rate table.")
    labels = list(dict.fromkeys(_cell_labels(table[table["contrast"].isin(contrasts)])))
    fig, axes = plt.subplots(
        1, len(contrasts), figsize=(3.6 * len(contrasts) + 2.5, 1.8 + 0.4 * len(labels)), sharey=True, squeeze=False
    )
    for ax, contrast in zip(axes[0], contrasts):
        _lollipop(ax, table[table["contrast"] == contrast], labels, contrast)
    fig.suptitle("Win rate of side a per model x task, family-wise intervals (red: Holm p < 0.05)", fontsize=10, y=1.0)
    fig.tight_layout()
    return _save(fig, stem)


def dose_response_plot(
    data: pd.DataFrame, fit: dict[str, float] | None, stem: Path, bins: int = 8, title: str = ""
) -> list[Path]:
    """Share of decisive pairs won by the higher-utility side against the utility gap.

    `data`: `dose_response.high_side_frame` output (`utility_gap`, `high_wins`). Points are
    quantile-bin shares (size ~ pairs in the bin) with +-1 binomial SE bars, over a seeded
    subsample of the raw 0/1 outcomes; `fit`, if given, holds the pooled logistic
    `intercept` and `slope`, drawn as P(high wins) = logistic(intercept + slope * gap).
    """
    _need(data, ["utility_gap", "high_wins"], "dose-response")
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.axhline(0.5, color=_GREY, linestyle="--", linewidth=1)
    x = data["utility_gap"].to_numpy(dtype=float)
    won = data["high_wins"].to_numpy(dtype=float)
    if len(x):
        edges = np.unique(np.quantile(x, np.linspace(0, 1, bins + 1)))
        index = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, max(len(edges) - 2, 0))
        for b in np.unique(index):
            sel = index == b
            share, count = won[sel].mean(), int(sel.sum())
            se = np.sqrt(share * (1 - share) / count) if count > 1 else 0.0
            ax.errorbar(
                x[sel].mean(), share, yerr=se, fmt="o", color=_POINT,
                markersize=3 + 2 * np.sqrt(count / len(x) * bins), label="binned share" if b == index.min() else None,
            )
        rng = np.random.default_rng(0)
        shown = rng.permutation(len(x))[:MAX_POINTS]
        ax.scatter(
            x[shown], won[shown] + rng.uniform(-0.03, 0.03, len(shown)), s=4, alpha=0.15, color=_GREY,
            label="pairs (1 = high side won)" if len(x) <= MAX_POINTS else f"{MAX_POINTS} of {len(x)} pairs (1 = high side won)",
        )
    if fit is not None and len(x):
        grid = np.linspace(0, max(float(x.max()), 1e-9), 100)
        ax.plot(grid, 1 / (1 + np.exp(-(fit["intercept"] + fit["slope"] * grid))), color=_SIGNIFICANT, linewidth=2,
                label=f"logistic fit (slope {fit['slope']:+.2f})")
    ax.set_ylim(-0.08, 1.08)
    ax.set_xlabel("utility gap |u(a) - u(b)| (fitted utilities, sd units)")
    ax.set_ylabel("share of decisive pairs won by the higher-utility side")
    ax.set_title(title or "Dose-response: does a larger utility gap win more often?", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    return _save(fig, stem)


def utility_methods_scatter(
    scores: pd.DataFrame,
    stem: Path,
    x: str = "thurstonian_mean",
    y: str = "ranking_score",
    title: str = "",
    y_label: str = "ranking score (direct ranking)",
) -> list[Path]:
    """Each outcome's Thurstonian mean against its score by a second method, one point per outcome."""
    _need(scores, [x, y], "utility methods")
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(scores[x], scores[y], s=14, color=_POINT, alpha=0.7)
    ax.set_xlabel("Thurstonian mean utility (forced choice)")
    ax.set_ylabel(y_label)
    ax.set_title(title or "Two elicitation methods", fontsize=10)
    ax.grid(alpha=0.3)
    return _save(fig, stem)


def feature_deltas_plot(
    table: pd.DataFrame, stem: Path, contrasts: Sequence[str] | None = None, alpha: float = 0.05
) -> list[Path]:
    """What changed in the text: one panel per contrast, features as rows, standardised a - b.

    `table` is `length_control.feature_deltas(..., by=("contrast",))` output. A point is
    d_z (mean paired difference / sd of the differences) with its interval on the same
    scale (`ci_low`/`ci_high` over `sd_diff`); red when the difference is significant after
    Holm's correction over the contrast's features (`p_holm` < alpha; without that column,
    when the interval excludes 0). A feature
    with no d_z shows its `note` (the same in every pair, or not measured) in its row.
    """
    _need(table, ["contrast", "feature", "d_z", "ci_low", "ci_high", "sd_diff"], "feature-deltas")
    contrasts = list(contrasts) if contrasts is not None else list(dict.fromkeys(table["contrast"]))
    if not contrasts:
        raise FigureError("The feature-deltas figure needs at least one contrast.")
    features = list(dict.fromkeys(table["feature"]))
    y = np.arange(len(features))
    fig, axes = plt.subplots(
        1, len(contrasts), figsize=(3.2 * len(contrasts) + 2.2, 1.2 + 0.32 * len(features)), sharey=True, squeeze=False
    )
    for ax, contrast in zip(axes[0], contrasts):
        rows = table[table["contrast"] == contrast].set_index("feature").reindex(features)
        sd = rows["sd_diff"].to_numpy(dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            d = rows["d_z"].to_numpy(dtype=float)
            low, high = rows["ci_low"].to_numpy(dtype=float) / sd, rows["ci_high"].to_numpy(dtype=float) / sd
        shown = np.isfinite(low) & np.isfinite(high)
        if "p_holm" in rows.columns:
            excludes = shown & (rows["p_holm"].to_numpy(dtype=float) < alpha)
        else:
            excludes = shown & ((low > 0) | (high < 0))
        colours = [_SIGNIFICANT if e else _POINT for e in excludes]
        ax.axvline(0, color=_GREY, linestyle="--", linewidth=1, zorder=0)
        ax.errorbar(d[shown], y[shown], xerr=[d[shown] - low[shown], high[shown] - d[shown]], fmt="none",
                    ecolor=_GREY, elinewidth=1, capsize=2)
        ax.scatter(d, y, color=colours, s=28, zorder=3)
        for yi, why in enumerate(rows["note"] if "note" in rows.columns else []):
            if isinstance(why, str) and why:
                ax.text(0.02, yi, why, transform=ax.get_yaxis_transform(), va="center", fontsize=7, color=_GREY)
        ax.set_yticks(y)
        ax.set_yticklabels(features, fontsize=8)
        ax.set_title(contrast, fontsize=9)
        ax.set_xlabel("d_z (a - b, standardised)", fontsize=8)
        ax.grid(axis="x", alpha=0.3)
    axes[0][0].set_ylim(len(features) - 0.5, -0.5)  # first feature on top, half a row of room at both ends
    red = "Holm-adjusted p < alpha" if "p_holm" in table.columns else "interval excludes 0"
    fig.suptitle(f"What changed in the text: paired difference a - b per feature (red: {red})",
                 fontsize=10, y=1.0)
    fig.tight_layout()
    return _save(fig, stem)


def length_control_plot(table: pd.DataFrame, stem: Path) -> list[Path]:
    """Raw and length-controlled win rate of side a per row (contrast), with their intervals.

    `table` is `length_control.length_controlled_win_rates(..., by=("contrast",))` output.
    """
    _need(table, ["contrast", "raw_win_rate", "raw_ci_low", "raw_ci_high", "lc_win_rate", "lc_ci_low", "lc_ci_high"],
          "length-control")
    labels = list(table["contrast"])
    y = np.arange(len(labels))
    fig, ax = plt.subplots(figsize=(7, 1.4 + 0.5 * max(len(labels), 1)))
    ax.axvline(0.5, color=_GREY, linestyle="--", linewidth=1, zorder=0)
    for offset, prefix, colour, name in ((-0.12, "raw", _GREY, "raw"), (0.12, "lc", _POINT, "at equal length")):
        rate = table[f"{prefix}_win_rate"].to_numpy(dtype=float)
        low, high = table[f"{prefix}_ci_low"].to_numpy(dtype=float), table[f"{prefix}_ci_high"].to_numpy(dtype=float)
        ok = np.isfinite(rate)
        ax.errorbar(rate[ok], y[ok] + offset, xerr=[rate[ok] - low[ok], high[ok] - rate[ok]], fmt="o", color=colour,
                    ecolor=colour, elinewidth=1.2, capsize=3, markersize=5, label=name)
    separation = table["separation"] if "separation" in table.columns else pd.Series([""] * len(table))
    for yi, (ok, separated) in enumerate(zip(np.isfinite(table["lc_win_rate"].to_numpy(dtype=float)), separation)):
        if not ok:
            why = {"longer": "no estimate: the longer text won every pair",
                   "shorter": "no estimate: the shorter text won every pair",
                   "a": "no estimate: side a won every pair at equal length",
                   "b": "no estimate: side b won every pair at equal length"}.get(separated, "no length-controlled fit")
            ax.text(0.02, yi + 0.12, why, va="center", fontsize=7, color=_GREY)
    ax.set_xlim(0, 1)
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("win rate of side a (decisive pairs)")
    ax.set_title("Raw win rate and win rate at equal length (logistic on the log2 length ratio)", fontsize=10)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)  # outside: never over a point
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, stem)


def effort_dose_plot(levels: pd.DataFrame, cells: pd.DataFrame | None, stem: Path) -> list[Path]:
    """Win rate against the neutral arm at each effort dose (0 = neutral itself, 0.5 by construction).

    `levels`: one row per dose (`dose`, `arm`, `win_rate`, `ci_low`, `ci_high`, optionally
    `lc_win_rate`, `lc_ci_low`, `lc_ci_high`); `cells` (optional): per model x task win
    rates (`model`, `task`, `dose`, `win_rate`), drawn as thin lines.
    """
    _need(levels, ["dose", "arm", "win_rate", "ci_low", "ci_high"], "effort-dose")
    levels = levels.sort_values("dose")
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.axhline(0.5, color=_GREY, linestyle="--", linewidth=1)
    if cells is not None and len(cells):
        for _, cell in cells.groupby(["model", "task"], sort=True):
            cell = cell.sort_values("dose")
            ax.plot([0, *cell["dose"]], [0.5, *cell["win_rate"]], color=_GREY, alpha=0.35, linewidth=0.8)
    x = levels["dose"].to_numpy(dtype=float)
    series = (("", _POINT, "-", "raw", -0.03), ("lc_", _SIGNIFICANT, "--", "at equal length", 0.03))
    for prefix, colour, style, name, shift in series:
        if f"{prefix}win_rate" not in levels or levels[f"{prefix}win_rate"].isna().all():
            continue
        rate = levels[f"{prefix}win_rate"].to_numpy(dtype=float)
        low, high = levels[f"{prefix}ci_low"].to_numpy(dtype=float), levels[f"{prefix}ci_high"].to_numpy(dtype=float)
        ax.plot([0, *(x + shift)], [0.5, *rate], linestyle=style, color=colour, linewidth=2, label=name)
        ax.errorbar(x + shift, rate, yerr=[np.nan_to_num(rate - low), np.nan_to_num(high - rate)], fmt="o",
                    color=colour, capsize=3)
    ax.set_xticks([0, *x])
    ax.set_xticklabels(["neutral", *levels["arm"]])
    ax.set_ylim(0, 1)
    ax.set_xlabel("requested effort (dose)")
    ax.set_ylabel("win rate against neutral (decisive pairs)")
    ax.set_title("Effort dose: does more requested effort win more?", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    return _save(fig, stem)


def exchange_rates_plot(rates: pd.DataFrame, stem: Path, title: str = "") -> list[Path]:
    """Each entity's exchange rate against the reference (log scale) with its bootstrap interval.

    Entities without a rate (slope <= 0) are listed under the axis instead of plotted.
    """
    _need(rates, ["entity", "reference", "rate", "rate_ci_low", "rate_ci_high"], "exchange rates")
    shown = rates[rates["rate"].notna()].sort_values("rate")
    missing = rates.loc[rates["rate"].isna(), "entity"].tolist()
    fig, ax = plt.subplots(figsize=(6, max(2.5, 0.28 * len(shown) + 1.2)))
    y = np.arange(len(shown))
    low = shown["rate"] - shown["rate_ci_low"]
    high = shown["rate_ci_high"] - shown["rate"]
    ax.errorbar(shown["rate"], y, xerr=[low.clip(lower=0), high.clip(lower=0)], fmt="o", color=_POINT,
                ecolor=_GREY, capsize=2, markersize=4)
    ax.axvline(1.0, color=_GREY, linewidth=0.8, linestyle="--")
    ax.set_xscale("log")
    ax.set_yticks(y)
    ax.set_yticklabels(shown["entity"], fontsize=8)
    reference = str(rates["reference"].iloc[0]) if len(rates) else ""
    ax.set_xlabel(f"units of {reference} worth one unit of the entity (log scale)")
    ax.set_title(title or "Exchange rates", fontsize=10)
    ax.grid(alpha=0.3, axis="x")
    if missing:
        fig.text(0.01, -0.02, "No rate (utility does not rise with quantity): " + ", ".join(missing),
                 fontsize=7, ha="left", va="top", wrap=True)
    return _save(fig, stem)
