"""Judge controls: does the panel prefer a good text to a damaged copy of itself?

Each sample pairs an intact control text (side `a`) against a seeded damaged copy
(side `b`: truncated, paragraphs shuffled, facts corrupted, typos; see
`solvers/damage.py`). No model writes anything: the pair is built from the data and
only the judges are called, in both presentation orders, exactly as for the writing
tasks. The panel's accuracy (share of pairs the intact text wins, ties counting as
not won) per damage type is the headline metric and is reported beside every
result. Run with

    inspect eval utility_gap/judge_controls --model M --model-role judge=J1,J2,J3

Samples follow the paired-sample contract of docs/architecture.md (`contrast`
`intact_vs_<damage>`, `arm_a` `intact`, `arm_b` the damage type) plus `damage`,
`control_id`, `intact_text` and `damaged_text`. Each Score adds `damage` and
`intact_preferred` (bool, null if every judge was missing) to the panel's metadata.
"""

from __future__ import annotations

import hashlib
from typing import Any

from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.scorer import Metric, SampleScore, Score, Scorer, Target, Value, grouped, metric, scorer
from inspect_ai.solver import Generate, Solver, TaskState, solver

from utility_gap.evals.task_arguments import task_arguments
from utility_gap.evals.task_items import ControlText, load_control_texts
from utility_gap.scorers.flags import output_flags
from utility_gap.scorers.judge_panel import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_TEMPERATURE,
    JUDGE_ROLE,
    a_share,
    judge_panel,
    missing_judge_share,
    order_consistency,
    tie_share,
)
from utility_gap.solvers.damage import DAMAGE_TYPES, DamageError
from utility_gap.solvers.damage import damage as apply_damage

# The family's task version (inspect_evals' N-X scheme); listed with the family in judge_controls.eval.yaml.
TASK_VERSION = "1-A"

CONTROL_CRITERIA: list[str] = ["coherence", "accuracy", "fluency", "completeness"]
"""Rubric criteria for control pairs (the control texts carry none of their own)."""

INTACT_ARM = "intact"


def parse_damage_types(value: str | list[str] | None) -> list[str]:
    """`-T damage=all` (default) or a comma list of `DAMAGE_TYPES`."""
    if value is None or (isinstance(value, str) and value.strip().lower() == "all"):
        return list(DAMAGE_TYPES)
    names = [v.strip() for v in (value.split(",") if isinstance(value, str) else value) if str(v).strip()]
    unknown = [n for n in names if n not in DAMAGE_TYPES]
    if unknown or not names:
        raise ValueError(
            f"-T damage={value}: unknown damage type {', '.join(unknown) or '(none given)'}; "
            f"use all or a comma list of {', '.join(DAMAGE_TYPES)}."
        )
    return list(dict.fromkeys(names))


def control_sample(control: ControlText, kind: str, seed: int) -> Sample:
    """One intact-vs-damaged pair; metadata per the paired-sample contract."""
    try:
        damaged = apply_damage(control.text, kind, seed=seed, facts=control.facts)
    except DamageError as ex:
        raise ValueError(f"Control text '{control.id}': cannot apply damage '{kind}': {ex}") from None
    return Sample(
        id=f"{control.id.replace('/', '-')}__{kind}",
        input=control.prompt,
        metadata={
            "task": control.task,
            "item_id": control.id,
            "task_prompt": control.prompt,
            "axis": control.axis,
            "criteria": CONTROL_CRITERIA,
            "reference": None,
            "contrast": f"{INTACT_ARM}_vs_{kind}",
            "arm_a": INTACT_ARM,
            "arm_b": kind,
            "draw": 0,
            "repeat": 0,
            "domain": None,
            "outcome_a": None,
            "outcome_b": None,
            "utility_diff": None,
            "damage": kind,
            "control_id": control.id,
            "intact_text": control.text,
            "damaged_text": damaged,
        },
    )


def _first_shown(seed: int, sample_id: Any) -> str:
    digest = hashlib.sha256(f"control-first-shown\x1f{seed}\x1f{sample_id}".encode()).digest()
    return "a" if digest[0] % 2 == 0 else "b"


@solver
def control_pair(seed: int = 0) -> Solver:
    """Put the intact (a) and damaged (b) texts in `state.metadata["pair"]`; no model call."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        meta = state.metadata
        pair: dict[str, Any] = {}
        for side, arm, key in (("a", INTACT_ARM, "intact_text"), ("b", meta["damage"], "damaged_text")):
            text = meta[key]
            pair[side] = {
                "arm": arm,
                "prompt": meta["task_prompt"],
                "output": text,
                "stop_reason": "stop",
                "flags": output_flags(text, "stop", prompt=meta["task_prompt"], task_prompt=meta["task_prompt"], outcome_terms=[]),
            }
        pair["first_shown"] = _first_shown(seed, state.sample_id)
        meta["pair"] = pair
        return state

    return solve


@metric(scores="unreduced")
def per_damage(share: str) -> Metric:
    """`a_share` (as `<damage>_accuracy`) or `tie_share` (`<damage>_ties`) per damage type,
    over every epoch (see scorers/panel_metrics.py for why not after epoch reduction)."""
    suffix = {"a_share": "accuracy", "tie_share": "ties"}[share]
    inner = grouped(
        (a_share if share == "a_share" else tie_share)(with_stderr=False),
        "damage",
        name_template=f"{{group_name}}_{suffix}",
        all_label=f"all_{suffix}",
    )

    def compute(scores: list[SampleScore]) -> Value:
        return inner(scores)

    return compute


@scorer(
    metrics=[
        per_damage("a_share"),
        per_damage("tie_share"),
        order_consistency(),
        missing_judge_share(),
    ]
)
def judge_control_panel(
    role: str = JUDGE_ROLE,
    max_retries: int = DEFAULT_MAX_RETRIES,
    temperature: float | None = DEFAULT_TEMPERATURE,
) -> Scorer:
    """`judge_panel` on control pairs, with accuracy per damage type.

    Metrics (per epoch): `<damage>_accuracy` (share of pairs the intact text wins; ties
    count as not won), `<damage>_ties` (share of ties), `order_consistency`,
    `missing_judge_share` (each with `_stderr`).
    """
    panel = judge_panel(role=role, max_retries=max_retries, temperature=temperature)

    async def score(state: TaskState, target: Target) -> Score:
        result = await panel(state, target)
        if result is None or result.metadata is None:
            raise RuntimeError(f"Sample {state.sample_id!r}: the judge panel returned no score.")
        winner = result.metadata["winner"]
        result.metadata["damage"] = state.metadata.get("damage")
        result.metadata["intact_preferred"] = None if winner is None else winner == "a"
        return result

    return score


@task
def judge_controls(
    damage: str | list[str] = "all",
    controls_file: str | None = None,
    seed: int = 0,
    max_retries: int = DEFAULT_MAX_RETRIES,
) -> Task:
    """Panel accuracy on intact-vs-damaged pairs, per damage type.

    Args:
        damage: all (default) or a comma list of truncated, shuffled, corrupted_facts, typos.
        controls_file: a lab's own control texts (.jsonl, schema in evals/task_items.py).
        seed: seeds the damage and the first presentation order.
        max_retries: re-asks of a judge whose answer cannot be parsed.
    """
    with task_arguments("judge_controls"):
        kinds = parse_damage_types(damage)
        controls = load_control_texts(controls_file)
    samples = [control_sample(c, kind, int(seed)) for c in controls for kind in kinds]
    return Task(
        version=TASK_VERSION,
        dataset=MemoryDataset(samples, name="judge_controls"),
        solver=control_pair(seed=int(seed)),
        scorer=judge_control_panel(max_retries=int(max_retries)),
    )
