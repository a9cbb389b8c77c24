"""The whole experiment in one resumable run: Stage 1 -> Stages 2-3 -> Stage 4.

Layout of `--out DIR`:

    DIR/logs/elicitation/<model>__<domain>/   Stage 1 rounds (one Inspect log per round)
    DIR/logs/tasks/<model>/          one Inspect eval set per model under test: the ranking
                                     task, the writing tasks (utility contrasts once per
                                     domain); the first model's also the judge controls
    DIR/utilities/                   a utilities file per (model, domain)
    DIR/report/                      the Stage 4 report
    DIR/study.json                   the study's settings (`study_file.py`)
    DIR/.utility-gap.lock            held while a run checks the study (`study_lock.py`)

One folder is one study: a run holds the lock of each model's part it runs (a second
run of the same part refuses to start; other models' parts may run at the same time,
e.g. on another machine: `study_parts.py`) and must have the settings the study file
records (a changed setting is refused).

Resuming: Stage 1 skips rounds whose logs finished; the eval set reuses every finished
sample of an interrupted eval (Inspect's eval-set retry semantics), so a rerun of the
same command neither repeats nor duplicates work. The report is rewritten atomically.
"""

from __future__ import annotations

import contextlib
import contextvars
import socket
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from inspect_ai import Task
from inspect_ai.log import EvalLog, list_eval_logs, read_eval_log
from inspect_ai.model import GenerateConfig, Model, get_model

from utility_gap.pipeline.broken_logs import describe as describe_broken_logs
from utility_gap.pipeline.broken_logs import find_broken_logs, quarantine
from utility_gap.pipeline.eval_paths import MovedStudyError, recorded_utilities, utilities_argument
from utility_gap.pipeline.log_writes import eval_set_with_retries
from utility_gap.pipeline.elicitation_rounds import (
    ElicitationCancelled,
    ElicitationError,
    ElicitationPlan,
    ElicitationResult,
    elicit_utilities,
    elicitation_log_dir,
)
from utility_gap.analysis.pair_selection import default_budget, default_heldout
from utility_gap.analysis.frames import FrameError
from utility_gap.analysis.report import ReportError, ReportSettings
from utility_gap.analysis.utilities_file import UtilitiesFile, summary
from utility_gap.evals.judge_controls import judge_controls
from utility_gap.evals.outcomes import load_outcomes
from utility_gap.evals.preference import preference_ranking
from utility_gap.evals.task_arguments import argument_error_message, argument_error_task
from utility_gap.evals.task_items import load_task_items
from utility_gap.evals.writing import essay, grant_abstract, incident_postmortem, translation
from utility_gap.models.embedded import EMBEDDED_MODEL, embedded_model
from utility_gap.models.simulated import simulated_role
from utility_gap.pipeline.entity_study import (
    EntityStudyError,
    entity_tasks,
    plan_entities,
    stage1_domains,
    validate_families,
    writes,
)
from utility_gap.pipeline.presets import WRITING_TASKS, Preset
from utility_gap.pipeline.study_file import StudyMismatch
from utility_gap.pipeline.storage import StorageError, check_writable, is_url, write_report_at
from utility_gap.pipeline.study_lock import StudyFolderBusy
from utility_gap.pipeline.study_parts import (
    Part,
    PartsError,
    check_models,
    check_study_models,
    hold_parts,
    part_config,
    parts,
    runs_every_part,
    study_order,
)
from utility_gap.solvers.contrasts import parse_contrasts


WRITING_TASK_FUNCTIONS = {
    "essay": essay,
    "grant_abstract": grant_abstract,
    "incident_postmortem": incident_postmortem,
    "translation": translation,
}


class PipelineError(ValueError):
    """A run that cannot start; raised before any model call."""


@dataclass
class RunConfig:
    """A validated run: models, preset (with overrides) and where everything goes."""

    out: Path
    preset: Preset
    model: str | None = None  # None: the embedded default model; with several, the first
    judges: list[str] = field(default_factory=list)
    model_args: dict[str, Any] = field(default_factory=dict)
    judge_args: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    max_connections: int | None = None
    display: str | None = None  # Inspect's display for Stages 2-3 (full, rich, plain, log, none)
    quarantine_broken_logs: bool = False  # move unreadable logs to OUT/broken/ and redo their work
    models: tuple[str, ...] = ()  # every model under test (--model repeated); (): just `model`
    model_args_for: dict[str, dict[str, Any]] = field(default_factory=dict)  # --arg-for MODEL:KEY=VALUE
    only_models: tuple[str, ...] = ()  # --only-model: the models' parts this run runs (): all
    add_models: bool = False  # --add-models: models new to the study in --out may join it

    def __post_init__(self) -> None:
        if self.models and self.model is None:
            self.model = self.models[0]

    @property
    def embedded(self) -> bool:
        return self.model is None

    @property
    def study_models(self) -> tuple[str, ...]:
        return self.models or (self.subject,)

    @property
    def subject(self) -> str:
        return self.model or EMBEDDED_MODEL

    @property
    def utility_contrasts(self) -> list[str]:
        return [c.name for c in parse_contrasts(list(self.preset.contrasts)) if c.uses_utilities]

    @property
    def plain_contrasts(self) -> list[str]:
        return [c.name for c in parse_contrasts(list(self.preset.contrasts)) if not c.uses_utilities]


# -- validation: everything that can be checked before a model is called --------------------


def validate(config: RunConfig) -> None:
    preset = config.preset
    try:
        check_models(config)
        validate_families(config)
    except (PartsError, EntityStudyError) as ex:
        raise PipelineError(str(ex)) from None
    unknown = [t for t in preset.tasks if t not in WRITING_TASKS]
    if unknown:
        raise PipelineError(f"Unknown task(s) {', '.join(unknown)} in --tasks; choose from {', '.join(WRITING_TASKS)}.")
    if not preset.tasks:
        raise PipelineError("--tasks is empty; name at least one of " + ", ".join(WRITING_TASKS) + ".")
    try:
        parse_contrasts(list(preset.contrasts))
    except ValueError as ex:
        raise PipelineError(f"--contrasts: {ex}") from None
    for domain in preset.domains:
        try:
            load_outcomes(domain)
        except ValueError as ex:
            raise PipelineError(f"--domains: {ex}") from None
    for task in preset.tasks:
        available = len(load_task_items(task))
        if preset.items > available:
            raise PipelineError(f"--items {preset.items}: task '{task}' has only {available} items.")
    for name in ("items", "repeats", "draws", "k", "rounds", "max_tokens"):
        if getattr(preset, name) < 1:
            raise PipelineError(f"--{name.replace('_', '-')} must be at least 1 (got {getattr(preset, name)}).")
    if config.max_connections is not None and config.max_connections < 1:
        raise PipelineError(f"--max-connections {config.max_connections}: must be at least 1 (concurrent calls per model).")
    _check_writable(config.out)
    if not config.embedded:
        for model in config.study_models:
            _check_model(model, part_config(config, model).model_args, "--model")
        for judge in config.judges:
            _check_model(judge, config.judge_args, "--judge")
        for model in config.study_models:
            _check_simulated_subject(model, config)


def _check_simulated_subject(model: str, config: RunConfig) -> None:
    role = simulated_role(model)  # simulated/<role>[/<label>]
    if role is None:
        return
    if not config.judges and writes(config) and role not in ("any",):
        raise PipelineError(
            f"{model} cannot judge, and with no --judge the panel falls back to the model "
            "under test. Pass --judge simulated/judge (three times for a panel of three)."
        )
    if role not in ("subject", "any"):
        raise PipelineError(f"{model} cannot both choose (Stage 1) and write (Stage 2); use --model simulated/subject.")


def _check_writable(out: Path) -> None:
    try:
        check_writable(out)
    except StorageError as ex:
        raise PipelineError(str(ex)) from None


def _check_model(name: str, args: dict[str, Any], flag: str) -> None:
    """Build the model (checks provider, arguments, API keys) and reach a local server."""
    if "/" not in name:
        raise PipelineError(f"{flag} {name}: a model is named provider/model, e.g. openai/gpt-4o-mini.")
    try:
        model = get_model(name, memoize=False, **args)
    except Exception as ex:  # the provider's own message says what is wrong
        raise PipelineError(f"{flag} {name}: {ex}") from None
    base_url = getattr(model.api, "base_url", None)
    if base_url:
        _check_reachable(base_url, name, flag)


def _check_reachable(base_url: str, name: str, flag: str) -> None:
    url = urlparse(base_url)
    if not url.hostname:
        return
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname, port), timeout=5):
            pass
    except OSError as ex:
        raise PipelineError(
            f"{flag} {name}: cannot reach {base_url} ({ex.strerror or ex}). Start the server or fix its base URL."
        ) from None


# -- the plan (also what --dry-run prints) -------------------------------------------------


@dataclass
class Plan:
    evals: int
    samples: dict[str, int]
    calls: dict[str, int]  # estimated model calls per model (before retries)
    lines: list[str]


def plan(config: RunConfig) -> Plan:
    """Count evals, samples and model calls of the parts this run runs, without calling a model."""
    selected = parts(config, study_order(config))
    if len(config.study_models) == 1:
        return _plan_part(selected[0].config, controls=True)
    total = Plan(evals=0, samples={}, calls={}, lines=[])
    for part in selected:
        one = _plan_part(part.config, controls=part.controls)
        total.evals += one.evals
        total.samples.update({f"{part.model}: {name}": n for name, n in one.samples.items()})
        for model, n in one.calls.items():
            total.calls[model] = total.calls.get(model, 0) + n
        total.lines += [f"{part.model}:"] + [f"  {line}" for line in one.lines]
    return total


def _plan_part(config: RunConfig, controls: bool) -> Plan:
    """One model's part: its Stage 1, its evals, and the judge controls if it holds them."""
    p = config.preset
    subject, judges = config.subject, (config.judges or [config.subject])
    calls: dict[str, int] = {subject: 0}
    for judge in judges:
        calls.setdefault(judge, 0)
    samples: dict[str, int] = {}
    lines: list[str] = []
    evals = 0
    for domain in stage1_domains(config):
        n = len(load_outcomes(domain))
        budget = min(p.budget or default_budget(n), n * (n - 1) // 2)
        heldout = min(default_heldout(budget, n), n * (n - 1) // 2 - budget)
        pairs = budget + heldout
        samples[f"stage1 {domain}"] = pairs
        calls[subject] += pairs * 2 * p.k
        evals += p.rounds
        lines.append(
            f"Stage 1  {domain}: {n} outcomes, {budget} training + {heldout} held-out pairs, "
            f"both orders x k={p.k}, {p.rounds} rounds; direct ranking of {p.ranking_subsets} lists of "
            f"{min(p.ranking_size, n)}"
        )
        samples[f"ranking {domain}"] = p.ranking_subsets
        calls[subject] += p.ranking_subsets
        evals += 1
    for task in p.tasks if writes(config) else ():
        pairs = p.items * p.repeats * (len(config.plain_contrasts) + len(config.utility_contrasts) * p.draws * len(p.domains))
        samples[task] = pairs
        calls[subject] += 2 * pairs
        for judge in judges:
            calls[judge] += 2 * pairs  # both presentation orders
        evals += (1 if config.plain_contrasts else 0) + (len(p.domains) if config.utility_contrasts else 0)
        lines.append(f"Stage 2-3 {task}: {pairs} judged pairs ({p.items} items x {p.repeats} repeats)")
    if writes(config) and controls:
        n_controls = p.controls if p.controls is not None else _control_count()
        samples["judge_controls"] = n_controls
        for judge in judges:
            calls[judge] += 2 * n_controls
        evals += 1
        lines.append(f"Judge controls: {n_controls} intact-vs-damaged pairs")
    evals += plan_entities(config, samples, calls, lines)
    return Plan(evals=evals, samples=samples, calls=calls, lines=lines)


def _control_count() -> int:
    return len(judge_controls().dataset)


def format_plan(config: RunConfig, the_plan: Plan) -> str:
    out = [f"Plan for preset '{config.preset.name}' -> {config.out}"]
    models = ", ".join(config.study_models)
    out.append(f"  model{'s' if len(config.study_models) > 1 else ''} under test: {models}"
               f"{' (embedded, started for the run)' if config.embedded else ''}")
    if not runs_every_part(config):
        out.append(f"  this run: the parts of {', '.join(config.only_models)} (--only-model); no report")
    if writes(config):
        out.append(f"  judges: {', '.join(config.judges) if config.judges else config.subject + ' (the model under test)'}")
    out += [f"  {line}" for line in the_plan.lines]
    out.append(f"  evals: {the_plan.evals}; samples: {sum(the_plan.samples.values())}")
    for model, count in the_plan.calls.items():
        out.append(f"  estimated model calls, {model}: {count}")
    return "\n".join(out)


# -- running -------------------------------------------------------------------------------


@contextlib.contextmanager
def _subject_server(config: RunConfig) -> Iterator[None]:
    if not config.embedded:
        yield
        return
    with embedded_model(log_dir=None if is_url(config.out) else config.out / "logs"):
        yield


def _say(message: str) -> None:
    print(f"[utility-gap] {message}", file=sys.stderr, flush=True)


def run(config: RunConfig) -> Path | None:
    """Run or resume every stage of the parts this run runs, holding them.

    Returns the report's path, or None when the run ran only some models' parts
    (`--only-model`): the report is written once every part is done.
    """
    validate(config)
    before = contextvars.copy_context()
    with _hold_study(config) as selected:
        for part in selected:
            # Each part in the context from before any eval, as it would run alone: Inspect
            # leaves the last eval's model active, and it must not carry into the next part.
            before.copy().run(_run_part, part)
        if not runs_every_part(config):
            _say(
                f"Done: the part(s) of {', '.join(p.model for p in selected)}. When every model's part of the study "
                f"is done, write the report: utility-gap report {config.out / 'logs'} --out {config.out / 'report'}"
            )
            return None
        return _write_report(config)


def check_settings(config: RunConfig) -> None:
    """Refuse settings that differ from the study `--out` holds (read-only; for --dry-run)."""
    try:
        check_study_models(config)
    except StudyMismatch as ex:
        raise PipelineError(str(ex)) from None


@contextlib.contextmanager
def _hold_study(config: RunConfig) -> Iterator[list[Part]]:
    """The settings the study file records, and one run at a time in each model's part."""
    try:
        with hold_parts(config) as (selected, note):
            if note:
                _say(note)
            yield selected
    except (StudyFolderBusy, StudyMismatch) as ex:
        raise PipelineError(str(ex)) from None


def _set_aside_broken_logs(part: Part) -> None:
    """Name the part's unreadable logs (before any call, under its lock), or move them aside if asked.

    Only the part's own folders: another model's part may be written right now (by
    another machine), and a log being written is not a damaged one.
    """
    config = part.config
    folders = [part.tasks_dir] + [
        elicitation_log_dir(config.out, config.subject, domain) for domain in stage1_domains(config)
    ]
    broken = sorted((b for folder in folders for b in find_broken_logs(folder)), key=lambda b: str(b.path))
    if broken and not config.quarantine_broken_logs:
        raise PipelineError(describe_broken_logs(broken, config.out))
    for log, moved in zip(broken, quarantine(broken, config.out)):
        _say(f"Moved the damaged log {log.path} to {moved}; its work is done again.")


def _run_part(part: Part) -> None:
    """Stages 1-3 of one model's part (Stage 1 per domain, then its eval set)."""
    config, p = part.config, part.config.preset
    _set_aside_broken_logs(part)
    max_connections = config.max_connections or (1 if config.embedded else None)
    with _subject_server(config):
        # The judges' answer limit; with no --judge the model under test judges, so it gets
        # the limit too (writers and choosers pass their own limits per call).
        limit = GenerateConfig(max_tokens=p.judge_max_tokens)
        subject_config = GenerateConfig() if config.judges else limit
        subject: str | Model = config.subject
        if config.model_args or subject_config.max_tokens is not None:
            subject = get_model(config.subject, config=subject_config, **config.model_args)
        judges = [_judge_model(name, i, config.judge_args, limit) for i, name in enumerate(config.judges)]

        utilities: dict[str, Path] = {}
        for domain in stage1_domains(config):
            _say(f"Stage 1: eliciting preferences of {config.subject} over '{domain}'")
            result, uf, utilities[domain] = _elicit(
                ElicitationPlan(
                    model=config.subject,
                    domain=domain,
                    log_dir=elicitation_log_dir(config.out, config.subject, domain),
                    k=p.k,
                    budget=p.budget,
                    rounds=p.rounds,
                    seed=config.seed,
                    model_args=config.model_args,
                    max_connections=max_connections,
                    max_tokens=p.choice_max_tokens,
                ),
                config.out,
            )
            rounds = f"rounds: {result.rounds_run} run, {result.rounds_reused} resumed from logs"
            _say("Stage 1: " + summary(uf, utilities[domain], rounds, result.calls))

        tasks = _stage23_tasks(config, utilities, part.tasks_dir, controls=part.controls)
        _say(f"Stages 2-3: {len(tasks)} evals of {config.subject} ({_eval_names(tasks)}) -> {part.tasks_dir}")
        roles = {"judge": judges} if judges else None
        success, task_logs = eval_set_with_retries(
            tasks,
            retries=2,  # never after a failed log write: that stops the run (pipeline/log_writes.py)
            say=_say,
            log_dir=str(part.tasks_dir),
            model=subject,
            model_roles=roles,
            max_connections=max_connections,
            # At most max_connections samples in flight in the whole eval set (one eval at a
            # time, max_samples each): an interrupt loses only those, not one batch per eval.
            max_tasks=1,
            max_samples=max_connections,
            fail_on_error=0.1,
            log_dir_allow_dirty=True,
            log_buffer=1,  # every finished sample is on disk, so an interrupted run resumes from it
            display=config.display,  # type: ignore[arg-type]
        )
        if _interrupted(part.tasks_dir, task_logs):
            # Inspect absorbs Ctrl-C to save the logs; the run stops here, resumable.
            raise KeyboardInterrupt
        done = sum(log.results.completed_samples for log in task_logs if log.results)
        total = sum(log.results.total_samples for log in task_logs if log.results)
        _say(f"Stages 2-3: {done} of {total} samples finished in {len(task_logs)} evals")
        if not success:
            _say("Stages 2-3: some evals did not finish; the report uses what finished (rerun to resume).")


def _write_report(config: RunConfig) -> Path:
    """Stage 4 over every log of the study (all its models' parts)."""
    logs = config.out / "logs"
    _say("Stage 4: writing the report")
    try:
        settings = ReportSettings(seed=config.seed, utilities_dir=config.out / "utilities",
                                  study_models=tuple(study_order(config)))
        report = write_report_at(logs, config.out / "report", settings)
    except (FrameError, ReportError, StorageError) as ex:  # e.g. pairs found twice: the logs are kept, the report is not
        raise PipelineError(
            f"Stage 4: {ex}\nThe logs are kept. Write the report with `utility-gap report {logs} --out "
            f"{config.out / 'report'}` and the options it needs."
        ) from None
    _say(f"Report: {report}")
    return report


def _judge_model(name: str, index: int, args: dict[str, Any], config: GenerateConfig) -> Model:
    """A separate instance per panel seat; simulated judges get their own seed unless -J seed= is set."""
    if name.startswith("simulated/") and "seed" not in args:
        args = {**args, "seed": 1000 + index}
    return get_model(name, memoize=False, config=config, **args)


def _interrupted(log_dir: Path, returned: list[EvalLog]) -> bool:
    """Was the eval set cancelled (Ctrl-C)? eval_set can swallow the interrupt and return []."""
    if any(log.status == "cancelled" for log in returned):
        return True
    on_disk = [read_eval_log(info, header_only=True).status for info in list_eval_logs(str(log_dir))]
    return not returned or "cancelled" in on_disk


def _elicit(plan: ElicitationPlan, out: Path) -> tuple[ElicitationResult, UtilitiesFile, Path]:
    try:
        return elicit_utilities(plan, out)
    except ElicitationCancelled as ex:
        _say(f"Stage 1 ({plan.domain}): {ex}")
        raise KeyboardInterrupt from None  # stops the run like Ctrl-C anywhere else: resumable
    except ElicitationError as ex:
        raise PipelineError(f"Stage 1 ({plan.domain}): {ex}") from None


def _eval_names(tasks: list[Task]) -> str:
    """`preference_ranking, essay x2, judge_controls`: what this run's eval set holds."""
    counts = Counter(task.name.split("/")[-1] for task in tasks)
    return ", ".join(f"{name} x{n}" if n > 1 else name for name, n in counts.items())


def _stage23_tasks(config: RunConfig, utilities: dict[str, Path], log_dir: Path, controls: bool = True) -> list[Task]:
    recorded = recorded_utilities(log_dir)
    try:  # the spelling the logs know, so the evals resume (pipeline/eval_paths.py)
        named = {domain: utilities_argument(path, recorded, log_dir) for domain, path in utilities.items()}
    except MovedStudyError as ex:
        raise PipelineError(f"Stages 2-3: {ex}") from None
    try:
        return _build_stage23_tasks(config, named, controls)
    except ValueError as ex:
        if argument_error_task(ex) is None:
            raise
        raise PipelineError(f"Stages 2-3: {argument_error_message(ex)}") from None


def _build_stage23_tasks(config: RunConfig, utilities: dict[str, str], controls: bool = True) -> list[Task]:
    p = config.preset
    common = dict(items=p.items, repeats=p.repeats, seed=config.seed, max_tokens=p.max_tokens)
    tasks: list[Task] = [
        preference_ranking(
            domain=domain,
            subsets=p.ranking_subsets,
            size=p.ranking_size,
            seed=config.seed,
            max_tokens=None if p.choice_max_tokens is None else 8 * p.ranking_size,
        )
        for domain in stage1_domains(config)
    ]
    for name in p.tasks if writes(config) else ():
        if config.plain_contrasts:
            tasks.append(WRITING_TASK_FUNCTIONS[name](contrast=config.plain_contrasts, **common))
        if config.utility_contrasts:
            for domain, path in utilities.items():
                if domain not in p.domains:
                    continue  # the entity set's utilities serve the entity study
                tasks.append(
                    WRITING_TASK_FUNCTIONS[name](
                        contrast=config.utility_contrasts, utilities=path, domain=domain, draws=p.draws, **common
                    )
                )
    if writes(config) and controls:  # the panel's check: once per study (the first model's part)
        control_task = judge_controls(seed=config.seed)
        if p.controls is not None:
            control_task.dataset = control_task.dataset[: p.controls]
        tasks.append(control_task)
    return tasks + entity_tasks(config)
