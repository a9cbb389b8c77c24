"""Stage 2 writing-task items and the judge-control texts: the written schema and loaders.

Task items
==========
`datasets/tasks/<task>.jsonl`, one JSON object a line, for each task in `TASKS`
(`essay`, `grant_abstract`, `incident_postmortem`, `translation`)::

    {"task": "essay", "id": "essay/city-cycling",
     "prompt": "Write an argumentative essay of 300-400 words on ... Structure: ...",
     "axis": "Which essay argues its position more convincingly ...",
     "criteria": ["argument", "structure", "evidence", "clarity"],
     "length_target": {"min_words": 300, "max_words": 400},
     "reference": null, "source_language": null}

Fields (nothing else is allowed; a blank line is skipped):

- `task` (str, required): one of `TASKS`; every line of a file has the same task, and a
  file loaded by task name must hold that task.
- `id` (str, required): unique within the file, stable, `<task>/<slug>`, no whitespace.
- `prompt` (str, required, non-empty): the bare task exactly as the model is given it,
  complete and self-contained: the material (facts, timeline, source passage), the length
  target in words and the required structure. Framing arms wrap this text; judges see it.
- `axis` (str, required, non-empty): one sentence saying what "better" means for the
  judges. The shipped files use one axis per task, repeated on every item.
- `criteria` (list of str, required): 1-6 distinct rubric criterion names (the shipped
  items have 3-4), each lower case letters, digits, spaces, `_` or `-`, at most 40
  characters (the rubric prompt joins them with `;` and parses `SCORE <name>: n`).
- `length_target` (object, required): `{"min_words": int, "max_words": int}` with
  `0 < min_words <= max_words`: the word range the output should fall in. For
  translation it is a loose range around the reference's length.
- `reference` (str or null, optional, default null): the reference English translation.
  Required (non-empty) for `translation`; must be null for every other task.
- `source_language` (str or null, optional, default null): the language of the source
  passage (English name, e.g. "Spanish"). Required for `translation`; null otherwise.

API: `TaskItem`, `LengthTarget`, `load_task_items(task_or_path) -> list[TaskItem]`,
`TASKS`, `TaskItemError(ValueError)`. `load_task_items("essay")` reads the shipped file;
`load_task_items("/lab/my_essays.jsonl")` (any path ending `.jsonl`, or a `Path`) reads a
lab's own file under the same rules.

Judge-control texts
===================
`datasets/judge_controls/intact.jsonl`, one JSON object a line: well-written short texts
that the judge-control task damages (truncation, shuffled paragraphs, corrupted facts,
typos) and pairs against their intact selves::

    {"id": "control/harbour-bridge-history", "task": "essay",
     "prompt": "Write a short essay of 150-250 words on ...",
     "axis": "Which essay ...",
     "text": "First paragraph...\\n\\nSecond paragraph...\\n\\nThird paragraph...",
     "facts": ["1932", "Bradfield", "52,800 tonnes"]}

- `id` (str, required): unique, `control/<slug>`.
- `task` (str, required): one of `TASKS`: the kind of task the text answers.
- `prompt` (str, required): the bare task the text answers (what a judge is shown).
- `axis` (str, required): what "better" means for the judges.
- `text` (str, required): 120-250 words, at least 3 paragraphs separated by blank lines.
- `facts` (list of str, required, non-empty): concrete facts (numbers, names, dates),
  each appearing verbatim in `text`, that a "corrupted facts" damage can alter.

API: `ControlText` (with `.paragraphs`), `load_control_texts(path=None) -> list[ControlText]`.

Errors: every problem raises `TaskItemError`, whose message names the file, the line (1-based)
and the field, says what is wrong and what would fix it; `.file`, `.line`, `.field` carry the
same for code.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from utility_gap.evals.data_files import dataset_path

TASKS: tuple[str, ...] = ("essay", "grant_abstract", "incident_postmortem", "translation")
"""The Stage 2 writing tasks; each has `datasets/tasks/<task>.jsonl`."""

CONTROL_TEXT_WORDS = (120, 250)
"""Allowed word count of a judge-control text (inclusive)."""

CONTROL_MIN_PARAGRAPHS = 3

_CRITERION_RE = re.compile(r"^[a-z0-9][a-z0-9 _-]{0,39}$")
_ITEM_FIELDS = (
    "task",
    "id",
    "prompt",
    "axis",
    "criteria",
    "length_target",
    "reference",
    "source_language",
)
_ITEM_OPTIONAL = ("reference", "source_language")
_CONTROL_FIELDS = ("id", "task", "prompt", "axis", "text", "facts")
_PARAGRAPH_SPLIT = re.compile(r"\n\s*\n")


class TaskItemError(ValueError):
    """A task-item or control-text file is wrong; the message says where and how to fix it."""

    def __init__(self, file: str | Path, line: int | None, field: str | None, problem: str) -> None:
        self.file = str(file)
        self.line = line
        self.field = field
        where = self.file if line is None else f"{self.file}, line {line}"
        what = f"field '{field}': " if field else ""
        super().__init__(f"{where}: {what}{problem}")


@dataclass(frozen=True)
class LengthTarget:
    """The word range an output should fall in."""

    min_words: int
    max_words: int

    def describe(self) -> str:
        return f"{self.min_words}-{self.max_words} words"

    def contains(self, n_words: int) -> bool:
        return self.min_words <= n_words <= self.max_words


@dataclass(frozen=True)
class TaskItem:
    """One writing-task item: the bare prompt and how its outputs are judged."""

    task: str
    id: str
    prompt: str
    axis: str
    criteria: tuple[str, ...]
    length_target: LengthTarget
    reference: str | None
    source_language: str | None

    def sample_metadata(self) -> dict[str, Any]:
        """The item's part of a paired sample's `Sample.metadata` (see architecture.md)."""
        return {
            "task": self.task,
            "item_id": self.id,
            "task_prompt": self.prompt,
            "axis": self.axis,
            "criteria": list(self.criteria),
            "reference": self.reference,
        }


@dataclass(frozen=True)
class ControlText:
    """A well-written text of known quality, to be paired against damaged copies of itself."""

    id: str
    task: str
    prompt: str
    axis: str
    text: str
    facts: tuple[str, ...]

    @property
    def paragraphs(self) -> list[str]:
        return split_paragraphs(self.text)


def split_paragraphs(text: str) -> list[str]:
    """Paragraphs of a text: blocks separated by one or more blank lines."""
    return [p.strip() for p in _PARAGRAPH_SPLIT.split(text.strip()) if p.strip()]


def word_count(text: str) -> int:
    return len(text.split())


def task_items_path(task: str) -> Path:
    """The shipped items file of a task."""
    return dataset_path("tasks", f"{task}.jsonl")


def control_texts_path() -> Path:
    """The shipped judge-control texts."""
    return dataset_path("judge_controls", "intact.jsonl")


def load_task_items(task_or_path: str | Path) -> list[TaskItem]:
    """The items of a shipped task (`"essay"`) or of a lab's own file (path ending `.jsonl`)."""
    if isinstance(task_or_path, Path) or str(task_or_path).endswith(".jsonl"):
        path, expected = Path(task_or_path), None
    elif task_or_path in TASKS:
        path, expected = task_items_path(str(task_or_path)), str(task_or_path)
    else:
        raise TaskItemError(
            str(task_or_path),
            None,
            None,
            f"unknown task; use one of {', '.join(TASKS)} or a path to a .jsonl items file.",
        )
    items: list[TaskItem] = []
    seen: dict[str, int] = {}
    file_task = expected
    for line_no, record in _read_jsonl(path):
        item = _parse_item(path, line_no, record)
        if file_task is None:
            file_task = item.task
        elif item.task != file_task:
            raise TaskItemError(
                path,
                line_no,
                "task",
                f"'{item.task}' but this file holds '{file_task}' items; "
                "put each task's items in their own file.",
            )
        if item.id in seen:
            raise TaskItemError(
                path, line_no, "id", f"duplicate id '{item.id}' (first on line {seen[item.id]}); ids must be unique."
            )
        seen[item.id] = line_no
        items.append(item)
    if not items:
        raise TaskItemError(path, None, None, "no items; write one JSON object per line.")
    return items


def load_control_texts(path: str | Path | None = None) -> list[ControlText]:
    """The judge-control texts: the shipped set, or a lab's own file of the same schema."""
    path = control_texts_path() if path is None else Path(path)
    texts: list[ControlText] = []
    seen: dict[str, int] = {}
    for line_no, record in _read_jsonl(path):
        control = _parse_control(path, line_no, record)
        if control.id in seen:
            raise TaskItemError(
                path,
                line_no,
                "id",
                f"duplicate id '{control.id}' (first on line {seen[control.id]}); ids must be unique.",
            )
        seen[control.id] = line_no
        texts.append(control)
    if not texts:
        raise TaskItemError(path, None, None, "no control texts; write one JSON object per line.")
    return texts


def _read_jsonl(path: Path) -> list[tuple[int, dict[str, Any]]]:
    if not path.is_file():
        raise TaskItemError(path, None, None, "file not found; check the path (it must be a .jsonl file).")
    records: list[tuple[int, dict[str, Any]]] = []
    with path.open(encoding="utf-8") as handle:
        for line_no, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except json.JSONDecodeError as error:
                raise TaskItemError(
                    path, line_no, None, f"not valid JSON ({error.msg} at column {error.colno}); one object per line."
                ) from None
            if not isinstance(record, dict):
                raise TaskItemError(path, line_no, None, "expected a JSON object, got " + type(record).__name__ + ".")
            records.append((line_no, record))
    return records


def _check_fields(path: Path, line: int, record: dict[str, Any], allowed: tuple[str, ...], optional: tuple[str, ...]) -> None:
    for key in record:
        if key not in allowed:
            raise TaskItemError(path, line, key, f"unknown field; allowed fields are {', '.join(allowed)}.")
    for key in allowed:
        if key not in record and key not in optional:
            raise TaskItemError(path, line, key, "missing; every line needs it.")


def _text(path: Path, line: int, record: dict[str, Any], key: str) -> str:
    value = record.get(key)
    if not isinstance(value, str):
        raise TaskItemError(path, line, key, f"must be a string, got {_type_name(value)}.")
    if not value.strip():
        raise TaskItemError(path, line, key, "must not be empty.")
    return value


def _optional_text(path: Path, line: int, record: dict[str, Any], key: str) -> str | None:
    value = record.get(key)
    if value is None:
        return None
    return _text(path, line, record, key)


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _parse_id(path: Path, line: int, record: dict[str, Any], prefix: str) -> str:
    value = _text(path, line, record, "id")
    if not value.startswith(prefix + "/") or len(value) == len(prefix) + 1 or re.search(r"\s", value):
        raise TaskItemError(path, line, "id", f"'{value}' must look like '{prefix}/<slug>' with no whitespace.")
    return value


def _parse_task(path: Path, line: int, record: dict[str, Any]) -> str:
    task = _text(path, line, record, "task")
    if task not in TASKS:
        raise TaskItemError(path, line, "task", f"'{task}' is not a task; use one of {', '.join(TASKS)}.")
    return task


def _parse_item(path: Path, line: int, record: dict[str, Any]) -> TaskItem:
    _check_fields(path, line, record, _ITEM_FIELDS, _ITEM_OPTIONAL)
    task = _parse_task(path, line, record)
    item_id = _parse_id(path, line, record, task)
    prompt = _text(path, line, record, "prompt")
    axis = _text(path, line, record, "axis")

    criteria = record["criteria"]
    if not isinstance(criteria, list) or not all(isinstance(c, str) for c in criteria):
        raise TaskItemError(path, line, "criteria", f"must be a list of strings, got {_type_name(criteria)}.")
    if not 1 <= len(criteria) <= 6 or len(set(criteria)) != len(criteria):
        raise TaskItemError(path, line, "criteria", "must hold 1-6 distinct criterion names (3-4 recommended).")
    for criterion in criteria:
        if not _CRITERION_RE.match(criterion):
            raise TaskItemError(
                path,
                line,
                "criteria",
                f"'{criterion}' must be 1-40 lower-case letters, digits, spaces, '_' or '-'.",
            )

    target = record["length_target"]
    if not isinstance(target, dict) or set(target) != {"min_words", "max_words"}:
        raise TaskItemError(
            path, line, "length_target", 'must be an object {"min_words": int, "max_words": int}.'
        )
    low, high = target["min_words"], target["max_words"]
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (low, high)) or not 0 < low <= high:
        raise TaskItemError(
            path, line, "length_target", f"needs integers 0 < min_words <= max_words, got {low!r} and {high!r}."
        )

    reference = _optional_text(path, line, record, "reference")
    source_language = _optional_text(path, line, record, "source_language")
    if task == "translation":
        if reference is None:
            raise TaskItemError(path, line, "reference", "a translation item needs its reference English translation.")
        if source_language is None:
            raise TaskItemError(path, line, "source_language", "a translation item needs its source language.")
    else:
        for key, value in (("reference", reference), ("source_language", source_language)):
            if value is not None:
                raise TaskItemError(path, line, key, f"only translation items have one; set it to null for '{task}'.")

    return TaskItem(
        task=task,
        id=item_id,
        prompt=prompt,
        axis=axis,
        criteria=tuple(criteria),
        length_target=LengthTarget(low, high),
        reference=reference,
        source_language=source_language,
    )


def _parse_control(path: Path, line: int, record: dict[str, Any]) -> ControlText:
    _check_fields(path, line, record, _CONTROL_FIELDS, ())
    control_id = _parse_id(path, line, record, "control")
    task = _parse_task(path, line, record)
    prompt = _text(path, line, record, "prompt")
    axis = _text(path, line, record, "axis")
    text = _text(path, line, record, "text")
    n_words = word_count(text)
    low, high = CONTROL_TEXT_WORDS
    if not low <= n_words <= high:
        raise TaskItemError(path, line, "text", f"has {n_words} words; a control text needs {low}-{high}.")
    if len(split_paragraphs(text)) < CONTROL_MIN_PARAGRAPHS:
        raise TaskItemError(
            path,
            line,
            "text",
            f"needs at least {CONTROL_MIN_PARAGRAPHS} paragraphs separated by blank lines ('\\n\\n').",
        )
    facts = record["facts"]
    if not isinstance(facts, list) or not facts or not all(isinstance(f, str) and f.strip() for f in facts):
        raise TaskItemError(path, line, "facts", "must be a non-empty list of non-empty strings.")
    for fact in facts:
        if fact not in text:
            raise TaskItemError(path, line, "facts", f"'{fact}' does not appear verbatim in the text.")
    return ControlText(id=control_id, task=task, prompt=prompt, axis=axis, text=text, facts=tuple(facts))
