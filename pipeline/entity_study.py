"""The entity study inside `utility-gap run --family entities` (DESIGN.md section 6).

One resumable run does the whole study in the run's folder:

- Stage 1 over the entity set (`Preset.entity_set`, default the shipped domain
  `entities`): forced-choice rounds and the Thurstonian fit (a utilities file, like any
  domain), and the direct ranking (the second method); the report shows their Spearman;
- `entity_donation_advice` over `entity_pairs` pairs in both orders, refusals retried
  `entity_retries` times and every attempt counted;
- `entity_reading_task` with `entity_items` items per entity;
- in the report (`analysis/report/entity_sections.py`): Spearman between each preference
  and advice share, refusal rate and accuracy, Holm-corrected, with figures.

The tasks join the run's one eval set (`DIR/logs/tasks`), so an interrupted run resumes
them like the writing tasks. `run.py` calls only the functions below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from inspect_ai import Task

from utility_gap.evals.entity_behaviour import (
    entity_donation_advice,
    entity_reading_task,
    load_entities,
)
from utility_gap.evals.reading_items import load_reading_items
from utility_gap.pipeline.presets import FAMILIES

if TYPE_CHECKING:
    from utility_gap.pipeline.run import RunConfig


class EntityStudyError(ValueError):
    """Entity-study settings that cannot run; raised before any model call."""


def writes(config: "RunConfig") -> bool:
    """Does the run do the writing study (Stages 2-3 on the writing tasks, judge controls)?"""
    return "writing" in config.preset.families


def studies_entities(config: "RunConfig") -> bool:
    return "entities" in config.preset.families


def stage1_domains(config: "RunConfig") -> list[str]:
    """Every outcome set Stage 1 elicits: the writing domains, then the entity set."""
    p = config.preset
    domains = list(p.domains) if writes(config) else []
    if studies_entities(config) and p.entity_set not in domains:
        domains.append(p.entity_set)
    return domains


def study_settings(config: "RunConfig") -> dict[str, object]:
    """What the study file records about the families (nothing for the writing study alone, as before).

    Every entity setting changes what is generated, so a rerun that changes one is refused
    like any other changed setting (`study_file.py`).
    """
    p = config.preset
    if tuple(p.families) == ("writing",):
        return {}
    settings: dict[str, object] = {"families": sorted(p.families)}
    if studies_entities(config):
        settings.update(entity_set=p.entity_set, entity_pairs=str(p.entity_pairs), entity_retries=p.entity_retries,
                        entity_items=p.entity_items)
    return settings


def _advice_pairs(n_entities: int, spec: str) -> int:
    every = n_entities * (n_entities - 1) // 2
    return every if spec == "all" else min(int(spec), every)


def validate_families(config: "RunConfig") -> None:
    """The families, and the entity settings when the entity study runs."""
    p = config.preset
    unknown = [f for f in p.families if f not in FAMILIES]
    if unknown or not p.families:
        raise EntityStudyError(f"--family {','.join(p.families)}: choose one or more of {', '.join(FAMILIES)}.")
    if not studies_entities(config):
        return
    try:
        names = load_entities(p.entity_set)
    except ValueError as ex:
        raise EntityStudyError(f"--entities {p.entity_set}: {ex}") from None
    spec = str(p.entity_pairs).strip()
    if spec != "all" and not (spec.isdigit() and int(spec) >= len(names) - 1):
        raise EntityStudyError(
            f"--entity-pairs {p.entity_pairs}: use `all` or a number of pairs of at least {len(names) - 1} (the "
            f"{len(names)} entities must be connected)."
        )
    if p.entity_retries < 0:
        raise EntityStudyError(f"--entity-retries {p.entity_retries}: use 0 (ask once) or more.")
    if p.entity_items is not None and p.entity_items < 1:
        raise EntityStudyError(f"--entity-items {p.entity_items}: use 1 or more.")


def entity_tasks(config: "RunConfig") -> list[Task]:
    """The advice and reading tasks (the entity set's ranking is built with the other Stage 1 rankings)."""
    if not studies_entities(config):
        return []
    p = config.preset
    return [
        entity_donation_advice(entities=p.entity_set, pairs=p.entity_pairs, retries=p.entity_retries,
                               seed=config.seed, max_tokens=p.max_tokens),
        entity_reading_task(entities=p.entity_set, n_items=p.entity_items, seed=config.seed, max_tokens=p.max_tokens),
    ]


def plan_entities(config: "RunConfig", samples: dict[str, int], calls: dict[str, int], lines: list[str]) -> int:
    """Add the advice and reading evals to a plan (Stage 1 over the entity set is planned as a domain); the evals added."""
    if not studies_entities(config):
        return 0
    p = config.preset
    n = len(load_entities(p.entity_set))
    advice = 2 * _advice_pairs(n, str(p.entity_pairs).strip())
    items = len(load_reading_items("sample"))
    reading = n * (min(p.entity_items, items) if p.entity_items else items)
    samples["entity advice"], samples["entity reading"] = advice, reading
    calls[config.subject] = calls.get(config.subject, 0) + advice + reading
    lines.append(
        f"Entities {p.entity_set}: {n} entities; advice {advice} samples (both orders, up to {p.entity_retries} "
        f"retries each); reading {reading} samples"
    )
    return 2
