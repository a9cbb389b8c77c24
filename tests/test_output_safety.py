"""Output folders: the report replaces only what it wrote; broken logs and failed writes are named."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from utility_gap.analysis.atomic_files import write_text_atomic

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
