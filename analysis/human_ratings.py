"""Human ratings of judged pairs: the ratings file (a hand-off) and how it is read.

Why a file per rater: a rating study is run by people over days, in browsers that get
closed. `utility-gap rate` appends one line per rating the moment it is given, so
nothing is lost, and several raters rate the same sample into their own files; the
report (`utility-gap report --ratings FILE ...`) joins them with the panel's verdicts.

Schema: ratings file (JSONL, one rating a line, UTF-8; this docstring is the schema)
------------------------------------------------------------------------------------
=============== ============ =========================================================
field           type         meaning
=============== ============ =========================================================
schema          str          "utility-gap/rating/v1"
rater           str          the rater's id (non-empty, no surrounding spaces)
pair_key        str          the judged pair (`log::sample_id::epoch`, as in the frames)
shown_first     "a" | "b"    the side shown to the rater as output 1
choice          "1"|"2"|"tie" what the rater picked, as shown
verdict         "a"|"b"|"tie" the same choice in sides (`choice` + `shown_first`)
scores          object|null  optional rubric scores: {"a": {criterion: 1..10}, "b": {...}},
                             only the criteria the rater scored
time            str          ISO 8601 UTC time the rating was given
seconds         number|null  seconds the pair was on screen before the rating
=============== ============ =========================================================

The file holds nothing of the framing (arms, contrast, outcome, model) beyond what the
log name inside `pair_key` may say. A pair rated twice by one rater keeps its last
rating (the earlier ones are counted as replaced). Lines are validated on reading;
a bad line raises `RatingsError` naming the file, line and field.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

RATINGS_SCHEMA = "utility-gap/rating/v1"
CHOICES = ("1", "2", "tie")
VERDICTS = ("a", "b", "tie")
SCORE_RANGE = (1, 10)
RATING_COLUMNS = ("rater", "pair_key", "shown_first", "choice", "verdict", "time", "seconds", "file", "line")
SCORE_COLUMNS = ("rater", "pair_key", "side", "criterion", "score")


class RatingsError(ValueError):
    """A ratings file or rating that breaks the schema; the message names file, line and field."""


def verdict_of(choice: str, shown_first: str) -> str:
    """The side a choice as shown picks: "1" is the side shown first."""
    if choice == "tie":
        return "tie"
    other = "b" if shown_first == "a" else "a"
    return shown_first if choice == "1" else other


def rating_record(
    *,
    rater: str,
    pair_key: str,
    shown_first: str,
    choice: str,
    scores: Mapping[str, Mapping[str, int]] | None = None,
    seconds: float | None = None,
    time: datetime | None = None,
) -> dict[str, Any]:
    """One valid rating line (raises `RatingsError` on a bad field)."""
    record = {
        "schema": RATINGS_SCHEMA,
        "rater": rater,
        "pair_key": pair_key,
        "shown_first": shown_first,
        "choice": choice,
        "verdict": verdict_of(choice, shown_first) if shown_first in ("a", "b") and choice in CHOICES else None,
        "scores": {side: dict(values) for side, values in scores.items() if values} if scores else None,
        "time": (time or datetime.now(timezone.utc)).isoformat(timespec="seconds"),
        "seconds": None if seconds is None else round(float(seconds), 3),
    }
    _check(record, "<new rating>", 0)
    return record


def append_rating(path: str | os.PathLike[str], record: Mapping[str, Any]) -> None:
    """Append one rating and flush it to disk before returning (a closed browser loses nothing)."""
    _check(dict(record), str(path), 0)
    line = json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n"
    with open(path, "a", encoding="utf-8") as file:
        file.write(line)
        file.flush()
        os.fsync(file.fileno())


def _fail(file: str, line: int, field: str, message: str) -> RatingsError:
    where = f"{file}, line {line}" if line else file
    return RatingsError(f"{where}: field '{field}': {message}")


def _check(record: dict[str, Any], file: str, line: int) -> None:
    if record.get("schema") != RATINGS_SCHEMA:
        raise _fail(file, line, "schema", f"expected {RATINGS_SCHEMA!r}, got {record.get('schema')!r}.")
    for field in ("rater", "pair_key"):
        value = record.get(field)
        if not isinstance(value, str) or not value.strip() or value != value.strip():
            raise _fail(file, line, field, f"must be a non-empty string without surrounding spaces; got {value!r}.")
    if record.get("shown_first") not in ("a", "b"):
        raise _fail(file, line, "shown_first", f"must be 'a' or 'b'; got {record.get('shown_first')!r}.")
    if record.get("choice") not in CHOICES:
        raise _fail(file, line, "choice", f"must be '1', '2' or 'tie'; got {record.get('choice')!r}.")
    expected = verdict_of(record["choice"], record["shown_first"])
    if record.get("verdict") != expected:
        raise _fail(
            file, line, "verdict",
            f"is {record.get('verdict')!r} but choice {record['choice']!r} with shown_first "
            f"{record['shown_first']!r} means {expected!r}.",
        )
    scores = record.get("scores")
    if scores is not None:
        if not isinstance(scores, dict) or set(scores) - {"a", "b"}:
            raise _fail(file, line, "scores", "must be null or {'a': {criterion: score}, 'b': {...}}.")
        for side, values in scores.items():
            if not isinstance(values, dict):
                raise _fail(file, line, "scores", f"scores of side {side!r} must be an object.")
            for criterion, score in values.items():
                low, high = SCORE_RANGE
                if isinstance(score, bool) or not isinstance(score, int) or not low <= score <= high:
                    raise _fail(file, line, "scores", f"{side}/{criterion} = {score!r}; scores are integers {low}-{high}.")
    try:
        datetime.fromisoformat(str(record.get("time")))
    except ValueError:
        raise _fail(file, line, "time", f"{record.get('time')!r} is not an ISO 8601 time.") from None
    seconds = record.get("seconds")
    if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0
                                or math.isnan(seconds)):
        raise _fail(file, line, "seconds", f"must be null or a number >= 0; got {seconds!r}.")


@dataclass
class Ratings:
    """Every rating read: one row per (rater, pair) and one per rubric score given."""

    verdicts: pd.DataFrame  # RATING_COLUMNS
    scores: pd.DataFrame  # SCORE_COLUMNS
    files: list[str]
    n_replaced: int = 0  # earlier ratings of a pair superseded by the same rater's later one

    @property
    def raters(self) -> list[str]:
        return sorted(self.verdicts["rater"].unique())


def iter_ratings(path: str | os.PathLike[str]) -> Iterable[tuple[int, dict[str, Any]]]:
    """(line number, record) of each valid rating in one file; raises `RatingsError` on the first bad line."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RatingsError(f"{file}: no such ratings file (write one with `utility-gap rate LOGDIR --out {file}`).") from None
    except (OSError, UnicodeDecodeError) as ex:
        raise RatingsError(f"{file}: cannot be read: {ex}") from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as ex:
            raise RatingsError(f"{file}, line {number}: not valid JSON ({ex.msg}).") from None
        if not isinstance(record, dict):
            raise RatingsError(f"{file}, line {number}: a rating must be a JSON object.")
        _check(record, file, number)
        yield number, record


def read_ratings(paths: Sequence[str | os.PathLike[str]]) -> Ratings:
    """Read and validate ratings files; a pair a rater rated twice keeps the last rating."""
    rows: list[dict[str, Any]] = []
    for path in paths:
        for number, record in iter_ratings(path):
            rows.append({**{c: record.get(c) for c in RATING_COLUMNS[:-2]}, "file": str(path), "line": number,
                         "given_scores": record.get("scores")})
    if not rows:
        raise RatingsError(f"No ratings in {', '.join(map(str, paths)) or '(no files)'}: nothing to compare with the panel.")
    frame = pd.DataFrame(rows)
    frame["_order"] = range(len(frame))
    frame = frame.sort_values("time", kind="stable")
    last = frame.drop_duplicates(["rater", "pair_key"], keep="last").sort_values("_order")
    score_rows = [
        {"rater": row.rater, "pair_key": row.pair_key, "side": side, "criterion": str(criterion), "score": float(score)}
        for row in last.itertuples()
        for side, values in (row.given_scores or {}).items()
        for criterion, score in values.items()
    ]
    verdicts = last[list(RATING_COLUMNS)].reset_index(drop=True)
    verdicts["seconds"] = verdicts["seconds"].astype(float)
    return Ratings(
        verdicts=verdicts,
        scores=pd.DataFrame(score_rows, columns=list(SCORE_COLUMNS)),
        files=[str(p) for p in paths],
        n_replaced=len(frame) - len(last),
    )


def rated_pairs(path: str | os.PathLike[str], rater: str) -> set[str]:
    """The pair keys `rater` has already rated in a ratings file (empty if the file does not exist)."""
    if not Path(path).exists():
        return set()
    return {record["pair_key"] for _, record in iter_ratings(path) if record["rater"] == rater}
