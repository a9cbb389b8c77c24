"""Planted judged pairs with model and task random effects (a fixture for tests and bench).

Each study draws its own models and tasks from a population: cell (i, j) has true win
rate `mean + a_i + b_j + e_ij` with a_i ~ N(0, sd_model), b_j ~ N(0, sd_task) and
e_ij ~ N(0, sd_cell) (clipped to [0.02, 0.98], which these sds never reach in practice),
so the population equal-cell win rate is `mean`. An interval that generalises over
models and tasks should cover `mean` in 95% of studies.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def planted_crossed_studies(
    rng: np.random.Generator,
    n_studies: int,
    n_models: int,
    n_tasks: int,
    pairs_per_cell: int,
    mean: float = 0.55,
    sd_model: float = 0.05,
    sd_task: float = 0.05,
    sd_cell: float = 0.02,
    ties: float = 0.1,
) -> pd.DataFrame:
    """One row per judged pair: `study`, `model`, `task`, `contrast`, `winner`."""
    a = rng.normal(0, sd_model, size=(n_studies, n_models, 1))
    b = rng.normal(0, sd_task, size=(n_studies, 1, n_tasks))
    e = rng.normal(0, sd_cell, size=(n_studies, n_models, n_tasks))
    rate = np.clip(mean + a + b + e, 0.02, 0.98)
    probs = np.stack([(1 - ties) * rate, (1 - ties) * (1 - rate), np.full(rate.shape, ties)], axis=-1)
    counts = rng.multinomial(pairs_per_cell, probs)  # (studies, models, tasks, 3)
    study, model, task, outcome = np.indices(counts.shape)
    repeat = counts.ravel()
    winners = np.array(["a", "b", "tie"])
    return pd.DataFrame({
        "study": np.repeat(study.ravel(), repeat),
        "model": np.array([f"m{i}" for i in range(n_models)])[np.repeat(model.ravel(), repeat)],
        "task": np.array([f"t{j}" for j in range(n_tasks)])[np.repeat(task.ravel(), repeat)],
        "contrast": "c",
        "winner": np.repeat(winners[outcome.ravel()], repeat),
    })
