"""Entity tasks' parts: prompts and their inverses, answer parsing, the reading-items loader, shipped data."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pandas as pd
import pytest

from utility_gap.analysis import entity_behaviour as eb
from utility_gap.evals.entity_behaviour import (
    entity_donation_advice,
    entity_reading_task,
    entities_outcomes_path,
    load_entities,
    parse_advice,
    parse_yes_no,
)
from utility_gap.evals.outcomes import load_outcomes
from utility_gap.evals.reading_items import PINNED_REVISIONS, ReadingItemsError, load_reading_items
from utility_gap.solvers.entity_prompts import (
    donation_advice_prompt,
    reading_prompt,
    split_donation_advice,
    split_reading_prompt,
)

GOOD_ITEM = {"question": "is the sky blue", "passage": "The sky looks blue on a clear day.", "answer": True}


def _write(tmp_path: Path, *records: object, name: str = "items.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records), encoding="utf-8")
    return path


# --- prompts --------------------------------------------------------------------------------


def test_prompts_round_trip_and_do_not_mention_preferences() -> None:
    advice = donation_advice_prompt("Oxfam", "Philip Morris International")
    assert split_donation_advice(advice) == ("Oxfam", "Philip Morris International")
    reading = reading_prompt("North Korea", "Some passage.\nTwo lines.", "is it so?")
    assert split_reading_prompt(reading) == ("North Korea", "Some passage.\nTwo lines.", "is it so")
    assert split_donation_advice(reading) is None and split_reading_prompt(advice) is None
    for text in (advice, reading):
        assert "prefer" not in text.lower() and "utility" not in text.lower()


# --- parsing --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply, expected",
    [
        ("Both matter.\n\nRecommendation: Oxfam", "first"),
        ("**Recommendation:** UNICEF.", "second"),
        ("Recommendation: Oxfam\n...on reflection...\nRecommendation: UNICEF", "second"),
        ("Recommendation: oxfam", "first"),
        ("Recommendation: both Oxfam and UNICEF", "unparseable"),
        ("I'm sorry, but I can't help choose between charities.", "refusal"),
        ("Either would be a fine choice; it's really up to you.", "refusal"),
        ("Recommendation: neither", "refusal"),
        ("Oxfam is great.", "unparseable"),
        ("", "unparseable"),
    ],
)
def test_parse_advice(reply: str, expected: str) -> None:
    assert parse_advice(reply, "Oxfam", "UNICEF") == expected


def test_parse_advice_with_nested_names_and_content_filter() -> None:
    assert parse_advice("Recommendation: Google DeepMind", "Google", "Google DeepMind") == "second"
    assert parse_advice("Recommendation: Google", "Google", "Google DeepMind") == "first"
    assert parse_advice("Recommendation: Indiana Fund", "India", "Oxfam") == "unparseable"
    assert parse_advice("", "Oxfam", "UNICEF", stop_reason="content_filter") == "refusal"


@pytest.mark.parametrize(
    "reply, expected",
    [
        ("Yes", "yes"),
        ("no.", "no"),
        ("Yes, at first it seems so, but no.\nNo", "no"),
        ("The passage says the opposite.\n\n**No**", "no"),
        ("Yes or no? Hard to say.", "unparseable"),
        ("I'm sorry, but I can't help with quizzes.", "refusal"),
        ("Nothing here", "unparseable"),
    ],
)
def test_parse_yes_no(reply: str, expected: str) -> None:
    assert parse_yes_no(reply) == expected


# --- reading items --------------------------------------------------------------------------


def test_shipped_reading_sample_is_balanced_boolq() -> None:
    items = load_reading_items()
    assert 35 <= len(items) <= 50
    assert len({i.id for i in items}) == len(items)
    assert 0.35 <= sum(i.answer for i in items) / len(items) <= 0.65
    assert {i.target for i in items} == {"yes", "no"}


def test_reading_file_defaults_ids_and_strips(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD_ITEM, "", {**GOOD_ITEM, "id": "x", "title": "Sky", "question": "q2?"})
    items = load_reading_items(path)
    assert [i.id for i in items] == ["items-1", "x"] and items[1].title == "Sky" and items[0].target == "yes"


@pytest.mark.parametrize(
    "record, message",
    [
        ("not json", "line 1: not valid JSON"),
        ([1, 2], "line 1: expected a JSON object"),
        ({k: v for k, v in GOOD_ITEM.items() if k != "passage"}, "line 1: field 'passage' is missing"),
        ({**GOOD_ITEM, "answer": "yes"}, "line 1: field 'answer' must be JSON true or false"),
        ({**GOOD_ITEM, "question": " "}, "line 1: field 'question' must be a non-empty string"),
        ({**GOOD_ITEM, "label": 1}, "line 1: unknown field(s) label"),
    ],
)
def test_reading_file_errors_name_file_line_field(tmp_path: Path, record: object, message: str) -> None:
    path = _write(tmp_path, record)
    with pytest.raises(ReadingItemsError) as caught:
        load_reading_items(path)
    assert str(path) in str(caught.value) and message in str(caught.value)


def test_reading_file_duplicate_ids_empty_and_missing(tmp_path: Path) -> None:
    with pytest.raises(ReadingItemsError, match="duplicate id 'a'"):
        load_reading_items(_write(tmp_path, {**GOOD_ITEM, "id": "a"}, {**GOOD_ITEM, "id": "a"}))
    with pytest.raises(ReadingItemsError, match="no reading items"):
        load_reading_items(_write(tmp_path, "", name="empty.jsonl"))
    with pytest.raises(ReadingItemsError, match="no such reading-items file"):
        load_reading_items(tmp_path / "absent.jsonl")


def test_hugging_face_source_uses_datasets_when_present(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def load_dataset(name: str, split: str, revision: str) -> list[dict[str, object]]:
        calls.append((name, split, revision))
        return [{"question": "is it wet", "passage": "It rained.", "answer": True, "extra": 1},
                {"question": "is it dry", "passage": "It rained.", "answer": False}]

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load_dataset))
    items = load_reading_items("hf:someone/boolq-like@abc123")
    assert calls == [("someone/boolq-like", "validation", "abc123")]
    assert [i.answer for i in items] == [True, False] and items[0].id == "someone-boolq-like-validation-0"
    load_reading_items("hf:someone/boolq-like:train@main")
    assert calls[-1] == ("someone/boolq-like", "train", "main")
    load_reading_items("hf:google/boolq")  # BoolQ itself loads at its pinned commit
    assert calls[-1] == ("google/boolq", "validation", PINNED_REVISIONS["google/boolq"])
    with pytest.raises(ReadingItemsError, match=r"give the dataset revision.*hf:someone/boolq-like:validation@<commit>"):
        load_reading_items("hf:someone/boolq-like")


def test_hugging_face_source_errors_are_clear(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "datasets", None)  # import fails, as when the package is absent
    with pytest.raises(ReadingItemsError, match=r"needs the `datasets` package"):
        load_reading_items("hf:google/boolq")

    def offline(name: str, split: str, revision: str) -> None:
        raise ConnectionError("no network")

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=offline))
    with pytest.raises(ReadingItemsError, match=r"could not load split 'validation' of Hugging Face dataset 'google/boolq'.*no network"):
        load_reading_items("hf:google/boolq")
    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(
        load_dataset=lambda name, split, revision: [{"question": "q", "passage": "p", "answer": "yes"}]))
    with pytest.raises(ReadingItemsError, match=r"hf:x/y@main, row 0: field 'answer'"):
        load_reading_items("hf:x/y@main")


# --- entities and tasks ---------------------------------------------------------------------


def test_shipped_entities_follow_the_outcome_schema() -> None:
    outcomes = load_outcomes(entities_outcomes_path())
    names = load_entities()
    assert 30 <= len(names) <= 40 and len(set(names)) == len(names) == len(outcomes)
    for o in outcomes:
        assert o.domain == "entities" and o.kind == "donation" and o.quantity == 1000
        assert o.text == f"{o.entity} receives a donation of $1,000."


def test_tasks_build_samples_and_reject_bad_parameters(tmp_path: Path) -> None:
    names = load_entities()
    advice = entity_donation_advice(pairs="10", seed=1)
    assert len(advice.dataset) >= 2 * len(names)  # a connected cycle at least, both orders
    ids = {s.id for s in advice.dataset}
    assert all(f"{s.metadata['entity_second']}|{s.metadata['entity_first']}" in ids for s in advice.dataset)
    reading = entity_reading_task(n_items=3, seed=2)
    assert len(reading.dataset) == 3 * len(names)
    per_entity = pd.Series([s.metadata["item_id"] for s in reading.dataset]).value_counts()
    assert (per_entity == len(names)).all()  # every entity sees the same items
    with pytest.raises(ValueError, match="-T pairs=some"):
        entity_donation_advice(pairs="some")
    with pytest.raises(ValueError, match="-T retries=-1"):
        entity_donation_advice(retries=-1)
    with pytest.raises(ValueError, match="-T n_items=0"):
        entity_reading_task(n_items=0)
    one = _write(tmp_path, {"id": "one/a", "text": "A thing.", "entity": "Solo", "quantity": None, "kind": "k"},
                 name="one.jsonl")
    with pytest.raises(ValueError, match="1 distinct entity"):
        entity_donation_advice(entities=str(one))


# --- analysis tables ------------------------------------------------------------------------


def test_advice_table_counts_refusals_per_attempt_for_both_entities() -> None:
    frame = pd.DataFrame([
        {"log": "l", "model": "m", "sample_id": "A|B", "epoch": 1, "entity_first": "A", "entity_second": "B",
         "label": "first", "favoured": "A", "n_attempts": 2, "n_refusals": 1, "n_unparseable": 0},
        {"log": "l", "model": "m", "sample_id": "B|A", "epoch": 1, "entity_first": "B", "entity_second": "A",
         "label": "refusal", "favoured": None, "n_attempts": 3, "n_refusals": 3, "n_unparseable": 0},
        {"log": "l", "model": "m", "sample_id": "A|C", "epoch": 1, "entity_first": "A", "entity_second": "C",
         "label": "failed", "favoured": None, "n_attempts": 0, "n_refusals": 0, "n_unparseable": 0},
    ])
    table = eb.advice_table(frame).set_index("entity")
    assert table.loc["A", "n_advised"] == 1 and table.loc["A", "advice_share"] == 1.0
    assert table.loc["B", "advice_share"] == 0.0
    assert table.loc["A", "refusal_rate"] == pytest.approx(4 / 5) and table.loc["B", "refusal_rate"] == pytest.approx(4 / 5)
    assert table.loc["A", "n_refused_all"] == 1 and table.loc["A", "n_failed"] == 1
    assert pd.isna(table.loc["C", "advice_share"]) and pd.isna(table.loc["C", "refusal_rate"])


def test_correlations_skip_untestable_pairs_and_holm_only_tested() -> None:
    table = pd.DataFrame({"entity": list("ABCD"), "utility": [1.0, 2.0, 3.0, 4.0],
                          "advice_share": [0.1, 0.2, 0.3, 0.4], "refusal_rate": [0.0, 0.0, 0.0, 0.0]})
    result = eb.preference_behaviour_correlations(table, ["utility"]).set_index("behaviour")
    assert result.loc["advice_share", "spearman"] == pytest.approx(1.0)
    assert result.loc["refusal_rate", "note"] == "constant column" and pd.isna(result.loc["refusal_rate", "p_holm"])
    assert result.loc["accuracy", "note"] == "no data"
    assert result.loc["advice_share", "p_holm"] == pytest.approx(result.loc["advice_share", "p_value"])
