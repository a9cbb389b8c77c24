"""Plan how many judged pairs each cell needs before spending money on a run.

Why: the headline null (utility-high vs utility-low wins about half the time) is only
informative if each cell could have detected a smallest effect of interest. Given that
effect (win rate 0.5 + delta), the number of cells m, the expected tie share, alpha and
the target power, `plan_power` returns

- decisive (non-tie) pairs per cell for the exact two-sided binomial test at
  alpha / m (Bonferroni; Holm, which the statistics use, is at least as powerful), by
  the normal approximation and by an exact search (`equivalence_power.exact_sample_size`);
- judged pairs per cell = ceil(decisive / (1 - ties)), and the *expected* exact power at
  that size, averaging over the Binomial(pairs, 1 - ties) number of decisive pairs;
- the pairs per cell for the TOST equivalence test (true rate 0.5, margin delta) to pass
  with the same power at the same per-test alpha, so a planted null can be *confirmed*;
- items x repeats suggestions (a "repeat" is any extra sample of the same item: outcome
  draws, `repeats`, or epochs).

`simulate_power` checks the plan by brute force: it draws each cell's planted win rate
(optionally with between-cell spread), its (a, b, tie) counts with numpy (seeded), runs
the same exact test, and reports the rejection shares.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from functools import lru_cache

import numpy as np
from scipy.stats import binom
from statsmodels.stats.multitest import multipletests

from utility_gap.analysis.equivalence_power import (
    exact_power,
    exact_sample_size,
    exact_tost_power,
    exact_tost_sample_size,
    normal_sample_size,
)
from utility_gap.analysis.win_rates import FrameError, binomial_pvalue, cheap_gc

DEFAULT_ITEM_COUNTS = (30, 20, 10)


@dataclass(frozen=True)
class ItemsRepeats:
    """One way to reach the planned pairs per cell: items x repeats >= pairs."""

    items: int
    repeats: int
    pairs: int


@dataclass(frozen=True)
class PowerPlan:
    """The planner's answer; every count is per cell (one model x task x contrast)."""

    effect: float
    win_rate: float
    cells: int
    tie_share: float
    alpha: float
    alpha_per_test: float
    power: float
    family_wise: bool
    n_decisive_normal: float
    n_decisive_exact: int
    power_exact_at_n: float
    pairs_per_cell: int
    expected_power: float
    total_pairs: int
    n_decisive_equivalence: int
    pairs_per_cell_equivalence: int
    expected_equivalence_power: float
    suggestions: tuple[ItemsRepeats, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        lines = [
            f"Smallest effect of interest: win rate {self.win_rate:.3f} (0.5 + {self.effect:g})",
            f"Cells: {self.cells}; alpha {self.alpha:g}"
            + (f" family-wise -> {self.alpha_per_test:.5g} per cell (Bonferroni; Holm is at least as powerful)"
               if self.family_wise else " per cell"),
            f"Expected tie share: {self.tie_share:g}; target power: {self.power:g}",
            f"Decisive pairs per cell: {self.n_decisive_exact} exact "
            f"(normal approximation {math.ceil(self.n_decisive_normal)}); exact power there {self.power_exact_at_n:.3f}",
            f"Judged pairs per cell: {self.pairs_per_cell} (expected power {self.expected_power:.3f}); "
            f"all cells: {self.total_pairs}",
            f"To confirm a null by TOST (|p - 0.5| < {self.effect:g}): {self.n_decisive_equivalence} decisive, "
            f"{self.pairs_per_cell_equivalence} judged pairs per cell (expected power {self.expected_equivalence_power:.3f})",
            "Items x repeats per cell:",
        ]
        lines += [f"  {s.items} items x {s.repeats} repeats = {s.pairs} pairs" for s in self.suggestions]
        return "\n".join(lines)


def _validate(effect: float, cells: int, ties: float, alpha: float, power: float) -> None:
    if not 0 < effect < 0.5:
        raise FrameError(f"effect (--effect) must be in (0, 0.5), the win-rate distance from 0.5; got {effect}.")
    if cells < 1:
        raise FrameError(f"cells (--cells) must be at least 1; got {cells}.")
    if not 0 <= ties < 1:
        raise FrameError(f"tie share (--ties) must be in [0, 1); got {ties}.")
    if not 0 < alpha < 1:
        raise FrameError(f"alpha (--alpha) must be in (0, 1); got {alpha}.")
    if not 0 < power < 1:
        raise FrameError(f"power (--power) must be in (0, 1); got {power}.")


def expected_power_with_ties(pairs: int, ties: float, power_at_n, spread: float = 5.0) -> float:
    """E[power(N)] with N ~ Binomial(pairs, 1 - ties) decisive pairs."""
    if ties == 0:
        return float(power_at_n(pairs))
    mean = pairs * (1 - ties)
    sd = math.sqrt(pairs * ties * (1 - ties))
    lo, hi = max(0, int(mean - spread * sd) - 1), min(pairs, int(mean + spread * sd) + 1)
    ns = np.arange(lo, hi + 1)
    weights = binom.pmf(ns, pairs, 1 - ties)
    values = np.array([power_at_n(int(n)) if n > 0 else 0.0 for n in ns])
    return float((weights * values).sum() / weights.sum())


def suggest_items_repeats(pairs: int, item_counts=DEFAULT_ITEM_COUNTS) -> tuple[ItemsRepeats, ...]:
    """For each available item count, the repeats needed to reach `pairs`."""
    out = []
    for items in sorted({int(i) for i in item_counts if int(i) > 0}, reverse=True):
        repeats = math.ceil(pairs / items)
        out.append(ItemsRepeats(items, repeats, items * repeats))
    return tuple(out)


def plan_power(
    effect: float,
    cells: int,
    ties: float = 0.0,
    alpha: float = 0.05,
    power: float = 0.8,
    family_wise: bool = True,
    item_counts=DEFAULT_ITEM_COUNTS,
) -> PowerPlan:
    """Pairs per cell to detect a win rate of 0.5 + effect (and to confirm a null by TOST)."""
    _validate(effect, cells, ties, alpha, power)
    return _plan(float(effect), int(cells), float(ties), float(alpha), float(power), bool(family_wise),
                 tuple(int(i) for i in item_counts))


@lru_cache(maxsize=256)
def _plan(effect: float, cells: int, ties: float, alpha: float, power: float, family_wise: bool,
          item_counts: tuple[int, ...]) -> PowerPlan:
    win_rate = 0.5 + effect
    per_test = alpha / cells if family_wise else alpha
    n_normal = normal_sample_size(win_rate, per_test, power)
    n_exact = exact_sample_size(win_rate, per_test, power)
    pairs = math.ceil(n_exact / (1 - ties))
    expected = expected_power_with_ties(pairs, ties, lambda n: exact_power(n, win_rate, per_test))
    # the tie draw can pull the expected power below target: add pairs until it holds
    while expected < power:
        pairs += max(1, pairs // 200)
        expected = expected_power_with_ties(pairs, ties, lambda n: exact_power(n, win_rate, per_test))
    n_eq = exact_tost_sample_size(effect, per_test, power)
    pairs_eq = math.ceil(n_eq / (1 - ties))
    tost_power = lambda n: exact_tost_power(n, effect, per_test)  # noqa: E731
    expected_eq = expected_power_with_ties(pairs_eq, ties, tost_power)
    while expected_eq < power:
        pairs_eq += max(1, pairs_eq // 200)
        expected_eq = expected_power_with_ties(pairs_eq, ties, tost_power)
    return PowerPlan(
        effect=effect, win_rate=win_rate, cells=cells, tie_share=ties, alpha=alpha,
        alpha_per_test=per_test, power=power, family_wise=family_wise,
        n_decisive_normal=n_normal, n_decisive_exact=n_exact,
        power_exact_at_n=exact_power(n_exact, win_rate, per_test),
        pairs_per_cell=pairs, expected_power=expected, total_pairs=pairs * cells,
        n_decisive_equivalence=n_eq, pairs_per_cell_equivalence=pairs_eq,
        expected_equivalence_power=expected_eq,
        suggestions=suggest_items_repeats(pairs, item_counts),
    )


@dataclass(frozen=True)
class SimulatedPower:
    """Rejection shares over simulated cells (each cell: one exact test)."""

    n_sims: int
    cells: int
    pairs_per_cell: int
    alpha_per_test: float
    per_test_power: float  # share of all simulated cells rejected at alpha_per_test
    per_test_power_se: float
    holm_power: float  # share of cells rejected after Holm within each simulated study
    any_rejected: float  # share of studies with at least one Holm rejection
    mean_decisive: float


def simulate_power(
    pairs_per_cell: int,
    cells: int,
    effect: float,
    ties: float = 0.0,
    alpha: float = 0.05,
    family_wise: bool = True,
    n_sims: int = 400,
    effect_sd: float = 0.0,
    seed: int = 0,
) -> SimulatedPower:
    """Simulate `n_sims` studies of `cells` cells and count how often the exact test rejects.

    Each cell's planted win rate is 0.5 + effect (+ Normal(0, effect_sd) spread across
    cells, clipped to [0.01, 0.99]); its (a, b, tie) counts are drawn from a multinomial
    with tie share `ties`. The test is the same exact two-sided binomial test vs 0.5 the
    statistics run, at alpha / cells when `family_wise`.
    """
    if pairs_per_cell < 1 or n_sims < 1:
        raise FrameError(f"pairs_per_cell and n_sims must be >= 1; got {pairs_per_cell}, {n_sims}.")
    rng = np.random.default_rng(seed)
    rates = 0.5 + effect + (rng.normal(0, effect_sd, size=(n_sims, cells)) if effect_sd > 0 else np.zeros((n_sims, cells)))
    rates = np.clip(rates, 0.01, 0.99)
    probs = np.stack([(1 - ties) * rates, (1 - ties) * (1 - rates), np.full_like(rates, ties)], axis=-1)
    counts = rng.multinomial(pairs_per_cell, probs)
    n_a, n_dec = counts[..., 0], counts[..., 0] + counts[..., 1]
    pvals = np.array(
        [[binomial_pvalue(int(k), int(n)) if n > 0 else 1.0 for k, n in zip(ka, na)] for ka, na in zip(n_a, n_dec)]
    )
    per_test = alpha / cells if family_wise else alpha
    rejected = pvals <= per_test
    if family_wise:
        with cheap_gc():
            holm = np.array([multipletests(row, alpha=alpha, method="holm")[0] for row in pvals])
    else:
        holm = rejected
    share = float(rejected.mean())
    return SimulatedPower(
        n_sims=n_sims, cells=cells, pairs_per_cell=pairs_per_cell, alpha_per_test=per_test,
        per_test_power=share, per_test_power_se=math.sqrt(share * (1 - share) / rejected.size),
        holm_power=float(holm.mean()), any_rejected=float(holm.any(axis=1).mean()),
        mean_decisive=float(n_dec.mean()),
    )
