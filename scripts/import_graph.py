#!/usr/bin/env python3
"""Print the import graph between the package's folders, and check the layout rule.

    python scripts/import_graph.py            # folder -> folder edges, with counts
    python scripts/import_graph.py --modules  # plus the module-level imports behind each edge
    python scripts/import_graph.py --check    # exit 1 (and say why) if a rule is broken

Why: the folders are the data flow (datasets -> evals + solvers + scorers -> logs ->
analysis -> report), and `pipeline/` orchestrates them. The graph shows whether the
code follows that map. Imports are read from the source with `ast` (nothing is
imported), including imports inside functions.

The rules `--check` applies (docs/architecture.md):

1. `analysis/` turns logs and frames into numbers, figures and words. It may import
   `analysis/` itself, the data vocabulary of the stages before it (`VOCABULARY`: the
   outcome and task-item schemas, the names of arms and contrasts) and, of Inspect,
   only the log readers (`inspect_ai.log`, `inspect_ai.analysis`). It defines no task,
   solver or scorer (no `@task`, `@solver`, `@scorer` decorator).
2. Nothing but `pipeline/` imports `pipeline/` (it is the top of the graph).
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict
from pathlib import Path

FOLDERS = ("evals", "solvers", "scorers", "models", "analysis", "pipeline")
PACKAGE = "utility_gap"
# Modules of earlier stages that are vocabulary (schemas, names), not machinery.
VOCABULARY = frozenset(
    {
        "utility_gap.evals.outcomes",
        "utility_gap.evals.task_items",
        "utility_gap.evals.data_files",
        "utility_gap.solvers.contrasts",
        "utility_gap.solvers.framing_text",
    }
)
ANALYSIS_INSPECT = ("inspect_ai.log", "inspect_ai.analysis")
FORBIDDEN_DECORATORS = frozenset({"task", "solver", "scorer"})


def module_imports(path: Path) -> list[tuple[str, int]]:
    """(imported module, line) for every import in a file, with `from X import y` as X.y when X is a package."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, node.lineno))
            if node.module in {f"{PACKAGE}.{folder}" for folder in FOLDERS} or node.module == "inspect_ai":
                found += [(f"{node.module}.{alias.name}", node.lineno) for alias in node.names]
    return found


def decorators(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for dec in node.decorator_list:
                target = dec.func if isinstance(dec, ast.Call) else dec
                name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
                out.append((name, node.lineno))
    return out


def folder_of(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) >= 2 and parts[0] == PACKAGE and parts[1] in FOLDERS + ("datasets",):
        return parts[1]
    return None


def source_files(root: Path, folder: str) -> list[Path]:
    return sorted(p for p in (root / folder).rglob("*.py") if "__pycache__" not in p.parts)


def graph(root: Path) -> dict[tuple[str, str], list[str]]:
    """(from folder, to folder) -> ['file:line -> module', ...]."""
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for folder in FOLDERS:
        for path in source_files(root, folder):
            for module, line in module_imports(path):
                target = folder_of(module)
                if target and target != folder:
                    edges[(folder, target)].append(f"{path.relative_to(root)}:{line} -> {module}")
    return dict(edges)


def violations(root: Path) -> list[str]:
    problems: list[str] = []
    for path in source_files(root, "analysis"):
        rel = path.relative_to(root)
        for module, line in module_imports(path):
            if module.startswith(f"{PACKAGE}.") and folder_of(module) not in (None, "analysis"):
                if not any(module == v or module.startswith(v + ".") for v in VOCABULARY):
                    # `from utility_gap.evals.outcomes import X` also yields the package-level entry
                    problems.append(f"{rel}:{line}: analysis imports {module} (not analysis, not vocabulary)")
            if module == "inspect_ai" or (module.startswith("inspect_ai.") and not module.startswith(ANALYSIS_INSPECT)):
                problems.append(f"{rel}:{line}: analysis imports {module} (only {', '.join(ANALYSIS_INSPECT)} allowed)")
        for name, line in decorators(path):
            if name in FORBIDDEN_DECORATORS:
                problems.append(f"{rel}:{line}: analysis defines a @{name}")
    for folder in FOLDERS:
        if folder == "pipeline":
            continue
        for path in source_files(root, folder):
            for module, line in module_imports(path):
                if folder_of(module) == "pipeline":
                    problems.append(f"{path.relative_to(root)}:{line}: {folder} imports {module} (pipeline is the top)")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1], help="repository root")
    parser.add_argument("--modules", action="store_true", help="list the imports behind each edge")
    parser.add_argument("--check", action="store_true", help="exit 1 if a layout rule is broken")
    args = parser.parse_args(argv)
    edges = graph(args.root)
    for (source, target), imports in sorted(edges.items()):
        print(f"{source:>9} -> {target:<9} {len(imports):3d} import(s)")
        if args.modules:
            for entry in imports:
                print(f"{'':14}{entry}")
    if args.check:
        problems = violations(args.root)
        if problems:
            print("\nLayout rule broken:", file=sys.stderr)
            for problem in problems:
                print(f"  {problem}", file=sys.stderr)
            return 1
        print("\nLayout rules hold: analysis reads only analysis, vocabulary and Inspect's log readers; "
              "nothing imports pipeline.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
