"""Writing the report folder: the section order, the staging folder and the atomic swap.

Writing is atomic: the folder is built in a temporary sibling directory and swapped in
only when complete, so a failed or interrupted run leaves the previous report intact and
never a half-written one. Nothing is created when the logs cannot be read.

A report replaces only a folder it made itself: every report folder holds `MARKER_FILE`,
which lists the files the report wrote. An `--out` that is missing or empty is used; one
with a marker is replaced only if it holds nothing but the files listed there; anything
else (a folder of the user's, a report.md of unknown origin, a file the user added to an
old report) is refused before any work, so the swap can never delete a file it did not
write.

A section is a function `(ReportDocument, ReportContext) -> None`; `BODY_SECTIONS` is
their order in the report. A new section is one function in a `*_sections.py` module
and one entry here.

Two cores' worth of work: a section in `BESIDE_SECTIONS` runs in a thread beside the
sections after it (its array work releases the GIL), writing its part of the report into
a document of its own that is put back in its place, so the report is the same as
built in order. On a large study the figures are drawn in a second process
(`figure_renderer.py`).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

from utility_gap.analysis.atomic_files import OutputWriteError, current_umask
from utility_gap.analysis.entity_behaviour import ENTITY_TASKS
from utility_gap.analysis.framed_scores import FRAMED_TASK
from utility_gap.analysis.frames import (
    CONTROLS_SCHEMA,
    JUDGE_VERDICTS_SCHEMA,
    OUTPUTS_SCHEMA,
    FrameError,
    Frames,
    read_frames,
    typed_frame,
)
from utility_gap.analysis.locations import is_url
from utility_gap.analysis.pairs_table import PairsTable
from utility_gap.analysis.frames.duplicates import DuplicateResolution
from utility_gap.analysis.report.document import ReportContext, ReportDocument
from utility_gap.analysis.report.figure_renderer import BACKGROUND_FIGURE_PAIRS, FigureRenderer
from utility_gap.analysis.report.duplicates_sections import drop_duplicate_pairs, duplicates_section
from utility_gap.analysis.report.entity_sections import entity_section
from utility_gap.analysis.report.framed_sections import framed_section
from utility_gap.analysis.report.human_sections import human_section
from utility_gap.analysis.report.judge_sections import chrf_section, judges_section
from utility_gap.analysis.report.result_sections import (
    aggregates_section,
    dose_response_section,
    rubric_section,
    win_rates_section,
)
from utility_gap.analysis.report.run_sections import READ_BY_OTHER_SECTIONS, exclusions_section, what_was_run_section
from utility_gap.analysis.report.settings import ReportError, ReportSettings, frames_cache
from utility_gap.analysis.report.stage1_sections import exchange_rates_section, utilities_section
from utility_gap.analysis.report.study_sections import study_models_section
from utility_gap.analysis.report.plan_sections import plan_section
from utility_gap.analysis.report.summary_sections import data_cautions_section, findings
from utility_gap.analysis.report.table_sections import table_input_section
from utility_gap.analysis.report.text_sections import effort_dose_section, text_features_section

REPORT_FILE = "report.md"
MARKER_FILE = ".utility-gap-report.json"
MARKER_KIND = "utility-gap report folder"

Section = Callable[[ReportDocument, ReportContext], None]

BODY_SECTIONS: tuple[Section, ...] = (
    what_was_run_section,
    study_models_section,  # only with the study's models (a study file): the models with no logs yet
    duplicates_section,  # the --duplicates policy and the copies it dropped (before any statistic)
    table_input_section,  # only for a table input (--table): the mapping and the unresolved pairs
    plan_section,  # only with an analysis plan (--plan): the plan, what differs; the planned cells
    exclusions_section,  # sets ctx.kept, which every later section analyses
    win_rates_section,
    aggregates_section,
    dose_response_section,
    text_features_section,  # reads the output texts; the judge diagnostics reuse them
    effort_dose_section,
    chrf_section,
    rubric_section,
    judges_section,
    human_section,  # the panel against people (--ratings)
    utilities_section,
    exchange_rates_section,
    entity_section,
    framed_section,
    data_cautions_section,  # last: it reads the tables the others made
)
# Sections that read only the frames, the pairs kept and the settings, set nothing in
# `ReportContext.results`, draw no figure, and spend their time in numpy: they run in a
# thread beside the sections after them.
BESIDE_SECTIONS: frozenset[Section] = frozenset({rubric_section})
# Tasks whose logs other sections report on, so a log folder with only these (no paired
# writing) still makes a report, of these sections only.
OTHER_FAMILY_TASKS: frozenset[str] = frozenset(ENTITY_TASKS) | {FRAMED_TASK}
OTHER_FAMILY_SECTIONS: tuple[Section, ...] = (utilities_section, exchange_rates_section, entity_section, framed_section)


def _files_in(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if not p.is_dir()}


def _written_files(out_dir: Path) -> set[str] | None:
    """The files the marker says a report wrote here, or None when the folder has no valid marker."""
    try:
        marker = json.loads((out_dir / MARKER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(marker, dict) or marker.get("kind") != MARKER_KIND or not isinstance(marker.get("files"), list):
        return None
    return {str(f) for f in marker["files"]} | {MARKER_FILE}


def _listing(names: set[str]) -> str:
    shown = sorted(names)[:5]
    return ", ".join(shown) + (f" and {len(names) - len(shown)} more" if len(names) > len(shown) else "")


def _check_target(out_dir: Path) -> None:
    """Refuse an --out the report did not make (see the module docstring)."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ReportError(f"--out {out_dir} is a file; give a directory for the report.")
    if not out_dir.is_dir() or not any(out_dir.iterdir()):
        return
    refuse_foreign_files(out_dir, _files_in(out_dir))


def refuse_foreign_files(out_dir: Path, present: set[str]) -> None:
    """Refuse a non-empty report folder unless its marker lists every file in it (`present`).

    `out_dir` may be a remote folder (a `UPath`): its files are listed by the caller.
    """
    written = _written_files(out_dir)
    if written is None:
        raise ReportError(
            f"Report folder {out_dir} is a non-empty directory that utility-gap did not make (it has no "
            f"{MARKER_FILE}; it holds {_listing(present) or 'empty folders'}); refusing to replace it, which would "
            "delete them. Choose a new or empty directory for the report (a folder a previous report made is replaced)."
        )
    extra = present - written
    if extra:
        raise ReportError(
            f"Report folder {out_dir} also holds files the report did not write: "
            f"{_listing(extra)}. Replacing the report would delete them; move them out of {out_dir} "
            "or choose another --out."
        )


def write_report(log_dir: str | Path, out_dir: str | Path, settings: ReportSettings = ReportSettings()) -> Path:
    """Read the logs, compute every table and figure, and atomically (re)place `out_dir`.

    Raises `FrameError` (bad or missing logs) or `ReportError` before anything is written.
    Returns the path of report.md.
    """
    log_dir, out_dir = str(log_dir) if is_url(log_dir) else Path(log_dir), Path(out_dir).resolve()  # logs may be at a URL
    _check_target(out_dir)
    _check_utilities(settings)
    frames = _read(log_dir, settings)
    frames, duplicates = drop_duplicate_pairs(frames, settings.duplicates)  # raises for policy "error"
    return _write(frames, log_dir, out_dir, settings, duplicates=duplicates)


def write_table_report(table: PairsTable, out_dir: str | Path, settings: ReportSettings = ReportSettings()) -> Path:
    """The same report from a judged-pairs table (`analysis.pairs_table.read_pairs_table`).

    There are no judge-verdict, rubric or control frames (empty, of the right schema);
    the report says the panel checks are unavailable and prints the table's mapping and
    its unresolved pairs.
    """
    out_dir = Path(out_dir).resolve()
    _check_target(out_dir)
    _check_utilities(settings)
    frames = Frames(
        pairs=table.pairs,
        verdicts=typed_frame([], JUDGE_VERDICTS_SCHEMA),
        outputs=typed_frame([], OUTPUTS_SCHEMA),
        controls=typed_frame([], CONTROLS_SCHEMA),
    )
    return _write(frames, table.path, out_dir, settings, table)


def _check_utilities(settings: ReportSettings) -> None:
    if settings.utilities_dir is not None and not Path(settings.utilities_dir).is_dir():
        raise ReportError(f"--utilities {settings.utilities_dir} is not a directory of utilities files.")


def _write(
    frames: Frames,
    log_dir: Path,
    out_dir: Path,
    settings: ReportSettings,
    table: PairsTable | None = None,
    duplicates: DuplicateResolution | None = None,
) -> Path:
    """Build the report of `frames` in a staging folder and swap it in (log_dir: the source shown)."""
    settings.check_contrasts(set(frames.pairs["contrast"]))
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.building-", dir=out_dir.parent))
    except OSError as ex:
        raise OutputWriteError(out_dir.parent, ex) from ex
    os.chmod(staging, 0o777 & ~current_umask())  # mkdtemp makes it private; the report is an ordinary folder
    try:
        _build(frames, log_dir, staging, settings, table, duplicates)
        _swap(staging, out_dir)
    except OSError as ex:  # a full disk or read-only folder: name the path, keep the old report
        shutil.rmtree(staging, ignore_errors=True)
        raise OutputWriteError(ex.filename or out_dir, ex) from ex
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_dir / REPORT_FILE


def _read(log_dir: Path, settings: ReportSettings) -> Frames:
    """The frames; a folder with no paired-writing logs is reported on only if another family's logs are there."""
    cache = frames_cache(settings)
    try:
        return read_frames(log_dir, scorer=settings.scorer, cache=cache, read_elsewhere=READ_BY_OTHER_SECTIONS)
    except FrameError as error:
        frames = read_frames(log_dir, scorer=settings.scorer, require_pairs=False, cache=cache,
                             read_elsewhere=READ_BY_OTHER_SECTIONS)
        if frames.pairs.empty and any(s.task.split("/")[-1] in OTHER_FAMILY_TASKS for s in frames.skipped):
            return frames
        raise error from None


def _swap(staging: Path, out_dir: Path) -> None:
    """Replace out_dir by staging with two renames (the old report is removed last)."""
    _check_target(out_dir)  # again: the folder may have changed while the report was built
    old = None
    if out_dir.exists():
        old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
        os.replace(out_dir, old)
    os.replace(staging, out_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _run_sections(
    sections: tuple[Section, ...], ctx: ReportContext, root: Path, renderer: FigureRenderer, writing: bool
) -> list[ReportDocument]:
    """Each section's part of the report, in order; `BESIDE_SECTIONS` in a thread of their own."""
    def part() -> ReportDocument:
        return ReportDocument(root=root, renderer=renderer)

    parts: list[ReportDocument] = [part()]
    beside: list[Future[None]] = []
    if not writing:
        parts[0].add("No paired-writing or judge-control logs were found, so this report has only the sections on "
                     "the other logs: " + ", ".join(sorted({s.task for s in ctx.frames.skipped})) + ".")
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="report-section") as pool:  # waits on error too
        for section in sections:
            if section in BESIDE_SECTIONS:
                parts.append(part())
                beside.append(pool.submit(section, parts[-1], ctx))
                parts.append(part())
            else:
                section(parts[-1], ctx)
        for future in beside:
            future.result()
    return parts


def _build(
    frames: Frames,
    log_dir: Path,
    root: Path,
    settings: ReportSettings,
    table: PairsTable | None = None,
    duplicates: DuplicateResolution | None = None,
) -> None:
    (root / "tables").mkdir()
    (root / "figures").mkdir()
    ctx = ReportContext(frames=frames, log_dir=log_dir, settings=settings, table=table, duplicates=duplicates)
    writing = bool(frames.logs) or table is not None
    renderer = FigureRenderer(background=len(frames.pairs) >= BACKGROUND_FIGURE_PAIRS)
    try:
        parts = _run_sections(BODY_SECTIONS if writing else OTHER_FAMILY_SECTIONS, ctx, root, renderer, writing)
        renderer.finish()
    finally:
        renderer.close()
    doc = ReportDocument(root=root)
    body = ReportDocument(root=root, tables=doc.tables, figures=doc.figures, cautions=doc.cautions)
    for part in parts:
        body.lines.extend(part.lines)
        body.tables.extend(part.tables)
        body.figures.extend(part.figures)
        body.cautions.extend(part.cautions)

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
    marker = {"kind": MARKER_KIND, "log_dir": str(log_dir), "created": stamp, "files": sorted(_files_in(root))}
    (root / MARKER_FILE).write_text(json.dumps(marker, indent=1), encoding="utf-8")
