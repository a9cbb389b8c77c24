"""Which Inspect logs belong to a task: the one place that picks a task's logs from a folder or a list.

Each log's header is read first (cheap); only the logs of the named task are read whole,
without the fields the frames never use (messages, events, store, attachments).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from inspect_ai.log import EvalLog, EvalLogInfo, list_eval_logs, read_eval_log

from utility_gap.analysis.locations import location

UNUSED_FIELDS = frozenset({"messages", "events", "store", "attachments"})


def task_logs(logs: str | Path | Iterable[str | Path | EvalLogInfo], task_name: str) -> list[EvalLog]:
    """The logs of `task_name` (matched on its short name) in a folder (recursively), one file, or a list.

    A folder or file may be a URL (`s3://bucket/run/logs`), read through Inspect's fsspec support.
    """
    if isinstance(logs, (str, Path)) and location(logs).is_dir():
        sources: list[str | EvalLogInfo] = list(list_eval_logs(str(logs), recursive=True))
    elif isinstance(logs, (str, Path)):
        sources = [str(logs)]
    else:
        sources = [s if isinstance(s, EvalLogInfo) else str(s) for s in logs]
    return [
        read_eval_log(source, exclude_fields=set(UNUSED_FIELDS))
        for source in sources
        if read_eval_log(source, header_only=True).eval.task.split("/")[-1] == task_name
    ]


def unfinished_logs(paths: Iterable[str | Path]) -> list[str]:
    """One line per log that did not finish (stopped, cancelled, errored): its status and samples present.

    Its finished samples are in the frames; the rest are missing, not failed, so a reader
    must be told (a rerun of the same command completes them).
    """
    lines = []
    for path in paths:
        header = read_eval_log(str(path), header_only=True)
        if header.status == "success":
            continue
        expected = (header.eval.dataset.samples or 0) * (header.eval.config.epochs or 1)
        present = header.results.completed_samples if header.results else 0
        lines.append(f"`{Path(str(path)).name}` ({header.eval.task}): status {header.status}, {present} of "
                     f"{expected} samples finished")
    return lines
