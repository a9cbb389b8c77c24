"""The judge panel's in-log metrics, computed per epoch (not after epoch reduction).

With `--epochs N` Inspect reduces each sample's N scores to one (by default their mean)
before ordinary metrics run, and keeps only one epoch's metadata. A panel's winners do
not survive that: a win and a loss average to 0.5, which reads as a tie, and the judge
records of the other epochs are gone. These metrics therefore declare
`@metric(scores="unreduced")` and see one score per sample per epoch, each epoch an
observation of the panel.

Every metric is a ratio of counts (wins over decided pairs, ties over judged pairs,
order-consistent verdicts over verdicts with both orders parsed, missing verdicts over
verdicts). Each returns `{name: ratio, name_stderr: standard error}`; the standard
error is the delta-method error of a ratio of sums with the epochs of one sample as a
cluster (they share the sample's texts, so they are not independent), NaN with fewer
than two samples. `with_stderr=False` returns the ratio alone (for `grouped`).
Pairs whose every judge is missing are unscored (value NaN) and Inspect leaves them out
of every metric, so `missing_judge_share` covers scored pairs only; the report's
judge tables count all of them from the log.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from inspect_ai.scorer import Metric, SampleScore, Value, metric

_WINNER_OF_VALUE = {1.0: "a", 0.0: "b", 0.5: "tie"}


def winner_of(score: SampleScore) -> str | None:
    """The panel winner of one epoch's score, from its value (None if unscored)."""
    value = score.score.value
    if isinstance(value, (int, float)) and not math.isnan(float(value)):
        return _WINNER_OF_VALUE.get(float(value), "tie")
    return None


def judge_records(score: SampleScore) -> list[dict[str, Any]]:
    return list((score.score.metadata or {}).get("judges") or [])


def clustered_ratio(counts: Iterable[tuple[Any, float, float]]) -> tuple[float, float]:
    """(sum y / sum d, its cluster-robust standard error) from (cluster, y, d) rows."""
    clusters: dict[Any, list[float]] = {}
    for key, y, d in counts:
        total = clusters.setdefault(key, [0.0, 0.0])
        total[0] += y
        total[1] += d
    denominator = sum(d for _, d in clusters.values())
    if denominator == 0:
        return float("nan"), float("nan")
    ratio = sum(y for y, _ in clusters.values()) / denominator
    n = len(clusters)
    if n < 2:
        return ratio, float("nan")
    spread = sum((y - ratio * d) ** 2 for y, d in clusters.values())
    return ratio, math.sqrt(n / (n - 1) * spread) / denominator


def _ratio_metric(
    name: str, count: Callable[[SampleScore], tuple[float, float]], with_stderr: bool
) -> Metric:
    def compute(scores: list[SampleScore]) -> Value:
        ratio, se = clustered_ratio((s.sample_id, *count(s)) for s in scores)
        return {name: ratio, f"{name}_stderr": se} if with_stderr else ratio

    return compute


def _decided(score: SampleScore, side: str) -> tuple[float, float]:
    winner = winner_of(score)
    return float(winner == side), float(winner in ("a", "b"))


def _judged(score: SampleScore, outcome: str) -> tuple[float, float]:
    winner = winner_of(score)
    return float(winner == outcome), float(winner is not None)


@metric(scores="unreduced")
def a_win_rate(with_stderr: bool = True) -> Metric:
    """Share of decided pairs (ties and all-missing excluded) that side a won."""
    return _ratio_metric("a_win_rate", lambda s: _decided(s, "a"), with_stderr)


@metric(scores="unreduced")
def a_share(with_stderr: bool = True) -> Metric:
    """Share of judged pairs that side a won, ties counted as not won (control accuracy)."""
    return _ratio_metric("a_share", lambda s: _judged(s, "a"), with_stderr)


@metric(scores="unreduced")
def tie_share(with_stderr: bool = True) -> Metric:
    """Share of judged pairs (all-missing excluded) the panel called a tie."""
    return _ratio_metric("tie_share", lambda s: _judged(s, "tie"), with_stderr)


def _consistency(score: SampleScore) -> tuple[float, float]:
    flags = [j["order_consistent"] for j in judge_records(score) if j.get("order_consistent") is not None]
    return float(sum(flags)), float(len(flags))


def _missing(score: SampleScore) -> tuple[float, float]:
    records = judge_records(score)
    return float(sum(j.get("verdict") is None for j in records)), float(len(records))


@metric(scores="unreduced")
def order_consistency(with_stderr: bool = True) -> Metric:
    """Share of judge verdicts (both orders parsed) that did not change with the order."""
    return _ratio_metric("order_consistency", _consistency, with_stderr)


@metric(scores="unreduced")
def missing_judge_share(with_stderr: bool = True) -> Metric:
    """Share of judge verdicts that were missing (unparseable after retries), scored pairs."""
    return _ratio_metric("missing_judge_share", _missing, with_stderr)
