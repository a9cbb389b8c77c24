"""Which Inspect logs belong to a task: the one place that picks a task's logs from a folder or a list.

Each log's header is read first (cheap); only the logs of the named task are read whole,
without the fields the frames never use (messages, events, store, attachments).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from inspect_ai.log import EvalLog, EvalLogInfo, list_eval_logs, read_eval_log

UNUSED_FIELDS = frozenset({"messages", "events", "store", "attachments"})


def task_logs(logs: str | Path | Iterable[str | Path | EvalLogInfo], task_name: str) -> list[EvalLog]:
    """The logs of `task_name` (matched on its short name) in a folder (recursively), one file, or a list."""
    if isinstance(logs, (str, Path)) and Path(logs).is_dir():
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
