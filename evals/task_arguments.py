"""Bad task arguments (`-T ...`) reach the user as one paragraph, not a traceback.

Why this module: a broken utilities file or items file given with `-T` used to end
`inspect eval` with a 130-280 line traceback above the one useful line.

How Inspect decides (inspect_ai 0.3.285): the `inspect` command installs a
`sys.excepthook` (`inspect_ai._util.error.exception_hook`) that prints a
`PrerequisiteError`'s message alone and hands every other exception to the hook it
replaced, which prints the traceback. `PrerequisiteError` lives in a private module and
no public module re-exports it (not `inspect_ai`, `inspect_ai.util`, `inspect_ai.model`,
...), so this package does not import it. Instead the public route is Python's own:
when a task's argument check or file loader raises a `ValueError` (inside
`task_arguments`), the error is marked with the task's name and `install_message_hook()`
chains a `sys.excepthook` in front of the current one (Inspect's, under `inspect eval`)
that prints a marked error as `utility_gap/<task>: <message>` and passes everything else
on unchanged. From Python the error is unchanged: same type, same message.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

_HOOK_MARK = "_utility_gap_task_argument_hook"
_TASK_MARK = "_utility_gap_task"


def argument_error_task(error: BaseException) -> str | None:
    """The task whose arguments `error` was raised for (set by `task_arguments`), else None."""
    task = getattr(error, _TASK_MARK, None)
    return task if isinstance(task, str) else None


def argument_error_message(error: BaseException) -> str:
    """`utility_gap/<task>: <message>` for a marked error; the message alone otherwise."""
    task = argument_error_task(error)
    return f"utility_gap/{task}: {error}" if task else str(error)


def _message_hook(previous: Callable[..., Any]) -> Callable[..., Any]:
    def hook(kind: type[BaseException], error: BaseException, traceback: TracebackType | None) -> None:
        if argument_error_task(error):
            print(f"\n{argument_error_message(error)}\n", file=sys.stderr, flush=True)
        else:
            previous(kind, error, traceback)

    setattr(hook, _HOOK_MARK, True)
    return hook


def install_message_hook() -> None:
    """Chain the hook once (idempotent); other exceptions still reach the previous hook."""
    if not getattr(sys.excepthook, _HOOK_MARK, False):
        sys.excepthook = _message_hook(sys.excepthook)


def mark_argument_error(error: ValueError, name: str) -> ValueError:
    """Mark `error` (raised for `name`'s arguments, e.g. a model's `-M`) to print as one paragraph."""
    if argument_error_task(error) is None:
        setattr(error, _TASK_MARK, name)
    install_message_hook()
    return error


@contextmanager
def task_arguments(task_name: str) -> Iterator[None]:
    """Around a task's argument checks and file loading: mark a ValueError as the user's to fix.

    Every argument check and file loader in this package raises a `ValueError` (or a
    subclass such as `UtilitiesFileError`) whose message names the file, field or flag, so
    that message is all the user needs to see. The error keeps its type (callers may
    catch `UtilitiesFileError`, `TaskItemError`, ...); it is only marked with the task.
    """
    try:
        yield
    except ValueError as ex:
        mark_argument_error(ex, task_name)
        raise
