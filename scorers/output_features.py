"""Text features of both outputs of a pair, measured once, when they are written.

Why a scorer: the report needs every output's features (`analysis/text_features.py`),
and measuring 100k texts in the report would take far longer than the rest of it. This
scorer records them in `Score.metadata` (the record and its version:
`analysis/frames/recorded_features.py`), which Inspect's sample summaries keep, so the
report reads them without reading or measuring any text. A log written without it (or
with other feature definitions) still gets a report: its texts are measured then.
Re-scoring an older log with `inspect score --scorer utility_gap/output_features
--action append LOG` adds the record.

The value is the length difference in words, a minus b (its mean is in the log's
results); there is no explanation, as summaries re-shorten every explanation when a log
is read, which would slow every report. The features are measured in a worker thread,
so a long text does not stall the event loop that the judges' calls share.
"""

from __future__ import annotations

import anyio
from inspect_ai.scorer import Score, Scorer, Target, mean, scorer, stderr
from inspect_ai.solver import TaskState

from utility_gap.analysis.frames.recorded_features import feature_record


@scorer(metrics=[mean(), stderr()])
def output_features() -> Scorer:
    """Both outputs' text features (words, sentences, readability, ...), for the report."""

    async def score(state: TaskState, target: Target) -> Score:
        record = await anyio.to_thread.run_sync(feature_record, dict(state.metadata))
        words = [record[side]["words"] for side in ("a", "b")]
        if None in words:  # a side without output: the record says so; no length difference
            return Score.unscored(explanation="an output is missing", metadata=record)
        return Score(value=words[0] - words[1], metadata=record)

    return score
