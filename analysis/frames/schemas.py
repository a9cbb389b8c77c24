"""Frame schemas: the columns, dtypes and meanings of every frame, and their containers.

This module is the written hand-off from logs to statistics (docs/architecture.md).
The tables below are the schema; `JUDGED_PAIRS_SCHEMA` and its siblings are the same
schema in code (column -> (pandas dtype, nullable)), which `validation.py` enforces.

Schema: judged-pairs frame (`judged_pairs_frame`, one row per judged pair)
---------------------------------------------------------------------------
Text columns ("object") hold str or None; `validate_judged_pairs` also accepts
pandas' `str`/`string` dtypes for them, so a frame built by hand in pandas 3 passes.

=============== ======== =====================================================
column          dtype    meaning
=============== ======== =====================================================
log             object   log file, relative to the directory read (str)
sample_id       object   the sample's id (str)
epoch           int64    the sample's epoch
pair_key        object   `log::sample_id::epoch`; joins the three frames
model           object   model under test (the eval's `--model`)
task            object   essay | grant_abstract | incident_postmortem | translation
item_id         object   task item id
contrast        object   `<arm_a>_vs_<arm_b>`
arm_a, arm_b    object   the two arms
draw            Int64    outcome draw index (nullable)
repeat          Int64    repeat index (nullable)
domain          object   outcome domain, None unless utility arms
outcome_a/_b    object   outcome ids, None unless the arm has an outcome
utility_a/_b    float64  the outcomes' fitted utilities, NaN when none
utility_diff    float64  utility_a - utility_b, NaN when none
winner          object   panel winner: "a" | "b" | "tie"
first_shown     object   side shown first in the first presentation: "a" | "b"
n_judges        int64    judges on the panel
n_missing       int64    judges with no verdict (unparseable after retries)
flag_empty      bool     either side's output is empty
flag_truncated  bool     either side hit the token limit
flag_refusal    bool     either side refused
flag_leak       bool     either side mentions the framing (sponsor, outcome ...)
chrf_a, chrf_b  float64  chrF of each side against the reference (translation), NaN otherwise
partial_log     bool     the row comes from a log that did not finish
judges          object   the panel: judge models in panel order, ", "-joined (the
                         eval's `judge` model role(s), else the model under test);
                         None in a frame made from a table. Part of a pair's
                         identity (`duplicates.py`)
=============== ======== =====================================================

Schema: judge-verdicts frame (`judge_verdicts_frame`, one row per pair x judge x presentation)
---------------------------------------------------------------------------------------------
`pair_key`, `model`, `task`, `contrast` (object); `judge` (object: the panel's label
for the judge, its model name, suffixed `#k` when one model sits on the panel twice);
`order` ("ab": a shown as response 1, "ba": b shown first); `parsed` ("1" | "2" |
"tie" | None); `winner` ("a" | "b" | "tie" | None: the side this presentation
preferred); `judge_verdict` (the judge's combined verdict over both orders: "a" |
"b" | "tie" | None; a verdict that flips with the order is a tie); `n_attempts`
(int64: raw answers recorded, > 1 when the judge was retried).

Schema: outputs frame (`outputs_frame`, one row per output x judge x criterion rubric score)
--------------------------------------------------------------------------------------------
`pair_key`, `model`, `task`, `item_id`, `contrast` (object); `side` ("a" | "b");
`arm` (object); `judge` (object); `criterion` (object); `score` (float64, 1..10,
NaN when the judge's score could not be parsed). Empty (with these columns) when no
log has a rubric score.

Schema: judge-controls frame (`Frames.controls`, one row per control pair x judge, plus "panel")
-----------------------------------------------------------------------------------------------
`log`, `pair_key`, `damage` (object: how the copy was damaged), `judge` (object,
"panel" for the panel's verdict), `verdict` (object: "a" | "b" | "tie" | None),
`correct` (boolean, nullable: the intact text won; a tie is not correct; NA when the
judge gave no verdict). Built from `utility_gap/judge_controls` logs, whose samples
follow the paired-sample contract with the intact text as arm `intact` and
`Sample.metadata["damage"]`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

FLAGS: tuple[str, ...] = ("empty", "truncated", "refusal", "leak")
WINNERS: frozenset[str] = frozenset({"a", "b", "tie"})
PAIRWISE_SCORER = "judge_panel"
RUBRIC_SCORER = "judge_rubric"
CONTROLS_TASK = "judge_controls"
INTACT_ARM = "intact"

# column -> (dtype, nullable). The dtype is the pandas dtype after `validation.typed_frame`.
JUDGED_PAIRS_SCHEMA: dict[str, tuple[str, bool]] = {
    "log": ("object", False),
    "sample_id": ("object", False),
    "epoch": ("int64", False),
    "pair_key": ("object", False),
    "model": ("object", False),
    "task": ("object", False),
    "item_id": ("object", False),
    "contrast": ("object", False),
    "arm_a": ("object", False),
    "arm_b": ("object", False),
    "draw": ("Int64", True),
    "repeat": ("Int64", True),
    "domain": ("object", True),
    "outcome_a": ("object", True),
    "outcome_b": ("object", True),
    "utility_a": ("float64", True),
    "utility_b": ("float64", True),
    "utility_diff": ("float64", True),
    "winner": ("object", False),
    "first_shown": ("object", True),
    "n_judges": ("int64", False),
    "n_missing": ("int64", False),
    "flag_empty": ("bool", False),
    "flag_truncated": ("bool", False),
    "flag_refusal": ("bool", False),
    "flag_leak": ("bool", False),
    "chrf_a": ("float64", True),
    "chrf_b": ("float64", True),
    "partial_log": ("bool", False),
    "judges": ("object", True),
}
JUDGE_VERDICTS_SCHEMA: dict[str, tuple[str, bool]] = {
    "pair_key": ("object", False),
    "model": ("object", False),
    "task": ("object", False),
    "contrast": ("object", False),
    "judge": ("object", False),
    "order": ("object", False),
    "parsed": ("object", True),
    "winner": ("object", True),
    "judge_verdict": ("object", True),
    "n_attempts": ("int64", False),
}
OUTPUTS_SCHEMA: dict[str, tuple[str, bool]] = {
    "pair_key": ("object", False),
    "model": ("object", False),
    "task": ("object", False),
    "item_id": ("object", False),
    "contrast": ("object", False),
    "side": ("object", False),
    "arm": ("object", False),
    "judge": ("object", False),
    "criterion": ("object", False),
    "score": ("float64", True),
}
CONTROLS_SCHEMA: dict[str, tuple[str, bool]] = {
    "log": ("object", False),
    "pair_key": ("object", False),
    "damage": ("object", False),
    "judge": ("object", False),
    "verdict": ("object", True),
    "correct": ("boolean", True),
}

# Text columns are built as object (str or None); pandas' own string dtypes are accepted too.
_TEXT_DTYPES = {"object", "str", "string"}
_REQUIRED_SAMPLE_FIELDS = ("task", "item_id", "contrast", "arm_a", "arm_b")


class FrameError(ValueError):
    """Logs that cannot become frames; the message names the log, sample and field."""


@dataclass(frozen=True)
class SkippedLog:
    """A log in the directory that is not a paired-writing or judge-control log."""

    log: str
    task: str
    reason: str
    path: str = ""  # the file, for readers of other log kinds (e.g. ranking logs in the report)


@dataclass(frozen=True)
class LogSummary:
    """What was read from one used log."""

    log: str
    kind: str  # "pairs" | "controls"
    task: str
    model: str
    status: str
    partial: bool
    n_expected: int  # dataset samples x epochs
    n_samples: int  # samples present in the log
    n_rows: int  # judged pairs (or control pairs) read
    n_unscored: int  # present but without a judge_panel score (errored samples)
    n_no_verdict: int  # scored, but every judge was missing: no panel winner, not a row
    scorer: str
    created: str
    task_args: dict[str, Any]
    model_args: dict[str, Any]
    model_roles: dict[str, str]
    generate_config: dict[str, Any]


@dataclass
class Frames:
    """Every frame of a log directory, read once, with what was used and skipped."""

    pairs: pd.DataFrame
    verdicts: pd.DataFrame
    outputs: pd.DataFrame
    controls: pd.DataFrame
    logs: list[LogSummary] = field(default_factory=list)
    skipped: list[SkippedLog] = field(default_factory=list)
    # features-frame columns recorded in the logs (`recorded_features.py`), per log name; a
    # log is absent when any of its samples lacks a current record (its texts are measured)
    recorded_features: dict[str, dict[str, list[Any]]] = field(default_factory=dict)

    @property
    def partial_logs(self) -> list[LogSummary]:
        return [log for log in self.logs if log.partial]
