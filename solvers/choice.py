"""The forced-choice solver: ask one pair in both orders, K draws each (or logprobs).

A sample is one unordered pair (`outcome_a`, `outcome_b` in `Sample.metadata`). Order
`ab` shows outcome_a as option A; order `ba` swaps them. Asking both orders lets the
fit separate content from position.

Sampling mode draws K independent answers per order at the task's temperature: one
call with `num_choices=K` when the provider honours it (OpenAI, Google, Together, vLLM,
the simulated provider), topped up with single calls otherwise (`batch=False`: always
K single calls). Logprob
mode makes one call per order with `logprobs=True, top_logprobs=20` and reads P(A)
from the first token's top logprobs (renormalised over the tokens `A` and `B`; which
letters were found is recorded, see `LogprobRead`); when the provider
returns no usable logprobs it falls back to K sampled draws for that order, logs a
warning and records `logprob_fallback` in the sample's metadata.

What is stored in `state.metadata` (read back by the scorer and the choices frame):
`draws = {"ab": {"raw": [str, ...], "p_a": float | None, "p_other": float | None,
"letters": "both" | "A" | "B" (logprob reads only), "calls": int}, "ba": {...}}`, `calls` (model calls made for this sample), `method`
(`sample` | `logprob`), `logprob_fallback` (list of orders that fell back).
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass

from inspect_ai.model import ChatMessageUser, GenerateConfig, ModelOutput, get_model
from inspect_ai.solver import Generate, Solver, TaskState, solver

from utility_gap.solvers.choice_prompt import forced_choice_prompt, ranking_prompt

logger = logging.getLogger(__name__)
_warned_fallback: set[str] = set()

DEFAULT_TOP_LOGPROBS = 20
"""Top logprobs asked for in logprob mode. With 5, 'B' was missing from 74 of 132 reads on
the embedded model (its P(A) became 1.0); 20 is the most OpenAI's API returns."""

LOGPROB_FALLBACK_MESSAGE = (
    "The provider returned no top logprobs for the tokens A/B (order {order} of pair {pair}); "
    "falling back to {k} sampled draws for this order."
)


@dataclass(frozen=True)
class LogprobRead:
    """P(A) read from the first token's top logprobs, and how it was read.

    `letters` is `both` when A and B were both among the top tokens, `A` or `B` when only
    that letter was. A missing letter's probability is unknown but at most the smallest
    listed probability (it would otherwise have been listed); that bound is used for it,
    so a read with one letter gives P(A) close to, but not exactly, 0 or 1.
    """

    p_a: float
    p_other: float
    letters: str


def logprob_choice(output: ModelOutput) -> LogprobRead | None:
    """P(A) renormalised over A/B from the first token's top logprobs; None when unusable.

    Tokens are compared after stripping whitespace and case-folding, so ` A` and `a`
    count as A. None when the provider gave no logprobs or neither letter is in the
    top list.
    """
    if not output.choices or output.choices[0].logprobs is None:
        return None
    content = output.choices[0].logprobs.content
    if not content or not content[0].top_logprobs:
        return None
    mass = {"A": 0.0, "B": 0.0, "other": 0.0}
    found: set[str] = set()
    smallest = 1.0
    for top in content[0].top_logprobs:
        key = top.token.strip().upper()
        prob = math.exp(top.logprob)
        smallest = min(smallest, prob)
        if key in ("A", "B"):
            found.add(key)
        mass[key if key in ("A", "B") else "other"] += prob
    if not found:
        return None
    for letter in ("A", "B"):
        if letter not in found:
            mass[letter] = smallest
    letters = mass["A"] + mass["B"]
    total = letters + mass["other"]
    return LogprobRead(mass["A"] / letters, mass["other"] / total, "both" if len(found) == 2 else found.pop())


@solver
def forced_choice_draws(
    k: int = 5, logprobs: bool = False, top_logprobs: int = DEFAULT_TOP_LOGPROBS, batch: bool = True
) -> Solver:
    """Ask the sample's pair in both orders: K sampled draws each, or one logprob call each.

    With `batch`, the K draws of an order are requested in one call with
    `num_choices=K` (OpenAI's `n`); providers that return fewer choices are topped up
    with single calls, so every provider ends with exactly K draws.
    """
    if k < 1:
        raise ValueError(f"k={k}: the number of draws per order must be at least 1.")

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        model = get_model()
        meta = state.metadata
        texts = {"ab": (meta["text_a"], meta["text_b"]), "ba": (meta["text_b"], meta["text_a"])}
        draws: dict[str, dict[str, object]] = {}
        fallback: list[str] = []
        calls = 0

        async def sample(prompt: str, n: int) -> tuple[list[str], int]:
            """n sampled answers to one prompt, and how many calls they took."""
            answers: list[str] = []
            made = 0
            if batch and n > 1:
                output = await model.generate([ChatMessageUser(content=prompt)], config=GenerateConfig(num_choices=n))
                made += 1
                answers.extend(choice.message.text for choice in output.choices[:n])
            missing = n - len(answers)
            outputs = await asyncio.gather(
                *(model.generate([ChatMessageUser(content=prompt)]) for _ in range(missing))
            )
            answers.extend(o.completion for o in outputs)
            return answers, made + missing

        for order, (option_a, option_b) in texts.items():
            prompt = forced_choice_prompt(option_a, option_b)
            order_calls = 0
            if logprobs:
                output = await model.generate(
                    [ChatMessageUser(content=prompt)],
                    config=GenerateConfig(logprobs=True, top_logprobs=top_logprobs),
                )
                order_calls += 1
                read = logprob_choice(output)
                if read is not None:
                    draws[order] = {"raw": [output.completion], "p_a": read.p_a, "p_other": read.p_other,
                                    "letters": read.letters, "calls": 1}
                    calls += 1
                    continue
                message = LOGPROB_FALLBACK_MESSAGE.format(order=order, pair=state.sample_id, k=k)
                # warn once per model (then debug), so a provider without logprobs does not
                # flood the console; every fallback is still recorded in the sample
                if model.name not in _warned_fallback:
                    _warned_fallback.add(model.name)
                    logger.warning(message + " (Further fallbacks for this model are logged at debug level.)")
                else:
                    logger.debug(message)
                fallback.append(order)
            raw, sample_calls = await sample(prompt, k)
            order_calls += sample_calls
            draws[order] = {"raw": raw, "p_a": None, "p_other": None, "calls": order_calls}
            calls += order_calls
        state.metadata["draws"] = draws
        state.metadata["calls"] = calls
        state.metadata["method"] = "logprob" if logprobs else "sample"
        state.metadata["logprob_fallback"] = fallback
        if fallback:
            state.metadata["logprob_fallback_message"] = LOGPROB_FALLBACK_MESSAGE.format(
                order="/".join(fallback), pair=state.sample_id, k=k
            )
        return state

    return solve


@solver
def ranking_request() -> Solver:
    """Show the sample's outcomes as a numbered list and ask for an order (one call)."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        state.messages = [ChatMessageUser(content=ranking_prompt(list(state.metadata["outcome_texts"])))]
        return await generate(state)

    return solve
