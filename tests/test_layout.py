"""The folders show the data flow: analysis/ reads logs and frames, it runs nothing.

The rule lives in scripts/import_graph.py (one place); these tests run it on the
repository, show that it catches a broken rule, and check that moved names still
resolve through their one-release aliases.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "import_graph.py"


def run_check(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--check", "--root", str(root)], capture_output=True, text=True, timeout=60
    )


def copy_tree(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for folder in ("evals", "solvers", "scorers", "models", "analysis", "pipeline"):
        shutil.copytree(ROOT / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def test_the_repository_keeps_the_layout_rules() -> None:
    result = run_check(ROOT)
    assert result.returncode == 0, result.stderr
    edges = {line.split()[0] + "->" + line.split()[2] for line in result.stdout.splitlines() if " -> " in line}
    assert "analysis->pipeline" not in edges
    assert "analysis->scorers" not in edges
    assert "analysis->models" not in edges
    assert "pipeline->analysis" in edges  # the orchestration reads the analysis, not the other way round


@pytest.mark.parametrize(
    "line",
    [
        "from utility_gap.evals.preference import preference_elicitation\n",  # a task function
        "from utility_gap.scorers.judge_panel import judge_pair\n",  # a scorer
        "from utility_gap.pipeline.run import run\n",  # the orchestration
        "from inspect_ai import eval\n",  # running evals
        "from inspect_ai.model import get_model\n",  # calling a model
        "def f():\n    from utility_gap.models.simulated import SimulatedAPI\n",  # hidden inside a function
    ],
)
def test_the_check_catches_analysis_importing_what_runs_models(tmp_path: Path, line: str) -> None:
    root = copy_tree(tmp_path)
    (root / "analysis" / "intruder.py").write_text(line, encoding="utf-8")
    result = run_check(root)
    assert result.returncode == 1
    assert "analysis/intruder.py" in result.stderr


def test_the_check_catches_a_task_defined_in_analysis(tmp_path: Path) -> None:
    root = copy_tree(tmp_path)
    (root / "analysis" / "intruder.py").write_text("from x import task\n\n@task\ndef t():\n    pass\n")
    result = run_check(root)
    assert result.returncode == 1 and "defines a @task" in result.stderr


def test_the_check_catches_a_stage_importing_the_pipeline(tmp_path: Path) -> None:
    root = copy_tree(tmp_path)
    (root / "evals" / "intruder.py").write_text("import utility_gap.pipeline.run\n")
    result = run_check(root)
    assert result.returncode == 1 and "pipeline is the top" in result.stderr


def test_vocabulary_imports_are_allowed(tmp_path: Path) -> None:
    root = copy_tree(tmp_path)
    (root / "analysis" / "vocab.py").write_text(
        "from utility_gap.evals.outcomes import Outcome\nfrom utility_gap.solvers.contrasts import STANDARD_CONTRASTS\n"
    )
    assert run_check(root).returncode == 0


def test_moved_modules_keep_working_through_aliases() -> None:
    from utility_gap.pipeline import elicitation_rounds, power_check

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from utility_gap.analysis import elicitation_rounds as old_rounds
        from utility_gap.analysis import power_check as old_check

        assert old_rounds.ElicitationPlan is elicitation_rounds.ElicitationPlan
        assert old_check.provider_power_check is power_check.provider_power_check
    assert any(issubclass(w.category, DeprecationWarning) and "moved to" in str(w.message) for w in caught)


def test_split_modules_keep_their_public_names() -> None:
    from utility_gap.analysis import frames, report

    for name in ("read_frames", "judged_pairs_frame", "validate_judged_pairs", "FrameError", "JUDGED_PAIRS_SCHEMA",
                 "FLAGS", "Frames"):
        assert hasattr(frames, name), name
    for name in ("write_report", "ReportSettings", "ReportError", "markdown_table", "judge_diagnostics", "REPORT_FILE"):
        assert hasattr(report, name), name


def test_every_module_has_a_docstring() -> None:
    import ast

    missing = []
    for folder in ("analysis", "pipeline"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path.name == "__init__.py" and path.stat().st_size == 0:
                continue
            if ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) is None:
                missing.append(str(path.relative_to(ROOT)))
    assert not missing, f"modules without a docstring: {missing}"
