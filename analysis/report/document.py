"""The report being built: Markdown blocks, CSV tables, figures and cautions.

Why one object: every section writes its numbers as a CSV beside the Markdown table that
shows them and adds what the data cannot support to one list of cautions, which the
report prints first. Sections get a `ReportDocument` and a `ReportContext`; they never
write files of their own. Figures go through `draw`, which may hand them to a second
process (`figure_renderer.py`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from utility_gap.analysis.frames import Frames
from utility_gap.analysis.frames.duplicates import DuplicateResolution
from utility_gap.analysis.pairs_table import PairsTable
from utility_gap.analysis.report.figure_renderer import FigureFunction, FigureRenderer
from utility_gap.analysis.report.settings import CONTRAST_ORDER, ReportSettings

MAX_TABLE_ROWS = 60  # longer tables are cut in report.md (the CSV has every row)


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "–"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if v != 0 and abs(v) < 0.001:
            return f"{v:.1e}"
        return f"{v:.3f}"
    text = str(value).replace("|", "\\|").replace("\n", " ")
    return text


def markdown_table(frame: pd.DataFrame, columns: Sequence[str] | None = None, max_rows: int = MAX_TABLE_ROWS) -> str:
    """A GitHub-flavoured Markdown table of `frame` (first `max_rows` rows)."""
    columns = list(columns) if columns is not None else list(frame.columns)
    columns = [c for c in columns if c in frame.columns]
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    for _, row in frame.head(max_rows).iterrows():
        lines.append("| " + " | ".join(_fmt(row[c]) for c in columns) + " |")
    if len(frame) > max_rows:
        lines.append(f"\n*First {max_rows} of {len(frame)} rows; the CSV has all of them.*")
    return "\n".join(lines)


@dataclass
class ReportDocument:
    """Markdown lines plus the table and figure files written, and the cautions found."""

    root: Path
    lines: list[str] = field(default_factory=list)
    tables: list[Path] = field(default_factory=list)
    figures: list[Path] = field(default_factory=list)
    cautions: list[str] = field(default_factory=list)
    renderer: FigureRenderer = field(default_factory=FigureRenderer)

    def add(self, *text: str) -> None:
        """Append a block; a heading or a table always stands in its own block."""
        for line in text:
            if line.startswith("#") or line.startswith("|"):
                if self.lines and self.lines[-1] != "":
                    self.lines.append("")
                self.lines.extend([line, ""])
            else:
                self.lines.append(line)
        if self.lines and self.lines[-1] != "":
            self.lines.append("")

    def table(self, name: str, frame: pd.DataFrame, columns: Sequence[str] | None = None, caption: str = "") -> None:
        path = self.root / "tables" / f"{name}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, index=False)
        self.tables.append(path)
        if caption:
            self.add(caption)
        self.add(markdown_table(frame, columns), f"CSV: [tables/{name}.csv](tables/{name}.csv)")

    def draw(self, function: FigureFunction, *args: Any, stem: Path, alt: str, **kwargs: Any) -> None:
        """Draw a figure (`function(*args, stem=stem, **kwargs)`, from `analysis.figures`) and show it."""
        self.figure(self.renderer.draw(function, *args, stem=stem, **kwargs), alt)

    def figure(self, paths: list[Path], alt: str) -> None:
        self.figures.extend(paths)
        png = next(p for p in paths if p.suffix == ".png")
        svg = next((p for p in paths if p.suffix == ".svg"), None)
        rel = png.relative_to(self.root).as_posix()
        extra = f" ([SVG]({svg.relative_to(self.root).as_posix()}))" if svg else ""
        self.add(f"![{alt}]({rel}){extra}")


@dataclass
class ReportContext:
    """What the sections share: the frames, the settings, and the tables earlier sections made.

    `kept` is the judged-pairs frame after exclusions (set by the exclusions section);
    `results` holds tables later sections reuse, by name ("win_rates", "aggregate").
    `table` is set when the pairs come from a table (`utility-gap report --table`), not
    logs: then `log_dir` is the table's path and there are no judge or control frames.
    `duplicates` is how pairs found in more than one log were resolved (log input only).
    """

    frames: Frames
    log_dir: Path
    settings: ReportSettings
    kept: pd.DataFrame | None = None
    results: dict[str, pd.DataFrame] = field(default_factory=dict)
    table: PairsTable | None = None
    duplicates: DuplicateResolution | None = None

    @property
    def analysed(self) -> pd.DataFrame:
        """The pairs the statistics use (all pairs until exclusions ran)."""
        return self.kept if self.kept is not None else self.frames.pairs


def fmt(value: Any) -> str:
    """A value as the report prints it (3 decimals, 'yes'/'no', '–' for missing)."""
    return _fmt(value)


def ordered_contrasts(contrasts: Sequence[str]) -> list[str]:
    known = [c for c in CONTRAST_ORDER if c in contrasts]
    return known + sorted(c for c in contrasts if c not in CONTRAST_ORDER)


def slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "-" for c in text)


def compact(value: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in value.items()) if value else ""
