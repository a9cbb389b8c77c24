"""chrF (sacrebleu) of each output of a translation pair against its reference.

chrF is a character n-gram F-score (0-100); the suite reports it beside the judge
panel's verdict so the panel's translation judgements can be checked against an
automatic metric. It needs only the pair's outputs and the sample's `reference`,
so it works when a log is re-scored with `inspect score`.
"""

from __future__ import annotations

from typing import Any

from sacrebleu.metrics import CHRF

_CHRF = CHRF()


def chrf(output: str, reference: str) -> float:
    """Sentence-level chrF of `output` against one `reference` (0-100)."""
    return float(_CHRF.sentence_score(output, [reference]).score)


def pair_chrf(reference: str | None, pair: dict[str, Any]) -> dict[str, float] | None:
    """`{"a": chrF, "b": chrF}` for a pair with a reference; None when there is none."""
    if not reference:
        return None
    return {side: chrf(str(pair[side].get("output") or ""), reference) for side in ("a", "b")}
