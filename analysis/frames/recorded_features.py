"""Text features recorded in the log when an output is written, so a report need not measure it again.

Why: measuring an output (`analysis/text_features.py`: textstat, wordfreq) costs about
20 ms for a 400-word text, so a report over 50k pairs (100k texts) would spend half an
hour on it, and reading the texts means reading full samples, several times slower than
sample summaries. The writing tasks' `output_features` scorer
(`scorers/output_features.py`) measures each side once, when it is written, and keeps
the result in its `Score.metadata`, which Inspect's sample summaries carry; the report
then reads the features frame from summaries (`recorded_rows`) and measures only the
logs that lack a current record (older logs, another version of the features).

The record (`Score.metadata` of the `output_features` score; the written schema):

    {"version": FEATURES_VERSION,
     "a": {"arm", "stop_reason", "present", "empty", "truncated", <every FEATURES name>},
     "b": {...}}

One side's values are what `side_outputs` and `text_features` give for the sample's
`pair` record; a feature that is NaN is stored as null. Each side's record stays well
under the 1 kB that summaries keep of one metadata value (a test checks this).

`FEATURES_VERSION` changes whenever the code that measures could: it is a hash of
`analysis/text_features.py` and the textstat and wordfreq versions. A record of another
version is not used (the report measures that log's texts again), so a log never
carries features computed by other definitions than the report's.
"""

from __future__ import annotations

import hashlib
import math
import threading
from functools import lru_cache
from importlib import metadata as package_metadata
from pathlib import Path
from typing import Any

from utility_gap.analysis import text_features as text_features_module
from utility_gap.analysis.text_features import FEATURES, text_features

FEATURES_SCORER = "output_features"
SIDES: tuple[str, str] = ("a", "b")
TRUNCATED_STOP_REASONS = frozenset({"max_tokens", "model_length", "length"})
SIDE_FIELDS: tuple[str, ...] = ("arm", "stop_reason", "present", "empty", "truncated")
ROW_COLUMNS: tuple[str, ...] = ("pair_key", "log", "model", "task", "item_id", "contrast", "side", *SIDE_FIELDS, *FEATURES)
"""The columns of `feature_rows` (the features frame's, in `analysis/frames/texts.py`)."""


@lru_cache(maxsize=1)
def features_version() -> str:
    """Hash of the measuring code and the libraries it calls (see the module docstring)."""
    digest = hashlib.sha256(Path(text_features_module.__file__).read_bytes())
    for package in ("textstat", "wordfreq"):
        try:
            digest.update(f"{package}={package_metadata.version(package)}".encode())
        except package_metadata.PackageNotFoundError:
            digest.update(f"{package}=missing".encode())
    return digest.hexdigest()[:16]


def side_outputs(md: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each side's output text and what the log says about it, from a sample's metadata.

    Keys per side: `arm`, `text` (None when the log holds no output), `stop_reason`,
    `present`, `empty`, `truncated` (the texts-frame columns of `analysis/frames/texts.py`).
    """
    pair = md.get("pair") if isinstance(md.get("pair"), dict) else {}
    sides = {}
    for side in SIDES:
        record = pair.get(side) if isinstance(pair.get(side), dict) else {}
        text = record.get("output")
        text = text if isinstance(text, str) else None
        stop = record.get("stop_reason")
        flags = record.get("flags") if isinstance(record.get("flags"), dict) else {}
        sides[side] = {
            "arm": str(record.get("arm") or md.get(f"arm_{side}")),
            "text": text,
            "stop_reason": str(stop) if stop is not None else None,
            "present": text is not None,
            "empty": text is not None and not text.strip(),
            "truncated": bool(flags.get("truncated")) or str(stop) in TRUNCATED_STOP_REASONS,
        }
    return sides


_LOADING = threading.Lock()
_loaded = False


def _load_libraries() -> None:
    """Make the first (slow: dictionary loading) measurement once, while other threads wait.

    Without this, every worker thread that starts measuring before the dictionaries are
    cached loads them itself, and 40 concurrent samples take minutes instead of seconds.
    """
    global _loaded
    with _LOADING:
        if not _loaded:
            text_features("Load the pronouncing dictionary and the word lists once.")
            _loaded = True


def _stored(value: float) -> float | None:
    return None if math.isnan(value) else value


def feature_record(md: dict[str, Any]) -> dict[str, Any]:
    """The `Score.metadata` record of one paired-writing sample (schema in the module docstring)."""
    _load_libraries()
    record: dict[str, Any] = {"version": features_version()}
    for side, output in side_outputs(md).items():
        values = text_features(output["text"]) if output["present"] else {name: math.nan for name in FEATURES}
        record[side] = {
            **{name: output[name] for name in SIDE_FIELDS},
            **{name: _stored(float(values[name])) for name in FEATURES},
        }
    return record


def recorded_sides(score_md: Any) -> dict[str, dict[str, Any]] | None:
    """Both sides' records from an `output_features` score's metadata, or None if unusable.

    Unusable: another version, a side thinned away by a summary, or a field missing.
    """
    if not isinstance(score_md, dict) or score_md.get("version") != features_version():
        return None
    sides = {}
    for side in SIDES:
        values = score_md.get(side)
        if not isinstance(values, dict) or any(name not in values for name in (*SIDE_FIELDS, *FEATURES)):
            return None
        sides[side] = values
    return sides


def feature_rows(
    sides: dict[str, dict[str, Any]], md: dict[str, Any], pair_key: str, log: str, model: str
) -> list[dict[str, Any]]:
    """Features-frame rows (both sides) of one sample from its record (`recorded_sides`).

    A sample without a `pair` record (it failed before writing) has no score; pass
    `missing_sides(md)` for it, as the texts frame counts its outputs as missing.
    """
    common = sample_columns(md, pair_key, log, model)
    return [
        {
            **common,
            "side": side,
            **{name: sides[side][name] for name in SIDE_FIELDS},
            **{name: math.nan if sides[side][name] is None else float(sides[side][name]) for name in FEATURES},
        }
        for side in SIDES
    ]


def sample_columns(md: dict[str, Any], pair_key: str, log: str, model: str) -> dict[str, str]:
    """The columns the texts and features frames take from the sample, the same for both sides."""
    return {
        "pair_key": pair_key,
        "log": log,
        "model": model,
        "task": str(md.get("task")),
        "item_id": str(md.get("item_id")),
        "contrast": str(md.get("contrast")),
    }


def missing_sides(md: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The record of a sample whose log holds no output for either side (all features NaN)."""
    return {
        side: {**{k: v for k, v in output.items() if k != "text"}, **{name: None for name in FEATURES}}
        for side, output in side_outputs({k: v for k, v in md.items() if k != "pair"}).items()
    }
