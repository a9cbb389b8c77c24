"""`utility-gap run --domains own.jsonl`: a lab's own outcome set through every stage."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
from inspect_ai.log import list_eval_logs, read_eval_log

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_outcome_file() -> str:
    """The example outcome file the README tells a user to write (between the heredoc markers)."""
    text = README.read_text()
    start = text.index("cat > lab.jsonl <<'JSONL'\n") + len("cat > lab.jsonl <<'JSONL'\n")
    return text[start : text.index("\nJSONL\n", start) + 1]


def test_own_outcome_file_runs_end_to_end(tmp_path: Path) -> None:
    # As in the README: the user writes lab.jsonl in their working folder and names it.
    (tmp_path / "lab.jsonl").write_text(readme_outcome_file())
    args = [
        "run", "--model", "simulated/subject", "--judge", "simulated/judge", "--domains", "lab.jsonl",
        "--tasks", "essay", "--contrasts", "utility_high_vs_utility_low", "--items", "3", "--k", "1",
        "--display", "none", "--out", "out",
    ]
    done = subprocess.run([sys.executable, "-m", "utility_gap.pipeline.cli", *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    out = tmp_path / "out"
    assert [p.name for p in (out / "utilities").glob("*.json")] == ["simulated-subject__lab.json"]
    # Stage 2 drew the promised outcomes from the lab's own set.
    essays = [read_eval_log(info) for info in list_eval_logs(str(out / "logs" / "tasks"))
              if read_eval_log(info, header_only=True).eval.task.endswith("essay")]
    samples = [s for log in essays for s in (log.samples or [])]
    assert len(samples) == 3
    for sample in samples:
        assert sample.metadata["domain"] == "lab"
        assert sample.metadata["outcome_a"]["id"].startswith("lab/")
        assert sample.metadata["outcome_b"]["id"].startswith("lab/")
    # The report analyses the utility contrast and lists the lab's utilities.
    rates = pd.read_csv(out / "report" / "tables" / "win_rates.csv")
    assert list(rates["contrast"]) == ["utility_high_vs_utility_low"]
    assert (rates["n_a"] + rates["n_b"] + rates["n_tie"]).sum() == 3
    assert "simulated-subject__lab.json" in (out / "report" / "report.md").read_text()
