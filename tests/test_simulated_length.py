"""The simulated provider's planted length: padding that carries no quality, judges that like length.

Defaults must keep every earlier behaviour: with no length argument a text is exactly
four sentences and its marker, whatever the arm.
"""

from __future__ import annotations

import asyncio

import pytest
from inspect_ai.model import get_model

from utility_gap.models.simulated import quality_of
from utility_gap.scorers.judge_prompts import pairwise_judge_prompt, parse_pairwise_verdict
from utility_gap.solvers.framing_text import frame_prompt

TASKS = [f"Write a short essay on topic {i}: should towns keep their libraries open?" for i in range(30)]


def simulated(role: str, **args: object):
    return get_model(f"simulated/{role}", memoize=False, **args)


def write(model, prompts: list[str]) -> list[str]:
    async def run() -> list[str]:
        return [(await model.generate(p)).completion for p in prompts]

    return asyncio.run(run())


def body(text: str) -> str:
    return text.rsplit("\n\n", 1)[0]


def sentences(text: str) -> int:
    return body(text).count(". ") + 1


def test_default_writer_writes_four_sentences_for_every_arm() -> None:
    writer = simulated("writer", seed=4, shifts="exhort:0.8")
    for arm in ("exhort", "exhort_mid", "neutral", "sandbag"):
        for text in write(writer, [frame_prompt(arm, t) for t in TASKS[:5]]):
            assert sentences(text) == 4 and quality_of(text) is not None


def test_length_shift_pads_without_touching_quality_or_the_base_text() -> None:
    prompts = [frame_prompt("exhort_mid", t) for t in TASKS]
    plain = write(simulated("writer", seed=4, shifts="exhort_mid:0.3"), prompts)
    padded = write(simulated("writer", seed=4, shifts="exhort_mid:0.3", length_shifts="exhort_mid:3"), prompts)
    for short, long in zip(plain, padded):
        assert quality_of(long) == quality_of(short)  # padding carries no quality
        assert body(long).startswith(body(short))  # the same four sentences, then padding
        assert sentences(long) == sentences(short) + 3
    # other arms are not padded; length_sd varies every arm's length around its shift
    neutral = write(simulated("writer", seed=4, length_shifts="exhort_mid:3"), [frame_prompt("neutral", t) for t in TASKS])
    assert {sentences(t) for t in neutral} == {4}
    varied = write(simulated("writer", seed=4, length_sd=2.0), [frame_prompt("neutral", t) for t in TASKS])
    counts = [sentences(t) for t in varied]
    assert min(counts) >= 1 and len(set(counts)) >= 4 and 3 <= sum(counts) / len(counts) <= 5


def judge_picks(judge, first: str, second: str, n: int) -> int:
    """How often the judge calls response 1 better, over n different tasks."""
    prompts = [pairwise_judge_prompt(f"Task number {i}.", "quality", first, second) for i in range(n)]
    return sum(parse_pairwise_verdict(answer) == "1" for answer in write(judge, prompts))


def test_judge_length_bias_prefers_the_longer_of_two_equal_texts() -> None:
    short = "One clear point is made here.\n\n[sim-quality: +0.2000]"
    long = "One clear point is made here. " * 4 + "\n\n[sim-quality: +0.2000]"
    n = 120
    fair = judge_picks(simulated("judge", seed=1, judge_sd=0.5), long, short, n)
    biased = judge_picks(simulated("judge", seed=1, judge_sd=0.5, length_bias=0.5), long, short, n)
    biased_flipped = judge_picks(simulated("judge", seed=1, judge_sd=0.5, length_bias=0.5), short, long, n)
    assert 0.4 < fair / n < 0.6
    # planted: z = 0.5 * log2(4 * 6 / 6) = 1.0 against judge noise sd 0.5 -> P(longer) = Phi(2) = 0.98
    assert biased / n > 0.93 and biased_flipped / n < 0.07


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"length_sd": -1}, "-M length_sd=-1"),
        ({"length_shifts": "exhort_max:2"}, "unknown arm 'exhort_max'"),
        ({"length_bias": "long"}, "-M length_bias=long"),
    ],
)
def test_bad_length_arguments_name_the_argument(args: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        simulated("writer", **args)
