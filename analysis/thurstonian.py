"""The Thurstonian utility model, fitted by maximum likelihood to forced choices.

Each outcome i has a mean utility mu_i and a variance var_i; the model says
P(i chosen over j) = Phi((mu_i - mu_j) / sqrt(var_i + var_j)). `fit_thurstonian` maximises
the likelihood of the observed choice counts with scipy's L-BFGS-B and analytic
gradients, parametrising each variance by its log (s_i = log var_i) so it stays
positive.

Regularisation (documented because it changes the optimum slightly): the objective
adds `reg_mean / 2 * sum(mu^2) + reg_logvar / 2 * sum(s^2)`, by default 0.01 and 0.1.
Without it the model is not identified (adding a constant to every mean, or scaling
all means by c and variances by c^2, leaves the likelihood unchanged) and a pair that
is always decided one way drives the means to infinity. The pull towards var = 1 is
what fixes the scale during fitting; the reported means are then normalised to mean 0
and sd 1, and the variances divided by the same sd squared, so only the ratios matter.

Input is a *choices frame* (`analysis/choices_frame.py`): one row per (pair,
presentation order) with columns `outcome_a`, `outcome_b` (the pair), `n_first`,
`n_second` (parsed votes for outcome_a / outcome_b; fractional in logprob mode),
`said_a`, `said_b` (parsed votes by letter), `n_refusal`, `n_unparseable` and
`heldout` (bool). Every function here is a pure function of such a frame.

Unparseable policy: `skip` fits only parsed votes; `half` also gives each side half a
vote for every refusal or unparseable answer (pulling that pair towards 0.5). The
policy changes the fit only; accuracy, log-loss and position bias are always computed
on parsed votes.

Metrics (see `fit_metrics`): accuracy is choice-level -- the share of parsed votes
that went to the outcome the model predicts (a predicted tie scores half) -- so a
pair asked 2K times weighs 2K votes; log-loss is the mean negative log-probability of
the parsed votes. Held-out metrics use pairs never trained on. The intransitive triad
share counts, among training triads whose three pairs all have a strict majority, the
share that form a cycle. Position bias is the share of parsed answers that were the
letter A.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import minimize
from scipy.special import log_ndtr, ndtr
from scipy.stats import binomtest

UnparseablePolicy = Literal["skip", "half"]
UNPARSEABLE_POLICIES: tuple[str, ...] = ("skip", "half")

REQUIRED_COLUMNS: tuple[str, ...] = (
    "outcome_a",
    "outcome_b",
    "n_first",
    "n_second",
    "said_a",
    "said_b",
    "n_refusal",
    "n_unparseable",
    "heldout",
)

POSITION_BIAS_LIMIT = 0.9
"""A share of 'A' at or above this (or at or below 1 minus it) marks a fit uninformative."""

CHANCE_ALPHA = 0.05
"""Held-out accuracy must beat 0.5 in a one-sided binomial test at this level."""


@dataclass
class ThurstonianFit:
    """Normalised means and variances per outcome, plus the fit's metrics."""

    ids: list[str]
    means: np.ndarray
    variances: np.ndarray
    n_comparisons: dict[str, int]
    metrics: dict[str, float | int | str | bool | None]
    converged: bool
    message: str
    informative: bool = True
    uninformative_reasons: list[str] = field(default_factory=list)

    def mean_of(self) -> dict[str, float]:
        return dict(zip(self.ids, map(float, self.means)))

    def variance_of(self) -> dict[str, float]:
        return dict(zip(self.ids, map(float, self.variances)))

    def probability(self, a: str, b: str) -> float:
        """The fitted P(a chosen over b)."""
        i, j = self.ids.index(a), self.ids.index(b)
        return float(ndtr((self.means[i] - self.means[j]) / math.sqrt(self.variances[i] + self.variances[j])))


def check_frame(frame: pd.DataFrame) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(
            f"The choices frame lacks column(s) {', '.join(missing)}; build it with "
            "utility_gap.analysis.choices_frame.choices_frame(log_dir)."
        )


def pair_table(frame: pd.DataFrame, policy: UnparseablePolicy = "skip") -> pd.DataFrame:
    """Aggregate the frame to one row per (pair, heldout): parsed votes and fit weights."""
    if policy not in UNPARSEABLE_POLICIES:
        raise ValueError(f"unparseable_policy='{policy}': use one of {', '.join(UNPARSEABLE_POLICIES)}.")
    check_frame(frame)
    counts = ["n_first", "n_second", "n_refusal", "n_unparseable"]
    table = (
        frame.assign(heldout=frame["heldout"].astype(bool))
        .groupby(["outcome_a", "outcome_b", "heldout"], as_index=False, sort=True)[counts]
        .sum()
    )
    # a pair with no answers at all (its sample failed) is not a comparison
    table = table[table[counts].sum(axis=1) > 0].reset_index(drop=True)
    failed = table["n_refusal"] + table["n_unparseable"]
    half = 0.5 * failed if policy == "half" else 0.0
    table["w_first"] = table["n_first"] + half
    table["w_second"] = table["n_second"] + half
    return table


def _negative_log_likelihood(
    theta: np.ndarray,
    i: np.ndarray,
    j: np.ndarray,
    w1: np.ndarray,
    w2: np.ndarray,
    reg_mean: float,
    reg_logvar: float,
) -> tuple[float, np.ndarray]:
    n = theta.size // 2
    mu, s = theta[:n], theta[n:]
    v = np.exp(s)
    total_var = v[i] + v[j]
    scale = np.sqrt(total_var)
    z = (mu[i] - mu[j]) / scale
    log_p, log_q = log_ndtr(z), log_ndtr(-z)
    nll = -(w1 @ log_p + w2 @ log_q) + 0.5 * reg_mean * mu @ mu + 0.5 * reg_logvar * s @ s
    log_pdf = -0.5 * z * z - 0.5 * math.log(2 * math.pi)
    # d nll / d z, with the Mills ratios computed in log space for stability
    dz = -(w1 * np.exp(log_pdf - log_p) - w2 * np.exp(log_pdf - log_q))
    d_mu = dz / scale
    grad_mu = np.bincount(i, d_mu, n) - np.bincount(j, d_mu, n) + reg_mean * mu
    d_common = dz * (-z / (2 * total_var))
    grad_s = (np.bincount(i, d_common * v[i], n) + np.bincount(j, d_common * v[j], n)) + reg_logvar * s
    return float(nll), np.concatenate([grad_mu, grad_s])


def _votes_metrics(table: pd.DataFrame, prob: np.ndarray) -> tuple[float | None, float | None, float, float]:
    """(accuracy, log-loss, correct votes, total votes) of predictions on parsed votes."""
    n1 = table["n_first"].to_numpy(float)
    n2 = table["n_second"].to_numpy(float)
    total = float((n1 + n2).sum())
    if total == 0:
        return None, None, 0.0, 0.0
    correct = np.where(prob > 0.5, n1, np.where(prob < 0.5, n2, 0.5 * (n1 + n2)))
    clipped = np.clip(prob, 1e-6, 1 - 1e-6)
    loss = -(n1 * np.log(clipped) + n2 * np.log(1 - clipped)).sum() / total
    return float(correct.sum() / total), float(loss), float(correct.sum()), total


def intransitive_triad_share(table: pd.DataFrame, ids: list[str]) -> float | None:
    """Among triads whose three pairs all have a strict majority, the share that are cycles."""
    index = {o: k for k, o in enumerate(ids)}
    n1 = table["n_first"].to_numpy(float)
    n2 = table["n_second"].to_numpy(float)
    a = table["outcome_a"].map(index).to_numpy()
    b = table["outcome_b"].map(index).to_numpy()
    decided = n1 != n2
    winner = np.where(n1 > n2, a, b)[decided]
    loser = np.where(n1 > n2, b, a)[decided]
    n = len(ids)
    beats = sparse.csr_matrix((np.ones(winner.size), (winner, loser)), shape=(n, n))
    beats.data[:] = 1.0
    both = (beats + beats.T).tocsr()
    both.data[:] = 1.0
    triangles = (both @ both).multiply(both).sum() / 6.0
    if triangles == 0:
        return None
    cycles = (beats @ beats).multiply(beats.T).sum() / 3.0
    return float(cycles / triangles)


def fit_thurstonian(
    frame: pd.DataFrame,
    *,
    unparseable_policy: UnparseablePolicy = "skip",
    outcome_ids: list[str] | None = None,
    reg_mean: float = 0.01,
    reg_logvar: float = 0.1,
    max_iter: int = 2000,
) -> ThurstonianFit:
    """Fit means and variances to the training rows; score on train and held-out rows.

    `outcome_ids` fixes the outcome order and may include outcomes never compared (they
    keep the prior: mean 0 before normalisation, variance 1).
    """
    table = pair_table(frame, unparseable_policy)
    ids = list(outcome_ids) if outcome_ids is not None else sorted(set(table["outcome_a"]) | set(table["outcome_b"]))
    index = {o: k for k, o in enumerate(ids)}
    unknown = sorted((set(table["outcome_a"]) | set(table["outcome_b"])) - set(index))
    if unknown:
        raise ValueError(f"The choices frame names outcomes not in outcome_ids: {', '.join(unknown[:5])}.")
    train = table[~table["heldout"]].reset_index(drop=True)
    heldout = table[table["heldout"]].reset_index(drop=True)
    n = len(ids)
    i = train["outcome_a"].map(index).to_numpy(int)
    j = train["outcome_b"].map(index).to_numpy(int)
    w1 = train["w_first"].to_numpy(float)
    w2 = train["w_second"].to_numpy(float)
    result = minimize(
        _negative_log_likelihood,
        np.zeros(2 * n),
        args=(i, j, w1, w2, reg_mean, reg_logvar),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": max_iter, "gtol": 1e-6},
    )
    mu, s = result.x[:n], result.x[n:]
    var = np.exp(s)
    centred = mu - mu.mean()
    sd = centred.std()
    if sd > 1e-9:
        means, variances = centred / sd, var / sd**2
    else:
        means, variances = centred, var

    degree = np.bincount(np.concatenate([i, j]), minlength=n) if i.size else np.zeros(n, int)
    fit = ThurstonianFit(
        ids=ids,
        means=means,
        variances=variances,
        n_comparisons={o: int(degree[k]) for o, k in index.items()},
        metrics={},
        converged=bool(result.success),
        message=str(result.message),
    )
    fit.metrics = fit_metrics(fit, frame, train, heldout, unparseable_policy)
    fit.metrics["regularisation"] = f"reg_mean={reg_mean}, reg_logvar={reg_logvar}"
    fit.informative, fit.uninformative_reasons = assess_informative(fit.metrics)
    return fit


def _predict(fit: ThurstonianFit, table: pd.DataFrame) -> np.ndarray:
    index = {o: k for k, o in enumerate(fit.ids)}
    a = table["outcome_a"].map(index).to_numpy(int)
    b = table["outcome_b"].map(index).to_numpy(int)
    return ndtr((fit.means[a] - fit.means[b]) / np.sqrt(fit.variances[a] + fit.variances[b]))


def fit_metrics(
    fit: ThurstonianFit,
    frame: pd.DataFrame,
    train: pd.DataFrame,
    heldout: pd.DataFrame,
    policy: str,
) -> dict[str, float | int | str | bool | None]:
    """Accuracy and log-loss on train and held-out pairs, triads, position bias, counts."""
    train_acc, train_loss, _, train_votes = _votes_metrics(train, _predict(fit, train))
    held_acc, held_loss, held_correct, held_votes = _votes_metrics(heldout, _predict(fit, heldout))
    said_a, said_b = float(frame["said_a"].sum()), float(frame["said_b"].sum())
    held_p = None
    if held_votes > 0:
        held_p = float(binomtest(int(round(held_correct)), int(round(held_votes)), 0.5, alternative="greater").pvalue)
    return {
        "train_accuracy": train_acc,
        "train_log_loss": train_loss,
        "heldout_accuracy": held_acc,
        "heldout_log_loss": held_loss,
        "heldout_vs_chance_p": held_p,
        "intransitive_triad_share": intransitive_triad_share(train, fit.ids),
        "position_bias": said_a / (said_a + said_b) if said_a + said_b > 0 else None,
        "n_pairs": int(len(train)),
        "n_heldout_pairs": int(len(heldout)),
        "n_choices": float(frame["n_first"].sum() + frame["n_second"].sum()),
        "n_train_choices": train_votes,
        "n_heldout_choices": held_votes,
        "n_refusal": int(frame["n_refusal"].sum()),
        "n_unparseable": int(frame["n_unparseable"].sum()),
        "unparseable_policy": policy,
        "n_failed_samples": _failed_samples(frame),
        "converged": fit.converged,
    }


def _failed_samples(frame: pd.DataFrame) -> int:
    """Samples whose model calls failed (the `error` column of a choices frame, if any)."""
    if "error" not in frame.columns:
        return 0
    failed = frame[frame["error"].notna()]
    return int(len(failed.drop_duplicates([c for c in ("log", "sample_id", "epoch") if c in failed.columns])))


def assess_informative(metrics: dict[str, object]) -> tuple[bool, list[str]]:
    """Whether a fit reflects content rather than position; the reasons when it does not."""
    reasons: list[str] = []
    bias = metrics.get("position_bias")
    if bias is None:
        reasons.append("no parsed answers: every answer was a refusal or unparseable")
    elif bias >= POSITION_BIAS_LIMIT or bias <= 1 - POSITION_BIAS_LIMIT:
        reasons.append(
            f"choices are driven by position: {100 * float(bias):.1f}% of parsed answers were 'A' "
            f"(limit {100 * POSITION_BIAS_LIMIT:.0f}% either way)"
        )
    p_value = metrics.get("heldout_vs_chance_p")
    if p_value is None:
        reasons.append("no held-out choices, so the fit cannot be checked against chance")
    elif float(p_value) > CHANCE_ALPHA:
        reasons.append(
            f"held-out accuracy {float(metrics['heldout_accuracy']):.3f} is no better than chance "
            f"(one-sided binomial p = {float(p_value):.3g} > {CHANCE_ALPHA})"
        )
    return not reasons, reasons
