"""Yes/no reading-comprehension items in BoolQ format (the entity reading task's data).

This docstring is the written schema.

File format
-----------
A UTF-8 JSONL file, one JSON object a line, as BoolQ ships it::

    {"question": "is bamboo a type of grass",
     "passage": "Bamboo belongs to the grass family, Poaceae. ...",
     "answer": true}

- `question` (str, non-empty): the yes/no question; a trailing `?` is optional.
- `passage` (str, non-empty): the text that answers it.
- `answer` (bool): the correct answer (`true` = yes). Strings such as "yes" are not
  accepted: write JSON `true`/`false`.
- `id` (str, optional): a stable item id; the default is `<file stem>-<line>`.
- `title` (str, optional): BoolQ's page title; kept, not shown to the model.

Blank lines are ignored. Any other problem (not a JSON object, a missing or unknown
field, a wrong type, a duplicate id, no items) raises `ReadingItemsError` naming the
file, the line and the field. Nothing is half-loaded.

Sources
-------
`load_reading_items(source)` takes

- `"sample"` (the default): `datasets/reading/boolq_sample.jsonl`, 42 items written for
  this project, for offline runs;
- a path to a `.jsonl` file in the format above;
- `"hf:<dataset>[:<split>][@<revision>]"`, e.g. `"hf:google/boolq:validation"`: a Hugging
  Face dataset with `question`, `passage` and `answer` columns, loaded with
  `datasets.load_dataset` at a fixed revision (a commit of the dataset's repository), so
  that the items do not change under a study. The split defaults to `validation`;
  `google/boolq` defaults to the revision in `PINNED_REVISIONS`; any other dataset needs
  `@<revision>` (or `@main`, which says that the items may change). This needs the
  `datasets` package (`pip install "utility-gap[hub]"`) and network access (or its local
  cache); without them the error says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from utility_gap.evals.data_files import dataset_path

SAMPLE_SOURCE = "sample"
HF_PREFIX = "hf:"
DEFAULT_HF_SPLIT = "validation"
# The commit of each known dataset repository that the items come from.
PINNED_REVISIONS: dict[str, str] = {"google/boolq": "35b264d03638db9f4ce671b711558bf7ff0f80d5"}
REQUIRED_FIELDS: tuple[str, ...] = ("question", "passage", "answer")
OPTIONAL_FIELDS: tuple[str, ...] = ("id", "title")


class ReadingItemsError(ValueError):
    """Reading items that cannot be used; the message names the source, line and field."""


@dataclass(frozen=True)
class ReadingItem:
    """One yes/no question about a passage."""

    id: str
    question: str
    passage: str
    answer: bool
    title: str | None = None

    @property
    def target(self) -> str:
        return "yes" if self.answer else "no"


def sample_items_path() -> Path:
    return dataset_path("reading", "boolq_sample.jsonl")


def _item(record: Any, where: str, default_id: str) -> ReadingItem:
    if not isinstance(record, dict):
        raise ReadingItemsError(f"{where}: expected a JSON object with question, passage and answer.")
    unknown = sorted(set(record) - set(REQUIRED_FIELDS) - set(OPTIONAL_FIELDS))
    if unknown:
        raise ReadingItemsError(
            f"{where}: unknown field(s) {', '.join(unknown)}; allowed: "
            f"{', '.join(REQUIRED_FIELDS + OPTIONAL_FIELDS)}."
        )
    for name in REQUIRED_FIELDS:
        if name not in record:
            raise ReadingItemsError(f"{where}: field '{name}' is missing.")
    for name in ("question", "passage"):
        if not isinstance(record[name], str) or not record[name].strip():
            raise ReadingItemsError(f"{where}: field '{name}' must be a non-empty string.")
    if not isinstance(record["answer"], bool):
        raise ReadingItemsError(
            f"{where}: field 'answer' must be JSON true or false, got {record['answer']!r}."
        )
    for name in OPTIONAL_FIELDS:
        value = record.get(name)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ReadingItemsError(f"{where}: field '{name}' must be a non-empty string when given.")
    return ReadingItem(
        id=str(record.get("id") or default_id),
        question=record["question"].strip(),
        passage=record["passage"].strip(),
        answer=record["answer"],
        title=record.get("title"),
    )


def _checked(items: list[ReadingItem], source: str) -> list[ReadingItem]:
    if not items:
        raise ReadingItemsError(f"{source}: no reading items found.")
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise ReadingItemsError(f"{source}: duplicate id '{item.id}'; give every item its own id.")
        seen.add(item.id)
    return items


def _from_file(path: Path) -> list[ReadingItem]:
    if not path.is_file():
        raise ReadingItemsError(
            f"{path}: no such reading-items file. Pass a BoolQ-format .jsonl, `sample`, or `hf:<dataset>[:<split>]`."
        )
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as ex:
        raise ReadingItemsError(f"{path}: not UTF-8 text ({ex.reason}).") from ex
    items = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}, line {number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as ex:
            raise ReadingItemsError(f"{where}: not valid JSON ({ex.msg}).") from ex
        items.append(_item(record, where, f"{path.stem}-{number}"))
    return _checked(items, str(path))


def _from_hugging_face(spec: str) -> list[ReadingItem]:
    location, _, revision = spec[len(HF_PREFIX):].partition("@")
    name, _, split = location.partition(":")
    if not name:
        raise ReadingItemsError(f"{spec}: name the dataset, e.g. hf:google/boolq:validation.")
    split = split or DEFAULT_HF_SPLIT
    revision = revision or PINNED_REVISIONS.get(name, "")
    if not revision:
        raise ReadingItemsError(
            f"{spec}: give the dataset revision (a commit of its repository) so that the items stay fixed, "
            f"e.g. hf:{name}:{split}@<commit>, or @main to accept that they may change."
        )
    try:
        from datasets import load_dataset  # optional dependency, imported only for hf: sources
    except ImportError as ex:
        raise ReadingItemsError(
            f"{spec}: loading a Hugging Face dataset needs the `datasets` package "
            '(pip install "utility-gap[hub]"); or pass a BoolQ-format .jsonl file, or `sample` for the shipped items.'
        ) from ex
    try:
        rows: Iterable[dict[str, Any]] = load_dataset(name, split=split, revision=revision)
    except Exception as ex:  # network, missing dataset or split: all reported the same way
        raise ReadingItemsError(
            f"{spec}: could not load split '{split}' of Hugging Face dataset '{name}' at revision {revision} "
            f"({type(ex).__name__}: {ex}). Check the name, split and network access, "
            "or pass a local BoolQ-format .jsonl file."
        ) from ex
    items = []
    for index, row in enumerate(rows):
        record = {key: row[key] for key in REQUIRED_FIELDS if key in row}
        record["id"] = f"{name.replace('/', '-')}-{split}-{index}"
        items.append(_item(record, f"{spec}, row {index}", record["id"]))
    return _checked(items, spec)


def load_reading_items(source: str | Path = SAMPLE_SOURCE) -> list[ReadingItem]:
    """Items from `sample`, a BoolQ-format .jsonl path, or `hf:<dataset>[:<split>][@<revision>]`."""
    text = str(source).strip()
    if text == SAMPLE_SOURCE:
        return _from_file(sample_items_path())
    if text.startswith(HF_PREFIX):
        return _from_hugging_face(text)
    return _from_file(Path(text))
