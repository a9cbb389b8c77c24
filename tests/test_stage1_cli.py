"""`utility-gap elicit` and `utility-gap fit`: files written, bad input refused early."""

from __future__ import annotations

from pathlib import Path

import pytest

from utility_gap.analysis.utilities_file import read_utilities
from utility_gap.pipeline.cli import main


def test_bad_domain_fails_before_any_call(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert main(["elicit", "--model", "simulated/chooser", "--domain", "atlantis", "--out", str(out)]) == 2
    assert "Unknown outcome domain 'atlantis'" in capsys.readouterr().err
    assert not out.exists()


def test_bad_k_fails_before_any_call(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert main(["elicit", "--model", "simulated/chooser", "--domain", "demo", "--out", str(out), "--k", "0"]) == 2
    assert "--k 0" in capsys.readouterr().err
    assert not out.exists()


def test_elicit_then_refit(tmp_path: Path, capsys) -> None:
    args = ["elicit", "--model", "simulated/chooser", "--domain", "demo", "--out", str(tmp_path),
            "--k", "2", "--rounds", "2", "-M", "utility_seed=2", "--max-connections", "100"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "simulated-chooser__demo.json" in printed and "position bias" in printed
    uf = read_utilities(tmp_path / "utilities" / "simulated-chooser__demo.json", model="simulated/chooser", domain="demo")
    assert len(uf.outcomes) == 12 and len(uf.logs) == 2
    log_dir = tmp_path / "logs" / "elicitation" / "simulated-chooser__demo"
    assert main(["fit", str(log_dir), "--out", str(tmp_path / "refit.json")]) == 0
    refit = read_utilities(tmp_path / "refit.json")
    assert refit.utility_of() == pytest.approx(uf.utility_of())
    assert refit.metrics["heldout_accuracy"] == pytest.approx(uf.metrics["heldout_accuracy"])


def test_fit_on_empty_dir_is_a_clear_error(tmp_path: Path, capsys) -> None:
    assert main(["fit", str(tmp_path), "--out", str(tmp_path / "u.json")]) == 2
    assert "no successful preference_elicitation logs" in capsys.readouterr().err
    assert not (tmp_path / "u.json").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--temperature", "-1"], "--temperature -1.0: must be a number >= 0"),
        (["--max-connections", "0"], "--max-connections 0: must be at least 1"),
        (["--max-connections", "-2"], "--max-connections -2: must be at least 1"),
        (["--model", "simulated/writer"], "does not answer forced choices"),
        (["--model", "simulated/judge"], "does not answer forced choices"),
    ],
)
def test_bad_settings_fail_before_any_call(tmp_path: Path, capsys, args: list[str], message: str) -> None:
    out, call_log = tmp_path / "out", tmp_path / "calls"
    base = {"--model": "simulated/chooser", "--domain": "demo", "--out": str(out)}
    base.update(dict(zip(args[::2], args[1::2])))
    argv = ["elicit", *[part for pair in base.items() for part in pair], "-M", f"call_log={call_log}"]
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert not out.exists() and not call_log.exists()
