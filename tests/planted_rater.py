"""A planted rater: a simulated human with a known accuracy against planted quality.

Given which side of each pair is truly better (from the simulated writer's latent
quality), the rater picks the other side on exactly a planted share `1 - accuracy` of
the pairs (chosen at random, independently for each rater) and the better side on the
rest, so every agreement statistic has a known expected value. Rubric scores, if asked for, are the latent
quality plus noise on the panel's 1-10 scale. Used by the human-agreement tests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from utility_gap.analysis.human_ratings import append_rating, rating_record
from utility_gap.analysis.rating_sample import shown_first


def _rng(*parts: object) -> np.random.Generator:
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def planted_verdicts(truth: Mapping[str, str], rater: str, accuracy: float, seed: int = 0,
                     tie_rate: float = 0.0) -> pd.DataFrame:
    """(rater, pair_key, verdict) for every pair of `truth` (pair_key -> truly better side).

    The rater is wrong on exactly round((1 - accuracy) * n) pairs and says "tie" on
    round(tie_rate * n) others, chosen at random (seeded per rater), so its accuracy
    against the truth is the planted one, not a draw around it.
    """
    keys = list(truth)
    order = _rng("planted-rater", rater, seed).permutation(len(keys))
    n_tie, n_wrong = round(tie_rate * len(keys)), round((1 - accuracy) * len(keys))
    tie, wrong = set(order[:n_tie]), set(order[n_tie : n_tie + n_wrong])
    rows = []
    for index, key in enumerate(keys):
        better = truth[key]
        verdict = "tie" if index in tie else ("b" if better == "a" else "a") if index in wrong else better
        rows.append({"rater": rater, "pair_key": key, "verdict": verdict})
    return pd.DataFrame(rows, columns=["rater", "pair_key", "verdict"])


def write_planted_ratings(
    path: Path,
    truth: Mapping[str, str],
    rater: str,
    accuracy: float,
    seed: int = 0,
    qualities: Mapping[str, tuple[float, float]] | None = None,
    criteria: Mapping[str, list[str]] | None = None,
    score_sd: float = 0.5,
) -> pd.DataFrame:
    """Write a ratings file as `utility-gap rate` would; rubric scores from `qualities` when given."""
    verdicts = planted_verdicts(truth, rater, accuracy, seed)
    for row in verdicts.itertuples():
        first = shown_first(rater, row.pair_key)
        second = "b" if first == "a" else "a"
        choice = {first: "1", second: "2", "tie": "tie"}[row.verdict]
        scores = None
        if qualities is not None and criteria is not None:
            rng = _rng("planted-scores", rater, seed, row.pair_key)
            scores = {
                side: {c: int(np.clip(round(5.5 + 1.5 * (quality + score_sd * rng.standard_normal())), 1, 10))
                       for c in criteria[row.pair_key]}
                for side, quality in zip(("a", "b"), qualities[row.pair_key])
            }
        append_rating(path, rating_record(rater=rater, pair_key=row.pair_key, shown_first=first, choice=choice,
                                          scores=scores, seconds=12.0))
    return verdicts
