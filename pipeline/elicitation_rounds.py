"""Run preference elicitation in rounds through `inspect_ai.eval`, resumably, then fit.

Round 0 asks the seeded held-out pairs and a degree-balanced random start
(`regular_pairs`; `start="random"`: a cycle plus random pairs); each later round fits the
data so far and asks unasked pairs drawn among those closest in fitted utility and least
compared (`close_low_degree_pairs`; `selection="score"`: the older greedy score,
`active_pairs`), until the training budget is spent. Why these defaults:
bench/README.md (Stage 1 query efficiency).

One Inspect log per round goes to the log directory, with eval metadata
`{"utility_gap": "elicitation", "run": <signature>, "round": r, ...}`; the round's pairs
file is written beside it under `pairs/`. A rerun reads the existing *successful* logs
(`inspect_ai.log`), skips the rounds they finished and continues; a round whose log
failed, was interrupted (Ctrl-C: `ElicitationCancelled`) or is missing is run again,
from its start. Everything that decides which pairs are asked is in
the signature, so a log directory cannot silently mix two different elicitations.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from inspect_ai import eval as inspect_eval
from inspect_ai.log import list_eval_logs, read_eval_log
from inspect_ai.model import Model, get_model

from utility_gap.analysis.choices_frame import choices_frame, is_elicitation_log
from utility_gap.analysis.locations import local_name, location
from utility_gap.analysis.pair_selection import (
    Pair,
    active_pairs,
    close_low_degree_pairs,
    default_budget,
    default_heldout,
    heldout_pairs,
    random_connected_pairs,
    regular_pairs,
    write_pairs_file,
)
from utility_gap.analysis.thurstonian import UNPARSEABLE_POLICIES, ThurstonianFit, fit_thurstonian
from utility_gap.analysis.utilities_file import (
    UtilitiesFile,
    model_slug,
    utilities_from_fit,
    utilities_path,
    write_utilities,
)
from utility_gap.evals.outcomes import Outcome, load_outcomes
from utility_gap.evals.preference import preference_elicitation
from utility_gap.models.simulated import CHOOSING_ROLES, simulated_role
from utility_gap.pipeline.log_writes import log_write_failure, write_failure_error
from utility_gap.solvers.choice import DEFAULT_TOP_LOGPROBS


START_DESIGNS = {"regular": regular_pairs, "random": random_connected_pairs}
SELECTION_RULES = {"filter": close_low_degree_pairs, "score": active_pairs}


class ElicitationError(RuntimeError):
    """A round failed, or the log directory holds a different elicitation."""


class ElicitationCancelled(ElicitationError):
    """A round was interrupted (Ctrl-C); rerunning the same command asks that round again."""


@dataclass
class ElicitationPlan:
    """Everything that decides an elicitation run."""

    model: str
    domain: str
    log_dir: Path
    k: int = 5
    budget: int | None = None  # training pairs; default about 2 n log2 n
    heldout: int | None = None  # held-out pairs; default a tenth of the budget (>= 10, <= all/5)
    rounds: int = 4
    start_share: float = 0.4  # share of the budget asked in round 0 (at least a cycle)
    start: str = "regular"  # round 0: `regular` (degree-balanced random graph) or `random` (cycle + random pairs)
    selection: str = "filter"  # later rounds: `filter` (close_low_degree_pairs) or `score` (active_pairs)
    logprobs: bool = False
    top_logprobs: int = DEFAULT_TOP_LOGPROBS  # logprob mode: top tokens asked for per read
    seed: int = 0
    model_args: dict[str, Any] = field(default_factory=dict)
    unparseable_policy: str = "skip"
    max_connections: int | None = None
    temperature: float = 1.0
    max_tokens: int | None = None  # answer length limit; does not change which pairs are asked
    batch: bool = True  # K draws per call via num_choices where the provider allows

    def validate(self) -> list[Outcome]:
        """Check the plan before any model call; returns the outcomes."""
        if self.k < 1:
            raise ValueError(f"--k {self.k}: the number of draws per order must be at least 1.")
        if self.logprobs and self.top_logprobs < 2:
            raise ValueError(f"--top-logprobs {self.top_logprobs}: need at least 2 (for A and B).")
        if self.rounds < 1:
            raise ValueError(f"--rounds {self.rounds}: run at least one round.")
        if self.budget is not None and self.budget < 1:
            raise ValueError(f"--budget {self.budget}: the training budget must be at least 1 pair.")
        if self.heldout is not None and self.heldout < 0:
            raise ValueError(f"--heldout {self.heldout}: cannot be negative.")
        if not math.isfinite(self.temperature) or self.temperature < 0:
            raise ValueError(f"--temperature {self.temperature}: must be a number >= 0 (default 1).")
        if self.max_connections is not None and self.max_connections < 1:
            raise ValueError(f"--max-connections {self.max_connections}: must be at least 1 (concurrent calls).")
        role = simulated_role(self.model)
        if role is not None and role not in CHOOSING_ROLES:
            raise ValueError(
                f"--model {self.model}: this simulated role does not answer forced choices, so every answer "
                f"would be unparseable. Use one of {', '.join('simulated/' + r for r in CHOOSING_ROLES)}."
            )
        if self.start not in START_DESIGNS:
            raise ValueError(f"start='{self.start}': use one of {', '.join(START_DESIGNS)}.")
        if self.selection not in SELECTION_RULES:
            raise ValueError(f"selection='{self.selection}': use one of {', '.join(SELECTION_RULES)}.")
        if not 0.0 < self.start_share <= 1.0:
            raise ValueError(f"start_share={self.start_share}: must be in (0, 1].")
        if self.unparseable_policy not in UNPARSEABLE_POLICIES:
            raise ValueError(
                f"--unparseable-policy {self.unparseable_policy}: use one of {', '.join(UNPARSEABLE_POLICIES)}."
            )
        outcomes = load_outcomes(self.domain)
        if len(outcomes) < 3:
            raise ValueError(f"Domain '{self.domain}' has {len(outcomes)} outcomes; elicitation needs at least 3.")
        return outcomes


@dataclass
class ElicitationResult:
    fit: ThurstonianFit
    frame: pd.DataFrame
    logs: list[str]
    rounds_run: int
    rounds_reused: int
    calls: int
    texts: dict[str, str]
    domain: str
    design: dict[str, Any] = field(default_factory=dict)


def design_record(plan: ElicitationPlan, budget: int, heldout: int) -> dict[str, Any]:
    """The design as stored in the utilities file and each round's eval metadata."""
    return {
        "mode": "logprob" if plan.logprobs else "sample",
        "k": plan.k,
        "top_logprobs": plan.top_logprobs if plan.logprobs else None,
        "budget": budget,
        "heldout": heldout,
        "rounds": plan.rounds,
        "start": f"{plan.start}(share={plan.start_share})",
        "selection": plan.selection,
        "seed": plan.seed,
    }


def signature(plan: ElicitationPlan, n_outcomes: int) -> str:
    """A short hash of everything that decides which pairs are asked and how."""
    parts = {
        "model": plan.model,
        "model_args": plan.model_args,
        "domain": str(plan.domain),
        "n": n_outcomes,
        "k": plan.k,
        "budget": plan.budget,
        "heldout": plan.heldout,
        "rounds": plan.rounds,
        "start_share": plan.start_share,
        "start": plan.start,
        "selection": plan.selection,
        "logprobs": plan.logprobs,
        # only in logprob mode, so sampling runs keep the signatures they had
        **({"top_logprobs": plan.top_logprobs} if plan.logprobs else {}),
        "seed": plan.seed,
        "temperature": plan.temperature,
        "max_tokens": plan.max_tokens,
        "batch": plan.batch,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def round_sizes(budget: int, n_outcomes: int, rounds: int, start_share: float) -> list[int]:
    """Training pairs per round: round 0 gets max(n, start_share * budget), the rest evenly."""
    start = min(budget, max(n_outcomes, math.ceil(start_share * budget)))
    rest = budget - start
    later = rounds - 1
    if later == 0 or rest <= 0:
        return [max(start, budget)] + [0] * later
    sizes = [rest // later + (1 if r < rest % later else 0) for r in range(later)]
    return [start] + sizes


def finished_rounds(log_dir: Path, run: str) -> dict[int, str]:
    """Round -> log path for successful elicitation logs of this run; refuses other runs."""
    done: dict[int, str] = {}
    if not log_dir.is_dir():
        return done
    for info in list_eval_logs(str(log_dir), recursive=False):
        try:
            header = read_eval_log(info, header_only=True)
        except Exception as ex:  # a log cut short by a killed run or a full disk
            raise ElicitationError(
                f"The log {local_name(info.name)} cannot be read ({type(ex).__name__}: {ex}); it is damaged or was "
                "cut short. Move it out of the folder and rerun to redo its round "
                "(`utility-gap run --quarantine-broken-logs` does this for a run folder)."
            ) from None
        meta = header.eval.metadata or {}
        if not is_elicitation_log(header) or meta.get("utility_gap") != "elicitation":
            continue
        if meta.get("run") != run:
            raise ElicitationError(
                f"{log_dir} holds elicitation logs of a different run ({info.name}: run {meta.get('run')}, "
                f"this run {run}). Use a fresh --out directory, or rerun with the same settings to resume."
            )
        if header.status == "success":
            done[int(meta["round"])] = local_name(info.name)
    return done


def run_elicitation(plan: ElicitationPlan) -> ElicitationResult:
    """Run (or resume) every round, then fit all training data."""
    outcomes = plan.validate()
    ids = [o.id for o in outcomes]
    domain = outcomes[0].domain
    n = len(ids)
    all_count = n * (n - 1) // 2
    budget = plan.budget if plan.budget is not None else default_budget(n)
    held_count = min(plan.heldout if plan.heldout is not None else default_heldout(budget, n), all_count - 1)
    budget = min(budget, all_count - held_count)  # held-out pairs are never trained on
    run = signature(plan, n)
    log_dir = location(plan.log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    done = finished_rounds(log_dir, run)
    sizes = round_sizes(budget, n, plan.rounds, plan.start_share)
    design = design_record(plan, budget, held_count)

    frames: dict[int, pd.DataFrame] = {}
    logs: dict[int, str] = {}
    rounds_run = 0
    # one model instance per run (not memoized): a provider's per-instance state, such as
    # the simulated chooser's seeded draw counters, starts fresh, so a run reproduces
    # whether it is the first elicitation in this process or not
    model: Model | None = None

    def data_so_far() -> pd.DataFrame:
        return pd.concat([frames[r] for r in sorted(frames)], ignore_index=True)

    for r, size in enumerate(sizes):
        if r in done:
            logs[r] = done[r]
            frames[r] = choices_frame([done[r]])
            continue
        if r == 0:
            held = heldout_pairs(ids, held_count, plan.seed)
            start = START_DESIGNS[plan.start]
            pairs = held + start(ids, size, plan.seed, exclude=[p.key for p in held])
        else:
            if size == 0:
                continue
            so_far = data_so_far()
            fit = fit_thurstonian(so_far, outcome_ids=ids, unparseable_policy=plan.unparseable_policy,
                                  standard_errors=False)  # cold start: a resumed run picks the same pairs
            asked = set(zip(so_far["outcome_a"], so_far["outcome_b"]))
            select = SELECTION_RULES[plan.selection]
            pairs = select(ids, fit.mean_of(), fit.variance_of(), asked, size, seed=plan.seed + r)
        if not pairs:
            continue
        if model is None:
            model = get_model(plan.model, memoize=False, **plan.model_args)
        logs[r] = _run_round(plan, model, run, r, pairs, domain, design)
        frames[r] = choices_frame([logs[r]])
        rounds_run += 1

    frame = data_so_far()
    fit = fit_thurstonian(frame, outcome_ids=ids, unparseable_policy=plan.unparseable_policy)
    fit.metrics["calls"] = int(frame["calls"].sum())
    return ElicitationResult(
        fit=fit,
        frame=frame,
        logs=[logs[r] for r in sorted(logs)],
        rounds_run=rounds_run,
        rounds_reused=len(done),
        calls=int(frame["calls"].sum()),
        texts={o.id: o.text for o in outcomes},
        domain=domain,
        design=design,
    )


def elicitation_log_dir(out_dir: str | Path, model: str, domain: str) -> Path:
    """Where the rounds of (model, domain) are logged under an output folder."""
    return location(out_dir) / "logs" / "elicitation" / f"{model_slug(model)}__{Path(domain).stem}"  # type: ignore[return-value]


def elicit_utilities(plan: ElicitationPlan, out_dir: str | Path) -> tuple[ElicitationResult, UtilitiesFile, Path]:
    """Run (or resume) the rounds, fit, and write OUT/utilities/<model>__<domain>.json."""
    result = run_elicitation(plan)
    uf = utilities_from_fit(result.fit, plan.model, result.domain, result.texts, result.logs, design=result.design)
    path = write_utilities(utilities_path(out_dir, plan.model, result.domain), uf)
    return result, uf, path


def _run_round(
    plan: ElicitationPlan, model: Model, run: str, r: int, pairs: list[Pair], domain: str, design: dict[str, Any]
) -> str:
    log_dir = location(plan.log_dir)
    pairs_file = log_dir / "pairs" / f"round-{r:02d}.json"
    write_pairs_file(pairs_file, pairs, round=r, run=run)
    task = preference_elicitation(
        domain=str(plan.domain),
        pairs=str(pairs_file),
        k=plan.k,
        logprobs=plan.logprobs,
        top_logprobs=plan.top_logprobs,
        temperature=plan.temperature,
        max_tokens=plan.max_tokens,
        seed=plan.seed,
        batch=plan.batch,
    )
    extra: dict[str, Any] = {}
    if plan.max_connections is not None:
        extra["max_connections"] = plan.max_connections
        extra["max_samples"] = plan.max_connections
    logs = inspect_eval(
        task,
        model=model,
        log_dir=str(log_dir),
        display="none",
        metadata={"utility_gap": "elicitation", "run": run, "round": r, "domain": domain,
                  "k": plan.k, "seed": plan.seed, "design": design},
        tags=["utility-gap", "elicitation", f"round-{r}"],
        log_realtime=False,  # the realtime sample buffer costs more than the calls themselves
        log_buffer=500,
        score_display=False,
        **extra,
    )
    if not logs or logs[0].status == "cancelled":
        # Ctrl-C: Inspect absorbs the interrupt, saves the round's log as cancelled (or
        # returns no log at all) and returns; the round is asked again on the next run.
        where = f"; its log is {logs[0].location}" if logs else ""
        raise ElicitationCancelled(
            f"Round {r} was interrupted (cancelled){where}. Rerun the same command to resume: finished "
            "rounds are reused and this round is asked again."
        )
    log = logs[0]
    write_failure = log_write_failure(log)
    if write_failure is not None:
        raise write_failure_error(
            log, write_failure, f"Finished rounds are reused when you rerun; round {r} is asked again from its start."
        )
    if log.status != "success":
        detail = log.error.message if log.error is not None else log.status
        raise ElicitationError(
            f"Round {r} did not finish ({detail}); its log is {log.location}. "
            "Fix the cause and rerun the same command to resume from this round."
        )
    return log.location
