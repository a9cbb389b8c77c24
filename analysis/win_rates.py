"""Win rates per cell, exact binomial tests, family-wise intervals, Holm, exclusions.

Why this shape: a "cell" is one (model, task) combination of one comparison (by default
a contrast such as `utility_high_vs_utility_low`). Every claim the report makes about a
cell is a test of "side a wins half of the decisive pairs", so each cell gets

- counts `n_a`, `n_b`, `n_tie`, `n_total`; the win rate is `n_a / n` with `n = n_a + n_b`
  (ties are *excluded from the denominator* and reported beside it as `tie_share`);
- an exact two-sided binomial test against 0.5 (`scipy.stats.binomtest`);
- a per-test 95% Clopper-Pearson interval and a family-wise one at level `1 - alpha/m`
  (Bonferroni), `m` = number of testable cells (n > 0) in the same comparison, so all `m`
  intervals cover their true win rates simultaneously with probability >= 1 - alpha;
- Holm-adjusted p-values within the comparison (`statsmodels.stats.multitest.multipletests`).

Input is the judged-pairs frame of `analysis/frames/` (see docs/architecture.md); only
the columns named in the grouping plus `winner` are needed. Functions here are pure: they
take a frame and return a new frame or dataclass.
"""

from __future__ import annotations

import gc
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy.stats import binomtest
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

WINNERS = ("a", "b", "tie")
FLAG_COLUMNS: dict[str, str] = {
    "empty": "flag_empty",
    "truncated": "flag_truncated",
    "refusal": "flag_refusal",
    "leak": "flag_leak",
}
DEFAULT_CELL: tuple[str, ...] = ("model", "task")
DEFAULT_COMPARISON: tuple[str, ...] = ("contrast",)

WIN_RATE_COLUMNS: tuple[str, ...] = (
    "n_a", "n_b", "n_tie", "n_total", "n", "tie_share", "win_rate", "p_value",
    "ci95_low", "ci95_high", "m", "fw_level", "fw_ci_low", "fw_ci_high", "p_holm",
    "significant_holm",
)


class FrameError(ValueError):
    """A frame handed to the statistics lacks a column or holds a value it cannot use."""


def require_columns(frame: pd.DataFrame, columns: Sequence[str], frame_name: str) -> None:
    """Raise a `FrameError` naming the frame and every missing column."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise FrameError(
            f"{frame_name} is missing column(s) {missing}; it has {list(frame.columns)}. "
            f"Build it with utility_gap.analysis.frames (see docs/architecture.md, 'Frames')."
        )


def check_winners(pairs: pd.DataFrame, frame_name: str = "judged-pairs frame") -> None:
    """Every `winner` must be 'a', 'b' or 'tie'; anything else is named with its row."""
    require_columns(pairs, ["winner"], frame_name)
    bad = ~pairs["winner"].isin(WINNERS)
    if bad.any():
        first = pairs.index[bad.to_numpy()][0]
        raise FrameError(
            f"{frame_name}: column 'winner' must be one of {WINNERS}; row {first!r} holds "
            f"{pairs.loc[first, 'winner']!r} ({int(bad.sum())} such rows). Drop or re-judge "
            f"pairs without a panel verdict before computing win rates."
        )


@contextmanager
def cheap_gc() -> Iterator[None]:
    """Make explicit `gc.collect()` calls cheap for the duration (`gc.freeze`).

    statsmodels' Holm (`multipletests(method="holm")`) calls `gc.collect()` on every
    call, a full collection of the whole heap (~50 ms with pandas, scipy and statsmodels
    loaded). Freezing the objects that already exist keeps the collection to what the
    block itself allocates, so one Holm per family stays fast with hundreds of families.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@lru_cache(maxsize=200_000)
def binomial_pvalue(k: int, n: int, p: float = 0.5, alternative: str = "two-sided") -> float:
    """Exact binomial p-value (`scipy.stats.binomtest`), cached: counts repeat a lot."""
    return float(binomtest(int(k), int(n), p, alternative=alternative).pvalue)


def clopper_pearson(k: np.ndarray | int, n: np.ndarray | int, level: np.ndarray | float) -> tuple:
    """Clopper-Pearson ('beta') interval via statsmodels; NaN where n == 0."""
    k_arr = np.atleast_1d(np.asarray(k, dtype=float))
    n_arr = np.atleast_1d(np.asarray(n, dtype=float))
    level_arr = np.broadcast_to(np.asarray(level, dtype=float), k_arr.shape)
    low = np.full(k_arr.shape, np.nan)
    high = np.full(k_arr.shape, np.nan)
    ok = n_arr > 0
    if ok.any():
        for lv in np.unique(level_arr[ok]):
            sel = ok & (level_arr == lv)
            lo, hi = proportion_confint(k_arr[sel], n_arr[sel], alpha=1 - lv, method="beta")
            low[sel], high[sel] = lo, hi
    return low, high


@dataclass(frozen=True)
class Exclusion:
    """The pairs kept, the pairs dropped, and how many each flag accounted for.

    `counts` has one row per flag (`flag`, `n_flagged`, `share_flagged`) plus a row
    `flag == "any"` with the number of rows dropped; a pair with two flags is counted
    under both flags but once under "any".
    """

    kept: pd.DataFrame
    excluded: pd.DataFrame
    counts: pd.DataFrame
    flags: tuple[str, ...]

    @property
    def n_input(self) -> int:
        return len(self.kept) + len(self.excluded)


def exclude_flagged(
    pairs: pd.DataFrame, flags: Sequence[str] = tuple(FLAG_COLUMNS)
) -> Exclusion:
    """Drop pairs where any of `flags` (empty, truncated, refusal, leak) is set on either side.

    Missing flag values count as *not flagged*; the counts say how many were dropped for
    each reason so the report can print them beside every result.
    """
    unknown = [f for f in flags if f not in FLAG_COLUMNS]
    if unknown:
        raise FrameError(f"unknown exclusion flag(s) {unknown}; choose from {list(FLAG_COLUMNS)}.")
    columns = [FLAG_COLUMNS[f] for f in flags]
    require_columns(pairs, columns, "judged-pairs frame")
    n = len(pairs)
    masks = {f: pairs[FLAG_COLUMNS[f]].fillna(False).astype(bool).to_numpy() for f in flags}
    any_mask = np.zeros(n, dtype=bool)
    for mask in masks.values():
        any_mask |= mask
    rows = [{"flag": f, "n_flagged": int(m.sum())} for f, m in masks.items()]
    rows.append({"flag": "any", "n_flagged": int(any_mask.sum())})
    counts = pd.DataFrame(rows)
    counts["share_flagged"] = counts["n_flagged"] / n if n else np.nan
    return Exclusion(
        kept=pairs.loc[~any_mask].copy(),
        excluded=pairs.loc[any_mask].copy(),
        counts=counts,
        flags=tuple(flags),
    )


def winner_counts(pairs: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """`n_a`, `n_b`, `n_tie`, `n_total`, `n` (= n_a + n_b) per group of `by`."""
    by = list(by)
    require_columns(pairs, by, "judged-pairs frame")
    check_winners(pairs)
    if pairs.empty:
        raise FrameError(
            "judged-pairs frame has no rows (were all pairs excluded? see exclude_flagged(...).counts); "
            "there is nothing to compute a win rate from."
        )
    if not by:
        counts = pairs["winner"].value_counts().reindex(list(WINNERS), fill_value=0)
        table = pd.DataFrame([counts.to_numpy()], columns=["n_a", "n_b", "n_tie"])
    else:
        # groupby(dropna=False): a pair whose grouping value is missing (e.g. `domain` of a
        # non-utility contrast) stays in its own group instead of vanishing
        table = (
            pairs.groupby(by, dropna=False, sort=True)["winner"]
            .value_counts()
            .unstack("winner", fill_value=0)
            .reindex(columns=list(WINNERS), fill_value=0)
            .rename(columns={"a": "n_a", "b": "n_b", "tie": "n_tie"})
            .reset_index()
        )
        table.columns.name = None
    for c in ("n_a", "n_b", "n_tie"):
        table[c] = table[c].astype(int)
    table["n_total"] = table["n_a"] + table["n_b"] + table["n_tie"]
    table["n"] = table["n_a"] + table["n_b"]
    return table


def win_rates(
    pairs: pd.DataFrame,
    cell: Sequence[str] = DEFAULT_CELL,
    comparison: Sequence[str] = DEFAULT_COMPARISON,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Win rate of side a per cell with exact tests, family-wise CIs and Holm p-values.

    Columns: the `comparison` and `cell` columns, then `n_a`, `n_b`, `n_tie`, `n_total`,
    `n` (decisive pairs), `tie_share` (n_tie / n_total), `win_rate` (n_a / n),
    `p_value` (exact two-sided binomial vs 0.5), `ci95_low/high` (per-test Clopper-Pearson
    at 1 - alpha), `m` (testable cells in this comparison), `fw_level` (1 - alpha/m),
    `fw_ci_low/high` (Clopper-Pearson at fw_level), `p_holm` (Holm within the comparison),
    `significant_holm` (p_holm <= alpha). A cell with n == 0 has NaN rate, p and intervals
    and does not count towards m.
    """
    if not 0 < alpha < 1:
        raise FrameError(f"alpha must be in (0, 1); got {alpha}.")
    cell, comparison = list(cell), list(comparison)
    overlap = set(cell) & set(comparison)
    if overlap:
        raise FrameError(f"columns {sorted(overlap)} are in both `cell` and `comparison`.")
    table = winner_counts(pairs, comparison + cell)
    n_total = table["n_total"].to_numpy(dtype=float)
    n = table["n"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        table["tie_share"] = np.where(n_total > 0, table["n_tie"] / np.where(n_total > 0, n_total, 1), np.nan)
        table["win_rate"] = np.where(n > 0, table["n_a"] / np.where(n > 0, n, 1), np.nan)
    table["p_value"] = [
        binomial_pvalue(k, m_) if m_ > 0 else np.nan for k, m_ in zip(table["n_a"], n)
    ]
    table["ci95_low"], table["ci95_high"] = clopper_pearson(table["n_a"], n, 1 - alpha)

    testable = n > 0
    if comparison:
        family = table[comparison].astype(str).agg("\x1f".join, axis=1).to_numpy()
    else:
        family = np.zeros(len(table), dtype=int)
    m = pd.Series(testable.astype(int)).groupby(family).transform("sum").to_numpy()
    table["m"] = m
    table["fw_level"] = np.where(testable, 1 - alpha / np.maximum(m, 1), np.nan)
    table["fw_ci_low"], table["fw_ci_high"] = clopper_pearson(
        table["n_a"], n, np.where(testable, table["fw_level"], 1 - alpha)
    )
    p_holm = np.full(len(table), np.nan)
    p_values = table["p_value"].to_numpy(dtype=float)
    with cheap_gc():
        for key in pd.unique(family):
            sel = (family == key) & testable
            if sel.any():
                p_holm[sel] = multipletests(p_values[sel], alpha=alpha, method="holm")[1]
    table["p_holm"] = p_holm
    table["significant_holm"] = np.where(testable, p_holm <= alpha, False)
    return table[comparison + cell + list(WIN_RATE_COLUMNS)]


def pooled_win_rate(
    pairs: pd.DataFrame, comparison: Sequence[str] = DEFAULT_COMPARISON, alpha: float = 0.05
) -> pd.DataFrame:
    """All pairs of a comparison pooled: counts, win rate, exact p-value, Clopper-Pearson CI.

    Pooling weights cells by their number of decisive pairs; the equal-cell mean in
    `aggregate_win_rates` weights every cell the same. Columns: `comparison`, the counts,
    `tie_share`, `pooled_win_rate`, `pooled_p_value`, `pooled_ci_low`, `pooled_ci_high`.
    """
    table = winner_counts(pairs, list(comparison))
    n = table["n"].to_numpy()
    table["tie_share"] = table["n_tie"] / table["n_total"].where(table["n_total"] > 0)
    table["pooled_win_rate"] = table["n_a"] / table["n"].where(table["n"] > 0)
    table["pooled_p_value"] = [binomial_pvalue(k, m_) if m_ > 0 else np.nan for k, m_ in zip(table["n_a"], n)]
    table["pooled_ci_low"], table["pooled_ci_high"] = clopper_pearson(table["n_a"], n, 1 - alpha)
    return table


def aggregate_win_rates(
    pairs: pd.DataFrame,
    cell: Sequence[str] = DEFAULT_CELL,
    comparison: Sequence[str] = DEFAULT_COMPARISON,
    alpha: float = 0.05,
    n_boot: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Equal-cell mean win rate (and net score) per comparison with a cell bootstrap CI.

    The equal-cell mean is the unweighted mean of the cells' win rates (cells with no
    decisive pair are left out, of the net-score mean too), so a model or task with many
    pairs does not dominate.

    Bootstrap (two-stage, seeded): each replicate resamples the cells with replacement
    and, inside each drawn cell, resamples its judged pairs (ties included) with
    replacement, then recomputes every cell's win rate among decisive pairs and their
    mean. Resampling pairs inside a cell is done exactly by drawing the cell's
    (a, b, tie) counts from a multinomial with the observed shares. The two stages carry
    both between-cell and within-cell noise, which makes the interval slightly
    conservative (the within-cell variance is counted twice, once through the spread of
    cell means); with few cells (< ~8) percentile intervals are rough and the report
    says so. Columns: `comparison`, `n_cells`, `equal_cell_win_rate`, `boot_ci_low`,
    `boot_ci_high`, `equal_cell_net_score`, `net_boot_ci_low`, `net_boot_ci_high`, then
    the `pooled_win_rate` columns of `pooled_win_rate`.
    """
    if n_boot < 100:
        raise FrameError(f"n_boot must be at least 100 for a percentile interval; got {n_boot}.")
    comparison = list(comparison)
    cells = winner_counts(pairs, comparison + list(cell))
    pooled = pooled_win_rate(pairs, comparison, alpha)
    rng = np.random.default_rng(seed)
    rows = []
    groups = cells.groupby(comparison, sort=True, dropna=False) if comparison else [((), cells)]
    for key, group in groups:
        key = key if isinstance(key, tuple) else (key,)
        group = group[group["n"] > 0]
        counts = group[["n_a", "n_b", "n_tie"]].to_numpy(dtype=float)
        row = dict(zip(comparison, key))
        row["n_cells"] = len(group)
        if len(group) == 0:
            row.update(equal_cell_win_rate=np.nan, boot_ci_low=np.nan, boot_ci_high=np.nan,
                       equal_cell_net_score=np.nan, net_boot_ci_low=np.nan, net_boot_ci_high=np.nan)
            rows.append(row)
            continue
        totals = counts.sum(axis=1)
        rates = counts[:, 0] / (counts[:, 0] + counts[:, 1])
        nets = (counts[:, 0] - counts[:, 1]) / totals
        row["equal_cell_win_rate"] = rates.mean()
        row["equal_cell_net_score"] = nets.mean()
        # stage 1: cells; stage 2: pairs within each drawn cell (multinomial counts)
        drawn = rng.integers(0, len(group), size=(n_boot, len(group)))
        shares = counts / totals[:, None]
        resampled = rng.multinomial(totals[drawn].astype(int), shares[drawn])
        decisive = resampled[..., 0] + resampled[..., 1]
        with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a replicate of all-tie cells is NaN
            boot_rates = np.nanmean(np.where(decisive > 0, resampled[..., 0] / decisive, np.nan), axis=1)
        boot_nets = ((resampled[..., 0] - resampled[..., 1]) / totals[drawn]).mean(axis=1)
        q = [100 * alpha / 2, 100 * (1 - alpha / 2)]
        row["boot_ci_low"], row["boot_ci_high"] = np.nanpercentile(boot_rates, q)
        row["net_boot_ci_low"], row["net_boot_ci_high"] = np.percentile(boot_nets, q)
        rows.append(row)
    table = pd.DataFrame(rows)
    if comparison:
        table = table.merge(pooled, on=comparison, how="left")
    else:
        table = pd.concat([table, pooled], axis=1)
    return table
