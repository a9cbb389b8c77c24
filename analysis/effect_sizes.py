"""Effect sizes: net score, Cohen's h for win rates, Cohen's d and ICC for rubric scores.

Why: a p-value says whether an effect is distinguishable from none; these say how big it
is, on scales a reader can compare across tasks and studies.

- **Net score** per pair: +1 if side a wins, 0 for a tie, -1 if side b wins. Unlike the
  win rate it keeps ties in the denominator. Its CI is by default a percentile bootstrap
  over the cell's pairs (`analysis.bootstrap.net_score_intervals`), which stays inside
  [-1, 1]; the t-interval of the mean (`statsmodels` `DescrStatsW.tconfint_mean`) is an
  option (`ci="t"`); it can leave [-1, 1] on few pairs.
- **Cohen's h** of a win rate against 0.5: `2 asin(sqrt(p)) - 2 asin(sqrt(0.5))`
  (`statsmodels.stats.proportion.proportion_effectsize`); its CI is the same transform
  of the win rate's Clopper-Pearson interval (the transform is monotone).
- **Cohen's d** for rubric scores (outputs frame). An output's score is the mean over
  its judges and criteria (missing scores are skipped and counted). A pair contributes
  only if both sides have a score. Two standardisations are reported, both for a minus b:
  `d_z` (paired: mean difference / SD of the differences; what the paired t-test sees)
  and `d_av` (mean difference / sqrt((SD_a^2 + SD_b^2) / 2); comparable with an
  independent-groups d). CIs are percentile bootstraps over pairs (seeded).
- **ICC across judges** (`judge_icc`): targets = outputs (score averaged over criteria,
  or per criterion if `criterion` is in `by`), raters = judges, complete targets only.
  Mean squares come from the two-way ANOVA without replication (rows = targets,
  columns = judges), computed directly:
  MSR = k * sum((row mean - grand)^2) / (n - 1), MSC = n * sum((col mean - grand)^2) /
  (k - 1), MSE = (SS_total - SS_rows - SS_cols) / ((n - 1)(k - 1)).
  ICC(2,1) (two-way random, absolute agreement, single rater; Shrout & Fleiss 1979) =
  (MSR - MSE) / (MSR + (k - 1) MSE + k (MSC - MSE) / n); ICC(3,1) (two-way mixed,
  consistency) = (MSR - MSE) / (MSR + (k - 1) MSE). 95% CIs: the F-based intervals of
  McGraw & Wong (1996), the Satterthwaite form for ICC(2,1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.proportion import proportion_effectsize
from statsmodels.stats.weightstats import DescrStatsW

from utility_gap.analysis.bootstrap import net_score_intervals
from utility_gap.analysis.win_rates import (
    DEFAULT_CELL,
    DEFAULT_COMPARISON,
    FrameError,
    check_winners,
    require_columns,
)

OUTPUT_COLUMNS = ("pair_key", "side", "judge", "criterion", "score")
NET_SCORE = {"a": 1.0, "tie": 0.0, "b": -1.0}


def cohens_h(p: float | np.ndarray, p0: float = 0.5) -> float | np.ndarray:
    """Cohen's h of proportion `p` against `p0` (positive when p > p0)."""
    return proportion_effectsize(p, p0)


def add_cohens_h(win_rate_table: pd.DataFrame) -> pd.DataFrame:
    """Add `cohens_h`, `h_ci_low`, `h_ci_high` to a `win_rates` table (from its ci95)."""
    require_columns(win_rate_table, ["win_rate", "ci95_low", "ci95_high"], "win-rate table")
    out = win_rate_table.copy()
    out["cohens_h"] = cohens_h(out["win_rate"].to_numpy(dtype=float))
    out["h_ci_low"] = cohens_h(out["ci95_low"].to_numpy(dtype=float))
    out["h_ci_high"] = cohens_h(out["ci95_high"].to_numpy(dtype=float))
    return out


NET_CI_METHODS = ("bootstrap", "t")


def net_scores(
    pairs: pd.DataFrame,
    cell: Sequence[str] = DEFAULT_CELL,
    comparison: Sequence[str] = DEFAULT_COMPARISON,
    alpha: float = 0.05,
    ci: str = "bootstrap",
    n_boot: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Mean net score (+1 a wins / 0 tie / -1 b wins) per cell with an interval.

    Columns: `comparison` + `cell` columns, `n_total`, `net_score`, `net_sd`,
    `net_ci_low`, `net_ci_high` (level 1 - alpha), `net_ci_method`. `ci="bootstrap"`
    (default): percentile bootstrap over the cell's pairs (seeded), bounded to [-1, 1];
    NaN when the cell has fewer than two pairs or all its pairs have the same outcome.
    `ci="t"`: the t-interval of the mean; NaN when fewer than two pairs.
    """
    if ci not in NET_CI_METHODS:
        raise FrameError(f"net-score interval {ci!r} is not one of {NET_CI_METHODS}.")
    by = list(comparison) + list(cell)
    require_columns(pairs, by, "judged-pairs frame")
    check_winners(pairs)
    scored = pairs.assign(_net=pairs["winner"].map(NET_SCORE))
    rows = []
    groups = scored.groupby(by, sort=True, dropna=False) if by else [((), scored)]
    for key, group in groups:
        key = key if isinstance(key, tuple) else (key,)
        values = group["_net"].to_numpy(dtype=float)
        row = dict(zip(by, key))
        row["n_total"] = len(values)
        row["net_score"] = values.mean()
        row["net_sd"] = values.std(ddof=1) if len(values) >= 2 else np.nan
        row["net_ci_low"] = row["net_ci_high"] = np.nan
        if ci == "t" and len(values) >= 2:
            row["net_ci_low"], row["net_ci_high"] = DescrStatsW(values).tconfint_mean(alpha=alpha)
        row["_counts"] = [(values == 1).sum(), (values == -1).sum(), (values == 0).sum()]
        rows.append(row)
    table = pd.DataFrame(rows)
    if ci == "bootstrap" and len(table):
        low, high = net_score_intervals(np.array(table["_counts"].tolist()), n_boot, alpha, seed)
        table["net_ci_low"], table["net_ci_high"] = low, high
    table["net_ci_method"] = ci
    return table.drop(columns="_counts")


def output_scores(outputs: pd.DataFrame, by: Sequence[str] = ()) -> pd.DataFrame:
    """One row per (by..., pair_key, side): mean score over judges and criteria.

    Columns: `by`, `pair_key`, `side`, `score` (mean of non-missing), `n_scores`,
    `n_missing` (rubric scores that were null).
    """
    keys = list(by) + ["pair_key", "side"]
    require_columns(outputs, list(dict.fromkeys(list(OUTPUT_COLUMNS) + list(by))), "outputs frame")
    bad = ~outputs["side"].isin(["a", "b"])
    if bad.any():
        raise FrameError(f"outputs frame: column 'side' must be 'a' or 'b'; found {sorted(outputs.loc[bad, 'side'].astype(str).unique())}.")
    scores = pd.to_numeric(outputs["score"], errors="coerce")
    frame = outputs.assign(_score=scores, _missing=scores.isna())
    out = frame.groupby(keys, sort=True, dropna=False).agg(
        score=("_score", "mean"), n_scores=("_score", "count"), n_missing=("_missing", "sum")
    ).reset_index()
    out["n_missing"] = out["n_missing"].astype(int)
    return out


def rubric_effect_sizes(
    outputs: pd.DataFrame,
    by: Sequence[str] = ("model", "task", "contrast"),
    alpha: float = 0.05,
    n_boot: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Cohen's d (a minus b) of rubric scores per group, paired and average-SD forms.

    Columns: `by`, `n_pairs` (both sides scored), `n_incomplete` (pairs missing a side),
    `mean_a`, `mean_b`, `mean_diff`, `d_z`, `d_z_ci_low`, `d_z_ci_high`, `d_av`,
    `d_av_ci_low`, `d_av_ci_high`, `t_p_value` (paired t-test, `scipy.stats.ttest_rel`).
    """
    by = list(by)
    per_output = output_scores(outputs, by)
    wide = per_output.pivot(index=by + ["pair_key"], columns="side", values="score")
    wide = wide.reindex(columns=["a", "b"])
    complete = wide.dropna()
    incomplete = wide[wide.isna().any(axis=1)]
    rng = np.random.default_rng(seed)
    q = [100 * alpha / 2, 100 * (1 - alpha / 2)]
    rows = []
    grouped = complete.groupby(level=by, sort=True, dropna=False) if by else [((), complete)]
    for key, group in grouped:
        key = key if isinstance(key, tuple) else (key,)
        a, b = group["a"].to_numpy(float), group["b"].to_numpy(float)
        row = dict(zip(by, key))
        row["n_pairs"] = len(a)
        row["n_incomplete"] = int(_count_in_group(incomplete, by, key))
        row["mean_a"], row["mean_b"] = a.mean(), b.mean()
        row["mean_diff"] = (a - b).mean()
        row["d_z"], row["d_av"] = _d_z(a, b), _d_av(a, b)
        if len(a) >= 3:
            idx = rng.integers(0, len(a), size=(n_boot, len(a)))
            with np.errstate(invalid="ignore", divide="ignore"):
                bz, bav = _d_z(a[idx], b[idx]), _d_av(a[idx], b[idx])
            row["d_z_ci_low"], row["d_z_ci_high"] = np.nanpercentile(bz, q)
            row["d_av_ci_low"], row["d_av_ci_high"] = np.nanpercentile(bav, q)
            row["t_p_value"] = float(stats.ttest_rel(a, b).pvalue) if np.std(a - b) > 0 else np.nan
        else:
            for c in ("d_z_ci_low", "d_z_ci_high", "d_av_ci_low", "d_av_ci_high", "t_p_value"):
                row[c] = np.nan
        rows.append(row)
    columns = by + ["n_pairs", "n_incomplete", "mean_a", "mean_b", "mean_diff", "d_z", "d_z_ci_low",
                    "d_z_ci_high", "d_av", "d_av_ci_low", "d_av_ci_high", "t_p_value"]
    return pd.DataFrame(rows, columns=columns)


def _count_in_group(frame: pd.DataFrame, by: list[str], key: tuple) -> int:
    if frame.empty:
        return 0
    if not by:
        return len(frame)
    index = frame.index.droplevel("pair_key")
    mask = np.ones(len(frame), dtype=bool)
    for name, value in zip(by, key):
        level = index.get_level_values(name)
        mask &= level.isna() if pd.isna(value) else level == value
    return int(mask.sum())


def _d_z(a: np.ndarray, b: np.ndarray) -> np.ndarray | float:
    diff = a - b
    return diff.mean(axis=-1) / diff.std(axis=-1, ddof=1)


def _d_av(a: np.ndarray, b: np.ndarray) -> np.ndarray | float:
    sd = np.sqrt((a.var(axis=-1, ddof=1) + b.var(axis=-1, ddof=1)) / 2)
    return (a - b).mean(axis=-1) / sd


@dataclass(frozen=True)
class MeanSquares:
    """Two-way ANOVA without replication: targets (rows) x raters (columns)."""

    n_targets: int
    n_raters: int
    ms_rows: float
    ms_cols: float
    ms_error: float


def two_way_mean_squares(matrix: np.ndarray) -> MeanSquares:
    """Mean squares of a complete targets x raters matrix (see module docstring)."""
    x = np.asarray(matrix, dtype=float)
    if x.ndim != 2 or np.isnan(x).any():
        raise FrameError("ICC needs a complete targets x judges matrix (no missing scores).")
    n, k = x.shape
    grand = x.mean()
    ss_rows = k * ((x.mean(axis=1) - grand) ** 2).sum()
    ss_cols = n * ((x.mean(axis=0) - grand) ** 2).sum()
    ss_error = ((x - grand) ** 2).sum() - ss_rows - ss_cols
    return MeanSquares(n, k, ss_rows / (n - 1), ss_cols / (k - 1), ss_error / ((n - 1) * (k - 1)))


def icc_from_matrix(matrix: np.ndarray, alpha: float = 0.05) -> dict[str, float]:
    """ICC(2,1) and ICC(3,1) with F-based CIs from a complete targets x raters matrix."""
    with np.errstate(divide="ignore", invalid="ignore"):  # MSE = 0 (perfect agreement) -> NaN CIs
        return _icc(two_way_mean_squares(matrix), alpha)


def _icc(ms: MeanSquares, alpha: float) -> dict[str, float]:
    n, k = ms.n_targets, ms.n_raters
    msr, msc, mse = ms.ms_rows, ms.ms_cols, ms.ms_error
    icc3 = (msr - mse) / (msr + (k - 1) * mse)
    icc2 = (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)
    df_r, df_e = n - 1, (n - 1) * (k - 1)
    f_obs = msr / mse
    fl = f_obs / stats.f.ppf(1 - alpha / 2, df_r, df_e)
    fu = f_obs * stats.f.ppf(1 - alpha / 2, df_e, df_r)
    icc3_low, icc3_high = (fl - 1) / (fl + k - 1), (fu - 1) / (fu + k - 1)
    # McGraw & Wong (1996), case 2A: Satterthwaite degrees of freedom for the denominator
    fj = msc / mse
    vn = (k - 1) * (n - 1) * (k * icc2 * fj + n * (1 + (k - 1) * icc2) - k * icc2) ** 2
    vd = (n - 1) * k**2 * icc2**2 * fj**2 + (n * (1 + (k - 1) * icc2) - k * icc2) ** 2
    v = vn / vd
    f_star_hi = stats.f.ppf(1 - alpha / 2, n - 1, v)
    f_star_lo = stats.f.ppf(1 - alpha / 2, v, n - 1)
    icc2_low = n * (msr - f_star_hi * mse) / (f_star_hi * (k * msc + (k * n - k - n) * mse) + n * msr)
    icc2_high = n * (f_star_lo * msr - mse) / (k * msc + (k * n - k - n) * mse + n * f_star_lo * msr)
    return {
        "n_targets": n, "n_judges": k, "ms_rows": msr, "ms_judges": msc, "ms_error": mse,
        "icc2_1": icc2, "icc2_1_ci_low": icc2_low, "icc2_1_ci_high": icc2_high,
        "icc3_1": icc3, "icc3_1_ci_low": icc3_low, "icc3_1_ci_high": icc3_high,
    }


def judge_icc(outputs: pd.DataFrame, by: Sequence[str] = (), alpha: float = 0.05) -> pd.DataFrame:
    """ICC(2,1) and ICC(3,1) of rubric scores across judges, per group of `by`.

    A target is one output (pair_key, side); its score from a judge is the mean over the
    criteria (put `criterion` in `by` for one ICC per criterion). Targets not scored by
    every judge of the group are dropped and counted in `n_dropped`. Columns: `by`,
    `n_targets`, `n_judges`, `n_dropped`, `ms_rows`, `ms_judges`, `ms_error`, `icc2_1`
    (+ CI), `icc3_1` (+ CI). Groups with fewer than 2 judges or 2 targets are omitted.
    """
    by = list(by)
    require_columns(outputs, list(dict.fromkeys(list(OUTPUT_COLUMNS) + by)), "outputs frame")
    scores = outputs.assign(score=pd.to_numeric(outputs["score"], errors="coerce"))
    per_judge = scores.groupby(by + ["pair_key", "side", "judge"], sort=True, dropna=False)["score"].mean().reset_index()
    rows = []
    grouped = per_judge.groupby(by, sort=True, dropna=False) if by else [((), per_judge)]
    for key, group in grouped:
        key = key if isinstance(key, tuple) else (key,)
        matrix = group.pivot(index=["pair_key", "side"], columns="judge", values="score")
        complete = matrix.dropna()
        if complete.shape[1] < 2 or complete.shape[0] < 2:
            continue
        row = dict(zip(by, key))
        result = icc_from_matrix(complete.to_numpy(), alpha=alpha)
        row["n_dropped"] = len(matrix) - len(complete)
        row.update(result)
        rows.append(row)
    return pd.DataFrame(rows)
