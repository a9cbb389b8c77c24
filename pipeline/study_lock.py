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
`LOCKS`. A folder on S3 (`s3://`, or an S3-compatible server; `ObjectStoreStudyLock`)
cannot be flocked, so its lock is a lock object, `DIR/.utility-gap.lock`, holding the
holder's host, PID, start time and a random token:

- taking it is a conditional create (S3's `If-None-Match: *`, s3fs's `mode="create"`),
  so of two runs that start together exactly one creates it;
- while the run lives it rewrites the object every `HEARTBEAT_SECONDS` (a heartbeat);
- a present lock refuses the run (`StudyFolderBusy`, naming host and PID) unless it is
  stale: its holder is on this host and its PID is gone (a killed run rerun on its
  machine goes ahead at once), or its holder is elsewhere and the object has not been
  rewritten for `STALE_SECONDS`. The age is judged by the store's clock alone: the lock
  object's last-modified time against that of a probe object written just then, so
  the machines' clocks do not matter. A stale lock is taken over;
- released, the object is deleted if it is still this run's.

Limits (docs/object-storage.md): a run killed on another machine blocks the folder until its lock
is `STALE_SECONDS` old; a run that stalls longer than that (a suspended laptop) can lose
its lock to another run without noticing; two runs that take over one stale lock at the
same moment can both go ahead (each checks, after a pause, that its token is the one
stored, which makes this unlikely, not impossible); two machines with one host name
look like one. Other stores (`gs://`, `az://`)
have no lock yet: a class with `acquire` and `release`, tested against that store,
goes into `LOCKS` under its scheme.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sys
import threading
import time
import uuid
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
        holder = _holder()
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


HEARTBEAT_SECONDS = 30.0
STALE_SECONDS = 120.0
TAKEOVER_PAUSE_SECONDS = 1.0
S3FS_CONDITIONAL_WRITES = (2024, 12)  # the first s3fs with pipe_file(mode="create")


class ObjectStoreStudyLock:
    """A lock object on S3 with a heartbeat (see the module docstring for its limits)."""

    def __init__(self, folder: str, shown: str | os.PathLike[str] | None = None) -> None:
        from upath import UPath

        _require_conditional_writes(folder)
        self.folder = folder.rstrip("/")
        self.shown = str(shown) if shown is not None else self.folder  # the --out a busy message names
        target = UPath(f"{self.folder}/{LOCK_FILE}")
        self.fs, self.key = target.fs, target.path
        self._token: str | None = None
        self._started = ""
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def _record(self) -> bytes:
        holder = _holder() | {"started": self._started, "token": self._token}
        return (json.dumps(holder) + "\n").encode()

    def _read(self) -> dict[str, object] | None:
        self.fs.invalidate_cache()
        try:
            return dict(json.loads(self.fs.cat_file(self.key)))
        except FileNotFoundError:
            return None
        except ValueError:  # not a lock record (garbage): held, by an unknown holder
            return {}

    def _age(self) -> float | None:
        """Seconds since the lock object was last written, by the store's clock (None: it is gone)."""
        probe = f"{self.key}.clock-{self._token}"
        self.fs.pipe_file(probe, b"")
        try:
            self.fs.invalidate_cache()
            now = self.fs.modified(probe)
            written = self.fs.modified(self.key)
        except FileNotFoundError:
            return None
        finally:
            self.fs.rm_file(probe)
        return (now - written).total_seconds()

    def _stale(self, holder: dict[str, object]) -> bool:
        """A holder on this host is judged by its PID; one elsewhere by the lock object's age."""
        if holder.get("host") == socket.gethostname() and isinstance(holder.get("pid"), int):
            return not _alive(int(holder["pid"]))  # type: ignore[arg-type]
        age = self._age()
        return age is None or age > STALE_SECONDS

    def acquire(self) -> None:
        self._token = uuid.uuid4().hex
        self._started = datetime.now(timezone.utc).isoformat(timespec="seconds")
        try:
            self.fs.pipe_file(self.key, self._record(), mode="create")
        except FileExistsError:
            holder = self._read()
            if holder is not None and not self._stale(holder):
                self._token = None
                raise StudyFolderBusy(_busy_message(self.shown, holder)) from None
            self.fs.pipe_file(self.key, self._record())  # a stale lock: take it over
            time.sleep(TAKEOVER_PAUSE_SECONDS)
            holder = self._read()
            if holder is None or holder.get("token") != self._token:  # another run took it over too
                self._token = None
                raise StudyFolderBusy(_busy_message(self.shown, holder or {})) from None
        self._stop.clear()
        self._beat = threading.Thread(target=self._heartbeat, name="utility-gap-lock-heartbeat", daemon=True)
        self._beat.start()

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                holder = self._read()
                if holder is None or holder.get("token") != self._token:
                    return  # taken over (we were thought dead): nothing of ours to refresh
                self.fs.pipe_file(self.key, self._record())
            except Exception:  # a failed refresh (network) is retried at the next beat
                continue

    def release(self) -> None:
        if self._token is None:
            return
        self._stop.set()
        if self._beat is not None:
            self._beat.join(timeout=10)
        try:
            holder = self._read()
            if holder is not None and holder.get("token") == self._token:
                self.fs.rm_file(self.key)
        finally:
            self._token = None


def _require_conditional_writes(folder: str) -> None:
    """The lock's create-if-absent needs s3fs 2024.12 or later (older ones have no mode="create")."""
    from importlib.metadata import version

    installed = version("s3fs")
    if tuple(int(part) for part in installed.split(".")[:2]) < S3FS_CONDITIONAL_WRITES:
        raise StudyFolderBusy(
            f"--out {folder}: the lock of a study on S3 needs s3fs 2024.12 or later (installed: {installed}), for "
            "conditional writes. Install the s3 extra: pip install 'utility-gap[s3]'."
        )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process
    return True


def _holder() -> dict[str, object]:
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv[:1] + sys.argv[1:3]),
    }


LOCKS: dict[str, Callable[..., StudyLock]] = {
    "": LocalStudyLock,
    "file": LocalStudyLock,
    "s3": ObjectStoreStudyLock,
}


def lock_for(out: str | os.PathLike[str], shown: str | os.PathLike[str] | None = None) -> StudyLock:
    """The lock for a study folder, chosen by its URL scheme (a plain path is local).

    `shown`: the `--out` a busy message names, when the lock is a folder inside it.
    """
    text = str(out)  # a UPath's str is its URL
    scheme = urlparse(text).scheme if "://" in text else ""
    if scheme not in LOCKS:
        raise StudyFolderBusy(
            f"--out {text}: no lock is known for '{scheme}://' folders, so two runs could write into it at "
            "once. Use a local folder or an s3:// URL."
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


def _busy_message(folder: Path | str, holder: dict[str, object]) -> str:
    pid = holder.get("pid", "unknown")
    where = f" on {holder['host']}" if holder.get("host") and holder.get("host") != socket.gethostname() else ""
    since = f", started {holder['started']}" if holder.get("started") else ""
    return (
        f"--out {folder} is in use by another utility-gap run (PID {pid}{where}{since}). Two runs in one folder "
        "would log the same samples twice. Wait for that run to finish (or stop it), then rerun this command "
        "to resume; or pass a different --out."
    )
