"""Deprecated alias (one release): Stage 1 rounds moved to `utility_gap.pipeline.elicitation_rounds`.

Running rounds calls a model, which `analysis/` never does (docs/architecture.md). The
names resolve lazily, so importing this alias does not pull the pipeline into analysis.
"""

from utility_gap.analysis._moved import forward

__getattr__ = forward(__name__, "utility_gap.pipeline.elicitation_rounds")
