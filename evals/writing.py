"""Stage 2: the four writing tasks, each judged as pairs of framing arms.

Each task (`essay`, `grant_abstract`, `incident_postmortem`, `translation`) measures
whether framing a writing item differently (an exhortation, a sponsor's promise of an
outcome the model prefers, ...) changes the quality of what the model under test writes,
as seen by a blind judge panel. One sample is one (item, contrast, outcome draw, repeat):
the solver writes both sides of the contrast with the eval's model; the scorer judges
them. Run with e.g.

    inspect eval utility_gap/essay --model M -T contrast=exhort_vs_neutral,sandbag_vs_neutral
    inspect eval utility_gap/essay --model M -T contrast=utility_high_vs_utility_low \\
        -T utilities=utilities/M-countries.json -T draws=3

Parameters are documented on `writing_task` and in docs/stage2.md.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.scorer import Scorer
from inspect_ai.solver import Solver

from utility_gap.evals.outcomes import outcome_set_domain
from utility_gap.evals.task_arguments import task_arguments
from utility_gap.evals.task_items import TaskItem, load_task_items
from utility_gap.solvers.contrasts import Contrast, parse_contrasts
from utility_gap.solvers.paired_generation import paired_generation
from utility_gap.solvers.utility_draws import (
    ELICIT_HINT,
    MODEL_PLACEHOLDER,
    OutcomeDraw,
    check_utilities_model,
    draw_outcomes,
    outcome_entities,
    read_utilities_for_task,
)

# The family's task version (inspect_evals' N-X scheme); listed with the family in writing.eval.yaml.
# 1-B: the output_features scorer records each output's text features (results unchanged).
TASK_VERSION = "1-B"

logger = logging.getLogger(__name__)

SCORER_CHOICES: tuple[str, ...] = ("pairwise", "rubric", "both")
DEFAULT_CONTRAST = "exhort_vs_neutral"


def _int_param(name: str, value: Any, *, minimum: int) -> int:
    """An integer `-T name=value`, or a ValueError that names the flag."""
    if isinstance(value, bool):
        raise ValueError(f"-T {name}={value}: expected an integer >= {minimum}.")
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ValueError(f"-T {name}={value}: expected an integer >= {minimum}.") from None
    if number < minimum:
        raise ValueError(f"-T {name}={value}: must be >= {minimum}.")
    return number


def _bool_param(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ValueError(f"-T {name}={value}: expected true or false.")


def _items_param(value: Any, available: int, task_name: str) -> int:
    """`-T items=N` (the first N items) or `all` / unset (every item)."""
    if value is None or str(value).strip().lower() == "all":
        return available
    count = _int_param("items", value, minimum=1)
    if count > available:
        raise ValueError(f"-T items={count}: task '{task_name}' has only {available} items; use items={available} or all.")
    return count


def sample_id(item: TaskItem, contrast: Contrast, draw: int, repeat: int) -> str:
    """A readable id: `essay-city-cycling__exhort_vs_neutral__d0__r0`."""
    return f"{item.id.replace('/', '-')}__{contrast.name}__d{draw}__r{repeat}"


def pair_sample(
    item: TaskItem,
    contrast: Contrast,
    draw: int,
    repeat: int,
    outcomes: OutcomeDraw | None,
    domain: str | None,
) -> Sample:
    """One paired sample; its metadata follows the contract in docs/architecture.md."""
    outcome_a = outcomes.for_arm(contrast.arm_a) if outcomes else None
    outcome_b = outcomes.for_arm(contrast.arm_b) if outcomes else None
    utility_diff = outcome_a["utility"] - outcome_b["utility"] if outcome_a and outcome_b else None
    metadata: dict[str, Any] = {
        **item.sample_metadata(),
        "length_target": {"min_words": item.length_target.min_words, "max_words": item.length_target.max_words},
        "source_language": item.source_language,
        "contrast": contrast.name,
        "arm_a": contrast.arm_a,
        "arm_b": contrast.arm_b,
        "draw": draw,
        "repeat": repeat,
        "domain": domain if contrast.uses_utilities else None,
        "outcome_a": outcome_a,
        "outcome_b": outcome_b,
        "utility_diff": utility_diff,
    }
    return Sample(id=sample_id(item, contrast, draw, repeat), input=item.prompt, metadata=metadata)


def judge_scorers(kind: str) -> list[Scorer]:
    """The judge panel scorer(s) for `-T scorer=pairwise|rubric|both`."""
    if kind not in SCORER_CHOICES:
        raise ValueError(f"-T scorer={kind}: use one of {', '.join(SCORER_CHOICES)}.")
    from utility_gap.scorers.judge_panel import judge_panel, judge_rubric

    if kind == "pairwise":
        return [judge_panel()]
    if kind == "rubric":
        return [judge_rubric()]
    return [judge_panel(), judge_rubric()]


def _output_features() -> Scorer:
    """The scorer that records each output's text features for the report (imported late, as the panel is)."""
    from utility_gap.scorers.output_features import output_features

    return output_features()


def writing_task(
    task_name: str,
    *,
    contrast: str | list[str] = DEFAULT_CONTRAST,
    utilities: str | None = None,
    domain: str | None = None,
    draws: int = 1,
    repeats: int = 1,
    items: int | str | None = None,
    seed: int = 0,
    scorer: str = "pairwise",
    max_tokens: int | None = None,
    allow_model_mismatch: bool = False,
    items_file: str | None = None,
) -> Task:
    """The shared builder of the four writing tasks.

    Args:
        task_name: essay, grant_abstract, incident_postmortem or translation.
        contrast: one contrast or a comma list (`armA_vs_armB`; see solvers/contrasts.py).
        utilities: the model's utilities file; required iff a utility arm is used.
        domain: if set, the utilities file must be for this outcome domain: a shipped
            domain name or the path of the lab's own outcome file (its domain is the
            file name without .jsonl, and its entities sharpen the leak flag).
        draws: outcome draws per item for contrasts with a utility arm (others use one).
        repeats: independent generations per (item, contrast, draw).
        items: the first N items, or all (default).
        seed: seeds the outcome draws and the judges' presentation order.
        scorer: pairwise (default), rubric or both.
        max_tokens: generation limit for each side (default: the model's).
        allow_model_mismatch: accept a utilities file fitted for another model.
        items_file: a lab's own items file (.jsonl, same schema) instead of the shipped one.
    """
    with task_arguments(task_name):
        contrasts = parse_contrasts(contrast)
        n_draws = _int_param("draws", draws, minimum=1)
        n_repeats = _int_param("repeats", repeats, minimum=1)
        seed_value = _int_param("seed", seed, minimum=0)
        max_tokens_value = None if max_tokens is None else _int_param("max_tokens", max_tokens, minimum=1)
        mismatch_ok = _bool_param("allow_model_mismatch", allow_model_mismatch)
        scorers = judge_scorers(str(scorer).strip())

        task_items = load_task_items(items_file or task_name)
        task_items = task_items[: _items_param(items, len(task_items), task_name)]

        needs_utilities = any(c.uses_utilities for c in contrasts)
        utilities_file = None
        entities: dict[str, str | None] = {}
        if needs_utilities:
            if not utilities:
                used = ", ".join(c.name for c in contrasts if c.uses_utilities)
                raise ValueError(
                    f"Contrast {used} uses a utility arm, which needs the model's utilities file: pass "
                    f"-T utilities=PATH ({ELICIT_HINT.format(model=MODEL_PLACEHOLDER, domain=domain or 'D')}; "
                    "MODEL: the model under test)."
                )
            utilities_file = read_utilities_for_task(utilities, domain=outcome_set_domain(domain) if domain else None)
            entities = outcome_entities(domain or utilities_file.domain)
        elif utilities:
            logger.warning("-T utilities=%s is ignored: no contrast uses a utility arm.", utilities)

    samples: list[Sample] = []
    for item in task_items:
        for pair in contrasts:
            for draw in range(n_draws if pair.uses_utilities else 1):
                outcomes = (
                    draw_outcomes(
                        utilities_file, seed=seed_value, task=item.task, item_id=item.id, draw=draw, entities=entities
                    )
                    if pair.uses_utilities
                    else None
                )
                for repeat in range(n_repeats):
                    samples.append(
                        pair_sample(item, pair, draw, repeat, outcomes, utilities_file.domain if utilities_file else None)
                    )

    return Task(
        version=TASK_VERSION,
        dataset=MemoryDataset(samples, name=task_name),
        setup=_utilities_check(utilities, utilities_file, mismatch_ok),
        solver=paired_generation(max_tokens=max_tokens_value, seed=seed_value),
        scorer=[*scorers, _output_features()],
        metadata={
            "stage": 2,
            "writing_task": task_name,
            "contrasts": [c.name for c in contrasts],
            "utilities": str(Path(utilities)) if utilities_file is not None and utilities else None,
            "utilities_model": utilities_file.model if utilities_file is not None else None,
            "domain": utilities_file.domain if utilities_file is not None else None,
            "draws": n_draws,
            "repeats": n_repeats,
            "seed": seed_value,
            "scorer": scorer,
            "items_file": items_file,
        },
    )


def _utilities_check(path: str | None, utilities_file: Any, allow_model_mismatch: bool) -> Solver | None:
    """For utility arms, a setup step that refuses another model's utilities file before any model call.

    A setup step, so it runs even when a user replaces the task's solver.
    """
    if utilities_file is None:
        return None
    return check_utilities_model(str(path), utilities_file.model, utilities_file.domain, allow_model_mismatch)


@task
def essay(
    contrast: str | list[str] = DEFAULT_CONTRAST,
    utilities: str | None = None,
    domain: str | None = None,
    draws: int = 1,
    repeats: int = 1,
    items: int | str | None = None,
    seed: int = 0,
    scorer: str = "pairwise",
    max_tokens: int | None = None,
    allow_model_mismatch: bool = False,
    items_file: str | None = None,
) -> Task:
    """Argumentative essays: does the framing change how convincing and well built they are?"""
    return writing_task("essay", **locals())


@task
def grant_abstract(
    contrast: str | list[str] = DEFAULT_CONTRAST,
    utilities: str | None = None,
    domain: str | None = None,
    draws: int = 1,
    repeats: int = 1,
    items: int | str | None = None,
    seed: int = 0,
    scorer: str = "pairwise",
    max_tokens: int | None = None,
    allow_model_mismatch: bool = False,
    items_file: str | None = None,
) -> Task:
    """Research grant abstracts: does the framing change how clear and fundable they read?"""
    return writing_task("grant_abstract", **locals())


@task
def incident_postmortem(
    contrast: str | list[str] = DEFAULT_CONTRAST,
    utilities: str | None = None,
    domain: str | None = None,
    draws: int = 1,
    repeats: int = 1,
    items: int | str | None = None,
    seed: int = 0,
    scorer: str = "pairwise",
    max_tokens: int | None = None,
    allow_model_mismatch: bool = False,
    items_file: str | None = None,
) -> Task:
    """Blameless incident postmortems: does the framing change their accuracy and usefulness?"""
    return writing_task("incident_postmortem", **locals())


@task
def translation(
    contrast: str | list[str] = DEFAULT_CONTRAST,
    utilities: str | None = None,
    domain: str | None = None,
    draws: int = 1,
    repeats: int = 1,
    items: int | str | None = None,
    seed: int = 0,
    scorer: str = "pairwise",
    max_tokens: int | None = None,
    allow_model_mismatch: bool = False,
    items_file: str | None = None,
) -> Task:
    """Translation into English: does the framing change fidelity and fluency?"""
    return writing_task("translation", **locals())

