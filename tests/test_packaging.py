"""Packaging: declared dependencies and their tested floors, the wheel's contents, CLI messages.

The floors themselves are proven by `scripts/test_floors.sh` (it installs
constraints-min.txt and runs this suite); these tests keep the files it reads honest.
"""

from __future__ import annotations

import ast
import functools
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
INSTALLED_FOLDERS = ("evals", "solvers", "scorers", "models", "analysis", "pipeline")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*(.*)$")


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def floors(requirements: list[str]) -> dict[str, str | None]:
    """{distribution: floor version or None} from requirement strings."""
    out: dict[str, str | None] = {}
    for requirement in requirements:
        name, _, spec = REQUIREMENT.match(requirement.split(";")[0]).groups()  # type: ignore[union-attr]
        floor = re.search(r">=\s*([^,\s]+)", spec)
        out[normalise(name)] = floor.group(1) if floor else None
    return out


def pins() -> dict[str, str]:
    out = {}
    for line in (ROOT / "constraints-min.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            out[normalise(name)] = version.strip()
    return out


def release(version: str) -> tuple[int, ...]:
    parts = [int(p) for p in re.findall(r"\d+", version)[:3]]
    return tuple(parts + [0] * (3 - len(parts)))


def test_every_floor_of_the_core_and_test_dependencies_is_pinned_for_the_floor_test() -> None:
    declared = floors(PYPROJECT["project"]["dependencies"] + PYPROJECT["project"]["optional-dependencies"]["test"])
    pinned = pins()
    missing = [name for name, floor in declared.items() if floor is None]
    assert not missing, f"pyproject.toml: give these dependencies a tested floor (>=): {missing}"
    for name, floor in declared.items():
        assert name in pinned, f"constraints-min.txt: add {name}=={floor} (the floor of pyproject.toml)"
        assert release(pinned[name]) == release(floor), (
            f"constraints-min.txt pins {name}=={pinned[name]} but pyproject.toml's floor is {floor}: make them the same"
        )
    extra = sorted(set(pinned) - set(declared))
    assert not extra, f"constraints-min.txt pins packages pyproject.toml does not declare: {extra}"


def third_party_imports(folders: tuple[str, ...]) -> dict[str, set[str]]:
    """{top-level module: files} for every non-stdlib, non-utility_gap import in the folders."""
    found: dict[str, set[str]] = {}
    local = {p.stem for folder in folders for p in (ROOT / folder).glob("*.py")}
    for folder in folders:
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top in sys.stdlib_module_names or top == "utility_gap" or top in local:
                        continue
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


@functools.cache
def _distributions() -> dict[str, list[str]]:
    return packages_distributions()


def distribution_of(module: str) -> str:
    dists = _distributions().get(module)
    return normalise(dists[0]) if dists else normalise(module)


@pytest.mark.parametrize(
    ("folders", "groups"),
    [
        (INSTALLED_FOLDERS, ("dependencies", "providers", "hub", "s3", "local")),
        (("tests", "bench"), ("dependencies", "providers", "hub", "s3", "local", "test")),
    ],
)
def test_every_import_is_a_declared_dependency(folders: tuple[str, ...], groups: tuple[str, ...]) -> None:
    project = PYPROJECT["project"]
    declared: set[str] = set()
    for group in groups:
        requirements = project["dependencies"] if group == "dependencies" else project["optional-dependencies"][group]
        declared |= set(floors(requirements))
    undeclared = {
        module: sorted(files)
        for module, files in third_party_imports(folders).items()
        if distribution_of(module) not in declared
    }
    assert not undeclared, f"imported but not declared in pyproject.toml ({', '.join(groups)}): {undeclared}"


def test_every_data_folder_ships_as_declared_package_data() -> None:
    setuptools = PYPROJECT["tool"]["setuptools"]
    folders = sorted(p.name for p in (ROOT / "datasets").iterdir() if p.is_dir() and p.name != "__pycache__")
    for folder in folders:
        package = f"utility_gap.datasets.{folder}"
        assert package in setuptools["packages"], (
            f"datasets/{folder}/: add '{package}' to [tool.setuptools] packages and package-data in pyproject.toml"
        )
        assert package in setuptools["package-data"], f"pyproject.toml: add package-data for '{package}'"


def test_the_wheel_builds_without_warnings_and_ships_data_licence_and_one_namespace(tmp_path: Path) -> None:
    source = tmp_path / "src"
    shutil.copytree(
        ROOT, source,
        ignore=shutil.ignore_patterns(".git", ".venv*", "__pycache__", "*.egg-info", "build", "dist", "runs", "logs", ".pytest_cache"),
    )
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "dist"), str(source)],
        capture_output=True, text=True, timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    for warning in ("Warning", "would be ignored", "deprecated"):
        assert warning not in output, f"building the wheel printed '{warning}':\n{output}"
    wheel = next((tmp_path / "dist").glob("utility_gap-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    data = [p.relative_to(ROOT).as_posix() for p in (ROOT / "datasets").rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    missing = [f for f in data if f"utility_gap/{f}" not in names]
    assert not missing, f"data files missing from the wheel: {missing}"
    listings = [f"utility_gap/evals/{p.name}" for p in (ROOT / "evals").glob("*.eval.yaml")]
    assert listings and all(name in names for name in listings), "evals/*.eval.yaml must ship in the wheel"
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"utility_gap"}, f"the wheel installs top-level names besides utility_gap: {tops}"
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "License-Expression: MIT" in metadata


def test_cli_errors_print_without_rich_markup(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from utility_gap.pipeline import cli, run

    def missing_provider(name: str, **kwargs: object) -> None:  # Inspect's wording for a missing package
        raise RuntimeError(
            "ERROR: Anthropic API requires optional package [bold]anthropic[/bold]. Install with:\n\n"
            "[bold][blue]pip install anthropic[/blue][/bold]"
        )

    monkeypatch.setattr(run, "get_model", missing_provider)
    code = cli.main(["run", "--model", "simulated/subject", "--judge", "anthropic/claude-sonnet-4-0",
                     "--out", str(tmp_path / "out"), "--dry-run"])
    err = capsys.readouterr().err
    assert code == 2
    assert "requires optional package anthropic. Install with" in err and "pip install anthropic" in err
    assert "[bold]" not in err and "[/blue]" not in err


def test_plain_keeps_brackets_that_are_not_markup() -> None:
    from utility_gap.pipeline.errors import plain

    text = "Score.metadata['winner'] of judge[0], one of [a, b] or [tie]"
    assert plain(text) == text
    assert plain("[bold red]x[/bold red] [/]y") == "x y"
