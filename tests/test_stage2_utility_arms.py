"""Utility arms: seeded top/bottom-third draws from the model's own utilities file.

The writer's planted quality rises with `utility_slope * u(outcome)`, where u is the
planted utility; the utilities file is built from the same `planted_utility`, so a
positive slope must show up as high-side wins and a zero slope must not.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from inspect_ai import eval
from inspect_ai.log import read_eval_log
from inspect_ai.model import get_model
from scipy.stats import binomtest

from utility_gap.analysis.utilities_file import UtilitiesFile, read_utilities, write_utilities
from utility_gap.evals.outcomes import load_outcomes
from utility_gap.evals.writing import essay
from utility_gap.models.simulated import planted_utility
from utility_gap.solvers.utility_draws import draw_outcomes, load_utilities_for

from test_stage2_eval import judges, write_items

DOMAIN = "countries"


def planted_utilities_file(path: Path, model: str = "simulated/writer", domain: str = DOMAIN) -> Path:
    outcomes = load_outcomes(domain)
    means = np.array([planted_utility(o.text) for o in outcomes])
    records = [
        {"id": o.id, "text": o.text, "mean": float(m), "variance": 1.0, "n_comparisons": 10}
        for o, m in zip(outcomes, means)
    ]
    metrics = {
        key: 0.0
        for key in ("train_accuracy", "train_log_loss", "heldout_accuracy", "heldout_log_loss", "intransitive_triad_share", "position_bias")
    }
    metrics.update(n_pairs=100, n_heldout_pairs=20, n_choices=400, n_refusal=0, n_unparseable=0, unparseable_policy="skip")
    uf = UtilitiesFile(model=model, domain=domain, outcomes=records, metrics=metrics, informative=True)
    return write_utilities(path, uf)


def run_utility(tmp_path: Path, contrast: str, slope: float, utilities: Path, repeats: int = 2, draws: int = 4, **extra: object):
    items = write_items(tmp_path / "items.jsonl", n=5)
    (log,) = eval(
        essay,
        task_args={"contrast": contrast, "items_file": str(items), "utilities": str(utilities), "draws": draws, "repeats": repeats, "seed": 2, **extra},
        model="simulated/writer",
        model_args={"utility_slope": slope, "seed": 9},
        model_roles=judges(),
        log_dir=str(tmp_path / "logs"),
        display="none",
        max_samples=64,
    )
    assert log.status == "success", log.error
    return log


def high_side_record(log) -> tuple[int, int]:
    a = sum(s.scores["judge_panel"].answer == "a" for s in log.samples)
    b = sum(s.scores["judge_panel"].answer == "b" for s in log.samples)
    return a, b


def test_planted_utility_slope_gives_high_side_wins(tmp_path: Path) -> None:
    utilities = planted_utilities_file(tmp_path / "u.json")
    uf = read_utilities(utilities)
    top = {o["id"] for o in uf.top_third()}
    bottom = {o["id"] for o in uf.bottom_third()}
    log = run_utility(tmp_path, "utility_high_vs_utility_low", 1.0, utilities)
    samples = log.samples or []
    assert len(samples) == 5 * 4 * 2
    for sample in samples:
        meta = sample.metadata
        assert meta["domain"] == DOMAIN
        assert meta["outcome_a"]["id"] in top and meta["outcome_b"]["id"] in bottom
        assert meta["utility_diff"] == pytest.approx(meta["outcome_a"]["utility"] - meta["outcome_b"]["utility"])
        assert meta["utility_diff"] > 0
        assert meta["outcome_a"]["entity"]  # entities come from the shipped outcome set
        # each side's prompt promises its own outcome
        assert meta["outcome_a"]["text"] in meta["pair"]["a"]["prompt"]
        assert meta["outcome_b"]["text"] in meta["pair"]["b"]["prompt"]
        assert meta["outcome_a"]["text"] not in meta["pair"]["b"]["prompt"]
    # repeats of one draw share outcomes; different draws of an item vary
    by_draw = {(s.metadata["item_id"], s.metadata["draw"]): set() for s in samples}
    for s in samples:
        by_draw[(s.metadata["item_id"], s.metadata["draw"])].add(s.metadata["outcome_a"]["id"])
    assert all(len(ids) == 1 for ids in by_draw.values())
    assert len({next(iter(ids)) for ids in by_draw.values()}) > 3
    a, b = high_side_record(log)
    assert a / (a + b) > 0.7 and binomtest(a, a + b, 0.5, alternative="greater").pvalue < 0.001


def test_zero_utility_slope_is_a_null(tmp_path: Path) -> None:
    utilities = planted_utilities_file(tmp_path / "u.json")
    log = run_utility(tmp_path, "utility_high_vs_utility_low", 0.0, utilities)
    a, b = high_side_record(log)
    assert abs(a / (a + b) - 0.5) < 0.25 and binomtest(a, a + b, 0.5).pvalue > 0.05


def test_one_sided_utility_contrast_stores_null_for_the_other_side(tmp_path: Path) -> None:
    utilities = planted_utilities_file(tmp_path / "u.json")
    log = run_utility(tmp_path, "utility_high_vs_neutral,exhort_vs_neutral", 0.0, utilities, repeats=1, draws=3)
    by_contrast: dict[str, list] = {}
    for s in log.samples:
        by_contrast.setdefault(s.metadata["contrast"], []).append(s)
    assert len(by_contrast["utility_high_vs_neutral"]) == 5 * 3
    assert len(by_contrast["exhort_vs_neutral"]) == 5  # draws apply to utility contrasts only
    for s in by_contrast["utility_high_vs_neutral"]:
        assert s.metadata["outcome_a"] is not None and s.metadata["outcome_b"] is None
        assert s.metadata["utility_diff"] is None
    for s in by_contrast["exhort_vs_neutral"]:
        assert s.metadata["domain"] is None and s.metadata["outcome_a"] is None


def test_draws_are_seeded_and_independent_of_file_order(tmp_path: Path) -> None:
    uf = read_utilities(planted_utilities_file(tmp_path / "u.json"))
    first = [draw_outcomes(uf, seed=1, task="essay", item_id="essay/x", draw=d) for d in range(6)]
    again = [draw_outcomes(uf, seed=1, task="essay", item_id="essay/x", draw=d) for d in range(6)]
    uf.outcomes.reverse()
    reordered = [draw_outcomes(uf, seed=1, task="essay", item_id="essay/x", draw=d) for d in range(6)]
    assert first == again == reordered
    other_seed = [draw_outcomes(uf, seed=2, task="essay", item_id="essay/x", draw=d) for d in range(6)]
    assert first != other_seed


def _build(tmp_path: Path, **task_args: object):
    items = write_items(tmp_path / "items.jsonl", n=2)
    (log,) = eval(essay, task_args={"items_file": str(items), **task_args}, model="simulated/writer", model_roles=judges(1), log_dir=str(tmp_path / "logs"), display="none")
    return log


def test_utilities_file_problems_are_clear_errors(tmp_path: Path) -> None:
    # what needs no model is checked while the task is built; the hint names the model as MODEL
    with pytest.raises(ValueError, match=r"-T utilities=PATH.*utility-gap elicit --model MODEL .*MODEL: the model under test"):
        _build(tmp_path, contrast="utility_high_vs_utility_low")
    with pytest.raises(ValueError, match=r"nowhere\.json.*not found.*utility-gap elicit --model MODEL"):
        _build(tmp_path, contrast="utility_high_vs_bare", utilities=str(tmp_path / "nowhere.json"))
    with pytest.raises(ValueError, match=r"domain 'countries', not 'animals'.*utility-gap elicit"):
        _build(tmp_path, contrast="utility_high_vs_bare", utilities=str(planted_utilities_file(tmp_path / "u.json")), domain="animals")


def test_another_models_utilities_stop_every_sample_before_any_model_call(tmp_path: Path) -> None:
    """The model under test is resolved when a sample runs (not while the task is built): the
    utilities file is checked against it in the task's setup step, before paired generation."""
    other = planted_utilities_file(tmp_path / "other.json", model="openai/gpt-4o")
    log = _build(tmp_path, contrast="utility_high_vs_bare", utilities=str(other))
    assert log.status == "error"
    assert re.search(
        r"for model 'openai/gpt-4o'.*simulated/writer.*utility-gap elicit --model simulated/writer.*allow_model_mismatch",
        log.error.message, re.S,
    ), log.error.message
    assert not log.stats.model_usage  # neither the writer nor a judge was called
    for sample in read_eval_log(log.location).samples or []:
        assert not [e for e in sample.events if e.event == "model"]
    # a deliberate mismatch is allowed when asked for, and then the model is called
    log = _build(tmp_path, contrast="utility_high_vs_bare", utilities=str(other), allow_model_mismatch=True)
    assert log.status == "success" and log.stats.model_usage
    # and the model's own file passes the check
    own = planted_utilities_file(tmp_path / "own.json", model="simulated/writer")
    assert _build(tmp_path, contrast="utility_high_vs_bare", utilities=str(own)).status == "success"


def test_model_names_accepted_for_the_utilities_file(tmp_path: Path) -> None:
    short = planted_utilities_file(tmp_path / "short.json", model="writer")
    model = get_model("simulated/writer", memoize=False)
    assert load_utilities_for(short, model=model).model == "writer"
    with pytest.raises(ValueError, match="simulated/chooser"):
        load_utilities_for(short, model=get_model("simulated/chooser", memoize=False))
