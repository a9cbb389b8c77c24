"""Bench: Stage 4 statistics on a paper-sized judged-pairs frame (no logs, no models).

Builds a numpy-simulated frame of `--pairs` judged pairs over 7 models x 4 tasks x 7
contrasts (196 cells) and times each statistics call the report makes on it.

    /root/ug/bin/python bench/stats_tables.py --pairs 50000
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from utility_gap.analysis.dose_response import dose_response
from utility_gap.analysis.effect_sizes import add_cohens_h, net_scores
from utility_gap.analysis.equivalence_power import equivalence_table
from utility_gap.analysis.power_planner import plan_power
from utility_gap.analysis.win_rates import aggregate_win_rates, exclude_flagged, win_rates

CONTRASTS = ("exhort_vs_neutral", "sandbag_vs_neutral", "utility_high_vs_utility_low", "utility_high_vs_neutral",
             "utility_high_vs_bare", "amount_high_vs_amount_low", "moral_good_vs_moral_bad")


def synthetic_pairs(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    contrast = rng.choice(CONTRASTS, n)
    rate = np.where(contrast == "exhort_vs_neutral", 0.76, np.where(contrast == "sandbag_vs_neutral", 0.2, 0.5))
    u = rng.random(n)
    winner = np.where(u < 0.1, "tie", np.where(u < 0.1 + 0.9 * rate, "a", "b"))
    diff = np.where(np.char.startswith(contrast.astype(str), "utility_high_vs_utility"), rng.uniform(0.5, 3, n), np.nan)
    return pd.DataFrame({
        "model": rng.choice([f"m{i}" for i in range(7)], n), "task": rng.choice(["essay", "grant_abstract",
        "incident_postmortem", "translation"], n), "domain": rng.choice(["countries", "animals"], n),
        "item_id": rng.integers(0, 30, n), "contrast": contrast, "winner": winner, "utility_diff": diff,
        **{f"flag_{f}": rng.random(n) < 0.01 for f in ("empty", "truncated", "refusal", "leak")},
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=50_000)
    args = parser.parse_args()
    pairs = synthetic_pairs(args.pairs)
    timings: dict[str, float] = {}

    def timed(name, fn):
        start = time.perf_counter()
        out = fn()
        timings[name] = time.perf_counter() - start
        return out

    kept = timed("exclude_flagged", lambda: exclude_flagged(pairs)).kept
    table = timed("win_rates", lambda: win_rates(kept))
    timed("cohens_h", lambda: add_cohens_h(table))
    timed("net_scores", lambda: net_scores(kept))
    timed("aggregate_win_rates (2000 boot)", lambda: aggregate_win_rates(kept, n_boot=2000))
    timed("equivalence_table", lambda: equivalence_table(table, margin=0.05))
    timed("dose_response", lambda: dose_response(kept, contrasts=["utility_high_vs_utility_low"]))
    timed("plan_power(0.05, 28, ties=0.1)", lambda: plan_power(0.05, 28, ties=0.1))
    for name, seconds in timings.items():
        print(f"{name:36s} {seconds:7.2f} s")
    print(f"total {sum(timings.values()):.2f} s for {len(kept)} pairs in {len(table)} cells")


if __name__ == "__main__":
    main()
