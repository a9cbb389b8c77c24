"""Several models under test in one study, and a study split across machines.

A study (one `--out` folder, one study file) has one or more models under test
(`--model` repeated). Each model's work is its **part**:

    DIR/logs/elicitation/<model>__<domain>/   its Stage 1 rounds
    DIR/utilities/<model>__<domain>.json      its utilities (its utility arms use these)
    DIR/logs/tasks/<model>/                   its eval set: ranking, writing tasks, entity
                                              tasks; the first model's part also holds the
                                              judge controls, which test the panel, not a
                                              model, and so run once per study

(`<model>` is `model_slug(model)`). A folder whose `DIR/logs/tasks/` holds logs directly
was made before parts existed: its one model's part is `DIR/logs/tasks/` itself, and no
model can be added to it.

Which parts a run runs: every model it names (`--model`), or only `--only-model MODEL`
(repeatable) of them. A run names the study's whole model set, so every machine of a
split study runs the same command and the study file records the same set; the report
is written by a run that ran every part (or by `utility-gap report DIR/logs` once every
part has finished). A part's eval set is its own, so it resumes on its own and can be
run anywhere that sees the folder.

Locks (`study_lock.py`'s lock, on local folders and object storage alike):

- the folder's lock (`DIR/.utility-gap.lock`) is held only while the study file is
  checked (and written) and the run's part locks are taken, so runs of other parts may
  start at the same moment (a run waits up to `FOLDER_WAIT_SECONDS` for it);
- each part's lock (`DIR/logs/tasks/<model>/.utility-gap.lock`) is held for the whole
  run of that part: two runs of one model's part never write at once (the second is
  refused, naming the first's PID), while different models' parts run side by side.

Adding a model to a study is a change of its settings and refused like any other, unless
the run passes `--add-models`: then the recorded models stay first (in their order) and
the new ones are appended; every other setting must be the same. Each model's results
are its own rows of the report, so nothing is pooled by mistake; the cross-model
aggregates then include the new model (the report lists the models it pooled).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from utility_gap.analysis.locations import location
from utility_gap.analysis.utilities_file import model_slug
from utility_gap.pipeline.study_file import (
    StudyMismatch,
    changes,
    mismatch_message,
    read_created,
    read_study,
    record_study,
    study_path,
    study_settings,
    write_study,
)
from utility_gap.pipeline.study_lock import LOCK_FILE, StudyFolderBusy, lock_for, study_lock

if TYPE_CHECKING:
    from utility_gap.pipeline.run import RunConfig

FOLDER_WAIT_SECONDS = 30.0  # how long a run waits for another run's brief hold of the folder lock
_POLL_SECONDS = 0.1


class PartsError(ValueError):
    """Model settings that cannot make a study; raised before any model call."""


@dataclass(frozen=True)
class Part:
    """One model's part of the study: a one-model run config and where its eval set goes."""

    config: RunConfig
    tasks_dir: Path
    controls: bool  # does this part run the judge controls (the study's first model)

    @property
    def model(self) -> str:
        return self.config.subject


# -- validation and the parts of a config ---------------------------------------------------


def check_models(config: RunConfig) -> None:
    """The rules for several models, before any model call."""
    models = list(config.study_models)
    twice = sorted({m for m in models if models.count(m) > 1})
    if twice:
        raise PartsError(f"--model {', '.join(twice)} is given more than once; name each model under test once.")
    slugs: dict[str, str] = {}
    for model in models:
        other = slugs.setdefault(model_slug(model), model)
        if other != model:
            raise PartsError(
                f"--model {other} and --model {model} would share the folder names '{model_slug(model)}' "
                "(logs and utilities files); rename one of them."
            )
    for flag, names in (("--arg-for", list(config.model_args_for)), ("--only-model", list(config.only_models))):
        unknown = [n for n in names if n not in models]
        if unknown:
            raise PartsError(
                f"{flag} {', '.join(unknown)}: not a model under test of this run (--model {', '.join(models)}). "
                "Name the model exactly as in --model."
            )
    if len(models) > 1 and not config.judges:
        raise PartsError(
            "Several models under test need a shared judge panel (--judge MODEL, repeated): with no --judge each "
            "model would judge its own texts, and the models' results could not be compared."
        )


def args_for(config: RunConfig, model: str) -> dict[str, Any]:
    """A model's arguments: -M (every model under test), then --arg-for MODEL:... over them."""
    return {**config.model_args, **config.model_args_for.get(model, {})}


def part_config(config: RunConfig, model: str) -> RunConfig:
    """The one-model run of `model`'s part (its own arguments, the rest of the study's settings)."""
    one = {"model": None, "models": ()} if config.embedded else {"model": model, "models": (model,)}
    return replace(config, **one, model_args=args_for(config, model), model_args_for={}, only_models=())


def legacy_layout(out: Path) -> bool:
    """Was the folder made before parts existed (logs directly in DIR/logs/tasks/)?"""
    tasks = out / "logs" / "tasks"
    return tasks.is_dir() and any(p.is_file() and p.name != LOCK_FILE for p in tasks.iterdir())


def tasks_dir(out: Path, model: str) -> Path:
    """Where a model's eval set goes."""
    tasks = out / "logs" / "tasks"
    return tasks if legacy_layout(out) else tasks / model_slug(model)


def study_order(config: RunConfig) -> list[str]:
    """The models in the order the study file records (the run's order for a new study)."""
    recorded = read_study(config.out)
    named = list(config.study_models)
    if recorded is None:
        return named
    kept = [m for m in recorded.get("models") or [] if m in named]
    return kept + [m for m in named if m not in kept]


def parts(config: RunConfig, order: list[str] | None = None) -> list[Part]:
    """The parts this run runs, in study order; the study's first model's part runs the controls."""
    order = order or list(config.study_models)
    wanted = set(config.only_models or order)
    return [
        Part(part_config(config, model), tasks_dir(config.out, model), controls=(i == 0))
        for i, model in enumerate(order)
        if model in wanted
    ]


def runs_every_part(config: RunConfig) -> bool:
    return not config.only_models or set(config.only_models) >= set(config.study_models)


# -- the study file with models that may grow ---------------------------------------------


@dataclass(frozen=True)
class StudyCheck:
    """What a run's settings make of the study in its folder."""

    settings: dict[str, Any]  # the study's settings with this run (models in study order)
    exists: bool  # the folder already has a study file
    added: list[str]  # models this run adds (--add-models)


def check_study_models(config: RunConfig) -> StudyCheck:
    """Compare this run with the folder's study; raises StudyMismatch (read-only).

    The models are compared as a set (their order is the study's, kept from the study
    file); new models are accepted with `--add-models` only.
    """
    current = study_settings(config)
    recorded = read_study(config.out)
    if recorded is None:
        return StudyCheck(current, exists=False, added=[])
    old_models = list(recorded.get("models") or [])
    new_models = list(current["models"])
    added = [m for m in new_models if m not in old_models]
    if set(new_models) == set(old_models):
        current["models"] = old_models
    elif config.add_models and set(old_models) <= set(new_models):
        if legacy_layout(config.out):
            raise StudyMismatch(
                f"--add-models: {config.out} was made before a study could hold several models (its logs are "
                f"directly in {config.out / 'logs' / 'tasks'}), so no model can be added to it. Run the new "
                "model(s) with the same settings into a new --out and compare the reports."
            )
        current["models"] = old_models + added
        new_args = {m: a for m, a in current["model_args_for"].items() if m in added}
        recorded = {**recorded, "models": current["models"],
                    "model_args_for": {**(recorded.get("model_args_for") or {}), **new_args}}
    found = changes(recorded, current)
    if found:
        message = mismatch_message(config.out, found)
        if any(c.setting == "--model" for c in found):
            message += "\n" + _models_hint(old_models, new_models, config.add_models)
        raise StudyMismatch(message)
    return StudyCheck(current, exists=True, added=added)


def _models_hint(old: list[str], new: list[str], adding: bool) -> str:
    if set(new) < set(old):
        return (
            "To run only some models' parts of this study, name every model of the study (--model "
            f"{' --model '.join(old)}) and add --only-model MODEL for each part to run."
        )
    if set(new) > set(old) and not adding:
        return (
            "To add models to this study (every other setting the same), name them beside the recorded ones "
            "and pass --add-models; each model's results are its own rows of the report."
        )
    return "A model cannot be removed from or replaced in a study; its logs stay in the folder's report."


def record(config: RunConfig) -> str | None:
    """Check the run against the study file; write it when new or when models were added.

    Returns a note for the user, if any. Call it while holding the folder's lock.
    """
    checked = check_study_models(config)
    if not checked.exists:
        return record_study(config.out, checked.settings)
    if checked.added:
        write_study(config.out, checked.settings, created=read_created(config.out))
        return (
            f"Added {', '.join(checked.added)} to the study in {config.out} (--add-models); "
            f"recorded in {study_path(config.out)}."
        )
    return None


# -- locks ----------------------------------------------------------------------------------


@contextlib.contextmanager
def _folder_lock(out: Path, wait: float) -> Iterator[None]:
    """The folder's lock, waiting up to `wait` seconds for another run's brief hold of it."""
    deadline = time.monotonic() + wait
    lock = lock_for(out)
    while True:
        try:
            lock.acquire()
            break
        except StudyFolderBusy:
            if time.monotonic() >= deadline:
                raise
            time.sleep(_POLL_SECONDS)
    try:
        yield
    finally:
        lock.release()


@contextlib.contextmanager
def part_lock(out: Path, model: str, folder: Path | None = None) -> Iterator[None]:
    """Hold a model's part of the study; refuse at once (naming the holder) when another run has it."""
    folder = folder or tasks_dir(out, model)
    try:
        with study_lock(folder, shown=out):  # its message names the study folder the user passed
            yield
    except StudyFolderBusy as ex:
        raise StudyFolderBusy(
            f"{ex}\nThat run holds model {model}'s part of the study. Other models' parts may run at the same "
            "time (--only-model MODEL); one model's part runs in one process at a time."
        ) from None


@contextlib.contextmanager
def hold_parts(config: RunConfig, wait: float = FOLDER_WAIT_SECONDS) -> Iterator[tuple[list[Part], str | None]]:
    """Check and record the study, then hold the lock of every part this run runs.

    Yields (the parts in study order, a note for the user or None). Raises StudyMismatch
    or StudyFolderBusy before anything is written when the run cannot go ahead.
    """
    with contextlib.ExitStack() as held:
        with _folder_lock(config.out, wait):
            # The parts first: a run that is busy in the folder is named before any settings it has.
            for model in config.only_models or config.study_models:
                held.enter_context(part_lock(config.out, model))
            note = record(config)
            selected = parts(config, study_order(config))
        yield selected, note


# -- the report of a study -----------------------------------------------------------------


def study_report_defaults(log_dir: str | Path) -> tuple[tuple[str, ...], Path | None]:
    """For a study's log folder (`DIR/logs` beside `DIR/study.json`): its models and `DIR/utilities`.

    So `utility-gap report DIR/logs` over a split study knows which models it should
    hold (the report names those with no logs yet) and reads their utilities files, as
    the report a whole run writes does. Anything else: ((), None).
    """
    given = location(log_dir)
    folder = given.parent if given.name == "logs" else given
    try:
        recorded = read_study(folder)
    except StudyMismatch:
        return (), None
    if recorded is None:
        return (), None
    utilities = folder / "utilities"
    return tuple(recorded.get("models") or ()), utilities if utilities.is_dir() else None

