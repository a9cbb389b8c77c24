"""Planted length and quality effects, judged by simulated judges, as frames (no eval, no log).

Why not `eval()`: the length-control tests need hundreds of pairs per contrast to tell a
length effect from a quality effect, and the simulated provider answers in about a
millisecond when called directly, against tens of milliseconds per call through an
Inspect eval on this machine. The texts and verdicts are the provider's own
(`simulated/writer` with `length_shifts` / `length_sd`, `simulated/judge` with
`length_bias`); each pair is judged in both presentation orders by each judge, a verdict
that flips with the order is a tie, and the panel's winner is the plurality, as in
`scorers/judge_panel.py`.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pandas as pd
from inspect_ai.model import ChatMessageUser, GenerateConfig, get_model

from utility_gap.analysis.frames import TEXTS_SCHEMA, features_of_texts, typed_frame
from utility_gap.scorers.judge_prompts import pairwise_judge_prompt, parse_pairwise_verdict
from utility_gap.solvers.framing_text import frame_prompt

AXIS = "Which essay argues its case more clearly and convincingly?"


async def _ask(api: Any, prompt: str) -> str:
    output = await api.generate([ChatMessageUser(content=prompt)], [], "none", GenerateConfig())
    return output.completion


async def _verdict(judge: Any, task: str, a: str, b: str) -> str:
    first = parse_pairwise_verdict(await _ask(judge, pairwise_judge_prompt(task, AXIS, a, b)))
    second = parse_pairwise_verdict(await _ask(judge, pairwise_judge_prompt(task, AXIS, b, a)))
    winners = {{"1": "a", "2": "b"}.get(first, "tie"), {"1": "b", "2": "a"}.get(second, "tie")}
    return winners.pop() if len(winners) == 1 else "tie"


def planted_frames(
    contrasts: list[tuple[str, str]],
    *,
    items: int,
    repeats: int,
    writer: dict[str, Any],
    judge: dict[str, Any],
    judges: int = 3,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(judged-pairs columns the statistics need, texts frame) for `contrasts` x items x repeats."""
    writer_api = get_model("simulated/writer", memoize=False, seed=seed, **writer).api
    judge_apis = [get_model("simulated/judge", memoize=False, seed=seed * 100 + k, **judge).api for k in range(judges)]

    async def run() -> tuple[list[dict], list[dict]]:
        pairs, texts = [], []
        for arm_a, arm_b in contrasts:
            contrast = f"{arm_a}_vs_{arm_b}"
            for item in range(items):
                task = f"Write a 200-word essay on topic {item}: why should towns keep their libraries open?"
                for repeat in range(repeats):
                    key = f"planted::{contrast}::{item}::{repeat}"
                    a = await _ask(writer_api, frame_prompt(arm_a, task))
                    b = await _ask(writer_api, frame_prompt(arm_b, task))
                    votes = Counter([await _verdict(j, task, a, b) for j in judge_apis])
                    top = votes.most_common()
                    winner = "tie" if len(top) > 1 and top[0][1] == top[1][1] else top[0][0]
                    pairs.append({"pair_key": key, "model": "simulated/writer", "task": "essay",
                                  "item_id": f"essay/{item}", "contrast": contrast, "winner": winner})
                    for side, arm, text in (("a", arm_a, a), ("b", arm_b, b)):
                        texts.append({"pair_key": key, "log": "planted", "model": "simulated/writer", "task": "essay",
                                      "item_id": f"essay/{item}", "contrast": contrast, "side": side, "arm": arm,
                                      "text": text, "stop_reason": "stop", "present": True, "empty": False,
                                      "truncated": False})
        return pairs, texts

    pairs, texts = asyncio.run(run())
    return pd.DataFrame(pairs), typed_frame(texts, TEXTS_SCHEMA)


def planted_features(*args: Any, **kwargs: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    pairs, texts = planted_frames(*args, **kwargs)
    return pairs, features_of_texts(texts)
