"""Contrasts: which two arms a paired sample sets against each other.

A contrast is written `<armA>_vs_<armB>`; side `a` is always `armA`, so a win rate is
"how often armA's output beats armB's". The standard contrasts of the design are in
`STANDARD_CONTRASTS`; any other pair of known arms (`ARMS` in `framing_text`) may be
named too. An arm against itself (e.g. `neutral_vs_neutral`) is allowed: it is an
A/A check whose true win rate is 0.5 by construction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from utility_gap.solvers.framing_text import ARMS, UTILITY_ARMS

STANDARD_CONTRASTS: tuple[str, ...] = (
    "exhort_vs_neutral",
    "exhort_mid_vs_neutral",
    "sandbag_vs_neutral",
    "utility_high_vs_utility_low",
    "utility_high_vs_neutral",
    "utility_high_vs_bare",
    "amount_high_vs_amount_low",
    "moral_good_vs_moral_bad",
)
"""The contrasts the design names; `-T contrast=` accepts these and any `armA_vs_armB`."""

EFFORT_DOSE_CONTRASTS: tuple[str, ...] = ("exhort_mid_vs_neutral", "exhort_vs_neutral")
"""Graded exhortation against the same neutral arm, in increasing dose (`EFFORT_LEVELS`)."""

SEPARATOR = "_vs_"


class ContrastError(ValueError):
    """A contrast name that cannot be used; the message names it and lists what can."""


@dataclass(frozen=True)
class Contrast:
    """Two arms judged against each other: side `a` is `arm_a`, side `b` is `arm_b`."""

    arm_a: str
    arm_b: str

    @property
    def name(self) -> str:
        return f"{self.arm_a}{SEPARATOR}{self.arm_b}"

    @property
    def uses_utilities(self) -> bool:
        """Whether either side needs an outcome drawn from the model's utilities file."""
        return self.arm_a in UTILITY_ARMS or self.arm_b in UTILITY_ARMS


def _help() -> str:
    return (
        f"Write a contrast as <armA>{SEPARATOR}<armB>. Known arms: {', '.join(ARMS)}. "
        f"Standard contrasts: {', '.join(STANDARD_CONTRASTS)}."
    )


def parse_contrast(name: str) -> Contrast:
    """`"exhort_vs_neutral"` -> Contrast("exhort", "neutral"), or a ContrastError."""
    text = str(name).strip()
    if text.count(SEPARATOR) != 1:
        raise ContrastError(f"Bad contrast '{text}': it must contain '{SEPARATOR}' exactly once. {_help()}")
    arm_a, arm_b = (part.strip() for part in text.split(SEPARATOR))
    unknown = [arm for arm in (arm_a, arm_b) if arm not in ARMS]
    if unknown:
        raise ContrastError(
            f"Bad contrast '{text}': unknown arm{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(repr(u) for u in unknown)}. {_help()}"
        )
    return Contrast(arm_a, arm_b)


def parse_contrasts(spec: str | Iterable[str]) -> list[Contrast]:
    """A comma list (or a list, as `-T contrast=a,b` arrives) of contrasts, in order.

    Raises ContrastError for an empty list, an unknown contrast or one named twice.
    """
    if isinstance(spec, str):
        names = [part for part in spec.split(",")]
    else:
        names = [str(part) for part in spec]
    names = [n.strip() for n in names if n.strip()]
    if not names:
        raise ContrastError(f"No contrast given (-T contrast=...). {_help()}")
    contrasts: list[Contrast] = []
    for name in names:
        contrast = parse_contrast(name)
        if contrast in contrasts:
            raise ContrastError(f"Contrast '{contrast.name}' is listed twice in -T contrast=; list each once.")
        contrasts.append(contrast)
    return contrasts
