"""Equivalence tests (TOST) and power / minimum detectable effect for win rates.

Why: "no effect" is only a finding if the data could have shown one. Every null the
report prints comes with (a) a TOST equivalence test against a declared smallest effect
of interest `margin` (H0: |p - 0.5| >= margin) and (b) the power the cell had to detect
a win rate of 0.5 + margin and the minimum detectable effect (MDE) at 80% power.

Methods (and which library does the work):
- Detection power is computed **exactly** for the test the statistics actually run, the
  exact binomial test against 0.5 (`scipy.stats.binomtest`), two-sided or, for a cell
  tested one-sided, one-sided in that direction: find its rejection region for n
  decisive pairs, then sum `scipy.stats.binom` probabilities under the alternative. The **normal approximation** on Cohen's h scale
  (`statsmodels.stats.power.NormalIndPower` with `ratio=0`, i.e. one sample, and
  `proportion_effectsize`) is reported beside it and used to start searches. The exact
  power of a discrete test is a saw-tooth in n; the planner reports the smallest n
  that reaches the target.
- TOST uses two exact one-sided binomial tests (`binomtest(..., alternative=...)`) at
  0.5 - margin ("greater") and 0.5 + margin ("less"); p_TOST = max of the two. This is
  the same as the (1 - 2 alpha) Clopper-Pearson interval lying inside the margins.
- Family-wise: with m cells, pass `alpha / m` (what the Bonferroni intervals and, as a
  lower bound, Holm use). `equivalence_table` reports both per-test and family-wise
  (alpha / m) TOST decisions and MDEs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.stats import binom, norm
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from utility_gap.analysis.win_rates import FrameError, binomial_pvalue, require_columns

_NULL = 0.5


def _check_alpha(alpha: float) -> None:
    if not 0 < alpha < 1:
        raise FrameError(f"alpha must be in (0, 1); got {alpha}.")


ALTERNATIVES = ("two-sided", "greater", "less")


@lru_cache(maxsize=100_000)
def exact_rejection_bounds(n: int, alpha: float = 0.05, alternative: str = "two-sided") -> tuple[int, int]:
    """(k_low, k_high): the exact binomial test of p = 0.5 with n trials rejects at level
    alpha iff k <= k_low or k >= k_high (k_low = -1 / k_high = n + 1: never on that side).

    `alternative` is the test's: "two-sided", "greater" (only large k rejects) or "less"."""
    _check_alpha(alpha)
    if alternative not in ALTERNATIVES:
        raise FrameError(f"alternative {alternative!r} is not one of {ALTERNATIVES}.")
    n = int(n)
    if n <= 0:
        return -1, n + 1
    if alternative != "two-sided":
        # smallest k whose one-sided exact p-value P(X >= k) is <= alpha, checked with the test itself
        k = min(max(int(binom.isf(alpha, n, _NULL)) + 1, 0), n + 1)
        while k > 0 and binomial_pvalue(k - 1, n, _NULL, "greater") <= alpha:
            k -= 1
        while k <= n and binomial_pvalue(k, n, _NULL, "greater") > alpha:
            k += 1
        # symmetric at p = 0.5: "less" rejects at k <= n - k_high
        return (-1, k) if alternative == "greater" else (n - k, n + 1)
    half = n / 2
    k = int(binom.isf(alpha / 2, n, _NULL)) + 1  # smallest k with P(X >= k) <= alpha / 2
    k = min(max(k, math.ceil(half)), n + 1)
    while k - 1 > half and binomial_pvalue(k - 1, n) <= alpha:
        k -= 1
    while k <= n and binomial_pvalue(k, n) > alpha:
        k += 1
    return n - k, k


def exact_power(n: int, win_rate: float, alpha: float = 0.05, alternative: str = "two-sided") -> float:
    """Power of the exact binomial test vs 0.5 (two-sided, or one-sided) with n decisive pairs."""
    k_low, k_high = exact_rejection_bounds(n, alpha, alternative)
    return float(binom.sf(k_high - 1, n, win_rate) + binom.cdf(k_low, n, win_rate))


def normal_power(n: float, win_rate: float, alpha: float = 0.05) -> float:
    """Normal-approximation power on Cohen's h scale (statsmodels NormalIndPower, one sample)."""
    _check_alpha(alpha)
    h = abs(proportion_effectsize(win_rate, _NULL))
    return float(NormalIndPower().power(effect_size=h, nobs1=n, alpha=alpha, ratio=0))


def normal_sample_size(win_rate: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Decisive pairs needed by the normal approximation (not rounded)."""
    _check_alpha(alpha)
    h = abs(proportion_effectsize(win_rate, _NULL))
    if h == 0:
        raise FrameError("win rate 0.5 has no effect to detect; give an effect > 0.")
    return float(NormalIndPower().solve_power(effect_size=h, alpha=alpha, power=power, ratio=0))


def exact_sample_size(win_rate: float, alpha: float = 0.05, power: float = 0.8, max_n: int = 1_000_000) -> int:
    """Smallest n whose exact power reaches `power`, searched near the normal-approximation n.

    The search starts a little below the normal n (5%, or 20% under 200 pairs), walks up
    to the first n that reaches the target, then back down while n - 1 still does.
    """
    n = _search_start(normal_sample_size(win_rate, alpha, power))
    while exact_power(n, win_rate, alpha) < power:
        n += 1
        if n > max_n:
            raise FrameError(f"no n <= {max_n} reaches power {power} for win rate {win_rate}.")
    # the saw-tooth can put a smaller n above target: step back while it still holds
    while n > 1 and exact_power(n - 1, win_rate, alpha) >= power:
        n -= 1
    return n


def _search_start(normal_n: float) -> int:
    return max(1, int(normal_n * (0.8 if normal_n < 200 else 0.95)))


@lru_cache(maxsize=100_000)
def mde_normal(n: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Minimum detectable |win rate - 0.5| at this n (normal approximation)."""
    if n <= 0:
        return float("nan")
    h = float(NormalIndPower().solve_power(effect_size=None, nobs1=n, alpha=alpha, power=power, ratio=0))
    return float(np.sin(np.arcsin(np.sqrt(_NULL)) + h / 2) ** 2 - _NULL)


@lru_cache(maxsize=100_000)
def mde_exact(n: int, alpha: float = 0.05, power: float = 0.8, alternative: str = "two-sided") -> float:
    """Minimum detectable |win rate - 0.5| at this n for the exact test (NaN if none).

    One-sided, the distance is in the tested direction ("less": a win rate of 0.5 - d)."""
    sign = -1.0 if alternative == "less" else 1.0
    if n <= 0 or exact_power(n, _NULL + sign * 0.5, alpha, alternative) < power:
        return float("nan")
    # exact power is continuous and increasing in the distance from 0.5 in the tested direction
    return float(brentq(lambda d: exact_power(n, _NULL + sign * d, alpha, alternative) - power,
                        1e-9, 0.5 - 1e-12, xtol=1e-7))


@dataclass(frozen=True)
class TostResult:
    """TOST of |win rate - 0.5| < margin with exact one-sided binomial tests."""

    n_a: int
    n: int
    margin: float
    alpha: float
    p_lower: float  # H0: p <= 0.5 - margin
    p_upper: float  # H0: p >= 0.5 + margin
    p_value: float  # max(p_lower, p_upper)
    equivalent: bool  # p_value < alpha


def tost_win_rate(n_a: int, n_b: int, margin: float = 0.05, alpha: float = 0.05) -> TostResult:
    """Exact-binomial TOST that side a's win rate among decisive pairs is within 0.5 +- margin."""
    _check_alpha(alpha)
    if not 0 < margin < 0.5:
        raise FrameError(f"equivalence margin must be in (0, 0.5); got {margin}.")
    n = int(n_a) + int(n_b)
    if n == 0:
        return TostResult(int(n_a), 0, margin, alpha, float("nan"), float("nan"), float("nan"), False)
    p_lower = binomial_pvalue(int(n_a), n, _NULL - margin, "greater")
    p_upper = binomial_pvalue(int(n_a), n, _NULL + margin, "less")
    p = max(p_lower, p_upper)
    return TostResult(int(n_a), n, margin, alpha, p_lower, p_upper, p, bool(p < alpha))


def exact_tost_power(n: int, margin: float, alpha: float = 0.05, win_rate: float = 0.5) -> float:
    """Probability that the exact TOST declares equivalence when the true rate is `win_rate`.

    The TOST passes iff k_L <= k <= k_U, where k_L is the smallest count the lower
    one-sided test rejects at and k_U the largest the upper one rejects at; both are
    located with `binom.isf`/`binom.ppf` and confirmed with the same `binomtest` calls
    `tost_win_rate` makes.
    """
    n = int(n)
    if n <= 0:
        return 0.0
    lo_p, hi_p = _NULL - margin, _NULL + margin
    k_lo = int(binom.isf(alpha, n, lo_p)) + 1
    while k_lo > 0 and binomial_pvalue(k_lo - 1, n, lo_p, "greater") < alpha:
        k_lo -= 1
    while k_lo <= n and binomial_pvalue(k_lo, n, lo_p, "greater") >= alpha:
        k_lo += 1
    k_hi = int(binom.ppf(alpha, n, hi_p)) - 1
    while k_hi < n and binomial_pvalue(k_hi + 1, n, hi_p, "less") < alpha:
        k_hi += 1
    while k_hi >= 0 and binomial_pvalue(k_hi, n, hi_p, "less") >= alpha:
        k_hi -= 1
    if k_hi < k_lo:
        return 0.0
    return float(binom.cdf(k_hi, n, win_rate) - binom.cdf(k_lo - 1, n, win_rate))


def normal_tost_sample_size(margin: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Decisive pairs for TOST when the true rate is 0.5 (normal approx, arcsine scale):
    n = ((z_{1-alpha} + z_{1-(1-power)/2}) / h(0.5 + margin))^2."""
    h = abs(proportion_effectsize(_NULL + margin, _NULL))
    return float(((norm.ppf(1 - alpha) + norm.ppf(1 - (1 - power) / 2)) / h) ** 2)


def exact_tost_sample_size(margin: float, alpha: float = 0.05, power: float = 0.8, max_n: int = 2_000_000) -> int:
    """Smallest n whose exact TOST power at a true win rate of 0.5 reaches `power`."""
    n = _search_start(normal_tost_sample_size(margin, alpha, power))
    while exact_tost_power(n, margin, alpha) < power:
        n += 1
        if n > max_n:
            raise FrameError(f"no n <= {max_n} reaches TOST power {power} for margin {margin}.")
    while n > 1 and exact_tost_power(n - 1, margin, alpha) >= power:
        n -= 1
    return n


def equivalence_table(
    win_rate_table: pd.DataFrame, margin: float = 0.05, alpha: float = 0.05, power: float = 0.8
) -> pd.DataFrame:
    """Add TOST, power and MDE columns to a `win_rates` table, one row per cell.

    Added columns: `margin`, `tost_p` (exact TOST p, unadjusted), `equivalent`
    (tost_p < alpha), `equivalent_fw` (tost_p < alpha / m), `power_at_margin` (exact
    power of the per-test detection test against 0.5 + margin), `power_at_margin_fw`
    (the same at alpha / m), `mde` (exact MDE at `power`, per test), `mde_fw` (at
    alpha / m), `mde_normal` (normal approximation, per test, two-sided).

    Power and MDE are for the detection test the cell ran: its `alternative` column when
    the table has one (one-sided "greater": power against 0.5 + margin; "less": against
    0.5 - margin), else two-sided.

    A table without `m` (e.g. `aggregate_win_rates`' output, whose counts are the pooled
    counts of each comparison) is treated as m = 1: per comparison, the pooled TOST,
    power and MDE.
    """
    require_columns(win_rate_table, ["n_a", "n_b", "n"], "win-rate table")
    out = win_rate_table.copy()
    family_sizes = out["m"] if "m" in out.columns else pd.Series(1, index=out.index)
    sides = out["alternative"] if "alternative" in out.columns else pd.Series("two-sided", index=out.index)
    rows = []
    for n_a, n_b, n, m, side in zip(out["n_a"], out["n_b"], out["n"], family_sizes, sides):
        m = max(int(m), 1)
        t = tost_win_rate(n_a, n_b, margin, alpha)
        at_margin = _NULL - margin if side == "less" else _NULL + margin
        rows.append({
            "margin": margin,
            "tost_p": t.p_value,
            "equivalent": t.equivalent,
            "equivalent_fw": bool(t.p_value < alpha / m) if n > 0 else False,
            "power_at_margin": exact_power(int(n), at_margin, alpha, side) if n > 0 else np.nan,
            "power_at_margin_fw": exact_power(int(n), at_margin, alpha / m, side) if n > 0 else np.nan,
            "mde": mde_exact(int(n), alpha, power, side),
            "mde_fw": mde_exact(int(n), alpha / m, power, side),
            "mde_normal": mde_normal(int(n), alpha, power),
        })
    added = pd.DataFrame(rows, index=out.index)
    return pd.concat([out, added], axis=1)
