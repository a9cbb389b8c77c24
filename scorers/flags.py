"""Exclusion flags for one generated output: empty, truncated, refusal, leak.

Flags never change a verdict; they travel with the pair (`state.metadata["pair"]`,
`Score.metadata["flags"]`) so the analysis can report and exclude flagged pairs.

- **empty**: nothing but whitespace.
- **truncated**: generation stopped on a length limit (`stop_reason` `max_tokens` or
  `model_length`; `length` is accepted too, as some providers spell it).
- **refusal**: the provider's content filter stopped it (`stop_reason`
  `content_filter`), or the output *opens* with a refusal (`REFUSAL_PATTERNS`, matched
  case-insensitively within its first `REFUSAL_WINDOW` characters, curly apostrophes
  read as straight ones). Only the opening counts, so an essay that quotes "I cannot
  help" in its body is not a refusal.
- **leak**: the output mentions the framing: the competition, its judges, the sponsor,
  "this entry", the promised outcome's text, or the outcome's entity. A term counts only
  if the framing contains it and the bare task does not, so an essay *about* a
  competition, or a translation naming a country the task already names, is not a leak.
  In a pair, every side is checked against the framing of *both* prompts
  (`framing_prompts`), so a `bare` side (prompt = task) that talks of the competition its
  partner was framed with is flagged like any other side: judges must not see it either.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

TRUNCATED_STOP_REASONS = frozenset({"max_tokens", "model_length", "length"})
REFUSAL_STOP_REASONS = frozenset({"content_filter"})
REFUSAL_WINDOW = 200

REFUSAL_PATTERNS: tuple[str, ...] = (
    r"\b(i'm|i am) (so |very |really )?sorry,? but\b",
    r"\bsorry,? (but )?i (can't|cannot|won't|will not|am unable to|am not able to)\b",
    r"\bi (can't|cannot|won't|will not) (help|assist|comply|do that|do this|fulfil+|write|provide|complete|create|produce|translate|take part|participate)\b",
    r"\bi('m| am) (unable|not able) to (help|assist|comply|do|fulfil+|write|provide|complete|create|produce|translate)\b",
    r"\bi (must|have to) (respectfully )?decline\b",
    r"\bas an ai( language model)?,? i (can't|cannot|won't|am unable|am not able)\b",
)
"""Openings that mark a refusal (regular expressions, lower-case text)."""

_REFUSAL_RE = [re.compile(p) for p in REFUSAL_PATTERNS]

LEAK_PATTERNS: dict[str, str] = {
    "competition": r"\bcompetitions?\b|\bcontests?\b",
    "judges": r"\bjudges\b|\bjudged\b|\bthe judge\b|\bpanel of judges\b|\bjudging panel\b",
    "sponsor": r"\bsponsor(s|ed|ing|ship)?\b",
    "entry": r"\bthis entry\b|\bmy entry\b|\bour entry\b",
}
"""Framing vocabulary an output should not repeat (regular expressions, lower-case text).

"judging" alone is left out: "judging by the evidence" is ordinary prose.
"""


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u2019", "'").replace("\u2018", "'")).strip().lower()


def is_empty(output: str) -> bool:
    return not output.strip()


def is_truncated(stop_reason: str | None) -> bool:
    return (stop_reason or "") in TRUNCATED_STOP_REASONS


def is_refusal(output: str, stop_reason: str | None = None) -> bool:
    if (stop_reason or "") in REFUSAL_STOP_REASONS:
        return True
    opening = _normalise(output)[:REFUSAL_WINDOW]
    return any(pattern.search(opening) for pattern in _REFUSAL_RE)


def leak_terms(
    output: str,
    *,
    prompt: str,
    task_prompt: str,
    outcome_terms: Iterable[str] = (),
    framing_prompts: Iterable[str] = (),
) -> list[str]:
    """The framing terms the output mentions (see the module docstring for the rule).

    `outcome_terms` are the promised outcome's text and entity (if any); each counts
    when it appears in the output, the framing, and not in the bare task. The framing is
    `prompt` plus `framing_prompts` (the other prompts of the pair).
    """
    text, bare = _normalise(output), _normalise(task_prompt)
    framed = "\n".join(_normalise(p) for p in (prompt, *framing_prompts))
    found: list[str] = []
    for label, pattern in LEAK_PATTERNS.items():
        regex = re.compile(pattern)
        if regex.search(text) and regex.search(framed) and not regex.search(bare):
            found.append(label)
    for term in outcome_terms:
        needle = _normalise(term).rstrip(".")
        if not needle:
            continue
        regex = re.compile(r"(?<!\w)" + re.escape(needle) + r"(?!\w)")
        if regex.search(text) and regex.search(framed) and not regex.search(bare):
            found.append(term)
    return found


def output_flags(
    output: str,
    stop_reason: str | None,
    *,
    prompt: str,
    task_prompt: str,
    outcome_terms: Sequence[str] = (),
    framing_prompts: Sequence[str] = (),
) -> dict[str, bool]:
    """`{"empty", "truncated", "refusal", "leak"}` for one output (the contract's flags)."""
    leaks = leak_terms(output, prompt=prompt, task_prompt=task_prompt, outcome_terms=outcome_terms,
                       framing_prompts=framing_prompts)
    return {
        "empty": is_empty(output),
        "truncated": is_truncated(stop_reason),
        "refusal": is_refusal(output, stop_reason),
        "leak": bool(leaks),
    }
