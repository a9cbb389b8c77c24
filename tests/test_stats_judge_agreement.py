"""Judge agreement (Fleiss' kappa), order consistency, position bias, control accuracy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest
from statsmodels.stats.inter_rater import fleiss_kappa

from utility_gap.analysis.judge_agreement import (
    control_accuracy,
    fleiss_kappa_table,
    order_consistency,
    position_bias,
)
from utility_gap.analysis.win_rates import FrameError

# 8 pairs x 3 judges, written by hand
VERDICTS = [
    ("a", "a", "a"), ("a", "a", "b"), ("b", "b", "b"), ("tie", "a", "a"),
    ("b", "tie", "b"), ("a", "b", "tie"), ("tie", "tie", "tie"), ("a", "a", "tie"),
]
# the same table as counts per category (a, b, tie), also by hand
COUNTS = np.array([[3, 0, 0], [2, 1, 0], [0, 3, 0], [2, 0, 1], [0, 2, 1], [1, 1, 1], [0, 0, 3], [2, 0, 1]])


def verdict_rows(verdicts, judges=("j1", "j2", "j3")) -> pd.DataFrame:
    """A judge-verdicts frame: both orders per pair and judge, consistent winners."""
    rows = []
    for i, triple in enumerate(verdicts):
        for judge, verdict in zip(judges, triple):
            for order in ("ab", "ba"):
                first_won = {"a": order == "ab", "b": order == "ba"}
                parsed = None if verdict is None else ("tie" if verdict == "tie" else ("1" if first_won[verdict] else "2"))
                rows.append({"pair_key": f"p{i}", "model": "m", "task": "essay", "contrast": "c", "judge": judge,
                             "order": order, "parsed": parsed, "winner": verdict, "judge_verdict": verdict})
    return pd.DataFrame(rows)


def test_fleiss_kappa_equals_statsmodels_on_a_constructed_table():
    row = fleiss_kappa_table(verdict_rows(VERDICTS)).iloc[0]
    assert row.kappa == pytest.approx(fleiss_kappa(COUNTS, method="fleiss"))
    assert (row.n_pairs, row.n_judges, row.n_dropped) == (8, 3, 0)
    assert row.share_a == pytest.approx(COUNTS[:, 0].sum() / 24)
    perfect = fleiss_kappa_table(verdict_rows([("a",) * 3, ("b",) * 3, ("tie",) * 3, ("a",) * 3])).iloc[0]
    assert perfect.kappa == pytest.approx(1.0)


def test_missing_verdicts_drop_the_pair_and_are_counted():
    frame = verdict_rows(VERDICTS + [("a", None, "a")])
    row = fleiss_kappa_table(frame).iloc[0]
    assert (row.n_pairs, row.n_dropped) == (8, 1)
    assert row.kappa == pytest.approx(fleiss_kappa(COUNTS, method="fleiss"))
    with pytest.raises(FrameError, match="judge_verdict"):
        fleiss_kappa_table(frame.assign(judge_verdict="A"))


def test_order_consistency_recovers_a_planted_flip_rate():
    rng = np.random.default_rng(6)
    rows = []
    for i in range(400):
        truth = rng.choice(["a", "b"])
        for judge, flip_rate in (("steady", 0.0), ("flaky", 0.3)):
            flipped = rng.random() < flip_rate
            winners = {"ab": truth, "ba": ({"a": "b", "b": "a"}[truth] if flipped else truth)}
            if judge == "flaky" and i < 10:
                winners["ba"] = None  # unparsed in one order
            for order, winner in winners.items():
                rows.append({"pair_key": f"p{i}", "judge": judge, "order": order, "winner": winner})
    table = order_consistency(pd.DataFrame(rows)).set_index("judge")
    assert table.loc["steady", "consistency_rate"] == 1.0 and table.loc["steady", "n_pairs"] == 400
    flaky = table.loc["flaky"]
    assert flaky.n_pairs == 390 and flaky.n_incomplete == 10
    assert flaky.ci_low < 0.7 < flaky.ci_high


def test_position_bias_detects_a_planted_first_shown_preference():
    rng = np.random.default_rng(8)
    biased = rng.choice(["1", "2", "tie", None], size=600, p=[0.56, 0.24, 0.15, 0.05])
    fair = rng.choice(["1", "2", "tie"], size=600, p=[0.4, 0.4, 0.2])
    frame = pd.DataFrame({"judge": ["biased"] * 600 + ["fair"] * 600, "parsed": list(biased) + list(fair)})
    table = position_bias(frame).set_index("judge")
    b = table.loc["biased"]
    assert b.n_decisive == int(np.isin(biased, ["1", "2"]).sum()) and b.n_unparsed == int(pd.isna(biased).sum())
    assert b.p_value == pytest.approx(binomtest(int(b.n_first), int(b.n_decisive)).pvalue)
    assert b.p_value < 1e-6 and b.ci_low < 0.7 < b.ci_high
    assert table.loc["fair", "p_value"] > 0.05


def test_control_accuracy_per_damage_with_missing_counted():
    controls = pd.DataFrame({
        "damage": ["typos"] * 5 + ["truncated"] * 4,
        "correct": [True, True, True, False, None, True, True, True, True],
    })
    table = control_accuracy(controls).set_index("damage")
    assert (table.loc["typos", "n"], table.loc["typos", "n_correct"], table.loc["typos", "n_missing"]) == (4, 3, 1)
    assert table.loc["truncated", "accuracy"] == 1.0
    assert table.loc["all", "accuracy"] == pytest.approx(7 / 8)
    ci = binomtest(7, 8).proportion_ci(method="exact")
    assert (table.loc["all", "ci_low"], table.loc["all", "ci_high"]) == pytest.approx((ci.low, ci.high))
    with pytest.raises(FrameError, match="correct"):
        control_accuracy(controls.assign(correct="yes"))
