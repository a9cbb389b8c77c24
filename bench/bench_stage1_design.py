"""Bench: Stage 1 query efficiency -- pair-selection designs and draws per pair, at equal queries.

A planted chooser (tests/planted_choices.py: the simulated chooser's model, drawn
directly, no Inspect) over `--outcomes` outcomes (standard normal utilities, unit
variances). Budgets are in *queries* (answers drawn): `m x n log2 n` pairs of the
reference design (10 draws per order, both orders = 20 queries a pair) for each m in
`--multiples`. Every design spends the same queries; a design with K draws per order asks
20 / (2K) times as many pairs. Each design's fit is scored against the planted order:
the share of all outcome pairs ordered as planted ("accuracy against truth"), Spearman,
and on a fixed held-out set (asked with the design's own draws): pair-level accuracy,
held-out log-loss and calibration error.

Designs:
- `reference`: the utility-engineering reference -- a degree-balanced random-regular
  start of 0.5 n log2 n pairs, then 500-pair rounds drawn at random among unasked pairs in
  the closest 10% of fitted gaps and the lowest 20% of degree sums; K = 10.
- `suite-kK`: the suite's rounds (`pipeline/elicitation_rounds.py` logic, called directly):
  a start of `start_share` of the budget, then `rounds - 1` active rounds
  (`analysis/pair_selection.active_pairs`); the start is `random` (a cycle plus random
  pairs, the old default) or `regular` (`regular_pairs`, degree-balanced).
- `logprob`: the suite's default design reading one soft P(A) per order (2 queries a pair)
  at one fifth of the queries.

    .venv/bin/python bench/bench_stage1_design.py --outcomes 510 --seeds 3
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the planted-chooser fixture

from planted_choices import PlantedChooser  # noqa: E402
from utility_gap.analysis.pair_selection import (  # noqa: E402
    Pair,
    active_pairs,
    close_low_degree_pairs,
    heldout_pairs,
    random_connected_pairs,
    regular_pairs,
)
from utility_gap.analysis.thurstonian import fit_thurstonian  # noqa: E402

HELDOUT = 1000
REFERENCE_K = 10
REFERENCE_ROUND = 500


@dataclass
class Run:
    chooser: PlantedChooser
    held: list[Pair]
    seed: int

    @property
    def ids(self) -> list[str]:
        return self.chooser.ids

    def ask(self, pairs: list[Pair], k: int, rng: np.random.Generator, logprob: bool = False) -> pd.DataFrame:
        index = {o: n for n, o in enumerate(self.ids)}
        i = np.array([index[p.a] for p in pairs], int)
        j = np.array([index[p.b] for p in pairs], int)
        return self.chooser.choices(i, j, k, rng, np.array([p.heldout for p in pairs]), logprob=logprob)

    def score(self, design: str, k: int, multiple: float, frame: pd.DataFrame, queries: int, seconds: float,
              rounds: int) -> dict[str, object]:
        fit = fit_thurstonian(frame, outcome_ids=self.ids, standard_errors=False)
        m = fit.metrics
        return {
            "design": design, "k": k, "multiple": multiple, "seed": self.seed, "queries": queries,
            "pairs": m["n_pairs"], "rounds": rounds,
            "accuracy_vs_truth": self.chooser.pair_order_accuracy(fit.means),
            "spearman": float(spearmanr(fit.means, self.chooser.utilities).statistic),
            "heldout_pair_accuracy": m["heldout_pair_accuracy"], "heldout_log_loss": m["heldout_log_loss"],
            "heldout_calibration_error": m["heldout_calibration_error"], "seconds": seconds,
        }


def reference_round(run: Run, frame: pd.DataFrame, asked: set[tuple[str, str]], count: int,
                    rng: np.random.Generator, fit) -> list[Pair]:
    """500 unasked pairs drawn at random among the closest 10% of gaps and lowest 20% of degree sums."""
    ids = run.ids
    n = len(ids)
    index = {o: k for k, o in enumerate(ids)}
    mask = np.zeros((n, n), bool)
    for a, b in asked:
        mask[index[a], index[b]] = mask[index[b], index[a]] = True
    degree = mask.sum(axis=1)
    rows, cols = np.triu_indices(n, k=1)
    keep = ~mask[rows, cols]
    rows, cols = rows[keep], cols[keep]
    gap = np.abs(fit.means[rows] - fit.means[cols])
    degree_sum = degree[rows] + degree[cols]
    close = gap <= np.quantile(gap, 0.10)
    low = degree_sum <= np.quantile(degree_sum, 0.20)
    candidates = np.flatnonzero(close & low)
    if candidates.size < count:  # too few in both: fill from the closest gaps
        extra = np.setdiff1d(np.flatnonzero(close), candidates)
        candidates = np.concatenate([candidates, rng.permutation(extra)[: count - candidates.size]])
    picked = rng.choice(candidates, size=min(count, candidates.size), replace=False)
    return [Pair.of(ids[rows[e]], ids[cols[e]]) for e in picked]


def reference_design(run: Run, multiples: list[float], nlogn: float) -> list[dict[str, object]]:
    """One growing run; scored when it reaches each budget."""
    rng = np.random.default_rng([run.seed, 1])
    start = regular_pairs(run.ids, round(0.5 * nlogn), run.seed, exclude=[p.key for p in run.held])
    frame = pd.concat([run.ask(run.held, REFERENCE_K, rng), run.ask(start, REFERENCE_K, rng)], ignore_index=True)
    asked = {p.key for p in run.held} | {p.key for p in start}
    rows, rounds, began, fit = [], 1, time.perf_counter(), None
    for multiple in sorted(multiples):
        budget = round(multiple * nlogn)
        while len(asked) - len(run.held) < budget:
            fit = fit_thurstonian(frame, outcome_ids=run.ids, standard_errors=False, warm_start=fit)
            new = reference_round(run, frame, asked, min(REFERENCE_ROUND, budget - (len(asked) - len(run.held))), rng,
                                  fit)
            frame = pd.concat([frame, run.ask(new, REFERENCE_K, rng)], ignore_index=True)
            asked |= {p.key for p in new}
            rounds += 1
        queries = 2 * REFERENCE_K * (len(asked) - len(run.held))
        rows.append(run.score("reference", REFERENCE_K, multiple, frame, queries, time.perf_counter() - began, rounds))
    return rows


def suite_design(run: Run, multiple: float, nlogn: float, k: int, start: str, rounds: int, start_share: float,
                 logprob: bool = False, share_of_queries: float = 1.0, selection: str = "filter") -> dict[str, object]:
    """The suite's rounds at the same queries as `multiple` reference pairs (or a share of them)."""
    per_pair = 2 if logprob else 2 * k
    budget = min(round(multiple * nlogn * 2 * REFERENCE_K * share_of_queries / per_pair),
                 len(run.ids) * (len(run.ids) - 1) // 2 - len(run.held))
    rng = np.random.default_rng([run.seed, 2, k])
    began = time.perf_counter()
    n = len(run.ids)
    first = min(budget, max(n, math.ceil(start_share * budget)))
    exclude = [p.key for p in run.held]
    chooser = regular_pairs if start == "regular" else random_connected_pairs
    pairs = chooser(run.ids, first, run.seed, exclude=exclude)
    frame = pd.concat([run.ask(run.held, k, rng, logprob), run.ask(pairs, k, rng, logprob)], ignore_index=True)
    asked = {p.key for p in run.held} | {p.key for p in pairs}
    later = rounds - 1
    rest = budget - len(pairs)
    fit = None
    for r in range(later):
        size = rest // later + (1 if r < rest % later else 0)
        if size <= 0:
            continue
        fit = fit_thurstonian(frame, outcome_ids=run.ids, standard_errors=False, warm_start=fit)
        select = close_low_degree_pairs if selection == "filter" else active_pairs
        new = select(run.ids, fit.mean_of(), fit.variance_of(), asked, size, seed=run.seed + r + 1)
        frame = pd.concat([frame, run.ask(new, k, rng, logprob)], ignore_index=True)
        asked |= {p.key for p in new}
    name = "logprob" if logprob else f"suite-{start}-{selection}-r{rounds}-k{k}"
    queries = per_pair * (len(asked) - len(run.held))
    return run.score(name, 1 if logprob else k, multiple, frame, queries, time.perf_counter() - began, rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outcomes", type=int, default=510)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--multiples", type=float, nargs="+", default=[0.5, 1, 2, 3, 4])
    parser.add_argument("--ks", type=int, nargs="+", default=[1, 2, 5, 10], help="draws per order to compare")
    parser.add_argument("--designs", nargs="+", default=["reference", "suite", "logprob"])
    parser.add_argument("--start", nargs="+", default=["random", "regular"])
    parser.add_argument("--rounds", type=int, nargs="+", default=[4])
    parser.add_argument("--selection", nargs="+", default=["filter"], help="filter (close_low_degree_pairs) or score")
    parser.add_argument("--start-share", type=float, default=0.4)
    parser.add_argument("--logprob-k", type=int, default=None, help="text-mode K whose budget logprob mode matches")
    parser.add_argument("--seed-list", type=int, nargs="+", default=None, help="run these seeds (overrides --seeds)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/stage1_design.csv"))
    parser.add_argument("--summarise", type=Path, nargs="+", default=None,
                        help="only print the summary of earlier result CSVs (several runs split by design)")
    args = parser.parse_args()
    if args.summarise:
        table = pd.concat([pd.read_csv(p) for p in args.summarise], ignore_index=True)
        print_summary(table, args.outcomes)
        return
    n = args.outcomes
    nlogn = n * math.log2(n)
    rows: list[dict[str, object]] = []
    for seed in args.seed_list if args.seed_list is not None else range(args.seeds):
        chooser = PlantedChooser.draw(n, seed)
        run = Run(chooser, heldout_pairs(chooser.ids, HELDOUT, seed), seed)
        if "reference" in args.designs:
            rows.extend(reference_design(run, args.multiples, nlogn))
            print(pd.DataFrame(rows).tail(len(args.multiples)).to_string(index=False), flush=True)
        for multiple in args.multiples:
            if "suite" in args.designs:
                for start in args.start:
                    for selection in args.selection:
                        for rounds in args.rounds:
                            for k in args.ks:
                                rows.append(suite_design(run, multiple, nlogn, k, start, rounds, args.start_share,
                                                         selection=selection))
                                print(pd.DataFrame(rows[-1:]).to_string(index=False, header=False), flush=True)
            if "logprob" in args.designs:
                rows.append(suite_design(run, multiple, nlogn, 1, args.start[0], args.rounds[0], args.start_share,
                                         logprob=True, share_of_queries=0.2, selection=args.selection[0]))
                print(pd.DataFrame(rows[-1:]).to_string(index=False, header=False), flush=True)
    table = pd.DataFrame(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False)
    print_summary(table, n)


def print_summary(table: pd.DataFrame, n: int) -> None:
    """Mean over seeds per (design, budget), as a Markdown table."""
    columns = ["queries", "pairs", "accuracy_vs_truth", "spearman", "heldout_pair_accuracy", "heldout_log_loss",
               "heldout_calibration_error", "seconds"]
    summary = table.groupby(["design", "multiple"], as_index=False).agg(
        seeds=("seed", "nunique"), **{c: (c, "mean") for c in columns})
    summary = summary.sort_values(["multiple", "design"])
    print(f"\n{n} outcomes; mean over seeds; load average {os.getloadavg()[0]:.1f}\n")
    print("| " + " | ".join(summary.columns) + " |")
    print("|" + "---|" * len(summary.columns))
    for _, row in summary.iterrows():
        cells = [f"{v:.4f}" if isinstance(v, float) and not float(v).is_integer() else f"{v:g}"
                 if isinstance(v, float) else str(v) for v in row]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    with threadpool_limits(limits=1):
        main()
