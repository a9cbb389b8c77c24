"""Human ratings without a browser: the sample, the ratings file, the agreement statistics.

The statistics are checked on planted raters (tests/planted_rater.py): simulated people
of known accuracy against a planted truth, so every agreement figure has a known
expected value that its interval must cover.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from utility_gap.analysis.frames import read_frames
from utility_gap.analysis.human_agreement import (
    agreement_stats,
    human_majority,
    human_win_rates,
    krippendorff_alpha,
    panel_accuracy,
    panel_rater_agreement,
    rater_agreement,
    rubric_correlation,
)
from utility_gap.analysis.human_ratings import RatingsError, append_rating, rating_record, read_ratings
from utility_gap.analysis.rating_sample import RatingSampleError, pair_token, sample_pairs, shown_first
from planted_rater import planted_verdicts
from synthetic_logs import SyntheticRun, write_synthetic_logs

N_PLANTED = 1500
LEVEL = 0.001  # the planted values must lie inside 99.9% intervals (about ten intervals are checked)
PANEL_ACCURACY = 0.85
RATER_ACCURACY = {"oracle": 1.0, "r1": 0.8, "r2": 0.7}


# -- the sample ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pairs(tmp_path_factory) -> pd.DataFrame:
    root = tmp_path_factory.mktemp("human") / "logs"
    write_synthetic_logs(str(root), [
        SyntheticRun(task="essay", contrast="exhort_vs_neutral", n_items=10, repeats=2, seed=1, flag_rate=0.1),
        SyntheticRun(task="essay", contrast="sandbag_vs_neutral", n_items=4, seed=2),
        SyntheticRun(task="translation", contrast="exhort_vs_neutral", n_items=10, seed=3),
    ])
    return read_frames(root).pairs


def test_sample_is_stratified_seeded_and_leaves_flagged_pairs_out(pairs: pd.DataFrame) -> None:
    sample = sample_pairs(pairs, per_stratum=6, seed=1)
    flagged = pairs[pairs[[c for c in pairs if c.startswith("flag_")]].any(axis=1)]
    assert len(flagged) > 0 and not set(sample["pair_key"]) & set(flagged["pair_key"])
    sizes = sample.groupby(["task", "contrast"]).size().to_dict()
    assert sizes == {("essay", "exhort_vs_neutral"): 6, ("essay", "sandbag_vs_neutral"): 4,
                     ("translation", "exhort_vs_neutral"): 6}  # a small stratum gives all it has
    assert sample["pair_key"].is_unique
    pd.testing.assert_frame_equal(sample, sample_pairs(pairs.sample(frac=1, random_state=3), per_stratum=6, seed=1))
    assert set(sample_pairs(pairs, 6, seed=2)["pair_key"]) != set(sample["pair_key"])
    # strata interleave in the rating order (it is not one stratum after another)
    assert sample["stratum"].iloc[:6].nunique() > 1
    by_task = sample_pairs(pairs, per_stratum=5, strata=("task",), seed=1)
    assert by_task.groupby("task").size().to_dict() == {"essay": 5, "translation": 5}


def test_adding_logs_keeps_the_pairs_already_sampled_unless_outranked(pairs: pd.DataFrame) -> None:
    half = pairs.iloc[: len(pairs) // 2]
    small, full = sample_pairs(half, 5, seed=4), sample_pairs(pairs, 5, seed=4)
    old_in_full = set(full["pair_key"]) & set(half["pair_key"])
    assert old_in_full <= set(small["pair_key"])


def test_bad_sample_settings_say_what_to_change(pairs: pd.DataFrame) -> None:
    with pytest.raises(RatingSampleError, match="at least one pair"):
        sample_pairs(pairs, 0)
    with pytest.raises(RatingSampleError, match="stratify by one or more of model, task, contrast"):
        sample_pairs(pairs, 5, strata=("item_id",))
    all_flagged = pairs.assign(flag_leak=True)
    with pytest.raises(RatingSampleError, match="every one is flagged"):
        sample_pairs(all_flagged, 5)


def test_shown_order_is_per_rater_balanced_and_tokens_are_opaque() -> None:
    keys = [f"2026-essay-exhort_vs_neutral.eval::{i}::1" for i in range(2000)]
    firsts = [shown_first("alice", k) for k in keys]
    assert 0.45 < firsts.count("a") / len(keys) < 0.55
    assert firsts != [shown_first("bob", k) for k in keys]
    assert firsts == [shown_first("alice", k) for k in keys]
    token = pair_token(keys[0])
    assert len(token) == 16 and "exhort" not in token and "::" not in token


# -- the ratings file ------------------------------------------------------------------------


def test_ratings_round_trip_and_last_rating_of_a_pair_wins(tmp_path: Path) -> None:
    path = tmp_path / "alice.jsonl"
    append_rating(path, rating_record(rater="alice", pair_key="L::1::1", shown_first="b", choice="1",
                                      scores={"a": {"clarity": 4}, "b": {"clarity": 9}}, seconds=3.5))
    append_rating(path, rating_record(rater="alice", pair_key="L::2::1", shown_first="a", choice="tie"))
    append_rating(path, rating_record(rater="alice", pair_key="L::1::1", shown_first="b", choice="2"))
    ratings = read_ratings([path])
    assert ratings.n_replaced == 1
    assert dict(zip(ratings.verdicts["pair_key"], ratings.verdicts["verdict"])) == {"L::1::1": "a", "L::2::1": "tie"}
    assert ratings.scores.empty  # the replacing rating gave no scores
    first = json.loads(path.read_text().splitlines()[0])
    assert first["verdict"] == "b" and first["scores"] == {"a": {"clarity": 4}, "b": {"clarity": 9}}
    assert set(first) == {"schema", "rater", "pair_key", "shown_first", "choice", "verdict", "scores", "time", "seconds"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"verdict": "a"}, "line 2: field 'verdict': is 'a' but choice '1' with shown_first 'b' means 'b'"),
        ({"choice": "3"}, "line 2: field 'choice'"),
        ({"rater": " alice"}, "line 2: field 'rater'"),
        ({"scores": {"a": {"clarity": 11}}}, "line 2: field 'scores': a/clarity = 11"),
        ({"schema": "v0"}, "line 2: field 'schema'"),
        ({"time": "yesterday"}, "line 2: field 'time'"),
    ],
)
def test_a_bad_rating_line_names_file_line_and_field(tmp_path: Path, change: dict, message: str) -> None:
    good = rating_record(rater="alice", pair_key="L::1::1", shown_first="b", choice="1")
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps(good | change) + "\n")
    with pytest.raises(RatingsError, match=f"r.jsonl, {message}"):
        read_ratings([path])


def test_unreadable_or_missing_ratings_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(RatingsError, match="no such ratings file.*utility-gap rate"):
        read_ratings([tmp_path / "nobody.jsonl"])
    (tmp_path / "bad.jsonl").write_text("{not json\n")
    with pytest.raises(RatingsError, match="bad.jsonl, line 1: not valid JSON"):
        read_ratings([tmp_path / "bad.jsonl"])
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(RatingsError, match="No ratings in"):
        read_ratings([tmp_path / "empty.jsonl"])


# -- the statistics on small known cases ------------------------------------------------------


def test_agreement_stats_match_hand_computed_kappa() -> None:
    first = ["a"] * 6 + ["b"] * 4
    second = ["a"] * 5 + ["b"] + ["b"] * 3 + ["a"]
    row = agreement_stats(first, second)
    assert row["n"] == 10 and row["agreement"] == pytest.approx(0.8)
    expected_chance = 0.6 * 0.6 + 0.4 * 0.4
    assert row["kappa"] == pytest.approx((0.8 - expected_chance) / (1 - expected_chance))
    assert row["kappa_ci_low"] < row["kappa"] < row["kappa_ci_high"]
    assert row["agreement_ci_low"] < 0.8 < row["agreement_ci_high"]
    same = agreement_stats(["tie"] * 5, ["tie"] * 5)  # no variation: kappa undefined, not 1 or 0
    assert same["agreement"] == 1.0 and np.isnan(same["kappa"])


def test_majority_takes_the_unique_plurality_and_splits_have_none() -> None:
    ratings = pd.DataFrame({
        "rater": ["x", "y", "z", "x", "y", "x"],
        "pair_key": ["p1", "p1", "p1", "p2", "p2", "p3"],
        "verdict": ["a", "a", "b", "a", "b", "tie"],
    })
    majority = human_majority(ratings).set_index("pair_key")
    assert majority.loc["p1", "majority"] == "a" and majority.loc["p1", "n_raters"] == 3
    assert majority.loc["p2", "majority"] is None
    assert majority.loc["p3", "majority"] == "tie"
    pairs = pd.DataFrame({"pair_key": ["p1", "p2", "p3"], "winner": ["a", "b", "a"], "task": ["essay"] * 3})
    table = panel_accuracy(pairs, ratings).set_index("task")
    assert table.loc["essay", "n_split"] == 1 and table.loc["essay", "n"] == 2
    assert table.loc["essay", "accuracy"] == 0.5 and table.loc["essay", "n_decisive"] == 1
    assert table.loc["essay", "direction_accuracy"] == 1.0
    assert list(table.index) == ["essay", "all"]


def test_identical_raters_have_alpha_one_and_bad_verdicts_are_refused() -> None:
    verdicts = pd.DataFrame({"rater": ["x"] * 4 + ["y"] * 4, "pair_key": ["p1", "p2", "p3", "p4"] * 2,
                             "verdict": ["a", "b", "tie", "a"] * 2})
    assert krippendorff_alpha(verdicts, n_boot=50)["alpha"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="'verdict' must be one of"):
        human_majority(verdicts.assign(verdict="A"))


# -- planted raters: the statistics recover known accuracies ----------------------------------


def planted_study(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """A planted truth over N_PLANTED pairs, a panel of known accuracy and three planted raters."""
    rng = np.random.default_rng(seed)
    keys = [f"log.eval::{i}::1" for i in range(N_PLANTED)]
    # side a is truly better in 70% of the exhort pairs and 50% of the null contrast's
    contrast = np.where(np.arange(N_PLANTED) % 2 == 0, "exhort_vs_neutral", "utility_high_vs_utility_low")
    truth = {k: ("a" if rng.random() < (0.7 if c == "exhort_vs_neutral" else 0.5) else "b") for k, c in zip(keys, contrast)}
    panel = planted_verdicts(truth, "panel", PANEL_ACCURACY, seed)
    pairs = pd.DataFrame({"pair_key": keys, "winner": panel["verdict"].to_numpy(), "contrast": contrast,
                          "model": "m", "task": np.where(np.arange(N_PLANTED) % 3 == 0, "essay", "translation")})
    ratings = pd.concat([planted_verdicts(truth, r, acc, seed) for r, acc in RATER_ACCURACY.items()],
                        ignore_index=True)
    return pairs, ratings, truth


def covers(row: pd.Series, expected: float, low: str = "agreement_ci_low", high: str = "agreement_ci_high") -> bool:
    return row[low] <= expected <= row[high]


def test_planted_rater_accuracies_are_recovered() -> None:
    pairs, ratings, truth = planted_study()
    # each rater against the planted truth (the oracle rater) recovers its planted accuracy
    pairwise, alphas = rater_agreement(pairs, ratings, by=(), n_boot=300, alpha=LEVEL)
    pairwise = pairwise.set_index(["rater_1", "rater_2"])
    for rater in ("r1", "r2"):
        row = pairwise.loc[("oracle", rater)]
        accuracy = RATER_ACCURACY[rater]
        assert covers(row, accuracy), (rater, row["agreement"])
        assert covers(row, 2 * accuracy - 1, "kappa_ci_low", "kappa_ci_high")  # binary, balanced: kappa = 2p - 1
    # two imperfect raters agree when both are right or both wrong
    expected = 0.8 * 0.7 + 0.2 * 0.3
    assert covers(pairwise.loc[("r1", "r2")], expected)
    # the panel against each rater: q p + (1 - q)(1 - p)
    panel = panel_rater_agreement(pairs, ratings, by=(), alpha=LEVEL).set_index("rater")
    for rater, accuracy in RATER_ACCURACY.items():
        expected = PANEL_ACCURACY * accuracy + (1 - PANEL_ACCURACY) * (1 - accuracy)
        assert covers(panel.loc[rater], expected), (rater, panel.loc[rater, "agreement"], expected)
    # the panel's accuracy against the oracle alone is its planted accuracy ...
    oracle_only = panel_accuracy(pairs, ratings[ratings["rater"] == "oracle"], by=(), alpha=LEVEL)
    assert covers(oracle_only.iloc[0], PANEL_ACCURACY, "ci_low", "ci_high")
    # ... and against the three-rater majority (right whenever r1 or r2 is): q m + (1 - q)(1 - m)
    majority_right = 1 - 0.2 * 0.3
    three = panel_accuracy(pairs, ratings, by=(), alpha=LEVEL).iloc[0]
    assert three["n_split"] == 0
    assert covers(three, PANEL_ACCURACY * majority_right + (1 - PANEL_ACCURACY) * (1 - majority_right), "ci_low", "ci_high")
    # Krippendorff's alpha of the two imperfect raters is near their kappa (2 * 0.62 - 1)
    alpha_r = krippendorff_alpha(ratings[ratings["rater"].isin(["r1", "r2"])], n_boot=300, alpha=LEVEL)
    assert alpha_r["alpha_ci_low"] <= 2 * 0.62 - 1 <= alpha_r["alpha_ci_high"]
    assert list(alphas["raters"]) == ["humans", "humans + panel"]


def test_human_win_rates_recover_the_planted_effect_beside_the_panel() -> None:
    pairs, ratings, _ = planted_study()
    oracle = ratings[ratings["rater"] == "oracle"]
    table = human_win_rates(pairs, oracle, cell=("model",), alpha=LEVEL).set_index("contrast")
    exhort = table.loc["exhort_vs_neutral"]
    assert exhort["human_ci_low"] <= 0.7 <= exhort["human_ci_high"]
    panel_expected = 0.7 * PANEL_ACCURACY + 0.3 * (1 - PANEL_ACCURACY)  # the panel's errors pull it to 0.5
    assert exhort["panel_ci_low"] <= panel_expected <= exhort["panel_ci_high"]
    null = table.loc["utility_high_vs_utility_low"]
    assert null["human_ci_low"] <= 0.5 <= null["human_ci_high"]
    assert bool(exhort["same_direction"])
    assert exhort["n_pairs"] == N_PLANTED // 2


def test_rubric_correlation_is_high_when_people_and_panel_score_alike_and_null_otherwise() -> None:
    rng = np.random.default_rng(5)
    units = pd.DataFrame([(f"p{i}", side, c) for i in range(120) for side in "ab" for c in ("clarity", "accuracy")],
                         columns=["pair_key", "side", "criterion"])
    quality = rng.normal(size=len(units))
    panel = units.assign(judge="j", score=np.clip(np.round(5.5 + 1.5 * quality + rng.normal(0, .5, len(units))), 1, 10))
    alike = units.assign(rater="x", score=np.clip(np.round(5.5 + 1.5 * quality + rng.normal(0, .5, len(units))), 1, 10))
    unrelated = alike.assign(score=rng.permutation(alike["score"].to_numpy()))
    pairs = pd.DataFrame({"pair_key": [f"p{i}" for i in range(120)], "task": "essay"})
    high = rubric_correlation(panel, alike, pairs, by=()).iloc[0]
    assert high["spearman"] > 0.8 and high["n"] == len(units) and high["ci_low"] > 0.7
    null = rubric_correlation(panel, unrelated, pairs, by=()).iloc[0]
    assert null["ci_low"] <= 0 <= null["ci_high"]
