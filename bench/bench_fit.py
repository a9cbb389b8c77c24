"""Bench: the Thurstonian fit on a paper-sized choices frame (no logs, no models).

Plants utilities (standard normal, unit variances) for `--outcomes` outcomes, draws
`--edges` distinct pairs, and for each pair `--draws` choices split over both orders;
10% of pairs are held out. Times `fit_thurstonian` (optimisation plus every metric)
and prints the seconds and how well the planted means came back.

    /root/ug/bin/python bench/bench_fit.py --outcomes 510 --edges 9200 --draws 20
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from scipy.stats import norm, spearmanr

from utility_gap.analysis.thurstonian import fit_thurstonian


def planted_choices(n: int, edges: int, draws: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    u = rng.standard_normal(n)
    codes: set[int] = set()
    while len(codes) < edges:
        i = rng.integers(0, n, edges)
        j = rng.integers(0, n, edges)
        keep = i < j
        codes.update((i[keep] * n + j[keep]).tolist())
    chosen = np.array(sorted(codes))[:edges]
    a, b = chosen // n, chosen % n
    p = norm.cdf((u[a] - u[b]) / np.sqrt(2))
    per_order = draws // 2
    ids = np.array([f"bench/o{k:04d}" for k in range(n)])
    heldout = rng.random(edges) < 0.1
    frames = []
    for order in ("ab", "ba"):
        wins = rng.binomial(per_order, p)
        said_a = wins if order == "ab" else per_order - wins
        frames.append(pd.DataFrame({
            "outcome_a": ids[a], "outcome_b": ids[b], "order": order,
            "n_first": wins.astype(float), "n_second": (per_order - wins).astype(float),
            "said_a": said_a.astype(float), "said_b": (per_order - said_a).astype(float),
            "n_refusal": 0, "n_unparseable": 0, "heldout": heldout,
        }))
    return pd.concat(frames, ignore_index=True), u


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outcomes", type=int, default=510)
    parser.add_argument("--edges", type=int, default=9200)
    parser.add_argument("--draws", type=int, default=20, help="choices per pair, split over both orders")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    frame, u = planted_choices(args.outcomes, args.edges, args.draws, args.seed)
    ids = [f"bench/o{k:04d}" for k in range(args.outcomes)]
    start = time.perf_counter()
    fit = fit_thurstonian(frame, outcome_ids=ids)
    seconds = time.perf_counter() - start
    rho = spearmanr(fit.means, u).statistic
    m = fit.metrics
    print(
        f"fit_thurstonian: {args.outcomes} outcomes, {args.edges} pairs x {args.draws} draws "
        f"({int(m['n_choices'])} choices) in {seconds:.2f} s; converged={fit.converged}; "
        f"Spearman(planted, fitted)={rho:.3f}; held-out accuracy {m['heldout_accuracy']:.3f}"
    )


if __name__ == "__main__":
    main()
