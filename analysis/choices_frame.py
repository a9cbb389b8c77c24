"""Elicitation logs -> the choices frame the Thurstonian fit takes.

Logs are found and read with `inspect_ai.log` (`list_eval_logs`, `read_eval_log`);
only logs of `preference_elicitation` are used, and by default only successful ones.

Choices frame: one row per (sample, presentation order). Columns:

- `log` (str): log file; `round` (int or -1): the driver's round (eval metadata);
  `model` (str); `domain` (str); `sample_id` (str); `epoch` (int)
- `outcome_a`, `outcome_b` (str): the pair (canonical order); `text_a`, `text_b`
- `order` (`ab` | `ba`): `ab` showed outcome_a as option A
- `heldout` (bool): a held-out pair, never trained on
- `n_first`, `n_second` (float): parsed votes for outcome_a / outcome_b (a logprob
  read is one soft vote split by P(A))
- `said_a`, `said_b` (float): parsed votes by letter (position)
- `n_refusal`, `n_unparseable` (int): answers kept but not parsed
- `method` (`sample` | `logprob`); `p_a` (float or NaN): P(A) in logprob mode;
  `logprob_letters` (`both` | `A` | `B` | ``): which letters the logprob read found among
  the top tokens (`` for sampled draws; logs written before this was recorded read `both`);
  `logprob_fallback` (bool): this order fell back to sampling
- `calls` (int): model calls (API requests) for this order; `completions` (int): answers
  generated for it (K when sampling, 1 for a logprob read)
- `error` (str or None): the sample's error, if it failed (its counts are then 0)
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Iterable

import pandas as pd
from inspect_ai.log import EvalLog, EvalLogInfo, list_eval_logs, read_eval_log

from utility_gap.analysis.locations import location

ELICITATION_TASK = "preference_elicitation"
SCORER_NAME = "forced_choice_tally"

COLUMNS: tuple[str, ...] = (
    "log", "round", "model", "domain", "sample_id", "epoch", "outcome_a", "outcome_b",
    "text_a", "text_b", "order", "heldout", "n_first", "n_second", "said_a", "said_b",
    "n_refusal", "n_unparseable", "method", "p_a", "logprob_letters", "logprob_fallback", "calls", "completions",
    "error",
)


def is_elicitation_log(log: EvalLog) -> bool:
    return log.eval.task.split("/")[-1] == ELICITATION_TASK


def elicitation_logs(log_dir: str | Path, *, successful_only: bool = True) -> list[EvalLogInfo]:
    """Elicitation logs in a directory (headers only are read to filter them)."""
    found = []
    for info in list_eval_logs(str(log_dir), recursive=True):
        header = read_eval_log(info, header_only=True)
        if not is_elicitation_log(header):
            continue
        if successful_only and header.status != "success":
            continue
        found.append(info)
    return found


def _log_rows(log: EvalLog, name: str) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    round_no = int((log.eval.metadata or {}).get("round", -1))
    domain = str((log.eval.metadata or {}).get("domain", (log.eval.task_args or {}).get("domain", "")))
    for sample in log.samples or []:
        meta = sample.metadata
        score = (sample.scores or {}).get(SCORER_NAME)
        orders = (score.metadata or {}).get("orders", {}) if score is not None else {}
        fallback = set((score.metadata or {}).get("logprob_fallback", [])) if score is not None else set()
        method = (score.metadata or {}).get("method", "sample") if score is not None else "sample"
        for order in ("ab", "ba"):
            entry = orders.get(order, {})
            p_a = entry.get("p_a")
            if p_a is not None:
                p_first = p_a if order == "ab" else 1.0 - p_a
                n_first, n_second, said_a, said_b = p_first, 1.0 - p_first, p_a, 1.0 - p_a
                refusal = unparseable = 0
                calls = int(entry.get("calls", 1))
            else:
                n_first, n_second = float(entry.get("first", 0)), float(entry.get("second", 0))
                said_a, said_b = float(entry.get("said_a", 0)), float(entry.get("said_b", 0))
                refusal, unparseable = int(entry.get("refusal", 0)), int(entry.get("unparseable", 0))
                calls = int(entry.get("calls", len(entry.get("raw", []))))
            rows.append(
                {
                    "log": name,
                    "round": round_no,
                    "model": log.eval.model,
                    "domain": meta.get("domain", domain),
                    "sample_id": str(sample.id),
                    "epoch": sample.epoch,
                    "outcome_a": meta["outcome_a"],
                    "outcome_b": meta["outcome_b"],
                    "text_a": meta["text_a"],
                    "text_b": meta["text_b"],
                    "order": order,
                    "heldout": bool(meta.get("heldout", False)),
                    "n_first": n_first,
                    "n_second": n_second,
                    "said_a": said_a,
                    "said_b": said_b,
                    "n_refusal": refusal,
                    "n_unparseable": unparseable,
                    "method": method,
                    "p_a": math.nan if p_a is None else float(p_a),
                    "logprob_letters": "" if p_a is None else str(entry.get("letters", "both")),
                    "logprob_fallback": order in fallback,
                    "calls": calls,
                    "completions": len(entry.get("raw", [])),
                    "error": sample.error.message if sample.error is not None else None,
                }
            )
    return rows


def choices_frame(logs: str | Path | Iterable[str | Path | EvalLogInfo], *, successful_only: bool = True) -> pd.DataFrame:
    """Read elicitation logs (a directory, or log paths) into the choices frame."""
    if isinstance(logs, (str, Path)) and location(logs).is_dir():
        sources: list[str | Path | EvalLogInfo] = list(elicitation_logs(logs, successful_only=successful_only))
    elif isinstance(logs, (str, Path)):
        sources = [logs]
    else:
        sources = list(logs)
    rows: list[dict[str, object]] = []
    for source in sources:
        log = read_eval_log(source if isinstance(source, EvalLogInfo) else str(source))
        if not is_elicitation_log(log):
            continue
        if successful_only and log.status != "success":
            continue
        name = source.name if isinstance(source, EvalLogInfo) else str(source)
        name = name[len("file://") :] if name.startswith("file://") else name
        rows.extend(_log_rows(log, name))
    return pd.DataFrame(rows, columns=list(COLUMNS))
