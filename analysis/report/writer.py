"""Writing the report folder: the section order, the staging folder and the atomic swap.

Writing is atomic: the folder is built in a temporary sibling directory and swapped in
only when complete, so a failed or interrupted run leaves the previous report intact and
never a half-written one. Nothing is created when the logs cannot be read.

A section is a function `(ReportDocument, ReportContext) -> None`; `BODY_SECTIONS` is
their order in the report. A new section is one function in a `*_sections.py` module
and one entry here.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from utility_gap.analysis.frames import Frames, read_frames
from utility_gap.analysis.report.document import ReportContext, ReportDocument
from utility_gap.analysis.report.judge_sections import chrf_section, judges_section
from utility_gap.analysis.report.result_sections import (
    aggregates_section,
    dose_response_section,
    rubric_section,
    win_rates_section,
)
from utility_gap.analysis.report.run_sections import exclusions_section, what_was_run_section
from utility_gap.analysis.report.settings import ReportError, ReportSettings
from utility_gap.analysis.report.stage1_sections import utilities_section
from utility_gap.analysis.report.summary_sections import data_cautions_section, findings

REPORT_FILE = "report.md"

Section = Callable[[ReportDocument, ReportContext], None]

BODY_SECTIONS: tuple[Section, ...] = (
    what_was_run_section,
    exclusions_section,  # sets ctx.kept, which every later section analyses
    win_rates_section,
    aggregates_section,
    dose_response_section,
    chrf_section,
    rubric_section,
    judges_section,
    utilities_section,
    data_cautions_section,  # last: it reads the tables the others made
)


def _check_target(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise ReportError(f"--out {out_dir} is a file; give a directory for the report.")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / REPORT_FILE).is_file():
        raise ReportError(
            f"--out {out_dir} is a non-empty directory that holds no {REPORT_FILE}; refusing to replace it. "
            "Choose a new or empty directory (a previous report folder is replaced)."
        )


def write_report(log_dir: str | Path, out_dir: str | Path, settings: ReportSettings = ReportSettings()) -> Path:
    """Read the logs, compute every table and figure, and atomically (re)place `out_dir`.

    Raises `FrameError` (bad or missing logs) or `ReportError` before anything is written.
    Returns the path of report.md.
    """
    log_dir, out_dir = Path(log_dir), Path(out_dir).resolve()
    _check_target(out_dir)
    if settings.utilities_dir is not None and not Path(settings.utilities_dir).is_dir():
        raise ReportError(f"--utilities {settings.utilities_dir} is not a directory of utilities files.")
    frames = read_frames(log_dir, scorer=settings.scorer)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.building-", dir=out_dir.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(staging, 0o777 & ~umask)  # mkdtemp makes it private; the report is an ordinary folder
    try:
        _build(frames, log_dir, staging, settings)
        _swap(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_dir / REPORT_FILE


def _swap(staging: Path, out_dir: Path) -> None:
    """Replace out_dir by staging with two renames (the old report is removed last)."""
    old = None
    if out_dir.exists():
        old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
        os.replace(out_dir, old)
    os.replace(staging, out_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _build(frames: Frames, log_dir: Path, root: Path, settings: ReportSettings) -> None:
    doc = ReportDocument(root=root)
    (root / "tables").mkdir()
    (root / "figures").mkdir()
    body = ReportDocument(root=root, tables=doc.tables, figures=doc.figures, cautions=doc.cautions)
    ctx = ReportContext(frames=frames, log_dir=log_dir, settings=settings)
    for section in BODY_SECTIONS:
        section(body, ctx)

    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    doc.add("# utility-gap report", f"Generated {stamp} from `{log_dir}`.")
    lines = findings(ctx)
    if lines:
        doc.add(*lines)
    doc.add("## What the data cannot support")
    if doc.cautions:
        doc.add(*[f"- {c}" for c in dict.fromkeys(doc.cautions)])
    else:
        doc.add("No limitation was detected beyond the intervals shown.")
    doc.lines.extend(body.lines)
    (root / REPORT_FILE).write_text("\n".join(doc.lines), encoding="utf-8")
