"""Which judged pairs people rate, and what a rater may see of each.

Why here: the sample is a statistical design (stratified, seeded, reproducible), and the
blind view of a pair is a question about the logs, so both are pure functions of frames
and logs; `pipeline/rating_server.py` only serves what this module gives it.

The sample: judged pairs (the judged-pairs frame, flagged pairs left out, since a leak
would reveal the framing) are grouped into strata (by default task x contrast); in each
stratum the pairs are ranked by a seeded hash of their `pair_key` and the first
`per_stratum` are taken. The ranking depends only on the seed and the key, so the same
logs give the same sample for every rater, and adding logs changes a stratum's sample
only where a new pair outranks an old one. Raters see the sample in one seeded order
(the same for every rater, so raters who stop early still overlap), and every rater gets
a seeded side order of their own per pair (`shown_first`), so position bias cancels out.

What a rater sees (`BlindPair.public`): an opaque token, the bare task, the judging
axis, the task's rubric criteria and the two outputs in the shown order. Never the
pair key, arms, contrast, outcome, model, judges or the panel's verdict.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from inspect_ai.log import read_eval_log_sample

from utility_gap.analysis.frames import FLAGS, FrameError, read_frames

DEFAULT_STRATA: tuple[str, ...] = ("task", "contrast")
STRATA_COLUMNS: tuple[str, ...] = ("model", "task", "contrast")


class RatingSampleError(ValueError):
    """A rating sample that cannot be drawn; the message says what to change."""


def _rank(*parts: Any) -> int:
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "little")


def sample_pairs(
    pairs: pd.DataFrame,
    per_stratum: int,
    strata: Sequence[str] = DEFAULT_STRATA,
    seed: int = 0,
    exclude_flags: Sequence[str] = FLAGS,
) -> pd.DataFrame:
    """Up to `per_stratum` pairs of each stratum, in the seeded rating order.

    Returns the chosen rows of the judged-pairs frame (all its columns) plus `stratum`
    (the strata values joined by " / "), in the order raters see them.
    """
    if per_stratum < 1:
        raise RatingSampleError(f"per_stratum={per_stratum}: take at least one pair per stratum (e.g. 50).")
    strata = list(strata)
    unknown = [s for s in strata if s not in STRATA_COLUMNS]
    if unknown or not strata:
        raise RatingSampleError(
            f"strata {', '.join(unknown) or '(none)'}: stratify by one or more of {', '.join(STRATA_COLUMNS)}."
        )
    bad_flags = [f for f in exclude_flags if f not in FLAGS]
    if bad_flags:
        raise RatingSampleError(f"Unknown flag(s) {', '.join(bad_flags)}; choose from {', '.join(FLAGS)}.")
    keep = pairs
    for flag in exclude_flags:
        keep = keep[~keep[f"flag_{flag}"].astype(bool)]
    if keep.empty:
        raise RatingSampleError(
            f"None of the {len(pairs)} judged pair(s) can be rated: every one is flagged "
            f"({', '.join(exclude_flags)}); a flagged output may reveal the framing to a rater."
        )
    keep = keep.assign(_rank=[_rank("sample", seed, key) for key in keep["pair_key"]])
    chosen = keep.sort_values("_rank", kind="stable").groupby(strata, sort=True, dropna=False).head(per_stratum)
    chosen = chosen.assign(
        stratum=chosen[strata].astype(str).agg(" / ".join, axis=1),
        _order=[_rank("order", seed, key) for key in chosen["pair_key"]],
    )
    return chosen.sort_values("_order", kind="stable").drop(columns=["_rank", "_order"]).reset_index(drop=True)


def shown_first(rater: str, pair_key: str, seed: int = 0) -> str:
    """The side a rater sees as output 1 of a pair: seeded per (rater, pair), half "a" half "b"."""
    return "a" if _rank("shown", seed, rater, pair_key) % 2 == 0 else "b"


def pair_token(pair_key: str, seed: int = 0) -> str:
    """The opaque id a browser sees for a pair (reveals nothing of the log, sample or arms)."""
    return f"{_rank('token', seed, pair_key):016x}"


@dataclass(frozen=True)
class BlindPair:
    """One sampled pair: what the rater may see, plus the key and stratum kept server-side."""

    pair_key: str
    stratum: str
    task: str
    task_prompt: str
    axis: str
    criteria: tuple[str, ...]
    output_a: str
    output_b: str

    def public(self, first: str, seed: int = 0) -> dict[str, Any]:
        """The rater's view with `first` ("a" | "b") as output 1: nothing that reveals the framing."""
        one, two = (self.output_a, self.output_b) if first == "a" else (self.output_b, self.output_a)
        return {
            "token": pair_token(self.pair_key, seed),
            "task_prompt": self.task_prompt,
            "axis": self.axis,
            "criteria": list(self.criteria),
            "output_1": one,
            "output_2": two,
        }


@dataclass
class RatingSample:
    """The pairs to rate, in rating order, and how they were drawn."""

    pairs: list[BlindPair]
    per_stratum: int
    strata: tuple[str, ...]
    seed: int
    exclude_flags: tuple[str, ...]
    strata_sizes: dict[str, int] = field(default_factory=dict)  # stratum -> pairs sampled

    def by_token(self) -> dict[str, BlindPair]:
        return {pair_token(p.pair_key, self.seed): p for p in self.pairs}


def _sample_id(value: str) -> list[int | str]:
    return [value, int(value)] if value.lstrip("-").isdigit() else [value]


def _read_blind(log_dir: Path, row: pd.Series) -> BlindPair:
    path = log_dir / row["log"]
    sample = None
    for sample_id in _sample_id(str(row["sample_id"])):
        try:
            sample = read_eval_log_sample(
                str(path), id=sample_id, epoch=int(row["epoch"]), resolve_attachments=True,
                exclude_fields={"messages", "events", "store"},
            )
            break
        except (IndexError, KeyError, ValueError):
            continue
        except Exception as ex:  # an unreadable file: name it
            raise FrameError(f"Could not read sample {row['sample_id']} of log '{path}': {ex}") from ex
    if sample is None:
        raise FrameError(f"Log '{path}' has no sample {row['sample_id']} (epoch {row['epoch']}).")
    md = sample.metadata or {}
    pair = md.get("pair") or {}
    outputs = [(pair.get(side) or {}).get("output") for side in ("a", "b")]
    for field_name, value in (("task_prompt", md.get("task_prompt")), ("pair.a.output", outputs[0]),
                              ("pair.b.output", outputs[1])):
        if not isinstance(value, str):
            raise FrameError(
                f"{row['log']}: sample {row['sample_id']} (epoch {row['epoch']}) has no {field_name} in its "
                "metadata; rating needs logs of utility_gap's writing tasks (docs/architecture.md)."
            )
    return BlindPair(
        pair_key=str(row["pair_key"]),
        stratum=str(row["stratum"]),
        task=str(row["task"]),
        task_prompt=md["task_prompt"],
        axis=str(md.get("axis") or ""),
        criteria=tuple(str(c) for c in md.get("criteria") or ()),
        output_a=outputs[0],
        output_b=outputs[1],
    )


def rating_sample(
    log_dir: str | os.PathLike[str],
    per_stratum: int,
    strata: Sequence[str] = DEFAULT_STRATA,
    seed: int = 0,
    exclude_flags: Sequence[str] = FLAGS,
    scorer: str | None = None,
) -> RatingSample:
    """Draw the sample from a log directory and read each pair's blind view from its log."""
    log_dir = Path(log_dir)
    pairs = read_frames(log_dir, scorer=scorer, detail=False).pairs
    chosen = sample_pairs(pairs, per_stratum, strata, seed, exclude_flags)
    base = log_dir if log_dir.is_dir() else log_dir.parent
    blind = [_read_blind(base, row) for _, row in chosen.iterrows()]
    return RatingSample(
        pairs=blind,
        per_stratum=per_stratum,
        strata=tuple(strata),
        seed=seed,
        exclude_flags=tuple(exclude_flags),
        strata_sizes=chosen["stratum"].value_counts().sort_index().to_dict(),
    )
