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

The choices frame and its tables are in `choice_tables.py`; the fit's metrics in
`thurstonian_metrics.py` (both re-exported here).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import minimize
from scipy.special import log_ndtr, ndtr
from threadpoolctl import threadpool_limits

from utility_gap.analysis.choice_tables import (
    REQUIRED_COLUMNS,
    UNPARSEABLE_POLICIES,
    UnparseablePolicy,
    check_frame,
    codes,
    has_both_orders,
    order_table,
    pair_table,
)
from utility_gap.analysis.thurstonian_metrics import (
    CALIBRATION_BINS,
    CHANCE_ALPHA,
    POSITION_BIAS_LIMIT,
    assess_informative,
    calibration_error,
    fit_metrics,
    intransitive_triad_share,
)

__all__ = [
    "CALIBRATION_BINS", "CHANCE_ALPHA", "MAX_OUTCOMES_FOR_SE", "POSITION_BIAS_LIMIT", "REQUIRED_COLUMNS",
    "UNPARSEABLE_POLICIES", "ThurstonianFit", "UnparseablePolicy", "assess_informative", "calibration_error",
    "check_frame", "codes", "fisher_information", "fit_metrics", "fit_thurstonian", "has_both_orders",
    "intransitive_triad_share", "order_table", "pair_table",
]

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
