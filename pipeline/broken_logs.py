"""Damaged Inspect logs in a run folder: find them, name them, and (on request) move them aside.

Why: a `.eval` cut short (a killed process, a full disk) made every rerun of
`utility-gap run` fail inside Inspect with `EOCD not found`, naming no file. The run now
reads every log header under `DIR/logs/` before any model call. A damaged log stops the
run with a message naming each file; with `--quarantine-broken-logs` the files move to
`DIR/broken/` (same relative path) and the run goes on: Stage 1 runs the lost round again
and the eval set runs the lost eval again, while every readable log is reused.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from inspect_ai.log import list_eval_logs, read_eval_log

from utility_gap.analysis.locations import is_url, location, relative_name

QUARANTINE_FLAG = "--quarantine-broken-logs"
BROKEN_FOLDER = "broken"


@dataclass(frozen=True)
class BrokenLog:
    path: Path
    reason: str


def find_broken_logs(log_dir: Path) -> list[BrokenLog]:
    """Every log under `log_dir` whose header cannot be read, in path order."""
    if not log_dir.is_dir():
        return []
    broken: list[BrokenLog] = []
    for info in list_eval_logs(str(log_dir), recursive=True):
        try:
            read_eval_log(info, header_only=True)
        except Exception as ex:  # any failure to read is a damaged file to name
            broken.append(BrokenLog(location(info.name), f"{type(ex).__name__}: {ex}"))  # type: ignore[arg-type]
    return sorted(broken, key=lambda b: str(b.path))


def describe(broken: list[BrokenLog], out: Path) -> str:
    """The error text: which files, why, and the two ways out."""
    lines = [
        f"{len(broken)} log file(s) under {out / 'logs'} cannot be read; they are damaged or were cut short "
        "(a killed run, a full disk):"
    ]
    lines += [f"  {b.path}  ({b.reason})" for b in broken]
    lines.append(
        f"Rerun the same command with {QUARANTINE_FLAG} to move them to {out / BROKEN_FOLDER}/ and redo only "
        "their work (every readable log is reused), or move them out of the folder yourself."
    )
    return "\n".join(lines)


def quarantine(broken: list[BrokenLog], out: Path) -> list[Path]:
    """Move each damaged log to OUT/broken/<its path under OUT>; returns the new paths."""
    if is_url(out):
        return _quarantine_remote(broken, out)
    moved: list[Path] = []
    for log in broken:
        try:
            relative = log.path.resolve().relative_to(out.resolve())
        except ValueError:
            relative = Path(log.path.name)
        target = out / BROKEN_FOLDER / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target = _unused(target)
        shutil.move(str(log.path), str(target))
        moved.append(target)
    return moved


def _quarantine_remote(broken: list[BrokenLog], out: Path) -> list[Path]:
    """The same move on object storage (a copy and a delete, through fsspec)."""
    root = location(out)
    moved: list[Path] = []
    for log in broken:
        inside = str(log.path).startswith(str(root))
        relative = relative_name(str(log.path), str(root)) if inside else log.path.name
        target = _unused(root / BROKEN_FOLDER / relative)
        log.path.fs.mv(log.path.path, target.path)  # type: ignore[attr-defined]
        moved.append(target)  # type: ignore[arg-type]
    return moved


def _unused(target: Path) -> Path:
    """`target`, or a numbered name beside it when a log of that name was moved aside before."""
    if not target.exists():
        return target
    return target.with_name(f"{target.stem}.{len(list(target.parent.iterdir()))}{target.suffix}")
