"""Output folders: the report replaces only what it wrote; broken logs and failed writes are named."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from utility_gap.analysis.atomic_files import OutputWriteError, write_text_atomic
from utility_gap.pipeline import log_writes
from utility_gap.pipeline.cli import main

from full_disk import failing_replace
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
    (essay,) = [p for p in (tmp_path / "out" / "logs" / "tasks").rglob("*.eval") if "_essay_" in p.name]
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
    assert (tmp_path / "out" / "broken" / essay.relative_to(tmp_path / "out")).read_bytes() == data[: len(data) // 2]
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


FULL_DISK = Path(__file__).with_name("full_disk.py")


TINY_OUTCOMES = "".join(
    f'{{"id": "tiny/o{i}", "text": "Outcome {i} happens.", "entity": null, "quantity": null, "kind": "k"}}\n'
    for i in range(4)
)


def _stage23_args(out: str, calls: Path) -> list[str]:
    """A run whose Stage 1 is tiny (4 outcomes in tiny.jsonl), so Stage 2-3 is most of it."""
    return ["run", "--model", "simulated/subject", "-M", f"call_log={calls}.subject", "--judge", "simulated/judge",
            "-J", f"call_log={calls}.judge", "--domains", "tiny.jsonl", "--tasks", "essay", "--contrasts",
            "exhort_vs_neutral", "--items", "10", "--k", "1", "--max-connections", "1", "--display", "none", "--out", out]


def _prompts(calls: Path, role: str) -> Counter[str]:
    path = Path(f"{calls}.{role}")
    return Counter(line.split("\t")[1] for line in path.read_text().splitlines()) if path.exists() else Counter()


def test_a_full_disk_during_stage2_stops_the_run_naming_the_log_and_regenerates_nothing(tmp_path: Path) -> None:
    (tmp_path / "tiny.jsonl").write_text(TINY_OUTCOMES)
    # In a healthy run every prompt is asked once (k=1, one repeat, seeded pairs and items)
    # and the report counts 10 judged pairs (10 items x 1 contrast).
    # The disk fills while Stage 2-3 logs are written (8 writes in) and frees up again
    # 3 writes later. Inspect's whole-task retries used to generate lost samples again in
    # the same run, and a failure that lasted ended the run with status 0 and a report.
    calls = tmp_path / "full"
    done = subprocess.run(
        [sys.executable, str(FULL_DISK), "out/logs/tasks", "8", "3", "--", *_stage23_args("out", calls)],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 1, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    assert "Cannot write " + str(tmp_path / "out" / "logs" / "tasks") in done.stderr
    assert "No space left on device" in done.stderr and "free some space" in done.stderr
    assert not (tmp_path / "out" / "report").exists()
    assert max(_prompts(calls, "subject").values()) == 1  # nothing was generated twice in the run
    stopped = {role: _prompts(calls, role) for role in ("subject", "judge")}

    # Space freed: the same command finishes. It asks again only what was in flight when
    # the write failed (one sample per connection: 2 sides written, 2 judge orders).
    again = _cli(tmp_path, *_stage23_args("out", calls))
    assert again.returncode == 0, again.stderr[-3000:]
    asked_again = sum(sum(((_prompts(calls, role) - stopped[role]) & stopped[role]).values()) for role in stopped)
    assert asked_again <= 4, asked_again
    rates = pd.read_csv(tmp_path / "out" / "report" / "tables" / "win_rates.csv")
    assert int((rates["n_a"] + rates["n_b"] + rates["n_tie"]).sum()) == 10


def test_full_disk_or_read_only_folder_for_our_own_files_names_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    # Stage 1's utilities file on a full disk.
    monkeypatch.setattr(os, "replace", failing_replace(tmp_path / "out" / "utilities", 0, 10))
    args = ["elicit", "--model", "simulated/chooser", "--domain", "demo", "--k", "1", "--rounds", "1", "--out", str(tmp_path / "out")]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert f"Cannot write {tmp_path / 'out' / 'utilities' / 'simulated-chooser__demo.json'}: No space left on device" in err
    assert not list((tmp_path / "out" / "utilities").iterdir())  # no temp file left behind

    # The report folder turned read-only: the old report stays, the path is named.
    write_synthetic_logs(str(tmp_path / "logs"), [SyntheticRun(n_items=4, seed=3)])
    assert main(["report", str(tmp_path / "logs"), "--out", str(tmp_path / "rep")]) == 0
    before = (tmp_path / "rep" / "report.md").read_text()
    monkeypatch.setattr(os, "replace", failing_replace(tmp_path, 0, 10, errno.EROFS))
    assert main(["report", str(tmp_path / "logs"), "--out", str(tmp_path / "rep")]) == 1
    err = capsys.readouterr().err
    assert f"Cannot write {tmp_path / 'rep'}: Read-only file system" in err and "not writable" in err
    assert (tmp_path / "rep" / "report.md").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["logs", "out", "rep"]  # no staging folder left


def _log(status: str, message: str | None = None, task: str = "utility_gap/essay") -> SimpleNamespace:
    error = SimpleNamespace(message=message) if message else None
    return SimpleNamespace(status=status, error=error, location="/runs/x/logs/tasks/a.eval", eval=SimpleNamespace(task=task))


@pytest.mark.parametrize(
    ("message", "write_errno"),
    [("OSError(28, 'No space left on device')", errno.ENOSPC), ("PermissionError(13, 'Permission denied')", errno.EACCES),
     ("OSError(30, 'Read-only file system')", errno.EROFS), ("RuntimeError('model overloaded')", None),
     ("OSError(104, 'Connection reset by peer')", None), ("ValueError('EOCD not found')", None)],
)
def test_which_eval_errors_are_write_failures(message: str, write_errno: int | None) -> None:
    found = log_writes.log_write_failure(_log("error", message))  # type: ignore[arg-type]
    assert (found.errno if found else None) == write_errno


def test_retries_rerun_other_errors_but_never_a_write_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    said: list[str] = []
    answers = [(False, [_log("error", "RuntimeError('model overloaded')")]), (True, [_log("success")])]
    monkeypatch.setattr(log_writes, "eval_set", lambda tasks, **kw: answers.pop(0))
    success, _ = log_writes.eval_set_with_retries([], retries=2, say=said.append)
    assert success and not answers and len(said) == 1 and "retrying" in said[0]

    answers = [(False, [_log("error", "OSError(28, 'No space left on device')")]), (True, [_log("success")])]
    with pytest.raises(OutputWriteError, match=r"Cannot write /runs/x/logs/tasks/a.eval: No space left on device"):
        log_writes.eval_set_with_retries([], retries=2, say=said.append)
    assert len(answers) == 1  # not run again


def test_a_full_disk_outside_any_eval_names_the_log_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    # Inspect writes the log folder's manifest (logs.json) after the evals, with a plain
    # write: on a full disk that raised a bare OSError (no file name) out of eval_set.
    def full(tasks: object, **options: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(log_writes, "eval_set", full)
    with pytest.raises(OutputWriteError) as caught:
        log_writes.eval_set_with_retries([], retries=2, say=print, log_dir="/runs/x/logs/tasks")
    message = str(caught.value)
    assert message.startswith("Cannot write /runs/x/logs/tasks: No space left on device. The disk is full")
    assert "reused when you rerun" in message

    def broken(tasks: object, **options: object) -> None:
        raise OSError(errno.ECONNRESET, "Connection reset by peer")  # not a write failure: not ours to word

    monkeypatch.setattr(log_writes, "eval_set", broken)
    with pytest.raises(OSError) as caught_other:
        log_writes.eval_set_with_retries([], retries=2, say=print, log_dir="/runs/x/logs/tasks")
    assert not isinstance(caught_other.value, OutputWriteError)


def test_any_full_disk_error_reaches_the_user_as_a_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from utility_gap.pipeline import cmd_report

    def full(args: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cmd_report, "run", full)
    assert main(["report", str(tmp_path), "--out", str(tmp_path / "rep")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"utility-gap report: error: Cannot write {tmp_path / 'rep'}: No space left on device.")
    assert "Traceback" not in err

    def other(args: object) -> int:
        raise OSError(errno.ENOENT, "No such file or directory", "x.jsonl")  # a bug or bad input: not hidden

    monkeypatch.setattr(cmd_report, "run", other)
    with pytest.raises(FileNotFoundError):
        main(["report", str(tmp_path), "--out", str(tmp_path / "rep")])
