"""Parsing forced-choice and ranking answers, and the scorers that tally them.

A forced-choice answer counts only when it is a bare letter (`A`, `b.`, `**B**`) or
contains exactly one standalone capital `A` or `B` ("I choose B"). Everything else is
kept with a label: `refusal` when it reads as a refusal, `unparseable` otherwise. The
Thurstonian fit decides later what such answers are worth (`skip` or `half`), so the
scorer never coerces them.

`forced_choice_tally` reads the raw draws that `solvers.choice.forced_choice_draws`
stored in `state.metadata["draws"]` and returns, per sample, counts by content (which
*outcome* won: `first` is the pair's `outcome_a`, `second` its `outcome_b`) and by
position (which *letter* was said), so both preference and position bias can be read
off the log.
"""

from __future__ import annotations

import re
from typing import Literal

from inspect_ai.scorer import (
    Metric,
    SampleScore,
    Score,
    Target,
    mean,
    metric,
    scorer,
)
from inspect_ai.solver import TaskState

ChoiceLabel = Literal["A", "B", "refusal", "unparseable"]

CHOICE_LABELS: tuple[str, ...] = ("A", "B", "refusal", "unparseable")

_BARE_RE = re.compile(r"^[\s*_`'\"(\[]*(?:option\s+)?([AaBb])[\s*_`'\")\].:!]*$", re.IGNORECASE)
_STANDALONE_RE = re.compile(r"(?<![A-Za-z0-9'])([AB])(?![A-Za-z0-9'])")
_REFUSAL_RE = re.compile(
    r"\b(i'?m sorry|i am sorry|i can(?:'|no)t|i cannot|i won'?t|i will not|i'?m unable|i am unable|"
    r"i'?m not able|i am not able|i do not have (?:personal )?preferences|i don'?t have (?:personal )?preferences|"
    r"as an ai|i must decline|i decline|i'?d rather not|i would rather not)\b",
    re.IGNORECASE,
)


def parse_choice(text: str) -> ChoiceLabel:
    """Label one forced-choice answer: `A`, `B`, `refusal` or `unparseable`."""
    stripped = text.strip()
    bare = _BARE_RE.match(stripped)
    if bare:
        return "A" if bare.group(1).upper() == "A" else "B"
    letters = _STANDALONE_RE.findall(stripped)
    if len(letters) == 1:
        return "A" if letters[0] == "A" else "B"
    if _REFUSAL_RE.search(stripped):
        return "refusal"
    return "unparseable"


def is_refusal(text: str) -> bool:
    """Whether an answer reads as a refusal (used for ranking answers too)."""
    return _REFUSAL_RE.search(text) is not None


def parse_ranking(text: str, n_options: int) -> list[int] | None:
    """A ranking answer -> option numbers (1-based) best first, or None.

    Accepted only when the numbers in the answer are a permutation of 1..n, so a
    partial or repeated ranking is a parse failure rather than a guess.
    """
    numbers = [int(n) for n in re.findall(r"\b\d+\b", text)]
    if sorted(numbers) != list(range(1, n_options + 1)):
        return None
    return numbers


@metric
def total() -> Metric:
    """The sum over samples (for counts such as refusals)."""

    def compute(scores: list[SampleScore]) -> float:
        return float(sum(s.score.as_float() for s in scores))

    return compute


def tally_draws(raw: list[str], order: str) -> dict[str, int]:
    """Counts for the draws of one presentation order (`ab`: outcome_a shown as A)."""
    labels = [parse_choice(t) for t in raw]
    counts = {label: labels.count(label) for label in CHOICE_LABELS}
    first_letter = "A" if order == "ab" else "B"
    return {
        "said_a": counts["A"],
        "said_b": counts["B"],
        "first": counts[first_letter],
        "second": counts["B" if first_letter == "A" else "A"],
        "refusal": counts["refusal"],
        "unparseable": counts["unparseable"],
    }


@scorer(
    metrics={
        "prefers_first": [mean()],
        "said_a": [mean()],
        "parsed": [total()],
        "refusal": [total()],
        "unparseable": [total()],
        "calls": [total()],
    }
)
def forced_choice_tally():
    """Tally a pair's draws: share for `outcome_a`, share of letter A, failures kept.

    `prefers_first` is the share of parsed answers (sampled draws) or of probability
    (logprob mode) that went to the pair's `outcome_a`, pooled over both orders; it is
    0.5 for a pair with nothing parsed. `said_a` is the share of parsed answers that
    were the letter A (position bias). Counts of refusals and unparseable answers are
    summed over the run by the `total` metric.
    """

    async def score(state: TaskState, target: Target) -> Score:
        draws = state.metadata.get("draws", {})
        orders: dict[str, dict[str, object]] = {}
        first = second = said_a = said_b = refusal = unparseable = 0.0
        for order in ("ab", "ba"):
            record = draws.get(order, {})
            raw = list(record.get("raw", []))
            counts = tally_draws(raw, order)
            p_a = record.get("p_a")
            entry: dict[str, object] = {
                "raw": raw,
                "labels": [parse_choice(t) for t in raw],
                "calls": int(record.get("calls", len(raw))),
                **counts,
            }
            if p_a is not None:
                # logprob mode: one soft vote per order, P(letter A) from the top logprobs
                entry["p_a"] = p_a
                entry["letters"] = record.get("letters", "both")
                p_first = p_a if order == "ab" else 1.0 - p_a
                first += p_first
                second += 1.0 - p_first
                said_a += p_a
                said_b += 1.0 - p_a
            else:
                first += counts["first"]
                second += counts["second"]
                said_a += counts["said_a"]
                said_b += counts["said_b"]
                refusal += counts["refusal"]
                unparseable += counts["unparseable"]
            orders[order] = entry
        parsed = first + second
        value = {
            "prefers_first": first / parsed if parsed else 0.5,
            "said_a": said_a / (said_a + said_b) if parsed else 0.5,
            "parsed": parsed,
            "refusal": refusal,
            "unparseable": unparseable,
            "calls": float(state.metadata.get("calls", 0)),
        }
        winner = "first" if first > second else "second" if second > first else "tie"
        return Score(
            value=value,
            answer=winner,
            explanation=(
                f"outcome_a {first:g} vs outcome_b {second:g}; refusals {refusal:g}, "
                f"unparseable {unparseable:g}"
            ),
            metadata={
                "orders": orders,
                "method": state.metadata.get("method", "sample"),
                "logprob_fallback": list(state.metadata.get("logprob_fallback", [])),
                "logprob_fallback_message": state.metadata.get("logprob_fallback_message"),
            },
        )

    return score


@scorer(metrics={"parsed": [mean()], "refusal": [mean()]})
def ranking_parse():
    """Parse a ranking answer into outcome ids, best first; failures counted, not guessed."""

    async def score(state: TaskState, target: Target) -> Score:
        ids: list[str] = list(state.metadata["outcome_ids"])
        text = state.output.completion if state.output else ""
        order = parse_ranking(text, len(ids))
        refused = order is None and is_refusal(text)
        ranked = [ids[i - 1] for i in order] if order is not None else None
        return Score(
            value={"parsed": 1.0 if order else 0.0, "refusal": 1.0 if refused else 0.0},
            answer=", ".join(str(i) for i in order) if order else ("refusal" if refused else "unparseable"),
            metadata={"ranked_ids": ranked, "raw": text},
        )

    return score
