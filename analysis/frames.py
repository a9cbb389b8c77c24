"""Inspect logs -> tidy frames: the hand-off from logs to every statistic.

The statistics modules take these frames, never logs, so they run on any data of
this shape. Logs are read with `inspect_ai.log` (`list_eval_logs`, `read_eval_log`);
nothing here parses log files by hand.

Which logs are used
-------------------
A log is a *paired-writing log* when its eval spec lists a `judge_panel` or
`judge_rubric` scorer, a *judge-control log* when its task name contains
`judge_controls`. A rubric-only log gives outputs-frame rows and no judged pairs.
Any other log in the directory (elicitation rounds, another suite's runs) is skipped,
listed in `Frames.skipped` and logged as a warning; naming such a log explicitly as
the input raises `FrameError`.
Logs that stopped early (status error/cancelled/started) are used: their finished
samples become rows, `partial_log` is True on those rows, and `Frames.logs` counts
the expected, present and unscored samples of each. A pair whose every judge is
missing has no panel winner: it is not a row of the judged-pairs frame but is counted
(`LogSummary.n_no_verdict`) and its missing verdicts stay in the judge-verdicts frame.

Reading: `judged_pairs_frame` (and `read_frames(detail=False)`) use Inspect's sample
summaries, which hold the sample metadata and the panel's winner, flags and judge
counts; that is about 10x faster than full samples on real logs. The per-judge frames
(verdicts, outputs, per-judge control rows) need full samples (`read_frames()`).
Rows are in dataset order, then epoch, within each log, whichever way they were read.

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

import logging
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import numpy as np
import pandas as pd

from inspect_ai.log import (
    EvalLog,
    EvalSample,
    EvalSampleSummary,
    list_eval_logs,
    read_eval_log,
    read_eval_log_sample_summaries,
)

logger = logging.getLogger(__name__)

FLAGS: tuple[str, ...] = ("empty", "truncated", "refusal", "leak")
WINNERS: frozenset[str] = frozenset({"a", "b", "tie"})
PAIRWISE_SCORER = "judge_panel"
RUBRIC_SCORER = "judge_rubric"
CONTROLS_TASK = "judge_controls"
INTACT_ARM = "intact"
# Fields of EvalSample the frames never need; skipping them keeps 50k-sample reads fast.
_EXCLUDED_FIELDS = {"messages", "events", "store", "attachments"}
_BIG_LOG_BYTES = 20_000_000

# column -> (dtype, nullable). The dtype is the pandas dtype after `_typed`.
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

    @property
    def partial_logs(self) -> list[LogSummary]:
        return [log for log in self.logs if log.partial]


# -- classification ------------------------------------------------------------------


def _local(name: str) -> str:
    parsed = urlparse(name)
    return unquote(parsed.path) if parsed.scheme == "file" else name


def _short_task(task: str) -> str:
    return task.split("/")[-1]


def log_kind(header: EvalLog) -> str | None:
    """'pairs', 'controls' or None (a log of another task) from a log header."""
    if CONTROLS_TASK in _short_task(header.eval.task):
        return "controls"
    names = [_short_task(s.name) for s in header.eval.scorers or []]
    if PAIRWISE_SCORER in names or RUBRIC_SCORER in names:
        return "pairs"
    return None


def _log_files(source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> tuple[list[str], str, bool]:
    """(log files, base dir for relative names, whether the files were named explicitly)."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.is_dir():
            files = [_local(info.name) for info in list_eval_logs(str(path), recursive=True)]
            return sorted(files), str(path), False
        if path.is_file():
            return [str(path)], str(path.parent), True
        raise FrameError(
            f"Log directory '{source}' does not exist. Pass the directory your "
            "`inspect eval ... --log-dir` wrote to."
        )
    files = [str(Path(p)) for p in source]
    for file in files:
        if not Path(file).is_file():
            raise FrameError(f"Log file '{file}' does not exist.")
    base = os.path.commonpath([str(Path(f).parent) for f in files]) if files else "."
    return files, base, True


# -- per-log extraction (runs in worker processes for many logs) ----------------------


@dataclass
class _LogRows:
    summary: LogSummary
    pairs: list[dict[str, Any]]
    verdicts: list[dict[str, Any]]
    outputs: list[dict[str, Any]]
    controls: list[dict[str, Any]]
    detail: bool = True  # per-judge rows (verdicts, rubric outputs, per-judge controls) wanted
    no_verdict: int = 0


class _NeedFullSample(Exception):
    """A sample summary lacks what the judged-pairs frame needs; read the full samples."""


def _pairwise_score_name(sample: EvalSample | EvalSampleSummary, log: str, scorer: str | None) -> str | None:
    scores = sample.scores or {}
    if scorer is not None:
        return scorer if scorer in scores else None
    # a pairwise panel score has a winner and judges (a rubric score has judges, no winner)
    names = [
        n for n, s in scores.items() if isinstance(s.metadata, dict) and "judges" in s.metadata and "winner" in s.metadata
    ]
    if not names:
        return None
    if len(names) > 1:
        raise FrameError(
            f"{log}: sample {sample.id} has {len(names)} pairwise panel scores ({', '.join(names)}), "
            "e.g. after re-judging with `inspect score`. Choose one with scorer=... "
            "(`utility-gap report --scorer NAME`)."
        )
    return names[0]


def _need(metadata: dict[str, Any], key: str, log: str, sample: EvalSample | EvalSampleSummary, where: str) -> Any:
    if key not in metadata:
        raise FrameError(
            f"{log}: sample {sample.id} (epoch {sample.epoch}) has no {where}['{key}']; "
            "paired-writing logs must follow the Sample/Score metadata contract in "
            "docs/architecture.md (written by utility_gap's writing tasks and judge_panel scorer)."
        )
    return metadata[key]


def _outcome(value: Any) -> tuple[str | None, float]:
    if isinstance(value, dict):
        utility = value.get("utility")
        return value.get("id"), float(utility) if utility is not None else np.nan
    return None, np.nan


def _side_flags(score_md: dict[str, Any], sample_md: dict[str, Any]) -> dict[str, dict[str, Any]]:
    flags = score_md.get("flags")
    if isinstance(flags, dict) and flags:
        return flags
    pair = sample_md.get("pair") or {}
    return {side: (pair.get(side) or {}).get("flags") or {} for side in ("a", "b")}


def _pair_rows(sample: EvalSample | EvalSampleSummary, score_name: str, log: str, model: str, partial: bool, rows: _LogRows) -> None:
    md = sample.metadata or {}
    for key in _REQUIRED_SAMPLE_FIELDS:
        _need(md, key, log, sample, "Sample.metadata")
    score = (sample.scores or {})[score_name]
    smd = score.metadata or {}
    winner = smd.get("winner", score.answer)
    judges = _need(smd, "judges", log, sample, f"Score.metadata of '{score_name}'")
    pair_key = f"{log}::{sample.id}::{sample.epoch}"
    if isinstance(judges, list):
        n_judges, n_missing = len(judges), sum(1 for j in judges if j.get("verdict") is None)
        if rows.detail:
            _verdict_rows(judges, pair_key, model, md, rows)
    elif "n_judges" in smd and "n_missing" in smd:  # a summary: the judges list was thinned away
        n_judges, n_missing = int(smd["n_judges"]), int(smd["n_missing"])
    else:
        raise _NeedFullSample
    if winner is None:  # every judge missing: no panel verdict, counted, not a row
        rows.no_verdict += 1
        return
    if winner not in WINNERS:
        raise FrameError(
            f"{log}: sample {sample.id} (epoch {sample.epoch}) has panel winner {winner!r}; "
            "expected 'a', 'b' or 'tie' in Score.metadata['winner']."
        )
    outcome_a, utility_a = _outcome(md.get("outcome_a"))
    outcome_b, utility_b = _outcome(md.get("outcome_b"))
    diff = md.get("utility_diff")
    flags = _side_flags(smd, md)
    chrf = smd.get("chrf") or {}
    rows.pairs.append(
        {
            "log": log,
            "sample_id": str(sample.id),
            "epoch": int(sample.epoch),
            "pair_key": pair_key,
            "model": model,
            "task": md["task"],
            "item_id": str(md["item_id"]),
            "contrast": md["contrast"],
            "arm_a": md["arm_a"],
            "arm_b": md["arm_b"],
            "draw": md.get("draw"),
            "repeat": md.get("repeat"),
            "domain": md.get("domain"),
            "outcome_a": outcome_a,
            "outcome_b": outcome_b,
            "utility_a": utility_a,
            "utility_b": utility_b,
            "utility_diff": float(diff) if diff is not None else utility_a - utility_b,
            "winner": winner,
            "first_shown": smd.get("first_shown"),
            "n_judges": n_judges,
            "n_missing": n_missing,
            **{
                f"flag_{name}": bool((flags.get("a") or {}).get(name)) or bool((flags.get("b") or {}).get(name))
                for name in FLAGS
            },
            "chrf_a": float(chrf["a"]) if chrf.get("a") is not None else np.nan,
            "chrf_b": float(chrf["b"]) if chrf.get("b") is not None else np.nan,
            "partial_log": partial,
        }
    )


def _output_rows(sample: EvalSample | EvalSampleSummary, log: str, model: str, rows: _LogRows) -> int:
    """Rubric rows of one sample; returns how many."""
    md = sample.metadata or {}
    pair_key = f"{log}::{sample.id}::{sample.epoch}"
    before = len(rows.outputs)
    for other in (sample.scores or {}).values():
        rubric = (other.metadata or {}).get("rubric") if isinstance(other.metadata, dict) else None
        if not isinstance(rubric, dict):
            continue
        for key in _REQUIRED_SAMPLE_FIELDS:
            _need(md, key, log, sample, "Sample.metadata")
        for side in ("a", "b"):
            for judge, criteria in (rubric.get(side) or {}).items():
                for criterion, value in (criteria or {}).items():
                    rows.outputs.append(
                        {
                            "pair_key": pair_key,
                            "model": model,
                            "task": md["task"],
                            "item_id": str(md["item_id"]),
                            "contrast": md["contrast"],
                            "side": side,
                            "arm": md["arm_a"] if side == "a" else md["arm_b"],
                            "judge": str(judge),
                            "criterion": str(criterion),
                            "score": float(value) if value is not None else np.nan,
                        }
                    )
    return len(rows.outputs) - before


def _verdict_rows(
    judges: list[dict[str, Any]], pair_key: str, model: str, md: dict[str, Any], rows: _LogRows
) -> None:
    for judge in judges:
        for presentation in judge.get("presentations") or []:
            rows.verdicts.append(
                {
                    "pair_key": pair_key,
                    "model": model,
                    "task": md["task"],
                    "contrast": md["contrast"],
                    "judge": str(judge.get("judge")),
                    "order": presentation.get("order"),
                    "parsed": presentation.get("parsed"),
                    "winner": presentation.get("winner"),
                    "judge_verdict": judge.get("verdict"),
                    "n_attempts": len(presentation.get("raw") or []),
                }
            )


def _control_rows(sample: EvalSample | EvalSampleSummary, score_name: str, log: str, rows: _LogRows) -> None:
    md = sample.metadata or {}
    sides = [side for side in ("a", "b") if md.get(f"arm_{side}") == INTACT_ARM]
    if len(sides) != 1:
        raise FrameError(
            f"{log}: judge-control sample {sample.id} has arm_a={md.get('arm_a')!r}, arm_b={md.get('arm_b')!r}; "
            f"exactly one side must be the '{INTACT_ARM}' arm."
        )
    intact = sides[0]
    damage = str(_need(md, "damage", log, sample, "Sample.metadata"))
    smd = (sample.scores or {})[score_name].metadata or {}
    pair_key = f"{log}::{sample.id}::{sample.epoch}"
    judges = smd.get("judges") if rows.detail and isinstance(smd.get("judges"), list) else []
    verdicts = [("panel", smd.get("winner"))] + [(str(j.get("judge")), j.get("verdict")) for j in judges]
    for judge, verdict in verdicts:
        rows.controls.append(
            {
                "log": log,
                "pair_key": pair_key,
                "damage": damage,
                "judge": judge,
                "verdict": verdict,
                "correct": None if verdict is None else verdict == intact,
            }
        )


def _read_log(path: str, base: str, kind: str, scorer: str | None, detail: bool) -> _LogRows:
    """Rows of one log: from sample summaries (fast) unless per-judge detail is wanted."""
    if not detail:
        try:
            return _rows_of(path, base, kind, scorer, detail=False, full=False)
        except _NeedFullSample:
            pass
    return _rows_of(path, base, kind, scorer, detail=detail, full=True)


def _rows_of(path: str, base: str, kind: str, scorer: str | None, detail: bool, full: bool) -> _LogRows:
    log_name = Path(os.path.relpath(path, base)).as_posix()
    try:
        if full:
            # Skipping events/messages costs time (a streaming parse) but bounds memory;
            # worth it only for big logs.
            big = os.path.getsize(path) > _BIG_LOG_BYTES
            log = read_eval_log(path, exclude_fields=_EXCLUDED_FIELDS if big else None)
            samples: Sequence[EvalSample | EvalSampleSummary] = log.samples or []
        else:
            log = read_eval_log(path, header_only=True)
            samples = read_eval_log_sample_summaries(path)
    except Exception as ex:  # a corrupt or unreadable file: name it
        raise FrameError(f"Could not read log '{path}': {ex}") from ex
    spec = log.eval
    # rows in dataset order, then epoch, whichever way the samples were read
    order = {str(sample_id): i for i, sample_id in enumerate(spec.dataset.sample_ids or [])}
    samples = sorted(samples, key=lambda smp: (order.get(str(smp.id), len(order)), str(smp.id), smp.epoch))
    n_expected = len(spec.dataset.sample_ids or []) * (spec.config.epochs or 1) or (spec.dataset.samples or 0)
    partial = log.status != "success" or len(samples) < n_expected
    summary_args = dict(
        log=log_name,
        kind=kind,
        task=spec.task,
        model=spec.model,
        status=log.status,
        partial=partial,
        n_expected=n_expected,
        n_samples=len(samples),
        created=str(spec.created),
        task_args=dict(spec.task_args or {}),
        model_args=dict(spec.model_args or {}),
        model_roles={
            role: (cfg.model if not isinstance(cfg, list) else ", ".join(c.model for c in cfg))
            for role, cfg in (spec.model_roles or {}).items()
        },
        generate_config=spec.model_generate_config.model_dump(exclude_none=True),
    )
    rows = _LogRows(summary=None, pairs=[], verdicts=[], outputs=[], controls=[], detail=detail)  # type: ignore[arg-type]
    unscored = 0
    used_scorer = ""
    for sample in samples:
        name = _pairwise_score_name(sample, log_name, scorer)
        n_outputs = _output_rows(sample, log_name, spec.model, rows) if kind == "pairs" and detail else 0
        if name is None:
            unscored += n_outputs == 0
            continue
        used_scorer = used_scorer or name
        if kind == "pairs":
            _pair_rows(sample, name, log_name, spec.model, partial, rows)
        else:
            _control_rows(sample, name, log_name, rows)
    n_rows = len(rows.pairs) if kind == "pairs" else len({r["pair_key"] for r in rows.controls})
    rows.summary = LogSummary(
        **summary_args, n_rows=n_rows, n_unscored=unscored, n_no_verdict=rows.no_verdict, scorer=used_scorer
    )
    return rows


# -- assembling ------------------------------------------------------------------------


def _typed(records: list[dict[str, Any]], schema: dict[str, tuple[str, bool]]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(records, columns=list(schema))
    for column, (dtype, _) in schema.items():
        if dtype == "object":
            frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
        else:
            frame[column] = frame[column].astype(dtype)
    return frame


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


def read_frames(
    logs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    scorer: str | None = None,
    workers: int | None = None,
    detail: bool = True,
) -> Frames:
    """Read every frame from a log directory (or explicit log files) in one pass.

    `detail=False` reads only sample summaries (about 10x faster on real logs, whose
    samples carry every model call): the judged-pairs frame and the panel rows of the
    controls frame are complete, the verdicts and outputs frames are empty.
    `scorer` picks the pairwise score when a log holds several (re-judged logs).
    `workers` > 1 reads logs in parallel processes (default: up to 4 when the logs
    are large).
    """
    files, base, explicit = _log_files(logs)
    if not files:
        raise FrameError(f"No Inspect logs (.eval/.json) in '{logs}'.")
    kinds: list[tuple[str, str]] = []
    skipped: list[SkippedLog] = []
    headers: dict[str, EvalLog] = {}
    for file in files:
        try:
            header = read_eval_log(file, header_only=True)
        except Exception as ex:
            raise FrameError(f"Could not read the header of log '{file}': {ex}") from ex
        kind = log_kind(header)
        if kind is None:
            name = Path(os.path.relpath(file, base)).as_posix()
            reason = (
                f"task '{header.eval.task}' has no {PAIRWISE_SCORER} scorer "
                "(not a paired-writing or judge-control log)"
            )
            if explicit:
                raise FrameError(
                    f"Log '{file}' is a log of task '{header.eval.task}', {reason.split('(')[1].rstrip(')')}: "
                    "pass logs of utility_gap's writing tasks (essay, grant_abstract, "
                    "incident_postmortem, translation) or judge_controls."
                )
            skipped.append(SkippedLog(log=name, task=header.eval.task, reason=reason, path=file))
            continue
        kinds.append((file, kind))
        headers[file] = header
    kinds = _drop_superseded(kinds, headers, base, skipped)
    if not any(kind == "pairs" for _, kind in kinds):
        listed = "; ".join(f"{s.log} ({s.task})" for s in skipped) or "none"
        raise FrameError(
            f"No paired-writing logs (task with a {PAIRWISE_SCORER} scorer) in '{logs}'. "
            f"Logs of other tasks found: {listed}. Run a writing task first, e.g. "
            "`inspect eval utility_gap/essay --model ...`."
        )
    for notice in skipped:
        logger.warning("Skipped log %s: %s.", notice.log, notice.reason)
    results = _read_all(kinds, base, scorer, workers, detail)
    for res in results:
        if res.summary.partial:
            logger.warning(
                "Log %s is partial (status %s): %d of %d samples present; their rows are marked partial_log.",
                res.summary.log, res.summary.status, res.summary.n_samples, res.summary.n_expected,
            )
    pair_rows = [r for res in results for r in res.pairs]
    if scorer is not None and not any(res.summary.scorer for res in results):
        raise FrameError(
            f"No sample in '{logs}' has a pairwise score named '{scorer}'. Leave the scorer unset to use the "
            "only panel score, or name one that the logs hold (see `inspect view`)."
        )
    frames = Frames(
        pairs=_typed(pair_rows, JUDGED_PAIRS_SCHEMA),
        verdicts=_typed([r for res in results for r in res.verdicts], JUDGE_VERDICTS_SCHEMA),
        outputs=_typed([r for res in results for r in res.outputs], OUTPUTS_SCHEMA),
        controls=_typed([r for res in results for r in res.controls], CONTROLS_SCHEMA),
        logs=[res.summary for res in results],
        skipped=skipped,
    )
    validate_judged_pairs(frames.pairs)
    validate_frame(frames.verdicts, JUDGE_VERDICTS_SCHEMA, "judge-verdicts")
    validate_frame(frames.outputs, OUTPUTS_SCHEMA, "outputs")
    validate_frame(frames.controls, CONTROLS_SCHEMA, "judge-controls")
    return frames


def _drop_superseded(
    kinds: list[tuple[str, str]], headers: dict[str, EvalLog], base: str, skipped: list[SkippedLog]
) -> list[tuple[str, str]]:
    """Keep one log per eval `task_id` (a retried eval's attempts share it): the newest finished one.

    A retry copies the finished samples of the earlier attempt, so reading both would
    count those pairs twice; the earlier attempts are listed as skipped.
    """
    attempts: dict[str, list[str]] = {}
    for file, _ in kinds:
        task_id = headers[file].eval.task_id
        if task_id:
            attempts.setdefault(task_id, []).append(file)
    superseded: set[str] = set()
    for task_id, files in attempts.items():
        if len(files) < 2:
            continue
        keep = max(files, key=lambda f: (headers[f].status == "success", str(headers[f].eval.created)))
        for file in files:
            if file != keep:
                superseded.add(file)
                skipped.append(
                    SkippedLog(
                        log=Path(os.path.relpath(file, base)).as_posix(),
                        task=headers[file].eval.task,
                        reason=(
                            f"an earlier attempt (status {headers[file].status}) of the eval in "
                            f"{Path(os.path.relpath(keep, base)).as_posix()} (same task_id {task_id}), which is used"
                        ),
                        path=file,
                    )
                )
    return [(file, kind) for file, kind in kinds if file not in superseded]


def _read_all(
    kinds: list[tuple[str, str]], base: str, scorer: str | None, workers: int | None, detail: bool
) -> list[_LogRows]:
    sizes = sum(os.path.getsize(f) for f, _ in kinds)
    if workers is None:
        workers = min(4, os.cpu_count() or 1, len(kinds)) if sizes > 20_000_000 else 1
    if workers <= 1 or len(kinds) == 1:
        return [_read_log(f, base, kind, scorer, detail) for f, kind in kinds]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(_read_log, f, base, kind, scorer, detail) for f, kind in kinds]
        return [future.result() for future in futures]


def judged_pairs_frame(log_dir: str | os.PathLike[str], *, scorer: str | None = None) -> pd.DataFrame:
    """One row per judged pair (schema in this module's docstring), from sample summaries."""
    return read_frames(log_dir, scorer=scorer, detail=False).pairs


def judge_verdicts_frame(log_dir: str | os.PathLike[str], *, scorer: str | None = None) -> pd.DataFrame:
    """One row per (pair, judge, presentation)."""
    return read_frames(log_dir, scorer=scorer).verdicts


def outputs_frame(log_dir: str | os.PathLike[str], *, scorer: str | None = None) -> pd.DataFrame:
    """One row per (output, judge, criterion) rubric score."""
    return read_frames(log_dir, scorer=scorer).outputs

