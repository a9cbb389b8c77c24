"""Stage 3: the judge-control task (intact text vs a damaged copy of itself)."""

from __future__ import annotations

import json

import pytest

from inspect_ai import eval
from inspect_ai.model import get_model

from utility_gap.evals.judge_controls import judge_controls, parse_damage_types
from utility_gap.evals.task_items import TaskItemError, control_texts_path, load_control_texts
from utility_gap.models.simulated import heuristic_quality
from utility_gap.solvers.damage import DAMAGE_TYPES, damage


N_CONTROLS = 10


@pytest.fixture(scope="module")
def controls_file(tmp_path_factory) -> str:
    """The first shipped control texts (a subset keeps the test fast)."""
    shipped = control_texts_path().read_text().splitlines()
    path = tmp_path_factory.mktemp("controls_data") / "intact.jsonl"
    path.write_text("\n".join([line for line in shipped if line.strip()][:N_CONTROLS]) + "\n")
    return str(path)


@pytest.fixture(scope="module")
def controls_log(tmp_path_factory, controls_file):
    roles = {"judge": [get_model("simulated/judge", seed=20 + k, judge_sd=0.3, memoize=False) for k in range(3)]}
    [log] = eval(
        judge_controls(controls_file=controls_file),
        model=get_model("simulated/subject", memoize=False),
        model_roles=roles,
        log_dir=str(tmp_path_factory.mktemp("controls")),
        display="none",
    )
    assert log.status == "success", log.error
    return log


def accuracy(log, kind: str) -> float:
    return log.results.scores[0].metrics[f"{kind}_accuracy"].value


def test_one_pair_per_control_and_damage_with_contract_metadata(controls_log, controls_file):
    n_controls = len(load_control_texts(controls_file))
    assert n_controls == N_CONTROLS
    assert len(controls_log.samples) == n_controls * len(DAMAGE_TYPES)
    for sample in controls_log.samples:
        meta = sample.metadata
        assert meta["arm_a"] == "intact" and meta["arm_b"] == meta["damage"]
        assert meta["contrast"] == f"intact_vs_{meta['damage']}"
        assert meta["pair"]["a"]["output"] == meta["intact_text"] != meta["pair"]["b"]["output"]
        score = sample.scores["judge_control_panel"]
        assert score.metadata["damage"] == meta["damage"]
        assert score.metadata["intact_preferred"] == (score.answer == "a")
        assert len(score.metadata["judges"]) == 3
        assert [p["order"] for p in score.metadata["judges"][0]["presentations"]] in (["ab", "ba"], ["ba", "ab"])


def test_accuracy_metric_per_damage_matches_the_scores(controls_log):
    for kind in DAMAGE_TYPES:
        scores = [s.scores["judge_control_panel"] for s in controls_log.samples if s.metadata["damage"] == kind]
        expected = sum(s.answer == "a" for s in scores) / len(scores)
        assert accuracy(controls_log, kind) == pytest.approx(expected)


def test_simulated_judge_sees_truncation_but_not_shuffles_or_fact_swaps(controls_log):
    # the simulated judge values unmarked text by heuristic_quality (log length, odd words)
    assert accuracy(controls_log, "truncated") >= 0.85
    for control in load_control_texts():  # every shipped text
        for kind in ("shuffled", "corrupted_facts"):
            damaged = damage(control.text, kind, seed=0, facts=control.facts)
            assert heuristic_quality(damaged) == pytest.approx(heuristic_quality(control.text))
    # what it cannot see, it does not pretend to: mostly ties, accuracy far below truncation
    for kind in ("shuffled", "corrupted_facts"):
        assert accuracy(controls_log, kind) <= 0.5
        assert controls_log.results.scores[0].metrics[f"{kind}_ties"].value >= 0.4


def test_damage_subset_and_bad_parameters():
    task = judge_controls(damage="truncated,typos")
    assert {s.metadata["damage"] for s in task.dataset} == {"truncated", "typos"}
    assert parse_damage_types("all") == list(DAMAGE_TYPES)
    with pytest.raises(ValueError, match="-T damage=smudged.*truncated, shuffled"):
        parse_damage_types("smudged")


def test_bad_controls_file_names_the_file(tmp_path):
    bad = tmp_path / "controls.jsonl"
    bad.write_text(json.dumps({"id": "control/x", "task": "essay", "prompt": "p", "axis": "a", "text": "too short", "facts": ["x"]}) + "\n")
    with pytest.raises(TaskItemError, match="controls.jsonl, line 1: field 'text'"):
        judge_controls(controls_file=str(bad))
