"""Planted-chooser choices drawn directly (no Inspect, no logs), for Stage 1 tests and benchmarks.

The simulated chooser (`models/simulated.py`, role `chooser`) answers
P(A) = Phi((u_A - u_B + position_bias) / sqrt(var_A + var_B)); this module draws the same
answers straight into a choices frame (`analysis/choices_frame.py` schema), so a
benchmark can ask hundreds of thousands of questions in milliseconds and call the fit and
pair selection directly. The Inspect path is tested separately (tests/test_stage1_*.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import ndtr


@dataclass
class PlantedChooser:
    """Planted means, variances and position bias over outcome ids."""

    ids: list[str]
    utilities: np.ndarray
    variances: np.ndarray
    position_bias: float = 0.0

    @staticmethod
    def draw(n: int, seed: int, position_bias: float = 0.0, unequal_variances: bool = False) -> "PlantedChooser":
        """Standard normal utilities; variances 1, or log-uniform on [0.25, 4] when unequal."""
        rng = np.random.default_rng([seed, 15])
        u = rng.standard_normal(n)
        var = np.exp(rng.uniform(np.log(0.25), np.log(4.0), n)) if unequal_variances else np.ones(n)
        return PlantedChooser([f"bench/o{k:04d}" for k in range(n)], u, var, position_bias)

    def p_first(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        """P(the option shown first is chosen)."""
        scale = np.sqrt(self.variances[first] + self.variances[second])
        return ndtr((self.utilities[first] - self.utilities[second] + self.position_bias) / scale)

    def choices(
        self, i: np.ndarray, j: np.ndarray, k: int, rng: np.random.Generator, heldout: np.ndarray | None = None,
        logprob: bool = False,
    ) -> pd.DataFrame:
        """Both orders of each pair (i, j): K sampled draws per order, or one soft read (logprob)."""
        i, j = np.asarray(i, int), np.asarray(j, int)
        a, b = np.minimum(i, j), np.maximum(i, j)
        ids = np.asarray(self.ids)
        held = np.zeros(a.size, bool) if heldout is None else np.asarray(heldout, bool)
        frames = []
        for order, first, second in (("ab", a, b), ("ba", b, a)):
            p = self.p_first(first, second)
            said_a = p if logprob else rng.binomial(k, p).astype(float)
            total = 1.0 if logprob else float(k)
            said_b = total - said_a
            n_first, n_second = (said_a, said_b) if order == "ab" else (said_b, said_a)
            frames.append(pd.DataFrame({
                "outcome_a": ids[a], "outcome_b": ids[b], "order": order, "heldout": held,
                "n_first": n_first, "n_second": n_second, "said_a": said_a, "said_b": said_b,
                "n_refusal": 0, "n_unparseable": 0,
            }))
        return pd.concat(frames, ignore_index=True)

    def pair_order_accuracy(self, means: np.ndarray) -> float:
        """Share of all outcome pairs that the fitted means order as the planted utilities do."""
        u = self.utilities
        rows, cols = np.triu_indices(u.size, k=1)
        agree = np.sign(means[rows] - means[cols]) == np.sign(u[rows] - u[cols])
        return float(agree.mean())
