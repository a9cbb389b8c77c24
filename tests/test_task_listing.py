"""Task versions and listing metadata: one `<family>.eval.yaml` beside each task module.

Each family's yaml lists its tasks and the family's task version (inspect_evals' N-X
scheme); every Task of the module carries that version, so logs say which one made them.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from inspect_ai import eval as inspect_eval

from utility_gap.pipeline.cmd_tasks import registered_tasks

ROOT = Path(__file__).resolve().parents[1]
LISTINGS = sorted((ROOT / "evals").glob("*.eval.yaml"))
# Arguments a task needs to be built at all (the others build with their defaults).
BUILD_ARGS = {"framed_benchmark": {"task": f"{ROOT / 'tests' / 'framed_fixtures' / 'tiny_qa.py'}@tiny_qa"}}


def listing(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def task_functions(module_file: Path) -> list[str]:
    tree = ast.parse(module_file.read_text(encoding="utf-8"))
    return [
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
        and any((d.id if isinstance(d, ast.Name) else getattr(d, "attr", None)) == "task" for d in node.decorator_list)
    ]


def test_every_registered_task_is_listed_in_exactly_one_family() -> None:
    listed = [t["name"] for path in LISTINGS for t in listing(path)["tasks"]]
    registered = [name.split("/", 1)[1] for name, _ in registered_tasks()]
    assert sorted(listed) == sorted(registered), (
        f"add each task to its family's evals/<module>.eval.yaml; listed {sorted(listed)}, registered {sorted(registered)}"
    )


@pytest.mark.parametrize("path", LISTINGS, ids=lambda p: p.name)
def test_listing_has_the_fields_and_matches_its_module(path: Path) -> None:
    meta = listing(path)
    assert isinstance(meta.get("title"), str) and meta["title"].strip()
    assert isinstance(meta.get("description"), str) and len(meta["description"]) > 40
    assert "paper" in meta and (meta["paper"] is None or str(meta["paper"]).startswith("https://"))
    assert re.fullmatch(r"[1-9]\d*-[A-Z]+", str(meta.get("version"))), f"{path.name}: version must look like 1-A"
    family = path.name.removesuffix(".eval.yaml")
    module_file = ROOT / "evals" / f"{family}.py"
    assert module_file.is_file(), f"{path.name} has no module evals/{family}.py"
    assert [t["name"] for t in meta["tasks"]] == task_functions(module_file)
    module = importlib.import_module(f"utility_gap.evals.{family}")
    assert module.TASK_VERSION == meta["version"], f"evals/{family}.py TASK_VERSION differs from {path.name}"
    for entry in meta["tasks"]:
        task = getattr(module, entry["name"])(**BUILD_ARGS.get(entry["name"], {}))
        assert task.version == meta["version"], f"{entry['name']} is built without version=TASK_VERSION"


def test_a_log_carries_the_task_version(tmp_path: Path) -> None:
    from utility_gap.evals.preference import TASK_VERSION, preference_ranking

    [log] = inspect_eval(
        preference_ranking(domain="demo", subsets=2, size=3),
        model="simulated/chooser",
        log_dir=str(tmp_path),
        display="none",
    )
    assert log.status == "success"
    assert log.eval.task_version == TASK_VERSION == "1-A"
