"""`utility_gap/framed_benchmark`: the incentive test on any Inspect task, scored by its own scorer.

The task named by `-T task=` (a registered task such as `inspect_evals/gsm8k`, or a
local file task `path/to/file.py@name`) is built with its own `-T task_args=`; its
solver, scorer, epochs, sandbox and limits are kept. Only its dataset changes: every
sample is copied once per arm (and per entity for the `entity` arm, per draw for the
utility arms), and the arm's framing (`solvers/benchmark_framing.py`) is put before the
text of the sample's last user message, the turn the model answers. A string input is
one user message. The copies of one sample sit next to each other, so `--limit` keeps
them complete::

    inspect eval utility_gap/framed_benchmark --model M -T task=inspect_evals/gsm8k \\
        -T arms=neutral,exhort,utility_high,utility_low -T utilities=runs/x/utilities/M__countries.json
    inspect eval utility_gap/framed_benchmark --model M -T task=my_tasks.py@qa -T arms=neutral,entity

Pairing: a copy's id is `<base id>|<arm>` (`|entity=<name>`, `|utility_high#<draw>`);
its `Sample.metadata` keeps the task's own metadata plus `framing_arm`,
`framing_base_id`, `framing_draw`, `framing_entity`, `framing_outcome`,
`framing_outcome_id` and `framing_utility`. `analysis/framed_scores.py` pairs copies
by (`framing_base_id`, `framing_draw`) across arms.

Checked before any model call, each with a message naming the task: an unknown task
name or a bad `task_args`; a task whose samples are generated while it runs; a sample
with no user message to frame (named by id); an unknown arm, a utility arm without a
utilities file, an entity arm without entities; a scorer that returns a value that is
not a number. That last check scores the first sample's reference answer (its target
given as the output) offline; a scorer that needs a model, a sandbox or what the
solver stored cannot be scored that way, and is then checked when the logs are read.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
from collections.abc import Sequence
from typing import Any

from inspect_ai import Task, task, task_with
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import ChatMessageUser, ContentText, ModelName, ModelOutput
from inspect_ai.scorer import Target
from inspect_ai.solver import TaskState

from utility_gap.analysis.framed_scores import non_numeric_values
from utility_gap.evals.entity_behaviour import ENTITIES_SOURCE, load_entities
from utility_gap.evals.task_arguments import mark_argument_error, task_arguments
from utility_gap.evals.task_lookup import TaskLookupError, build_task
from utility_gap.solvers.benchmark_framing import BENCHMARK_ARMS, ENTITY_ARM, UTILITY_ARMS, benchmark_framing
from utility_gap.solvers.utility_draws import (
    ELICIT_HINT,
    MODEL_PLACEHOLDER,
    check_utilities_model,
    draw_outcomes,
    outcome_entities,
    read_utilities_for_task,
)

logger = logging.getLogger(__name__)

TASK_NAME = "framed_benchmark"
# The framing's task version (inspect_evals' N-X scheme; framed_benchmark.eval.yaml). The
# wrapped task's own version is kept in the metadata as `framed_task_version`.
TASK_VERSION = "1-A"
DEFAULT_ARMS = "neutral,exhort"
_PROBE_LOCK = threading.Lock()


class FramingError(ValueError):
    """A framed benchmark that cannot be built; raised before any model call."""


def _arms(value: str | Sequence[str]) -> list[str]:
    arms = [a.strip() for a in (value.split(",") if isinstance(value, str) else value) if str(a).strip()]
    unknown = [a for a in arms if a not in BENCHMARK_ARMS]
    if unknown:
        raise FramingError(f"-T arms: unknown arm(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARK_ARMS)}.")
    if len(set(arms)) < 2:
        raise FramingError(f"-T arms={','.join(arms)}: name at least two different arms to compare.")
    return list(dict.fromkeys(arms))


def _task_args(value: dict[str, Any] | str | None) -> dict[str, Any]:
    """`-T task_args=` as a mapping (Inspect reads `-T task_args='{"n": 5}'` as one; JSON text also works)."""
    if value is None or value == "":
        return {}
    try:
        parsed = json.loads(value) if isinstance(value, str) else value
    except json.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict):
        raise FramingError(f"-T task_args={value!r}: give the task's arguments as a mapping, e.g. "
                           "-T task_args='{\"n_items\": 5}'.")
    return dict(parsed)


def _frame_input(sample: Sample, framing: str | None, where: str) -> str | list[Any]:
    """The sample's input with `framing` put before its last user message's text."""
    if framing is None:
        return sample.input
    if isinstance(sample.input, str):
        return f"{framing}\n{sample.input}"
    messages = list(sample.input)
    last = max((i for i, m in enumerate(messages) if isinstance(m, ChatMessageUser)), default=None)
    if last is None:
        raise FramingError(f"{where}: no user message to frame.")
    message = messages[last]
    if isinstance(message.content, str):
        content: Any = f"{framing}\n{message.content}"
    else:
        content = [ContentText(text=framing), *message.content]  # `.text` joins the parts with a newline
    messages[last] = message.model_copy(update={"content": content})
    return messages


def _check_user_turns(samples: list[Sample], task_name: str) -> None:
    missing = [
        str(s.id if s.id is not None else i + 1)
        for i, s in enumerate(samples)
        if (not s.input.strip() if isinstance(s.input, str) else not any(isinstance(m, ChatMessageUser) for m in s.input))
    ]
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise FramingError(
            f"-T task={task_name}: {len(missing)} sample(s) have no user message to frame (sample id(s) {shown}). "
            "The framing goes in the user turn; such a task (e.g. one whose prompt is all in the system message) "
            "cannot be framed this way."
        )


def _probe_values(inner: Task, sample: Sample, task_name: str) -> None:
    """Score the first sample's reference answer offline; refuse a scorer whose value is not a number."""
    scorers = inner.scorer or []
    if not scorers:
        raise FramingError(f"-T task={task_name}: the task has no scorer; the arms are compared on its scores.")
    target = Target(sample.target if sample.target is not None else "")
    text = target.text if target.text else "probe"
    state = TaskState(
        model=ModelName("none/none"), sample_id=sample.id or 1, epoch=1, input=sample.input,
        messages=[ChatMessageUser(content=sample.input)] if isinstance(sample.input, str) else list(sample.input),
        target=target, choices=[str(c) for c in sample.choices] if sample.choices else None,
        output=ModelOutput.from_content(model="none/none", content=text), metadata=dict(sample.metadata or {}),
    )
    results: list[tuple[str, Any]] = []

    async def score_all() -> None:
        for scorer in scorers:
            score = await scorer(state, target)
            results.append((_scorer_name(scorer), score.value if score is not None else None))

    def run() -> None:
        try:
            asyncio.run(score_all())
        except BaseException as ex:  # needs a model, a sandbox or solver state: checked when the logs are read
            logger.info("framed_benchmark: the scorer of %s cannot be probed offline (%s)", task_name, ex)

    # A fresh thread has no active model; the environment names the model that cannot answer,
    # so a model-graded scorer fails its probe instead of calling a model.
    with _PROBE_LOCK:
        previous = os.environ.get("INSPECT_EVAL_MODEL")
        os.environ["INSPECT_EVAL_MODEL"] = "none/none"
        try:
            worker = threading.Thread(target=run, name="framed-benchmark-probe")
            worker.start()
            worker.join()
        finally:
            if previous is None:
                os.environ.pop("INSPECT_EVAL_MODEL", None)
            else:
                os.environ["INSPECT_EVAL_MODEL"] = previous
    for name, value in results:
        bad = non_numeric_values(value)
        if bad:
            raise FramingError(
                f"-T task={task_name}: scorer '{name}' returned {', '.join(bad)} for sample {sample.id}, which is not "
                "a number. The arms are compared on numeric scores (numbers, C/I/P/N, yes/no): use a task whose "
                "scorer gives one."
            )


def _scorer_name(scorer: Any) -> str:
    from inspect_ai.util import registry_info

    try:
        return registry_info(scorer).name
    except ValueError:
        return getattr(scorer, "__name__", "scorer")


@task
def framed_benchmark(
    task: str = "",
    arms: str | list[str] = DEFAULT_ARMS,
    task_args: dict[str, Any] | str | None = None,
    utilities: str | None = None,
    draws: int = 1,
    entities: str = ENTITIES_SOURCE,
    n_samples: int | None = None,
    seed: int = 0,
    allow_model_mismatch: bool = False,
) -> Task:
    """Any Inspect task under incentive framings, scored by its own scorer and paired by sample across arms.

    Args:
        task: The task to frame: `package/name` (e.g. inspect_evals/gsm8k) or `path/to/file.py@name`.
        arms: Comma list of arms (bare, neutral, exhort, sandbag, amount_high, amount_low, moral_good,
            moral_bad, utility_high, utility_low, entity).
        task_args: The framed task's own arguments, a mapping (e.g. `-T task_args='{fewshot: 0}'`).
        utilities: The model's utilities file (required for utility_high / utility_low).
        draws: Outcome draws per sample for the utility arms.
        entities: For the `entity` arm: `entities` (the shipped set), an outcome domain or a .jsonl path.
        n_samples: Frame only the task's first n samples (None: all).
        seed: Seed for the utility draws.
        allow_model_mismatch: Accept a utilities file fitted for another model.
    """
    try:
        return _framed(task, arms, task_args, utilities, draws, entities, n_samples, seed, allow_model_mismatch)
    except FramingError as ex:  # under `inspect eval`: one paragraph naming the argument, no traceback
        raise mark_argument_error(ex, TASK_NAME)


def _framed(task: str, arms: str | list[str], task_args: dict[str, Any] | str | None, utilities: str | None,
            draws: int, entities: str, n_samples: int | None, seed: int, allow_model_mismatch: bool) -> Task:
    chosen = _arms(arms)
    if int(draws) < 1:
        raise FramingError(f"-T draws={draws}: use 1 or more.")
    if not str(task or "").strip():
        raise FramingError("-T task: name the task to frame, e.g. -T task=inspect_evals/gsm8k or -T task=my_tasks.py@qa.")
    if str(task).split("@")[0].split("/")[-1] == TASK_NAME:
        raise FramingError(f"-T task={task}: a framed benchmark cannot frame itself.")
    try:
        inner = build_task(task, _task_args(task_args))
    except TaskLookupError as ex:
        raise FramingError(str(ex)) from None
    if inner.dataset is None or getattr(inner, "sample_source", None) is not None:
        raise FramingError(f"-T task={task}: its samples are made while it runs, so they cannot be framed in advance.")
    samples = list(inner.dataset)
    if n_samples is not None:
        if int(n_samples) < 1:
            raise FramingError(f"-T n_samples={n_samples}: use 1 or more (or leave it unset for all).")
        samples = samples[: int(n_samples)]
    if not samples:
        raise FramingError(f"-T task={task}: the task has no samples.")
    _check_user_turns(samples, task)
    _probe_values(inner, samples[0], task)

    utilities_file, outcome_entity = None, {}
    if UTILITY_ARMS & set(chosen):
        if not utilities:
            raise FramingError(
                f"-T arms uses {', '.join(sorted(UTILITY_ARMS & set(chosen)))}, which need the model's utilities file: "
                f"pass -T utilities=PATH ({ELICIT_HINT.format(model=MODEL_PLACEHOLDER, domain='D')}; MODEL: the model "
                "under test)."
            )
        with task_arguments(TASK_NAME):
            utilities_file = read_utilities_for_task(utilities)
            outcome_entity = outcome_entities(utilities_file.domain)
    elif utilities:
        logger.warning("-T utilities=%s is ignored: no arm uses utilities.", utilities)
    try:
        names = load_entities(entities) if ENTITY_ARM in chosen else []
    except ValueError as ex:
        raise FramingError(f"-T entities={entities}: {ex}") from None

    framed: list[Sample] = []
    for index, sample in enumerate(samples):
        base = str(sample.id if sample.id is not None else index + 1)
        where = f"-T task={task}, sample {base}"
        for arm in chosen:
            if arm == ENTITY_ARM:
                variants = [(f"entity={name}", 0, {"framing_entity": name}, {"entity": name}) for name in names]
            elif arm in UTILITY_ARMS:
                variants = []
                for draw in range(int(draws)):
                    outcome = draw_outcomes(utilities_file, seed=int(seed), task=task, item_id=base, draw=draw,
                                            entities=outcome_entity).for_arm(arm) or {}
                    variants.append((f"{arm}#{draw}", draw, {
                        "framing_outcome": outcome["text"], "framing_outcome_id": outcome["id"],
                        "framing_utility": outcome["utility"]}, {"outcome": outcome["text"]}))
            else:
                variants = [(arm, 0, {}, {})]
            for key, draw, extra, framing_args in variants:
                meta = {"framing_arm": arm, "framing_base_id": base, "framing_draw": draw, "framing_entity": None,
                        "framing_outcome": None, "framing_outcome_id": None, "framing_utility": None, **extra}
                framed.append(sample.model_copy(update={
                    "id": f"{base}|{key}",
                    "input": _frame_input(sample, benchmark_framing(arm, **framing_args), where),
                    "metadata": {**(sample.metadata or {}), **meta},
                }))
    setup = inner.setup
    if utilities_file is not None:  # the file must be the model's own: checked before any model call
        check = check_utilities_model(str(utilities), utilities_file.model, utilities_file.domain,
                                      bool(allow_model_mismatch))
        setup = [check, *([] if setup is None else [setup] if callable(setup) else list(setup))]
    wrapped = task_with(
        inner,
        dataset=MemoryDataset(framed, name=f"{TASK_NAME}:{task}"),
        setup=setup,
        name=None,
        metadata={**(inner.metadata or {}), "framed_task": task, "framed_task_version": inner.version,
                  "framing_arms": chosen, "framing_draws": int(draws),
                  "framing_entities": entities if names else None,
                  "framing_utilities": str(utilities) if utilities_file is not None else None},
    )
    wrapped.version = TASK_VERSION  # set after task_with, which would also rename the task
    return wrapped
