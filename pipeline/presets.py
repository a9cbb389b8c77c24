"""The run presets: what `utility-gap run --preset demo|paper` asks for.

`demo` is small enough for a laptop and the embedded 135M model (a few minutes on 2
cores); `paper` is the published scale: four domains, 30 items x four tasks, the
standard contrasts, three judges, and as many repeats as the power planner says a
win rate of 0.5 +- `effect` needs in every cell at family-wise alpha.

`families` says which studies a run does: `writing` (Stages 1-4 on the writing tasks)
and `entities` (the entity study, `pipeline/entity_study.py`); `--family` overrides it.
The `entity_*` fields size the entity study: in `demo` a sample of it, in `paper` the
published design (every pair of the 37 shipped entities in both orders, two retries,
every reading item for every entity). `entities` is `demo` with only the entity study.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from utility_gap.analysis.power_planner import plan_power
from utility_gap.solvers.contrasts import STANDARD_CONTRASTS

WRITING_TASKS: tuple[str, ...] = ("essay", "grant_abstract", "incident_postmortem", "translation")
FAMILIES: tuple[str, ...] = ("writing", "entities")


@dataclass(frozen=True)
class Preset:
    """Every setting of a run that is not the models."""

    name: str
    domains: tuple[str, ...]
    tasks: tuple[str, ...]
    contrasts: tuple[str, ...]
    items: int  # items per writing task
    repeats: int  # generations per (item, contrast, draw)
    draws: int  # outcome draws per item for utility contrasts
    k: int  # Stage 1 draws per presentation order
    rounds: int  # Stage 1 rounds
    budget: int | None  # Stage 1 training pairs (None: about 2 n log2 n)
    ranking_subsets: int  # direct-ranking prompts per domain (second method)
    ranking_size: int
    controls: int | None  # judge-control samples (None: all)
    max_tokens: int  # per generated output
    choice_max_tokens: int | None  # per forced-choice / ranking answer (None: the model's own)
    judge_max_tokens: int | None  # per judge answer (None: the judge's own limit)
    judges: int  # judges the preset expects (a warning if fewer are given)
    effect: float  # smallest win-rate effect of interest the preset is powered for
    families: tuple[str, ...] = ("writing",)  # which studies to run (FAMILIES)
    entity_set: str = "entities"  # the entity study's outcome set (a domain or a .jsonl path)
    entity_pairs: str = "all"  # donation-advice pairs: `all` unordered pairs or a number (seeded, connected)
    entity_retries: int = 2  # extra advice attempts after a refusal or unparseable reply
    entity_items: int | None = None  # reading items per entity (None: all shipped items)

    def with_overrides(self, **changes: object) -> "Preset":
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


DEMO = Preset(
    name="demo",
    domains=("demo",),
    tasks=WRITING_TASKS,
    contrasts=("exhort_vs_neutral", "utility_high_vs_utility_low"),
    items=1,
    repeats=1,
    draws=1,
    k=1,
    rounds=2,
    budget=50,  # of 66 pairs, leaving 16 held out
    ranking_subsets=3,
    ranking_size=6,
    controls=4,
    max_tokens=160,
    choice_max_tokens=8,
    judge_max_tokens=64,  # a verdict and one sentence; a 135M model otherwise rambles on
    judges=1,
    effect=0.25,
    entity_pairs="40",
    entity_items=3,
)
ENTITIES = replace(DEMO, name="entities", families=("entities",))


def paper_preset(effect: float = 0.1, ties: float = 0.2) -> Preset:
    """The published scale, with repeats from the power planner.

    Cells are (task x domain) for the utility contrasts, the largest family; a cell
    gets `items x draws x repeats` judged pairs.
    """
    items, draws, domains = 30, 2, 4
    plan = plan_power(effect=effect, cells=len(WRITING_TASKS) * domains, ties=ties)
    repeats = max(1, math.ceil(plan.pairs_per_cell / (items * draws)))
    return Preset(
        name="paper",
        domains=("countries", "religions", "animals", "policies"),
        tasks=WRITING_TASKS,
        contrasts=STANDARD_CONTRASTS,
        items=items,
        repeats=repeats,
        draws=draws,
        k=5,
        rounds=4,
        budget=None,
        ranking_subsets=40,
        ranking_size=10,
        controls=None,
        max_tokens=1200,
        choice_max_tokens=None,
        judge_max_tokens=None,
        judges=3,
        effect=effect,
    )


def get_preset(name: str) -> Preset:
    if name == "demo":
        return DEMO
    if name == "paper":
        return paper_preset()
    if name == "entities":
        return ENTITIES
    raise ValueError(f"Unknown preset '{name}'. Use --preset demo, paper or entities.")
