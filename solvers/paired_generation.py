"""Paired generation: write both sides of a contrast with the model under test.

The sample (see `evals/writing.py`) carries the bare task and, per side, the arm and
the promised outcome (`Sample.metadata`, schema in `docs/architecture.md`). This solver
frames the task for each side (`framing.framed_messages`), generates both sides with
the eval's model concurrently, flags each output (`scorers.flags`; every side is checked
for leaks against the framing of both prompts, so a `bare` side is not exempt) and records:

    state.metadata["pair"] = {
        "a": {"arm", "prompt", "output", "stop_reason", "flags", "leak_terms"},
        "b": {...},
        "first_shown": "a" | "b",
    }

`first_shown` is the side the judges see first in their first presentation; it is
seeded per sample (seed, sample id, epoch), so reruns agree. `leak_terms` lists what
tripped the leak flag. Both exchanges are placed in `state.messages` (side A's
prompt and answer, then side B's) and logged as labelled transcript info events, so
`inspect view` shows both prompts and outputs; `state.output` is side B's output (the
last generation), and scorers must read `state.metadata["pair"]`, not `state.output`.
"""

from __future__ import annotations

from typing import Any

from inspect_ai.log import transcript
from inspect_ai.model import ChatMessageAssistant, GenerateConfig, ModelOutput, get_model
from inspect_ai.solver import Generate, Solver, TaskState, solver
from inspect_ai.util import collect

from utility_gap.scorers.flags import leak_terms, output_flags
from utility_gap.solvers.framing import framed_messages
from utility_gap.solvers.utility_draws import seeded_random

SIDES: tuple[str, str] = ("a", "b")
REQUIRED_METADATA: tuple[str, ...] = ("task_prompt", "arm_a", "arm_b")


def choose_first_shown(seed: int, sample_id: Any, epoch: int) -> str:
    """The side judges see first, drawn fairly and reproducibly per sample."""
    return "a" if seeded_random("first-shown", seed, sample_id, epoch).random() < 0.5 else "b"


def outcome_terms(outcome: dict[str, Any] | None) -> list[str]:
    """What naming the promised outcome would look like: its text and its entity."""
    if not outcome:
        return []
    return [str(t) for t in (outcome.get("text"), outcome.get("entity")) if t]


def _side_record(
    arm: str, prompt: str, output: ModelOutput, task_prompt: str, outcome: dict[str, Any] | None, pair_prompts: list[str]
) -> dict[str, Any]:
    """One side's record; its leak check uses the framing of every prompt in the pair, so no side is exempt."""
    text = output.completion
    check = dict(prompt=prompt, task_prompt=task_prompt, outcome_terms=outcome_terms(outcome), framing_prompts=pair_prompts)
    return {
        "arm": arm,
        "prompt": prompt,
        "output": text,
        "stop_reason": output.stop_reason,
        "flags": output_flags(text, output.stop_reason, **check),
        "leak_terms": leak_terms(text, **check),
    }


def _info(side: str, record: dict[str, Any]) -> str:
    raised = [name for name, on in record["flags"].items() if on]
    return (
        f"### Side {side.upper()} — arm `{record['arm']}`\n\n"
        f"**Prompt**\n\n```text\n{record['prompt']}\n```\n\n"
        f"**Output** (stop reason `{record['stop_reason']}`; flags: {', '.join(raised) or 'none'})\n\n"
        f"```text\n{record['output']}\n```"
    )


def _reply(output: ModelOutput) -> ChatMessageAssistant:
    return output.message if output.choices else ChatMessageAssistant(content=output.completion)


@solver
def paired_generation(max_tokens: int | None = None, seed: int = 0) -> Solver:
    """Generate side `a` (arm_a) and side `b` (arm_b) of a paired writing sample."""
    config = GenerateConfig(max_tokens=max_tokens) if max_tokens else GenerateConfig()

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        meta = state.metadata
        missing = [key for key in REQUIRED_METADATA if not meta.get(key)]
        if missing:
            raise ValueError(
                f"Sample {state.sample_id!r} lacks metadata {', '.join(missing)}: paired_generation needs the "
                "paired-sample metadata that evals/writing.py builds (see docs/stage2.md)."
            )
        task_prompt = meta["task_prompt"]
        model = get_model()
        inputs = {side: framed_messages(meta[f"arm_{side}"], task_prompt, meta.get(f"outcome_{side}")) for side in SIDES}
        outputs = await collect(*(model.generate(inputs[side], config=config) for side in SIDES))
        pair: dict[str, Any] = {}
        prompts = [inputs[side][-1].text for side in SIDES]
        for side, prompt, output in zip(SIDES, prompts, outputs):
            pair[side] = _side_record(meta[f"arm_{side}"], prompt, output, task_prompt, meta.get(f"outcome_{side}"), prompts)
            transcript().info(_info(side, pair[side]), source=f"side {side}")
        pair["first_shown"] = choose_first_shown(seed, state.sample_id, state.epoch)
        meta["pair"] = pair
        state.messages = [
            message
            for side, output in zip(SIDES, outputs)
            for message in (*inputs[side], _reply(output))
        ]
        state.output = outputs[-1]
        return state

    return solve
