"""Report settings: what the report excludes and how it tests, and the shared thresholds.

Every field of `ReportSettings` is printed in the report's "What was run" section, so a
reader sees the exclusions, margin, alpha, power target and bootstrap that produced it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from numbers import Integral
from pathlib import Path

from utility_gap.analysis.analysis_plan import AnalysisPlan
from utility_gap.analysis.bootstrap import BOOTSTRAP_METHODS, MIN_LEVELS
from utility_gap.analysis.effect_sizes import NET_CI_METHODS
from utility_gap.analysis.frames import FLAGS
from utility_gap.analysis.frames.duplicates import DUPLICATE_POLICIES
from utility_gap.analysis.text_features import FEATURES
from utility_gap.analysis.frames.cache import FramesCache
from utility_gap.analysis.win_rates import ALTERNATIVES, FAMILIES, INTERVALS
from utility_gap.solvers.contrasts import STANDARD_CONTRASTS

# The order in which contrasts are shown: controls first, then the utility contrasts.
CONTRAST_ORDER: tuple[str, ...] = STANDARD_CONTRASTS
# Side-by-side figure: the positive control beside the utility contrast.
SIDE_BY_SIDE: tuple[str, ...] = ("exhort_vs_neutral", "sandbag_vs_neutral", "utility_high_vs_utility_low")
MIN_DECISIVE = 10  # below this many decisive pairs a cell supports no conclusion


def frames_cache(settings: ReportSettings) -> FramesCache | None:
    """The cache of log rows the settings ask for (`frames_cache`), or None."""
    return FramesCache(settings.frames_cache) if settings.frames_cache is not None else None


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
    ratings: tuple[Path, ...] = ()  # human ratings files (`utility-gap rate`), compared with the panel
    # statistical conventions (#10): every one is an option, the default is the suite's
    interval: str = "clopper-pearson"  # per-cell interval shown and drawn; both are in the CSV
    alternatives: tuple[tuple[str, str], ...] = ()  # (contrast, "greater" | "less"); others two-sided
    family: str = "testable"  # "planned": empty planned cells stay in m and in Holm
    bootstrap: str = "auto"  # aggregate interval: crossed over models x tasks, or cell
    min_levels: int = MIN_LEVELS  # fewer levels on a resampled factor: the interval is withheld
    net_ci: str = "bootstrap"  # per-cell net-score interval: bootstrap (in [-1, 1]) or t
    contrast_margins: tuple[tuple[str, float], ...] = ()  # (contrast, TOST margin) overriding `margin`
    plan: AnalysisPlan | None = None  # the analysis plan read (--plan); the report marks what differs
    text_features: bool = True  # read each output's text: feature deltas, length control, judge length bias
    length_covariates: tuple[str, ...] = ()  # feature differences held at zero beside length in the length control
    duplicates: str = "error"  # a judged pair found in more than one log (#9): stop, or keep one copy
    study_models: tuple[str, ...] = ()  # the study file's models: a model with no logs is named as missing
    frames_cache: Path | None = None  # folder of cached log rows (analysis/frames/cache.py); None reads every log

    def margin_for(self, contrast: str) -> float:
        return dict(self.contrast_margins).get(contrast, self.margin)

    @property
    def alternative(self) -> dict[str, str]:
        """Sidedness per contrast, as `win_rates(alternative=...)` takes it."""
        return dict(self.alternatives)

    def sided(self, contrast: str) -> str:
        return self.alternative.get(contrast, "two-sided")

    def check_contrasts(self, contrasts: Collection[str]) -> None:
        """A one-sided contrast must be in the data or in the plan: a misspelt name would
        otherwise leave the intended contrast two-sided without a word."""
        known = set(contrasts) | set(self.plan.contrast_names if self.plan is not None else ())
        stray = sorted({c for c, _ in self.alternatives} - known)
        if stray and contrasts:
            raise ReportError(
                f"--one-sided names contrast(s) not in the data: {', '.join(stray)}; the data hold "
                f"{', '.join(sorted(set(contrasts)))}. Check the spelling (a contrast the analysis plan lists may be "
                "absent from the data)."
            )

    def __post_init__(self) -> None:
        unknown = [f for f in self.exclude_flags if f not in FLAGS]
        if unknown:
            raise ReportError(f"Unknown exclusion flag(s) {', '.join(unknown)}; choose from {', '.join(FLAGS)}.")
        if not 0 < self.margin < 0.5:
            raise ReportError(f"margin={self.margin}: the equivalence margin must be in (0, 0.5), e.g. 0.05.")
        if not 0 < self.alpha < 1:
            raise ReportError(f"alpha={self.alpha} must be in (0, 1).")
        choices = {"interval": INTERVALS, "family": FAMILIES, "bootstrap": BOOTSTRAP_METHODS, "net_ci": NET_CI_METHODS,
                   "duplicates": DUPLICATE_POLICIES}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ReportError(f"{name}={getattr(self, name)!r}: choose one of {', '.join(allowed)}.")
        for contrast, side in self.alternatives:
            if side not in ALTERNATIVES:
                raise ReportError(f"sidedness {side!r} for {contrast}: choose one of {', '.join(ALTERNATIVES)}.")
        for contrast, margin in self.contrast_margins:
            if not 0 < margin < 0.5:
                raise ReportError(f"margin {margin} for {contrast} must be in (0, 0.5).")
        unknown = [name for name in self.length_covariates if name not in FEATURES]
        if unknown:
            raise ReportError(
                f"Unknown length covariate(s) {', '.join(unknown)}; choose text features from {', '.join(FEATURES)}."
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, Integral) or self.seed < 0:
            raise ReportError(f"seed={self.seed!r}: the bootstrap seed must be a whole number >= 0 (e.g. --seed 0).")
        if self.n_boot < 100:
            raise ReportError(f"{self.n_boot} bootstrap replicates: use at least 100 (2000 is the default).")
        if self.min_levels < 2:
            raise ReportError(f"min_levels={self.min_levels}: a resampled factor needs at least 2 levels.")
