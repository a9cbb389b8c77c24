"""The output texts of every paired-writing sample, and their text features.

Why a frame of its own: the judged-pairs frame says who won; this one says what each
side wrote, so the statistics can ask whether a side won because its text was longer
(`analysis/length_control.py`). The texts live in `state.metadata["pair"]`
(docs/architecture.md), which Inspect's sample summaries leave out (larger than 1 kB),
so this module reads full samples (without their events and messages for large logs),
once per used log. Which logs are used is decided by `read_frames`, so a skipped,
superseded or non-writing log never contributes texts.

Schema: texts frame (`texts_frame`, one row per sample x side)
------------------------------------------------------------------
============== ======== =======================================================
column         dtype    meaning
============== ======== =======================================================
pair_key       object   `log::sample_id::epoch`; joins the judged-pairs frame
log            object   log file, relative to the directory read
model          object   model under test
task           object   writing task
item_id        object   task item id
contrast       object   `<arm_a>_vs_<arm_b>`
side           object   "a" | "b"
arm            object   the side's arm
text           object   the output (str), None when the log holds no output
stop_reason    object   the generation's stop reason, None when not recorded
present        bool     the log holds this side's output (False: missing, counted)
empty          bool     the output is empty or whitespace only
truncated      bool     the output hit the token limit (the pair's `truncated` flag,
                        or a stop reason of max_tokens / model_length / length)
============== ======== =======================================================

A sample whose metadata has no `pair` record (it failed before generating) gives two
rows with `present` False, so a missing output is counted, never silently dropped.

Schema: features frame (`features_frame`, one row per sample x side)
----------------------------------------------------------------------
Every texts-frame column except `text`, plus one float64 column per feature of
`utility_gap.analysis.text_features.FEATURES` (words, sentences, paragraphs,
mean_sentence_length, mattr, fk_grade, rare_word_rate, numbers, percentages, units,
quant_per_100_words, headings, list_items); all NaN when `present` is False.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from itertools import chain
from typing import Any

import pandas as pd

from utility_gap.analysis.frames.cache import FramesCache
from utility_gap.analysis.locations import Location, location
from utility_gap.analysis.frames.reading import read_frames
from utility_gap.analysis.frames.sample_rows import in_dataset_order, read_whole_log
from utility_gap.analysis.frames.recorded_features import (  # noqa: F401 (TRUNCATED_STOP_REASONS: re-exported)
    TRUNCATED_STOP_REASONS,
    sample_columns,
    side_outputs,
)
from utility_gap.analysis.frames.schemas import FrameError, Frames
from utility_gap.analysis.frames.validation import columns_of, typed_columns, typed_frame, validate_frame
from utility_gap.analysis.text_features import FEATURES, text_features

TEXTS_SCHEMA: dict[str, tuple[str, bool]] = {
    "pair_key": ("object", False),
    "log": ("object", False),
    "model": ("object", False),
    "task": ("object", False),
    "item_id": ("object", False),
    "contrast": ("object", False),
    "side": ("object", False),
    "arm": ("object", False),
    "text": ("object", True),
    "stop_reason": ("object", True),
    "present": ("bool", False),
    "empty": ("bool", False),
    "truncated": ("bool", False),
}
FEATURES_SCHEMA: dict[str, tuple[str, bool]] = {
    **{column: spec for column, spec in TEXTS_SCHEMA.items() if column != "text"},
    **{name: ("float64", True) for name in FEATURES},
}
_PARALLEL_TEXTS = 2000  # above this many distinct texts, features are computed in worker processes


def _side_rows(md: dict[str, Any], pair_key: str, log: str, model: str) -> list[dict[str, Any]]:
    common = sample_columns(md, pair_key, log, model)
    return [{**common, "side": side, **output} for side, output in side_outputs(md).items()]


def _log_texts(path: str, log: str) -> list[dict[str, Any]]:
    """Texts of one paired-writing log, in dataset order then epoch."""
    try:
        eval_log = read_whole_log(path)
    except Exception as ex:  # a corrupt or unreadable file: name it
        raise FrameError(f"Could not read log '{path}': {ex}") from ex
    samples = in_dataset_order(eval_log.samples or [], eval_log)
    rows: list[dict[str, Any]] = []
    for sample in samples:
        md = sample.metadata or {}
        if "contrast" not in md:
            continue  # not a paired-writing sample (read_frames has already vetted the log)
        rows.extend(_side_rows(md, f"{log}::{sample.id}::{sample.epoch}", log, eval_log.eval.model))
    return rows


def _base(source: str | os.PathLike[str]) -> Location:
    path = location(source)  # a folder or file, local or at a URL
    if not path.exists():
        raise FrameError(f"Log directory '{source}' does not exist. Pass the directory your `inspect eval` wrote to.")
    return path if path.is_dir() else path.parent


def texts_frame(source: str | os.PathLike[str], *, frames: Frames | None = None) -> pd.DataFrame:
    """One row per (paired-writing sample, side) with the output text (schema above).

    `source` is the log directory (or one log file) that `frames` were read from; pass
    `frames` to reuse the logs `read_frames` chose instead of choosing again.
    """
    base = _base(source)
    if frames is None:
        frames = read_frames(source, detail=False)
    rows: list[dict[str, Any]] = []
    for summary in frames.logs:
        if summary.kind == "pairs":
            rows.extend(_log_texts(str(base / summary.log), summary.log))
    frame = typed_frame(rows, TEXTS_SCHEMA)
    validate_frame(frame, TEXTS_SCHEMA, "texts")
    return frame


def _features_of(texts: list[str]) -> list[dict[str, float]]:
    return [text_features(text) for text in texts]


def features_of_texts(texts: pd.DataFrame, workers: int | None = None) -> pd.DataFrame:
    """The features frame of a texts frame: each distinct present text is measured once.

    With more than `_PARALLEL_TEXTS` distinct texts the work is split over up to
    `workers` processes (default: up to 4, one per core).
    """
    missing = [c for c in TEXTS_SCHEMA if c not in texts.columns]
    if missing:
        raise FrameError(f"The texts frame lacks column(s) {', '.join(missing)}; build it with texts_frame().")
    distinct = list(dict.fromkeys(t for t, present in zip(texts["text"], texts["present"]) if present))
    if workers is None:
        workers = min(4, os.cpu_count() or 1) if len(distinct) > _PARALLEL_TEXTS else 1
    if workers > 1 and len(distinct) > 1:
        size = -(-len(distinct) // (workers * 4))
        chunks = [distinct[i : i + size] for i in range(0, len(distinct), size)]
        with ProcessPoolExecutor(max_workers=workers) as pool:
            measured = [row for chunk in pool.map(_features_of, chunks) for row in chunk]
    else:
        measured = _features_of(distinct)
    by_text = dict(zip(distinct, measured))
    nan_row = {name: float("nan") for name in FEATURES}
    values = pd.DataFrame(
        [by_text[t] if present else nan_row for t, present in zip(texts["text"], texts["present"])],
        columns=list(FEATURES),
        index=texts.index,
    )
    frame = pd.concat([texts.drop(columns=["text"]), values.astype("float64")], axis=1)
    frame = frame[list(FEATURES_SCHEMA)]
    validate_frame(frame, FEATURES_SCHEMA, "features")
    return frame


def features_frame(
    source: str | os.PathLike[str],
    *,
    frames: Frames | None = None,
    workers: int | None = None,
    cache: FramesCache | None = None,
) -> pd.DataFrame:
    """One row per (paired-writing sample, side) with every text feature (schema above).

    A log whose every sample carries a current `output_features` record (written by the
    writing tasks: `recorded_features.py`) gives its rows from the sample summaries that
    `read_frames` read; the other logs' texts are read from full samples and measured
    (`features_of_texts`), and with a `cache` (`frames/cache.py`) measured once per log
    while it is unchanged. The frame is the same either way.
    """
    base = _base(source)
    if frames is None:
        frames = read_frames(source, detail=False, cache=cache)
    logs = [summary.log for summary in frames.logs if summary.kind == "pairs"]
    unrecorded = [log for log in logs if log not in frames.recorded_features]
    keys = {log: cache.key(str(base / log), log=log, purpose="measured features") for log in unrecorded} if cache else {}
    measured: dict[str, dict[str, list[Any]]] = {}
    for log, key in keys.items():
        columns = cache.get(key) if cache is not None else None
        if isinstance(columns, dict) and set(columns) == set(FEATURES_SCHEMA):
            measured[log] = columns
    missing = [log for log in unrecorded if log not in measured]
    if missing:
        texts = typed_frame([row for log in missing for row in _log_texts(str(base / log), log)], TEXTS_SCHEMA)
        validate_frame(texts, TEXTS_SCHEMA, "texts")
        features = features_of_texts(texts, workers=workers)
        for log in missing:
            measured[log] = columns_of(features[features["log"] == log].to_dict("records"), list(FEATURES_SCHEMA))
            if cache is not None:
                cache.put(keys[log], measured[log])
    parts = [measured[log] if log in measured else frames.recorded_features[log] for log in logs]
    frame = typed_columns({c: list(chain.from_iterable(part[c] for part in parts)) for c in FEATURES_SCHEMA},
                          FEATURES_SCHEMA)
    validate_frame(frame, FEATURES_SCHEMA, "features")
    return frame
