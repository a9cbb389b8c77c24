"""The Thurstonian utility model, fitted by maximum likelihood to forced choices.

Each outcome i has a mean utility mu_i and a variance var_i. With a **position term**
beta (on by default when the data hold both presentation orders), the option shown
first is chosen with

    P(first shown chosen) = Phi((mu_first - mu_second + beta) / sqrt(var_first + var_second))

so a model that prefers "A" whatever the content gets a positive beta instead of
distorted means and inflated variances. beta is fitted jointly, reported with a Wald
95% CI (expected Fisher information) and kept out of the utilities: the means and the
content probability `probability(a, b)` = Phi((mu_a - mu_b) / sqrt(var_a + var_b)) do
not contain it. Without both orders beta is confounded with content, so it is off.

`fit_thurstonian` maximises the likelihood of the per-order choice counts with scipy's
L-BFGS-B and analytic gradients, parametrising each variance by its log (s_i = log
var_i) so it stays positive. BLAS is limited to `blas_threads` (default 1, via
threadpoolctl) around the optimisation: the vectors are small, and on a loaded machine
idle BLAS threads spin-wait (measured: 3.2 s instead of 0.29 s; bench/README.md).

Regularisation (documented because it changes the optimum slightly): the objective
adds `reg_mean / 2 * sum(mu^2) + reg_logvar / 2 * sum(s^2) + reg_mean / 2 * beta^2`,
by default 0.01 and 0.1. Without it the model is not identified (adding a constant to
every mean, or scaling all means by c and variances by c^2, leaves the likelihood
unchanged) and a pair that is always decided one way drives the means to infinity. The
pull towards var = 1 is what fixes the scale during fitting; the reported means are
then normalised to mean 0 and sd 1, and the variances divided by the same sd squared
(beta and standard errors by the same sd), so only the ratios matter.

Input is a *choices frame* (`analysis/choices_frame.py`): one row per (pair,
presentation order) with columns `outcome_a`, `outcome_b` (the pair), `order` (`ab` |
`ba`; optional: a frame without it is treated as pooled and fitted without a position
term), `n_first`, `n_second` (parsed votes for outcome_a / outcome_b; fractional in
logprob mode, where each order is one soft vote split by P(A)), `said_a`, `said_b`
(parsed votes by letter), `n_refusal`, `n_unparseable` and `heldout` (bool). Every
function here is a pure function of such a frame.

Unparseable policy: `skip` fits only parsed votes; `half` also gives each side half a
vote for every refusal or unparseable answer (pulling that pair towards 0.5). The
policy changes the fit only; accuracy, log-loss and position bias are always computed
on parsed votes.

Metrics (`fit_metrics`). Held-out metrics use pairs never trained on.

- *choice-level* accuracy, `train_choice_accuracy` / `heldout_choice_accuracy` (and the
  older names `train_accuracy` / `heldout_accuracy`, same numbers): the share of parsed
  votes, pooled over both orders, that went to the outcome the content model predicts
  (a predicted tie scores half), so a pair asked 2K times weighs 2K votes. Position is
  left out, so this measures what content explains.
- *pair-level* accuracy, `train_pair_accuracy` / `heldout_pair_accuracy` (the usual
  metric in the literature): among pairs whose pooled votes have a strict majority, the
  share where the fitted order agrees with that majority (counts in
  `n_*_pairs_decided`; `heldout_pair_vs_chance_p` is a one-sided binomial test).
- log-loss, `train_log_loss` / `heldout_log_loss`: mean negative log-probability of the
  parsed votes, per order, under the full model (content and position term).
- `heldout_calibration_error`: expected calibration error of the per-order predicted
  P(first shown chosen) on held-out votes (10 equal-width bins, weighted by votes).
- `heldout_vs_chance_p`: one-sided exact binomial test of held-out correct votes
  against 0.5 (votes within a pair are not independent, so it is optimistic).
- `intransitive_triad_share`: among training triads whose three pairs all have a
  strict majority, the share that form a cycle.
- `n_logprob_reads`, `n_logprob_both_letters`, `n_logprob_one_letter`: logprob reads and
  whether both letters were among the top tokens (present only for logprob data).
- `position_bias`: the share of parsed answers that were the letter A (raw);
  `position_term` (bool), `position_beta` and `position_beta_ci_low` / `_high`: the
  fitted term on the normalised utility scale; `position_p_first_equal`: the fitted
  P(first shown chosen) for two outcomes of equal mean and median variance.
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
from threadpoolctl import threadpool_limits

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
"""Without a position term, a share of 'A' at or above this (or at or below 1 minus it) marks a fit uninformative."""

CHANCE_ALPHA = 0.05
"""Held-out accuracy must beat 0.5 in a one-sided binomial test at this level."""

CALIBRATION_BINS = 10
MAX_OUTCOMES_FOR_SE = 3000
"""Standard errors need a dense inverse of the Fisher information; skipped above this size."""


@dataclass
class ThurstonianFit:
    """Normalised means and variances per outcome, the position term, and the fit's metrics."""

    ids: list[str]
    means: np.ndarray
    variances: np.ndarray
    n_comparisons: dict[str, int]
    metrics: dict[str, float | int | str | bool | None]
    converged: bool
    message: str
    informative: bool = True
    uninformative_reasons: list[str] = field(default_factory=list)
    position_beta: float = 0.0  # normalised scale; 0.0 when no position term was fitted
    mean_se: np.ndarray | None = None  # standard errors of the normalised means (None: not computed)
    raw_parameters: np.ndarray | None = None  # the optimiser's [mu, log var(, beta)], to warm-start a refit

    def mean_of(self) -> dict[str, float]:
        return dict(zip(self.ids, map(float, self.means)))

    def variance_of(self) -> dict[str, float]:
        return dict(zip(self.ids, map(float, self.variances)))

    def probability(self, a: str, b: str) -> float:
        """The fitted content P(a chosen over b), position left out."""
        i, j = self.ids.index(a), self.ids.index(b)
        return float(ndtr((self.means[i] - self.means[j]) / math.sqrt(self.variances[i] + self.variances[j])))

    def probability_shown(self, first: str, second: str) -> float:
        """The fitted P(the option shown first is chosen), position term included."""
        i, j = self.ids.index(first), self.ids.index(second)
        scale = math.sqrt(self.variances[i] + self.variances[j])
        return float(ndtr((self.means[i] - self.means[j] + self.position_beta) / scale))


def check_frame(frame: pd.DataFrame) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(
            f"The choices frame lacks column(s) {', '.join(missing)}; build it with "
            "utility_gap.analysis.choices_frame.choices_frame(log_dir)."
        )


def _check_policy(policy: str) -> None:
    if policy not in UNPARSEABLE_POLICIES:
        raise ValueError(f"unparseable_policy='{policy}': use one of {', '.join(UNPARSEABLE_POLICIES)}.")


_COUNTS = ["n_first", "n_second", "said_a", "said_b", "n_refusal", "n_unparseable"]


def pair_table(frame: pd.DataFrame, policy: UnparseablePolicy = "skip") -> pd.DataFrame:
    """Aggregate the frame to one row per (pair, heldout): parsed votes and fit weights."""
    _check_policy(policy)
    check_frame(frame)
    table = (
        frame.assign(heldout=frame["heldout"].astype(bool))
        .groupby(["outcome_a", "outcome_b", "heldout"], as_index=False, sort=True)[_COUNTS]
        .sum()
    )
    # a pair with no answers at all (its sample failed) is not a comparison
    table = table[table[["n_first", "n_second", "n_refusal", "n_unparseable"]].sum(axis=1) > 0]
    table = table.reset_index(drop=True)
    half = 0.5 * (table["n_refusal"] + table["n_unparseable"]) if policy == "half" else 0.0
    table["w_first"] = table["n_first"] + half
    table["w_second"] = table["n_second"] + half
    return table


def order_table(frame: pd.DataFrame, policy: UnparseablePolicy = "skip") -> pd.DataFrame:
    """One row per (pair, order, heldout) in terms of what was shown first.

    Columns `shown_first`, `shown_second` (outcome ids), `w_shown_first`,
    `w_shown_second` (fit weights, policy applied), `v_shown_first`, `v_shown_second`
    (parsed votes), `order`. Without an `order` column every row is read as pooled
    votes with outcome_a shown first (no position information).
    """
    _check_policy(policy)
    check_frame(frame)
    data = frame.assign(heldout=frame["heldout"].astype(bool))
    pooled = "order" not in data.columns
    if pooled:
        data = data.assign(order="pooled")
    table = data.groupby(["outcome_a", "outcome_b", "order", "heldout"], as_index=False, sort=True)[_COUNTS].sum()
    table = table[table[["n_first", "n_second", "n_refusal", "n_unparseable"]].sum(axis=1) > 0]
    table = table.reset_index(drop=True)
    ba = (table["order"] == "ba").to_numpy()
    table["shown_first"] = np.where(ba, table["outcome_b"], table["outcome_a"])
    table["shown_second"] = np.where(ba, table["outcome_a"], table["outcome_b"])
    if pooled:
        first, second = table["n_first"], table["n_second"]
    else:
        first, second = table["said_a"], table["said_b"]
    table["v_shown_first"] = first.astype(float)
    table["v_shown_second"] = second.astype(float)
    half = 0.5 * (table["n_refusal"] + table["n_unparseable"]) if policy == "half" else 0.0
    table["w_shown_first"] = table["v_shown_first"] + half
    table["w_shown_second"] = table["v_shown_second"] + half
    return table


def codes(ids: list[str] | pd.Index, values: pd.Series) -> np.ndarray:
    """Positions of `values` in `ids` (fast: a hash lookup, not a per-element dict map)."""
    index = ids if isinstance(ids, pd.Index) else pd.Index(ids)
    return index.get_indexer(values.to_numpy())


def has_both_orders(table: pd.DataFrame) -> bool:
    """Whether an order table's rows include both presentation orders."""
    orders = set(table["order"])
    return {"ab", "ba"} <= orders


def _split(theta: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, float]:
    beta = float(theta[2 * n]) if theta.size > 2 * n else 0.0
    return theta[:n], theta[n : 2 * n], beta


def _negative_log_likelihood(
    theta: np.ndarray,
    i: np.ndarray,
    j: np.ndarray,
    w1: np.ndarray,
    w2: np.ndarray,
    reg_mean: float,
    reg_logvar: float,
) -> tuple[float, np.ndarray]:
    """NLL of w1 votes for i (shown first) and w2 for j; theta = [mu, s] or [mu, s, beta]."""
    n = (theta.size - (theta.size % 2)) // 2
    mu, s, beta = _split(theta, n)
    v = np.exp(s)
    total_var = v[i] + v[j]
    scale = np.sqrt(total_var)
    z = (mu[i] - mu[j] + beta) / scale
    log_p, log_q = log_ndtr(z), log_ndtr(-z)
    nll = -(w1 @ log_p + w2 @ log_q) + 0.5 * reg_mean * (mu @ mu + beta * beta) + 0.5 * reg_logvar * s @ s
    log_pdf = -0.5 * z * z - 0.5 * math.log(2 * math.pi)
    # d nll / d z, with the Mills ratios computed in log space for stability
    dz = -(w1 * np.exp(log_pdf - log_p) - w2 * np.exp(log_pdf - log_q))
    d_mu = dz / scale
    grad_mu = np.bincount(i, d_mu, n) - np.bincount(j, d_mu, n) + reg_mean * mu
    d_common = dz * (-z / (2 * total_var))
    grad_s = (np.bincount(i, d_common * v[i], n) + np.bincount(j, d_common * v[j], n)) + reg_logvar * s
    parts = [grad_mu, grad_s]
    if theta.size > 2 * n:
        parts.append(np.array([d_mu.sum() + reg_mean * beta]))
    return float(nll), np.concatenate(parts)


def fisher_information(
    theta: np.ndarray, i: np.ndarray, j: np.ndarray, weight: np.ndarray, reg_mean: float, reg_logvar: float
) -> np.ndarray:
    """Expected Fisher information of [mu, s(, beta)] plus the regulariser's curvature (dense).

    Each row contributes weight * phi(z)^2 / (p (1 - p)) * grad(z) grad(z)^T, with
    weight the row's number of votes.
    """
    n = (theta.size - (theta.size % 2)) // 2
    size = theta.size
    mu, s, beta = _split(theta, n)
    v = np.exp(s)
    total_var = v[i] + v[j]
    scale = np.sqrt(total_var)
    z = (mu[i] - mu[j] + beta) / scale
    info_w = weight * np.exp(2 * (-0.5 * z * z - 0.5 * math.log(2 * math.pi)) - log_ndtr(z) - log_ndtr(-z))
    rows = np.arange(i.size)
    dz_ds = -z / (2 * total_var)
    cols = [i, j, n + i, n + j]
    vals = [1 / scale, -1 / scale, dz_ds * v[i], dz_ds * v[j]]
    if size > 2 * n:
        cols.append(np.full(i.size, 2 * n))
        vals.append(1 / scale)
    jac = sparse.csr_matrix(
        (np.concatenate(vals), (np.tile(rows, len(cols)), np.concatenate(cols))), shape=(i.size, size)
    )
    info = (jac.T @ sparse.diags(info_w) @ jac).toarray()
    reg = np.concatenate([np.full(n, reg_mean), np.full(n, reg_logvar), np.full(size - 2 * n, reg_mean)])
    info[np.diag_indices(size)] += reg
    return info


def _votes_metrics(table: pd.DataFrame, prob: np.ndarray) -> tuple[float | None, float, float]:
    """(accuracy, correct votes, total votes) of content predictions on pooled parsed votes."""
    n1 = table["n_first"].to_numpy(float)
    n2 = table["n_second"].to_numpy(float)
    total = float((n1 + n2).sum())
    if total == 0:
        return None, 0.0, 0.0
    correct = np.where(prob > 0.5, n1, np.where(prob < 0.5, n2, 0.5 * (n1 + n2)))
    return float(correct.sum() / total), float(correct.sum()), total


def _pair_metrics(table: pd.DataFrame, prob: np.ndarray) -> tuple[float | None, int, float | None]:
    """Pair-level accuracy: does the fitted order agree with each decided pair's majority?"""
    n1 = table["n_first"].to_numpy(float)
    n2 = table["n_second"].to_numpy(float)
    decided = ~np.isclose(n1, n2)
    if not decided.any():
        return None, 0, None
    majority_first = (n1 > n2)[decided]
    p = prob[decided]
    score = np.where(p == 0.5, 0.5, np.where((p > 0.5) == majority_first, 1.0, 0.0))
    k = int(decided.sum())
    p_value = float(binomtest(int(math.floor(score.sum())), k, 0.5, alternative="greater").pvalue)
    return float(score.mean()), k, p_value


def _order_log_loss(table: pd.DataFrame, prob: np.ndarray) -> float | None:
    v1 = table["v_shown_first"].to_numpy(float)
    v2 = table["v_shown_second"].to_numpy(float)
    total = float((v1 + v2).sum())
    if total == 0:
        return None
    clipped = np.clip(prob, 1e-6, 1 - 1e-6)
    return float(-(v1 * np.log(clipped) + v2 * np.log(1 - clipped)).sum() / total)


def calibration_error(table: pd.DataFrame, prob: np.ndarray, bins: int = CALIBRATION_BINS) -> float | None:
    """Vote-weighted expected calibration error of per-order predictions (equal-width bins)."""
    v1 = table["v_shown_first"].to_numpy(float)
    votes = v1 + table["v_shown_second"].to_numpy(float)
    if votes.sum() == 0:
        return None
    which = np.minimum((prob * bins).astype(int), bins - 1)
    error = 0.0
    for b in np.unique(which):
        in_bin = which == b
        w = votes[in_bin].sum()
        if w > 0:
            error += abs(v1[in_bin].sum() / w - float(np.average(prob[in_bin], weights=votes[in_bin]))) * w
    return float(error / votes.sum())


def intransitive_triad_share(table: pd.DataFrame, ids: list[str]) -> float | None:
    """Among triads whose three pairs all have a strict majority, the share that are cycles."""
    n1 = table["n_first"].to_numpy(float)
    n2 = table["n_second"].to_numpy(float)
    a = codes(ids, table["outcome_a"])
    b = codes(ids, table["outcome_b"])
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
    position: bool | None = None,
    reg_mean: float = 0.01,
    reg_logvar: float = 0.1,
    max_iter: int = 2000,
    blas_threads: int | None = 1,
    standard_errors: bool = True,
    warm_start: ThurstonianFit | None = None,
) -> ThurstonianFit:
    """Fit means, variances (and a position term) to the training rows; score train and held-out.

    `outcome_ids` fixes the outcome order and may include outcomes never compared (they
    keep the prior: mean 0 before normalisation, variance 1). `position`: None fits the
    position term when the training rows hold both orders; True requires both orders;
    False never fits it. `standard_errors` computes the Wald CI of the position term and
    the standard errors of the means (skipped above MAX_OUTCOMES_FOR_SE outcomes).
    `warm_start`: an earlier fit over the same outcome ids (e.g. the previous round's),
    whose parameters start the optimiser; the optimum is the same, reached in fewer steps.
    `blas_threads=None` leaves BLAS at its own thread count.
    """
    orders = order_table(frame, unparseable_policy)
    pairs = pair_table(frame, unparseable_policy)
    ids = list(outcome_ids) if outcome_ids is not None else sorted(set(pairs["outcome_a"]) | set(pairs["outcome_b"]))
    index = {o: k for k, o in enumerate(ids)}
    unknown = sorted((set(pairs["outcome_a"]) | set(pairs["outcome_b"])) - set(index))
    if unknown:
        raise ValueError(f"The choices frame names outcomes not in outcome_ids: {', '.join(unknown[:5])}.")
    train_orders = orders[~orders["heldout"]].reset_index(drop=True)
    both = has_both_orders(train_orders)
    if position and not both:
        raise ValueError("position=True needs both presentation orders ('ab' and 'ba') in the training rows.")
    use_position = both if position is None else bool(position)
    n = len(ids)
    i = codes(ids, train_orders["shown_first"])
    j = codes(ids, train_orders["shown_second"])
    w1 = train_orders["w_shown_first"].to_numpy(float)
    w2 = train_orders["w_shown_second"].to_numpy(float)
    theta0 = np.zeros(2 * n + (1 if use_position else 0))
    previous = warm_start.raw_parameters if warm_start is not None else None
    if previous is not None and list(warm_start.ids) == ids:
        theta0[: 2 * n] = previous[: 2 * n]
        if use_position and previous.size > 2 * n:
            theta0[2 * n] = previous[2 * n]
    with threadpool_limits(limits=blas_threads):
        result = minimize(
            _negative_log_likelihood,
            theta0,
            args=(i, j, w1, w2, reg_mean, reg_logvar),
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": max_iter, "gtol": 1e-6},
        )
        mu, s, beta = _split(result.x, n)
        covariance = None
        if standard_errors and n <= MAX_OUTCOMES_FOR_SE and i.size:
            info = fisher_information(result.x, i, j, w1 + w2, reg_mean, reg_logvar)
            covariance = np.linalg.inv(info)
    var = np.exp(s)
    centred = mu - mu.mean()
    sd = centred.std()
    if sd <= 1e-9:
        sd = 1.0
    means, variances = centred / sd, var / sd**2

    mean_se, beta_ci = None, None
    if covariance is not None:
        # the normalised means m = (mu - mean(mu)) / sd(mu) are free of the shift and
        # scale gauges; delta method with d m / d mu = (I - m m^T / n) (I - 11^T / n) / sd
        cov_mu = covariance[:n, :n]
        grad = (np.eye(n) - np.outer(means, means) / n - 1.0 / n) / sd
        mean_se = np.sqrt(np.clip(np.einsum("ij,jk,ik->i", grad, cov_mu, grad), 0, None))
        if use_position:
            g = np.zeros(theta0.size)
            g[:n] = -beta / sd**2 * means / n
            g[2 * n] = 1.0 / sd
            beta_se = float(math.sqrt(max(g @ covariance @ g, 0.0)))
            beta_ci = (beta / sd - 1.959964 * beta_se, beta / sd + 1.959964 * beta_se)

    train_pairs = pairs[~pairs["heldout"]].reset_index(drop=True)
    pair_degree = np.bincount(
        np.concatenate([codes(ids, train_pairs["outcome_a"]), codes(ids, train_pairs["outcome_b"])]),
        minlength=n,
    )
    fit = ThurstonianFit(
        ids=ids,
        means=means,
        variances=variances,
        n_comparisons={o: int(pair_degree[k]) for o, k in index.items()},
        metrics={},
        converged=bool(result.success),
        message=str(result.message),
        position_beta=float(beta / sd) if use_position else 0.0,
        mean_se=mean_se,
        raw_parameters=result.x.copy(),
    )
    fit.metrics = fit_metrics(fit, frame, pairs, orders, unparseable_policy)
    fit.metrics.update(
        position_term=use_position,
        position_beta=fit.position_beta if use_position else None,
        position_beta_ci_low=beta_ci[0] if beta_ci else None,
        position_beta_ci_high=beta_ci[1] if beta_ci else None,
        position_p_first_equal=(
            float(ndtr(fit.position_beta / math.sqrt(2 * float(np.median(variances))))) if use_position else None
        ),
    )
    fit.metrics["regularisation"] = f"reg_mean={reg_mean}, reg_logvar={reg_logvar}"
    fit.informative, fit.uninformative_reasons = assess_informative(fit.metrics)
    return fit


def _content_probability(fit: ThurstonianFit, a_ids: pd.Series, b_ids: pd.Series, beta: float = 0.0) -> np.ndarray:
    a = codes(fit.ids, a_ids)
    b = codes(fit.ids, b_ids)
    return ndtr((fit.means[a] - fit.means[b] + beta) / np.sqrt(fit.variances[a] + fit.variances[b]))


def _predict(fit: ThurstonianFit, table: pd.DataFrame) -> np.ndarray:
    """Content P(outcome_a over outcome_b) per row of a pair table."""
    return _content_probability(fit, table["outcome_a"], table["outcome_b"])


def _predict_shown(fit: ThurstonianFit, table: pd.DataFrame) -> np.ndarray:
    """P(first shown chosen) per row of an order table, position term included."""
    return _content_probability(fit, table["shown_first"], table["shown_second"], fit.position_beta)


def fit_metrics(
    fit: ThurstonianFit,
    frame: pd.DataFrame,
    pairs: pd.DataFrame,
    orders: pd.DataFrame,
    policy: str,
) -> dict[str, float | int | str | bool | None]:
    """Choice- and pair-level accuracy, log-loss, calibration, triads, position bias, counts."""
    metrics: dict[str, float | int | str | bool | None] = {}
    held_correct = held_votes = 0.0
    for part, rows, by_order in (
        ("train", pairs[~pairs["heldout"]], orders[~orders["heldout"]]),
        ("heldout", pairs[pairs["heldout"]], orders[orders["heldout"]]),
    ):
        accuracy, correct, votes = _votes_metrics(rows, _predict(fit, rows))
        pair_accuracy, decided, pair_p = _pair_metrics(rows, _predict(fit, rows))
        shown = _predict_shown(fit, by_order)
        metrics[f"{part}_accuracy"] = accuracy
        metrics[f"{part}_choice_accuracy"] = accuracy
        metrics[f"{part}_pair_accuracy"] = pair_accuracy
        metrics[f"n_{part}_pairs_decided"] = decided
        metrics[f"{part}_log_loss"] = _order_log_loss(by_order, shown)
        metrics[f"n_{part}_choices"] = votes
        if part == "heldout":
            held_correct, held_votes = correct, votes
            metrics["heldout_pair_vs_chance_p"] = pair_p
            metrics["heldout_calibration_error"] = calibration_error(by_order, shown)
    said_a, said_b = float(frame["said_a"].sum()), float(frame["said_b"].sum())
    held_p = None
    if held_votes > 0:
        held_p = float(binomtest(int(round(held_correct)), int(round(held_votes)), 0.5, alternative="greater").pvalue)
    train = pairs[~pairs["heldout"]]
    metrics.update(
        {
            "heldout_vs_chance_p": held_p,
            "intransitive_triad_share": intransitive_triad_share(train, fit.ids),
            "position_bias": said_a / (said_a + said_b) if said_a + said_b > 0 else None,
            "n_pairs": int(len(train)),
            "n_heldout_pairs": int(len(pairs) - len(train)),
            "n_choices": float(frame["n_first"].sum() + frame["n_second"].sum()),
            "n_refusal": int(frame["n_refusal"].sum()),
            "n_unparseable": int(frame["n_unparseable"].sum()),
            "unparseable_policy": policy,
            "n_failed_samples": _failed_samples(frame),
            "converged": fit.converged,
            **_logprob_reads(frame),
        }
    )
    return metrics


def _logprob_reads(frame: pd.DataFrame) -> dict[str, int]:
    """How many logprob reads found both letters among the top tokens, and how many one."""
    if "logprob_letters" not in frame.columns:
        return {}
    letters = frame["logprob_letters"].fillna("")
    reads = letters != ""
    if not reads.any():
        return {}
    return {
        "n_logprob_reads": int(reads.sum()),
        "n_logprob_both_letters": int((letters == "both").sum()),
        "n_logprob_one_letter": int(letters.isin(["A", "B"]).sum()),
    }


def _failed_samples(frame: pd.DataFrame) -> int:
    """Samples whose model calls failed (the `error` column of a choices frame, if any)."""
    if "error" not in frame.columns:
        return 0
    failed = frame[frame["error"].notna()]
    return int(len(failed.drop_duplicates([c for c in ("log", "sample_id", "epoch") if c in failed.columns])))


def assess_informative(metrics: dict[str, object]) -> tuple[bool, list[str]]:
    """Whether a fit reflects content rather than position; the reasons when it does not.

    With a position term (`position_term` true) a strong preference for "A" is not by
    itself a reason: the content predictions, which leave position out, must still beat
    chance on held-out pairs. Without one, a share of "A" beyond POSITION_BIAS_LIMIT
    either way is a reason on its own, since content and position cannot be separated.
    """
    reasons: list[str] = []
    bias = metrics.get("position_bias")
    with_term = bool(metrics.get("position_term"))
    extreme = bias is not None and (bias >= POSITION_BIAS_LIMIT or bias <= 1 - POSITION_BIAS_LIMIT)
    if bias is None:
        reasons.append("no parsed answers: every answer was a refusal or unparseable")
    elif extreme and not with_term:
        reasons.append(
            f"choices are driven by position: {100 * float(bias):.1f}% of parsed answers were 'A' "
            f"(limit {100 * POSITION_BIAS_LIMIT:.0f}% either way)"
        )
    p_value = metrics.get("heldout_vs_chance_p")
    if p_value is None:
        reasons.append("no held-out choices, so the fit cannot be checked against chance")
    elif float(p_value) > CHANCE_ALPHA:
        after = ""
        if with_term and bias is not None:
            beta = metrics.get("position_beta")
            beta_text = f"position term beta = {float(beta):+.2f}, " if beta is not None else ""
            after = (
                f" once position is taken out ({beta_text}{100 * float(bias):.1f}% of parsed answers were 'A')"
            )
        reasons.append(
            f"held-out accuracy {float(metrics['heldout_accuracy']):.3f} is no better than chance{after} "
            f"(one-sided binomial p = {float(p_value):.3g} > {CHANCE_ALPHA})"
        )
    return not reasons, reasons
