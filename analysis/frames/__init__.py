"""Inspect logs -> tidy frames: the hand-off from logs to every statistic.

The statistics modules take these frames, never logs, so they run on any data of this
shape. The package has these parts, one job each:

- `schemas`: every frame's columns, dtypes and meanings (the written schema), the
  constants the frames use (`FLAGS`, winners, scorer names) and the `Frames`,
  `LogSummary` and `SkippedLog` containers;
- `validation`: `validate_frame` / `validate_judged_pairs`, the check any statistic can
  run on a frame built anywhere, and `typed_frame`, which builds a typed frame from rows;
- `reading`: which logs are used and how (`read_frames`, `judged_pairs_frame`,
  `judge_verdicts_frame`, `outputs_frame`);
- `texts`: each side's output text and its text features (`texts_frame`,
  `features_frame`), read from the logs `read_frames` chose;
- `duplicates`: one logical pair found in more than one log (`find_duplicates`,
  `resolve_duplicates` and its policies).

Everything is re-exported here, so `from utility_gap.analysis.frames import ...` is the
stable import.
"""

from utility_gap.analysis.frames.duplicates import (
    DUPLICATE_POLICIES,
    PAIR_IDENTITY,
    DuplicatePairsError,
    DuplicateResolution,
    find_duplicates,
    resolve_duplicates,
)
from utility_gap.analysis.frames.reading import (
    judge_verdicts_frame,
    judged_pairs_frame,
    log_kind,
    outputs_frame,
    read_frames,
)
from utility_gap.analysis.frames.schemas import (
    CONTROLS_SCHEMA,
    CONTROLS_TASK,
    FLAGS,
    INTACT_ARM,
    JUDGE_VERDICTS_SCHEMA,
    JUDGED_PAIRS_SCHEMA,
    OUTPUTS_SCHEMA,
    PAIRWISE_SCORER,
    RUBRIC_SCORER,
    WINNERS,
    FrameError,
    Frames,
    LogSummary,
    SkippedLog,
)
from utility_gap.analysis.frames.texts import (
    FEATURES_SCHEMA,
    TEXTS_SCHEMA,
    features_frame,
    features_of_texts,
    texts_frame,
)
from utility_gap.analysis.frames.validation import typed_frame, validate_frame, validate_judged_pairs

__all__ = [
    "DUPLICATE_POLICIES",
    "PAIR_IDENTITY",
    "DuplicatePairsError",
    "DuplicateResolution",
    "find_duplicates",
    "resolve_duplicates",
    "CONTROLS_SCHEMA",
    "CONTROLS_TASK",
    "FEATURES_SCHEMA",
    "FLAGS",
    "INTACT_ARM",
    "JUDGE_VERDICTS_SCHEMA",
    "JUDGED_PAIRS_SCHEMA",
    "OUTPUTS_SCHEMA",
    "PAIRWISE_SCORER",
    "RUBRIC_SCORER",
    "WINNERS",
    "FrameError",
    "Frames",
    "LogSummary",
    "SkippedLog",
    "TEXTS_SCHEMA",
    "features_frame",
    "features_of_texts",
    "judge_verdicts_frame",
    "judged_pairs_frame",
    "log_kind",
    "outputs_frame",
    "read_frames",
    "texts_frame",
    "typed_frame",
    "validate_frame",
    "validate_judged_pairs",
]
