"""Inspect evals whose log could not be written: stop with the path, never regenerate.

Why: when the disk fills (or the folder turns read-only) while Inspect writes a log,
the eval ends in error with only `OSError(28, 'No space left on device')`. Inspect's
whole-task retries then ran the eval again; samples whose log writes had failed were
generated and judged again (new draws, so other winners), and the retries' own writes
failed too. So Stages 2-3 call `eval_set` with no task-level retries of its own and
retry here instead (a retry is a rerun of the eval set, which reuses every sample on
disk), but only for errors that are not write failures: a write failure stops the run
with `OutputWriteError`, naming the log, the reason and the fix.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Sequence
from typing import Any

from inspect_ai import Task, eval_set
from inspect_ai.log import EvalLog

from utility_gap.analysis.atomic_files import WRITE_ERRNOS, OutputWriteError

_REUSE_NOTE = "Samples already in the logs are reused when you rerun; nothing was generated again."

# How Inspect records an exception: its repr, e.g. "OSError(28, 'No space left on device')".
_OS_ERROR = re.compile(r"^\s*(?:\w+\.)*(\w*Error)\((\d+), ['\"](.*)['\"]\)\s*$")


def log_write_failure(log: EvalLog) -> OSError | None:
    """The OSError that stopped this eval, when it is a failure to write output."""
    if log.status != "error" or log.error is None:
        return None
    found = _OS_ERROR.match(log.error.message or "")
    if found is None or int(found.group(2)) not in WRITE_ERRNOS:
        return None
    return OSError(int(found.group(2)), found.group(3))


def write_failure_error(log: EvalLog, error: OSError, rerun: str = _REUSE_NOTE) -> OutputWriteError:
    """The user-facing error for an eval whose log could not be written; `rerun`: what a rerun redoes."""
    location = log.location[len("file://") :] if log.location.startswith("file://") else log.location
    note = (
        f"Inspect could not write this log (it writes through a temporary file in {tempfile.gettempdir()}, "
        f"which may be the disk at fault). {rerun}"
    )
    return OutputWriteError(location or "the Inspect log", error, note)


def raise_on_write_failure(logs: Sequence[EvalLog]) -> None:
    for log in logs:
        error = log_write_failure(log)
        if error is not None:
            raise write_failure_error(log, error)


def eval_set_with_retries(
    tasks: list[Task], *, retries: int, say: Callable[[str], None], **options: Any
) -> tuple[bool, list[EvalLog]]:
    """`eval_set` once, then up to `retries` reruns for evals that ended in a (non-write) error.

    Each rerun is what rerunning the command does: finished samples are read back from
    the logs, only unfinished ones are generated. A cancelled (Ctrl-C) set is not retried.
    """
    attempt = 0
    while True:
        # retry_attempts=1 with retry_immediate=False: exactly one attempt inside Inspect
        try:
            success, logs = eval_set(tasks, retry_attempts=1, retry_immediate=False, **options)
        except OSError as ex:  # a write outside any one eval, e.g. the log folder's manifest
            if ex.errno not in WRITE_ERRNOS:
                raise
            raise OutputWriteError(ex.filename or options.get("log_dir") or "the log folder", ex, _REUSE_NOTE) from None
        raise_on_write_failure(logs)
        if success or not logs or any(log.status == "cancelled" for log in logs) or attempt >= retries:
            return success, logs
        attempt += 1
        failed = [log.eval.task for log in logs if log.status == "error"]
        say(f"Stages 2-3: {len(failed)} eval(s) ended in an error ({', '.join(failed)}); retrying their unfinished samples")
