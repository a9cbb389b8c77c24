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

The published conventions are options: Wilson intervals beside Clopper-Pearson (always
computed; statsmodels `proportion_confint(method="wilson")`), one-sided tests per
comparison (`alternative`, Holm over the one-sided p), and a family fixed to the planned
cells (`family="planned"`: cells without a decisive pair stay in `m` and in the Holm
family, as a pre-registered analysis would count them).

Input is the judged-pairs frame of `analysis/frames/` (see docs/architecture.md); only
the columns named in the grouping plus `winner` are needed. Functions here are pure: they
take a frame and return a new frame or dataclass.
"""

from __future__ import annotations

import gc
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import binomtest
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from utility_gap.analysis.bootstrap import (
    BOOTSTRAP_METHODS,
    MIN_LEVELS,
    cell_bootstrap,
    choose_method,
    crossed_bootstrap,
)

WINNERS = ("a", "b", "tie")
FLAG_COLUMNS: dict[str, str] = {
    "empty": "flag_empty",
    "truncated": "flag_truncated",
    "refusal": "flag_refusal",
    "leak": "flag_leak",
}
DEFAULT_CELL: tuple[str, ...] = ("model", "task")
DEFAULT_COMPARISON: tuple[str, ...] = ("contrast",)

ALTERNATIVES = ("two-sided", "greater", "less")
FAMILIES = ("testable", "planned")
INTERVALS = ("clopper-pearson", "wilson")  # the per-cell intervals win_rates computes (both, always)

WIN_RATE_COLUMNS: tuple[str, ...] = (
    "n_a", "n_b", "n_tie", "n_total", "n", "tie_share", "win_rate", "alternative", "p_value",
    "ci95_low", "ci95_high", "wilson_low", "wilson_high", "family", "m", "fw_level", "fw_ci_low",
    "fw_ci_high", "fw_wilson_low", "fw_wilson_high", "p_holm", "significant_holm", "direction",
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


def _proportion_interval(
    k: np.ndarray | int, n: np.ndarray | int, level: np.ndarray | float, method: str
) -> tuple[np.ndarray, np.ndarray]:
    """statsmodels `proportion_confint` per level; NaN where n == 0; exactly 0 / 1 at k = 0 / n."""
    k_arr = np.atleast_1d(np.asarray(k, dtype=float))
    n_arr = np.atleast_1d(np.asarray(n, dtype=float))
    level_arr = np.broadcast_to(np.asarray(level, dtype=float), k_arr.shape)
    low = np.full(k_arr.shape, np.nan)
    high = np.full(k_arr.shape, np.nan)
    ok = n_arr > 0
    for lv in np.unique(level_arr[ok]):
        sel = ok & (level_arr == lv)
        low[sel], high[sel] = proportion_confint(k_arr[sel], n_arr[sel], alpha=1 - lv, method=method)
    # both intervals reach 0 at k = 0 and 1 at k = n; keep rounding from putting the bound inside
    low[ok & (k_arr == 0)] = 0.0
    high[ok & (k_arr == n_arr)] = 1.0
    return low, high


def clopper_pearson(k: np.ndarray | int, n: np.ndarray | int, level: np.ndarray | float) -> tuple:
    """Clopper-Pearson ('beta') interval via statsmodels; NaN where n == 0."""
    return _proportion_interval(k, n, level, "beta")


def wilson(k: np.ndarray | int, n: np.ndarray | int, level: np.ndarray | float) -> tuple:
    """Wilson score interval via statsmodels; NaN where n == 0."""
    return _proportion_interval(k, n, level, "wilson")


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


def _family_keys(table: pd.DataFrame, comparison: list[str]) -> np.ndarray:
    """One key per row naming its comparison (its family), built column-wise (fast)."""
    if not comparison:
        return np.zeros(len(table), dtype=int)
    key = table[comparison[0]].astype(str)
    for column in comparison[1:]:
        key = key + "\x1f" + table[column].astype(str)
    return key.to_numpy(dtype=object)


def _alternatives(table: pd.DataFrame, comparison: list[str], alternative: str | Mapping[Any, str]) -> list[str]:
    """The alternative of each row: one for all, or per comparison value (contrast name or tuple).

    Comparisons the mapping does not name are two-sided; a named comparison without data
    is not an error here (the report lists planned comparisons that have no pairs).
    """
    if isinstance(alternative, str):
        chosen = [alternative] * len(table)
    else:
        values = table[comparison].itertuples(index=False, name=None) if comparison else [()] * len(table)
        chosen = [alternative.get(v[0] if len(v) == 1 else v, "two-sided") for v in values]
    bad = sorted({a for a in chosen if a not in ALTERNATIVES})
    if bad:
        raise FrameError(f"alternative {bad} is not one of {ALTERNATIVES}.")
    return chosen


def _add_planned_cells(
    table: pd.DataFrame, comparison: list[str], cell: list[str], planned: pd.DataFrame | None
) -> pd.DataFrame:
    """Add zero-count rows for planned cells the data lack (default: the full crossing of
    the observed levels of the cell columns within each comparison)."""
    keys = comparison + cell
    if planned is None:
        parts = []
        groups = table.groupby(comparison, sort=False, dropna=False) if comparison else [((), table)]
        for key, group in groups:
            key = key if isinstance(key, tuple) else (key,)
            grid = pd.MultiIndex.from_product([pd.unique(group[c]) for c in cell], names=cell).to_frame(index=False)
            parts.append(grid.assign(**dict(zip(comparison, key))))
        planned = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=keys)
    require_columns(planned, keys, "planned-cells frame")
    planned = planned[keys].drop_duplicates()
    merged = planned.merge(table[keys], on=keys, how="left", indicator=True)
    missing = merged.loc[merged["_merge"] == "left_only", keys]
    if missing.empty:
        return table
    zeros = missing.assign(n_a=0, n_b=0, n_tie=0, n_total=0, n=0)
    return pd.concat([table, zeros], ignore_index=True).sort_values(keys, kind="stable").reset_index(drop=True)


def win_rates(
    pairs: pd.DataFrame,
    cell: Sequence[str] = DEFAULT_CELL,
    comparison: Sequence[str] = DEFAULT_COMPARISON,
    alpha: float = 0.05,
    alternative: str | Mapping[Any, str] = "two-sided",
    family: str = "testable",
    planned: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Win rate of side a per cell with exact tests, family-wise CIs and Holm p-values.

    Columns: the `comparison` and `cell` columns, then `n_a`, `n_b`, `n_tie`, `n_total`,
    `n` (decisive pairs), `tie_share` (n_tie / n_total), `win_rate` (n_a / n),
    `alternative`, `p_value` (exact binomial vs 0.5 under that alternative),
    `ci95_low/high` (per-test Clopper-Pearson at 1 - alpha), `wilson_low/high` (per-test
    Wilson), `family`, `m` (cells in this comparison's family), `fw_level` (1 - alpha/m),
    `fw_ci_low/high` (Clopper-Pearson at fw_level), `fw_wilson_low/high` (Wilson at
    fw_level), `p_holm` (Holm within the comparison), `significant_holm` (p_holm <=
    alpha), `direction` ("a" or "b": the side a significant result favours; "" if not
    significant).

    `alternative`: "two-sided", "greater" (side a wins more than half) or "less", for
    every comparison or per comparison value (`{"exhort_vs_neutral": "greater"}`; keys
    are values of the comparison column, tuples when it has several; unlisted ones are
    two-sided). Intervals stay two-sided.

    `family`: "testable" (default) counts only cells with a decisive pair in `m` and in
    Holm. "planned" fixes the family to the planned cells: the rows of `planned` (columns
    `comparison` + `cell`), or, when it is None, every combination of the cell columns'
    levels seen in the comparison; planned cells with no decisive pair are listed, count
    in `m`, and enter Holm with p = 1 (so they cost the others power, as they would in a
    pre-registered analysis). A cell with n == 0 has NaN rate, p and intervals.
    """
    if not 0 < alpha < 1:
        raise FrameError(f"alpha must be in (0, 1); got {alpha}.")
    if family not in FAMILIES:
        raise FrameError(f"family {family!r} is not one of {FAMILIES}.")
    cell, comparison = list(cell), list(comparison)
    overlap = set(cell) & set(comparison)
    if overlap:
        raise FrameError(f"columns {sorted(overlap)} are in both `cell` and `comparison`.")
    table = winner_counts(pairs, comparison + cell)
    if family == "planned":
        table = _add_planned_cells(table, comparison, cell, planned)
    n_total = table["n_total"].to_numpy(dtype=float)
    n = table["n"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        table["tie_share"] = np.where(n_total > 0, table["n_tie"] / np.where(n_total > 0, n_total, 1), np.nan)
        table["win_rate"] = np.where(n > 0, table["n_a"] / np.where(n > 0, n, 1), np.nan)
    table["alternative"] = _alternatives(table, comparison, alternative)
    table["p_value"] = [
        binomial_pvalue(k, m_, 0.5, alt) if m_ > 0 else np.nan
        for k, m_, alt in zip(table["n_a"], n, table["alternative"])
    ]
    table["ci95_low"], table["ci95_high"] = clopper_pearson(table["n_a"], n, 1 - alpha)
    table["wilson_low"], table["wilson_high"] = wilson(table["n_a"], n, 1 - alpha)

    testable = n > 0
    in_family = testable if family == "testable" else np.ones(len(table), dtype=bool)
    keys = _family_keys(table, comparison)
    m = pd.Series(in_family.astype(int)).groupby(keys).transform("sum").to_numpy()
    table["family"] = family
    table["m"] = m
    table["fw_level"] = np.where(testable, 1 - alpha / np.maximum(m, 1), np.nan)
    fw_level = np.where(testable, table["fw_level"], 1 - alpha)
    table["fw_ci_low"], table["fw_ci_high"] = clopper_pearson(table["n_a"], n, fw_level)
    table["fw_wilson_low"], table["fw_wilson_high"] = wilson(table["n_a"], n, fw_level)
    p_holm = np.full(len(table), np.nan)
    # an empty planned cell enters Holm with p = 1: it sorts last and raises every other
    # cell's multiplier exactly as its place in m does
    p_values = np.where(testable, table["p_value"].to_numpy(dtype=float), 1.0)
    with cheap_gc():
        for key in pd.unique(keys):
            sel = (keys == key) & in_family
            if sel.any():
                p_holm[sel] = multipletests(p_values[sel], alpha=alpha, method="holm")[1]
    p_holm[~testable] = np.nan
    table["p_holm"] = p_holm
    significant = np.where(testable, p_holm <= alpha, False)
    table["significant_holm"] = significant
    rate = table["win_rate"].to_numpy(dtype=float)
    table["direction"] = np.where(significant & (rate > 0.5), "a", np.where(significant & (rate < 0.5), "b", ""))
    return table[comparison + cell + list(WIN_RATE_COLUMNS)]


def pooled_win_rate(
    pairs: pd.DataFrame,
    comparison: Sequence[str] = DEFAULT_COMPARISON,
    alpha: float = 0.05,
    alternative: str | Mapping[Any, str] = "two-sided",
) -> pd.DataFrame:
    """All pairs of a comparison pooled: counts, win rate, exact p-value, Clopper-Pearson CI.

    Pooling weights cells by their number of decisive pairs; the equal-cell mean in
    `aggregate_win_rates` weights every cell the same. The pooled test and intervals treat
    every pair as independent, so they speak for the pairs judged, not for models and
    tasks in general (that is the crossed bootstrap's job). Columns: `comparison`, the
    counts, `tie_share`, `pooled_win_rate`, `pooled_alternative` and `pooled_p_value` (the
    exact test under `alternative`, one value or one per comparison as in `win_rates`),
    `pooled_ci_low`, `pooled_ci_high` (Clopper-Pearson), `pooled_wilson_low`,
    `pooled_wilson_high`.
    """
    comparison = list(comparison)
    table = winner_counts(pairs, comparison)
    n = table["n"].to_numpy()
    table["tie_share"] = table["n_tie"] / table["n_total"].where(table["n_total"] > 0)
    table["pooled_win_rate"] = table["n_a"] / table["n"].where(table["n"] > 0)
    table["pooled_alternative"] = _alternatives(table, comparison, alternative)
    table["pooled_p_value"] = [
        binomial_pvalue(k, m_, 0.5, alt) if m_ > 0 else np.nan
        for k, m_, alt in zip(table["n_a"], n, table["pooled_alternative"])
    ]
    table["pooled_ci_low"], table["pooled_ci_high"] = clopper_pearson(table["n_a"], n, 1 - alpha)
    table["pooled_wilson_low"], table["pooled_wilson_high"] = wilson(table["n_a"], n, 1 - alpha)
    return table


def aggregate_win_rates(
    pairs: pd.DataFrame,
    cell: Sequence[str] = DEFAULT_CELL,
    comparison: Sequence[str] = DEFAULT_COMPARISON,
    alpha: float = 0.05,
    n_boot: int = 2000,
    seed: int = 0,
    method: str = "auto",
    factors: Sequence[str] | None = None,
    min_levels: int = MIN_LEVELS,
    alternative: str | Mapping[Any, str] = "two-sided",
) -> pd.DataFrame:
    """Equal-cell mean win rate (and net score) per comparison with a bootstrap CI.

    The equal-cell mean is the unweighted mean of the cells' win rates (cells with no
    decisive pair are left out, of the net-score mean too), so a model or task with many
    pairs does not dominate.

    The interval (`analysis.bootstrap`, percentile, seeded) is by `method`:
    "crossed" resamples the levels of each of `factors` (default: the `cell` columns)
    independently, then pairs within each drawn cell, so the interval generalises over
    models and tasks; "cell" resamples cells as exchangeable units, then pairs; "auto"
    (default) is crossed when more than one factor has more than one level in the
    comparison, else cell. With fewer than `min_levels` levels on a resampled factor, or
    a degenerate (zero-width) interval, the bounds are NaN and `boot_note` says why.

    Columns: `comparison`, `n_cells`, `equal_cell_win_rate`, `boot_ci_low`,
    `boot_ci_high`, `equal_cell_net_score`, `net_boot_ci_low`, `net_boot_ci_high`,
    `boot_method`, `boot_resampled`, `boot_levels`, `boot_fewest_levels` (levels of the
    least-resampled factor), `boot_reliable`, `boot_note`, then the columns of
    `pooled_win_rate` (its test under `alternative`).
    """
    if n_boot < 100:
        raise FrameError(f"n_boot must be at least 100 for a percentile interval; got {n_boot}.")
    if method not in BOOTSTRAP_METHODS:
        raise FrameError(f"bootstrap method {method!r} is not one of {BOOTSTRAP_METHODS}.")
    if int(seed) < 0:
        raise FrameError(f"seed must be a whole number >= 0; got {seed}.")
    comparison, cell = list(comparison), list(cell)
    factors = list(factors) if factors is not None else cell
    stray = [f for f in factors if f not in cell]
    if stray:
        raise FrameError(f"bootstrap factor(s) {stray} must be cell columns ({cell}).")
    cells = winner_counts(pairs, comparison + cell)
    cells = cells[cells["n"] > 0].reset_index(drop=True)
    pooled = pooled_win_rate(pairs, comparison, alpha, alternative)
    all_counts = cells[["n_a", "n_b", "n_tie"]].to_numpy(dtype=np.int64)
    all_codes = np.column_stack([pd.factorize(cells[f].astype(str), sort=True)[0] for f in factors])
    rows = []
    cell_family = pd.Series(_family_keys(cells, comparison))
    positions = {k: v.to_numpy() for k, v in cell_family.groupby(cell_family).groups.items()}
    keys = pooled[comparison].itertuples(index=False, name=None) if comparison else [()]
    for key, family_key in zip(keys, _family_keys(pooled, comparison)):
        at = positions.get(family_key, np.array([], dtype=int))
        row: dict[str, Any] = dict(zip(comparison, key))
        row["n_cells"] = len(at)
        if len(at) == 0:
            row.update(equal_cell_win_rate=np.nan, boot_ci_low=np.nan, boot_ci_high=np.nan,
                       equal_cell_net_score=np.nan, net_boot_ci_low=np.nan, net_boot_ci_high=np.nan,
                       boot_method="", boot_resampled="", boot_levels="", boot_fewest_levels=0,
                       boot_reliable=False, boot_note="no cell with a decisive pair")
            rows.append(row)
            continue
        counts = all_counts[at]
        totals = counts.sum(axis=1)
        row["equal_cell_win_rate"] = (counts[:, 0] / (counts[:, 0] + counts[:, 1])).mean()
        row["equal_cell_net_score"] = ((counts[:, 0] - counts[:, 1]) / totals).mean()
        # one generator per comparison, from (seed, the comparison's name): a comparison's
        # interval does not depend on which other comparisons are in the frame
        rng = np.random.default_rng([seed, zlib.crc32(str(family_key).encode("utf-8"))])
        codes = np.column_stack([np.unique(all_codes[at, j], return_inverse=True)[1] for j in range(len(factors))])
        levels = {f: int(codes[:, j].max()) + 1 for j, f in enumerate(factors)}
        chosen = choose_method(method, levels)
        if chosen == "crossed":
            if len(np.unique(codes, axis=0)) < len(codes):  # each crossing of the factors must be one cell
                raise FrameError(
                    f"crossed bootstrap over {factors}: several cells share the same {factors} levels; "
                    "use every cell column as a factor or method='cell'."
                )
            result = crossed_bootstrap(counts, codes, factors, n_boot, alpha, rng, min_levels)
        else:
            result = cell_bootstrap(counts, n_boot, alpha, rng, min_levels)
        row.update(
            boot_ci_low=result.win_low, boot_ci_high=result.win_high,
            net_boot_ci_low=result.net_low, net_boot_ci_high=result.net_high,
            boot_method=result.method, boot_resampled=result.resampled,
            boot_levels=", ".join(f"{k}={v}" for k, v in result.levels.items()),
            boot_fewest_levels=min(result.levels.values(), default=0),
            boot_reliable=result.reliable, boot_note=result.note,
        )
        rows.append(row)
    order = list(comparison) + [
        "n_cells", "equal_cell_win_rate", "boot_ci_low", "boot_ci_high", "equal_cell_net_score",
        "net_boot_ci_low", "net_boot_ci_high", "boot_method", "boot_resampled", "boot_levels",
        "boot_fewest_levels", "boot_reliable", "boot_note",
    ]
    table = pd.DataFrame(rows)[order]
    if comparison:
        table = table.merge(pooled, on=comparison, how="left")
    else:
        table = pd.concat([table, pooled], axis=1)
    return table
