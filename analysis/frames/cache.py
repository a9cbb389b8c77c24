"""A cache of the rows each log gave the frames, so a report over logs already read skips reading them.

Why: reading a log's sample summaries through Inspect costs about 2 ms of CPU per
sample (decompressing, parsing, and re-validating every summary), so a 50k-pair study
spends minutes on it in every report, while the rows the frames keep are a small part of
it. A report is often rewritten over the same logs (another margin, exclusion or plan),
so `read_frames` can keep each log's rows in a cache folder and reuse them while the
log is unchanged.

An entry is keyed by the log's absolute path, size, modification time and last 64 kB
(a zip log's central directory, with every member's checksum), the reading options,
Inspect's version and the source of the code that makes rows (`reader_version`): a
changed log, option or reader never meets an old entry. Entries are pickles of plain
Python data (lists, dicts, str, numbers, None); they are loaded with an unpickler that
refuses every class, so a tampered file cannot run code. A cache that cannot be read or
written is skipped with a warning: it never fails a report or changes a frame.

The default folder is `$UTILITY_GAP_CACHE`, else `$XDG_CACHE_HOME/utility-gap/frames`,
else `~/.cache/utility-gap/frames`. Entries are never needed again once their log
changes; delete the folder at any time.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import pickle
import tempfile
from functools import lru_cache
from importlib import metadata as package_metadata
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

CACHE_ENV = "UTILITY_GAP_CACHE"
_TAIL_BYTES = 65536
# the modules whose code decides what a log's rows are
_READER_MODULES = (
    "reading.py", "sample_rows.py", "recorded_features.py", "schemas.py", "validation.py", "texts.py", "../text_features.py",
)


def default_cache_dir() -> Path:
    """`$UTILITY_GAP_CACHE`, else the user's cache folder (XDG) / utility-gap / frames."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "utility-gap" / "frames"


@lru_cache(maxsize=1)
def reader_version() -> str:
    """Hash of the code that turns a log into rows, and of Inspect's version (which reads the log)."""
    digest = hashlib.sha256()
    here = Path(__file__).parent
    for name in _READER_MODULES:
        digest.update((here / name).read_bytes())
    for package in ("inspect_ai", "textstat", "wordfreq"):
        try:
            digest.update(f"{package}={package_metadata.version(package)}".encode())
        except package_metadata.PackageNotFoundError:
            digest.update(f"{package}=missing".encode())
    return digest.hexdigest()[:16]


class _PlainUnpickler(pickle.Unpickler):
    """Loads lists, dicts, strings, numbers and None only: any class or function is refused."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"the frames cache holds only plain data, not {module}.{name}")


class FramesCache:
    """Rows per (log file, reading options), in one folder (see the module docstring)."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root) if root is not None else default_cache_dir()

    def key(self, path: str, **options: Any) -> str | None:
        """The entry name for this log and these options; None when the file cannot be examined."""
        try:
            stat = os.stat(path)
            with open(path, "rb") as file:
                file.seek(max(0, stat.st_size - _TAIL_BYTES))
                tail = file.read()
        except OSError:
            return None
        identity = json.dumps(
            [reader_version(), os.path.abspath(path), stat.st_size, stat.st_mtime_ns, sorted(options.items())],
            default=str,
        )
        return hashlib.sha256(identity.encode() + tail).hexdigest()

    def _file(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.pickle"

    def get(self, key: str | None) -> Any:
        """The stored value, or None (no entry, or one that cannot be read)."""
        if key is None:
            return None
        file = self._file(key)
        try:
            data = file.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as ex:
            logger.warning("Frames cache entry %s could not be read (%s); reading the log instead.", file, ex)
            return None
        try:
            return _PlainUnpickler(io.BytesIO(data)).load()
        except Exception as ex:  # damaged or foreign: read the log, and let put() replace it
            logger.warning("Frames cache entry %s is unusable (%s); reading the log instead.", file, ex)
            return None

    def put(self, key: str | None, value: Any) -> None:
        """Store `value` (plain data) atomically; a failure is only a warning."""
        if key is None:
            return
        file = self._file(key)
        try:
            file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            handle, temporary = tempfile.mkstemp(dir=file.parent, prefix=".writing-")
            try:
                with os.fdopen(handle, "wb") as out:
                    pickle.dump(value, out, protocol=pickle.HIGHEST_PROTOCOL)
                os.replace(temporary, file)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except Exception as ex:
            logger.warning("Could not write frames cache entry %s (%s); the report is unaffected.", file, ex)
