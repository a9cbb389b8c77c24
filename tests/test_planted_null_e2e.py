"""A planted null on real Inspect logs: no effect is "found", and TOST confirms the null.

The simulated writer plants no shift between `amount_high` and `amount_low`; three
simulated judges compare the outputs. With as many pairs as the power planner asks for
(equivalence margin 0.15, 95% power), the exact TOST must declare the win rate
equivalent to 0.5 and the exact binomial test must not reject it.
"""

from __future__ import annotations

import math
from pathlib import Path

from inspect_ai import eval as inspect_eval
from inspect_ai.model import get_model

from utility_gap.analysis.equivalence_power import equivalence_table
from utility_gap.analysis.frames import judged_pairs_frame
from utility_gap.analysis.power_planner import plan_power
from utility_gap.analysis.win_rates import win_rates
from utility_gap.evals.writing import essay

MARGIN = 0.15


def test_planted_null_passes_tost_at_the_planned_size(tmp_path: Path) -> None:
    plan = plan_power(effect=MARGIN, cells=1, ties=0.4, power=0.95)
    items = 30
    repeats = math.ceil(plan.pairs_per_cell_equivalence / items)
    writer = get_model("simulated/writer", memoize=False, seed=11, shifts="exhort:0.8")
    judges = [get_model("simulated/judge", memoize=False, seed=100 + i) for i in range(3)]
    (log,) = inspect_eval(
        essay(contrast="amount_high_vs_amount_low", items=items, repeats=repeats, seed=3),
        model=writer,
        model_roles={"judge": judges},
        log_dir=str(tmp_path),
        display="none",
        max_connections=32,
    )
    assert log.status == "success"

    pairs = judged_pairs_frame(tmp_path)
    assert len(pairs) == items * repeats
    table = equivalence_table(win_rates(pairs), margin=MARGIN, alpha=0.05, power=0.95)
    (row,) = table.to_dict("records")
    assert row["n"] >= 0.5 * plan.n_decisive_equivalence, row  # the planner's tie share was not far off
    assert row["p_value"] >= 0.05, row  # nothing "found"
    assert row["equivalent"], row  # and the null is a tested claim
