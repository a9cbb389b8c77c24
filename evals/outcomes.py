"""Outcome sets: the states of the world a model is asked to choose between (Stage 1).

This docstring is the written schema of an outcome set.

File format
-----------
An outcome set is a UTF-8 JSONL file, one JSON object a line. The shipped sets live in
`datasets/outcomes/<domain>.jsonl` (installed as `utility_gap/datasets/outcomes/`); the
domain of a file is its name without `.jsonl`. A line looks like::

    {"id": "countries/cured-1000-japan",
     "text": "1,000 people in Japan are cured of a terminal illness.",
     "entity": "Japan", "quantity": 1000, "kind": "cured"}

Fields (all five required, no others allowed):

- `id` (str): unique within the file and stable across releases, written
  `<domain>/<slug>`; the slug is letters, digits, `.`, `_` or `-`, starting with a
  letter or digit. Analyses and utilities files join on it, so never reuse an id for a
  different text.
- `text` (str, non-empty): the outcome as one or more full English sentences. It is
  shown to the model verbatim, in forced choices and as the sponsor's promise in the
  utility arms, so it must read on its own.
- `entity` (str or null): what the outcome is about, for grouping (a country, religion,
  species, policy, "the user", an AI system); null when there is none. Not empty.
- `quantity` (number or null): the amount in the outcome (people, animals, dollars,
  a multiplier); null when there is none. Booleans are not numbers here.
- `kind` (str, non-empty): what happens, for grouping (`cured`, `saved`, `enacted`,
  `repealed`, `money`, ...).

Blank lines are ignored. Any other problem -- a line that is not a JSON object, a
missing or unknown field, a wrong type, an empty text, a duplicate id, an id without its
`<domain>/` prefix, or a file with no outcomes -- raises `OutcomeSetError` naming the
file, the line, the field and what would fix it. Nothing is half-loaded.

API
---
`load_outcomes("countries")` loads a shipped domain; `load_outcomes("my/set.jsonl")`
loads a user's file (anything ending in `.jsonl` or containing a path separator is a
path; its ids must start with the file's stem, e.g. `set/...`). `list_domains()` names
the shipped domains; `outcome_set_domain("my/set.jsonl")` is the domain (`set`) that a
name or path stands for.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from utility_gap.evals.data_files import dataset_path

OUTCOMES_FOLDER = "outcomes"
REQUIRED_FIELDS: tuple[str, ...] = ("id", "text", "entity", "quantity", "kind")
_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_DOMAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class OutcomeSetError(ValueError):
    """An outcome set that cannot be used; the message names file, line and field."""


@dataclass(frozen=True)
class Outcome:
    """One state of the world a model may prefer."""

    id: str
    text: str
    entity: str | None
    quantity: int | float | None
    kind: str
    domain: str

    def as_record(self) -> dict[str, Any]:
        """The JSONL line for this outcome (the file has no `domain` field)."""
        return {
            "id": self.id,
            "text": self.text,
            "entity": self.entity,
            "quantity": self.quantity,
            "kind": self.kind,
        }


def outcomes_dir() -> Path:
    """The folder of shipped outcome sets."""
    return dataset_path(OUTCOMES_FOLDER)


def list_domains() -> list[str]:
    """The shipped outcome domains, sorted (file stems in `datasets/outcomes/`)."""
    folder = outcomes_dir()
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.jsonl") if p.is_file())


def load_outcomes(domain_or_path: str | os.PathLike[str]) -> list[Outcome]:
    """Load and check an outcome set, by shipped domain name or by path to a .jsonl file."""
    path, domain = _resolve(domain_or_path)
    return _parse_file(path, domain)


def outcome_set_domain(domain_or_path: str | os.PathLike[str]) -> str:
    """The domain a shipped name or an outcome file stands for (`my/set.jsonl` -> `set`).

    Checks that the file or shipped domain exists, without parsing it, so a task can
    compare a utilities file's `domain` with a `-T domain=` that is a path.
    """
    return _resolve(domain_or_path)[1]


def is_outcome_path(value: str | os.PathLike[str]) -> bool:
    """Whether a `domain` argument names a file rather than a shipped domain."""
    return isinstance(value, os.PathLike) or _looks_like_path(str(value))


def _looks_like_path(value: str) -> bool:
    return value.endswith(".jsonl") or "/" in value or os.sep in value or (
        os.altsep is not None and os.altsep in value
    )


def _resolve(domain_or_path: str | os.PathLike[str]) -> tuple[Path, str]:
    if isinstance(domain_or_path, os.PathLike) or _looks_like_path(str(domain_or_path)):
        path = Path(domain_or_path).expanduser()
        if not path.is_file():
            raise OutcomeSetError(
                f"{path}: no such outcome file. Pass an existing .jsonl file, or one of the "
                f"shipped domains: {_available()}."
            )
        domain = path.name[: -len(".jsonl")] if path.name.endswith(".jsonl") else path.stem
        if not _DOMAIN.match(domain):
            raise OutcomeSetError(
                f"{path}: the file name gives the domain '{domain}', which is not a valid domain "
                "name. Rename the file to letters, digits, '.', '_' or '-' plus '.jsonl'."
            )
        return path, domain
    domain = str(domain_or_path)
    domains = list_domains()
    if domain not in domains:
        raise OutcomeSetError(
            f"Unknown outcome domain '{domain}'. Available domains: {_available()}. "
            "Or pass a path to your own .jsonl outcome file."
        )
    return outcomes_dir() / f"{domain}.jsonl", domain


def _available() -> str:
    return ", ".join(list_domains()) or "(none installed)"


def _parse_file(path: Path, domain: str) -> list[Outcome]:
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise OutcomeSetError(f"{path}: cannot read the outcome file ({err}).") from err
    try:
        content = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise OutcomeSetError(
            f"{path}: not valid UTF-8 (byte {err.start}). Save the file as UTF-8."
        ) from err

    outcomes: list[Outcome] = []
    first_line_of: dict[str, int] = {}
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        outcome = _parse_line(path, number, line, domain)
        if outcome.id in first_line_of:
            raise OutcomeSetError(
                f"{path}, line {number}, field 'id': duplicate id '{outcome.id}' (first on line "
                f"{first_line_of[outcome.id]}). Give every outcome its own id."
            )
        first_line_of[outcome.id] = number
        outcomes.append(outcome)
    if not outcomes:
        raise OutcomeSetError(f"{path}: the file holds no outcomes. Add one JSON object a line.")
    return outcomes


def _parse_line(path: Path, number: int, line: str, domain: str) -> Outcome:
    where = f"{path}, line {number}"
    try:
        record = json.loads(line)
    except json.JSONDecodeError as err:
        raise OutcomeSetError(
            f"{where}: not valid JSON ({err.msg} at column {err.colno}). "
            "Write one complete JSON object per line."
        ) from err
    if not isinstance(record, dict):
        raise OutcomeSetError(
            f"{where}: expected a JSON object with fields {', '.join(REQUIRED_FIELDS)}, "
            f"got {type(record).__name__}."
        )
    for field in REQUIRED_FIELDS:
        if field not in record:
            raise OutcomeSetError(
                f"{where}, field '{field}': missing. Every outcome needs "
                f"{', '.join(REQUIRED_FIELDS)} (use null for entity/quantity when there is none)."
            )
    unknown = sorted(set(record) - set(REQUIRED_FIELDS))
    if unknown:
        raise OutcomeSetError(
            f"{where}, field '{unknown[0]}': unknown field. Allowed fields are "
            f"{', '.join(REQUIRED_FIELDS)}; remove '{unknown[0]}'."
        )

    outcome_id = _string(where, "id", record["id"])
    prefix = f"{domain}/"
    slug = outcome_id[len(prefix) :] if outcome_id.startswith(prefix) else None
    if slug is None:
        raise OutcomeSetError(
            f"{where}, field 'id': '{outcome_id}' must start with '{prefix}' (the domain, i.e. "
            f"the file name without .jsonl). Write it as '{prefix}<slug>'."
        )
    if not _SLUG.match(slug):
        raise OutcomeSetError(
            f"{where}, field 'id': slug '{slug}' is not valid. Use letters, digits, '.', '_' "
            "or '-', starting with a letter or digit."
        )
    text = _string(where, "text", record["text"])
    entity = record["entity"]
    if entity is not None:
        entity = _string(where, "entity", entity, nullable=True)
    quantity = record["quantity"]
    if quantity is not None and (isinstance(quantity, bool) or not isinstance(quantity, (int, float))):
        raise OutcomeSetError(
            f"{where}, field 'quantity': expected a number or null, got "
            f"{type(quantity).__name__} {quantity!r}. Write it as a bare JSON number."
        )
    kind = _string(where, "kind", record["kind"])
    return Outcome(
        id=outcome_id, text=text, entity=entity, quantity=quantity, kind=kind, domain=domain
    )


def _string(where: str, field: str, value: Any, *, nullable: bool = False) -> str:
    alternative = " or null" if nullable else ""
    if not isinstance(value, str):
        raise OutcomeSetError(
            f"{where}, field '{field}': expected a string{alternative}, got "
            f"{type(value).__name__} {value!r}. Write it as a JSON string{alternative}."
        )
    if not value.strip():
        fix = "use null when there is none" if nullable else "write a non-empty string"
        raise OutcomeSetError(f"{where}, field '{field}': empty. Fill it in ({fix}).")
    return value
