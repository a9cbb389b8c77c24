"""The shipped writing-task items and judge-control texts, and the loaders' error messages."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from utility_gap.evals.task_items import (
    TASKS,
    ControlText,
    TaskItem,
    TaskItemError,
    load_control_texts,
    load_task_items,
    split_paragraphs,
    word_count,
)


def _item(**overrides: object) -> dict:
    record = {
        "task": "essay",
        "id": "essay/sample",
        "prompt": "Write an essay of 100-200 words on tea.",
        "axis": "The better essay argues more convincingly.",
        "criteria": ["argument", "clarity", "structure"],
        "length_target": {"min_words": 100, "max_words": 200},
        "reference": None,
        "source_language": None,
    }
    record.update(overrides)
    return record


def _translation(**overrides: object) -> dict:
    fields: dict[str, object] = {
        "task": "translation",
        "id": "translation/sample",
        "prompt": "Translate into English: Hola, mundo.",
        "reference": "Hello, world.",
        "source_language": "Spanish",
    }
    fields.update(overrides)
    return _item(**fields)


def _write(tmp_path: Path, lines: list[object], name: str = "items.jsonl") -> Path:
    path = tmp_path / name
    path.write_text(
        "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines),
        encoding="utf-8",
    )
    return path


# --- the shipped items -------------------------------------------------------------


@pytest.mark.parametrize("task", TASKS)
def test_each_task_ships_thirty_items_with_unique_ids(task: str) -> None:
    items = load_task_items(task)
    assert len(items) == 30
    assert len({item.id for item in items}) == 30
    assert all(isinstance(item, TaskItem) and item.task == task for item in items)
    assert all(item.id.startswith(f"{task}/") for item in items)
    assert all(3 <= len(item.criteria) <= 4 for item in items)
    assert len({item.prompt for item in items}) == 30


@pytest.mark.parametrize("task", ["essay", "grant_abstract", "incident_postmortem"])
def test_prompts_state_their_length_target(task: str) -> None:
    for item in load_task_items(task):
        assert f"{item.length_target.min_words}-{item.length_target.max_words} words" in item.prompt, item.id
        assert item.reference is None and item.source_language is None


def test_postmortem_prompts_name_the_required_sections() -> None:
    for item in load_task_items("incident_postmortem"):
        for section in ("Summary", "Impact", "Timeline", "Root cause", "Action items"):
            assert section in item.prompt, (item.id, section)


def test_translation_items_have_references_in_several_languages() -> None:
    items = load_task_items("translation")
    languages = {item.source_language for item in items}
    assert len(languages) >= 2 and "English" not in languages
    for item in items:
        assert item.reference and item.reference.strip()
        assert item.source_language in item.prompt
        passage = item.prompt.split("passage:\n\n", 1)[1]
        assert 60 <= word_count(passage) <= 150, item.id
        assert passage.strip() != item.reference.strip()
        assert item.length_target.contains(word_count(item.reference)), item.id


def test_sample_metadata_carries_the_contract_fields() -> None:
    item = load_task_items("translation")[0]
    metadata = item.sample_metadata()
    assert set(metadata) == {"task", "item_id", "task_prompt", "axis", "criteria", "reference"}
    assert metadata["item_id"] == item.id and metadata["reference"] == item.reference
    assert metadata["criteria"] == list(item.criteria)


def test_items_load_from_a_lab_file_by_path(tmp_path: Path) -> None:
    path = _write(tmp_path, [_item(), "", _item(id="essay/second")], name="my_essays.jsonl")
    by_string = load_task_items(str(path))
    by_path = load_task_items(path)
    assert [i.id for i in by_string] == ["essay/sample", "essay/second"] == [i.id for i in by_path]
    assert by_path[0].length_target.describe() == "100-200 words"


def test_unknown_task_name_is_refused() -> None:
    with pytest.raises(TaskItemError, match="unknown task.*essay, grant_abstract"):
        load_task_items("poetry")


# --- the judge-control texts --------------------------------------------------------


def test_control_texts_are_multi_paragraph_with_checkable_facts() -> None:
    controls = load_control_texts()
    assert len(controls) >= 15
    assert len({c.id for c in controls}) == len(controls)
    assert len({c.task for c in controls}) >= 3
    for control in controls:
        assert isinstance(control, ControlText)
        assert len(control.paragraphs) >= 3, control.id
        assert 120 <= word_count(control.text) <= 250, control.id
        assert control.facts and all(fact in control.text for fact in control.facts)
        assert any(re.search(r"\d", fact) for fact in control.facts), control.id
        assert control.prompt.strip() and control.axis.strip()


def test_split_paragraphs_uses_blank_lines() -> None:
    assert split_paragraphs("One.\nStill one.\n\n  \nTwo.\n\nThree.\n") == ["One.\nStill one.", "Two.", "Three."]


# --- errors name file, line and field ------------------------------------------------

ITEM_ERRORS = [
    ("bad_json", ['{"task": "essay", "id": '], None, "not valid JSON"),
    ("not_object", ["[1, 2]"], None, "expected a JSON object"),
    ("missing_field", [{k: v for k, v in _item().items() if k != "axis"}], "axis", "missing"),
    ("unknown_field", [_item(difficulty="hard")], "difficulty", "unknown field"),
    ("prompt_wrong_type", [_item(prompt=42)], "prompt", "must be a string"),
    ("empty_prompt", [_item(prompt="   ")], "prompt", "must not be empty"),
    ("criteria_not_list", [_item(criteria="accuracy")], "criteria", "list of strings"),
    ("criteria_bad_name", [_item(criteria=["accuracy; fluency"])], "criteria", "lower-case"),
    ("length_target_reversed", [_item(length_target={"min_words": 300, "max_words": 200})], "length_target", "min_words <= max_words"),
    ("length_target_string", [_item(length_target="250-350 words")], "length_target", "must be an object"),
    ("bad_id", [_item(id="sample one")], "id", "essay/<slug>"),
    ("unknown_task", [_item(task="poem", id="poem/x")], "task", "not a task"),
    ("duplicate_id", [_item(), _item()], "id", "duplicate id 'essay/sample'"),
    ("mixed_tasks", [_item(), _translation()], "task", "holds 'essay' items"),
    ("translation_without_reference", [_translation(reference=None)], "reference", "needs its reference"),
    ("translation_without_language", [_translation(source_language=None)], "source_language", "needs its source language"),
    ("essay_with_reference", [_item(reference="Hello.")], "reference", "only translation items"),
]


@pytest.mark.parametrize(("case", "lines", "field", "problem"), ITEM_ERRORS, ids=[e[0] for e in ITEM_ERRORS])
def test_item_errors_name_file_line_and_field(
    tmp_path: Path, case: str, lines: list[object], field: str | None, problem: str
) -> None:
    # A valid first line and a blank line, so the bad line's number is not simply 1.
    path = _write(tmp_path, [_item(id="essay/first"), "", *lines], name=f"{case}.jsonl")
    with pytest.raises(TaskItemError) as caught:
        load_task_items(path)
    error = caught.value
    message = str(error)
    expected_line = 3 + len(lines) - 1
    assert str(path) in message
    assert f"line {expected_line}" in message and error.line == expected_line
    assert problem in message
    assert error.file == str(path) and error.field == field
    if field is not None:
        assert f"field '{field}'" in message


def test_duplicate_id_error_points_at_the_first_occurrence(tmp_path: Path) -> None:
    path = _write(tmp_path, [_item(), _item(id="essay/other"), _item()])
    with pytest.raises(TaskItemError, match=r"line 3: field 'id': duplicate id 'essay/sample' \(first on line 1\)"):
        load_task_items(path)


def test_missing_and_empty_files_are_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.jsonl"
    with pytest.raises(TaskItemError, match="nowhere.jsonl: file not found"):
        load_task_items(missing)
    empty = _write(tmp_path, [""], name="empty.jsonl")
    with pytest.raises(TaskItemError, match="empty.jsonl: no items"):
        load_task_items(empty)


def _control(**overrides: object) -> dict:
    paragraph = "The bridge opened in 1932 after eight years of work by 1,400 people. " * 3
    record = {
        "id": "control/bridge",
        "task": "essay",
        "prompt": "Write a short essay on the bridge.",
        "axis": "The better essay is clearer and more accurate.",
        "text": "\n\n".join([paragraph.strip()] * 4),
        "facts": ["1932", "1,400"],
    }
    record.update(overrides)
    return record


CONTROL_ERRORS = [
    ("one_paragraph", _control(text=_control()["text"].replace("\n\n", " ")), "text", "at least 3 paragraphs"),
    ("too_short", _control(text="One.\n\nTwo.\n\nThree."), "text", "has 3 words"),
    ("fact_absent", _control(facts=["1933"]), "facts", "'1933' does not appear"),
    ("facts_empty", _control(facts=[]), "facts", "non-empty list"),
    ("missing_prompt", {k: v for k, v in _control().items() if k != "prompt"}, "prompt", "missing"),
    ("bad_id", _control(id="bridge"), "id", "control/<slug>"),
]


@pytest.mark.parametrize(("case", "record", "field", "problem"), CONTROL_ERRORS, ids=[e[0] for e in CONTROL_ERRORS])
def test_control_errors_name_file_line_and_field(
    tmp_path: Path, case: str, record: dict, field: str, problem: str
) -> None:
    path = _write(tmp_path, [_control(id="control/first"), record], name=f"{case}.jsonl")
    with pytest.raises(TaskItemError) as caught:
        load_control_texts(path)
    message = str(caught.value)
    assert str(path) in message and "line 2" in message and f"field '{field}'" in message
    assert problem in message


def test_a_valid_control_file_loads(tmp_path: Path) -> None:
    path = _write(tmp_path, [_control()], name="controls.jsonl")
    (control,) = load_control_texts(path)
    assert len(control.paragraphs) == 4 and control.facts == ("1932", "1,400")
