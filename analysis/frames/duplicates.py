"""One logical pair is counted once: finding and resolving duplicated judged pairs.

A *logical pair* is one sample of a study as judged by one panel: the same model,
task, item, contrast, outcome domain, draw, repeat and epoch, judged by the same
judges (`PAIR_IDENTITY`, columns of the judged-pairs frame). Two logs in one
directory can hold the same logical pair: two runs into one folder, a rerun whose
eval was started afresh, a log copied in twice. Every statistic would then count that
pair twice, with narrower intervals and smaller p-values than the data support.
(`reading.py` already drops the superseded attempts of one retried eval, which share a
`task_id`; this catches the rest.)

`find_duplicates(pairs)` lists them; `resolve_duplicates(pairs, policy, log_created)`
applies a policy:

- `error` (the default): raise `DuplicatePairsError`, naming each log involved with
  its number of duplicated pairs, and the ways out;
- `keep-newest`: keep the copy from the most recently created log;
- `keep-first`: keep the copy from the earliest log.

Both are pure functions of the frame (and, to order logs, their creation times).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from utility_gap.analysis.frames.schemas import FrameError

PAIR_IDENTITY: tuple[str, ...] = (
    "model", "task", "item_id", "contrast", "domain", "draw", "repeat", "epoch", "judges",
)
DUPLICATE_POLICIES: tuple[str, ...] = ("error", "keep-newest", "keep-first")


class DuplicatePairsError(FrameError):
    """The same logical pair is in the frame more than once and no policy was chosen."""


@dataclass(frozen=True)
class DuplicateResolution:
    """The pairs kept, the copies dropped, and the policy that decided."""

    kept: pd.DataFrame
    dropped: pd.DataFrame
    policy: str
    n_duplicated: int  # logical pairs present more than once
    by_log: pd.DataFrame  # per log: duplicated pairs it holds, and how many of its rows were dropped


def _identity(pairs: pd.DataFrame) -> pd.Series:
    """One hashable key per row; missing values (no domain, no draw) compare equal."""
    missing = [c for c in PAIR_IDENTITY if c not in pairs.columns]
    if missing:
        raise FrameError(f"The judged-pairs frame lacks column(s) {', '.join(missing)}, needed to find duplicates.")
    parts = pairs[list(PAIR_IDENTITY)].astype(object).where(pairs[list(PAIR_IDENTITY)].notna(), None)
    return pd.Series(list(map(tuple, parts.itertuples(index=False, name=None))), index=pairs.index)


def find_duplicates(pairs: pd.DataFrame) -> pd.DataFrame:
    """Every row whose logical pair occurs more than once, with `copies` (how many times)."""
    key = _identity(pairs)
    copies = key.map(key.value_counts())
    return pairs.loc[copies > 1].assign(copies=copies[copies > 1].astype("int64"))


def _log_summary(duplicated: pd.DataFrame, dropped: pd.DataFrame) -> pd.DataFrame:
    held = duplicated.groupby("log").size().rename("duplicated_pairs")
    gone = dropped.groupby("log").size().rename("rows_dropped") if len(dropped) else pd.Series(dtype="int64", name="rows_dropped")
    table = pd.concat([held, gone], axis=1).fillna(0).astype("int64").reset_index()
    return table.rename(columns={"index": "log"}).sort_values("log", ignore_index=True)


def resolve_duplicates(
    pairs: pd.DataFrame, policy: str = "error", log_created: Mapping[str, str] | None = None
) -> DuplicateResolution:
    """Keep one copy of each logical pair by `policy`, or raise when the policy is `error`.

    `log_created` maps each `log` to its creation time (ISO 8601) to order logs; logs
    without one sort by name (Inspect's log names start with their creation time).
    """
    if policy not in DUPLICATE_POLICIES:
        raise FrameError(f"Unknown duplicates policy '{policy}'; choose one of {', '.join(DUPLICATE_POLICIES)}.")
    duplicated = find_duplicates(pairs)
    n_duplicated = int(_identity(duplicated).nunique()) if len(duplicated) else 0
    if not n_duplicated:
        return DuplicateResolution(pairs, pairs.iloc[0:0], policy, 0, _log_summary(duplicated, pairs.iloc[0:0]))
    if policy == "error":
        raise DuplicatePairsError(_message(duplicated, n_duplicated))
    created = pd.to_datetime(pairs["log"].map(dict(log_created or {})), utc=True, errors="coerce")
    order = pd.DataFrame({"created": created, "log": pairs["log"], "row": range(len(pairs))}, index=pairs.index)
    order = order.sort_values(["created", "log", "row"], na_position="first", kind="stable")
    keep = "last" if policy == "keep-newest" else "first"
    kept_index = _identity(pairs).loc[order.index].drop_duplicates(keep=keep).index
    kept = pairs.loc[pairs.index.isin(kept_index)]
    dropped = pairs.loc[~pairs.index.isin(kept_index)]
    return DuplicateResolution(kept, dropped, policy, n_duplicated, _log_summary(duplicated, dropped))


def _message(duplicated: pd.DataFrame, n_duplicated: int) -> str:
    per_log = duplicated.groupby("log").size().sort_index()
    extra = len(duplicated) - n_duplicated
    lines = [
        f"{n_duplicated} judged pair(s) appear in more than one log ({extra} extra copies): the same model, task, "
        "item, contrast, domain, draw, repeat, epoch and judges. Counted as they are, each would be counted "
        "more than once. Logs holding them:",
        *[f"  {log}: {count} duplicated pair(s)" for log, count in per_log.items()],
        "Remove the logs that should not be there (e.g. a second run into the same folder), or choose which "
        "copy to keep with --duplicates keep-newest or --duplicates keep-first.",
    ]
    return "\n".join(lines)
