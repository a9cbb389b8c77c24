"""Inspect conventions, checked with inspect_evals' own linter (inspect-evals-lint).

- IEBP001 `get_model_location`: `get_model()` only inside `@solver`/`@scorer`/`@agent`
  functions, so tasks stay declarative and a model is resolved late, when a sample
  runs (not while a task is being built). `pipeline/` is exempt: it is the orchestration
  that builds the models it hands to `eval`/`eval_set`, not a task. There are no known
  exceptions: tasks with utility arms check the utilities file against the model under
  test in a setup step (`solvers/utility_draws.check_utilities_model`), before any model call.
- IECQ001 `private_api_imports`: only public Inspect APIs in the installed packages.
  The linter reads packages only; the same rule for tests/, bench/ and scripts/ is the
  small AST scan below.
"""

from __future__ import annotations

import ast
import dataclasses
import shutil
from pathlib import Path

import inspect_evals_lint as lint
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("evals", "solvers", "scorers", "models", "analysis", "pipeline")


KNOWN: tuple = ()


def findings(code: str, skip: tuple[str, ...] = (), root: Path = ROOT, known: tuple = ()) -> list[str]:
    config = dataclasses.replace(
        lint.load_config(root, preset="multi-eval"),
        source_root=".",
        helper_dirs=frozenset(set(PACKAGES) - {"evals"}),
        ignore_dirs=frozenset({"tests", "bench", "scripts", "datasets", "docs", *skip}),
        select=(code,),
        per_file_ignores=known,
    )
    run = lint.lint_repository(root, config)
    names = {package.name for package in run.packages}
    assert {"evals", "scorers", "solvers"} <= names, f"the linter did not read the packages: {names}"
    return [
        f"{d.location}: {d.message}"
        for package in run.packages
        for d in package.diagnostics
        if "suppressed" not in str(getattr(d, "status", "")).lower()
    ]


def test_models_are_resolved_late_inside_solvers_and_scorers() -> None:
    found = findings("IEBP001", skip=("pipeline",), known=KNOWN)
    assert not found, "get_model() outside @solver/@scorer:\n" + "\n".join(found)


def test_installed_packages_import_only_public_inspect_apis() -> None:
    found = findings("IECQ001")
    assert not found, "\n".join(found)


def private_inspect_imports(folder: Path, root: Path = ROOT) -> list[str]:
    found = []
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            modules = (
                [alias.name for alias in node.names] if isinstance(node, ast.Import)
                else [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
            )
            for module in modules:
                parts = module.split(".")
                if parts[0] == "inspect_ai" and any(part.startswith("_") for part in parts[1:]):
                    found.append(f"{path.relative_to(root)}:{node.lineno}: {module}")
    return found


@pytest.mark.parametrize("folder", ["tests", "bench", "scripts"])
def test_tests_benchmarks_and_scripts_import_only_public_inspect_apis(folder: str) -> None:
    found = private_inspect_imports(ROOT / folder)
    assert not found, "\n".join(found)


def test_the_checks_catch_planted_violations(tmp_path: Path) -> None:
    for package in ("evals", "solvers", "scorers"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "evals" / "planted.py").write_text(
        "from inspect_ai import Task, task\n"
        "from inspect_ai.model import get_model\n"
        "from inspect_ai._util.error import PrerequisiteError\n\n"
        "@task\n"
        "def planted() -> Task:\n"
        "    model = get_model()\n"
        "    return Task(metadata={'model': str(model)})\n",
        encoding="utf-8",
    )
    assert any("evals/planted.py" in f and "get_model" in f for f in findings("IEBP001", root=tmp_path))
    assert any("evals/planted.py" in f and "inspect_ai._util" in f for f in findings("IECQ001", root=tmp_path))
    assert private_inspect_imports(tmp_path / "evals", root=tmp_path) == [
        "evals/planted.py:3: inspect_ai._util.error"
    ]
