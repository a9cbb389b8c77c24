"""A judged-pairs table from elsewhere -> the suite's judged-pairs frame.

Why: the statistics take the judged-pairs frame, not logs, so any data of that shape can
be analysed the same way — another harness's verdicts, a human rating study, a published
study's released pairs. A `ColumnMapping` says which column is the model, the task and the
winner, which values of the winner column mean "side a won", "side b won", "tie" and
"unresolved", and optionally which columns hold the contrast, item, pair id, arms, outcome
domain and utilities, and exclusion flags. `read_pairs_table` reads a CSV/TSV/Parquet file,
maps it, builds the frame with the frames' own `typed_frame` and checks it with
`validate_judged_pairs`.

Unresolved pairs (a winner value listed as unresolved, or an empty winner cell) are not
rows of the frame — there is no verdict to count — but they are counted per cell in
`PairsTable.unresolved`, and the report prints them. A winner value that is in none of
the lists is an error that names it, so nothing is coerced silently.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from utility_gap.analysis.frames import FLAGS, JUDGED_PAIRS_SCHEMA, FrameError, typed_frame, validate_judged_pairs

TABLE_SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet"}
DEFAULT_CONTRAST = "a_vs_b"
_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f", ""}
# mapping keys that name a column of the table (all optional but model, task, winner)
COLUMN_KEYS = (
    "model", "task", "winner", "contrast", "item", "pair_id", "arm_a", "arm_b", "domain",
    "utility_a", "utility_b", *(f"flag_{f}" for f in FLAGS),
)


@dataclass(frozen=True)
class ColumnMapping:
    """Which column holds what, and which winner values mean what (docs/analysis.md)."""

    model: str
    task: str
    winner: str
    a_wins: tuple[str, ...] = ("a",)
    b_wins: tuple[str, ...] = ("b",)
    tie: tuple[str, ...] = ("tie",)
    unresolved: tuple[str, ...] = ()
    contrast: str | None = None  # column; without it every pair is `contrast_name`
    contrast_name: str = DEFAULT_CONTRAST
    item: str | None = None  # column; without it every pair is its own item
    pair_id: str | None = None  # column; without it the row number (1 = first data row)
    arm_a: str | None = None  # columns; without them the arms come from the contrast name
    arm_b: str | None = None
    domain: str | None = None
    utility_a: str | None = None
    utility_b: str | None = None
    flag_empty: str | None = None
    flag_truncated: str | None = None
    flag_refusal: str | None = None
    flag_leak: str | None = None

    def __post_init__(self) -> None:
        values = {"a_wins": self.a_wins, "b_wins": self.b_wins, "tie": self.tie, "unresolved": self.unresolved}
        for name in ("a_wins", "b_wins"):
            if not values[name]:
                raise FrameError(f"column mapping: '{name}' needs at least one winner value.")
        seen: dict[str, str] = {}
        for name, listed in values.items():
            for value in listed:
                if value in seen:
                    raise FrameError(
                        f"column mapping: winner value {value!r} is listed under both '{seen[value]}' and '{name}'."
                    )
                seen[value] = name

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any], source: str = "column mapping") -> ColumnMapping:
        """Build from a dict (a mapping file or the command line); unknown keys are named."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(spec) - known)
        if unknown:
            raise FrameError(f"{source}: unknown key(s) {unknown}; known keys: {sorted(known)}.")
        missing = [k for k in ("model", "task", "winner") if not spec.get(k)]
        if missing:
            raise FrameError(
                f"{source}: say which column holds {', '.join(missing)} (e.g. --map model=MODEL_COLUMN,"
                "task=TASK_COLUMN,winner=WINNER_COLUMN)."
            )
        values: dict[str, Any] = {}
        for key, value in spec.items():
            if key in ("a_wins", "b_wins", "tie", "unresolved"):
                listed = [value] if isinstance(value, (str, int, float)) else list(value or [])
                values[key] = tuple(str(v).strip() for v in listed)
            elif value is not None:
                values[key] = str(value)
        return cls(**values)

    def columns(self) -> dict[str, str]:
        """Mapping key -> table column, for every key that names a column."""
        return {key: getattr(self, key) for key in COLUMN_KEYS if getattr(self, key) is not None}

    def describe(self) -> dict[str, str]:
        """What the report prints: every mapped column and every winner value list."""
        out = {key: f"`{column}`" for key, column in self.columns().items()}
        if self.contrast is None:
            out["contrast"] = f"all pairs: {self.contrast_name}"
        for key in ("a_wins", "b_wins", "tie", "unresolved"):
            out[key] = ", ".join(repr(v) for v in getattr(self, key)) or "–"
        return out


@dataclass
class PairsTable:
    """A foreign table read as a judged-pairs frame, with what was not a verdict."""

    path: Path
    mapping: ColumnMapping
    pairs: pd.DataFrame  # the judged-pairs frame (validated)
    n_rows: int  # data rows in the file
    unresolved: pd.DataFrame  # contrast, model, task, n_unresolved (cells with at least one)
    unresolved_values: dict[str, int] = field(default_factory=dict)  # raw value -> rows ("" = empty cell)
    sha256: str = ""

    @property
    def n_unresolved(self) -> int:
        return int(self.unresolved["n_unresolved"].sum()) if len(self.unresolved) else 0


def read_table(path: str | Path) -> pd.DataFrame:
    """A CSV, TSV or Parquet file as a DataFrame of text (CSV/TSV) or its own dtypes (Parquet)."""
    path = Path(path)
    kind = TABLE_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise FrameError(f"Table '{path}': unknown file type '{path.suffix}'; use .csv, .tsv or .parquet.")
    if not path.is_file():
        raise FrameError(f"Table '{path}' does not exist.")
    try:
        if kind == "parquet":
            return pd.read_parquet(path)
        # text: every cell a string, only an empty cell is missing ("NA" may be a real winner label)
        return pd.read_csv(path, sep="\t" if kind == "tsv" else ",", dtype=str, keep_default_na=False,
                           na_values=[""])
    except (ValueError, OSError, pd.errors.ParserError) as ex:
        raise FrameError(f"Table '{path}' could not be read as {kind}: {ex}") from ex


def _text(series: pd.Series) -> pd.Series:
    """Values as stripped text; missing stays missing (numbers keep no trailing '.0')."""
    def one(value: Any) -> Any:
        if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
            return None
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            value = int(value)
        return str(value).strip()
    return series.map(one)


def _required_text(table: pd.DataFrame, key: str, column: str, path: Path) -> pd.Series:
    values = _text(table[column])
    empty = values.isna() | (values == "")
    if empty.any():
        rows = (np.flatnonzero(empty.to_numpy()) + 1)[:5].tolist()
        raise FrameError(
            f"Table '{path}': column '{column}' (the {key}) is empty in {int(empty.sum())} row(s), e.g. data "
            f"row(s) {rows}; every pair needs a {key}."
        )
    return values


def _numbers(table: pd.DataFrame, column: str, path: Path) -> np.ndarray:
    try:
        return pd.to_numeric(table[column], errors="raise").to_numpy(dtype=float)
    except (ValueError, TypeError) as ex:
        raise FrameError(f"Table '{path}': column '{column}' must hold numbers (utilities): {ex}") from None


def _flags(table: pd.DataFrame, column: str, path: Path) -> np.ndarray:
    text = _text(table[column]).fillna("").str.lower()
    bad = ~text.isin(_TRUE | _FALSE)
    if bad.any():
        raise FrameError(
            f"Table '{path}': flag column '{column}' holds {sorted(text[bad].unique())[:5]}; "
            "use true/false, yes/no or 1/0."
        )
    return text.isin(_TRUE).to_numpy()


def read_pairs_table(path: str | Path, mapping: ColumnMapping) -> PairsTable:
    """Read a foreign table of judged pairs and map it to the judged-pairs frame.

    Raises `FrameError` naming the file, the column and the value when a mapped column is
    missing, a required value is empty, a winner value is in no list, a pair id repeats,
    or the result fails `validate_judged_pairs`.
    """
    path = Path(path)
    table = read_table(path)
    absent = {key: col for key, col in mapping.columns().items() if col not in table.columns}
    if absent:
        listed = ", ".join(f"{key}={col!r}" for key, col in absent.items())
        raise FrameError(
            f"Table '{path}' has no column(s) for {listed}; its columns are {list(table.columns)}. "
            "Fix the mapping (--map KEY=COLUMN)."
        )
    n_rows = len(table)
    if n_rows == 0:
        raise FrameError(f"Table '{path}' has no data rows.")

    model = _required_text(table, "model", mapping.model, path)
    task = _required_text(table, "task", mapping.task, path)
    contrast = (_required_text(table, "contrast", mapping.contrast, path) if mapping.contrast
                else pd.Series(mapping.contrast_name, index=table.index))
    raw = _text(table[mapping.winner])
    code = {v: "a" for v in mapping.a_wins} | {v: "b" for v in mapping.b_wins} | {v: "tie" for v in mapping.tie}
    winner = raw.map(code)
    unresolved_mask = raw.isna() | (raw == "") | raw.isin(mapping.unresolved)
    unknown = winner.isna() & ~unresolved_mask
    if unknown.any():
        counts = raw[unknown].value_counts()
        listed = ", ".join(f"{v!r} ({n} rows)" for v, n in counts.head(8).items())
        raise FrameError(
            f"Table '{path}': column '{mapping.winner}' holds value(s) that are not mapped: {listed}. Say what "
            "each means with --a-wins, --b-wins, --tie or --unresolved (values are matched exactly, after "
            "trimming spaces)."
        )
    if mapping.pair_id:
        sample_id = _required_text(table, "pair id", mapping.pair_id, path)
        repeated = sample_id[sample_id.duplicated(keep=False)]
        if len(repeated):
            raise FrameError(
                f"Table '{path}': pair id column '{mapping.pair_id}' repeats {repeated.nunique()} id(s), e.g. "
                f"{sorted(repeated.unique())[:5]}; each row must be one judged pair."
            )
    else:
        sample_id = pd.Series(np.arange(1, n_rows + 1).astype(str), index=table.index)
    item = _required_text(table, "item", mapping.item, path) if mapping.item else sample_id
    if mapping.arm_a and mapping.arm_b:
        arm_a = _required_text(table, "arm a", mapping.arm_a, path)
        arm_b = _required_text(table, "arm b", mapping.arm_b, path)
    elif mapping.arm_a or mapping.arm_b:
        raise FrameError("column mapping: give both arm_a and arm_b columns, or neither.")
    else:
        parts = contrast.str.partition("_vs_")
        named = (parts[1] == "_vs_") & (parts[0] != "") & (parts[2] != "")
        arm_a = parts[0].where(named, "a")
        arm_b = parts[2].where(named, "b")
    utility_a = _numbers(table, mapping.utility_a, path) if mapping.utility_a else np.full(n_rows, np.nan)
    utility_b = _numbers(table, mapping.utility_b, path) if mapping.utility_b else np.full(n_rows, np.nan)
    domain = _text(table[mapping.domain]) if mapping.domain else pd.Series(None, index=table.index, dtype=object)
    log = path.name
    columns: dict[str, Any] = {
        "log": log,
        "sample_id": sample_id.to_numpy(),
        "epoch": 1,
        "pair_key": (f"{log}::" + sample_id + "::1").to_numpy(),
        "model": model.to_numpy(),
        "task": task.to_numpy(),
        "item_id": item.to_numpy(),
        "contrast": contrast.to_numpy(),
        "arm_a": arm_a.to_numpy(),
        "arm_b": arm_b.to_numpy(),
        "draw": None,
        "repeat": None,
        "domain": domain.to_numpy(),
        "outcome_a": None,
        "outcome_b": None,
        "utility_a": utility_a,
        "utility_b": utility_b,
        "utility_diff": utility_a - utility_b,
        "winner": winner.to_numpy(),
        "first_shown": None,
        "n_judges": 1,  # one verdict per row, whoever gave it
        "n_missing": 0,
        **{f"flag_{f}": (_flags(table, getattr(mapping, f"flag_{f}"), path) if getattr(mapping, f"flag_{f}")
                         else False) for f in FLAGS},
        "chrf_a": np.nan,
        "chrf_b": np.nan,
        "partial_log": False,
    }
    frame = pd.DataFrame(columns, index=table.index)
    resolved = frame.loc[~unresolved_mask.to_numpy()]
    pairs = typed_frame(resolved.to_dict("records"), JUDGED_PAIRS_SCHEMA)
    validate_judged_pairs(pairs)
    unresolved = (
        frame.loc[unresolved_mask.to_numpy(), ["contrast", "model", "task"]]
        .value_counts().rename("n_unresolved").reset_index()
        .sort_values(["contrast", "model", "task"]).reset_index(drop=True)
    )
    values = raw[unresolved_mask].fillna("").value_counts()
    return PairsTable(
        path=path, mapping=mapping, pairs=pairs, n_rows=n_rows, unresolved=unresolved,
        unresolved_values={str(k): int(v) for k, v in values.items()},
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
    )
