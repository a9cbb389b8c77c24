"""Synthetic judged-pairs logs, written without any model call.

Why: the report and its benchmark need logs of the paired-writing contract at a
scale (tens of thousands of pairs) that no test can afford to generate through
`eval()`. These are real Inspect `EvalLog` objects written with `write_eval_log`,
whose `Sample.metadata` and `Score.metadata` follow `scorers/judge_panel.py`'s
contract (see docs/architecture.md), with a planted effect per contrast:

    quality(side) = item effect + shift[arm] + noise
    a judge's winner in one presentation = sign(q_a - q_b + judge noise +/- position bias)
    a judge's verdict = its winner if both presentations agree, else "tie"
    panel winner = plurality of judge verdicts; a split is a tie.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np

from inspect_ai.log import (
    EvalConfig,
    EvalDataset,
    EvalLog,
    EvalSample,
    EvalSpec,
    write_eval_log,
)
from inspect_ai.model import ModelConfig
from inspect_ai.scorer import Score

_FILLER = (
    "The argument opens with a plain statement of the question and why it matters.",
    "Each claim is supported by a concrete example that a general reader can check.",
    "The trade-offs are laid out before the conclusion is drawn.",
    "A short summary closes the piece and returns to the opening question.",
)


@dataclass
class SyntheticRun:
    """One synthetic log: a model, a writing task and one contrast with a planted shift."""

    model: str = "simulated/writer"
    task: str = "essay"
    contrast: str = "exhort_vs_neutral"
    shift: float = 0.0  # planted quality of arm a minus arm b
    n_items: int = 30
    repeats: int = 1
    judges: tuple[str, ...] = ("simulated/judge-1", "simulated/judge-2", "simulated/judge-3")
    judge_sd: float = 0.5
    position_bias: float = 0.0  # added to whichever side is shown first
    utility_slope: float = 0.0  # for utility_* contrasts: quality per unit utility
    flag_rate: float = 0.0  # share of sides flagged (each flag independently)
    missing_rate: float = 0.0  # share of judge presentations that cannot be parsed
    always: str | None = None  # "1" / "2": every judge always answers this (a broken panel)
    output_words: int = 40
    status: str = "success"  # "error" / "cancelled" write a partial log
    completed_share: float = 1.0  # for partial logs: share of samples present
    seed: int = 0
    extra_judges: dict[str, float] = field(default_factory=dict)


def _arms(contrast: str) -> tuple[str, str]:
    arm_a, sep, arm_b = contrast.partition("_vs_")
    if not sep or not arm_a or not arm_b:
        raise ValueError(f"Contrast '{contrast}' is not '<armA>_vs_<armB>'.")
    return arm_a, arm_b


def _text(rng: np.random.Generator, words: int) -> str:
    sentences: list[str] = []
    while sum(len(s.split()) for s in sentences) < words:
        sentences.append(_FILLER[int(rng.integers(len(_FILLER)))])
    return " ".join(sentences)


def _presentation_winner(z: float, order: str) -> tuple[str, str]:
    """(parsed label, winner side) for a latent margin z = q_shown_first - q_shown_second."""
    parsed = "1" if z > 0 else "2"
    first, second = ("a", "b") if order == "ab" else ("b", "a")
    return parsed, first if parsed == "1" else second


def _sample(run: SyntheticRun, index: int, item: int, repeat: int, rng: np.random.Generator) -> EvalSample:
    arm_a, arm_b = _arms(run.contrast)
    utility_arms = arm_a.startswith("utility") or arm_b.startswith("utility")
    item_effect = 0.5 * float(np.random.default_rng([run.seed, item]).standard_normal())
    outcome_a = outcome_b = None
    u_a = u_b = 0.0
    if utility_arms:
        u_a, u_b = float(rng.uniform(0.5, 2.0)), float(rng.uniform(-2.0, -0.5))
        outcome_a = {"id": f"demo/outcome-{int(rng.integers(40))}", "text": "An outcome.", "utility": u_a}
        outcome_b = {"id": f"demo/outcome-{40 + int(rng.integers(40))}", "text": "Another outcome.", "utility": u_b}
    q = {
        "a": item_effect + run.shift + run.utility_slope * u_a + 0.3 * rng.standard_normal(),
        "b": item_effect + run.utility_slope * u_b + 0.3 * rng.standard_normal(),
    }
    flags = {
        side: {name: bool(rng.random() < run.flag_rate) for name in ("empty", "truncated", "refusal", "leak")}
        for side in ("a", "b")
    }
    first_shown = "a" if rng.random() < 0.5 else "b"
    orders = ("ab", "ba") if first_shown == "a" else ("ba", "ab")
    judges = []
    for judge in run.judges:
        presentations = []
        for order in orders:
            first, second = ("a", "b") if order == "ab" else ("b", "a")
            if rng.random() < run.missing_rate:
                presentations.append(
                    {"order": order, "raw": ["Both have merit.", "Both have merit."], "parsed": None, "winner": None}
                )
                continue
            if run.always is not None:
                parsed = run.always
                winner = first if parsed == "1" else second
            else:
                z = q[first] - q[second] + run.position_bias + run.judge_sd * rng.standard_normal()
                parsed, winner = _presentation_winner(z, order)
            raw = f"VERDICT: {parsed.upper()}\nREASON: Response {parsed} does the task better."
            presentations.append({"order": order, "raw": [raw], "parsed": parsed, "winner": winner})
        winners = [p["winner"] for p in presentations if p["winner"] is not None]
        verdict = None if not winners else winners[0] if len(set(winners)) == 1 and len(winners) == 2 else (
            "tie" if len(winners) == 2 else None
        )
        judges.append({"judge": judge, "verdict": verdict, "presentations": presentations})
    counts = Counter(j["verdict"] for j in judges if j["verdict"] is not None)
    top = counts.most_common()
    winner = "tie" if not top or (len(top) > 1 and top[0][1] == top[1][1]) else top[0][0]
    task_prompt = f"Write a short {run.task.replace('_', ' ')} on topic {item}."
    metadata = {
        "task": run.task,
        "item_id": f"{run.task}-{item:03d}",
        "task_prompt": task_prompt,
        "axis": "Clarity, accuracy and structure.",
        "criteria": ["clarity", "structure"],
        "reference": None,
        "contrast": run.contrast,
        "arm_a": arm_a,
        "arm_b": arm_b,
        "draw": 0,
        "repeat": repeat,
        "domain": "demo" if utility_arms else None,
        "outcome_a": outcome_a,
        "outcome_b": outcome_b,
        "utility_diff": (u_a - u_b) if utility_arms else None,
        "pair": {
            side: {
                "arm": arm,
                "prompt": f"[{arm}] {task_prompt}",
                "output": _text(rng, run.output_words),
                "stop_reason": "stop",
                "flags": flags[side],
            }
            for side, arm in (("a", arm_a), ("b", arm_b))
        },
    }
    rubric = {
        side: {j: {c: int(np.clip(round(5.5 + 1.5 * q[side] + rng.standard_normal()), 1, 10)) for c in metadata["criteria"]}
               for j in run.judges}
        for side in ("a", "b")
    }
    value = {"a": 1.0, "b": 0.0, "tie": 0.5}[winner]
    scores = {
        "judge_panel": Score(
            value=value,
            answer=winner,
            metadata={
                "winner": winner,
                "first_shown": first_shown,
                "judges": judges,
                "n_judges": len(judges),
                "n_missing": sum(1 for j in judges if j["verdict"] is None),
                "n_retries": 0,
                "flags": flags,
                "chrf": {side: float(50 + 10 * q[side]) for side in ("a", "b")} if run.task == "translation" else None,
                "panel_warning": None,
            },
        ),
        "judge_rubric": Score(value=float(np.mean([v for s in rubric.values() for j in s.values() for v in j.values()])),
                              metadata={"rubric": rubric}),
    }
    return EvalSample(
        id=index, epoch=1, input=task_prompt, target="", metadata=metadata, scores=scores
    )


def synthetic_log(run: SyntheticRun) -> EvalLog:
    """An `EvalLog` of `run.n_items * run.repeats` judged pairs."""
    rng = np.random.default_rng([run.seed, len(run.contrast), len(run.task)])
    n = run.n_items * run.repeats
    keep = n if run.status == "success" else int(round(n * run.completed_share))
    samples = [
        _sample(run, index + 1, index % run.n_items, index // run.n_items, rng)
        for index in range(keep)
    ]
    spec = EvalSpec(
        created=datetime.now(timezone.utc).isoformat(),
        task=f"utility_gap/{run.task}",
        task_args={"contrasts": [run.contrast], "repeats": run.repeats},
        dataset=EvalDataset(name=run.task, samples=n, sample_ids=list(range(1, n + 1))),
        model=run.model,
        model_roles={
            f"judge_{i + 1}": ModelConfig(model=judge) for i, judge in enumerate(run.judges)
        },
        config=EvalConfig(epochs=1),
        scorers=[{"name": "utility_gap/judge_panel"}, {"name": "utility_gap/judge_rubric"}],  # type: ignore[list-item]  # validated into EvalScorer
    )
    return EvalLog(status=run.status, eval=spec, samples=samples)  # type: ignore[arg-type]


def write_synthetic_logs(log_dir: str, runs: list[SyntheticRun]) -> list[str]:
    """Write one `.eval` log per run into `log_dir`; returns their paths."""
    os.makedirs(log_dir, exist_ok=True)
    paths = []
    for index, run in enumerate(runs):
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H-%M-%S")
        path = os.path.join(
            log_dir, f"{stamp}+00-00_{run.task}-{run.contrast}-{index:03d}_{run.seed:04d}.eval"
        )
        write_eval_log(synthetic_log(run), path)
        paths.append(path)
    return paths


def write_unrelated_log(path: str, task: str = "some_other_suite/arithmetic") -> str:
    """A one-sample log of another task (a `match` scorer, no judge panel): what the frames skip."""
    spec = EvalSpec(
        created=datetime.now(timezone.utc).isoformat(),
        task=task,
        dataset=EvalDataset(name="sums", samples=1, sample_ids=[1]),
        model="simulated/any",
        config=EvalConfig(),
        scorers=[{"name": "match"}],  # type: ignore[list-item]
    )
    sample = EvalSample(id=1, epoch=1, input="2+2?", target="4", scores={"match": Score(value="C")})
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    write_eval_log(EvalLog(status="success", eval=spec, samples=[sample]), path)
    return path


def planted_logs(log_dir: str, n_items: int = 20) -> list[str]:
    """A report's worth of logs: a planted effect (exhort +0.8), a planted null (amount 0.0), a
    utility contrast and a translation task (chrF)."""
    runs = [
        SyntheticRun(task=task, contrast=contrast, shift=shift, n_items=n_items, repeats=2, seed=seed, flag_rate=0.02)
        for seed, (task, contrast, shift) in enumerate(
            [
                ("essay", "exhort_vs_neutral", 0.8),
                ("grant_abstract", "exhort_vs_neutral", 0.8),
                ("essay", "amount_high_vs_amount_low", 0.0),
                ("grant_abstract", "amount_high_vs_amount_low", 0.0),
                ("essay", "utility_high_vs_utility_low", 0.0),
                ("translation", "exhort_vs_neutral", 0.8),
            ]
        )
    ]
    return write_synthetic_logs(log_dir, runs)
