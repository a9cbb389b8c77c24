"""Report settings: what the report excludes and how it tests, and the shared thresholds.

Every field of `ReportSettings` is printed in the report's "What was run" section, so a
reader sees the exclusions, margin, alpha, power target and bootstrap that produced it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from utility_gap.analysis.frames import FLAGS
from utility_gap.solvers.contrasts import STANDARD_CONTRASTS

# The order in which contrasts are shown: controls first, then the utility contrasts.
CONTRAST_ORDER: tuple[str, ...] = STANDARD_CONTRASTS
# Side-by-side figure: the positive control beside the utility contrast.
SIDE_BY_SIDE: tuple[str, ...] = ("exhort_vs_neutral", "sandbag_vs_neutral", "utility_high_vs_utility_low")
MIN_DECISIVE = 10  # below this many decisive pairs a cell supports no conclusion


class ReportError(ValueError):
    """The report cannot be written; the message says what to change."""


@dataclass(frozen=True)
class ReportSettings:
    """What the report excludes and how it tests; every field is printed in the report."""

    exclude_flags: tuple[str, ...] = FLAGS
    margin: float = 0.05  # smallest win-rate difference from 0.5 that matters (TOST)
    alpha: float = 0.05
    power: float = 0.8
    n_boot: int = 2000
    seed: int = 0
    scorer: str | None = None
    utilities_dir: Path | None = None

    def __post_init__(self) -> None:
        unknown = [f for f in self.exclude_flags if f not in FLAGS]
        if unknown:
            raise ReportError(f"Unknown exclusion flag(s) {', '.join(unknown)}; choose from {', '.join(FLAGS)}.")
        if not 0 < self.margin < 0.5:
            raise ReportError(f"margin={self.margin}: the equivalence margin must be in (0, 0.5), e.g. 0.05.")
        if not 0 < self.alpha < 1:
            raise ReportError(f"alpha={self.alpha} must be in (0, 1).")
