"""A pre-registration file: the analysis fixed before the data are seen.

Why: with many contrasts, cells, intervals and corrections to choose from, an analysis
chosen after looking at the data can find what it wants. A lab writes a small YAML or
JSON plan first — which contrasts, in which direction, with which equivalence margins,
alpha, Holm family (and the planned models x tasks), per-cell interval, bootstrap and
exclusions — and the report reads it, prints it, uses it, and marks every setting and
every piece of data that differs from it (docs/analysis.md, "Analysis plan").

Schema (every key optional; absent keys take the suite's defaults, shown):

    title: ""                      # free text, printed
    alpha: 0.05
    margin: 0.05                   # TOST margin for contrasts without their own
    power: 0.8
    interval: clopper-pearson      # or wilson
    family: testable               # or planned (empty planned cells stay in m and Holm)
    models: []                     # planned models and tasks: the planned cells are
    tasks: []                      #   contrasts x models x tasks (family: planned)
    contrasts:                     # a list of names (two-sided), or per contrast:
      exhort_vs_neutral: {sided: greater}            # greater: side a better; less: side b
      utility_high_vs_utility_low: {sided: two-sided, margin: 0.03}
    bootstrap: {method: auto, replicates: 2000, seed: 0, min_levels: 5}
    net_ci: bootstrap              # or t
    exclusions: [empty, truncated, refusal, leak]    # [] keeps every pair

`read_plan` validates it and raises `PlanError` naming the file, the key and the
allowed values. `planned_cells` gives the planned (contrast, model, task) cells and
`plan_settings` the report settings the plan fixes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from utility_gap.analysis.bootstrap import BOOTSTRAP_METHODS, MIN_LEVELS
from utility_gap.analysis.effect_sizes import NET_CI_METHODS
from utility_gap.analysis.frames import FLAGS, FrameError
from utility_gap.analysis.structured_files import read_mapping_file
from utility_gap.analysis.win_rates import ALTERNATIVES, FAMILIES, INTERVALS

TOP_KEYS = ("title", "alpha", "margin", "power", "interval", "family", "models", "tasks", "contrasts",
            "bootstrap", "net_ci", "exclusions")
BOOTSTRAP_KEYS = ("method", "replicates", "seed", "min_levels")
CONTRAST_KEYS = ("sided", "margin")


class PlanError(FrameError):
    """An analysis plan file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class PlannedContrast:
    name: str
    sided: str = "two-sided"
    margin: float | None = None  # None: the plan's margin


@dataclass(frozen=True)
class AnalysisPlan:
    """A validated plan (defaults filled in). `text` is the file as written, for the report."""

    path: Path | None = None
    text: str = ""
    sha256: str = ""
    title: str = ""
    alpha: float = 0.05
    margin: float = 0.05
    power: float = 0.8
    interval: str = "clopper-pearson"
    family: str = "testable"
    models: tuple[str, ...] = ()
    tasks: tuple[str, ...] = ()
    contrasts: tuple[PlannedContrast, ...] = ()
    bootstrap: str = "auto"
    n_boot: int = 2000
    seed: int = 0
    min_levels: int = MIN_LEVELS
    net_ci: str = "bootstrap"
    exclusions: tuple[str, ...] = FLAGS
    explicit: frozenset[str] = field(default_factory=frozenset)  # keys the file wrote

    @property
    def contrast_names(self) -> list[str]:
        return [c.name for c in self.contrasts]


def _fail(path: Path | None, key: str, problem: str) -> PlanError:
    where = f"Analysis plan '{path}'" if path else "Analysis plan"
    return PlanError(f"{where}: {key}: {problem}")


def _number(path: Path | None, key: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(path, key, f"{value!r} is not a number.")
    if not low < float(value) < high:
        raise _fail(path, key, f"{value} is outside ({low}, {high}).")
    return float(value)


def _integer(path: Path | None, key: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _fail(path, key, f"{value!r} must be a whole number >= {minimum}.")
    return int(value)


def _choice(path: Path | None, key: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise _fail(path, key, f"{value!r} is not one of {', '.join(allowed)}.")
    return str(value)


def _names(path: Path | None, key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _fail(path, key, "give a list of names, e.g. [a, b].")
    return tuple(value)


def _unknown(path: Path | None, where: str, keys: Any, known: tuple[str, ...]) -> None:
    unknown = sorted(set(keys) - set(known))
    if unknown:
        raise _fail(path, where, f"unknown key(s) {unknown}; known: {', '.join(known)}.")


def _contrasts(path: Path | None, value: Any, default_margin: float) -> tuple[PlannedContrast, ...]:
    if isinstance(value, list):
        return tuple(PlannedContrast(name) for name in _names(path, "contrasts", value))
    if not isinstance(value, Mapping):
        raise _fail(path, "contrasts", "give a list of contrast names or a mapping name -> {sided, margin}.")
    planned = []
    for name, spec in value.items():
        spec = spec or {}
        if not isinstance(spec, Mapping):
            raise _fail(path, f"contrasts.{name}", "give {sided: ..., margin: ...} (or nothing).")
        _unknown(path, f"contrasts.{name}", spec, CONTRAST_KEYS)
        sided = _choice(path, f"contrasts.{name}.sided", spec.get("sided", "two-sided"), ALTERNATIVES)
        margin = _number(path, f"contrasts.{name}.margin", spec["margin"], 0, 0.5) if "margin" in spec else None
        planned.append(PlannedContrast(str(name), sided, margin))
    return tuple(planned)


def parse_plan(data: Mapping[str, Any], path: Path | None = None, text: str = "") -> AnalysisPlan:
    """Validate a plan given as a dict (what `read_plan` loads)."""
    _unknown(path, "top level", data, TOP_KEYS)
    values: dict[str, Any] = {}
    if "title" in data:
        values["title"] = str(data["title"])
    if "alpha" in data:
        values["alpha"] = _number(path, "alpha", data["alpha"], 0, 1)
    if "margin" in data:
        values["margin"] = _number(path, "margin", data["margin"], 0, 0.5)
    if "power" in data:
        values["power"] = _number(path, "power", data["power"], 0, 1)
    if "interval" in data:
        values["interval"] = _choice(path, "interval", data["interval"], INTERVALS)
    if "family" in data:
        values["family"] = _choice(path, "family", data["family"], FAMILIES)
    for key in ("models", "tasks"):
        if key in data:
            values[key] = _names(path, key, data[key])
    if "contrasts" in data:
        values["contrasts"] = _contrasts(path, data["contrasts"], values.get("margin", 0.05))
    if "bootstrap" in data:
        boot = data["bootstrap"]
        if not isinstance(boot, Mapping):
            raise _fail(path, "bootstrap", "give {method, replicates, seed, min_levels}.")
        _unknown(path, "bootstrap", boot, BOOTSTRAP_KEYS)
        if "method" in boot:
            values["bootstrap"] = _choice(path, "bootstrap.method", boot["method"], BOOTSTRAP_METHODS)
        if "replicates" in boot:
            values["n_boot"] = _integer(path, "bootstrap.replicates", boot["replicates"], 100)
        if "seed" in boot:
            values["seed"] = _integer(path, "bootstrap.seed", boot["seed"], 0)
        if "min_levels" in boot:
            values["min_levels"] = _integer(path, "bootstrap.min_levels", boot["min_levels"], 2)
    if "net_ci" in data:
        values["net_ci"] = _choice(path, "net_ci", data["net_ci"], NET_CI_METHODS)
    if "exclusions" in data:
        flags = _names(path, "exclusions", data["exclusions"]) if data["exclusions"] else ()
        for flag in flags:
            _choice(path, "exclusions", flag, FLAGS)
        values["exclusions"] = flags
    if values.get("family") == "planned" and bool(values.get("models")) != bool(values.get("tasks")):
        raise _fail(path, "models/tasks", "a planned family needs both the planned models and the planned tasks "
                    "(or neither: then every model x task seen in the data is planned).")
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest() if text else ""
    return AnalysisPlan(path=path, text=text, sha256=sha, explicit=frozenset(data), **values)


def read_plan(path: str | Path) -> AnalysisPlan:
    """Read and validate a YAML/JSON analysis plan."""
    path = Path(path)
    try:
        data = read_mapping_file(path, "Analysis plan")
    except FrameError as ex:  # the file itself: missing, not YAML/JSON, not a mapping
        raise PlanError(str(ex)) from None
    return parse_plan(data, path, path.read_text(encoding="utf-8"))


def planned_cells(plan: AnalysisPlan, pairs: pd.DataFrame) -> pd.DataFrame | None:
    """The planned (contrast, model, task) cells: the plan's contrasts (else the data's) x its
    models x its tasks; None when the plan names no models and tasks (then every model x
    task seen in each contrast is planned)."""
    if not plan.models or not plan.tasks:
        return None
    contrasts = plan.contrast_names or sorted(pairs["contrast"].unique())
    index = pd.MultiIndex.from_product([contrasts, plan.models, plan.tasks], names=["contrast", "model", "task"])
    return index.to_frame(index=False)


def plan_settings(plan: AnalysisPlan) -> dict[str, Any]:
    """The report settings (`ReportSettings` fields) the plan fixes."""
    return {
        "exclude_flags": plan.exclusions,
        "margin": plan.margin,
        "alpha": plan.alpha,
        "power": plan.power,
        "n_boot": plan.n_boot,
        "seed": plan.seed,
        "interval": plan.interval,
        "alternatives": tuple((c.name, c.sided) for c in plan.contrasts if c.sided != "two-sided"),
        "contrast_margins": tuple((c.name, c.margin) for c in plan.contrasts if c.margin is not None),
        "family": plan.family,
        "bootstrap": plan.bootstrap,
        "min_levels": plan.min_levels,
        "net_ci": plan.net_ci,
    }
