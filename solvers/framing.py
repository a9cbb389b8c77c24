"""Arm solvers: the messages that frame one task item under one arm.

The wording is `framing_text.frame_prompt`; this module turns it into chat messages and
an Inspect solver. The framing goes in the user message. No arm sets a system message,
so none is sent: the model sees exactly one user message.
"""

from __future__ import annotations

from typing import Any

from inspect_ai.model import ChatMessage, ChatMessageUser
from inspect_ai.solver import Generate, Solver, TaskState, solver

from utility_gap.solvers.framing_text import ARMS, UTILITY_ARMS, frame_prompt


def framed_messages(arm: str, task_prompt: str, outcome: dict[str, Any] | None = None) -> list[ChatMessage]:
    """The chat input for `task_prompt` under `arm`; utility arms need `outcome["text"]`."""
    outcome_text = outcome["text"] if outcome else None
    if arm in UTILITY_ARMS and not outcome_text:
        raise ValueError(f"Arm '{arm}' needs an outcome drawn from the utilities file (-T utilities=PATH).")
    return [ChatMessageUser(content=frame_prompt(arm, task_prompt, outcome_text))]


@solver
def framed_arm(arm: str) -> Solver:
    """Replace the sample's input with its bare task framed under one arm.

    For single-arm runs (`[framed_arm("exhort"), generate()]`). The bare task is
    `metadata["task_prompt"]` if present, else the sample's input text; a utility arm
    reads its outcome from `metadata["outcome"]` (`{"id", "text", "utility"}`).
    """
    if arm not in ARMS:
        raise ValueError(f"Unknown arm '{arm}'. Known arms: {', '.join(ARMS)}.")

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        task_prompt = state.metadata.get("task_prompt") or state.input_text
        state.messages = framed_messages(arm, task_prompt, state.metadata.get("outcome"))
        state.metadata["arm"] = arm
        return state

    return solve
