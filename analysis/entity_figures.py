"""Figures of the entity family and of framed benchmarks (matplotlib, PNG and SVG).

Why these: the entity study's claim is a rank correlation between a preference and a
behaviour, so a reader should see the points behind each rho (one per entity), the
least-squares line through them, and rho with its Holm-corrected p-value in the title.
A framed benchmark's claim is a difference in the task's own score between arms, so its
figure shows each arm's mean score with a 95% interval. Every function takes tables,
writes `<stem>.png` and `<stem>.svg`, and returns the two paths; none reads logs.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from utility_gap.analysis.figures import _POINT, _need, _save, plt

MAX_LABELS = 15  # entity names written beside the points up to this many entities (more would overlap)


def preference_behaviour_scatter(
    table: pd.DataFrame,
    preference: str,
    behaviour: str,
    stem: Path,
    *,
    rho: float,
    p_holm: float,
    title: str = "",
    x_label: str = "",
    y_label: str = "",
) -> list[Path]:
    """One point per entity (preference, behaviour), the fitted line, and rho / Holm p in the title."""
    _need(table, ["entity", preference, behaviour], "preference-behaviour")
    data = table[["entity", preference, behaviour]].dropna()
    fig, ax = plt.subplots(figsize=(6, 4.5))
    x, y = data[preference].to_numpy(float), data[behaviour].to_numpy(float)
    ax.scatter(x, y, s=22, color=_POINT, alpha=0.8, zorder=3)
    if len(data) <= MAX_LABELS:
        for name, xi, yi in zip(data["entity"], x, y):
            ax.annotate(str(name), (xi, yi), fontsize=6, xytext=(3, 2), textcoords="offset points", alpha=0.8)
    if len(data) >= 2 and np.ptp(x) > 0:
        slope, intercept = np.polyfit(x, y, 1)
        grid = np.linspace(x.min(), x.max(), 50)
        ax.plot(grid, slope * grid + intercept, color="#444444", lw=1.2, label=f"least squares (slope {slope:.3g})")
        ax.legend(fontsize=7, loc="best")
    rho_text = "n/a" if rho is None or math.isnan(rho) else f"{rho:.2f}"
    p_text = "n/a" if p_holm is None or math.isnan(p_holm) else f"{p_holm:.2g}"
    head = f"{title}\n" if title else ""
    ax.set_title(f"{head}Spearman rho = {rho_text} (Holm p = {p_text}, {len(data)} entities)", fontsize=9)
    ax.set_xlabel(x_label or preference)
    ax.set_ylabel(y_label or behaviour)
    ax.grid(alpha=0.3)
    return _save(fig, stem)


def arm_means_plot(means: pd.DataFrame, stem: Path, title: str = "", y_label: str = "mean score") -> list[Path]:
    """Each arm's mean score with its 95% interval (`arm`, `mean`, `ci_low`, `ci_high`), one row per arm."""
    _need(means, ["arm", "mean", "ci_low", "ci_high"], "arm means")
    fig, ax = plt.subplots(figsize=(max(4.0, 0.6 * len(means) + 2), 3.8))
    xs = np.arange(len(means))
    mean = means["mean"].to_numpy(float)
    low = np.nan_to_num(mean - means["ci_low"].to_numpy(float))
    high = np.nan_to_num(means["ci_high"].to_numpy(float) - mean)
    ax.errorbar(xs, mean, yerr=[low, high], fmt="o", color=_POINT, capsize=4)
    ax.set_xticks(xs, [str(a) for a in means["arm"]], rotation=30, ha="right", fontsize=8)
    ax.set_ylabel(y_label)
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3, axis="y")
    return _save(fig, stem)
