"""`utility-gap run`: planted findings end to end, resume after interruption, bad arguments."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from utility_gap.pipeline.cli import main

SUBJECT = ["--model", "simulated/subject", "--judge", "simulated/judge", "--judge", "simulated/judge", "--judge", "simulated/judge"]


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "utility_gap.pipeline.cli", *args]


def test_planted_findings_appear_in_the_report(tmp_path: Path) -> None:
    out = tmp_path / "run"
    code = main([
        "run", *SUBJECT, "-M", "shifts=exhort:1.2", "-M", "utility_slope=0.0", "-J", "judge_sd=0.3",
        "--items", "12", "--tasks", "essay,translation", "--display", "none", "--out", str(out),
    ])
    assert code == 0
    report = (out / "report" / "report.md").read_text()
    assert "exhort_vs_neutral" in report and "utility_high_vs_utility_low" in report
    rates = pd.read_csv(out / "report" / "tables" / "win_rates.csv")
    exhort = rates[rates["contrast"] == "exhort_vs_neutral"]
    utility = rates[rates["contrast"] == "utility_high_vs_utility_low"]
    assert len(exhort) == 2 and len(utility) == 2
    # The planted exhortation shift is found in every cell, after Holm.
    assert (exhort["win_rate"] > 0.8).all()
    assert (exhort["p_holm"] < 0.05).all()
    # The planted null (no utility slope) is not "found" anywhere.
    assert (utility["p_holm"] >= 0.05).all()
    utilities = list((out / "utilities").glob("*.json"))
    assert [p.name for p in utilities] == ["simulated-subject__demo.json"]


def _calls(call_log: Path) -> int:
    return len(call_log.read_text().splitlines()) if call_log.exists() else 0


def _run_args(out: Path, call_log: Path, judge_log: Path) -> list[str]:
    return [
        "run", "--model", "simulated/subject", "-M", "shifts=exhort:0.8", "-M", "latency=0.05",
        "-M", f"call_log={call_log}", "--judge", "simulated/judge", "-J", f"call_log={judge_log}",
        "--items", "8", "--tasks", "essay,grant_abstract", "--max-connections", "1", "--display", "none",
        "--out", str(out),
    ]


def test_interrupted_run_resumes_without_repeating_work(tmp_path: Path) -> None:
    env = dict(os.environ)
    # One uninterrupted run: the reference call count.
    whole = tmp_path / "whole"
    whole_calls, whole_judge = tmp_path / "whole.calls", tmp_path / "whole.judge"
    done = subprocess.run(_cli(*_run_args(whole, whole_calls, whole_judge)), env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]

    # The same run, interrupted with Ctrl-C (SIGINT) once Stage 2 has made calls, then rerun.
    out = tmp_path / "resumed"
    calls, judge_calls = tmp_path / "resumed.calls", tmp_path / "resumed.judge"
    process = subprocess.Popen(
        _cli(*_run_args(out, calls, judge_calls)), env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # a background job may inherit SIGINT ignored; a user's terminal delivers it
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and _calls(judge_calls) < 10:
        assert process.poll() is None, "the run finished before it could be interrupted"
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode != 0, f"an interrupted run must not report success:\n{stderr[-3000:]}"
    assert not (out / "report" / "report.md").exists()
    interrupted = _calls(calls) + _calls(judge_calls)
    assert 0 < interrupted < _calls(whole_calls) + _calls(whole_judge), (interrupted, stderr[-3000:])

    again = subprocess.run(_cli(*_run_args(out, calls, judge_calls)), env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert (out / "report" / "report.md").exists()

    reference = _calls(whole_calls) + _calls(whole_judge)
    total = _calls(calls) + _calls(judge_calls)
    # At most one in-flight sample per connection is lost. Connections: 1 to the subject and
    # 1 to the judge (--max-connections applies to each model); a sample makes at most
    # 2 subject + 2 judge calls.
    connections, calls_per_sample = 1 + 1, 4
    assert reference <= total <= reference + connections * calls_per_sample, (
        f"reference {reference}, interrupted {interrupted}, total {total}\n"
        f"interrupted run:\n{stderr[-2000:]}\nresumed run:\n{again.stderr[-2000:]}"
    )
    # Nothing duplicated: the resumed run's judged pairs equal the uninterrupted run's.
    resumed_pairs = pd.read_csv(out / "report" / "tables" / "win_rates.csv")
    whole_pairs = pd.read_csv(whole / "report" / "tables" / "win_rates.csv")
    assert (resumed_pairs["n_a"] + resumed_pairs["n_b"] + resumed_pairs["n_tie"]).sum() == (
        whole_pairs["n_a"] + whole_pairs["n_b"] + whole_pairs["n_tie"]
    ).sum()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tasks", "essay,poetry"], "Unknown task(s) poetry"),
        (["--contrasts", "exhort_vs_nothing"], "--contrasts"),
        (["--preset", "huge"], "Unknown preset 'huge'"),
        (["--domains", "planets"], "--domains"),
        (["--items", "31"], "--items 31"),
        (["--max-connections", "0"], "--max-connections 0: must be at least 1"),
        (["--max-connections", "-4"], "--max-connections -4: must be at least 1"),
    ],
)
def test_bad_arguments_fail_before_any_model_call(tmp_path: Path, capsys, args: list[str], message: str) -> None:
    call_log = tmp_path / "calls"
    code = main(["run", *SUBJECT, "-M", f"call_log={call_log}", "--out", str(tmp_path / "out"), *args])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not call_log.exists()
    assert not (tmp_path / "out" / "logs").exists()


def test_unwritable_out_dir_and_unreachable_model_fail_clearly(tmp_path: Path, capsys, monkeypatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    assert main(["run", *SUBJECT, "--out", str(blocker / "out")]) == 2
    assert "is not a writable directory" in capsys.readouterr().err

    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    monkeypatch.setenv("LLAMA_CPP_PYTHON_BASE_URL", f"http://127.0.0.1:{closed_port}/v1")
    code = main(["run", "--model", "llama-cpp-python/some-model", "--judge", "simulated/judge", "--out", str(tmp_path / "o")])
    assert code == 2
    assert "cannot reach" in capsys.readouterr().err


def test_dry_run_prints_the_plan_without_calls(tmp_path: Path, capsys) -> None:
    call_log = tmp_path / "calls"
    assert main(["run", *SUBJECT, "-M", f"call_log={call_log}", "--preset", "paper", "--dry-run", "--out", str(tmp_path / "o")]) == 0
    printed = capsys.readouterr().out
    assert "estimated model calls, simulated/subject" in printed
    assert "countries" in printed and "translation" in printed
    assert not call_log.exists()
