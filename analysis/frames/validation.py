"""Validation of frames against their schemas, so any data of this shape can be checked.

Why separate: the statistics accept frames built anywhere (logs, another harness's
table, a hand-made frame in a test); each can run the same check on its input, and
frames built from logs are typed here before they are returned.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from utility_gap.analysis.frames.schemas import (
    _TEXT_DTYPES,
    JUDGED_PAIRS_SCHEMA,
    WINNERS,
    FrameError,
)


def typed_frame(records: list[dict[str, Any]], schema: dict[str, tuple[str, bool]]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(records, columns=list(schema))
    for column, (dtype, _) in schema.items():
        if dtype == "object":
            frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
        else:
            frame[column] = frame[column].astype(dtype)
    return frame


def columns_of(records: list[dict[str, Any]], columns: Sequence[str]) -> dict[str, list[Any]]:
    """Row dicts as columns (a key missing from a row is NaN, as in `typed_frame`)."""
    return {column: [row.get(column, np.nan) for row in records] for column in columns}


def typed_columns(columns: dict[str, list[Any]], schema: dict[str, tuple[str, bool]]) -> pd.DataFrame:
    """The frame `typed_frame` makes of the same rows, from columns (`columns_of`), without the row-to-column work.

    Why: a 50k-pair report builds frames of a million rubric rows from cached columns; going
    through row dicts and pandas' string inference (then back to object) was most of it.
    A text column of only strings and None is taken as it is; any other column goes
    through pandas' inference, as `DataFrame.from_records` would, then the schema's dtype.
    """
    data: dict[str, pd.Series] = {}
    for column, (dtype, _) in schema.items():
        values = columns[column]
        if dtype == "object" and set(map(type, values)) <= _STR_OR_NONE:
            data[column] = pd.Series(values, dtype=object)
            continue
        inferred = pd.Series(values) if values else pd.Series([], dtype=object)
        if dtype == "object":
            data[column] = inferred.astype(object).where(inferred.notna(), None)
        else:
            data[column] = inferred.astype(dtype)
    return pd.DataFrame(data, columns=list(schema))


_STR_OR_NONE = frozenset({str, type(None)})


def validate_frame(frame: pd.DataFrame, schema: dict[str, tuple[str, bool]], name: str) -> None:
    """Raise FrameError unless `frame` has every schema column with its dtype and no stray nulls."""
    missing = [c for c in schema if c not in frame.columns]
    if missing:
        raise FrameError(f"The {name} frame lacks column(s) {', '.join(missing)}; see utility_gap.analysis.frames.")
    for column, (dtype, nullable) in schema.items():
        accepted = _TEXT_DTYPES if dtype == "object" else {dtype}
        if str(frame[column].dtype) not in accepted:
            raise FrameError(
                f"The {name} frame's column '{column}' has dtype {frame[column].dtype}; expected {dtype}."
            )
        if not nullable and frame[column].isna().any():
            raise FrameError(f"The {name} frame's column '{column}' has missing values; it must not.")
    if name == "judged-pairs":
        bad = sorted(set(frame["winner"]) - WINNERS)
        if bad:
            raise FrameError(f"The judged-pairs frame's column 'winner' has values {bad}; allowed: a, b, tie.")


def validate_judged_pairs(frame: pd.DataFrame) -> None:
    """The check every statistic can run on its input: columns, dtypes, winners."""
    validate_frame(frame, JUDGED_PAIRS_SCHEMA, "judged-pairs")
