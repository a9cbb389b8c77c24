"""Bench: the Thurstonian fit on a paper-sized choices frame (no logs, no models).

Plants utilities (standard normal) and variances (1, or log-uniform on [0.25, 4] with
`--unequal-variances`) for `--outcomes` outcomes, and a position bias (`--position-bias`,
added to the option shown first, as the simulated chooser does); draws `--edges` distinct
pairs, and for each pair `--draws` choices split over both orders; 10% of pairs are held
out. Times `fit_thurstonian` (optimisation, standard errors and every metric) and prints
the seconds, how well the planted means and variances came back, and the fitted position
term against the planted one (both on the normalised utility scale).

`--blas-threads N` limits BLAS threads around the fit (the default, 1, is the suite's);
`--blas-threads 0` leaves BLAS at its own default, to show what spin-waiting threads cost
on a loaded machine. `--load N` starts N busy processes for the duration (a loaded machine).

    .venv/bin/python bench/bench_fit.py --outcomes 510 --edges 9200 --draws 20 --unequal-variances --position-bias 0.8
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the planted-chooser fixture

from planted_choices import PlantedChooser  # noqa: E402
from utility_gap.analysis.thurstonian import fit_thurstonian  # noqa: E402


def _burn(stop_at: float) -> None:
    while time.time() < stop_at:
        pass


def planted_frame(n: int, edges: int, draws: int, seed: int, unequal: bool, bias: float):
    chooser = PlantedChooser.draw(n, seed, position_bias=bias, unequal_variances=unequal)
    rng = np.random.default_rng([seed, 3])
    codes: set[int] = set()
    while len(codes) < edges:
        i, j = rng.integers(0, n, edges), rng.integers(0, n, edges)
        keep = i < j
        codes.update((i[keep] * n + j[keep]).tolist())
    chosen = np.array(sorted(codes))[:edges]
    heldout = rng.random(edges) < 0.1
    return chooser, chooser.choices(chosen // n, chosen % n, draws // 2, rng, heldout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outcomes", type=int, default=510)
    parser.add_argument("--edges", type=int, default=9200)
    parser.add_argument("--draws", type=int, default=20, help="choices per pair, split over both orders")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--unequal-variances", action="store_true")
    parser.add_argument("--position-bias", type=float, default=0.0)
    parser.add_argument("--position", choices=["auto", "off"], default="auto", help="fit the position term")
    parser.add_argument("--blas-threads", type=int, default=1, help="0: BLAS's own default")
    parser.add_argument("--load", type=int, default=0, help="busy processes to run alongside")
    args = parser.parse_args()
    chooser, frame = planted_frame(args.outcomes, args.edges, args.draws, args.seed, args.unequal_variances,
                                   args.position_bias)
    burners = []
    if args.load:
        stop = time.time() + 600
        burners = [multiprocessing.Process(target=_burn, args=(stop,), daemon=True) for _ in range(args.load)]
        for p in burners:
            p.start()
    try:
        start = time.perf_counter()
        fit = fit_thurstonian(frame, outcome_ids=chooser.ids, blas_threads=args.blas_threads or None,
                              position=None if args.position == "auto" else False)
        seconds = time.perf_counter() - start
    finally:
        for p in burners:
            p.terminate()
    m = fit.metrics
    rho = spearmanr(fit.means, chooser.utilities).statistic
    var_rho = spearmanr(fit.variances, chooser.variances).statistic if args.unequal_variances else float("nan")
    planted_beta = args.position_bias / chooser.utilities.std()
    beta = "not fitted" if not m["position_term"] else (
        f"{m['position_beta']:+.3f} [{m['position_beta_ci_low']:+.3f}, {m['position_beta_ci_high']:+.3f}]")
    print(
        f"fit_thurstonian: {args.outcomes} outcomes, {args.edges} pairs x {args.draws} draws "
        f"({int(m['n_choices'])} choices) in {seconds:.2f} s (blas_threads={args.blas_threads or 'default'}, "
        f"extra load {args.load}, load average {os.getloadavg()[0]:.1f}); converged={fit.converged}; "
        f"Spearman(planted, fitted) means {rho:.3f}, variances {var_rho:.3f}; position term {beta} "
        f"(planted {planted_beta:+.3f}); held-out log-loss {m['heldout_log_loss']:.3f}, "
        f"pair accuracy {m['heldout_pair_accuracy']:.3f}, choice accuracy {m['heldout_accuracy']:.3f}"
    )


if __name__ == "__main__":
    main()
