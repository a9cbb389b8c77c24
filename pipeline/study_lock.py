"""One run at a time per study folder: a lock that dies with the process holding it.

Two `utility-gap run` commands writing into one `--out` at once would each log the same
samples, and the report would count every pair twice. So a run holds the folder's lock
from before its first model call to its last write, and a second run refuses to start
(`StudyFolderBusy`, naming the folder and the holder's PID).

Local folders: `fcntl.flock` on `DIR/.utility-gap.lock`, with the holder's PID, host
and start time written in the file. The kernel drops a flock when its holder exits,
however it exits (Ctrl-C, SIGKILL, a crash), so a killed run never leaves a stale
lock; the file stays behind and means nothing by itself.

Other storage: `study_lock(out)` picks the lock by the folder's URL scheme from
`LOCKS`. Only local folders have one today; a remote folder (e.g. `s3://...`) gets a
best-effort variant by adding a class with the same two methods (`acquire`, `release`)
to `LOCKS` under its scheme.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse

LOCK_FILE = ".utility-gap.lock"


class StudyFolderBusy(RuntimeError):
    """Another live process holds the study folder."""


class StudyLock(Protocol):
    """What a study folder's lock does; `acquire` raises `StudyFolderBusy` without waiting."""

    def acquire(self) -> None: ...

    def release(self) -> None: ...


class LocalStudyLock:
    """An exclusive, non-blocking `flock` on `DIR/.utility-gap.lock`, released on exit."""

    def __init__(self, folder: str | os.PathLike[str], shown: str | os.PathLike[str] | None = None) -> None:
        self.folder = Path(folder)
        self.shown = Path(shown) if shown is not None else self.folder  # the --out a busy message names
        self.path = self.folder / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)  # not inherited by child processes
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StudyFolderBusy(_busy_message(self.shown, _read_holder(self.path))) from None
        except BaseException:
            os.close(fd)
            raise
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join(sys.argv[:1] + sys.argv[1:3]),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(holder) + "\n").encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


LOCKS: dict[str, Callable[..., StudyLock]] = {"": LocalStudyLock, "file": LocalStudyLock}


def lock_for(out: str | os.PathLike[str], shown: str | os.PathLike[str] | None = None) -> StudyLock:
    """The lock for a study folder, chosen by its URL scheme (a plain path is local).

    `shown`: the `--out` a busy message names, when the lock is a folder inside it.
    """
    text = os.fspath(out)
    scheme = urlparse(text).scheme if "://" in text else ""
    if scheme not in LOCKS:
        raise StudyFolderBusy(
            f"--out {text}: no lock is known for '{scheme}://' folders, so two runs could write into it at "
            "once. Use a local folder."
        )
    if scheme == "file":
        text = urlparse(text).path
    return LOCKS[scheme](text, shown)


@contextlib.contextmanager
def study_lock(out: str | os.PathLike[str], shown: str | os.PathLike[str] | None = None) -> Iterator[StudyLock]:
    """Hold the study folder for the duration of the block; refuse at once if it is held."""
    lock = lock_for(out, shown)
    lock.acquire()
    try:
        yield lock
    finally:
        lock.release()


def _read_holder(path: Path) -> dict[str, object]:
    """The holder's record; a holder that has just locked may not have written it yet."""
    for _ in range(20):
        try:
            text = path.read_text().strip()
        except OSError:
            text = ""
        if text:
            try:
                return dict(json.loads(text))
            except ValueError:
                pass
        time.sleep(0.025)
    return {}


def _busy_message(folder: Path, holder: dict[str, object]) -> str:
    pid = holder.get("pid", "unknown")
    where = f" on {holder['host']}" if holder.get("host") and holder.get("host") != socket.gethostname() else ""
    since = f", started {holder['started']}" if holder.get("started") else ""
    return (
        f"--out {folder} is in use by another utility-gap run (PID {pid}{where}{since}). Two runs in one folder "
        "would log the same samples twice. Wait for that run to finish (or stop it), then rerun this command "
        "to resume; or pass a different --out."
    )
