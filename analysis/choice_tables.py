"""The choices frame's tables, aggregated for the Thurstonian fit and its metrics.

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
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

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
