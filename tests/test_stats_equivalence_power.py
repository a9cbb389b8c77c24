"""TOST, exact and normal power, minimum detectable effects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom, binomtest, norm

from utility_gap.analysis.equivalence_power import (
    equivalence_table,
    exact_power,
    exact_rejection_bounds,
    exact_tost_power,
    mde_exact,
    mde_normal,
    normal_power,
    normal_sample_size,
    tost_win_rate,
)
from utility_gap.analysis.power_planner import plan_power
from utility_gap.analysis.win_rates import FrameError, win_rates


@pytest.mark.parametrize("n", [5, 17, 60, 201])
def test_rejection_region_and_power_match_brute_force_binomtest(n):
    ks = np.arange(n + 1)
    rejected = np.array([binomtest(int(k), n, 0.5).pvalue <= 0.05 for k in ks])
    k_low, k_high = exact_rejection_bounds(n, 0.05)
    np.testing.assert_array_equal(rejected, (ks <= k_low) | (ks >= k_high))
    for p in (0.5, 0.6, 0.7):
        assert exact_power(n, p) == pytest.approx(binom.pmf(ks, n, p)[rejected].sum(), abs=1e-12)


@pytest.mark.parametrize("n", [5, 17, 60, 201])
@pytest.mark.parametrize("alternative", ["greater", "less"])
def test_one_sided_rejection_region_power_and_mde_match_brute_force_binomtest(n, alternative):
    ks = np.arange(n + 1)
    rejected = np.array([binomtest(int(k), n, 0.5, alternative=alternative).pvalue <= 0.05 for k in ks])
    k_low, k_high = exact_rejection_bounds(n, 0.05, alternative)
    np.testing.assert_array_equal(rejected, (ks <= k_low) | (ks >= k_high))
    for p in (0.3, 0.5, 0.6, 0.7):
        assert exact_power(n, p, 0.05, alternative) == pytest.approx(binom.pmf(ks, n, p)[rejected].sum(), abs=1e-12)
    d = mde_exact(n, 0.05, 0.8, alternative)
    toward = 0.5 + d if alternative == "greater" else 0.5 - d
    assert binom.pmf(ks, n, toward)[rejected].sum() == pytest.approx(0.8, abs=1e-4)
    # a one-sided test detects an effect no larger in its direction (smaller unless both tests reject at the same
    # k, as at n = 17), and with 5 pairs only it detects any (5 of 5: one-sided p 0.031, two-sided 0.062)
    two_sided = mde_exact(n)
    assert d <= two_sided + 1e-6 if n > 5 else np.isnan(two_sided)
    if n >= 60:
        assert d < two_sided - 0.005
    # the report's table uses each cell's own alternative
    table = equivalence_table(pd.DataFrame({"n_a": [n // 2], "n_b": [n - n // 2], "n": [n], "m": [1],
                                            "alternative": [alternative]}), margin=0.1)
    assert table.loc[0, "mde"] == pytest.approx(d, nan_ok=True)


def test_normal_sample_size_is_the_arcsine_formula():
    h = 2 * np.arcsin(np.sqrt(0.55)) - 2 * np.arcsin(np.sqrt(0.5))
    expected = ((norm.ppf(0.975) + norm.ppf(0.8)) / h) ** 2
    assert normal_sample_size(0.55) == pytest.approx(expected, rel=1e-4)
    assert normal_power(expected, 0.55) == pytest.approx(0.8, abs=1e-3)


def test_mde_is_where_power_reaches_the_target():
    for n in (100, 400, 1600):
        d = mde_exact(n)
        assert exact_power(n, 0.5 + d) == pytest.approx(0.8, abs=1e-4)
        assert mde_normal(n) == pytest.approx(d, rel=0.15)
    assert mde_exact(400) < mde_exact(100)
    assert np.isnan(mde_exact(4))  # no outcome of 4 pairs is significant at 0.05


def test_tost_equals_the_two_one_sided_tests_and_the_ci_inside_the_margins():
    for n_a, n_b in [(510, 490), (560, 440), (50, 45), (1200, 1180)]:
        t = tost_win_rate(n_a, n_b, margin=0.05, alpha=0.05)
        n = n_a + n_b
        assert t.p_lower == pytest.approx(binomtest(n_a, n, 0.45, alternative="greater").pvalue)
        assert t.p_upper == pytest.approx(binomtest(n_a, n, 0.55, alternative="less").pvalue)
        ci = binomtest(n_a, n).proportion_ci(confidence_level=0.90, method="exact")
        assert t.equivalent == (0.45 < ci.low and ci.high < 0.55)
    assert tost_win_rate(510, 490).equivalent and not tost_win_rate(50, 45).equivalent
    with pytest.raises(FrameError, match="margin"):
        tost_win_rate(10, 10, margin=0.6)


def test_planted_nulls_pass_tost_at_the_planned_size_and_effects_do_not():
    cells = 10
    plan = plan_power(0.1, cells=cells, ties=0.1)
    rng = np.random.default_rng(21)
    n_studies = 30
    rows = []
    for s in range(n_studies):
        for c in range(cells):
            for rate in (0.5, 0.62):
                counts = rng.multinomial(plan.pairs_per_cell_equivalence, [0.9 * rate, 0.9 * (1 - rate), 0.1])
                rows.append({"study": s, "contrast": f"planted_{rate}", "model": f"m{c}", "task": "essay",
                             "winner": np.repeat(["a", "b", "tie"], counts)})
    pairs = pd.DataFrame(rows).explode("winner", ignore_index=True)
    table = equivalence_table(win_rates(pairs, comparison=("study", "contrast")), margin=0.1)
    null = table[table.contrast == "planted_0.5"]
    # the planner sized each cell for 80% TOST power at alpha / cells
    passed = null["equivalent_fw"].mean()
    se = np.sqrt(plan.expected_equivalence_power * (1 - plan.expected_equivalence_power) / len(null))
    assert abs(passed - plan.expected_equivalence_power) <= 3 * se + 0.01, (passed, plan.expected_equivalence_power)
    assert passed >= 0.75
    effect = table[table.contrast == "planted_0.62"]
    # 0.62 lies outside the margin: TOST may wrongly pass at most alpha of the time
    assert effect["equivalent"].mean() <= 0.05 and not effect["equivalent_fw"].any()
    assert (effect["power_at_margin_fw"] > 0.8).all() and (effect["mde_fw"] < 0.1).all()


def test_exact_tost_power_matches_brute_force():
    n, margin = 300, 0.08
    ks = np.arange(n + 1)
    passes = np.array([tost_win_rate(int(k), n - int(k), margin).equivalent for k in ks])
    for p in (0.5, 0.55):
        assert exact_tost_power(n, margin, win_rate=p) == pytest.approx(binom.pmf(ks, n, p)[passes].sum(), abs=1e-12)


def test_equivalence_table_on_an_aggregate_uses_the_pooled_counts():
    from utility_gap.analysis.win_rates import aggregate_win_rates

    rng = np.random.default_rng(3)
    winners = rng.choice(["a", "b", "tie"], size=4000, p=[0.45, 0.45, 0.1])
    pairs = pd.DataFrame({"model": rng.choice(["m1", "m2"], 4000), "task": "essay", "contrast": "c", "winner": winners})
    row = equivalence_table(aggregate_win_rates(pairs, n_boot=200), margin=0.05).iloc[0]
    direct = tost_win_rate(int((winners == "a").sum()), int((winners == "b").sum()), 0.05)
    assert row.tost_p == pytest.approx(direct.p_value) and row.equivalent == direct.equivalent
    assert row.mde == pytest.approx(mde_exact(int(row.n)))
