"""Deprecated alias (one release): the provider power check moved to `utility_gap.pipeline.power_check`.

The check runs the simulated provider and the judge panel, which `analysis/` never does
(docs/architecture.md). The names resolve lazily, on first use.
"""

from utility_gap.analysis._moved import forward

__getattr__ = forward(__name__, "utility_gap.pipeline.power_check")
