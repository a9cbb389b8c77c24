"""Win rates, exact tests, family-wise CIs, Holm, exclusions and equal-cell aggregates.

Planted truth is simulated with numpy (seeded) in the judged-pairs frame's shape.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest
from statsmodels.stats.multitest import multipletests

from utility_gap.analysis.power_planner import plan_power
from utility_gap.analysis.win_rates import (
    FrameError,
    aggregate_win_rates,
    exclude_flagged,
    pooled_win_rate,
    win_rates,
)


def planted_pairs(rng: np.random.Generator, cells: dict, ties: float = 0.1, contrast: str = "c", extra: dict | None = None) -> pd.DataFrame:
    """One row per judged pair; `cells` maps (model, task) -> (true win rate, judged pairs)."""
    columns: dict[str, list] = {"model": [], "task": [], "winner": []}
    for (model, task), (rate, n_pairs) in cells.items():
        winners = rng.choice(["a", "b", "tie"], size=n_pairs, p=[(1 - ties) * rate, (1 - ties) * (1 - rate), ties])
        columns["model"].append(np.repeat(model, n_pairs))
        columns["task"].append(np.repeat(task, n_pairs))
        columns["winner"].append(winners)
    frame = pd.DataFrame({k: np.concatenate(v) for k, v in columns.items()})
    return frame.assign(contrast=contrast, **(extra or {}))


def planted_studies(rng: np.random.Generator, n_studies: int, make_cells, ties: float = 0.1) -> pd.DataFrame:
    """`n_studies` independent planted frames stacked with a `study` column."""
    frames = [planted_pairs(rng, make_cells(), ties) for _ in range(n_studies)]
    sizes = [len(f) for f in frames]
    return pd.concat(frames, ignore_index=True).assign(study=np.repeat(np.arange(n_studies), sizes))


def test_counts_exclude_ties_from_the_denominator():
    pairs = pd.DataFrame({
        "model": ["m"] * 10, "task": ["t"] * 10, "contrast": ["c"] * 10,
        "winner": ["a"] * 5 + ["b"] * 2 + ["tie"] * 3,
    })
    row = win_rates(pairs).iloc[0]
    assert (row.n_a, row.n_b, row.n_tie, row.n_total, row.n) == (5, 2, 3, 10, 7)
    assert row.win_rate == pytest.approx(5 / 7)
    assert row.tie_share == pytest.approx(0.3)
    assert row.p_value == pytest.approx(binomtest(5, 7, 0.5).pvalue)
    assert row.m == 1


def test_familywise_ci_and_holm_equal_scipy_and_statsmodels_on_the_same_counts():
    rng = np.random.default_rng(7)
    cells_c1 = {(f"m{i}", t): (0.5 + 0.04 * i, 40 + 13 * i) for i in range(3) for t in ("essay", "translation")}
    cells_c2 = {(f"m{i}", "essay"): (0.6, 25 + 5 * i) for i in range(4)}
    pairs = pd.concat([planted_pairs(rng, cells_c1, contrast="c1"), planted_pairs(rng, cells_c2, contrast="c2")])
    table = win_rates(pairs, alpha=0.05)
    for contrast, group in table.groupby("contrast"):
        m = len(group)
        assert (group["m"] == m).all()
        sub = pairs[pairs["contrast"] == contrast]
        direct_p, direct_ci = [], []
        for _, row in group.iterrows():
            cell = sub[(sub["model"] == row.model) & (sub["task"] == row.task)]
            k, n = int((cell.winner == "a").sum()), int(cell.winner.isin(["a", "b"]).sum())
            test = binomtest(k, n, 0.5)
            direct_p.append(test.pvalue)
            direct_ci.append(test.proportion_ci(confidence_level=1 - 0.05 / m, method="exact"))
        np.testing.assert_allclose(group["p_value"], direct_p, rtol=1e-10)
        np.testing.assert_allclose(group["fw_ci_low"], [c.low for c in direct_ci], rtol=1e-7, atol=1e-10)
        np.testing.assert_allclose(group["fw_ci_high"], [c.high for c in direct_ci], rtol=1e-7, atol=1e-10)
        np.testing.assert_allclose(group["p_holm"], multipletests(direct_p, method="holm")[1], rtol=1e-10)
        # the family-wise interval is wider than the per-test one
        assert (group["fw_ci_low"] <= group["ci95_low"]).all() and (group["fw_ci_high"] >= group["ci95_high"]).all()


def test_planted_nulls_reject_at_the_nominal_rate():
    # 200 planted-null studies x 10 cells, 300 judged pairs per cell with 10% ties, so about
    # 270 decisive pairs per test. At that n the exact two-sided binomial test's true size is
    # about 4.3% (it is conservative: at n = 50 it would be ~3.3%), inside the 5% +- 2% band;
    # 2,000 tests give a standard error of ~0.5 points.
    rng = np.random.default_rng(2024)
    pairs = planted_studies(rng, 200, lambda: {(f"m{i}", "essay"): (0.5, 300) for i in range(10)})
    table = win_rates(pairs, comparison=("study", "contrast"))
    assert len(table) == 2000 and (table["m"] == 10).all()
    rate = (table["p_value"] <= 0.05).mean()
    assert 0.03 <= rate <= 0.07, rate
    by_study = table.groupby("study")
    fwer = by_study["significant_holm"].any().mean()
    assert fwer <= 0.05 + 2 * np.sqrt(0.05 * 0.95 / 200), fwer
    covered = by_study.apply(lambda g: ((g.fw_ci_low <= 0.5) & (g.fw_ci_high >= 0.5)).all(), include_groups=False)
    assert covered.mean() >= 0.95 - 2 * np.sqrt(0.05 * 0.95 / 200)


def test_planted_effect_is_significant_after_holm_and_nulls_are_not():
    plan = plan_power(0.12, cells=8, ties=0.1)  # pairs per cell for 80% power at alpha/8
    rng = np.random.default_rng(11)
    effect_cells = {(f"m{i}", "essay"): (0.62, 2 * plan.pairs_per_cell) for i in range(6)}
    null_cells = {(f"m{i}", "translation"): (0.5, 2 * plan.pairs_per_cell) for i in range(2)}
    table = win_rates(planted_pairs(rng, {**effect_cells, **null_cells}))
    assert (table["m"] == 8).all()
    planted = table[table.task == "essay"]
    assert planted["significant_holm"].all()
    assert (planted["fw_ci_low"] > 0.5).all() and (planted["fw_ci_low"] <= 0.62).all()
    assert not table[table.task == "translation"]["significant_holm"].any()


def test_exclusion_counts_each_flag_and_drops_any():
    pairs = pd.DataFrame({
        "winner": ["a", "b", "a", "tie", "a"],
        "flag_empty": [True, False, False, False, None],
        "flag_truncated": [True, True, False, False, False],
        "flag_refusal": [False, False, False, False, False],
        "flag_leak": [False, False, False, True, False],
    })
    ex = exclude_flagged(pairs)
    counts = ex.counts.set_index("flag")["n_flagged"].to_dict()
    assert counts == {"empty": 1, "truncated": 2, "refusal": 0, "leak": 1, "any": 3}
    assert len(ex.kept) == 2 and len(ex.excluded) == 3 and ex.n_input == 5
    only_leak = exclude_flagged(pairs, flags=["leak"])
    assert len(only_leak.kept) == 4
    with pytest.raises(FrameError, match="unknown exclusion flag"):
        exclude_flagged(pairs, flags=["typo"])
    with pytest.raises(FrameError, match="flag_leak"):
        exclude_flagged(pairs.drop(columns="flag_leak"))


def test_bad_winner_and_missing_column_are_named():
    pairs = pd.DataFrame({"model": ["m"], "task": ["t"], "contrast": ["c"], "winner": ["A"]})
    with pytest.raises(FrameError, match="winner"):
        win_rates(pairs)
    with pytest.raises(FrameError, match=r"\['task'\]"):
        win_rates(pairs.drop(columns="task").assign(winner="a"))


def test_missing_grouping_values_keep_their_pairs():
    pairs = pd.DataFrame({
        "model": "m", "task": "t", "contrast": "c", "domain": ["countries", "countries", None, None, None],
        "winner": ["a", "b", "a", "a", "tie"],
    })
    table = win_rates(pairs, cell=("model", "task", "domain"))
    assert table["n_total"].sum() == 5 and len(table) == 2 and table["domain"].isna().sum() == 1
    assert aggregate_win_rates(pairs, cell=("model", "task", "domain"), n_boot=200).loc[0, "n_cells"] == 2


def test_empty_cell_is_reported_but_not_counted_in_m():
    pairs = pd.DataFrame({
        "model": ["m1"] * 4 + ["m2"] * 2, "task": "t", "contrast": "c",
        "winner": ["a", "a", "b", "tie", "tie", "tie"],
    })
    table = win_rates(pairs).set_index("model")
    assert table.loc["m2", "n"] == 0 and np.isnan(table.loc["m2", "win_rate"])
    assert table.loc["m1", "m"] == 1 and not table.loc["m2", "significant_holm"]


def test_equal_cell_mean_and_pooled_rate():
    rng = np.random.default_rng(3)
    cells = {("m1", "essay"): (0.7, 400), ("m2", "essay"): (0.5, 40), ("m3", "essay"): (0.55, 100)}
    pairs = planted_pairs(rng, cells)
    agg = aggregate_win_rates(pairs, n_boot=1000, seed=5, min_levels=3).iloc[0]
    per_cell = win_rates(pairs)
    assert agg.n_cells == 3 and agg.boot_method == "cell" and agg.boot_reliable
    assert agg.equal_cell_win_rate == pytest.approx(per_cell["win_rate"].mean())
    assert agg.pooled_win_rate == pytest.approx(per_cell["n_a"].sum() / per_cell["n"].sum())
    assert agg.boot_ci_low < agg.equal_cell_win_rate < agg.boot_ci_high
    nets = [(g.winner.map({"a": 1, "b": -1, "tie": 0})).mean() for _, g in pairs.groupby("model")]
    assert agg.equal_cell_net_score == pytest.approx(np.mean(nets))
    again = aggregate_win_rates(pairs, n_boot=1000, seed=5, min_levels=3).iloc[0]
    assert again.boot_ci_low == agg.boot_ci_low  # seeded
    pooled = pooled_win_rate(pairs).iloc[0]
    assert pooled.pooled_ci_low < pooled.pooled_win_rate < pooled.pooled_ci_high


def test_cell_bootstrap_covers_the_planted_mean_of_cells():
    # Each study draws 12 cells whose true win rates vary around 0.55 (sd 0.04); the
    # two-stage bootstrap interval should cover 0.55 in about 95% of studies.
    rng = np.random.default_rng(99)

    def cells() -> dict:
        rates = np.clip(rng.normal(0.55, 0.04, size=12), 0.05, 0.95)
        return {(f"m{i}", "essay"): (r, 80) for i, r in enumerate(rates)}

    agg = aggregate_win_rates(planted_studies(rng, 120, cells), comparison=("study",), n_boot=400, seed=1)
    coverage = ((agg.boot_ci_low <= 0.55) & (agg.boot_ci_high >= 0.55)).mean()
    assert coverage >= 0.88, coverage
