"""Bench: Stage 3 judge controls and re-judging a log, on three simulated judges.

Times (1) `utility_gap/judge_controls` on the shipped control texts (80 pairs, 6 judge
calls each) and (2) re-judging that log with a new three-judge panel through
`inspect_ai.score_async` (what `inspect score` runs), which makes no subject calls.

    /root/ug/bin/python bench/stage3_rejudge.py
"""

from __future__ import annotations

import argparse
import tempfile
import time

import anyio

from inspect_ai import eval, score_async
from inspect_ai.model import get_model

from utility_gap.evals.judge_controls import judge_controls
from utility_gap.scorers.judge_panel import judge_panel


def panel(seed: int) -> list:
    return [get_model("simulated/judge", seed=seed + k, memoize=False) for k in range(3)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    with tempfile.TemporaryDirectory() as log_dir:
        start = time.perf_counter()
        (log,) = eval(
            judge_controls(),
            model=get_model("simulated/subject", memoize=False),
            model_roles={"judge": panel(1)},
            log_dir=log_dir,
            display="none",
        )
        controls_s = time.perf_counter() - start
        n = len(log.samples or [])

        async def rejudge():
            return await score_async(log, [judge_panel()], model_roles={"judge": panel(50)}, action="append", display="none")

        start = time.perf_counter()
        anyio.run(rejudge)
        rejudge_s = time.perf_counter() - start
    print(f"judge_controls: {n} pairs in {controls_s:.1f} s ({1000 * controls_s / n:.0f} ms/pair)")
    print(f"re-judge: {n} pairs in {rejudge_s:.1f} s ({1000 * rejudge_s / n:.0f} ms/pair)")


if __name__ == "__main__":
    main()
