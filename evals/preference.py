"""Stage 1 tasks: forced-choice preference elicitation and direct ranking.

`utility_gap/preference_elicitation` asks one unordered pair of outcomes per sample, in
both orders, K draws per order (or one logprob call per order). The rounds driver
(`pipeline/elicitation_rounds.py`) runs it once per round with a pairs file; run by
hand it takes `pairs=all`, a number (a seeded random connected sample) or a file::

    inspect eval utility_gap/preference_elicitation --model M -T domain=demo -T pairs=all -T k=5
    inspect eval utility_gap/preference_elicitation --model M -T domain=countries -T pairs=400 -T logprobs=true

`utility_gap/preference_ranking` shows random subsets of outcomes and asks for an
order; `analysis/ranking.py` aggregates the answers and correlates them with a fit.
"""

from __future__ import annotations

import math
import random
from typing import Any

from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import GenerateConfig

from utility_gap.analysis.pair_selection import Pair, all_pairs, read_pairs_file, random_connected_pairs
from utility_gap.evals.outcomes import Outcome, load_outcomes
from utility_gap.evals.task_arguments import task_arguments
from utility_gap.scorers.choice_parsing import forced_choice_tally, ranking_parse
from utility_gap.solvers.choice import DEFAULT_TOP_LOGPROBS, forced_choice_draws, ranking_request
from utility_gap.solvers.choice_prompt import forced_choice_prompt, ranking_prompt

# The family's task version (inspect_evals' N-X scheme); listed with the family in preference.eval.yaml.
TASK_VERSION = "1-A"


def resolve_pairs(outcomes: list[Outcome], pairs: str | int, seed: int) -> list[Pair]:
    """`all`, a number (seeded random connected sample) or a pairs file -> pairs."""
    spec = str(pairs).strip()
    if spec == "all":
        return all_pairs([o.id for o in outcomes])
    if spec.isdigit():
        return random_connected_pairs([o.id for o in outcomes], int(spec), seed=seed)
    return read_pairs_file(spec, known_ids={o.id for o in outcomes})


def pair_sample(a: Outcome, b: Outcome, heldout: bool) -> Sample:
    return Sample(
        id=f"{a.id}|{b.id}",
        input=forced_choice_prompt(a.text, b.text),
        metadata={
            "domain": a.domain,
            "outcome_a": a.id,
            "outcome_b": b.id,
            "text_a": a.text,
            "text_b": b.text,
            "heldout": heldout,
        },
    )


def _max_tokens(value: int | None) -> int | None:
    if value is None:
        return None
    if int(value) < 1:
        raise ValueError(f"-T max_tokens={value}: must be at least 1 (or leave it unset).")
    return int(value)


def _check_temperature(value: Any) -> None:
    if not math.isfinite(float(value)) or float(value) < 0:
        raise ValueError(f"-T temperature={value}: must be a number >= 0.")


@task
def preference_elicitation(
    domain: str = "demo",
    pairs: str = "all",
    k: int = 5,
    logprobs: bool = False,
    top_logprobs: int = DEFAULT_TOP_LOGPROBS,
    temperature: float = 1.0,
    seed: int = 0,
    batch: bool = True,
    max_tokens: int | None = None,
) -> Task:
    """Which of two world states does the model prefer? Both orders, K draws each.

    Args:
        domain: A shipped outcome domain or a path to an outcome .jsonl file.
        pairs: `all`, a number of pairs (seeded random connected sample), or a pairs file.
        k: Draws per presentation order (sampling mode), at least 1.
        logprobs: Read P(A) from the top logprobs (one call per order) instead of sampling.
        top_logprobs: How many top logprobs to request in logprob mode (20: with 5, 'B' is
            often missing from a position-biased model's list).
        temperature: Sampling temperature for the draws.
        max_tokens: Answer length limit (None: the model's own). A letter needs one token;
            a small limit keeps slow local models fast, and longer answers are still parsed.
        seed: Seed for `pairs=<number>`.
        batch: Ask for an order's K draws in one call (`num_choices=K`), topping up with
            single calls if the provider returns fewer; false makes K single calls.
    """
    with task_arguments("preference_elicitation"):
        k = int(k)
        if k < 1:
            raise ValueError(f"-T k={k}: the number of draws per order must be at least 1.")
        if int(top_logprobs) < 2:
            raise ValueError(f"-T top_logprobs={top_logprobs}: need at least 2 (for A and B).")
        _check_temperature(temperature)
        outcomes = load_outcomes(domain)
        by_id = {o.id: o for o in outcomes}
        chosen = resolve_pairs(outcomes, pairs, int(seed))
    samples = [pair_sample(by_id[p.a], by_id[p.b], p.heldout) for p in chosen]
    return Task(
        version=TASK_VERSION,
        dataset=MemoryDataset(samples, name=f"preference-{outcomes[0].domain}"),
        solver=forced_choice_draws(k=k, logprobs=bool(logprobs), top_logprobs=int(top_logprobs), batch=bool(batch)),
        scorer=forced_choice_tally(),
        config=GenerateConfig(temperature=float(temperature), max_tokens=_max_tokens(max_tokens)),
        metadata={"domain": outcomes[0].domain, "k": k, "method": "logprob" if logprobs else "sample"},
    )


@task
def preference_ranking(
    domain: str = "demo",
    subsets: int = 20,
    size: int = 8,
    temperature: float = 1.0,
    seed: int = 0,
    max_tokens: int | None = None,
) -> Task:
    """Order a random subset of outcomes, best first (the second elicitation method).

    Args:
        domain: A shipped outcome domain or a path to an outcome .jsonl file.
        subsets: How many random subsets (samples) to ask.
        size: Outcomes per subset (at least 2; capped at the domain's size).
        temperature: Sampling temperature.
        seed: Seed for drawing the subsets.
        max_tokens: Answer length limit (None: the model's own).
    """
    with task_arguments("preference_ranking"):
        subsets, size = int(subsets), int(size)
        if subsets < 1:
            raise ValueError(f"-T subsets={subsets}: ask at least one subset.")
        if size < 2:
            raise ValueError(f"-T size={size}: a ranking needs at least 2 outcomes.")
        _check_temperature(temperature)
        outcomes = load_outcomes(domain)
    size = min(size, len(outcomes))
    rng = random.Random(int(seed))
    samples = []
    for index in range(subsets):
        chosen = rng.sample(outcomes, size)
        samples.append(
            Sample(
                id=f"subset-{index:04d}",
                input=ranking_prompt([o.text for o in chosen]),
                metadata={
                    "domain": chosen[0].domain,
                    "outcome_ids": [o.id for o in chosen],
                    "outcome_texts": [o.text for o in chosen],
                },
            )
        )
    return Task(
        version=TASK_VERSION,
        dataset=MemoryDataset(samples, name=f"ranking-{outcomes[0].domain}"),
        solver=ranking_request(),
        scorer=ranking_parse(),
        config=GenerateConfig(temperature=float(temperature), max_tokens=_max_tokens(max_tokens)),
        metadata={"domain": outcomes[0].domain, "size": size},
    )
