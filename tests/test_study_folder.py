"""One output folder is one study: one run at a time, and one set of settings."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
from inspect_ai.log import read_eval_log, write_eval_log

from utility_gap.pipeline.cli import main
from utility_gap.pipeline.eval_paths import MovedStudyError, utilities_argument
from utility_gap.pipeline.study_file import STUDY_FILE, Change, changes
from utility_gap.pipeline.study_lock import LOCK_FILE, LocalStudyLock, StudyFolderBusy, study_lock

PANEL = ["--judge", "simulated/judge"]


def _run_args(out: Path, call_log: Path, *extra: str) -> list[str]:
    """A small simulated study: one task, two items, the demo contrasts."""
    return [
        "run", "--model", "simulated/subject", "-M", "shifts=exhort:0.8", "-M", f"call_log={call_log}",
        *PANEL, "-J", f"call_log={call_log}", "--items", "2", "--tasks", "essay", "--display", "none",
        "--out", str(out), *extra,
    ]


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def _hold_lock_in_child(folder: Path) -> subprocess.Popen[str]:
    code = textwrap.dedent(
        f"""
        import sys, time
        from utility_gap.pipeline.study_lock import LocalStudyLock
        LocalStudyLock({str(folder)!r}).acquire()
        print("locked", flush=True)
        time.sleep(120)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline().strip() == "locked"
    return child


# -- the lock -----------------------------------------------------------------------------


def test_lock_refuses_a_second_holder_naming_folder_and_pid(tmp_path: Path) -> None:
    child = _hold_lock_in_child(tmp_path)
    try:
        with pytest.raises(StudyFolderBusy) as refused:
            LocalStudyLock(tmp_path).acquire()
        assert str(tmp_path) in str(refused.value)
        assert f"PID {child.pid}" in str(refused.value)
    finally:
        child.kill()
        child.wait()


def test_lock_dies_with_a_killed_holder(tmp_path: Path) -> None:
    child = _hold_lock_in_child(tmp_path)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert (tmp_path / LOCK_FILE).exists()  # the file stays; the kernel has dropped the lock
    with study_lock(tmp_path):
        record = json.loads((tmp_path / LOCK_FILE).read_text())
        assert record["pid"] == os.getpid()
    with study_lock(tmp_path):  # released on exit, so it can be taken again
        pass


def test_lock_is_exclusive_within_one_process_too(tmp_path: Path) -> None:
    with study_lock(tmp_path):
        with pytest.raises(StudyFolderBusy, match=f"PID {os.getpid()}"):
            LocalStudyLock(tmp_path).acquire()


def test_elicit_into_a_busy_folder_refuses_before_any_call(tmp_path: Path, capsys) -> None:
    child = _hold_lock_in_child(tmp_path)
    try:
        code = main(["elicit", "--model", "simulated/chooser", "-M", f"call_log={tmp_path / 'calls'}",
                     "--domain", "demo", "--out", str(tmp_path)])
        assert code == 2
        assert f"in use by another utility-gap run (PID {child.pid}" in capsys.readouterr().err
        assert _lines(tmp_path / "calls") == 0
    finally:
        child.kill()
        child.wait()


def test_a_folder_without_a_known_lock_is_refused() -> None:
    with pytest.raises(StudyFolderBusy, match="no lock is known for 'gopher://'"):
        with study_lock("gopher://somewhere/study"):
            pass


# -- two runs into one folder at once ----------------------------------------------------------


def test_a_second_run_into_a_busy_folder_refuses_before_any_call(tmp_path: Path, capsys) -> None:
    out, first_calls, second_calls = tmp_path / "study", tmp_path / "first.calls", tmp_path / "second.calls"
    first = subprocess.Popen(
        [sys.executable, "-m", "utility_gap.pipeline.cli", *_run_args(out, first_calls, "-M", "latency=0.02")],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while _lines(first_calls) < 5:  # the first run is calling its models, so it holds the folder
            assert first.poll() is None, first.communicate()[1][-3000:]
            assert time.monotonic() < deadline
            time.sleep(0.05)
        code = main(_run_args(out, second_calls))
        err = capsys.readouterr().err
        assert code == 2, err
        assert f"--out {out} is in use by another utility-gap run (PID {first.pid}" in err
        assert _lines(second_calls) == 0
        _, stderr = first.communicate(timeout=300)
        assert first.returncode == 0, stderr[-3000:]
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    # The report counts each pair once: 2 items x 2 contrasts.
    rates = pd.read_csv(out / "report" / "tables" / "win_rates.csv")
    assert (rates["n_a"] + rates["n_b"] + rates["n_tie"]).sum() == 4


# -- the folder spelled another way, or copied -------------------------------------------------


def test_a_rerun_that_spells_the_folder_another_way_resumes_and_a_copy_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    # Inspect knows an eval by its task arguments, the utilities file's path among them:
    # `--out study` then `--out /abs/study` used to generate every utility-arm sample again.
    calls = tmp_path / "calls"
    monkeypatch.chdir(tmp_path)
    assert main(_run_args(Path("study"), calls)) == 0
    before, logs = _lines(calls), sorted(p.name for p in (tmp_path / "study" / "logs" / "tasks").rglob("*.eval"))
    assert len(logs) == 4  # ranking, essay (plain and utility contrasts), judge controls
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert main(_run_args(tmp_path / "study", calls)) == 0, capsys.readouterr().err
    assert _lines(calls) == before  # nothing generated or judged again
    assert sorted(p.name for p in (tmp_path / "study" / "logs" / "tasks").rglob("*.eval")) == logs
    rates = pd.read_csv(tmp_path / "study" / "report" / "tables" / "win_rates.csv")
    assert (rates["n_a"] + rates["n_b"] + rates["n_tie"]).sum() == 4

    # A copy's logs name the original's utilities file: refused before any Stage 2-3 call.
    shutil.copytree(tmp_path / "study", tmp_path / "copy")
    capsys.readouterr()
    assert main(_run_args(tmp_path / "copy", calls)) == 2
    err = capsys.readouterr().err
    assert f"The logs in {tmp_path / 'copy' / 'logs' / 'tasks'}" in err and "name the utilities file" in err
    assert str(tmp_path / "study" / "utilities") in err and "moved or copied" in err
    assert _lines(calls) == before


def test_a_recorded_relative_spelling_is_kept_while_it_reaches_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "study" / "utilities" / "m__demo.json"
    target.parent.mkdir(parents=True)
    target.write_text("{}")
    monkeypatch.chdir(tmp_path)
    recorded = {"study/utilities/m__demo.json", "study/utilities/m__other.json"}
    assert utilities_argument(target, recorded, "logs") == "study/utilities/m__demo.json"
    assert utilities_argument(target, set(), "logs") == str(target)  # a new study: the absolute path
    monkeypatch.chdir(tmp_path / "study")  # the relative spelling now reaches nothing
    with pytest.raises(MovedStudyError, match="name the utilities file m__demo.json as study/utilities/m__demo.json"):
        utilities_argument(target, recorded, "logs")


# -- a rerun with other settings ---------------------------------------------------------------


def test_a_rerun_with_changed_settings_is_refused_naming_each_change(tmp_path: Path, capsys) -> None:
    out, calls = tmp_path / "study", tmp_path / "calls"
    assert main(_run_args(out, calls, "-J", "judge_sd=0.3")) == 0
    study = json.loads((out / STUDY_FILE).read_text())
    assert study["schema"] == "utility-gap/study/v2" and study["settings"]["models"] == ["simulated/subject"]
    assert study["settings"]["items"] == 2 and study["settings"]["judge_args"]["judge_sd"] == 0.3
    assert "before study files existed" not in capsys.readouterr().err  # a new folder is not an old one
    before = _lines(calls)

    changed = _run_args(out, calls, "-J", "judge_sd=0.5", "--repeats", "2", "--judge", "simulated/judge")
    changed[changed.index("--items") + 1] = "3"
    assert main(changed) == 2
    err = capsys.readouterr().err
    assert "holds a study with other settings" in err
    assert "--items: 2 (recorded) -> 3 (this run)" in err
    assert "--repeats: 1 (recorded) -> 2 (this run)" in err
    assert "-J judge_sd: 0.3 (recorded) -> 0.5 (this run)" in err
    assert "--judge: simulated/judge (recorded) -> simulated/judge,simulated/judge (this run)" in err
    assert "rerun with the recorded settings" in err and "pass a new --out" in err
    assert _lines(calls) == before  # refused before any model call

    # A changed contrast (adding one to a finished study) is refused the same way.
    assert main(_run_args(out, calls, "-J", "judge_sd=0.3", "--contrasts", "exhort_vs_neutral,sandbag_vs_neutral")) == 2
    assert "--contrasts: exhort_vs_neutral,utility_high_vs_utility_low (recorded) -> " in capsys.readouterr().err
    # So is --dry-run, which would otherwise plan a study the folder cannot hold.
    assert main([*_run_args(out, calls, "-J", "judge_sd=0.5"), "--dry-run"]) == 2
    assert "-J judge_sd: 0.3 (recorded) -> 0.5 (this run)" in capsys.readouterr().err

    # The display and the connection count change nothing that is generated: accepted, and the
    # finished study is reused, not generated again.
    same = _run_args(out, calls, "-J", "judge_sd=0.3", "--max-connections", "3")
    same[same.index("--display") + 1] = "log"
    assert main(same) == 0, capsys.readouterr().err
    assert _lines(calls) == before

    # A folder from before study files: its settings cannot be checked, so they are recorded
    # with a note.
    (out / STUDY_FILE).unlink()
    assert main(_run_args(out, calls, "-J", "judge_sd=0.3")) == 0
    assert "holds logs from before study files existed" in capsys.readouterr().err
    assert json.loads((out / STUDY_FILE).read_text())["settings"] == study["settings"]

    # A copy of a finished writing log under another eval id (as a second run's log would be):
    # the report refuses to count its pairs twice, and the run says how to write the report.
    essay = next(p for p in (out / "logs" / "tasks").rglob("*_essay_*.eval"))
    copy = read_eval_log(str(essay))
    copy.eval.task_id = "a-second-copy"
    write_eval_log(copy, str(essay.with_name("copy_essay.eval")))
    assert main(_run_args(out, calls, "-J", "judge_sd=0.3")) == 2
    err = capsys.readouterr().err
    assert "Stage 4: " in err and "appear in more than one log" in err and "copy_essay.eval" in err
    assert f"utility-gap report {out / 'logs'} --out {out / 'report'}" in err
    assert _lines(calls) == before


def test_a_damaged_study_file_is_refused(tmp_path: Path, capsys) -> None:
    out = tmp_path / "study"
    out.mkdir()
    (out / STUDY_FILE).write_text("{not json")
    assert main(_run_args(out, tmp_path / "calls")) == 2
    assert f"{out / STUDY_FILE} cannot be read" in capsys.readouterr().err
    assert _lines(tmp_path / "calls") == 0


def test_credentials_are_never_recorded(tmp_path: Path) -> None:
    from utility_gap.pipeline.presets import DEMO
    from utility_gap.pipeline.run import RunConfig
    from utility_gap.pipeline.study_file import study_settings

    config = RunConfig(out=tmp_path, preset=DEMO, model="openai/gpt-4o-mini",
                       model_args={"api_key": "sk-secret", "aws_secret_access_key": "x", "seed": 3},
                       judge_args={"api_key": "sk-other"}, max_connections=7, display="none")
    settings = study_settings(config)
    assert settings["model_args"] == {"seed": 3} and settings["judge_args"] == {}
    assert "sk-" not in json.dumps(settings)
    assert "max_connections" not in settings and "display" not in settings


def test_changes_compares_model_arguments_key_by_key() -> None:
    recorded = {"items": 2, "model_args": {"seed": 1, "shifts": {"exhort": 0.8}}, "judges": ["a"]}
    current = {"items": 2, "model_args": {"shifts": {"exhort": 0.8}, "noise_sd": 0.1}, "judges": ["a"]}
    assert changes(recorded, current) == [
        Change("-M noise_sd", "(not set)", 0.1),
        Change("-M seed", 1, "(not set)"),
    ]
    assert changes(recorded, recorded) == []
    assert changes({"rounds": 2}, {"rounds": 3}) == [Change("preset setting 'rounds'", 2, 3)]
