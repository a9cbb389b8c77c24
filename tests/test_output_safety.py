"""Output folders: the report replaces only what it wrote; broken logs and failed writes are named."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from utility_gap.analysis.atomic_files import write_text_atomic
from utility_gap.pipeline.cli import main

from synthetic_logs import SyntheticRun, write_synthetic_logs


def _cli(cwd: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "utility_gap.pipeline.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def test_report_never_deletes_files_it_did_not_write(tmp_path: Path) -> None:
    write_synthetic_logs(str(tmp_path / "logs"), [SyntheticRun(n_items=4, seed=3)])
    results = tmp_path / "results"
    results.mkdir()
    (results / "report.md").write_text("# notes from last week\n")
    (results / "budget.xlsx").write_bytes(b"spreadsheet")
    done = _cli(tmp_path, "report", "logs", "--out", "results")
    assert done.returncode == 2, done.stderr
    assert "refusing to replace" in done.stderr and "budget.xlsx" in done.stderr
    assert "Traceback" not in done.stderr
    assert (results / "budget.xlsx").read_bytes() == b"spreadsheet"
    assert (results / "report.md").read_text() == "# notes from last week\n"
    again = _cli(tmp_path, "report", "logs", "--out", "new-report")
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "new-report" / "report.md").is_file()


def test_utilities_and_pairs_files_follow_the_umask(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "utility_gap.pipeline.cli", "elicit", "--model", "simulated/chooser", "--domain", "demo",
         "--k", "1", "--rounds", "2", "--out", "out"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600, preexec_fn=lambda: os.umask(0o027),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    utilities = tmp_path / "out" / "utilities" / "simulated-chooser__demo.json"
    pairs = sorted((tmp_path / "out" / "logs" / "elicitation").rglob("round-*.json"))
    assert len(pairs) == 2
    for path in [utilities, *pairs]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o640, path


def test_atomic_writes_follow_any_umask(tmp_path: Path) -> None:
    previous = os.umask(0o002)
    try:
        path = write_text_atomic(tmp_path / "sub" / "file.json", "{}")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o664
    assert [p.name for p in path.parent.iterdir()] == ["file.json"]  # no temp file left


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_a_damaged_log_is_named_and_can_be_moved_aside_redoing_only_its_samples(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.chdir(tmp_path)
    subject_calls, judge_calls = tmp_path / "subject.calls", tmp_path / "judge.calls"
    args = ["run", "--model", "simulated/subject", "-M", f"call_log={subject_calls}", "--judge", "simulated/judge",
            "-J", f"call_log={judge_calls}", "--tasks", "essay,grant_abstract", "--contrasts", "exhort_vs_neutral",
            "--items", "3", "--k", "1", "--display", "none", "--out", "out"]
    assert main(args) == 0
    (essay,) = [p for p in (tmp_path / "out" / "logs" / "tasks").glob("*.eval") if "_essay_" in p.name]
    data = essay.read_bytes()
    essay.write_bytes(data[: len(data) // 2])  # cut short, as by a full disk or a killed writer
    capsys.readouterr()
    before = (_lines(subject_calls), _lines(judge_calls))

    # The report and a plain rerun name the file and say what to do; neither calls a model.
    assert main(["report", "out/logs", "--out", "rep"]) == 2
    err = capsys.readouterr().err
    assert essay.name in err and "--quarantine-broken-logs" in err and "Traceback" not in err
    assert main(args) == 2
    err = capsys.readouterr().err
    assert essay.name in err and "EOCD" in err and "--quarantine-broken-logs" in err
    assert (_lines(subject_calls), _lines(judge_calls)) == before

    # With the flag the file moves to out/broken/ and only the essay eval's 3 samples are redone:
    # 2 writer calls and 2 judge calls (both presentation orders) per sample; Stage 1, the
    # ranking, grant_abstract and the controls are reused.
    assert main([*args, "--quarantine-broken-logs"]) == 0
    assert (tmp_path / "out" / "broken" / "logs" / "tasks" / essay.name).read_bytes() == data[: len(data) // 2]
    assert not essay.exists()
    assert (_lines(subject_calls) - before[0], _lines(judge_calls) - before[1]) == (6, 6)
    assert (tmp_path / "out" / "report" / "report.md").is_file()


def test_elicit_names_a_damaged_round_log(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    args = ["elicit", "--model", "simulated/chooser", "--domain", "demo", "--k", "1", "--rounds", "1", "--out", str(tmp_path)]
    assert main(args) == 0
    (log,) = (tmp_path / "logs" / "elicitation").rglob("*.eval")
    log.write_bytes(log.read_bytes()[:100])
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert str(log) in err and "cannot be read" in err and "Move it out" in err
