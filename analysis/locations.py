"""Local paths and object-storage URLs, one type for both.

Inspect reads and writes logs at a local path or at any fsspec URL (`s3://bucket/prefix`,
`gs://...`). `location` turns what a user passed into a `pathlib.Path` (a plain path or
a `file://` URL) or a `upath.UPath` (universal_pathlib, which Inspect itself depends on:
the same `/`, `exists`, `is_dir`, `read_text`, `write_text` and `iterdir` through
fsspec), so the suite's own files (utilities, pairs and study files) can live in a
bucket next to the logs (`utility-gap run --out s3://bucket/prefix`, docs/object-storage.md).
Writing one object is atomic on object storage (a reader sees the old object or the new
one), which is what `atomic_files.write_text_atomic` relies on there.

Object storage has no real folders: `is_dir` is true when some object's key starts with
the prefix, and `mkdir` does nothing. Nothing here depends on folders existing.
"""

from __future__ import annotations

import os
import posixpath
from pathlib import Path
from typing import Any, Union
from urllib.parse import unquote, urlparse

from upath import UPath

Location = Union[Path, UPath]


def is_url(value: Any) -> bool:
    """Is this a URL of another filesystem than the local one (`s3://...`; not `file://`)?"""
    if isinstance(value, UPath) and not isinstance(value, Path):
        return True
    text = str(value)
    return "://" in text and not text.startswith("file://")


def location(value: str | os.PathLike[str] | Location) -> Location:
    """A local `Path`, or a `UPath` for a URL (a `Path` or `UPath` given is returned as it is)."""
    if isinstance(value, (Path, UPath)):
        return value
    text = os.fspath(value)
    if text.startswith("file://"):
        return Path(unquote(urlparse(text).path))
    return UPath(text) if is_url(text) else Path(text)


def local_name(name: str) -> str:
    """A log location as Inspect lists it (`file:///x/y.eval`) as a plain path; URLs unchanged."""
    return unquote(urlparse(name).path) if name.startswith("file://") else name


def relative_name(path: str, base: str) -> str:
    """`path` relative to the folder `base`, with forward slashes (local paths or URLs)."""
    if is_url(path) or is_url(base):
        return posixpath.relpath(_key(path), _key(base))
    return Path(os.path.relpath(path, base)).as_posix()


def parent(path: str) -> str:
    """The folder holding `path` (a local path or a URL)."""
    return str(UPath(path).parent) if is_url(path) else str(Path(path).parent)


def common_folder(paths: list[str]) -> str:
    """The deepest folder holding every path (all local, or all URLs on one store)."""
    if not paths:
        return "."
    if any(is_url(p) for p in paths):
        scheme = urlparse(paths[0]).scheme
        return f"{scheme}://{posixpath.commonpath([posixpath.dirname(_key(p)) for p in paths])}"
    return os.path.commonpath([str(Path(p).parent) for p in paths])


def file_size(path: str) -> int:
    """Bytes in a file (local or remote)."""
    if is_url(path):
        target = UPath(path)
        return int(target.fs.size(target.path))
    return os.path.getsize(path)


def _key(url: str) -> str:
    """`s3://bucket/a/b` -> `bucket/a/b` (the part that relpath can work on)."""
    parsed = urlparse(str(url))
    return (parsed.netloc + parsed.path).rstrip("/") if parsed.scheme else str(url)
