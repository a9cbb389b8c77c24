"""Seeded outcome draws for the utility arms, from the model's own utilities file.

`utility_high` promises an outcome from the top third of the model's fitted utilities,
`utility_low` one from the bottom third (`UtilitiesFile.top_third()` /
`.bottom_third()`). For each (task, item, draw) one high and one low outcome are drawn
with a seed, so every contrast and every repeat of that draw promises the same
outcomes (e.g. `utility_high_vs_utility_low` and `utility_high_vs_neutral` share their
high outcome), and a rerun draws the same ones.
"""

from __future__ import annotations

import hashlib
import logging
import random
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inspect_ai.model import get_model
from inspect_ai.solver import Generate, Solver, TaskState, solver

logger = logging.getLogger(__name__)

ELICIT_HINT = "make one with `utility-gap elicit --model {model} --domain {domain} --out DIR`"


class UtilitiesMismatchError(ValueError):
    """The utilities file is missing or belongs to another model or domain."""


def seeded_random(*parts: Any) -> random.Random:
    """A `random.Random` seeded from the parts, the same in every process."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "little"))


def model_aliases(model: Any) -> set[str]:
    """The names a utilities file may use for a model: `provider/name`, `name`, canonical."""
    if isinstance(model, str):
        return {model, model.split("/", 1)[-1]}
    return {str(model), model.name, model.canonical_name()}


MODEL_PLACEHOLDER = "MODEL"  # in hints written before the model under test is known (while a task is built)


def read_utilities_for_task(path: str | Path, *, domain: str | None = None) -> Any:
    """Read the utilities file a task's utility arms draw from, or raise a clear error.

    Called while a task is built, so it checks what needs no model: the file exists and
    reads, its domain is `domain` (if given), and it has a top and a bottom third. Whose
    utilities they are is checked when the task runs (`check_utilities_model`), where
    the model under test is known.
    """
    from utility_gap.analysis.locations import location
    from utility_gap.analysis.utilities_file import read_utilities

    hint = ELICIT_HINT.format(model=MODEL_PLACEHOLDER, domain=domain or "D")
    if not location(path).is_file():
        raise UtilitiesMismatchError(
            f"Utilities file '{path}' (-T utilities=) not found; {hint} (MODEL: the model under test), "
            "then pass its path."
        )
    utilities = read_utilities(path, domain=domain)
    if not utilities.top_third() or not utilities.bottom_third():
        hint = ELICIT_HINT.format(model=utilities.model, domain=utilities.domain)
        raise UtilitiesMismatchError(f"Utilities file '{path}' has too few outcomes for a top and a bottom third; {hint}.")
    if not getattr(utilities, "informative", True):
        logger.warning(
            "Utilities file %s is marked uninformative (%s); utility-arm results will be hard to read.",
            path,
            "; ".join(getattr(utilities, "uninformative_reasons", []) or []),
        )
    return utilities


def check_model_of(
    file_model: str, domain: str, path: str | Path, *, model: Any, allow_model_mismatch: bool = False
) -> None:
    """Refuse a utilities file (of `file_model`, over `domain`) fitted for another model.

    `model` is the model under test (an Inspect `Model`, or its name); the file's model
    must be one of its names (`model_aliases`) unless `allow_model_mismatch`. The error
    says how to make the right file.
    """
    model_name = str(model)
    if file_model in model_aliases(model):
        return
    hint = ELICIT_HINT.format(model=model_name, domain=domain)
    if not allow_model_mismatch:
        raise UtilitiesMismatchError(
            f"Utilities file '{path}' is for model '{file_model}', but the model under test is "
            f"'{model_name}'. The utility arms must use the tested model's own preferences: {hint}. "
            "(To use another model's utilities on purpose, pass -T allow_model_mismatch=true.)"
        )
    logger.warning("Utilities file %s is for model %s, used for %s (allow_model_mismatch=true).", path, file_model, model_name)


def load_utilities_for(
    path: str | Path,
    *,
    model: Any,
    domain: str | None = None,
    allow_model_mismatch: bool = False,
) -> Any:
    """Read the utilities file and check it against a known model (outside a task)."""
    utilities = read_utilities_for_task(path, domain=domain)
    check_model_of(utilities.model, utilities.domain, path, model=model, allow_model_mismatch=allow_model_mismatch)
    return utilities


@solver
def check_utilities_model(path: str, utilities_model: str, domain: str, allow_model_mismatch: bool = False) -> Solver:
    """Refuse to run on a model whose utilities file this is not, before any model call.

    The first step of a task with utility arms: the model under test is resolved here,
    when the sample runs, not while the task is built (Inspect's convention), and a
    wrong file stops every sample before it calls the model.
    """

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        check_model_of(utilities_model, domain, path, model=get_model(), allow_model_mismatch=allow_model_mismatch)
        return state

    return solve


@dataclass(frozen=True)
class OutcomeDraw:
    """One draw's outcomes: `high` from the top third, `low` from the bottom third.

    Each is `{"id", "text", "utility"}` (utility = the fitted mean), plus `"entity"`
    when the outcome set that the file was fitted on names one.
    """

    high: dict[str, Any]
    low: dict[str, Any]

    def for_arm(self, arm: str) -> dict[str, Any] | None:
        """The outcome an arm promises: high, low, or None for a non-utility arm."""
        if arm == "utility_high":
            return dict(self.high)
        if arm == "utility_low":
            return dict(self.low)
        return None


def _as_outcome(record: dict[str, Any], entities: dict[str, str | None]) -> dict[str, Any]:
    outcome: dict[str, Any] = {"id": record["id"], "text": record["text"], "utility": float(record["mean"])}
    if entities.get(record["id"]):
        outcome["entity"] = entities[record["id"]]
    return outcome


def outcome_entities(domain: str | None) -> dict[str, str | None]:
    """Outcome id -> entity for a shipped domain or an outcome file; empty otherwise.

    Entities only sharpen the leak flag (an output naming the promised entity); a lab's
    own domain named without its file simply gets text-only leak checks.
    """
    if not domain:
        return {}
    from utility_gap.evals.outcomes import is_outcome_path, list_domains, load_outcomes

    if not is_outcome_path(domain) and domain not in list_domains():
        return {}
    return {o.id: o.entity for o in load_outcomes(domain)}


def draw_outcomes(
    utilities: Any,
    *,
    seed: int,
    task: str,
    item_id: str,
    draw: int,
    entities: dict[str, str | None] | None = None,
) -> OutcomeDraw:
    """The seeded (high, low) outcome pair for one (task, item, draw)."""
    top = _sorted(utilities.top_third())
    bottom = _sorted(utilities.bottom_third())
    rng = seeded_random("utility-draw", seed, task, item_id, draw)
    entities = entities or {}
    return OutcomeDraw(high=_as_outcome(rng.choice(top), entities), low=_as_outcome(rng.choice(bottom), entities))


def _sorted(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """A stable order, so the draw does not depend on the file's outcome order."""
    return sorted(records, key=lambda r: str(r["id"]))
