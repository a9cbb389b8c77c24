"""The ranking task: planted utilities come back from direct rankings, failures counted."""

from __future__ import annotations

from pathlib import Path

import pytest
from inspect_ai import eval as inspect_eval
from scipy.stats import spearmanr

from utility_gap.pipeline.elicitation_rounds import ElicitationPlan, run_elicitation
from utility_gap.analysis.ranking import aggregate_rankings, ranking_consistency, ranking_parse_counts, rankings_frame
from utility_gap.evals.outcomes import load_outcomes
from utility_gap.evals.preference import preference_ranking
from utility_gap.models.simulated import planted_utility

from test_stage1_elicitation import UTILITY_SEED, write_outcomes


def test_rankings_recover_planted_order_and_agree_with_fit(tmp_path: Path) -> None:
    outcomes_file = write_outcomes(tmp_path, n=24)
    texts = {o.id: o.text for o in load_outcomes(outcomes_file)}
    inspect_eval(
        preference_ranking(domain=str(outcomes_file), subsets=50, size=8, seed=2),
        model="simulated/chooser",
        model_args={"utility_seed": UTILITY_SEED},
        log_dir=str(tmp_path / "ranking"),
        display="none",
        max_connections=100,
    )
    frame = rankings_frame(tmp_path / "ranking")
    assert ranking_parse_counts(frame) == {"answers": 50, "parsed": 50, "refusal": 0, "unparseable": 0}
    aggregate = aggregate_rankings(frame)
    planted = [planted_utility(texts[o], UTILITY_SEED) for o in aggregate["outcome_id"]]
    assert spearmanr(aggregate["borda"], planted).statistic >= 0.9

    elicited = run_elicitation(ElicitationPlan(
        model="simulated/chooser", domain=str(outcomes_file), log_dir=tmp_path / "elicit", k=2, rounds=2, seed=1,
        model_args={"utility_seed": UTILITY_SEED}, max_connections=200))
    consistency = ranking_consistency(aggregate, elicited.fit.mean_of())
    assert consistency["n_outcomes"] == 24
    assert consistency["spearman"] >= 0.85


def test_ranking_refusals_are_counted(tmp_path: Path) -> None:
    inspect_eval(
        preference_ranking(domain="demo", subsets=40, size=5, seed=1),
        model="simulated/chooser",
        model_args={"refusal_rate": 0.3},
        log_dir=str(tmp_path),
        display="none",
    )
    counts = ranking_parse_counts(rankings_frame(tmp_path))
    assert counts["answers"] == 40
    assert 0 < counts["refusal"] < 40
    assert counts["parsed"] + counts["refusal"] + counts["unparseable"] == 40


def test_ranking_consistency_needs_shared_outcomes() -> None:
    import pandas as pd

    aggregate = pd.DataFrame({"outcome_id": ["a", "b"], "borda": [1.0, 0.0]})
    with pytest.raises(ValueError, match="need at least 3"):
        ranking_consistency(aggregate, {"a": 1.0, "b": 0.0})


@pytest.mark.parametrize("bad", [{"size": 1}, {"subsets": 0}, {"domain": "no-such-domain"}])
def test_ranking_task_rejects_bad_arguments(bad: dict) -> None:
    with pytest.raises(ValueError):
        preference_ranking(**bad)
