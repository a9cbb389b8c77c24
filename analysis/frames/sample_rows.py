"""One log's rows: what each sample of a paired-writing or judge-control log contributes.

`_read_log` turns one log into the rows of every frame (judged pairs, judge verdicts,
outputs, judge controls, recorded text features) as columns, from Inspect's sample
summaries when they hold everything and from full samples otherwise (`reading.py` says
when). It is a pure function of one file, so `read_frames` runs it in worker processes
and the frames cache keeps what it returns. The frame schemas are in `schemas.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from inspect_ai.log import EvalLog, EvalSample, EvalSampleSummary, read_eval_log, read_eval_log_sample_summaries

from utility_gap.analysis.frames.recorded_features import (
    FEATURES_SCORER,
    ROW_COLUMNS as FEATURE_ROW_COLUMNS,
    feature_rows,
    missing_sides,
    recorded_sides,
)
from utility_gap.analysis.frames.schemas import (
    _REQUIRED_SAMPLE_FIELDS,
    CONTROLS_SCHEMA,
    FLAGS,
    INTACT_ARM,
    JUDGE_VERDICTS_SCHEMA,
    JUDGED_PAIRS_SCHEMA,
    OUTPUTS_SCHEMA,
    WINNERS,
    FrameError,
    LogSummary,
)
from utility_gap.analysis.frames.validation import columns_of
from utility_gap.analysis.locations import file_size, relative_name

# Fields of EvalSample the frames never need; skipping them keeps 50k-sample reads fast.
_EXCLUDED_FIELDS = {"messages", "events", "store", "attachments"}
_BIG_LOG_BYTES = 20_000_000

DAMAGED_LOG_HINT = (
    "The file is damaged or was cut short (a killed run, a full disk): move it out of the log folder and rerun "
    "(in a `utility-gap run` folder, rerun that command with --quarantine-broken-logs to move it to DIR/broken/ "
    "and redo only its samples)."
)


def read_whole_log(path: str) -> EvalLog:
    """A log with its samples; a big log's events and messages are skipped.

    Skipping them costs time (a streaming parse) but bounds memory, so it is worth it
    only for big logs.
    """
    big = file_size(path) > _BIG_LOG_BYTES
    return read_eval_log(path, exclude_fields=_EXCLUDED_FIELDS if big else None)


def in_dataset_order(samples: Sequence[Any], log: EvalLog) -> list[Any]:
    """Samples in dataset order, then epoch, whichever way they were read."""
    order = {str(sample_id): i for i, sample_id in enumerate(log.eval.dataset.sample_ids or [])}
    return sorted(samples, key=lambda smp: (order.get(str(smp.id), len(order)), str(smp.id), smp.epoch))


# -- per-log extraction (runs in worker processes for many logs) ----------------------


@dataclass
class _LogRows:
    summary: LogSummary
    pairs: list[dict[str, Any]]
    verdicts: list[dict[str, Any]]
    outputs: list[dict[str, Any]]
    controls: list[dict[str, Any]]
    detail: bool = True  # per-judge rows (verdicts, rubric outputs, per-judge controls) wanted
    no_verdict: int = 0
    features: list[dict[str, Any]] | None = field(default_factory=list)  # None: some sample has no record


@dataclass
class _LogData:
    """A log's rows as columns (frame -> column -> values): what a worker returns and the cache keeps."""

    summary: LogSummary
    columns: dict[str, dict[str, list[Any]]]  # "pairs", "verdicts", "outputs", "controls"
    features: dict[str, list[Any]] | None  # features-frame columns; None: some sample lacks a record


_FRAME_SCHEMAS: dict[str, dict[str, tuple[str, bool]]] = {
    "pairs": JUDGED_PAIRS_SCHEMA,
    "verdicts": JUDGE_VERDICTS_SCHEMA,
    "outputs": OUTPUTS_SCHEMA,
    "controls": CONTROLS_SCHEMA,
}


def _as_columns(rows: _LogRows) -> _LogData:
    return _LogData(
        summary=rows.summary,
        columns={name: columns_of(getattr(rows, name), schema) for name, schema in _FRAME_SCHEMAS.items()},
        features=None if rows.features is None else columns_of(rows.features, FEATURE_ROW_COLUMNS),
    )


class _NeedFullSample(Exception):
    """A sample summary lacks what the judged-pairs frame needs; read the full samples."""


def _pairwise_score_name(sample: EvalSample | EvalSampleSummary, log: str, scorer: str | None) -> str | None:
    scores = sample.scores or {}
    if scorer is not None:
        return scorer if scorer in scores else None
    # a pairwise panel score has a winner and judges (a rubric score has judges, no winner)
    names = [
        n for n, s in scores.items() if isinstance(s.metadata, dict) and "judges" in s.metadata and "winner" in s.metadata
    ]
    if not names:
        return None
    if len(names) > 1:
        raise FrameError(
            f"{log}: sample {sample.id} has {len(names)} pairwise panel scores ({', '.join(names)}), "
            "e.g. after re-judging with `inspect score`. Choose one with scorer=... "
            "(`utility-gap report --scorer NAME`)."
        )
    return names[0]


def _need(metadata: dict[str, Any], key: str, log: str, sample: EvalSample | EvalSampleSummary, where: str) -> Any:
    if key not in metadata:
        raise FrameError(
            f"{log}: sample {sample.id} (epoch {sample.epoch}) has no {where}['{key}']; "
            "paired-writing logs must follow the Sample/Score metadata contract in "
            "docs/architecture.md (written by utility_gap's writing tasks and judge_panel scorer)."
        )
    return metadata[key]


def _outcome(value: Any) -> tuple[str | None, float]:
    if isinstance(value, dict):
        utility = value.get("utility")
        return value.get("id"), float(utility) if utility is not None else np.nan
    return None, np.nan


def _side_flags(score_md: dict[str, Any], sample_md: dict[str, Any]) -> dict[str, dict[str, Any]]:
    flags = score_md.get("flags")
    if isinstance(flags, dict) and flags:
        return flags
    pair = sample_md.get("pair") or {}
    return {side: (pair.get(side) or {}).get("flags") or {} for side in ("a", "b")}


def _pair_rows(
    sample: EvalSample | EvalSampleSummary, score_name: str, log: str, model: str, partial: bool, rows: _LogRows,
    panel: str = "",
) -> None:
    md = sample.metadata or {}
    for key in _REQUIRED_SAMPLE_FIELDS:
        _need(md, key, log, sample, "Sample.metadata")
    score = (sample.scores or {})[score_name]
    smd = score.metadata or {}
    winner = smd.get("winner", score.answer)
    judges = _need(smd, "judges", log, sample, f"Score.metadata of '{score_name}'")
    pair_key = f"{log}::{sample.id}::{sample.epoch}"
    if isinstance(judges, list):
        n_judges, n_missing = len(judges), sum(1 for j in judges if j.get("verdict") is None)
        if rows.detail:
            _verdict_rows(judges, pair_key, model, md, rows)
    elif "n_judges" in smd and "n_missing" in smd:  # a summary: the judges list was thinned away
        n_judges, n_missing = int(smd["n_judges"]), int(smd["n_missing"])
        if rows.detail:
            _compact_verdict_rows(_compact(smd), pair_key, model, md, rows)
    else:
        raise _NeedFullSample
    if winner is None:  # every judge missing: no panel verdict, counted, not a row
        rows.no_verdict += 1
        return
    if winner not in WINNERS:
        raise FrameError(
            f"{log}: sample {sample.id} (epoch {sample.epoch}) has panel winner {winner!r}; "
            "expected 'a', 'b' or 'tie' in Score.metadata['winner']."
        )
    outcome_a, utility_a = _outcome(md.get("outcome_a"))
    outcome_b, utility_b = _outcome(md.get("outcome_b"))
    diff = md.get("utility_diff")
    flags = _side_flags(smd, md)
    chrf = smd.get("chrf") or {}
    rows.pairs.append(
        {
            "log": log,
            "sample_id": str(sample.id),
            "epoch": int(sample.epoch),
            "pair_key": pair_key,
            "model": model,
            "task": md["task"],
            "item_id": str(md["item_id"]),
            "contrast": md["contrast"],
            "arm_a": md["arm_a"],
            "arm_b": md["arm_b"],
            "draw": md.get("draw"),
            "repeat": md.get("repeat"),
            "domain": md.get("domain"),
            "outcome_a": outcome_a,
            "outcome_b": outcome_b,
            "utility_a": utility_a,
            "utility_b": utility_b,
            "utility_diff": float(diff) if diff is not None else utility_a - utility_b,
            "winner": winner,
            "first_shown": smd.get("first_shown"),
            "n_judges": n_judges,
            "n_missing": n_missing,
            **{
                f"flag_{name}": bool((flags.get("a") or {}).get(name)) or bool((flags.get("b") or {}).get(name))
                for name in FLAGS
            },
            "chrf_a": float(chrf["a"]) if chrf.get("a") is not None else np.nan,
            "chrf_b": float(chrf["b"]) if chrf.get("b") is not None else np.nan,
            "partial_log": partial,
            "judges": panel or None,
        }
    )


def _output_rows(sample: EvalSample | EvalSampleSummary, log: str, model: str, rows: _LogRows) -> int:
    """Rubric rows of one sample; returns how many."""
    md = sample.metadata or {}
    pair_key = f"{log}::{sample.id}::{sample.epoch}"
    before = len(rows.outputs)
    for other in (sample.scores or {}).values():
        rubric = (other.metadata or {}).get("rubric") if isinstance(other.metadata, dict) else None
        if isinstance(rubric, str):  # a summary dropped it (over 1 kB): read the full sample
            raise _NeedFullSample
        if not isinstance(rubric, dict):
            continue
        for key in _REQUIRED_SAMPLE_FIELDS:
            _need(md, key, log, sample, "Sample.metadata")
        for side in ("a", "b"):
            for judge, criteria in (rubric.get(side) or {}).items():
                for criterion, value in (criteria or {}).items():
                    rows.outputs.append(
                        {
                            "pair_key": pair_key,
                            "model": model,
                            "task": md["task"],
                            "item_id": str(md["item_id"]),
                            "contrast": md["contrast"],
                            "side": side,
                            "arm": md["arm_a"] if side == "a" else md["arm_b"],
                            "judge": str(judge),
                            "criterion": str(criterion),
                            "score": float(value) if value is not None else np.nan,
                        }
                    )
    return len(rows.outputs) - before


def _verdict_rows(
    judges: list[dict[str, Any]], pair_key: str, model: str, md: dict[str, Any], rows: _LogRows
) -> None:
    for judge in judges:
        for presentation in judge.get("presentations") or []:
            rows.verdicts.append(
                {
                    "pair_key": pair_key,
                    "model": model,
                    "task": md["task"],
                    "contrast": md["contrast"],
                    "judge": str(judge.get("judge")),
                    "order": presentation.get("order"),
                    "parsed": presentation.get("parsed"),
                    "winner": presentation.get("winner"),
                    "judge_verdict": judge.get("verdict"),
                    "n_attempts": len(presentation.get("raw") or []),
                }
            )


def _compact(score_md: dict[str, Any]) -> list[list[Any]]:
    """The score's `verdict_rows` (see scorers/judge_panel.py), or read the full sample.

    Older logs lack them, and a large panel's rows may exceed the 1 kB that Inspect keeps
    of a metadata value in a sample summary.
    """
    compact = score_md.get("verdict_rows")
    if not isinstance(compact, list) or any(not isinstance(r, list) or len(r) != 6 for r in compact):
        raise _NeedFullSample
    return compact


def _compact_verdict_rows(
    compact: list[list[Any]], pair_key: str, model: str, md: dict[str, Any], rows: _LogRows
) -> None:
    for judge, order, parsed, winner, judge_verdict, n_attempts in compact:
        rows.verdicts.append(
            {
                "pair_key": pair_key,
                "model": model,
                "task": md["task"],
                "contrast": md["contrast"],
                "judge": str(judge),
                "order": order,
                "parsed": parsed,
                "winner": winner,
                "judge_verdict": judge_verdict,
                "n_attempts": int(n_attempts),
            }
        )


def _judge_verdicts(score_md: dict[str, Any], detail: bool) -> list[tuple[str, Any]]:
    """(judge, verdict) per judge, from the judges list or, in a summary, its compact rows."""
    if not detail:
        return []
    judges = score_md.get("judges")
    if isinstance(judges, list):
        return [(str(j.get("judge")), j.get("verdict")) for j in judges]
    seen: dict[str, Any] = {}
    for judge, _, _, _, judge_verdict, _ in _compact(score_md):
        seen.setdefault(str(judge), judge_verdict)
    return list(seen.items())


def _control_rows(sample: EvalSample | EvalSampleSummary, score_name: str, log: str, rows: _LogRows) -> None:
    md = sample.metadata or {}
    sides = [side for side in ("a", "b") if md.get(f"arm_{side}") == INTACT_ARM]
    if len(sides) != 1:
        raise FrameError(
            f"{log}: judge-control sample {sample.id} has arm_a={md.get('arm_a')!r}, arm_b={md.get('arm_b')!r}; "
            f"exactly one side must be the '{INTACT_ARM}' arm."
        )
    intact = sides[0]
    damage = str(_need(md, "damage", log, sample, "Sample.metadata"))
    smd = (sample.scores or {})[score_name].metadata or {}
    pair_key = f"{log}::{sample.id}::{sample.epoch}"
    verdicts = [("panel", smd.get("winner"))] + _judge_verdicts(smd, rows.detail)
    for judge, verdict in verdicts:
        rows.controls.append(
            {
                "log": log,
                "pair_key": pair_key,
                "damage": damage,
                "judge": judge,
                "verdict": verdict,
                "correct": None if verdict is None else verdict == intact,
            }
        )


def _recorded_feature_rows(sample: EvalSample | EvalSampleSummary, log: str, model: str, rows: _LogRows) -> None:
    """Features-frame rows of a sample from its `output_features` record; none at all for the log if one lacks it."""
    md = sample.metadata or {}
    if rows.features is None or "contrast" not in md:  # the texts frame has rows for paired-writing samples only
        return
    if "pair" in md:  # it wrote outputs (the summary shows the key even when it thins the value away)
        score = (sample.scores or {}).get(FEATURES_SCORER)
        sides = recorded_sides(score.metadata) if score is not None else None
        if sides is None:
            rows.features = None
            return
    else:  # failed before writing: both outputs missing, as the texts frame counts them
        sides = missing_sides(md)
    rows.features.extend(feature_rows(sides, md, f"{log}::{sample.id}::{sample.epoch}", log, model))


def _read_log(path: str, base: str, kind: str, scorer: str | None, detail: bool, summaries: bool = True) -> _LogData:
    """Rows of one log: from sample summaries (fast) when they hold everything, else full samples."""
    if summaries:
        try:
            return _as_columns(_rows_of(path, base, kind, scorer, detail=detail, full=False))
        except _NeedFullSample:
            pass
    return _as_columns(_rows_of(path, base, kind, scorer, detail=detail, full=True))


def _rows_of(path: str, base: str, kind: str, scorer: str | None, detail: bool, full: bool) -> _LogRows:
    log_name = relative_name(path, base)
    try:
        if full:
            log = read_whole_log(path)
            samples: Sequence[EvalSample | EvalSampleSummary] = log.samples or []
        else:
            log = read_eval_log(path, header_only=True)
            samples = read_eval_log_sample_summaries(path)
    except Exception as ex:  # a corrupt or unreadable file: name it
        raise FrameError(f"Could not read log '{path}': {ex}. {DAMAGED_LOG_HINT}") from ex
    spec = log.eval
    samples = in_dataset_order(samples, log)
    n_expected = len(spec.dataset.sample_ids or []) * (spec.config.epochs or 1) or (spec.dataset.samples or 0)
    partial = log.status != "success" or len(samples) < n_expected
    summary_args = dict(
        log=log_name,
        kind=kind,
        task=spec.task,
        model=spec.model,
        status=log.status,
        partial=partial,
        n_expected=n_expected,
        n_samples=len(samples),
        created=str(spec.created),
        task_args=dict(spec.task_args or {}),
        model_args=dict(spec.model_args or {}),
        model_roles={
            role: (cfg.model if not isinstance(cfg, list) else ", ".join(c.model for c in cfg))
            for role, cfg in (spec.model_roles or {}).items()
        },
        generate_config=spec.model_generate_config.model_dump(exclude_none=True),
    )
    # the panel: the eval's judge role(s), else the model under test judges (scorers/judge_panel.py)
    roles: dict[str, str] = summary_args["model_roles"]  # type: ignore[assignment]
    panel = ", ".join(models for role, models in roles.items() if role.startswith("judge")) or spec.model
    rows = _LogRows(summary=None, pairs=[], verdicts=[], outputs=[], controls=[], detail=detail)  # type: ignore[arg-type]
    unscored = 0
    used_scorer = ""
    for sample in samples:
        if kind == "pairs":
            _recorded_feature_rows(sample, log_name, spec.model, rows)
        name = _pairwise_score_name(sample, log_name, scorer)
        n_outputs = _output_rows(sample, log_name, spec.model, rows) if kind == "pairs" and detail else 0
        if name is None:
            unscored += n_outputs == 0
            continue
        used_scorer = used_scorer or name
        if kind == "pairs":
            _pair_rows(sample, name, log_name, spec.model, partial, rows, panel)
        else:
            _control_rows(sample, name, log_name, rows)
    n_rows = len(rows.pairs) if kind == "pairs" else len({r["pair_key"] for r in rows.controls})
    rows.summary = LogSummary(
        **summary_args, n_rows=n_rows, n_unscored=unscored, n_no_verdict=rows.no_verdict, scorer=used_scorer
    )
    return rows
