"""Local paths and object-storage URLs, one type for both.

Inspect reads and writes logs at a local path or at any fsspec URL (`s3://bucket/prefix`,
`gs://...`). `location` turns what a user passed into a `pathlib.Path` (a plain path or
a `file://` URL) or a `upath.UPath` (universal_pathlib, which Inspect itself depends on:
the same `/`, `exists`, `is_file`, `read_text` through fsspec). Today only the check that
a task's utilities file exists goes through it; the study folder, its lock and the
report are local (`utility-gap run --out s3://...` is not supported yet).
"""

from __future__ import annotations

import os
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
