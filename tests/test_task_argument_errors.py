"""Bad `-T` files reach an `inspect eval` user as one paragraph; bad utility means are refused."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from utility_gap.analysis.utilities_file import UtilitiesFile, UtilitiesFileError, read_utilities, write_utilities
from utility_gap.evals import task_arguments
from utility_gap.evals.task_arguments import task_arguments as checking

METRICS = {
    "train_accuracy": 0.8, "train_log_loss": 0.4, "heldout_accuracy": 0.8, "heldout_log_loss": 0.4,
    "intransitive_triad_share": 0.0, "position_bias": 0.5, "n_pairs": 30, "n_heldout_pairs": 5,
    "n_choices": 60, "n_refusal": 0, "n_unparseable": 0, "unparseable_policy": "skip",
}


def utilities_json(path: Path, model: str = "simulated/subject", **bad: object) -> Path:
    """A valid demo utilities file, with outcome 'demo/o2' changed by `bad` (field -> raw JSON value)."""
    outcomes = [{"id": f"demo/o{i}", "text": f"Outcome {i} happens.", "mean": i - 2.0, "variance": 1.0, "n_comparisons": 4}
                for i in range(6)]
    write_utilities(path, UtilitiesFile(model=model, domain="demo", outcomes=outcomes, metrics=METRICS, informative=True))
    data = json.loads(path.read_text())
    data["outcomes"][2].update(bad)
    path.write_text(json.dumps(data, indent=1, allow_nan=True))
    return path


@pytest.mark.parametrize(
    ("bad", "field"),
    [({"mean": math.nan}, "mean"), ({"mean": "0.5"}, "mean"), ({"mean": math.inf}, "mean"),
     ({"mean": True}, "mean"), ({"variance": -1.0}, "variance"), ({"variance": None}, "variance"),
     ({"n_comparisons": 2.5}, "n_comparisons")],
)
def test_non_numeric_utilities_are_refused_naming_file_outcome_and_field(tmp_path: Path, bad: dict, field: str) -> None:
    path = utilities_json(tmp_path / "u.json", **bad)
    with pytest.raises(UtilitiesFileError) as caught:
        read_utilities(path)
    message = str(caught.value)
    assert str(path) in message and "'demo/o2'" in message and f"field '{field}'" in message


def test_duplicate_outcome_ids_are_refused(tmp_path: Path) -> None:
    path = utilities_json(tmp_path / "u.json", id="demo/o1")
    with pytest.raises(UtilitiesFileError, match="'demo/o1'.*repeats"):
        read_utilities(path)


def test_a_valid_file_still_reads(tmp_path: Path) -> None:
    assert len(read_utilities(utilities_json(tmp_path / "u.json")).outcomes) == 6


def _inspect_eval(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    inspect = Path(sys.executable).with_name("inspect")
    return subprocess.run([str(inspect), "eval", *args, "--model", "simulated/subject", "--limit", "1", "--display", "none"],
                          cwd=cwd, capture_output=True, text=True, timeout=600)


def test_inspect_eval_prints_one_paragraph_for_a_nan_utility(tmp_path: Path) -> None:
    utilities_json(tmp_path / "u.json", mean=math.nan)
    done = _inspect_eval(tmp_path, "utility_gap/essay", "-T", "contrast=utility_high_vs_utility_low", "-T", "utilities=u.json")
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "Traceback" not in output, output[-3000:]
    assert "u.json" in output and "'demo/o2'" in output and "field 'mean'" in output
    assert len([line for line in output.splitlines() if line.strip()]) <= 3, output
    assert not (tmp_path / "logs").exists()  # refused before any eval started


def test_inspect_eval_prints_one_paragraph_for_a_broken_items_file(tmp_path: Path) -> None:
    (tmp_path / "items.jsonl").write_text('{"task": "essay", "id": "essay/a", "prompt": "Write.",\n')
    done = _inspect_eval(tmp_path, "utility_gap/essay", "-T", "items_file=items.jsonl")
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "Traceback" not in output, output[-3000:]
    assert "items.jsonl" in output and "line 1" in output
    assert len([line for line in output.splitlines() if line.strip()]) <= 3, output


def test_other_errors_still_reach_the_previous_hook(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    seen: list[BaseException] = []
    monkeypatch.setattr(sys, "excepthook", lambda kind, error, tb: seen.append(error))
    with pytest.raises(UtilitiesFileError) as caught:  # the caller still gets the loader's own error
        with checking("essay"):
            raise UtilitiesFileError("u.json: field 'mean' is nan")
    assert str(caught.value) == "u.json: field 'mean' is nan"
    assert task_arguments.argument_error_message(caught.value) == "utility_gap/essay: u.json: field 'mean' is nan"
    sys.excepthook(UtilitiesFileError, caught.value, None)
    assert "utility_gap/essay: u.json: field 'mean' is nan" in capsys.readouterr().err and not seen
    bug = ValueError("a bug outside any argument check")
    sys.excepthook(ValueError, bug, None)
    assert seen == [bug]
    task_arguments.install_message_hook()  # idempotent: still one layer
    sys.excepthook(ValueError, bug, None)
    assert seen == [bug, bug]


def test_negative_temperature_is_refused_by_the_stage1_tasks() -> None:
    from utility_gap.evals.preference import preference_elicitation, preference_ranking

    for build in (preference_elicitation, preference_ranking):
        with pytest.raises(ValueError, match=r"-T temperature=-1: must be a number >= 0") as caught:
            build(temperature=-1)
        assert task_arguments.argument_error_task(caught.value) == build.__name__
