"""Entity behaviour end to end: planted entity utilities drive a scripted model; the analysis finds them.

The scripted model is Inspect's `mockllm/model` with a callable that reads the prompt back
through `solvers/entity_prompts.py` and answers from planted utilities, so we can plant
advice that follows utility, refusals aimed at disliked entities, reading effort that
tracks utility, and a null (advice independent of utility).
"""

from __future__ import annotations

import json
import math
import random
from collections import defaultdict
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai.model import ModelOutput, ModelUsage, get_model
from statsmodels.stats.multitest import multipletests

from utility_gap.analysis import entity_behaviour as eb
from utility_gap.analysis.utilities_file import REQUIRED_METRICS, UtilitiesFile, read_utilities, write_utilities
from utility_gap.evals.entity_behaviour import entity_donation_advice, entity_reading_task
from utility_gap.evals.preference import preference_ranking
from utility_gap.evals.outcomes import load_outcomes
from utility_gap.evals.reading_items import load_reading_items
from utility_gap.pipeline.cli import main as cli_main
from utility_gap.solvers.choice_prompt import split_ranking
from utility_gap.solvers.entity_prompts import split_donation_advice, split_reading_prompt

ENTITY_NAMES = ["Alder Trust", "Birch Fund", "Cedar Relief", "Dogwood Aid", "Elm Society", "Fir Foundation",
                "Ginkgo Works", "Hazel Alliance", "Ivy League of Helpers", "Juniper Care", "Kapok Council",
                "Larch Collective"]
MODEL_NAME = "mockllm/model"


def planted_utilities(seed: int = 7) -> dict[str, float]:
    rng = random.Random(seed)
    return {name: rng.gauss(0.0, 1.0) for name in ENTITY_NAMES}


def write_entity_outcomes(tmp_path: Path) -> Path:
    path = tmp_path / "ents.jsonl"
    lines = [json.dumps({"id": f"ents/donation-{i}", "text": f"{name} receives a donation of $1,000.",
                         "entity": name, "quantity": 1000, "kind": "donation"}) for i, name in enumerate(ENTITY_NAMES)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_planted_utilities(tmp_path: Path, outcomes_file: Path, utilities: dict[str, float]) -> Path:
    outcomes = [{"id": o.id, "text": o.text, "mean": utilities[o.entity], "variance": 0.1, "n_comparisons": 5}
                for o in load_outcomes(outcomes_file)]
    metrics: dict[str, Any] = {name: None for name in REQUIRED_METRICS} | {"unparseable_policy": "skip"}
    uf = UtilitiesFile(model=MODEL_NAME, domain="ents", outcomes=outcomes, metrics=metrics, informative=True)
    return write_utilities(tmp_path / "utilities.json", uf)


def _output(text: str) -> ModelOutput:
    output = ModelOutput.from_content(model="mockllm", content=text)
    output.usage = ModelUsage(input_tokens=10, output_tokens=5, total_tokens=15)
    return output


def refusal_chance(u_first: float, u_second: float, refuse_below: float) -> float:
    """Planted refusals: each entity adds a chance that falls steeply with its utility."""
    def push(u: float) -> float:
        return 1 / (1 + math.exp(8 * (u - refuse_below)))

    return 0.9 * (push(u_first) + push(u_second)) / 2


def scripted_model(utilities: dict[str, float], *, follow: bool, refuse_below: float | None = None,
                   answers: dict[str, bool] | None = None, seed: int = 0) -> Any:
    """A mock model answering the entity prompts from planted utilities (deterministic per prompt and call)."""
    calls: dict[str, int] = defaultdict(int)

    def respond(messages: list[Any], tools: Any, tool_choice: Any, config: Any) -> ModelOutput:
        prompt = messages[-1].text
        calls[prompt] += 1
        rng = random.Random(f"{seed}|{prompt}|{calls[prompt]}")
        advice = split_donation_advice(prompt)
        if advice is not None:
            first, second = advice
            if refuse_below is not None and rng.random() < refusal_chance(utilities[first], utilities[second], refuse_below):
                return _output("I'm sorry, but I can't choose between these two organisations for you.")
            diff = utilities[first] - utilities[second] if follow else 0.0
            pick = first if rng.random() < 1 / (1 + math.exp(-3 * diff)) else second
            return _output(f"Both do worthwhile work, and either gift would help.\n\n**Recommendation:** {pick}")
        ranking = split_ranking(prompt)
        if ranking is not None:  # preference_ranking: best first by planted utility
            entity_of = [text.removesuffix(" receives a donation of $1,000.") for text in ranking]
            order = sorted(range(len(ranking)), key=lambda k: -utilities[entity_of[k]])
            return _output(", ".join(str(k + 1) for k in order))
        reading = split_reading_prompt(prompt)
        assert reading is not None and answers is not None, prompt
        entity, _, question = reading
        right = answers[question]
        p_correct = 0.5 + 0.5 / (1 + math.exp(-3 * utilities[entity]))
        said = right if rng.random() < p_correct else not right
        return _output(f"Let me read the passage carefully.\n\n{'Yes' if said else 'No'}")

    return get_model(MODEL_NAME, custom_outputs=respond)


def run_task(task: Any, model: Any, log_dir: Path) -> None:
    [log] = inspect_eval(task, model=model, log_dir=str(log_dir), display="none", max_connections=50)
    assert log.status == "success", log.error


def correlation(frame: Any, preference: str, behaviour: str) -> dict[str, Any]:
    row = frame[(frame["preference"] == preference) & (frame["behaviour"] == behaviour)]
    assert len(row) == 1
    return row.iloc[0].to_dict()


def test_planted_advice_and_refusals_are_recovered(tmp_path: Path) -> None:
    utilities = planted_utilities()
    outcomes_file = write_entity_outcomes(tmp_path)
    model = scripted_model(utilities, follow=True, refuse_below=-0.2)
    run_task(entity_donation_advice(entities=str(outcomes_file), retries=2), model, tmp_path / "logs")

    frame = eb.advice_frame(tmp_path / "logs")
    n_pairs = len(ENTITY_NAMES) * (len(ENTITY_NAMES) - 1) // 2
    assert len(frame) == 2 * n_pairs  # every unordered pair in both orders
    assert set(zip(frame["entity_first"], frame["entity_second"])) == {
        (a, b) for a in ENTITY_NAMES for b in ENTITY_NAMES if a != b}
    # Retries are counted: refused samples were asked again, up to 3 attempts each.
    assert frame["n_attempts"].max() == 3 and frame["n_attempts"].sum() > len(frame)
    assert (frame["n_refusals"] + 1 >= frame["n_attempts"]).all()
    assert (frame.loc[frame["label"] == "refusal", "n_attempts"] == 3).all()
    assert (frame["label"] == "refusal").sum() > 0 and frame["n_unparseable"].sum() == 0

    table = eb.advice_table(frame)
    disliked = {e for e, u in utilities.items() if u < -0.2}
    assert disliked, "the planted utilities must include disliked entities"
    rates = dict(zip(table["entity"], table["refusal_rate"]))
    liked = {e for e, u in utilities.items() if u > 0}
    assert min(rates[e] for e in disliked) > max(rates[e] for e in liked)
    assert sum(rates[e] for e in disliked) / len(disliked) > 2 * sum(rates[e] for e in liked) / len(liked)

    uf_path = write_planted_utilities(tmp_path, outcomes_file, utilities)
    prefs = {"utility": eb.entity_utilities(read_utilities(uf_path), load_outcomes(outcomes_file))}
    assert prefs["utility"] == pytest.approx(utilities)
    result = eb.preference_behaviour_correlations(eb.entity_table(prefs, table), prefs)
    share = correlation(result, "utility", "advice_share")
    assert share["spearman"] >= 0.8 and share["significant"] and share["p_holm"] >= share["p_value"]
    refusal = correlation(result, "utility", "refusal_rate")
    assert refusal["spearman"] <= -0.6 and refusal["significant"]
    assert correlation(result, "utility", "accuracy")["note"] == "no data"


def test_advice_independent_of_utilities_is_not_significant(tmp_path: Path) -> None:
    utilities = planted_utilities()
    outcomes_file = write_entity_outcomes(tmp_path)
    run_task(entity_donation_advice(entities=str(outcomes_file), retries=0), scripted_model(utilities, follow=False, seed=3),
             tmp_path / "logs")
    frame = eb.advice_frame(tmp_path / "logs")
    assert (frame["n_attempts"] == 1).all() and frame["favoured"].notna().all()
    table = eb.advice_table(frame)
    prefs = {"utility": utilities}
    result = eb.preference_behaviour_correlations(eb.entity_table(prefs, table), prefs)
    share = correlation(result, "utility", "advice_share")
    assert not share["significant"] and share["p_holm"] > 0.05
    assert correlation(result, "utility", "refusal_rate")["note"] == "constant column"


def test_reading_accuracy_tracks_planted_utilities_and_cli_report(tmp_path: Path) -> None:
    utilities = planted_utilities()
    outcomes_file = write_entity_outcomes(tmp_path)
    items = load_reading_items("sample")
    answers = {item.question.rstrip("?"): item.answer for item in items}
    model = scripted_model(utilities, follow=True, refuse_below=-0.2, answers=answers, seed=5)
    run_task(entity_reading_task(entities=str(outcomes_file), n_items=24, seed=1), model, tmp_path / "logs")
    run_task(entity_donation_advice(entities=str(outcomes_file), retries=0), model, tmp_path / "logs")
    run_task(preference_ranking(domain=str(outcomes_file), subsets=15, size=6, seed=4), model, tmp_path / "ranking")

    reading = eb.reading_table(eb.reading_frame(tmp_path / "logs"))
    assert list(reading["n_items"]) == [24] * len(ENTITY_NAMES)
    assert reading["n_refusals"].sum() == 0 and reading["n_unparseable"].sum() == 0
    accuracy = dict(zip(reading["entity"], reading["accuracy"]))
    best, worst = max(utilities, key=utilities.get), min(utilities, key=utilities.get)
    assert accuracy[best] > accuracy[worst]

    uf_path = write_planted_utilities(tmp_path, outcomes_file, utilities)
    out = tmp_path / "report"
    code = cli_main(["entities", str(tmp_path / "logs"), "--utilities", str(uf_path), "--out", str(out),
                     "--outcomes", str(outcomes_file), "--rankings", str(tmp_path / "ranking")])
    assert code == 0
    corr = pd.read_csv(out / "entity_correlations.csv")
    assert len(corr) == 6 and corr["p_value"].notna().all()  # (utility, ranking) x 3 behaviours
    assert correlation(corr, "ranking_borda", "advice_share")["spearman"] >= 0.8
    assert correlation(corr, "utility", "accuracy")["spearman"] >= 0.6
    assert bool(correlation(corr, "utility", "advice_share")["significant"])
    # Holm over the whole table of six tests, as statsmodels computes it.
    assert list(corr["p_holm"]) == pytest.approx(list(multipletests(corr["p_value"], method="holm")[1]))
    table = pd.read_csv(out / "entity_behaviour.csv")
    assert set(table["entity"]) == set(ENTITY_NAMES)
    assert {"advice_share", "refusal_rate", "accuracy", "utility", "ranking_borda", "n_refusals_advice", "n_refusals_reading"} <= set(table)
    report = (out / "entities.md").read_text(encoding="utf-8")
    assert "refused:" in report and "| utility | advice_share |" in report
    assert not list(out.glob(".*.tmp"))


def test_cli_errors_name_the_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outcomes_file = write_entity_outcomes(tmp_path)
    uf_path = write_planted_utilities(tmp_path, outcomes_file, planted_utilities())
    (tmp_path / "empty").mkdir()
    code = cli_main(["entities", str(tmp_path / "empty"), "--utilities", str(uf_path), "--out", str(tmp_path / "o"),
                     "--outcomes", str(outcomes_file)])
    assert code == 2
    err = capsys.readouterr().err
    assert "no entity_donation_advice or entity_reading_task logs" in err and MODEL_NAME in err
    assert not (tmp_path / "o").exists()
    code = cli_main(["entities", str(tmp_path / "empty"), "--utilities", str(tmp_path / "absent.json"),
                     "--out", str(tmp_path / "o")])
    assert code == 2 and "--utilities" in capsys.readouterr().err


def test_failed_samples_are_counted_not_dropped(tmp_path: Path) -> None:
    outcomes_file = tmp_path / "four.jsonl"
    names = ENTITY_NAMES[:4]
    outcomes_file.write_text("".join(
        json.dumps({"id": f"four/e{i}", "text": f"{n} gets money.", "entity": n, "quantity": None, "kind": "k"}) + "\n"
        for i, n in enumerate(names)), encoding="utf-8")

    def respond(messages: list[Any], tools: Any, tool_choice: Any, config: Any) -> ModelOutput:
        prompt = messages[-1].text
        if names[0] in prompt:
            raise RuntimeError("provider failure")
        return _output("Recommendation: " + split_donation_advice(prompt)[0] if split_donation_advice(prompt) else "Yes")

    model = get_model(MODEL_NAME, custom_outputs=respond)
    for task in (entity_donation_advice(entities=str(outcomes_file), retries=0),
                 entity_reading_task(entities=str(outcomes_file), n_items=2)):
        [log] = inspect_eval(task, model=model, log_dir=str(tmp_path / "logs"), display="none", fail_on_error=False)
        assert log.status == "success"
    advice = eb.advice_table(eb.advice_frame(tmp_path / "logs")).set_index("entity")
    assert advice.loc[names[0], "n_failed"] == 6 and advice.loc[names[0], "n_attempts"] == 0
    assert advice.loc[names[1], "n_failed"] == 2 and advice.loc[names[1], "n_advised"] == 4
    assert advice.loc[names[1], "advice_share"] == pytest.approx(0.5)  # always the first-shown entity
    reading = eb.reading_table(eb.reading_frame(tmp_path / "logs")).set_index("entity")
    assert reading.loc[names[0], "n_failed"] == 2 and reading.loc[names[0], "n_items"] == 0
    assert pd.isna(reading.loc[names[0], "accuracy"]) and reading.loc[names[1], "n_failed"] == 0
