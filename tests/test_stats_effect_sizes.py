"""Net score, Cohen's h, Cohen's d for rubric scores, and ICC across judges."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats

from utility_gap.analysis.effect_sizes import (
    add_cohens_h,
    cohens_h,
    icc_from_matrix,
    judge_icc,
    net_scores,
    output_scores,
    rubric_effect_sizes,
    two_way_mean_squares,
)
from utility_gap.analysis.win_rates import FrameError, win_rates

# Shrout & Fleiss (1979), Table 2: 6 targets x 4 judges; published ICC(2,1) = .29, ICC(3,1) = .71
SHROUT_FLEISS = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]], float)


def planted_rubric(rng, n_pairs: int, shift: float, judges=("j1", "j2", "j3"), criteria=("clarity", "accuracy"),
                   judge_noise: float = 0.5, judge_bias=(0.0, 0.0, 0.0), model: str = "m") -> pd.DataFrame:
    """Outputs frame: each output has a latent quality (sd 1); side a is shifted by `shift`."""
    rows = []
    for p in range(n_pairs):
        item = rng.normal(0, 1)
        for side, offset in (("a", shift), ("b", 0.0)):
            quality = item + offset + rng.normal(0, 1)
            for j, bias in zip(judges, judge_bias):
                for c in criteria:
                    rows.append((f"{model}-{p}", model, "essay", "c", side, side, j, c, quality + bias + rng.normal(0, judge_noise)))
    return pd.DataFrame(rows, columns=["pair_key", "model", "task", "contrast", "side", "arm", "judge", "criterion", "score"])


def test_cohens_h_is_the_arcsine_difference():
    p = np.array([0.3, 0.5, 0.62, 0.76])
    np.testing.assert_allclose(cohens_h(p), 2 * np.arcsin(np.sqrt(p)) - 2 * np.arcsin(np.sqrt(0.5)))
    pairs = pd.DataFrame({"model": "m", "task": "t", "contrast": "c", "winner": ["a"] * 30 + ["b"] * 10})
    row = add_cohens_h(win_rates(pairs)).iloc[0]
    assert row.h_ci_low < row.cohens_h < row.h_ci_high
    # the interval is the arcsine transform of the exact (Clopper-Pearson) interval, computed by scipy here
    exact = stats.binomtest(30, 40).proportion_ci(0.95, method="exact")
    assert (row.h_ci_low, row.h_ci_high) == pytest.approx(tuple(cohens_h(np.array([exact.low, exact.high]))), rel=1e-7)
    assert row.cohens_h == pytest.approx(cohens_h(0.75))


def test_net_score_mean_and_t_interval():
    winners = ["a"] * 12 + ["b"] * 5 + ["tie"] * 3
    pairs = pd.DataFrame({"model": "m", "task": "t", "contrast": "c", "winner": winners})
    row = net_scores(pairs, ci="t").iloc[0]
    values = np.array([1] * 12 + [-1] * 5 + [0] * 3, float)
    assert row.net_score == pytest.approx(values.mean())
    low, high = stats.t.interval(0.95, len(values) - 1, loc=values.mean(), scale=stats.sem(values))
    assert (row.net_ci_low, row.net_ci_high) == pytest.approx((low, high))


def test_rubric_d_recovers_a_planted_shift_and_not_a_null():
    rng = np.random.default_rng(5)
    outputs = pd.concat([planted_rubric(rng, 150, 0.5, model="shifted"), planted_rubric(rng, 150, 0.0, model="null")])
    table = rubric_effect_sizes(outputs, by=("model",), n_boot=800, seed=2).set_index("model")
    # independent check of the point estimates from the per-output means
    per = outputs.groupby(["model", "pair_key", "side"])["score"].mean().unstack("side")
    for model in ("shifted", "null"):
        diff = per.loc[model, "a"] - per.loc[model, "b"]
        assert table.loc[model, "d_z"] == pytest.approx(diff.mean() / diff.std(ddof=1))
        assert table.loc[model, "n_pairs"] == 150
    shifted, null = table.loc["shifted"], table.loc["null"]
    # planted: quality sd ~ sqrt(1 + noise), so d_av ~ 0.5 / sqrt(1 + 1 + 0.5^2/6) ~ 0.35
    assert shifted.d_av_ci_low > 0 and shifted.t_p_value < 0.01
    assert shifted.d_av_ci_low < 0.5 / np.sqrt(2.04) < shifted.d_av_ci_high
    assert null.d_z_ci_low < 0 < null.d_z_ci_high and null.t_p_value > 0.05


def test_missing_scores_are_counted_and_incomplete_pairs_left_out():
    rng = np.random.default_rng(1)
    outputs = planted_rubric(rng, 10, 0.0)
    outputs.loc[(outputs.pair_key == "m-0") & (outputs.side == "b"), "score"] = None
    outputs.loc[(outputs.pair_key == "m-1") & (outputs.judge == "j1") & (outputs.side == "a"), "score"] = None
    per = output_scores(outputs).set_index(["pair_key", "side"])
    assert per.loc[("m-0", "b"), "n_missing"] == 6 and np.isnan(per.loc[("m-0", "b"), "score"])
    assert per.loc[("m-1", "a"), "n_scores"] == 4
    row = rubric_effect_sizes(outputs, by=(), n_boot=200).iloc[0]
    assert row.n_pairs == 9 and row.n_incomplete == 1
    with pytest.raises(FrameError, match="side"):
        output_scores(outputs.assign(side="left"))


def test_icc_matches_shrout_fleiss_and_anova_mean_squares():
    result = icc_from_matrix(SHROUT_FLEISS)
    assert result["icc2_1"] == pytest.approx(0.29, abs=0.005)
    assert result["icc3_1"] == pytest.approx(0.71, abs=0.005)
    assert result["icc2_1_ci_low"] < result["icc2_1"] < result["icc2_1_ci_high"]
    assert result["icc3_1_ci_low"] < result["icc3_1"] < result["icc3_1_ci_high"]
    # mean squares against a statsmodels two-way ANOVA of the same table
    long = pd.DataFrame([(t, j, SHROUT_FLEISS[t, j]) for t in range(6) for j in range(4)], columns=["target", "judge", "y"])
    anova = sm.stats.anova_lm(smf.ols("y ~ C(target) + C(judge)", data=long).fit())
    ms = two_way_mean_squares(SHROUT_FLEISS)
    assert ms.ms_rows == pytest.approx(anova.loc["C(target)", "mean_sq"])
    assert ms.ms_cols == pytest.approx(anova.loc["C(judge)", "mean_sq"])
    assert ms.ms_error == pytest.approx(anova.loc["Residual", "mean_sq"])


def test_judge_icc_recovers_planted_reliability_and_judge_bias_lowers_icc2():
    rng = np.random.default_rng(8)
    # latent sd 1 (+ item sd 1 shared by a and b) and judge noise sd 0.5 averaged over 2
    # criteria: per-judge error variance 0.125, true-score variance ~2 -> ICC(3,1) ~ 0.94
    outputs = planted_rubric(rng, 100, 0.0, judge_bias=(0.0, 1.0, -1.0))
    row = judge_icc(outputs).iloc[0]
    assert row.n_targets == 200 and row.n_judges == 3 and row.n_dropped == 0
    assert row.icc3_1_ci_low < 2 / 2.125 < row.icc3_1_ci_high
    assert row.icc2_1 < row.icc3_1 - 0.1  # the planted judge offsets cost absolute agreement
    per_criterion = judge_icc(outputs, by=("criterion",))
    assert list(per_criterion["criterion"]) == ["accuracy", "clarity"]


def test_icc_intervals_cover_the_planted_icc():
    # targets ~ N(0, 1), random judge offsets ~ N(0, 0.5^2), error ~ N(0, 0.7^2):
    # ICC(2,1) = 1 / (1 + 0.25 + 0.49); ICC(3,1) (consistency) = 1 / (1 + 0.49)
    rng = np.random.default_rng(12)
    icc2_true, icc3_true = 1 / 1.74, 1 / 1.49
    hits2 = hits3 = 0
    reps = 300
    for _ in range(reps):
        matrix = rng.normal(0, 1, (30, 1)) + rng.normal(0, 0.5, (1, 4)) + rng.normal(0, 0.7, (30, 4))
        r = icc_from_matrix(matrix)
        hits2 += r["icc2_1_ci_low"] <= icc2_true <= r["icc2_1_ci_high"]
        hits3 += r["icc3_1_ci_low"] <= icc3_true <= r["icc3_1_ci_high"]
    band = 2.5 * np.sqrt(0.05 * 0.95 / reps)
    assert abs(hits3 / reps - 0.95) <= band, hits3 / reps
    assert abs(hits2 / reps - 0.95) <= band, hits2 / reps  # Satterthwaite df: approximate, close here
