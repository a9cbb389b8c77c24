"""The report built with two cores' worth of work (figures in a second process, a section in
a thread beside the others) is the report built in order, and failures still stop it cleanly."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from utility_gap.analysis import figures
from utility_gap.analysis.report import ReportSettings, write_report
from utility_gap.analysis.report import writer
from utility_gap.analysis.figures import figure_paths
from utility_gap.analysis.report import figure_renderer
from utility_gap.analysis.report.figure_renderer import FigureRenderer
from utility_gap.analysis.report.run_sections import exclusions_section
from synthetic_logs import planted_logs


def _report_files(out: Path) -> dict[str, bytes]:
    """Every file of a report folder; report.md without its time stamp, SVGs without their date."""
    files = {}
    for path in sorted(out.rglob("*")):
        if path.is_file() and path.name != writer.MARKER_FILE:
            data = path.read_bytes()
            if path.name == writer.REPORT_FILE:
                data = b"\n".join(line for line in data.split(b"\n") if not line.startswith(b"Generated "))
            if path.suffix == ".svg":
                data = b"\n".join(line for line in data.split(b"\n") if b"<dc:date>" not in line)
            files[path.relative_to(out).as_posix()] = data
    return files


def test_figures_in_a_second_process_and_a_section_beside_make_the_report_built_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    planted_logs(str(tmp_path / "logs"), n_items=12)
    monkeypatch.setattr(writer, "BESIDE_SECTIONS", frozenset())
    monkeypatch.setattr(writer, "BACKGROUND_FIGURE_PAIRS", 10**9)
    write_report(tmp_path / "logs", tmp_path / "in-order", ReportSettings())
    in_order = _report_files(tmp_path / "in-order")
    drawn_elsewhere: list[bool] = []
    original = FigureRenderer.__init__

    def recording_init(self: FigureRenderer, background: bool = False) -> None:
        original(self, background)
        drawn_elsewhere.append(self.background)

    monkeypatch.setattr(FigureRenderer, "__init__", recording_init)
    monkeypatch.setattr(writer, "BESIDE_SECTIONS", frozenset({writer.rubric_section}))
    monkeypatch.setattr(writer, "BACKGROUND_FIGURE_PAIRS", 0)
    write_report(tmp_path / "logs", tmp_path / "parallel", ReportSettings())
    assert drawn_elsewhere.count(True) == 1  # the documents' own default renderers draw inline
    parallel = _report_files(tmp_path / "parallel")
    assert sorted(parallel) == sorted(in_order)
    assert any(name.startswith("figures/") and name.endswith(".png") for name in parallel)
    assert "## Rubric scores (secondary)" in parallel["report.md"].decode()
    differ = [name for name in in_order if parallel[name] != in_order[name]]
    assert differ == []


def test_sections_beside_the_others_come_after_the_exclusions() -> None:
    """A section in a thread reads the kept pairs, which the exclusions section sets first."""
    order = list(writer.BODY_SECTIONS)
    assert writer.BESIDE_SECTIONS, "no section runs beside the others: the report uses one core"
    for section in writer.BESIDE_SECTIONS:
        assert order.index(section) > order.index(exclusions_section), section.__name__


def _write_pid(stem: Path, fail: bool = False, wrong: bool = False) -> list[Path]:
    """A stand-in figure: its files hold the id of the process that drew it."""
    if fail:
        raise figures.FigureError("planted failure")
    paths = figure_paths(stem)
    for path in paths:
        path.write_text(str(os.getpid()))
    return paths[:1] if wrong else paths


def test_the_renderer_draws_in_another_process_and_reraises_its_failures(tmp_path: Path) -> None:
    inline = FigureRenderer(background=False)
    assert inline.draw(_write_pid, stem=tmp_path / "here") == figure_paths(tmp_path / "here")
    assert (tmp_path / "here.png").read_text() == str(os.getpid())

    renderer = FigureRenderer(background=True)
    assert renderer.background
    paths = renderer.draw(_write_pid, stem=tmp_path / "there")
    renderer.finish()
    assert paths == figure_paths(tmp_path / "there")
    assert {p.read_text() for p in paths} != {str(os.getpid())}
    assert not renderer.background  # finish stops the worker

    failing = FigureRenderer(background=True)
    failing.draw(_write_pid, stem=tmp_path / "a", fail=True)
    with pytest.raises(figures.FigureError, match="planted failure"):
        failing.finish()

    wrong = FigureRenderer(background=True)
    wrong.draw(_write_pid, stem=tmp_path / "b", wrong=True)
    with pytest.raises(RuntimeError, match="_write_pid wrote"):
        wrong.finish()


def _failing_lollipop(*args: object, **kwargs: object) -> list[Path]:
    raise figures.FigureError("planted lollipop failure")


def test_a_figure_failing_in_the_second_process_stops_the_report_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    planted_logs(str(tmp_path / "logs"), n_items=12)
    monkeypatch.setattr(writer, "BACKGROUND_FIGURE_PAIRS", 0)
    monkeypatch.setattr(figures, "win_rate_lollipop", _failing_lollipop)
    with pytest.raises(figures.FigureError, match="planted lollipop failure"):
        write_report(tmp_path / "logs", tmp_path / "out", ReportSettings())
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["logs"]  # no staging folder left behind


def test_without_a_worker_process_the_figures_are_drawn_inline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_semaphores(*args: object, **kwargs: object) -> None:
        raise OSError(38, "Function not implemented")

    monkeypatch.setattr(figure_renderer, "ProcessPoolExecutor", no_semaphores)
    renderer = FigureRenderer(background=True)
    assert not renderer.background
    paths = renderer.draw(_write_pid, stem=tmp_path / "here")
    renderer.finish()
    assert {p.read_text() for p in paths} == {str(os.getpid())}
