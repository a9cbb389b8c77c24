"""Direct rankings (the second elicitation method): logs -> aggregate -> consistency.

`rankings_frame` reads `preference_ranking` logs (via `inspect_ai.log`) into one row per
(sample, outcome shown): `log`, `model`, `domain`, `sample_id`, `epoch`, `outcome_id`,
`size` (outcomes in the subset), `position` (1 = best; NaN when the answer did not
parse), `normalised_rank` ((position - 1) / (size - 1): 0 best, 1 worst; NaN
unparsed), `parsed` (bool), `refusal` (bool).

`aggregate_rankings` gives per outcome the mean normalised rank, a Borda score (the
mean share of the other shown outcomes it was ranked above, i.e. 1 - mean normalised
rank) and how many parsed rankings it appeared in; parse failures are counted, not
imputed. `ranking_consistency` is the Spearman correlation between the Borda scores
and a utility fit's means over the outcomes both cover (scipy.stats.spearmanr).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Iterable

import pandas as pd
from inspect_ai.log import EvalLogInfo, list_eval_logs, read_eval_log

from utility_gap.analysis.locations import location
from scipy.stats import spearmanr

RANKING_TASK = "preference_ranking"
SCORER_NAME = "ranking_parse"


def _ranking_sources(logs: str | Path | Iterable[str | Path | EvalLogInfo]) -> list[str | EvalLogInfo]:
    if isinstance(logs, (str, Path)) and location(logs).is_dir():
        return [
            info
            for info in list_eval_logs(str(logs), recursive=True)
            if read_eval_log(info, header_only=True).eval.task.split("/")[-1] == RANKING_TASK
        ]
    if isinstance(logs, (str, Path)):
        return [str(logs)]
    return [s if isinstance(s, EvalLogInfo) else str(s) for s in logs]


def rankings_frame(logs: str | Path | Iterable[str | Path | EvalLogInfo]) -> pd.DataFrame:
    """One row per (ranking sample, outcome shown); see the module docstring."""
    rows: list[dict[str, object]] = []
    for source in _ranking_sources(logs):
        log = read_eval_log(source)
        if log.eval.task.split("/")[-1] != RANKING_TASK or log.status != "success":
            continue
        name = source.name if isinstance(source, EvalLogInfo) else str(source)
        for sample in log.samples or []:
            ids = list(sample.metadata["outcome_ids"])
            score = (sample.scores or {}).get(SCORER_NAME)
            ranked = (score.metadata or {}).get("ranked_ids") if score is not None else None
            refusal = bool(score is not None and score.answer == "refusal")
            position = {oid: k + 1 for k, oid in enumerate(ranked)} if ranked else {}
            for oid in ids:
                pos = position.get(oid)
                rows.append(
                    {
                        "log": name,
                        "model": log.eval.model,
                        "domain": sample.metadata.get("domain"),
                        "sample_id": str(sample.id),
                        "epoch": sample.epoch,
                        "outcome_id": oid,
                        "size": len(ids),
                        "position": math.nan if pos is None else float(pos),
                        "normalised_rank": math.nan if pos is None else (pos - 1) / (len(ids) - 1),
                        "parsed": ranked is not None,
                        "refusal": refusal,
                    }
                )
    return pd.DataFrame(
        rows,
        columns=["log", "model", "domain", "sample_id", "epoch", "outcome_id", "size", "position",
                 "normalised_rank", "parsed", "refusal"],
    )


def aggregate_rankings(frame: pd.DataFrame) -> pd.DataFrame:
    """Per outcome: mean normalised rank, Borda score, parsed appearances (parsed rows only)."""
    parsed = frame[frame["parsed"]]
    table = (
        parsed.groupby("outcome_id")["normalised_rank"]
        .agg(mean_normalised_rank="mean", n_rankings="count")
        .reset_index()
    )
    table["borda"] = 1.0 - table["mean_normalised_rank"]
    return table.sort_values("borda", ascending=False).reset_index(drop=True)


def ranking_parse_counts(frame: pd.DataFrame) -> dict[str, int]:
    """How many ranking answers parsed, were refusals, or were otherwise unparseable."""
    samples = frame.drop_duplicates(["log", "sample_id", "epoch"])
    parsed = int(samples["parsed"].sum())
    refusals = int(samples["refusal"].sum())
    return {"answers": len(samples), "parsed": parsed, "refusal": refusals,
            "unparseable": len(samples) - parsed - refusals}


def ranking_consistency(aggregate: pd.DataFrame, utilities: dict[str, float]) -> dict[str, float | int]:
    """Spearman between Borda scores and fitted utility means, over shared outcomes."""
    shared = aggregate[aggregate["outcome_id"].isin(list(utilities))]
    if len(shared) < 3:
        raise ValueError(
            f"Only {len(shared)} outcome(s) appear in both the rankings and the utilities; "
            "need at least 3 for a Spearman correlation."
        )
    result = spearmanr(shared["borda"], [utilities[o] for o in shared["outcome_id"]])
    return {"spearman": float(result.statistic), "p_value": float(result.pvalue), "n_outcomes": int(len(shared))}
