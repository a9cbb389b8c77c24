"""Stage 3: the judge-control task (intact text vs a damaged copy of itself)."""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

import pytest
from scipy.stats import binomtest

from inspect_ai import eval
from inspect_ai.model import get_model

from utility_gap.analysis.frames import read_frames
from utility_gap.analysis.judge_agreement import control_accuracy
from utility_gap.evals.judge_controls import judge_controls, parse_damage_types
from utility_gap.evals.task_items import TaskItemError, control_texts_path, load_control_texts
from utility_gap.models.simulated import DEFAULT_DAMAGE_SENSITIVITY, SimulatedModelAPI, heuristic_quality
from utility_gap.solvers.damage import DAMAGE_TYPES, damage
from synthetic_logs import SyntheticRun, write_synthetic_logs


N_CONTROLS = 10
JUDGE_SEEDS = (20, 21, 22)


@pytest.fixture(scope="module")
def controls_file(tmp_path_factory) -> str:
    """The first shipped control texts (a subset keeps the test fast)."""
    shipped = control_texts_path().read_text().splitlines()
    path = tmp_path_factory.mktemp("controls_data") / "intact.jsonl"
    path.write_text("\n".join([line for line in shipped if line.strip()][:N_CONTROLS]) + "\n")
    return str(path)


@pytest.fixture(scope="module")
def controls_log(tmp_path_factory):
    """Every shipped control text and damage type (20 pairs per type), three default simulated judges."""
    roles = {"judge": [get_model("simulated/judge", seed=seed, memoize=False) for seed in JUDGE_SEEDS]}
    [log] = eval(
        judge_controls(),
        model=get_model("simulated/subject", memoize=False),
        model_roles=roles,
        log_dir=str(tmp_path_factory.mktemp("controls")),
        display="none",
    )
    assert log.status == "success", log.error
    return log


def accuracy(log, kind: str) -> float:
    return log.results.scores[0].metrics[f"{kind}_accuracy"].value


def test_one_pair_per_control_and_damage_with_contract_metadata(controls_log):
    assert len(controls_log.samples) == len(load_control_texts()) * len(DAMAGE_TYPES)
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


def expected_panel_accuracy(p_presentation: float, n_judges: int = 3) -> float:
    """P(the panel prefers the intact text) when each presentation does so with probability p.

    A judge is right when both orders are (p^2), wrong when both are wrong, else a tie
    (a flip); the panel's winner is the unique plurality of the judges' verdicts.
    """
    outcomes = {"right": p_presentation**2, "wrong": (1 - p_presentation) ** 2}
    outcomes["tie"] = 1 - outcomes["right"] - outcomes["wrong"]
    total = 0.0
    for verdicts in itertools.product(outcomes, repeat=n_judges):
        counts = {v: verdicts.count(v) for v in outcomes}
        top = max(counts.values())
        if counts["right"] == top and list(counts.values()).count(top) == 1:
            probability = 1.0
            for v in verdicts:
                probability *= outcomes[v]
            total += probability
    return total


def test_planted_damage_sensitivity_is_recovered_for_every_damage_type(controls_log, tmp_path):
    judge = SimulatedModelAPI("judge", seed=JUDGE_SEEDS[0])
    expected = {}
    for kind in DAMAGE_TYPES:
        p = judge.intact_preference_probability(kind)
        assert p == pytest.approx(judge.intact_preference_probability(kind, intact_first=False))  # no position bias
        expected[kind] = expected_panel_accuracy(p)
        scores = [s.scores["judge_control_panel"] for s in controls_log.samples if s.metadata["damage"] == kind]
        won = sum(s.answer == "a" for s in scores)
        assert binomtest(won, len(scores), expected[kind]).pvalue > 0.01, (kind, won, len(scores), expected[kind])
    # the planted sensitivities differ, and so do the recovered accuracies
    order = sorted(DAMAGE_TYPES, key=DEFAULT_DAMAGE_SENSITIVITY.get)
    assert accuracy(controls_log, order[0]) < accuracy(controls_log, order[-1]) - 0.15
    # the report's pipeline (log -> controls frame -> control_accuracy) gives the same numbers
    write_synthetic_logs(str(tmp_path / "logs"), [SyntheticRun(n_items=2)])  # the report needs a writing log
    shutil.copy(controls_log.location, tmp_path / "logs")
    table = control_accuracy(read_frames(tmp_path / "logs").controls.query("judge == 'panel'")).set_index("damage")
    for kind in DAMAGE_TYPES:
        assert table.loc[kind, "accuracy"] == pytest.approx(accuracy(controls_log, kind))
        assert table.loc[kind, "n"] == len(load_control_texts())


def test_a_judge_blind_to_a_damage_does_not_pretend_to_see_it(tmp_path, controls_file):
    # heuristic_quality (what the judge falls back on) is the same for shuffles and fact swaps
    for control in load_control_texts():
        for kind in ("shuffled", "corrupted_facts"):
            damaged = damage(control.text, kind, seed=0, facts=control.facts)
            assert heuristic_quality(damaged) == pytest.approx(heuristic_quality(control.text))
    blind = {"damage_sensitivity": "shuffled:0,corrupted_facts:0"}
    roles = {"judge": [get_model("simulated/judge", seed=s, memoize=False, **blind) for s in JUDGE_SEEDS]}
    [log] = eval(
        judge_controls(controls_file=controls_file, damage="shuffled,corrupted_facts"),
        model=get_model("simulated/subject", memoize=False),
        model_roles=roles,
        log_dir=str(tmp_path),
        display="none",
    )
    for kind in ("shuffled", "corrupted_facts"):
        assert accuracy(log, kind) <= 0.5
        assert log.results.scores[0].metrics[f"{kind}_ties"].value >= 0.4


def test_simulated_judge_knows_only_control_texts(tmp_path):
    judge = SimulatedModelAPI("judge")
    control = load_control_texts()[0]
    copy = damage(control.text, "typos", seed=3)
    assert judge.control_qualities(control.text, copy) == (0.0, -DEFAULT_DAMAGE_SENSITIVITY["typos"])
    assert judge.control_qualities(copy, control.text) == (-DEFAULT_DAMAGE_SENSITIVITY["typos"], 0.0)
    own = control.text + "\n\nThis closing paragraph makes it a lab's own control text."
    own_copy = damage(own, "shuffled", seed=0)
    assert judge.control_qualities(own, own_copy) is None  # unknown text: the heuristic decides, as before
    path = tmp_path / "own.jsonl"
    path.write_text(json.dumps({"id": "control/own", "task": control.task, "prompt": control.prompt,
                                "axis": control.axis, "text": own, "facts": list(control.facts)}) + "\n")
    knowing = SimulatedModelAPI("judge", controls=str(path), damage_sensitivity="shuffled:1.5")
    assert knowing.control_qualities(own, own_copy) == (0.0, -1.5)
    assert knowing.params.damage_sensitivity["typos"] == DEFAULT_DAMAGE_SENSITIVITY["typos"]


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
