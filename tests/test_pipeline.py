"""`utility-gap run`: planted findings end to end, bad arguments (resume: test_resume.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from utility_gap.pipeline.cli import main

SUBJECT = ["--model", "simulated/subject", "--judge", "simulated/judge", "--judge", "simulated/judge", "--judge", "simulated/judge"]


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

    from utility_gap.models.embedded import free_loopback_port

    closed_port = free_loopback_port()  # free, so nothing answers there
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
