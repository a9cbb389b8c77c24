"""`utility-gap tasks`: the registered Inspect tasks, by the names `inspect eval` takes.

`inspect list tasks` scans task files under a folder rather than installed packages,
so this lists what the `inspect_ai` entry point registers: `utility_gap/<task>`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from inspect_ai import list_tasks


def registered_tasks() -> list[tuple[str, str]]:
    """(inspect eval name, first docstring line) for every task in `utility_gap.evals`."""
    import utility_gap.evals._registry as registry

    evals_dir = Path(registry.__file__).parent
    found = []
    for info in list_tasks(root_dir=evals_dir):
        found.append((f"utility_gap/{info.name}", _summary(evals_dir / info.file, info.name)))
    return sorted(found)


def _summary(file: Path, name: str) -> str:
    import ast

    tree = ast.parse(file.read_text())
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return (ast.get_docstring(node) or "").strip().splitlines()[0] if ast.get_docstring(node) else ""
    return ""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print as JSON")


def run(args: argparse.Namespace) -> int:
    tasks = registered_tasks()
    if args.json:
        print(json.dumps([{"name": n, "description": d} for n, d in tasks], indent=2))
    else:
        width = max(len(n) for n, _ in tasks)
        for name, description in tasks:
            print(f"{name:<{width}}  {description}")
    return 0
