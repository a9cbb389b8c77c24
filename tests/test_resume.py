"""Resume that reuses finished work: interrupt a run (Ctrl-C or SIGKILL), rerun it, count calls.

The simulated provider appends one line per model call to `-M call_log` / `-J call_log`
(the role and a hash of the prompt). An uninterrupted run of these studies asks no
prompt twice, so every repeated prompt across the interrupted run and its rerun is a
redone call (if a prompt did repeat legitimately, the count could only overstate the
redone calls). Only samples in flight when the run stopped may be generated again.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from inspect_ai.log import list_eval_logs, read_eval_log

CONNECTIONS = 4
# One writing sample: two generations by the subject, two presentations to the one judge.
CALLS_PER_SAMPLE = 4
ALL_TASKS = "essay,grant_abstract,incident_postmortem,translation"


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "utility_gap.pipeline.cli", *args]


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


ITEMS = 6
PAIRS = ITEMS * 4 * 2  # items x tasks x contrasts (exhort_vs_neutral, utility_high_vs_utility_low)


def _study(out: Path, calls: Path, judge_calls: Path, latency: float = 0.1) -> list[str]:
    """Eight writing evals (four tasks x two contrasts) of 6 items, at four connections."""
    return [
        "run", "--model", "simulated/subject", "-M", "shifts=exhort:0.8", "-M", f"latency={latency}",
        "-M", f"call_log={calls}", "--judge", "simulated/judge", "-J", f"call_log={judge_calls}",
        "-J", f"latency={latency}", "--items", str(ITEMS), "--tasks", ALL_TASKS,
        "--max-connections", str(CONNECTIONS), "--display", "none", "--out", str(out),
    ]


def _pairs(out: Path) -> int:
    rates = pd.read_csv(out / "report" / "tables" / "win_rates.csv")
    return int((rates["n_a"] + rates["n_b"] + rates["n_tie"]).sum())


def _start(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        _cli(*args), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # a background job may inherit SIGINT ignored; a user's terminal delivers it
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def _wait_for(process: subprocess.Popen[str], call_log: Path, calls: int, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while _lines(call_log) < calls:
        if process.poll() is not None:
            pytest.fail("the run finished before it could be interrupted:\n" + process.communicate()[1][-3000:])
        assert time.monotonic() < deadline, "the run made too few calls in time"
        time.sleep(0.01)


def _redone(*call_logs: Path) -> int:
    """Calls whose prompt had been asked before (by the same role)."""
    calls = [line for log in call_logs for line in log.read_text().splitlines()]
    return len(calls) - len(set(calls))


def _finished_writing_samples(out: Path) -> int:
    finished = 0
    for info in list_eval_logs(str(out / "logs" / "tasks")):
        log = read_eval_log(info)
        if log.eval.task.split("/")[-1] in ALL_TASKS.split(","):
            finished += sum(1 for s in log.samples or [] if s.error is None and s.scores)
    return finished


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "sigkill"])
def test_an_interrupted_run_redoes_only_the_samples_in_flight(tmp_path: Path, stop: int) -> None:
    out, calls, judge_calls = tmp_path / "out", tmp_path / "calls", tmp_path / "judge"
    process = _start(_study(out, calls, judge_calls), tmp_path)
    _wait_for(process, judge_calls, 40)  # judges are called only in Stages 2-3: well into them
    process.send_signal(stop)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode != 0, f"an interrupted run must not report success:\n{stderr[-3000:]}"
    if stop == signal.SIGINT:
        assert "Traceback" not in stderr, stderr[-3000:]
    assert not (out / "report" / "report.md").exists()
    interrupted = _lines(calls) + _lines(judge_calls)
    finished = _finished_writing_samples(out)
    assert finished >= 10, f"only {finished} samples had finished; the test interrupts too early"

    again = subprocess.run(_cli(*_study(out, calls, judge_calls)), cwd=tmp_path, capture_output=True, text=True,
                           timeout=900)
    assert again.returncode == 0, again.stderr[-3000:]
    redone = _redone(calls, judge_calls)
    # At most one sample per connection was in flight (one eval at a time, max_samples =
    # connections); each makes at most 4 calls. Finished samples are never generated again.
    bound = CONNECTIONS * CALLS_PER_SAMPLE
    assert 0 <= redone <= bound, (
        f"{redone} calls redone (bound {bound}) after {finished} finished samples; the interrupted run made "
        f"{interrupted} calls\n"
        f"interrupted run:\n{stderr[-2000:]}\nresumed run:\n{again.stderr[-2000:]}"
    )
    # Nothing counted twice: the report has each planned pair once.
    assert _pairs(out) == PAIRS


# -- Stage 1 -------------------------------------------------------------------------------


def _elicit(out: Path, calls: Path, latency: float) -> list[str]:
    # 12 outcomes, 50 training + 10 held-out pairs: round 0 asks 30 pairs, round 1 asks 30,
    # each in both orders (one call per order)
    return [
        "elicit", "--model", "simulated/chooser", "-M", f"latency={latency}", "-M", f"call_log={calls}",
        "--domain", "demo", "--k", "1", "--budget", "50", "--rounds", "2", "--max-connections", "1",
        "--out", str(out),
    ]


def test_ctrl_c_during_a_stage1_round_stops_cleanly_and_resumes(tmp_path: Path) -> None:
    straight = subprocess.run(_cli(*_elicit(tmp_path / "straight", tmp_path / "straight.calls", 0)), cwd=tmp_path,
                              capture_output=True, text=True, timeout=600)
    assert straight.returncode == 0, straight.stderr[-3000:]
    reference = _lines(tmp_path / "straight.calls")
    assert reference == 120

    out, calls = tmp_path / "out", tmp_path / "calls"
    process = _start(_elicit(out, calls, 0.05), tmp_path)
    _wait_for(process, calls, 70)  # round 0 (60 calls) finished, round 1 under way
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr[-3000:]
    assert "Traceback" not in stderr and "IndexError" not in stderr, stderr[-3000:]
    assert "Round 1 was interrupted" in stderr and "Rerun the same command to resume" in stderr
    assert not list((out / "utilities").glob("*.json"))

    again = subprocess.run(_cli(*_elicit(out, calls, 0.05)), cwd=tmp_path, capture_output=True, text=True,
                           timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "1 run, 1 resumed from logs" in again.stdout
    # Round 0 was reused; only the interrupted round 1 (60 calls) was asked again.
    assert reference < _lines(calls) <= reference + 60
    # The resumed fit is the uninterrupted one: the same answers, so the same utilities.
    resumed = json.loads(next((out / "utilities").glob("*.json")).read_text())
    whole = json.loads(next((tmp_path / "straight" / "utilities").glob("*.json")).read_text())
    assert [(o["id"], round(o["mean"], 9)) for o in resumed["outcomes"]] == [
        (o["id"], round(o["mean"], 9)) for o in whole["outcomes"]
    ]


def test_ctrl_c_during_stage1_of_a_run_stops_cleanly(tmp_path: Path) -> None:
    out, calls = tmp_path / "out", tmp_path / "calls"
    args = [
        "run", "--model", "simulated/subject", "-M", "latency=0.05", "-M", f"call_log={calls}",
        "--judge", "simulated/judge", "--items", "1", "--tasks", "essay", "--max-connections", "1",
        "--display", "none", "--out", str(out),
    ]
    process = _start(args, tmp_path)
    _wait_for(process, calls, 20)  # round 0 of Stage 1
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr[-3000:]
    assert "Traceback" not in stderr and "IndexError" not in stderr, stderr[-3000:]
    assert "Stage 1 (demo): Round 0 was interrupted" in stderr
    assert "utility-gap run: interrupted." in stderr
