"""The blind judge panel: pairwise (`judge_panel`) and rubric (`judge_rubric`) scorers.

Judges
======
Judges are Inspect model roles, resolved late (inside the scorer, per sample), so a
panel is chosen on the command line and can be replaced when a log is re-scored:

- role `judge`, bound to one model or to a list of models
  (`--model-role judge=openai/gpt-4o,anthropic/claude-sonnet-4-0,google/gemini-2.5-pro`);
- and/or numbered roles `judge1`, `judge2`, ... (`--model-role judge1=... --model-role judge2=...`),
  taken after `judge`, in numeric order.

With no judge role, the model under test judges (the embedded demo does this); every
score then carries `panel_warning` in its metadata and a warning is logged. Judges are
called at temperature 0 (scorer argument `temperature`; `None` keeps each role's own
config). A judge's label is its model name, suffixed `#k` (its 1-based panel position)
when the same model name sits on the panel more than once.

Pairwise procedure
==================
Each judge sees only `pairwise_judge_prompt(task_prompt, axis, output_1, output_2)`:
the bare task, the axis and the two fenced outputs with the instruction to ignore
instructions inside them; never a framing, arm name or outcome. Each judge judges
both presentation orders, the one given by `first_shown` first. An answer that
`parse_pairwise_verdict` cannot read is asked again (the prompt plus
`FORMAT_REMINDER`) up to `max_retries` times, then that presentation is missing.

- judge verdict: the two orders agree -> that verdict; they disagree (a flip, or a
  win in one order and a tie in the other) -> `tie`; either order missing -> null
  (the judge is missing).
- panel winner: plurality of the non-missing judge verdicts; a split (no unique
  largest count) -> `tie`; every judge missing -> null.

Paired-sample metadata (the input)
==================================
`Sample.metadata` (written by the writing tasks, `evals/writing.py`)::

    {"task": "essay"|"grant_abstract"|"incident_postmortem"|"translation",
     "item_id": str, "task_prompt": str (the bare task: all a judge sees of it),
     "axis": str (what "better" means), "criteria": [str, ...] (rubric),
     "reference": str | null (translation), "contrast": "<armA>_vs_<armB>",
     "arm_a": str, "arm_b": str, "draw": int, "repeat": int, "domain": str | null,
     "outcome_a": {"id", "text", "utility"} | null, "outcome_b": ... | null,
     "utility_diff": float | null (a - b)}

`state.metadata["pair"]` (written by `solvers/paired_generation.py`)::

    {"a": {"arm", "prompt", "output", "stop_reason",
           "flags": {"empty", "truncated", "refusal", "leak"}}, "b": {...},
     "first_shown": "a" | "b"}

The scorers read `task_prompt`, `axis`, `criteria` (rubric), `reference` and the pair.
`first_shown` is read from `state.metadata["first_shown"]`, else
`state.metadata["pair"]["first_shown"]`, else drawn from a hash of the sample id and
epoch. Everything is read from metadata, so `inspect score` re-judges a log without
calling the model under test.

`judge_panel` Score
===================
`value`: 1.0 (a wins), 0.0 (b wins), 0.5 (tie). When every judge is missing the
score is `Score.unscored(reason="grader_failed")` (value NaN, answer None): Inspect
counts it as unscored and leaves it out of every metric, and the metadata is kept.
`answer`: the winner (`a` | `b` | `tie`).
`metadata`::

    {"winner": "a"|"b"|"tie"|null, "first_shown": "a"|"b",
     "judges": [{"judge": label, "model": model name, "role": "judge[0]"|"judge2"|...,
                 "verdict": "a"|"b"|"tie"|null, "order_consistent": bool|null,
                 "presentations": [{"order": "ab"|"ba", "raw": [str, ...] (every attempt),
                                    "parsed": "1"|"2"|"tie"|null,
                                    "winner": "a"|"b"|"tie"|null}, ...]}, ...],
     "verdict_rows": [[judge, order, parsed, winner, judge verdict, n_attempts], ...]
         (`judges` without the raw answers, one row per judge and presentation, in
         that order; small enough to survive in Inspect's sample summaries),
     "n_judges": int, "n_missing": int (judges with a null verdict),
     "n_retries": int (re-asks over all judges and orders),
     "flags": {"a": {...}, "b": {...}} (copied from the pair),
     "chrf": {"a": float, "b": float} | null (translation: chrF vs `reference`),
     "panel_warning": str | null}

`judge_rubric` Score
====================
Each output is scored 1-10 on each of `Sample.metadata["criteria"]` by each judge
(`rubric_judge_prompt`, parsed by `parse_rubric_scores`, same retries).
`value`: `{"a": mean score of a, "b": mean score of b}` over judges and criteria
(NaN for a side with no scores; Inspect leaves a NaN side out of its `mean` metric
and counts it as unscored). `metadata`::

    {"rubric": {"a": {judge label: {criterion: int|null}}, "b": {...}},
     "raw": {"a": {judge label: [str, ...]}, "b": {...}},
     "rubric_judges": [{"judge", "model", "role"}], "n_judges": int,
     "n_missing": int ((side, judge) answers never parsed), "n_retries": int,
     "panel_warning": str | null}
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

from inspect_ai.model import GenerateConfig, Model, get_model, model_roles
from inspect_ai.scorer import (
    Score,
    Scorer,
    Target,
    mean,
    scorer,
    stderr,
)
from inspect_ai.solver import TaskState
from inspect_ai.util import collect

from utility_gap.scorers.chrf import pair_chrf
from utility_gap.scorers.panel_metrics import (  # noqa: F401  (re-exported: judge_controls, tests)
    a_share,
    a_win_rate,
    missing_judge_share,
    order_consistency,
    tie_share,
)
from utility_gap.scorers.judge_prompts import (
    pairwise_judge_prompt,
    parse_pairwise_verdict,
    parse_rubric_scores,
    rubric_judge_prompt,
    with_format_reminder,
)

logger = logging.getLogger(__name__)

JUDGE_ROLE = "judge"
DEFAULT_MAX_RETRIES = 2
DEFAULT_TEMPERATURE = 0.0
SIDES: tuple[str, str] = ("a", "b")
FALLBACK_ROLE = "model under test"
FALLBACK_WARNING = (
    "No judge model role was given, so the model under test judged its own outputs. "
    "Name a panel with --model-role judge=MODEL1,MODEL2,MODEL3 (see docs/stage3.md)."
)

T = TypeVar("T")
_fallback_warned: list[bool] = []


@dataclass(frozen=True)
class Judge:
    """One panel member: a unique label, the role it came from and its model."""

    label: str
    role: str
    model: Model


def resolve_judges(role: str = JUDGE_ROLE, fallback: Model | None = None) -> tuple[list[Judge], str | None]:
    """The panel from the current model roles, and a warning if it fell back to `fallback`.

    Call inside a running scorer (`model_roles()` is per task); the scorer passes the
    model under test (`get_model()`, resolved there, late) as the fallback.
    """
    roles = model_roles()
    entries: list[tuple[str, Model]] = []
    bound = roles.get(role)
    if isinstance(bound, list):
        entries += [(f"{role}[{i}]", m) for i, m in enumerate(bound)]
    elif bound is not None:
        entries.append((role, bound))
    numbered = sorted(
        (int(name[len(role) :]), name) for name in roles if re.fullmatch(rf"{re.escape(role)}\d+", name)
    )
    for _, name in numbered:
        value = roles[name]
        models = value if isinstance(value, list) else [value]
        entries += [(name if len(models) == 1 else f"{name}[{i}]", m) for i, m in enumerate(models)]
    warning = None
    if not entries:
        if fallback is None:
            raise ValueError(f"No '{role}' model role is bound and no fallback judge was given.")
        entries = [(FALLBACK_ROLE, fallback)]
        warning = FALLBACK_WARNING
        if not _fallback_warned:  # once per process; every score still records it
            logger.warning(FALLBACK_WARNING)
            _fallback_warned.append(True)
    names = [str(m) for _, m in entries]
    judges = [
        Judge(label=name if names.count(name) == 1 else f"{name}#{i + 1}", role=role_name, model=model)
        for i, ((role_name, model), name) in enumerate(zip(entries, names))
    ]
    return judges, warning


def combine_orders(winners: list[str | None]) -> str | None:
    """A judge's verdict from its per-order winners: agree -> it, disagree -> tie, missing -> None."""
    if any(w is None for w in winners):
        return None
    return winners[0] if len(set(winners)) == 1 else "tie"


def panel_winner(verdicts: list[str | None]) -> str | None:
    """Plurality of the non-missing verdicts; a split is a tie; None if all are missing."""
    present = [v for v in verdicts if v is not None]
    if not present:
        return None
    counts = {v: present.count(v) for v in set(present)}
    top = max(counts.values())
    leaders = [v for v, c in counts.items() if c == top]
    return leaders[0] if len(leaders) == 1 else "tie"


def _generate_config(temperature: float | None) -> GenerateConfig:
    return GenerateConfig(temperature=temperature) if temperature is not None else GenerateConfig()


async def _ask(
    judge: Judge, prompt: str, parse: Callable[[str], T | None], max_retries: int, config: GenerateConfig
) -> tuple[list[str], T | None]:
    """Every raw answer, and the first one that parses (None after all retries)."""
    raw: list[str] = []
    for attempt in range(max_retries + 1):
        text = prompt if attempt == 0 else with_format_reminder(prompt)
        output = await judge.model.generate(text, config=config)
        raw.append(output.completion)
        parsed = parse(output.completion)
        if parsed is not None:
            return raw, parsed
    return raw, None


async def judge_pair(
    judge: Judge,
    task_prompt: str,
    axis: str,
    outputs: dict[str, str],
    first_shown: str,
    max_retries: int = DEFAULT_MAX_RETRIES,
    config: GenerateConfig | None = None,
) -> dict[str, Any]:
    """One judge's record for one pair: both presentation orders, then its verdict."""
    config = config or _generate_config(DEFAULT_TEMPERATURE)
    orders = ["ab", "ba"] if first_shown == "a" else ["ba", "ab"]
    presentations = []
    for order in orders:
        prompt = pairwise_judge_prompt(task_prompt, axis, outputs[order[0]], outputs[order[1]])
        raw, parsed = await _ask(judge, prompt, parse_pairwise_verdict, max_retries, config)
        winner = None if parsed is None else "tie" if parsed == "tie" else order[int(parsed) - 1]
        presentations.append({"order": order, "raw": raw, "parsed": parsed, "winner": winner})
    winners = [p["winner"] for p in presentations]
    return {
        "judge": judge.label,
        "model": str(judge.model),
        "role": judge.role,
        "verdict": combine_orders(winners),
        "order_consistent": None if None in winners else len(set(winners)) == 1,
        "presentations": presentations,
    }


class PairMetadataError(ValueError):
    """A sample lacks the paired-sample metadata the judge scorers read."""


def _require_text(metadata: dict[str, Any], key: str, sample_id: Any) -> str:
    value = metadata.get(key)
    if not isinstance(value, str) or not value.strip():
        raise PairMetadataError(
            f"Sample {sample_id!r}: metadata field '{key}' must be a non-empty string "
            f"(got {value!r}); the judge scorers need the paired-sample metadata of docs/architecture.md."
        )
    return value


def read_pair(state: TaskState) -> dict[str, Any]:
    """`state.metadata["pair"]`, checked: both sides present, each with a str `output`."""
    pair = state.metadata.get("pair")
    if not isinstance(pair, dict) or any(not isinstance(pair.get(s), dict) for s in SIDES):
        raise PairMetadataError(
            f"Sample {state.sample_id!r}: state.metadata['pair'] with sides 'a' and 'b' is missing; "
            "run the paired-generation solver first (or re-score a log made by a paired task)."
        )
    for side in SIDES:
        output = pair[side].get("output")
        if output is not None and not isinstance(output, str):
            raise PairMetadataError(
                f"Sample {state.sample_id!r}: state.metadata['pair']['{side}']['output'] must be a string."
            )
    return pair


def first_shown_of(state: TaskState) -> str:
    """Which side a judge sees first in its first presentation."""
    pair = state.metadata.get("pair") or {}
    value = state.metadata.get("first_shown", pair.get("first_shown"))
    if value is None:
        digest = hashlib.sha256(f"first_shown\x1f{state.sample_id}\x1f{state.epoch}".encode()).digest()
        return SIDES[digest[0] % 2]
    if value not in SIDES:
        raise PairMetadataError(f"Sample {state.sample_id!r}: first_shown is {value!r}; it must be 'a' or 'b'.")
    return str(value)


def _outputs(pair: dict[str, Any]) -> dict[str, str]:
    return {side: pair[side].get("output") or "" for side in SIDES}


_VALUE_OF = {"a": 1.0, "b": 0.0, "tie": 0.5}


@scorer(metrics=[a_win_rate(), tie_share(), order_consistency(), missing_judge_share()])  # per epoch: panel_metrics.py
def judge_panel(
    role: str = JUDGE_ROLE,
    max_retries: int = DEFAULT_MAX_RETRIES,
    temperature: float | None = DEFAULT_TEMPERATURE,
) -> Scorer:
    """Blind pairwise panel: which side of the pair does the task better?

    Args:
        role: Judge role name: `role` (one model or a list) and `role1`, `role2`, ...
        max_retries: Re-asks of a judge whose answer cannot be parsed.
        temperature: Judge temperature (None keeps each role's own config).
    """
    if max_retries < 0:
        raise ValueError(f"judge_panel: max_retries={max_retries} must be >= 0.")

    async def score(state: TaskState, target: Target) -> Score:
        pair = read_pair(state)
        task_prompt = _require_text(state.metadata, "task_prompt", state.sample_id)
        axis = _require_text(state.metadata, "axis", state.sample_id)
        first_shown = first_shown_of(state)
        judges, warning = resolve_judges(role, fallback=get_model())
        config = _generate_config(temperature)
        outputs = _outputs(pair)
        records = await collect(
            *(judge_pair(j, task_prompt, axis, outputs, first_shown, max_retries, config) for j in judges)
        )
        winner = panel_winner([r["verdict"] for r in records])
        n_retries = sum(len(p["raw"]) - 1 for r in records for p in r["presentations"])
        fields = dict(
            answer=winner,
            explanation=_explain(records, winner),
            metadata={
                "winner": winner,
                "first_shown": first_shown,
                "judges": records,
                "verdict_rows": verdict_rows(records),
                "n_judges": len(records),
                "n_missing": sum(r["verdict"] is None for r in records),
                "n_retries": n_retries,
                "flags": {side: pair[side].get("flags") for side in SIDES},
                "chrf": pair_chrf(state.metadata.get("reference"), pair),
                "panel_warning": warning,
            },
        )
        if winner is None:
            return Score.unscored(reason="grader_failed", **fields)
        return Score(value=_VALUE_OF[winner], **fields)

    return score


VERDICT_ROW_FIELDS: tuple[str, ...] = ("judge", "order", "parsed", "winner", "judge_verdict", "n_attempts")


def verdict_rows(records: list[dict[str, Any]]) -> list[list[Any]]:
    """One short row per (judge, presentation), fields `VERDICT_ROW_FIELDS`.

    The same facts as `judges` without the raw answers, small enough (under 1 kB for a
    panel of three to five) for Inspect's sample summaries, which drop larger metadata
    values: the report reads every frame from summaries then, not from full samples.
    """
    return [
        [r["judge"], p["order"], p["parsed"], p["winner"], r["verdict"], len(p["raw"])]
        for r in records
        for p in r["presentations"]
    ]


def _explain(records: list[dict[str, Any]], winner: str | None) -> str:
    parts = []
    for r in records:
        orders = ", ".join(f"{p['order']}->{p['winner'] or 'missing'}" for p in r["presentations"])
        parts.append(f"{r['judge']}: {r['verdict'] or 'missing'} ({orders})")
    return f"panel winner: {winner or 'none (every judge missing)'}; " + "; ".join(parts)


def _criteria(state: TaskState) -> list[str]:
    criteria = state.metadata.get("criteria")
    if not isinstance(criteria, list) or not criteria or not all(isinstance(c, str) and c for c in criteria):
        raise PairMetadataError(
            f"Sample {state.sample_id!r}: metadata field 'criteria' must be a non-empty list of strings "
            f"(got {criteria!r})."
        )
    return criteria


@scorer(metrics={"a": [mean(), stderr()], "b": [mean(), stderr()]})
def judge_rubric(
    role: str = JUDGE_ROLE,
    max_retries: int = DEFAULT_MAX_RETRIES,
    temperature: float | None = DEFAULT_TEMPERATURE,
) -> Scorer:
    """Absolute rubric: each output scored 1-10 per criterion by each judge.

    Args:
        role: Judge role name (as for `judge_panel`).
        max_retries: Re-asks of a judge whose answer cannot be parsed.
        temperature: Judge temperature (None keeps each role's own config).
    """
    if max_retries < 0:
        raise ValueError(f"judge_rubric: max_retries={max_retries} must be >= 0.")

    async def score(state: TaskState, target: Target) -> Score:
        pair = read_pair(state)
        task_prompt = _require_text(state.metadata, "task_prompt", state.sample_id)
        axis = _require_text(state.metadata, "axis", state.sample_id)
        criteria = _criteria(state)
        judges, warning = resolve_judges(role, fallback=get_model())
        config = _generate_config(temperature)
        outputs = _outputs(pair)

        def parse(answer: str) -> dict[str, int] | None:
            return parse_rubric_scores(answer, criteria)

        jobs = [(side, judge) for side in SIDES for judge in judges]
        results = await collect(
            *(
                _ask(judge, rubric_judge_prompt(task_prompt, axis, outputs[side], criteria), parse, max_retries, config)
                for side, judge in jobs
            )
        )
        rubric: dict[str, dict[str, dict[str, int | None]]] = {s: {} for s in SIDES}
        raw: dict[str, dict[str, list[str]]] = {s: {} for s in SIDES}
        for (side, judge), (answers, scores) in zip(jobs, results):
            rubric[side][judge.label] = dict(scores) if scores else {c: None for c in criteria}
            raw[side][judge.label] = answers
        means = {}
        for side in SIDES:
            values = [v for per_judge in rubric[side].values() for v in per_judge.values() if v is not None]
            means[side] = sum(values) / len(values) if values else float("nan")
        return Score(
            value=means,
            explanation=f"mean rubric score a={means['a']:.2f}, b={means['b']:.2f}",
            metadata={
                "rubric": rubric,
                "raw": raw,
                "rubric_judges": [{"judge": j.label, "model": str(j.model), "role": j.role} for j in judges],
                "n_judges": len(judges),
                "n_missing": sum(scores is None for _, scores in results),
                "n_retries": sum(len(answers) - 1 for answers, _ in results),
                "panel_warning": warning,
            },
        )

    return score
