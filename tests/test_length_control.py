"""Length control and feature deltas recover what was planted, and count what is missing.

Planted: `exhort_mid` only pads its texts (3 sentences more on average, no quality),
`exhort` adds 0.6 sd of quality at the same length distribution, and every text's
length varies by 3 sentences (so some pairs have side b longer). Judges like length
(0.6 quality units per doubling). Length control must remove the padding arm's raw
advantage and keep the quality arm's.
"""

from __future__ import annotations

import re
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.multitest import multipletests

from planted_length import planted_features
from utility_gap.analysis.length_control import (
    feature_deltas,
    judge_length_bias,
    length_control_verdict,
    length_controlled_win_rates,
    paired_features,
)
from utility_gap.analysis.text_features import FEATURES

WRITER = {"shifts": "exhort:0.6", "length_shifts": "exhort_mid:3", "length_sd": 3.0}
CONTRASTS = [("exhort_mid", "neutral"), ("exhort", "neutral")]


@pytest.fixture(scope="module")
def planted() -> pd.DataFrame:
    pairs, features = planted_features(
        CONTRASTS, items=120, repeats=2, writer=WRITER, judge={"judge_sd": 0.5, "length_bias": 0.6}, judges=1, seed=0
    )
    return paired_features(pairs, features)


def lc_by_contrast(paired: pd.DataFrame) -> pd.DataFrame:
    return length_controlled_win_rates(paired, by=("contrast",)).set_index("contrast")


def test_length_only_arm_wins_raw_but_not_at_equal_length(planted: pd.DataFrame) -> None:
    row = lc_by_contrast(planted).loc["exhort_mid_vs_neutral"]
    assert row["n"] >= 150 and row["n_no_text"] == 0
    assert row["raw_ci_low"] > 0.6  # the judges reward the padding
    assert row["lc_ci_low"] < 0.5 < row["lc_ci_high"]  # ... and only the padding
    assert abs(row["lc_win_rate"] - 0.5) < 0.1
    assert row["length_slope_ci_low"] > 0  # longer wins, per doubling
    assert not row["extrapolated"]
    assert length_control_verdict(row).startswith("does not survive length control")


def test_quality_arm_keeps_its_effect_at_equal_length(planted: pd.DataFrame) -> None:
    row = lc_by_contrast(planted).loc["exhort_vs_neutral"]
    assert row["raw_ci_low"] > 0.6 and row["lc_ci_low"] > 0.6
    assert length_control_verdict(row).startswith("survives length control: side a")


def test_feature_deltas_show_the_padding_and_only_the_padding(planted: pd.DataFrame) -> None:
    deltas = feature_deltas(planted, by=("contrast",)).set_index(["contrast", "feature"])
    words_mid = deltas.loc[("exhort_mid_vs_neutral", "words")]
    words_top = deltas.loc[("exhort_vs_neutral", "words")]
    assert words_mid["ci_low"] > 15 and words_mid["d_z"] > 0.5  # ~3 sentences of ~10 words
    assert words_top["ci_low"] < 0 < words_top["ci_high"]  # quality came at the same length
    assert deltas.loc[("exhort_mid_vs_neutral", "sentences"), "mean_diff"] == pytest.approx(3, abs=0.6)
    assert set(deltas.index.get_level_values("feature")) == set(FEATURES)
    # every simulated text is one body paragraph and its quality marker: nothing to standardise, and it says so
    paragraphs = deltas.loc[("exhort_mid_vs_neutral", "paragraphs")]
    assert np.isnan(paragraphs["d_z"]) and paragraphs["note"] == "no difference in any pair"
    assert words_mid["note"] == ""
    shifted = planted.assign(headings_diff=1.0, headings_a=1.0, headings_b=0.0)
    constant = feature_deltas(shifted, by=("contrast",), features=("headings",)).iloc[0]
    assert np.isnan(constant["d_z"]) and constant["note"] == "the same difference in every pair"


def test_without_length_bias_the_padding_wins_nothing() -> None:
    pairs, features = planted_features(
        CONTRASTS[:1], items=120, repeats=2, writer=WRITER, judge={"judge_sd": 0.5}, judges=1, seed=0
    )
    row = lc_by_contrast(paired_features(pairs, features)).loc["exhort_mid_vs_neutral"]
    assert row["raw_ci_low"] < 0.5 < row["raw_ci_high"]
    assert row["length_slope_ci_low"] < 0 < row["length_slope_ci_high"]


# -- units ---------------------------------------------------------------------------


def toy_frames(n: int = 60, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(judged pairs, features): a wins with P = logistic(0.4 + 1.5 * length_diff)."""
    rng = np.random.default_rng(seed)
    items = np.repeat(np.arange(n // 3), 3)
    words_b = rng.integers(80, 160, n)
    words_a = np.round(words_b * 2 ** rng.normal(0.3, 0.6, n))
    x = np.log2((words_a + 1) / (words_b + 1))
    wins = rng.random(n) < 1 / (1 + np.exp(-(0.4 + 1.5 * x)))
    frame = pd.DataFrame(
        {"pair_key": [f"k{i}" for i in range(n)], "model": "m", "task": "essay", "item_id": [f"i{k}" for k in items],
         "contrast": "exhort_vs_neutral", "winner": np.where(wins, "a", "b")}
    )
    features = []
    for side, words in (("a", words_a), ("b", words_b)):
        for i, w in enumerate(words):
            features.append({"pair_key": f"k{i}", "side": side, "present": True, "empty": False,
                             **{f: float(w) if f == "words" else float(rng.normal()) for f in FEATURES}})
    return frame, pd.DataFrame(features)


def toy(n: int = 60, seed: int = 0) -> pd.DataFrame:
    return paired_features(*toy_frames(n, seed))


def test_feature_delta_interval_is_statsmodels_cluster_robust_and_paired_t_without_clusters() -> None:
    paired = toy()
    row = feature_deltas(paired, by=("contrast",)).set_index("feature").loc["words"]
    diff = paired["words_diff"].to_numpy()
    groups = pd.factorize(paired["item_id"])[0]
    ols = sm.OLS(diff, np.ones(len(diff))).fit(cov_type="cluster", cov_kwds={"groups": groups})
    g = len(np.unique(groups))
    crit = stats.t.ppf(0.975, g - 1)
    assert row["mean_diff"] == pytest.approx(diff.mean())
    assert row["ci_high"] - row["mean_diff"] == pytest.approx(crit * ols.bse[0])
    assert row["d_z"] == pytest.approx(diff.mean() / diff.std(ddof=1))
    # Holm over the features of the group: one family per contrast
    table = feature_deltas(paired, by=("contrast",))
    assert list(table["p_holm"]) == pytest.approx(list(multipletests(table["p_value"], method="holm")[1]))
    assert (table["p_holm"] >= table["p_value"]).all() and table.loc[table["feature"] == "words", "p_holm"].iloc[0] < 0.05
    # one pair per cluster: exactly the paired t-test
    single = feature_deltas(paired, by=("contrast",), cluster=None).set_index("feature").loc["words"]
    t = stats.ttest_1samp(diff, 0.0)
    assert single["p_value"] == pytest.approx(t.pvalue)
    assert (single["ci_low"], single["ci_high"]) == pytest.approx(tuple(t.confidence_interval(0.95)))


def test_length_controlled_rate_is_the_logistic_intercept() -> None:
    paired = toy(n=300, seed=2)
    row = length_controlled_win_rates(paired, by=("contrast",)).iloc[0]
    y = (paired["winner"] == "a").astype(float)
    fit = sm.Logit(y, sm.add_constant(paired["length_diff"])).fit(
        disp=0, cov_type="cluster", cov_kwds={"groups": pd.factorize(paired["item_id"])[0]}
    )
    assert row["lc_win_rate"] == pytest.approx(1 / (1 + np.exp(-fit.params["const"])))
    assert row["length_slope"] == pytest.approx(fit.params["length_diff"])
    assert row["raw_win_rate"] == pytest.approx(y.mean())
    assert row["lc_ci_low"] < row["lc_win_rate"] < row["lc_ci_high"]
    # other feature differences can join the model
    both = length_controlled_win_rates(paired, by=("contrast",), covariates=("length", "mattr")).iloc[0]
    assert both["covariates"] == "length_diff,mattr_diff" and np.isfinite(both["lc_win_rate"])
    with pytest.raises(ValueError, match="Unknown covariate 'bogus'"):
        length_controlled_win_rates(paired, covariates=("bogus",))


def test_missing_texts_and_ties_are_counted_not_fitted() -> None:
    pairs, features = toy_frames(n=60)
    pairs.loc[pairs.index[5:8], "winner"] = "tie"
    lost = features["pair_key"].isin(["k0", "k1", "k2"]) & (features["side"] == "a")
    features = features[~lost]  # three pairs have no row for side a
    blank = features["pair_key"].isin(["k3", "k4"]) & (features["side"] == "b")
    features.loc[blank, "present"] = False  # two have a row without the output
    features.loc[blank, list(FEATURES)] = np.nan
    paired = paired_features(pairs, features)
    assert len(paired) == 60 and int((~paired["texts_present"]).sum()) == 5
    row = length_controlled_win_rates(paired, by=("contrast",)).iloc[0]
    assert (row["n_pairs"], row["n_tie"], row["n_no_text"], row["n"]) == (60, 3, 5, 52)
    words = feature_deltas(paired, by=("contrast",)).set_index("feature").loc["words"]
    assert (words["n"], words["n_missing"]) == (55, 5)


def test_no_fit_when_it_cannot_be_estimated() -> None:
    paired = toy(n=60)
    few = length_controlled_win_rates(paired.head(6), by=("contrast",)).iloc[0]
    assert np.isnan(few["lc_win_rate"]) and "only 6 decisive pairs" in few["note"]
    assert np.isfinite(few["raw_ci_low"])
    swept = paired.assign(winner="a")
    row = length_controlled_win_rates(swept, by=("contrast",)).iloc[0]
    assert row["raw_win_rate"] == 1 and row["raw_ci_low"] > 0.9 and "every pair" in row["note"]
    assert length_control_verdict(row).startswith("not length-controlled")
    equal = paired.assign(length_diff=0.25)
    row = length_controlled_win_rates(equal, by=("contrast",)).iloc[0]
    assert "does not vary" in row["note"] and np.isnan(row["lc_win_rate"])
    longer = paired.assign(length_diff=paired["length_diff"].abs() + 0.1)
    assert length_controlled_win_rates(longer, by=("contrast",)).iloc[0]["extrapolated"]


def separated(winner_of) -> pd.Series:
    """The by-contrast row of toy pairs whose winner is `winner_of(length_diff)`."""
    paired = toy(n=90, seed=3)
    paired["winner"] = [winner_of(x) for x in paired["length_diff"]]
    return length_controlled_win_rates(paired, by=("contrast",)).iloc[0]


def test_separation_says_whether_length_alone_decides_or_one_side_wins_at_equal_length() -> None:
    longer = separated(lambda x: "a" if x > 0 else "b")  # the longer text always won
    assert longer["separation"] == "longer" and np.isnan(longer["lc_win_rate"])
    assert "the longer text won every decisive pair" in longer["note"]
    assert length_control_verdict(longer).startswith("not length-controlled: the longer text won every decisive pair")
    shorter = separated(lambda x: "a" if x < 0 else "b")
    assert shorter["separation"] == "shorter"
    # side a won every pair down to a ~1.9x shorter text: it wins at equal length, whatever length does
    kept = separated(lambda x: "a" if x > -0.9 else "b")
    assert kept["separation"] == "a" and kept["raw_ci_low"] > 0.5
    ratio = re.search(r"side a won every decisive pair in which it was the shorter text by up to a length ratio of "
                      r"([\d.]+) \((\d+) such", kept["note"])
    shorter_wins = (kept_pairs := toy(n=90, seed=3))[(kept_pairs["length_diff"] < 0) & (kept_pairs["length_diff"] > -0.9)]
    assert ratio and 1 < float(ratio[1]) <= 2**0.9 and int(ratio[2]) == len(shorter_wins) > 5
    assert length_control_verdict(kept).startswith("survives length control: side a won every decisive pair at equal")
    beaten = separated(lambda x: "a" if x > 1.2 else "b")  # side b won even when a was up to ~2.2x longer
    assert beaten["separation"] == "b" and "side b won every decisive pair in which it was the shorter" in beaten["note"]
    assert "side b won every decisive pair at equal length" in length_control_verdict(beaten)
    # an overlap anywhere: no separation, a finite fit
    rng = np.random.default_rng(0)
    noisy = separated(lambda x: "a" if x + rng.normal(0, 0.5) > 0 else "b")
    assert noisy["separation"] == "" and np.isfinite(noisy["lc_win_rate"])


def test_judge_length_bias_counts_the_longer_side() -> None:
    lengths = pd.DataFrame({"pair_key": [f"p{i}" for i in range(40)], "words_a": [200] * 20 + [100] * 20,
                            "words_b": [100] * 20 + [104] * 20})  # the last 20 pairs: within 10%, not counted
    likes_long = ["a"] * 20 + ["b"] * 20
    coin = ["a", "b"] * 20
    verdicts = pd.DataFrame(
        [{"pair_key": f"p{i}", "judge": judge, "judge_verdict": v, "order": order}
         for judge, answers in (("long", likes_long), ("fair", coin)) for i, v in enumerate(answers)
         for order in ("ab", "ba")]
    )
    table = judge_length_bias(verdicts, lengths).set_index("judge")
    assert table.loc["long", "longer_pairs"] == 20 and table.loc["long", "longer_win_rate"] == 1.0
    assert table.loc["long", "longer_p"] < 1e-5
    assert table.loc["fair", "longer_win_rate"] == 0.5
    rubric = pd.DataFrame({"pair_key": [f"p{i}" for i in range(40) for _ in "ab"], "side": list("ab") * 40,
                           "score": [6.0, 6.2] * 10 + [8.0, 3.0] * 30})
    equal = judge_length_bias(verdicts, lengths, rubric=rubric).set_index("judge")
    assert equal.loc["long", "equal_rubric_pairs"] == 10 and equal.loc["long", "longer_win_rate_equal_rubric"] == 1.0


def test_effort_dose_trend_recovers_a_planted_dose_and_needs_two_doses() -> None:
    from utility_gap.analysis.effort_dose import effort_dose

    rng = np.random.default_rng(7)
    rows = []
    for contrast, rate in (("exhort_mid_vs_neutral", 0.6), ("exhort_vs_neutral", 0.8)):
        for i in range(400):
            rows.append({"model": "m", "task": "essay", "item_id": f"i{i % 40}", "contrast": contrast,
                         "winner": "a" if rng.random() < rate else "b"})
    pairs = pd.DataFrame(rows)
    levels, trend = effort_dose(pairs)
    assert list(levels["dose"]) == [1, 2]
    for (_, row), rate in zip(levels.iterrows(), (0.6, 0.8)):
        assert row["ci_low"] < rate < row["ci_high"]
    raw = trend.set_index("spec").loc["raw"]
    planted = np.log(0.8 / 0.2) - np.log(0.6 / 0.4)  # log-odds per dose step
    assert raw["ci_low"] < planted < raw["ci_high"] and raw["p_value"] < 0.001
    assert list(trend["spec"]) == ["raw"]  # no texts: no length-controlled trend
    _, alone = effort_dose(pairs[pairs["contrast"] == "exhort_vs_neutral"])
    assert "two or more doses" in alone.iloc[0]["note"]
    with pytest.raises(ValueError, match="dose-0 arm"):
        effort_dose(pairs, contrasts=("exhort_vs_sandbag",))
