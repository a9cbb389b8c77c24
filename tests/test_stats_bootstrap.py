"""Aggregate intervals and the published conventions (#10), each against an independent computation.

- crossed and cell bootstraps against brute-force loops over the pairs themselves;
- coverage of both on planted data with model and task random effects;
- Wilson (per cell, family-wise and pooled) against the score formula written out;
- one-sided exact tests and Holm over them against scipy/statsmodels;
- a family fixed to the planned cells (empty cells in m and in Holm) against statsmodels;
- net-score bootstrap intervals bounded to [-1, 1], against a brute-force bootstrap.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from planted_crossed import planted_crossed_studies
from scipy import stats
from statsmodels.stats.multitest import multipletests

from utility_gap.analysis.effect_sizes import net_scores
from utility_gap.analysis.win_rates import FrameError, aggregate_win_rates, pooled_win_rate, win_rates


def crossed_pairs(rng: np.random.Generator, n_models: int, n_tasks: int, pairs: int = 30) -> pd.DataFrame:
    """One study with model and task effects, as a judged-pairs-shaped frame."""
    return planted_crossed_studies(rng, 1, n_models, n_tasks, pairs, sd_model=0.08, sd_task=0.08).drop(columns="study")


def brute_force_bootstrap(pairs: pd.DataFrame, n_boot: int, seed: int, crossed: bool) -> np.ndarray:
    """The bootstrap written out: draw levels (or cells), then each drawn cell's pairs one by one."""
    rng = np.random.default_rng(seed)
    cells = {key: group["winner"].to_numpy() for key, group in pairs.groupby(["model", "task"])}
    models, tasks = sorted(pairs["model"].unique()), sorted(pairs["task"].unique())
    keys = list(cells)
    means = []
    for _ in range(n_boot):
        if crossed:
            drawn_models, drawn_tasks = rng.choice(models, len(models)), rng.choice(tasks, len(tasks))
            drawn = [(m, t) for m in drawn_models for t in drawn_tasks if (m, t) in cells]
        else:
            drawn = [keys[i] for i in rng.integers(0, len(keys), len(keys))]
        rates = []
        for key in drawn:
            winners = rng.choice(cells[key], len(cells[key]))
            decisive = np.isin(winners, ["a", "b"]).sum()
            if decisive:
                rates.append((winners == "a").sum() / decisive)
        means.append(np.mean(rates))
    return np.array(means)


def check_against_brute_force(crossed: bool) -> tuple[pd.Series, np.ndarray]:
    rng = np.random.default_rng(11)
    pairs = crossed_pairs(rng, 5, 5, pairs=20).assign(contrast="c")
    pairs = pairs.drop(pairs[(pairs.model == "m0") & (pairs.task == "t0")].index)  # one cell missing
    method = "crossed" if crossed else "cell"
    n_code, n_brute = 4000, 800
    row = aggregate_win_rates(pairs, n_boot=n_code, seed=4, method=method).iloc[0]
    assert row.boot_method == method and row.boot_reliable
    means = brute_force_bootstrap(pairs, n_brute, seed=9, crossed=crossed)
    low, high = np.percentile(means, [2.5, 97.5])
    # Monte-Carlo SE of a 2.5% percentile from B replicates of spread s: s sqrt(.025 .975 / B) / phi(1.96)
    se = means.std() * np.sqrt(0.025 * 0.975 * (1 / n_code + 1 / n_brute)) / stats.norm.pdf(1.96)
    assert row.boot_ci_low == pytest.approx(low, abs=4 * se)
    assert row.boot_ci_high == pytest.approx(high, abs=4 * se)
    return row, means


def test_crossed_and_cell_bootstraps_match_a_brute_force_resampling_of_the_pairs() -> None:
    crossed, crossed_means = check_against_brute_force(crossed=True)
    cell, cell_means = check_against_brute_force(crossed=False)
    # and the two schemes differ by more than that error: the check can tell them apart
    assert crossed_means.std() > 1.3 * cell_means.std()
    assert crossed.boot_ci_high - crossed.boot_ci_low > 1.3 * (cell.boot_ci_high - cell.boot_ci_low)


def test_crossed_bootstrap_covers_with_model_and_task_effects_where_the_cell_bootstrap_does_not() -> None:
    # 150 studies of 6 models x 5 tasks x 40 pairs; sd 0.06 between models, 0.06 between tasks,
    # 0.02 model x task. Binomial SE of a coverage share near 0.95 over 150 studies: 0.018.
    rng = np.random.default_rng(2)
    pairs = planted_crossed_studies(rng, 150, 6, 5, 40, mean=0.55, sd_model=0.06, sd_task=0.06, sd_cell=0.02)
    coverage = {}
    for method in ("crossed", "cell"):
        agg = aggregate_win_rates(pairs, comparison=("study",), n_boot=300, seed=1, method=method)
        assert agg["boot_reliable"].all()
        coverage[method] = ((agg.boot_ci_low <= 0.55) & (agg.boot_ci_high >= 0.55)).mean()
    # crossed: within 3 SE of 95% (measured 0.93-0.94 at several seeds; bench/bootstrap_coverage.py)
    assert 0.95 - 3 * 0.018 <= coverage["crossed"] <= 0.995, coverage
    # cell: treats the 30 cells as independent and misses the shared model/task effects
    assert coverage["cell"] <= 0.88, coverage


def test_auto_is_crossed_over_models_and_tasks_and_cell_over_one_task() -> None:
    rng = np.random.default_rng(5)
    both = crossed_pairs(rng, 6, 5).assign(contrast="both")
    one_task = crossed_pairs(rng, 8, 1).assign(contrast="one_task")
    table = aggregate_win_rates(pd.concat([both, one_task]), n_boot=200).set_index("contrast")
    assert table.loc["both", "boot_method"] == "crossed"
    assert table.loc["both", "boot_levels"] == "model=6, task=5"
    assert table.loc["one_task", "boot_method"] == "cell"
    assert table.loc["one_task", "boot_resampled"] == "cells, pairs"
    # the crossed interval is wider: it carries the model and task effects
    cell = aggregate_win_rates(both, n_boot=200, method="cell").iloc[0]
    assert table.loc["both", "boot_ci_high"] - table.loc["both", "boot_ci_low"] > cell.boot_ci_high - cell.boot_ci_low


def test_few_levels_or_a_degenerate_interval_is_withheld_with_the_reason() -> None:
    four_at_one = pd.DataFrame({"model": [f"m{i}" for i in range(4)] * 5, "task": "t", "contrast": "c", "winner": "a"})
    row = aggregate_win_rates(four_at_one, n_boot=200).iloc[0]
    assert row.equal_cell_win_rate == 1.0 and not row.boot_reliable
    assert np.isnan(row.boot_ci_low) and np.isnan(row.boot_ci_high)
    assert "only 4 cell level(s)" in row.boot_note
    # enough cells, but every pair won by side a: the interval would be 1.000-1.000
    six_at_one = pd.DataFrame({"model": [f"m{i}" for i in range(6)] * 5, "task": "t", "contrast": "c", "winner": "a"})
    row = aggregate_win_rates(six_at_one, n_boot=200).iloc[0]
    assert not row.boot_reliable and np.isnan(row.boot_ci_low) and "every replicate gives 1.000" in row.boot_note
    # 7 models x 4 tasks: crossed, but 4 tasks are too few to generalise over
    rng = np.random.default_rng(3)
    row = aggregate_win_rates(crossed_pairs(rng, 7, 4).assign(contrast="c"), n_boot=200).iloc[0]
    assert row.boot_method == "crossed" and not row.boot_reliable and "only 4 task level(s)" in row.boot_note
    # one cell: the crossed bootstrap has no model or task to resample, only pairs
    one_cell = crossed_pairs(rng, 1, 1, pairs=60).assign(contrast="c")
    row = aggregate_win_rates(one_cell, n_boot=200, method="crossed").iloc[0]
    assert not row.boot_reliable and np.isnan(row.boot_ci_low) and "a single cell" in row.boot_note
    # ... unless the caller lowers the threshold explicitly
    row = aggregate_win_rates(crossed_pairs(rng, 7, 4).assign(contrast="c"), n_boot=200, min_levels=4).iloc[0]
    assert row.boot_reliable and row.boot_ci_low < row.equal_cell_win_rate < row.boot_ci_high


def test_bootstrap_is_seeded_and_bad_options_are_named() -> None:
    rng = np.random.default_rng(8)
    pairs = crossed_pairs(rng, 5, 5).assign(contrast="c")
    first = aggregate_win_rates(pairs, n_boot=300, seed=3)
    assert first.equals(aggregate_win_rates(pairs, n_boot=300, seed=3))
    assert not first.equals(aggregate_win_rates(pairs, n_boot=300, seed=4))
    # a comparison's interval does not depend on the other comparisons in the frame
    with_another = aggregate_win_rates(pd.concat([pairs.assign(contrast="a_first"), pairs]), n_boot=300, seed=3)
    assert with_another.set_index("contrast").loc["c", "boot_ci_low"] == first.iloc[0].boot_ci_low
    with pytest.raises(FrameError, match="bootstrap method 'two-way'"):
        aggregate_win_rates(pairs, method="two-way")
    with pytest.raises(FrameError, match="must be cell columns"):
        aggregate_win_rates(pairs, factors=("judge",))


def wilson_formula(k: float, n: float, level: float) -> tuple[float, float]:
    """Wilson (1927) score interval, written out."""
    z = stats.norm.ppf(1 - (1 - level) / 2)
    p = k / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return centre - half, centre + half


def test_wilson_intervals_per_cell_family_wise_and_pooled_match_the_score_formula() -> None:
    pairs = pd.DataFrame({
        "model": ["m1"] * 20 + ["m2"] * 9 + ["m3"] * 5, "task": "t", "contrast": "c",
        "winner": ["a"] * 14 + ["b"] * 4 + ["tie"] * 2 + ["a"] * 9 + ["a"] * 2 + ["b"] * 3,
    })
    table = win_rates(pairs, alpha=0.05).set_index("model")
    for model, (k, n) in {"m1": (14, 18), "m2": (9, 9), "m3": (2, 5)}.items():
        assert (table.loc[model, "wilson_low"], table.loc[model, "wilson_high"]) == pytest.approx(
            wilson_formula(k, n, 0.95), abs=1e-12)
        assert (table.loc[model, "fw_wilson_low"], table.loc[model, "fw_wilson_high"]) == pytest.approx(
            wilson_formula(k, n, 1 - 0.05 / 3), abs=1e-12)
    pooled = pooled_win_rate(pairs).iloc[0]
    assert (pooled.pooled_wilson_low, pooled.pooled_wilson_high) == pytest.approx(wilson_formula(25, 32, 0.95), abs=1e-12)
    exact = stats.binomtest(25, 32).proportion_ci(0.95, method="exact")  # and the pooled Clopper-Pearson
    assert (pooled.pooled_ci_low, pooled.pooled_ci_high) == pytest.approx((exact.low, exact.high), rel=1e-7)
    # the pooled exact test under a one-sided alternative, per comparison
    both = pd.concat([pairs, pairs.assign(contrast="d")])
    sided = pooled_win_rate(both, alternative={"c": "greater"}).set_index("contrast")
    assert sided.loc["c", "pooled_alternative"] == "greater" and sided.loc["d", "pooled_alternative"] == "two-sided"
    assert sided.loc["c", "pooled_p_value"] == pytest.approx(stats.binomtest(25, 32, 0.5, "greater").pvalue, rel=1e-12)
    assert sided.loc["d", "pooled_p_value"] == pytest.approx(stats.binomtest(25, 32, 0.5).pvalue, rel=1e-12)
    # at 9 of 9 Wilson's lower bound is above Clopper-Pearson's (CP is the more conservative)
    assert table.loc["m2", "wilson_low"] > table.loc["m2", "ci95_low"]


def test_one_sided_tests_and_holm_over_one_sided_p_match_scipy_and_statsmodels() -> None:
    rng = np.random.default_rng(4)
    rows = []
    for i, rate in enumerate([0.62, 0.58, 0.5, 0.4]):
        n = 60
        rows.append(pd.DataFrame({"model": f"m{i}", "task": "t", "winner": rng.choice(["a", "b"], n, p=[rate, 1 - rate])}))
    base = pd.concat(rows)
    pairs = pd.concat([base.assign(contrast="exhort_vs_neutral"), base.assign(contrast="other")])
    table = win_rates(pairs, alternative={"exhort_vs_neutral": "greater"})
    directional = table[table.contrast == "exhort_vs_neutral"]
    two_sided = table[table.contrast == "other"]
    expected_p = [stats.binomtest(int(k), int(n), 0.5, alternative="greater").pvalue
                  for k, n in zip(directional.n_a, directional.n)]
    np.testing.assert_allclose(directional.p_value, expected_p, rtol=1e-12)
    np.testing.assert_allclose(directional.p_holm, multipletests(expected_p, method="holm")[1], rtol=1e-12)
    assert (directional.alternative == "greater").all() and (two_sided.alternative == "two-sided").all()
    expected_two = [stats.binomtest(int(k), int(n), 0.5).pvalue for k, n in zip(two_sided.n_a, two_sided.n)]
    np.testing.assert_allclose(two_sided.p_value, expected_two, rtol=1e-12)
    # significance states its direction; a one-sided "greater" test never finds side b
    assert set(table["direction"]) <= {"a", "b", ""}
    assert (table.loc[table.significant_holm, "direction"] != "").all()
    assert (directional["direction"] != "b").all()
    with pytest.raises(FrameError, match="alternative"):
        win_rates(pairs, alternative="bigger")


def test_a_planned_family_keeps_empty_cells_in_m_and_in_holm() -> None:
    # planned: 2 models x 3 tasks; m2/t3 has only ties, m1/t3 was never run
    counts = {("m1", "t1"): (30, 10), ("m1", "t2"): (22, 18), ("m2", "t1"): (25, 15), ("m2", "t2"): (12, 8)}
    rows = [pd.DataFrame({"model": m, "task": t, "winner": ["a"] * a + ["b"] * b}) for (m, t), (a, b) in counts.items()]
    rows.append(pd.DataFrame({"model": ["m2"] * 3, "task": "t3", "winner": "tie"}))
    pairs = pd.concat(rows).assign(contrast="c")
    planned = pd.DataFrame([(m, t) for m in ("m1", "m2") for t in ("t1", "t2", "t3")], columns=["model", "task"])
    planned["contrast"] = "c"
    table = win_rates(pairs, family="planned", planned=planned).set_index(["model", "task"])
    assert len(table) == 6 and (table["m"] == 6).all() and (table["family"] == "planned").all()
    assert table.loc[("m1", "t3"), "n_total"] == 0 and np.isnan(table.loc[("m1", "t3"), "p_holm"])
    p = [stats.binomtest(a, a + b, 0.5).pvalue for a, b in counts.values()]
    expected = multipletests(p + [1.0, 1.0], method="holm")[1][:4]
    observed = [table.loc[key, "p_holm"] for key in counts]
    np.testing.assert_allclose(observed, expected, rtol=1e-12)
    assert table.loc[("m1", "t1"), "fw_level"] == pytest.approx(1 - 0.05 / 6)
    # the default family counts only the four testable cells, so its Holm p is smaller
    testable = win_rates(pairs).set_index(["model", "task"])
    assert (testable["m"].dropna() == 4).all()
    assert testable.loc[("m1", "t1"), "p_holm"] < table.loc[("m1", "t1"), "p_holm"]
    # without a list, the plan is every model x task seen in the contrast
    crossing = win_rates(pairs, family="planned")
    assert len(crossing) == 6 and (crossing["m"] == 6).all()


def test_net_score_bootstrap_stays_in_bounds_and_matches_a_brute_force() -> None:
    values = np.array([1, 1, 0, 0, -1], float)
    pairs = pd.DataFrame({"model": "m", "task": "t", "contrast": "c", "winner": ["a", "a", "tie", "tie", "b"]})
    t_row = net_scores(pairs, ci="t").iloc[0]
    assert (t_row.net_ci_low, t_row.net_ci_high) == pytest.approx((-0.839, 1.239), abs=1e-3)  # leaves [-1, 1]
    row = net_scores(pairs, n_boot=20000, seed=1).iloc[0]
    assert row.net_ci_method == "bootstrap" and -1 <= row.net_ci_low <= row.net_score <= row.net_ci_high <= 1
    rng = np.random.default_rng(2)
    brute = rng.choice(values, size=(20000, len(values))).mean(axis=1)
    assert (row.net_ci_low, row.net_ci_high) == pytest.approx(tuple(np.percentile(brute, [2.5, 97.5])), abs=0.01)
    # a larger cell: the bootstrap agrees with the t-interval when the normal approximation is good
    many = pd.DataFrame({"model": "m", "task": "t", "contrast": "c", "winner": ["a"] * 120 + ["b"] * 70 + ["tie"] * 30})
    boot, t_int = net_scores(many, seed=3).iloc[0], net_scores(many, ci="t").iloc[0]
    assert boot.net_ci_low == pytest.approx(t_int.net_ci_low, abs=0.02)
    assert boot.net_ci_high == pytest.approx(t_int.net_ci_high, abs=0.02)
    # every pair the same: resampling cannot give an interval
    same = net_scores(pairs.assign(winner="a")).iloc[0]
    assert same.net_score == 1 and np.isnan(same.net_ci_low)
