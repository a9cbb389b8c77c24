"""Which pairs to ask: a sparse connected start, then close and under-compared pairs.

All n(n-1)/2 pairs are too many; a Thurstonian fit needs about 2 n log2 n. The rounds
driver asks them in rounds:

1. a seeded **held-out** set, never trained on (`heldout_pairs`);
2. a **random connected start** (`random_connected_pairs`): a random Hamiltonian cycle
   (every outcome compared, the graph connected) plus random extra pairs;
3. **active rounds** (`active_pairs`): among pairs not yet asked, prefer those whose
   current fitted utilities are close (|mu_i - mu_j| / sqrt(var_i + var_j) small, i.e.
   the most uncertain choices) and whose outcomes have few comparisons so far.

Pairs files (the `pairs=` argument of `preference_elicitation`) are JSON:
`{"pairs": [{"a": id, "b": id, "heldout": bool}, ...]}` plus any informational keys
(the driver adds `round`). Within a pair `a` and `b` are stored in a canonical order
(sorted ids), so a pair has one spelling.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

from utility_gap.analysis.atomic_files import write_text_atomic
from utility_gap.analysis.locations import location


@dataclass(frozen=True)
class Pair:
    """One unordered pair of outcome ids (canonical: a < b)."""

    a: str
    b: str
    heldout: bool = False

    @staticmethod
    def of(x: str, y: str, heldout: bool = False) -> "Pair":
        if x == y:
            raise ValueError(f"A pair needs two different outcomes, got '{x}' twice.")
        a, b = sorted((x, y))
        return Pair(a, b, heldout)

    @property
    def key(self) -> tuple[str, str]:
        return (self.a, self.b)


def default_budget(n_outcomes: int) -> int:
    """About 2 n log2 n training pairs, capped at all pairs."""
    if n_outcomes < 2:
        return 0
    return min(n_outcomes * (n_outcomes - 1) // 2, math.ceil(2 * n_outcomes * math.log2(n_outcomes)))


def default_heldout(budget: int, n_outcomes: int) -> int:
    """A tenth of the budget, at least 10, but never more than a fifth of all pairs."""
    total = n_outcomes * (n_outcomes - 1) // 2
    return min(max(10, budget // 10), total // 5)


def all_pairs(ids: list[str]) -> list[Pair]:
    return [Pair.of(ids[i], ids[j]) for i in range(len(ids)) for j in range(i + 1, len(ids))]


def heldout_pairs(ids: list[str], count: int, seed: int) -> list[Pair]:
    """A seeded random set of `count` distinct pairs, marked held out."""
    rng = np.random.default_rng([seed, 7_001])
    chosen: dict[tuple[str, str], Pair] = {}
    total = len(ids) * (len(ids) - 1) // 2
    count = min(count, total)
    while len(chosen) < count:
        i, j = rng.choice(len(ids), size=2, replace=False)
        pair = Pair.of(ids[int(i)], ids[int(j)], heldout=True)
        chosen.setdefault(pair.key, pair)
    return sorted(chosen.values(), key=lambda p: p.key)


def random_connected_pairs(
    ids: list[str], count: int, seed: int, exclude: Iterable[tuple[str, str]] = ()
) -> list[Pair]:
    """A random cycle through every outcome (connected) plus random pairs up to `count`.

    Returns training pairs only (heldout=False).

    `count` below n (the cycle's size) still returns the whole cycle, since fewer
    pairs cannot connect n outcomes; `exclude` keys (e.g. held-out pairs) are avoided.
    """
    n = len(ids)
    if n < 2:
        raise ValueError("Pair selection needs at least two outcomes.")
    rng = np.random.default_rng([seed, 7_002])
    banned = set(exclude)
    chosen: dict[tuple[str, str], Pair] = {}
    order = [ids[int(i)] for i in rng.permutation(n)]
    # each outcome joins its predecessor in a random order (a path, so the graph is
    # connected); a banned link is replaced by a link to another earlier outcome
    for k in range(1, n):
        candidates = [order[k - 1]] + [order[int(j)] for j in rng.permutation(k - 1)]
        for partner in candidates:
            pair = Pair.of(order[k], partner)
            if pair.key not in banned:
                chosen[pair.key] = pair
                break
        else:
            raise ValueError(f"Cannot connect outcome '{order[k]}': every pair with it is held out.")
    closing = Pair.of(order[-1], order[0]) if n > 2 else None
    if closing is not None and closing.key not in banned:
        chosen.setdefault(closing.key, closing)
    available = n * (n - 1) // 2 - len(banned)
    target = min(max(count, len(chosen)), available)
    while len(chosen) < target:
        i, j = rng.choice(n, size=2, replace=False)
        pair = Pair.of(ids[int(i)], ids[int(j)])
        if pair.key not in banned:
            chosen.setdefault(pair.key, pair)
    return sorted(chosen.values(), key=lambda p: p.key)


def regular_pairs(
    ids: list[str], count: int, seed: int, exclude: Iterable[tuple[str, str]] = ()
) -> list[Pair]:
    """About `count` pairs forming a degree-balanced random graph (degrees differ by at most 2).

    Built from random Hamiltonian cycles (each adds 2 to every degree; the first one
    connects the graph), the last one cut to a path when `count` is not a multiple of n.
    A banned or repeated link is replaced by a random link between two of the
    lowest-degree outcomes. At least n - 1 pairs (a spanning path) are returned.
    """
    n = len(ids)
    if n < 2:
        raise ValueError("Pair selection needs at least two outcomes.")
    rng = np.random.default_rng([seed, 7_004])
    banned = set(exclude)
    available = n * (n - 1) // 2 - len(banned)
    target = min(max(count, n - 1), available)
    chosen: dict[tuple[str, str], Pair] = {}
    degree = np.zeros(n, int)

    def take(x: int, y: int) -> bool:
        pair = Pair.of(ids[x], ids[y])
        if pair.key in banned or pair.key in chosen:
            return False
        chosen[pair.key] = pair
        degree[x] += 1
        degree[y] += 1
        return True

    misses = 0
    while len(chosen) + misses < target:
        order = rng.permutation(n)
        links = list(zip(order, np.roll(order, -1))) if n > 2 else [(order[0], order[1])]
        for x, y in links[: target - len(chosen) - misses]:
            if not take(int(x), int(y)):
                misses += 1
    tries = 0
    while len(chosen) < target and tries < 50 * n:
        tries += 1
        low = np.flatnonzero(degree <= degree.min() + 1)
        x, y = rng.choice(low, 2, replace=False) if low.size >= 2 else rng.choice(n, 2, replace=False)
        take(int(x), int(y))
    while len(chosen) < target:  # dense corner cases: any unasked pair
        x, y = rng.choice(n, 2, replace=False)
        take(int(x), int(y))
    return sorted(chosen.values(), key=lambda p: p.key)


def _unasked(
    ids: list[str], means: dict[str, float], variances: dict[str, float], asked: Iterable[tuple[str, str]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Unasked pairs (row, col index arrays), each outcome's degree so far, and each pair's fitted gap.

    The gap is |mu_i - mu_j| / sqrt(var_i + var_j): small means an uncertain choice.
    """
    n = len(ids)
    index = {o: i for i, o in enumerate(ids)}
    asked_mask = np.zeros((n, n), dtype=bool)
    for x, y in asked:
        i, j = index[x], index[y]
        asked_mask[i, j] = asked_mask[j, i] = True
    degree = asked_mask.sum(axis=1).astype(float)
    mu = np.array([means.get(o, 0.0) for o in ids])
    var = np.array([max(variances.get(o, 1.0), 1e-6) for o in ids])
    rows, cols = np.triu_indices(n, k=1)
    keep = ~asked_mask[rows, cols]
    rows, cols = rows[keep], cols[keep]
    return rows, cols, degree, np.abs(mu[rows] - mu[cols]) / np.sqrt(var[rows] + var[cols])


def is_connected(ids: list[str], pairs: Iterable[Pair]) -> bool:
    """Whether the pairs link every outcome to every other (a fit can place them on one scale)."""
    if not ids:
        return True
    links: dict[str, set[str]] = {o: set() for o in ids}
    for p in pairs:
        links[p.a].add(p.b)
        links[p.b].add(p.a)
    seen, frontier = {ids[0]}, [ids[0]]
    while frontier:
        for other in links[frontier.pop()] - seen:
            seen.add(other)
            frontier.append(other)
    return len(seen) == len(ids)


def active_pairs(
    ids: list[str],
    means: dict[str, float],
    variances: dict[str, float],
    asked: Iterable[tuple[str, str]],
    count: int,
    seed: int,
    degree_weight: float = 1.0,
) -> list[Pair]:
    """The `count` unasked pairs that are closest in utility and least compared.

    Score (lower is better): |mu_i - mu_j| / sqrt(var_i + var_j)
    + degree_weight * (deg_i + deg_j) / (2 * mean degree). Pairs are taken greedily in
    score order, updating degrees as they are taken (re-scoring in batches), so one
    outcome does not absorb the whole round. Ties are broken by a seeded jitter.
    """
    n = len(ids)
    rows, cols, degree, closeness = _unasked(ids, means, variances, asked)
    jitter = np.random.default_rng([seed, 7_003]).random(rows.size) * 1e-6
    taken = np.zeros(rows.size, dtype=bool)
    count = min(count, rows.size)
    chosen: list[Pair] = []
    batch = max(1, n // 4)
    while len(chosen) < count:
        mean_degree = max(degree.mean(), 1.0)
        score = closeness + degree_weight * (degree[rows] + degree[cols]) / (2 * mean_degree) + jitter
        score[taken] = np.inf
        want = min(batch, count - len(chosen))
        best = np.argpartition(score, want - 1)[:want] if want < score.size else np.arange(score.size)
        best = best[np.argsort(score[best])]
        for e in best[:want]:
            if taken[e]:
                continue
            taken[e] = True
            degree[rows[e]] += 1
            degree[cols[e]] += 1
            chosen.append(Pair.of(ids[rows[e]], ids[cols[e]]))
    return chosen


def close_low_degree_pairs(
    ids: list[str],
    means: dict[str, float],
    variances: dict[str, float],
    asked: Iterable[tuple[str, str]],
    count: int,
    seed: int,
    gap_share: float = 0.10,
    degree_share: float = 0.20,
    batch: int = 500,
) -> list[Pair]:
    """`count` unasked pairs drawn at random among the close and the under-compared.

    In batches of `batch`: the candidates are unasked pairs in the smallest `gap_share`
    of fitted gaps |mu_i - mu_j| / sqrt(var_i + var_j) *and* the smallest
    `degree_share` of degree sums deg_i + deg_j (topped up from the closest gaps when
    fewer); a batch is a seeded random draw among them, and degrees are updated before
    the next batch, so no outcome absorbs a round. Random choice within the filters,
    rather than taking the very closest pairs, keeps the comparisons spread.
    """
    rows, cols, degree, gap = _unasked(ids, means, variances, asked)
    rng = np.random.default_rng([seed, 7_005])
    open_ = np.ones(rows.size, dtype=bool)
    count = min(count, rows.size)
    chosen: list[Pair] = []
    while len(chosen) < count:
        want = min(batch, count - len(chosen))
        live = np.flatnonzero(open_)
        g, d = gap[live], degree[rows[live]] + degree[cols[live]]
        close = g <= np.quantile(g, gap_share)
        low = d <= np.quantile(d, degree_share)
        picked = live[close & low]
        if picked.size > want:
            picked = rng.choice(picked, size=want, replace=False)
        elif picked.size < want:  # top up from the closest gaps, least compared first
            rest = live[close & ~low]
            rest = rest[np.argsort(degree[rows[rest]] + degree[cols[rest]], kind="stable")]
            picked = np.concatenate([picked, rest[: want - picked.size]])
            if picked.size < want:
                others = np.setdiff1d(live, picked)
                picked = np.concatenate([picked, others[np.argsort(gap[others])][: want - picked.size]])
        open_[picked] = False
        np.add.at(degree, rows[picked], 1)
        np.add.at(degree, cols[picked], 1)
        chosen.extend(Pair.of(ids[rows[e]], ids[cols[e]]) for e in picked)
    return chosen


def write_pairs_file(path: str | Path, pairs: list[Pair], **info: object) -> None:
    """Write a pairs file atomically."""
    payload = {**info, "pairs": [{"a": p.a, "b": p.b, "heldout": p.heldout} for p in pairs]}
    write_text_atomic(path, json.dumps(payload, indent=1))


def read_pairs_file(path: str | Path, known_ids: set[str] | None = None) -> list[Pair]:
    """Read a pairs file; errors name the file, the entry and the fix."""
    file = location(path)
    if not file.is_file():
        raise ValueError(
            f"pairs='{path}': not 'all', a number of pairs, or an existing pairs file. "
            "Pass -T pairs=all, -T pairs=<N> or a JSON file {\"pairs\": [{\"a\": id, \"b\": id}]}."
        )
    try:
        data = json.loads(file.read_text())
    except json.JSONDecodeError as ex:
        raise ValueError(f"{file}: not valid JSON ({ex}).") from None
    entries = data.get("pairs") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{file}: expected an object with a non-empty 'pairs' list.")
    pairs: dict[tuple[str, str], Pair] = {}
    for n, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("a"), str) or not isinstance(entry.get("b"), str):
            raise ValueError(f"{file}: pairs[{n}] needs string fields 'a' and 'b' (outcome ids).")
        for side in ("a", "b"):
            if known_ids is not None and entry[side] not in known_ids:
                raise ValueError(
                    f"{file}: pairs[{n}].{side} = '{entry[side]}' is not an outcome id of this domain."
                )
        try:
            pair = Pair.of(entry["a"], entry["b"], bool(entry.get("heldout", False)))
        except ValueError as ex:
            raise ValueError(f"{file}: pairs[{n}]: {ex}") from None
        if pair.key in pairs:
            raise ValueError(f"{file}: pairs[{n}] repeats the pair {pair.a} / {pair.b}.")
        pairs[pair.key] = pair
    return list(pairs.values())
