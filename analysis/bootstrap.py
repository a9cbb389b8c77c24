"""Bootstrap intervals for equal-cell aggregates: the crossed (two-way) and the cell bootstrap.

Why two: a headline such as "utility_high beats utility_low in 51% of pairs" is a claim
about models and tasks in general, not about the particular cells that were run. Cells
that share a model (or a task) share that model's (task's) effect, so they are not
exchangeable; resampling cells as if they were ignores that correlation and gives an
interval that is too narrow whenever models or tasks differ.

- **Crossed bootstrap** (`crossed_bootstrap`): each replicate draws the levels of every
  resampled factor (by default models and tasks) with replacement, independently; the
  replicate's cells are every drawn model x drawn task combination that exists in the
  data (a level drawn twice contributes its cells twice); then the judged pairs inside
  each drawn cell are resampled (exactly, by a multinomial draw of the cell's a/b/tie
  counts at its observed shares) and the equal-cell mean is recomputed. It carries the
  between-model, between-task and within-cell variation, so the interval is for the
  population of models and tasks the ones run stand for.
- **Cell bootstrap** (`cell_bootstrap`): each replicate resamples whole cells with
  replacement, then pairs inside each drawn cell. Right when the cells themselves are the
  sampling units (one model over many tasks, or one task over many models), too narrow
  otherwise.

Both are percentile intervals. A percentile interval from a factor with very few levels
is not trustworthy (with 4 levels there are only 35 distinct resamples of that factor,
and the spread of 4 values underestimates the population spread); with fewer than
`min_levels` (default 5) levels on a resampled factor, or when every replicate gives the
same value (e.g. every cell at 1.0), the interval is withheld (NaN) and `note` says why,
rather than printing a degenerate one.

Everything here is a pure function of arrays of counts; `win_rates.aggregate_win_rates`
builds the counts from a judged-pairs frame.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

BOOTSTRAP_METHODS = ("auto", "crossed", "cell")
MIN_LEVELS = 5  # fewer levels than this on a resampled factor: the interval is not reliable
# Below this many levels an interval is shown but called approximate: in bench/bootstrap_coverage.py
# the crossed interval covered 94% with 8 levels of a dominant factor, 92% with 5, 87% with 3.
ROUGH_LEVELS = 8
# The cell bootstrap's coverage with model and task effects in bench/bootstrap_coverage.py (docs/statistics.md).
CELL_COVERAGE = "66-78%"
_CHUNK = 1_000_000  # resampled cell instances per chunk (bounds memory to ~100 MB)


@dataclass(frozen=True)
class BootstrapInterval:
    """Percentile intervals of the equal-cell win rate and net score under one bootstrap.

    `method` is "crossed" or "cell"; `resampled` names what was resampled (e.g.
    "model, task, pairs"); `levels` the number of levels per resampled factor. `reliable`
    is False when a factor has fewer than `min_levels` levels or the interval is
    degenerate; then the bounds are NaN and `note` says why.
    """

    method: str
    resampled: str
    levels: dict[str, int]
    win_low: float
    win_high: float
    net_low: float
    net_high: float
    reliable: bool
    note: str
    n_boot: int


def choose_method(method: str, levels: dict[str, int]) -> str:
    """`auto` -> crossed when more than one factor has more than one level, else cell."""
    if method not in BOOTSTRAP_METHODS:
        raise ValueError(f"bootstrap method {method!r} is not one of {BOOTSTRAP_METHODS}.")
    if method != "auto":
        return method
    return "crossed" if sum(n > 1 for n in levels.values()) > 1 else "cell"


def _cell_stats(resampled: np.ndarray, totals: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Equal-cell mean win rate and net score per replicate (last-but-one axes are cells)."""
    decisive = resampled[..., 0] + resampled[..., 1]
    axes = tuple(range(1, decisive.ndim))
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a replicate of all-tie cells is NaN
        rates = np.where(valid & (decisive > 0), resampled[..., 0] / np.where(decisive > 0, decisive, 1), np.nan)
        nets = np.where(valid, (resampled[..., 0] - resampled[..., 1]) / np.where(totals > 0, totals, 1), np.nan)
        return np.nanmean(rates, axis=axes), np.nanmean(nets, axis=axes)


def _resample_pairs(rng: np.random.Generator, counts: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Multinomial resample of the pairs of the cells at `index` (any shape; -1 = absent).

    Drawn as two binomials (a, then b among the rest): the same distribution as a
    multinomial at the cell's observed shares, vectorised over cells of different shares.
    """
    totals = counts.sum(axis=1)
    safe = np.where(index >= 0, index, 0)
    n = np.where(index >= 0, totals[safe], 0).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        p_a = np.where(totals > 0, counts[:, 0] / np.where(totals > 0, totals, 1), 0.0)
        rest = totals - counts[:, 0]
        p_b = np.where(rest > 0, counts[:, 1] / np.where(rest > 0, rest, 1), 0.0)
    a = rng.binomial(n, p_a[safe])
    b = rng.binomial(n - a, p_b[safe])
    return np.stack([a, b, n - a - b], axis=-1)


def _interval(
    method: str,
    resampled: str,
    levels: dict[str, int],
    boot_rates: np.ndarray,
    boot_nets: np.ndarray,
    alpha: float,
    min_levels: int,
) -> BootstrapInterval:
    n_boot = len(boot_rates)
    few = {name: n for name, n in levels.items() if n < min_levels}
    q = [100 * alpha / 2, 100 * (1 - alpha / 2)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        win = np.nanpercentile(boot_rates, q) if np.isfinite(boot_rates).any() else np.array([np.nan, np.nan])
        net = np.nanpercentile(boot_nets, q) if np.isfinite(boot_nets).any() else np.array([np.nan, np.nan])
    note = ""
    if not levels:
        note = ("not reliable: a single cell, no model or task to resample (nothing to generalise over); read the "
                "per-cell interval instead")
    elif few:
        listed = ", ".join(f"{n} {name} level(s)" for name, n in few.items())
        note = (
            f"not reliable: only {listed}; a resampling interval over a factor needs about {min_levels} or more "
            "levels (read the per-cell intervals instead)"
        )
    elif not np.isfinite(win).all():
        note = "not reliable: no replicate had a decisive pair"
    elif win[0] == win[1]:
        note = (
            f"not reliable: every replicate gives {win[0]:.3f} (the cells leave nothing to resample, e.g. every "
            "pair won by one side); read the per-cell intervals instead"
        )
    reliable = not note
    if not reliable:
        win = net = np.array([np.nan, np.nan])
    return BootstrapInterval(
        method=method, resampled=resampled, levels=dict(levels),
        win_low=float(win[0]), win_high=float(win[1]), net_low=float(net[0]), net_high=float(net[1]),
        reliable=reliable, note=note, n_boot=n_boot,
    )


def cell_bootstrap(
    counts: np.ndarray,
    n_boot: int = 2000,
    alpha: float = 0.05,
    seed: int | np.random.Generator = 0,
    min_levels: int = MIN_LEVELS,
) -> BootstrapInterval:
    """Resample cells, then pairs within each drawn cell. `counts`: (cells, 3) a/b/tie counts.

    Cells with no decisive pair should be left out by the caller (they are not in the
    equal-cell mean either).
    """
    counts = np.asarray(counts, dtype=np.int64).reshape(-1, 3)
    rng = np.random.default_rng(seed)
    n_cells = len(counts)
    totals = counts.sum(axis=1)
    rates, nets = [], []
    for size in _chunks(n_boot, n_cells):
        drawn = rng.integers(0, n_cells, size=(size, n_cells))
        resampled = _resample_pairs(rng, counts, drawn)
        r, n = _cell_stats(resampled, totals[drawn], np.ones(drawn.shape, dtype=bool))
        rates.append(r)
        nets.append(n)
    return _interval("cell", "cells, pairs", {"cell": n_cells}, np.concatenate(rates), np.concatenate(nets),
                     alpha, min_levels)


def crossed_bootstrap(
    counts: np.ndarray,
    codes: np.ndarray,
    factor_names: Sequence[str],
    n_boot: int = 2000,
    alpha: float = 0.05,
    seed: int | np.random.Generator = 0,
    min_levels: int = MIN_LEVELS,
) -> BootstrapInterval:
    """Resample every factor's levels independently, then pairs within each drawn cell.

    `counts`: (cells, 3) a/b/tie counts; `codes`: (cells, k) integer level codes
    (0..L-1) of each cell on each of the k factors named in `factor_names`. A factor with
    one level is not resampled (it is the same in every replicate) and is not held to
    `min_levels`. Each (level combination) must appear at most once.
    """
    counts = np.asarray(counts, dtype=np.int64).reshape(-1, 3)
    codes = np.asarray(codes, dtype=np.int64).reshape(len(counts), -1)
    shape = tuple(int(codes[:, j].max()) + 1 for j in range(codes.shape[1]))
    lookup = np.full(shape, -1, dtype=np.int64)
    flat = np.ravel_multi_index(tuple(codes.T), shape)
    if len(np.unique(flat)) != len(flat):
        raise ValueError("crossed_bootstrap: each combination of factor levels must be one cell.")
    lookup.ravel()[flat] = np.arange(len(counts))
    rng = np.random.default_rng(seed)
    totals = counts.sum(axis=1)
    rates, nets = [], []
    for size in _chunks(n_boot, int(np.prod(shape))):
        # drawn level indices per factor: (size, L_j) each; the replicate's cells are their crossing
        drawn = [rng.integers(0, n, size=(size, n)) if n > 1 else np.zeros((size, 1), dtype=np.int64) for n in shape]
        grids = np.meshgrid(*[np.arange(d.shape[1]) for d in drawn], indexing="ij")
        index = lookup[tuple(d[:, g] for d, g in zip(drawn, grids))]
        resampled = _resample_pairs(rng, counts, index)
        r, n = _cell_stats(resampled, np.where(index >= 0, totals[np.maximum(index, 0)], 0), index >= 0)
        rates.append(r)
        nets.append(n)
    levels = {name: n for name, n in zip(factor_names, shape) if n > 1}
    resampled_names = ", ".join(list(levels) + ["pairs"])
    return _interval("crossed", resampled_names, levels, np.concatenate(rates), np.concatenate(nets),
                     alpha, min_levels)


def _chunks(n_boot: int, cells_per_replicate: int) -> list[int]:
    per = max(1, _CHUNK // max(cells_per_replicate, 1))
    sizes = [per] * (n_boot // per)
    if n_boot % per:
        sizes.append(n_boot % per)
    return sizes


def net_score_intervals(
    counts: np.ndarray, n_boot: int = 2000, alpha: float = 0.05, seed: int | np.random.Generator = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Per-cell percentile bootstrap of the mean net score (+1 a / 0 tie / -1 b).

    `counts`: (cells, 3) a/b/tie counts. Pairs are resampled exactly (multinomial at the
    observed shares), so every bound lies in [-1, 1]. A cell with fewer than two pairs or
    whose pairs all have the same outcome gets NaN: resampling it can only return its own
    value, which is not an interval.
    """
    counts = np.asarray(counts, dtype=np.int64).reshape(-1, 3)
    rng = np.random.default_rng(seed)
    totals = counts.sum(axis=1)
    low = np.full(len(counts), np.nan)
    high = np.full(len(counts), np.nan)
    varied = (totals >= 2) & ((counts > 0).sum(axis=1) > 1)
    if not varied.any():
        return low, high
    sel = counts[varied]
    draws = []
    for size in _chunks(n_boot, len(sel)):
        resampled = _resample_pairs(rng, sel, np.broadcast_to(np.arange(len(sel)), (size, len(sel))))
        draws.append((resampled[..., 0] - resampled[..., 1]) / sel.sum(axis=1))
    nets = np.concatenate(draws)
    low[varied], high[varied] = np.percentile(nets, [100 * alpha / 2, 100 * (1 - alpha / 2)], axis=0)
    return low, high
