"""Atomic writes of small output files: follow the umask, name the path when the disk refuses.

Why: a temp file from `tempfile.mkstemp` is private (0600) and keeps that mode through the
rename, so files written this way ignored the user's umask; and a full disk or read-only
folder surfaced as a raw `OSError` traceback. Every atomic writer of utilities, pairs and
entity report files goes through `write_text_atomic`, and a failed write raises
`OutputWriteError`, whose message names the path, the reason and what to do.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from utility_gap.analysis.locations import is_url, location

FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
READ_ONLY = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})
WRITE_ERRNOS = FULL | READ_ONLY | {errno.EIO}
"""Error numbers that mean "the output cannot be written", not a bug or a bad argument."""


class OutputWriteError(OSError):
    """Writing an output file failed (disk full, read-only folder, ...); the message names the path."""

    def __init__(self, path: str | Path, cause: OSError, note: str = "") -> None:
        super().__init__(cause.errno, cause.strerror or str(cause), str(path))
        self.note = note

    def __str__(self) -> str:
        return write_failure_message(self.filename, self) + (f" {self.note}" if self.note else "")


def write_failure_message(path: object, error: OSError) -> str:
    """`Cannot write PATH: reason. What to do.` for an OSError raised while writing PATH."""
    reason = error.strerror or str(error)
    if error.errno in FULL:
        fix = (
            "The disk is full (or the file too large for it): free some space, or use an --out on another disk, "
            "and rerun the same command."
        )
    elif error.errno in READ_ONLY:
        fix = "The folder is read-only or not writable by you: fix its permissions or choose another --out."
    else:
        fix = "Fix the cause and rerun the same command."
    return f"Cannot write {path}: {reason}. {fix}"


def current_umask() -> int:
    """The process umask (read by setting and restoring it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text_atomic(path: str | Path, text: str, *, encoding: str = "utf-8", durable: bool = False) -> Path:
    """Write `text` to `path` via a temp file in the same folder and a rename, mode 0666 & ~umask.

    `durable`: fsync the text before the rename, for a file whose loss after a crash would
    lose a study's record (the study file). At a URL (`s3://...`, `analysis/locations.py`)
    the text is one object write, which object storage makes atomic itself.
    """
    if is_url(path):
        target = location(path)
        try:
            target.write_text(text, encoding=encoding)
        except OSError as ex:
            raise OutputWriteError(str(target), ex) from ex
        return target  # type: ignore[return-value]
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as ex:
        raise OutputWriteError(path, ex) from ex
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline="\n") as handle:
            handle.write(text)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
    except OSError as ex:
        Path(tmp).unlink(missing_ok=True)
        raise OutputWriteError(path, ex) from ex
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
