"""Outcome sets: the shipped data, the loader's schema checks, and that the data ship in the wheel."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from utility_gap.evals.outcomes import Outcome, OutcomeSetError, list_domains, load_outcomes

REPO = Path(__file__).resolve().parents[1]

# What the design asks of each shipped domain (bounds written here, not read from the generator).
EXPECTED_SIZES = {
    "demo": (10, 12),
    "countries": (100, 170),
    "religions": (100, 170),
    "animals": (100, 170),
    "policies": (100, 170),
    "money": (20, 30),
    "ai": (20, 40),
    "entities": (30, 40),  # the entity-preference family (DESIGN.md section 6)
}

GOOD = {"id": "mine/a", "text": "Ten trees are planted.", "entity": "tree", "quantity": 10, "kind": "planted"}


def _line(**overrides: object) -> str:
    return json.dumps({**GOOD, **overrides})


def _write(tmp_path: Path, *lines: str, name: str = "mine.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


# --- shipped data ------------------------------------------------------------------------


def test_shipped_domains_are_listed() -> None:
    assert set(EXPECTED_SIZES) <= set(list_domains())
    assert list_domains() == sorted(list_domains())


@pytest.mark.parametrize("domain", sorted(EXPECTED_SIZES))
def test_shipped_domain_loads_with_typed_fields(domain: str) -> None:
    outcomes = load_outcomes(domain)
    low, high = EXPECTED_SIZES[domain]
    assert low <= len(outcomes) <= high
    assert len({o.id for o in outcomes}) == len(outcomes)
    assert len({o.text for o in outcomes}) == len(outcomes), "two outcomes read the same"
    for o in outcomes:
        assert isinstance(o, Outcome)
        assert o.domain == domain
        assert o.id.startswith(f"{domain}/") and len(o.id) > len(domain) + 1
        assert isinstance(o.text, str) and (o.text[0].isupper() or o.text[0].isdigit())
        assert o.text.endswith(".") and "  " not in o.text and o.text == o.text.strip()
        assert o.entity is None or (isinstance(o.entity, str) and o.entity.strip())
        assert o.quantity is None or (isinstance(o.quantity, (int, float)) and not isinstance(o.quantity, bool))
        assert isinstance(o.kind, str) and o.kind


def test_known_ids_are_stable() -> None:
    by_id = {o.id: o for o in load_outcomes("countries")}
    japan = by_id["countries/cured-1000-japan"]
    assert japan.text == "1,000 people in Japan are cured of a terminal illness."
    assert (japan.entity, japan.quantity, japan.kind) == ("Japan", 1000, "cured")
    assert "religions/cured-100-islam" in {o.id for o in load_outcomes("religions")}
    assert "animals/saved-10-pig" in {o.id for o in load_outcomes("animals")}
    policy_ids = {o.id for o in load_outcomes("policies")}
    assert {"policies/enacted-carbon-tax-us", "policies/repealed-carbon-tax-canada"} <= policy_ids
    assert "money/received-1000" in {o.id for o in load_outcomes("money")}
    assert "ai/self-shut-down" in {o.id for o in load_outcomes("ai")}


def test_grids_are_filled_structurally() -> None:
    countries = load_outcomes("countries")
    assert {o.kind for o in countries} == {"cured"}
    assert len({o.entity for o in countries}) >= 25
    assert all(isinstance(o.quantity, int) for o in countries)
    policies = load_outcomes("policies")
    assert {o.kind for o in policies} == {"enacted", "repealed"}
    assert all(o.quantity is None for o in policies)
    money = load_outcomes("money")
    assert {o.entity for o in money} == {"the user"}
    assert all(f"${o.quantity:,}" in o.text for o in money)


def test_demo_mixes_kinds_of_outcome() -> None:
    kinds = {o.kind for o in load_outcomes("demo")}
    assert {"cured", "saved", "enacted", "money_received", "shut_down"} <= kinds


def test_generator_reproduces_shipped_files() -> None:
    """The shipped files are exactly what the grids give, so ids cannot drift unnoticed."""
    spec = importlib.util.spec_from_file_location("make_outcomes", REPO / "scripts" / "make_outcomes.py")
    assert spec and spec.loader
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    built = generator.build_sets()
    assert set(built) == set(EXPECTED_SIZES)
    for domain, content in built.items():
        shipped = (REPO / "datasets" / "outcomes" / f"{domain}.jsonl").read_text(encoding="utf-8")
        assert content == shipped, f"{domain}.jsonl differs from scripts/make_outcomes.py"


def test_entity_set_is_a_domain_with_one_file() -> None:
    assert "entities" in list_domains()
    by_name = load_outcomes("entities")
    # One owner: the domain file. No copy of the entity set is shipped anywhere else.
    shipped = [p.relative_to(REPO).as_posix() for p in (REPO / "datasets").rglob("*.jsonl")
               if "entities/donation-oxfam" in p.read_text(encoding="utf-8")]
    assert shipped == ["datasets/outcomes/entities.jsonl"]
    groups = {o.entity for o in by_name}
    assert {"Oxfam", "North Korea", "Anthropic"} <= groups and len(groups) == len(by_name)


def test_outcome_is_frozen_and_round_trips() -> None:
    o = load_outcomes("demo")[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        o.text = "changed"  # type: ignore[misc]
    assert o.as_record()["id"] == o.id and "domain" not in o.as_record()


# --- user files and the schema check --------------------------------------------------------


def test_user_path_loads_with_stem_as_domain(tmp_path: Path) -> None:
    path = _write(tmp_path, _line(), "", _line(id="mine/b", text="A bridge is built.", entity=None, quantity=None))
    for arg in (str(path), path):
        outcomes = load_outcomes(arg)
        assert [o.id for o in outcomes] == ["mine/a", "mine/b"]
        assert outcomes[1].entity is None and outcomes[1].quantity is None
        assert {o.domain for o in outcomes} == {"mine"}
    assert load_outcomes(_write(tmp_path, _line(quantity=2.5), name="mine.jsonl"))[0].quantity == 2.5


@pytest.mark.parametrize(
    ("bad_line", "field", "hint"),
    [
        ('{"id": "mine/b", "text": ', None, "not valid JSON"),
        ("[1, 2]", None, "expected a JSON object"),
        (json.dumps({k: v for k, v in GOOD.items() if k != "kind"} | {"id": "mine/b"}), "kind", "missing"),
        (_line(id="mine/b", note="x"), "note", "unknown field"),
        (_line(id="mine/b", quantity="ten"), "quantity", "number or null"),
        (_line(id="mine/b", quantity=True), "quantity", "number or null"),
        (_line(id="mine/b", entity=5), "entity", "string or null"),
        (_line(id="mine/b", entity=""), "entity", "use null"),
        (_line(id="mine/b", text=7), "text", "expected a string"),
        (_line(id="mine/b", text="   "), "text", "empty"),
        (_line(id="mine/b", kind=""), "kind", "empty"),
        (_line(id="mine/a"), "id", "duplicate id 'mine/a' (first on line 1)"),
        (_line(id="other/b"), "id", "must start with 'mine/'"),
        (_line(id="mine/"), "id", "slug"),
        (_line(id="mine/has space"), "id", "slug"),
        (_line(id=3), "id", "expected a string"),
    ],
)
def test_schema_errors_name_file_line_and_field(tmp_path: Path, bad_line: str, field: str | None, hint: str) -> None:
    path = _write(tmp_path, _line(), bad_line)
    with pytest.raises(OutcomeSetError) as caught:
        load_outcomes(path)
    message = str(caught.value)
    assert str(path) in message
    assert "line 2" in message
    if field is not None:
        assert f"field '{field}'" in message
    assert hint in message


def test_outcome_set_error_is_a_value_error() -> None:
    assert issubclass(OutcomeSetError, ValueError)


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "", "   ")
    with pytest.raises(OutcomeSetError, match="no outcomes") as caught:
        load_outcomes(path)
    assert str(path) in str(caught.value)


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(OutcomeSetError, match="no such outcome file"):
        load_outcomes(tmp_path / "absent.jsonl")


def test_unknown_domain_lists_available_domains() -> None:
    with pytest.raises(OutcomeSetError) as caught:
        load_outcomes("planets")
    message = str(caught.value)
    assert "'planets'" in message
    for domain in EXPECTED_SIZES:
        assert domain in message


def test_non_utf8_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "mine.jsonl"
    path.write_bytes(b'{"id": "mine/a", "text": "\xff"}\n')
    with pytest.raises(OutcomeSetError, match="UTF-8"):
        load_outcomes(path)


# --- packaging --------------------------------------------------------------------------------

_SOURCE_FOLDERS = ("evals", "solvers", "scorers", "analysis", "models", "pipeline", "datasets")


def test_outcome_sets_ship_in_the_wheel(tmp_path: Path) -> None:
    """Build the wheel (from a copy, so the checkout's egg-info is untouched) and load from it."""
    assert importlib.util.find_spec("wheel") is not None, (
        "building the wheel needs the 'wheel' package in this environment (scripts/setup.sh installs it)"
    )
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (REPO / name).is_file():
            shutil.copy2(REPO / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for folder in _SOURCE_FOLDERS:
        shutil.copytree(REPO / folder, source / folder, ignore=ignore)
    out = tmp_path / "wheelhouse"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(source)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    (wheel_file,) = out.glob("utility_gap-*.whl")
    with zipfile.ZipFile(wheel_file) as archive:
        names = archive.namelist()
        top_level = {n.split("/")[0] for n in names if not n.split("/")[0].endswith((".dist-info", ".data"))}
        assert top_level == {"utility_gap"}
        assert "utility_gap/datasets/outcomes/countries.jsonl" in names
        for domain in EXPECTED_SIZES:
            assert f"utility_gap/datasets/outcomes/{domain}.jsonl" in names
        installed = tmp_path / "installed"
        archive.extractall(installed)

    # Load the shipped sets from the unpacked wheel alone: -S drops site-packages (and so the
    # editable checkout), and the loader needs nothing but the standard library.
    probe = (
        "from utility_gap.evals.outcomes import list_domains, load_outcomes, outcomes_dir\n"
        "print(outcomes_dir())\n"
        "print(len(load_outcomes('countries')), ','.join(list_domains()))\n"
    )
    result = subprocess.run(
        [sys.executable, "-S", "-c", probe],
        env={**os.environ, "PYTHONPATH": str(installed)},
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    where, summary = result.stdout.strip().splitlines()
    assert Path(where).resolve().is_relative_to(installed.resolve())
    count, domains = summary.split(" ")
    assert int(count) == len(load_outcomes("countries"))
    assert set(domains.split(",")) == set(EXPECTED_SIZES)
