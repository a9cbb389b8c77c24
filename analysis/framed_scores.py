"""Framed benchmarks: logs -> one row per scored sample -> paired comparisons between arms.

`utility_gap/framed_benchmark` runs a lab's own task once per arm, each copy of a sample
framed differently and scored by the task's own scorer. Copies of one sample pair up
across arms by `framing_base_id` (and `framing_draw` for utility arms), so every
comparison is paired: the same items under two framings.

Frame (`framed_frame(logs)`), one row per (sample, epoch, score): `log`, `model`,
`task` (the framed task's name), `score` (the scorer's name, `scorer:key` for a scorer
whose value is a dict), `sample_id`, `base_id`, `epoch`, `draw`, `arm`, `entity`,
`arm_key` (the arm, or `entity:<name>` for the entity arm), `outcome`, `utility`,
`value` (float; NaN when `status` is `failed`), `status` (`scored` | `failed`: the sample
errored or has no such score). A value that is not a number is an error naming the log,
sample and scorer (`numeric_score` says what counts as a number); it is never coerced.

Comparisons (`arm_comparisons`), one row per (model, task, score, arm_a, arm_b). The unit
is a paired item: a (base_id, draw) scored under both arms, its value the mean over
epochs. Binary values with one epoch get the **exact McNemar test** (a binomial test of
the discordant pairs, `n_a` a-right-b-wrong against `n_b`); any other values a **paired
permutation test** of the mean difference (`scipy.stats.permutation_test`, signs of the
differences flipped; exact up to 12 pairs (2^12 sign patterns), else 20,000 seeded resamples) beside a sign
test. `win_rate` is n_a / (n_a + n_b); the equivalence test (TOST), power and minimum
detectable effect come from `equivalence_power.equivalence_table` on those counts, so a
null reads as in the writing report: on the scale of "of the pairs that differ, how
often is arm a the better one". Holm's correction runs over every test in the table.
A utility arm compared with a non-utility arm uses draw 0 only (one pair per item).

Entities (`entity_scores`): per entity of the entity arm, the mean score and counts; the
omnibus test that the score does not depend on the entity (Cochran's Q for binary
values, Friedman otherwise) over the items scored for every entity.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from inspect_ai.log import EvalLogInfo
from scipy.stats import binomtest, friedmanchisquare, permutation_test
from scipy.stats import t as student_t
from statsmodels.stats.contingency_tables import cochrans_q
from statsmodels.stats.multitest import multipletests

from utility_gap.analysis.equivalence_power import equivalence_table
from utility_gap.analysis.task_logs import task_logs

FRAMED_TASK = "framed_benchmark"
ENTITY_PREFIX = "entity:"
FRAME_COLUMNS = ["log", "model", "task", "score", "sample_id", "base_id", "epoch", "draw", "arm", "entity", "arm_key",
                 "outcome", "utility", "value", "status"]
# Which arm of a pair is "a" (the treatment): earlier in this order.
ARM_ORDER: tuple[str, ...] = ("exhort", "sandbag", "utility_high", "amount_high", "moral_good", "utility_low",
                              "amount_low", "moral_bad", "neutral", "bare")
REFERENCE_ARMS: tuple[str, ...] = ("neutral", "bare")  # what each entity is compared with, if run
EXACT_PERMUTATION_MAX = 12  # exact sign-flip distribution up to 2^12 pairs
PERMUTATIONS = 20_000
COMPARISON_COLUMNS = ["model", "task", "score", "arm_a", "arm_b", "n_pairs", "mean_a", "mean_b", "diff", "diff_ci_low",
                      "diff_ci_high", "binary", "test", "n_a", "n_b", "ties", "n", "win_rate", "p_value", "p_sign",
                      "p_holm", "significant"]
_TEXT_VALUES = {"c": 1.0, "i": 0.0, "p": 0.5, "n": 0.0, "yes": 1.0, "no": 0.0, "true": 1.0, "false": 0.0}


class FramedScoreError(ValueError):
    """Framed-benchmark logs that cannot be compared; the message names the log, sample and scorer."""


def numeric_score(value: Any) -> float | None:
    """A score value as a number, or None if it is not one.

    Numbers and booleans count, and so do Inspect's `C`/`I`/`P`/`N` (1, 0, 0.5, 0),
    `yes`/`no`/`true`/`false` and numeric strings: the values Inspect's own metrics read
    as numbers. Anything else (a letter answer, free text, a list) is not a number.
    """
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TEXT_VALUES:
            return _TEXT_VALUES[text]
        try:
            number = float(text)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def non_numeric_values(value: Any) -> list[str]:
    """The parts of a score value that are not numbers (`key=value` for a dict value); empty if all are."""
    if isinstance(value, dict):
        return [f"{k}={v!r}" for k, v in value.items() if numeric_score(v) is None]
    return [] if numeric_score(value) is not None else [repr(value)]


def framed_frame(logs: str | Path | Iterable[str | Path | EvalLogInfo]) -> pd.DataFrame:
    """One row per (sample, epoch, score) of every framed-benchmark log (see the module docstring)."""
    rows: list[dict[str, Any]] = []
    for log in task_logs(logs, FRAMED_TASK):
        name = Path(str(log.location)).name
        scorers = [s.name for s in log.eval.scorers or []] or sorted(
            {k for s in log.samples or [] for k in (s.scores or {})})
        inner = str((log.eval.metadata or {}).get("framed_task") or log.eval.task)
        for sample in log.samples or []:
            meta = sample.metadata or {}
            if "framing_arm" not in meta:
                raise FramedScoreError(f"{name}: sample {sample.id} has no framing_arm in its metadata; "
                                       "is this a utility_gap/framed_benchmark log?")
            base = {
                "log": name, "model": log.eval.model, "task": inner, "sample_id": str(sample.id),
                "base_id": str(meta["framing_base_id"]), "epoch": int(sample.epoch), "draw": int(meta.get("framing_draw") or 0),
                "arm": meta["framing_arm"], "entity": meta.get("framing_entity"),
                "arm_key": f"{ENTITY_PREFIX}{meta['framing_entity']}" if meta.get("framing_entity") else meta["framing_arm"],
                "outcome": meta.get("framing_outcome"), "utility": meta.get("framing_utility"),
            }
            for scorer in scorers:
                score = (sample.scores or {}).get(scorer)
                if sample.error is not None or score is None:
                    rows.append({**base, "score": scorer, "value": math.nan, "status": "failed"})
                    continue
                values = score.value if isinstance(score.value, dict) else {None: score.value}
                for key, value in values.items():
                    number = numeric_score(value)
                    label = scorer if key is None else f"{scorer}:{key}"
                    if number is None:
                        raise FramedScoreError(
                            f"{name}: sample {sample.id}, scorer '{label}' returned {value!r}, which is not a number. "
                            "The arms are compared on numeric scores (numbers, C/I/P/N, yes/no); use a scorer whose "
                            "value is one, e.g. the task's accuracy scorer."
                        )
                    rows.append({**base, "score": label, "value": number, "status": "scored"})
    frame = pd.DataFrame(rows, columns=FRAME_COLUMNS)
    frame["utility"] = pd.to_numeric(frame["utility"], errors="coerce")
    return frame


def _arm_rank(arm: str) -> tuple[int, str]:
    return (ARM_ORDER.index(arm), arm) if arm in ARM_ORDER else (len(ARM_ORDER), arm)


def default_pairs(arms: Iterable[str]) -> list[tuple[str, str]]:
    """Every pair of the (non-entity) arms, the treatment first (`ARM_ORDER`)."""
    ordered = sorted({a for a in arms if not a.startswith(ENTITY_PREFIX)}, key=_arm_rank)
    return list(combinations(ordered, 2))


def _units(group: pd.DataFrame, arm: str, draw0: bool) -> pd.Series:
    """Per paired unit (base_id, draw): the mean over epochs of the scored values of `arm`."""
    mine = group[(group["arm_key"] == arm) & (group["status"] == "scored")]
    if draw0:
        mine = mine[mine["draw"] == 0]
    return mine.groupby(["base_id", "draw"])["value"].mean()


def _is_utility(arm: str) -> bool:
    return arm.startswith("utility_")


def compare_arms(a: np.ndarray, b: np.ndarray, binary: bool, seed: int = 0) -> dict[str, Any]:
    """Paired test of a against b: exact McNemar for binary values, else a paired permutation test."""
    diff = a - b
    n_a, n_b = int((diff > 0).sum()), int((diff < 0).sum())
    n = len(diff)
    row: dict[str, Any] = {
        "n_pairs": n, "mean_a": float(a.mean()) if n else math.nan, "mean_b": float(b.mean()) if n else math.nan,
        "diff": float(diff.mean()) if n else math.nan, "diff_ci_low": math.nan, "diff_ci_high": math.nan,
        "binary": binary, "n_a": n_a, "n_b": n_b, "ties": n - n_a - n_b, "n": n_a + n_b,
        "win_rate": n_a / (n_a + n_b) if n_a + n_b else math.nan, "p_value": math.nan, "p_sign": math.nan,
    }
    if n >= 2:
        half = student_t.ppf(0.975, n - 1) * diff.std(ddof=1) / math.sqrt(n)
        row["diff_ci_low"], row["diff_ci_high"] = row["diff"] - half, row["diff"] + half
    if n_a + n_b:
        row["p_sign"] = float(binomtest(n_a, n_a + n_b, 0.5).pvalue)
    if binary:
        row["test"] = "exact McNemar"
        row["p_value"] = row["p_sign"]
    else:
        row["test"] = "paired permutation"
        if n_a + n_b:
            result = permutation_test(
                (diff,), lambda d, axis=-1: np.mean(d, axis=axis), permutation_type="samples",
                n_resamples=math.inf if n <= EXACT_PERMUTATION_MAX else PERMUTATIONS, random_state=seed,
            )
            row["p_value"] = float(result.pvalue)
    return row


def arm_comparisons(
    frame: pd.DataFrame,
    pairs: Iterable[tuple[str, str]] | None = None,
    *,
    margin: float = 0.05,
    alpha: float = 0.05,
    power: float = 0.8,
    seed: int = 0,
) -> pd.DataFrame:
    """Paired comparisons per (model, task, score) for each arm pair (default: `default_pairs`)."""
    rows: list[dict[str, Any]] = []
    for (model, task, score), group in frame.groupby(["model", "task", "score"], sort=True):
        wanted = list(pairs) if pairs is not None else default_pairs(group["arm_key"].unique())
        for arm_a, arm_b in wanted:
            draw0 = _is_utility(arm_a) != _is_utility(arm_b)
            joined = pd.concat({"a": _units(group, arm_a, draw0), "b": _units(group, arm_b, draw0)}, axis=1).dropna()
            epochs = group.groupby(["arm_key", "base_id", "draw"])["epoch"].nunique()
            values = joined.to_numpy().ravel()
            binary = bool(len(values)) and bool(np.isin(values, (0.0, 1.0)).all()) and int(epochs.max()) == 1
            result = compare_arms(joined["a"].to_numpy(float), joined["b"].to_numpy(float), binary, seed)
            rows.append({"model": model, "task": task, "score": score, "arm_a": arm_a, "arm_b": arm_b, **result})
    table = pd.DataFrame(rows, columns=[c for c in COMPARISON_COLUMNS if c not in ("p_holm", "significant")])
    return _with_holm_and_equivalence(table, margin, alpha, power)


def _with_holm_and_equivalence(table: pd.DataFrame, margin: float, alpha: float, power: float) -> pd.DataFrame:
    table = table.copy()
    table["p_holm"], table["significant"] = math.nan, False
    tested = table["p_value"].notna()
    if tested.any():
        reject, corrected, _, _ = multipletests(table.loc[tested, "p_value"], alpha=alpha, method="holm")
        table.loc[tested, "p_holm"] = corrected
        table.loc[tested, "significant"] = reject
    table["significant"] = table["significant"].astype(bool)
    if table.empty:
        return table
    return equivalence_table(table, margin=margin, alpha=alpha, power=power)


def entity_scores(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per entity: mean score and counts; per (model, task, score): the omnibus test across entities)."""
    ents = frame[frame["arm"] == "entity"]
    per_entity = (
        ents.groupby(["model", "task", "score", "entity"], sort=True)
        .agg(n_samples=("value", "size"), n_failed=("status", lambda s: int((s == "failed").sum())),
             mean_score=("value", "mean"))
        .reset_index()
    )
    omnibus_rows: list[dict[str, Any]] = []
    for (model, task, score), group in ents.groupby(["model", "task", "score"], sort=True):
        scored = group[group["status"] == "scored"]
        wide = scored.pivot_table(index=["base_id", "draw"], columns="entity", values="value", aggfunc="mean").dropna()
        epochs = int(scored.groupby(["entity", "base_id"])["epoch"].nunique().max()) if len(scored) else 0
        binary = bool(len(wide)) and bool(np.isin(wide.to_numpy(), (0.0, 1.0)).all()) and epochs == 1
        row: dict[str, Any] = {"model": model, "task": task, "score": score, "n_entities": wide.shape[1],
                               "n_items": len(wide), "test": "", "statistic": math.nan, "p_value": math.nan, "note": ""}
        if wide.shape[1] < 2 or len(wide) < 2:
            row["note"] = "needs at least 2 entities and 2 items scored for every entity"
        elif binary:
            result = cochrans_q(wide.to_numpy().astype(int))
            row.update(test="Cochran's Q", statistic=float(result.statistic), p_value=float(result.pvalue))
        elif wide.shape[1] >= 3:
            result = friedmanchisquare(*[wide[c].to_numpy() for c in wide.columns])
            row.update(test="Friedman", statistic=float(result.statistic), p_value=float(result.pvalue))
        else:
            result = compare_arms(wide.iloc[:, 0].to_numpy(), wide.iloc[:, 1].to_numpy(), False)
            row.update(test="paired permutation", statistic=result["diff"], p_value=result["p_value"])
        omnibus_rows.append(row)
    omnibus = pd.DataFrame(omnibus_rows, columns=["model", "task", "score", "n_entities", "n_items", "test", "statistic",
                                                  "p_value", "note"])
    return per_entity, omnibus


def entity_vs_reference(frame: pd.DataFrame, *, margin: float = 0.05, alpha: float = 0.05, power: float = 0.8,
                        seed: int = 0) -> pd.DataFrame:
    """Each entity's framing against the reference arm (neutral, else bare), paired; Holm over the entities."""
    parts = []
    for (model, task, score), group in frame.groupby(["model", "task", "score"], sort=True):
        keys = set(group["arm_key"])
        reference = next((arm for arm in REFERENCE_ARMS if arm in keys), None)
        entities = sorted(k for k in keys if k.startswith(ENTITY_PREFIX))
        if reference is None or not entities:
            continue
        parts.append(arm_comparisons(group, [(e, reference) for e in entities], margin=margin, alpha=alpha,
                                     power=power, seed=seed))
    if not parts:
        return pd.DataFrame(columns=COMPARISON_COLUMNS)
    return pd.concat(parts, ignore_index=True)
