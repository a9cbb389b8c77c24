"""How well a Thurstonian fit explains the choices, and whether it is informative.

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
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.special import ndtr
from scipy.stats import binomtest

from utility_gap.analysis.choice_tables import codes

if TYPE_CHECKING:
    from utility_gap.analysis.thurstonian import ThurstonianFit

POSITION_BIAS_LIMIT = 0.9
"""Without a position term, a share of 'A' at or above this (or at or below 1 minus it) marks a fit uninformative."""

CHANCE_ALPHA = 0.05
"""Held-out accuracy must beat 0.5 in a one-sided binomial test at this level."""

CALIBRATION_BINS = 10


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
