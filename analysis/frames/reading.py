"""Reading Inspect logs into frames (the schemas are in `schemas.py`).

Logs are read with `inspect_ai.log` (`list_eval_logs`, `read_eval_log`,
`read_eval_log_sample_summaries`); nothing here parses log files by hand.


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

Reading: every frame is read from Inspect's sample summaries when they hold what it
needs: the sample metadata, and the panel's winner, flags, judge counts, `verdict_rows`
(each judge's parsed answer per presentation) and rubric scores, all small enough to
survive the summaries' 1 kB limit per metadata value. That is several times faster than
full samples on real logs, whose samples carry every model call. A log whose summaries
lack any of it (written before `verdict_rows` existed, or a panel too large for 1 kB)
is read from full samples instead; the frames are the same either way.
Rows are in dataset order, then epoch, within each log, whichever way they were read.
What each sample contributes to each frame is in `sample_rows.py`.
"""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import Collection, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from itertools import chain
from typing import Any

import pandas as pd

from inspect_ai.log import EvalLog, list_eval_logs, read_eval_log

from utility_gap.analysis.frames.cache import FramesCache
from utility_gap.analysis.frames.sample_rows import DAMAGED_LOG_HINT, _FRAME_SCHEMAS, _LogData, _read_log
from utility_gap.analysis.frames.schemas import (
    CONTROLS_SCHEMA,
    CONTROLS_TASK,
    JUDGE_VERDICTS_SCHEMA,
    OUTPUTS_SCHEMA,
    PAIRWISE_SCORER,
    RUBRIC_SCORER,
    FrameError,
    Frames,
    LogSummary,
    SkippedLog,
)
from utility_gap.analysis.frames.validation import typed_columns, validate_frame, validate_judged_pairs
from utility_gap.analysis.locations import common_folder, file_size, is_url, local_name, location, parent, relative_name

logger = logging.getLogger(__name__)

# -- classification ------------------------------------------------------------------


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
    """(log files, base dir for relative names, whether the files were named explicitly).

    Paths or URLs (`s3://bucket/run/logs`, read through Inspect's fsspec support).
    """
    if isinstance(source, (str, os.PathLike)) or is_url(source):
        path = location(source)  # type: ignore[arg-type]
        if path.is_dir():
            files = [local_name(info.name) for info in list_eval_logs(str(path), recursive=True)]
            return sorted(files), str(path), False
        if path.is_file():
            return [str(path)], parent(str(path)), True
        raise FrameError(
            f"Log directory '{source}' does not exist. Pass the directory your "
            "`inspect eval ... --log-dir` wrote to."
        )
    files = [str(location(p)) for p in source]
    for file in files:
        if not location(file).is_file():
            raise FrameError(f"Log file '{file}' does not exist.")
    return files, common_folder(files), True


def read_frames(
    logs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    scorer: str | None = None,
    workers: int | None = None,
    detail: bool = True,
    require_pairs: bool = True,
    summaries: bool = True,
    cache: FramesCache | None = None,
    read_elsewhere: Collection[str] = (),
) -> Frames:
    """Read every frame from a log directory (or explicit log files) in one pass.

    `require_pairs=False` accepts a directory without paired-writing logs (the frames
    are then empty and `Frames.skipped` lists the other logs, e.g. of the entity family).

    Each log is read from Inspect's sample summaries when they hold everything the
    frames need (the panel's `verdict_rows` and rubric scores under 1 kB: logs of this
    version's scorers), else from full samples (older logs, very large panels); the
    frames are the same either way, and summaries are several times faster on real
    logs, whose samples carry every model call. `summaries=False` always reads full
    samples (the earlier reader, kept for comparison: bench/bench_report.py).
    `detail=False` leaves the verdicts and outputs frames and the per-judge control
    rows empty (the judged-pairs frame and the panel rows of the controls frame are
    complete).
    `scorer` picks the pairwise score when a log holds several (re-judged logs).
    `workers` > 1 reads logs in parallel processes (default: up to 4 when the logs
    are large).
    `cache` keeps each log's rows and reuses them while the log is unchanged
    (`frames/cache.py`); the frames are the same with or without it.
    `read_elsewhere`: task names (without the package, e.g. `entity_reading_task`) whose
    logs another reader uses; they are listed in `Frames.skipped` without a warning.
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
            raise FrameError(f"Could not read the header of log '{file}': {ex}. {DAMAGED_LOG_HINT}") from ex
        kind = log_kind(header)
        if kind is None:
            name = relative_name(file, base)
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
    if require_pairs and not any(kind == "pairs" for _, kind in kinds):
        listed = "; ".join(f"{s.log} ({s.task})" for s in skipped) or "none"
        raise FrameError(
            f"No paired-writing logs (task with a {PAIRWISE_SCORER} scorer) in '{logs}'. "
            f"Logs of other tasks found: {listed}. Run a writing task first, e.g. "
            "`inspect eval utility_gap/essay --model ...`."
        )
    for notice in skipped:
        if _short_task(notice.task) not in read_elsewhere:
            logger.warning("Skipped log %s: %s.", notice.log, notice.reason)
    results = _read_all(kinds, base, scorer, workers, detail, summaries, cache)
    for res in results:
        if res.summary.partial:
            logger.warning(
                "Log %s is partial (status %s): %d of %d samples present; their rows are marked partial_log.",
                res.summary.log, res.summary.status, res.summary.n_samples, res.summary.n_expected,
            )
    if scorer is not None and not any(res.summary.scorer for res in results):
        raise FrameError(
            f"No sample in '{logs}' has a pairwise score named '{scorer}'. Leave the scorer unset to use the "
            "only panel score, or name one that the logs hold (see `inspect view`)."
        )
    typed = {
        name: typed_columns(
            {c: list(chain.from_iterable(res.columns[name][c] for res in results)) for c in schema}, schema
        )
        for name, schema in _FRAME_SCHEMAS.items()
    }
    frames = Frames(
        **typed,
        logs=[res.summary for res in results],
        skipped=skipped,
        recorded_features={
            res.summary.log: res.features for res in results if res.summary.kind == "pairs" and res.features is not None
        },
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
    count those pairs twice; the earlier attempts are listed as skipped. A finished eval
    is never retried, so two finished logs with one `task_id` are two copies of a log
    (copied in twice, or merged from two folders), not attempts: both are kept, and
    the duplicate-pair check (`duplicates.py`) names them and asks for a policy.
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
        copies = {f for f in files if headers[f].status == "success"}
        for file in files:
            if file != keep and file not in copies:
                superseded.add(file)
                skipped.append(
                    SkippedLog(
                        log=relative_name(file, base),
                        task=headers[file].eval.task,
                        reason=(
                            f"an earlier attempt (status {headers[file].status}) of the eval in "
                            f"{relative_name(keep, base)} (same task_id {task_id}), which is used"
                        ),
                        path=file,
                    )
                )
    return [(file, kind) for file, kind in kinds if file not in superseded]


def _plain(data: _LogData) -> dict[str, Any]:
    """A log's columns as plain data, for the cache."""
    return {"summary": asdict(data.summary), "columns": data.columns, "features": data.features}


def _from_plain(value: Any) -> _LogData | None:
    try:
        data = _LogData(summary=LogSummary(**value["summary"]), columns=value["columns"], features=value["features"])
    except (TypeError, KeyError):  # not an entry of this reader: read the log
        return None
    ok = all(set(data.columns.get(name) or {}) == set(schema) for name, schema in _FRAME_SCHEMAS.items())
    return data if ok else None


def _read_all(
    kinds: list[tuple[str, str]],
    base: str,
    scorer: str | None,
    workers: int | None,
    detail: bool,
    summaries: bool,
    cache: FramesCache | None = None,
) -> list[_LogData]:
    keys = {
        file: cache.key(file, log=relative_name(file, base), kind=kind, scorer=scorer,
                        detail=detail, summaries=summaries)
        for file, kind in kinds
    } if cache is not None else {}
    done: dict[str, _LogData] = {}
    for file, key in keys.items():
        found = _from_plain(cache.get(key)) if cache is not None else None
        if found is not None:
            done[file] = found
    todo = [(f, kind) for f, kind in kinds if f not in done]
    sizes = sum(file_size(f) for f, _ in todo)
    if workers is None:
        workers = min(4, os.cpu_count() or 1, len(todo)) if sizes > 20_000_000 else 1
    if workers <= 1 or len(todo) <= 1:
        read = [_read_log(f, base, kind, scorer, detail, summaries) for f, kind in todo]
    else:
        # gc.freeze: the worker's inherited heap (Inspect, pandas) is left out of every collection, which
        # otherwise rescans it each time Inspect's parsing has made enough objects: ~9% of reading
        with ProcessPoolExecutor(max_workers=workers, initializer=gc.freeze) as pool:
            futures = [pool.submit(_read_log, f, base, kind, scorer, detail, summaries) for f, kind in todo]
            read = [future.result() for future in futures]
    for (file, _), rows in zip(todo, read):
        done[file] = rows
        if cache is not None:
            cache.put(keys[file], _plain(rows))
    return [done[file] for file, _ in kinds]


def judged_pairs_frame(log_dir: str | os.PathLike[str], *, scorer: str | None = None) -> pd.DataFrame:
    """One row per judged pair (schema in this module's docstring), from sample summaries."""
    return read_frames(log_dir, scorer=scorer, detail=False).pairs


def judge_verdicts_frame(log_dir: str | os.PathLike[str], *, scorer: str | None = None) -> pd.DataFrame:
    """One row per (pair, judge, presentation)."""
    return read_frames(log_dir, scorer=scorer).verdicts


def outputs_frame(log_dir: str | os.PathLike[str], *, scorer: str | None = None) -> pd.DataFrame:
    """One row per (output, judge, criterion) rubric score."""
    return read_frames(log_dir, scorer=scorer).outputs
