"""Logprob mode: P(A) and P(B) from the top logprobs, which letters were found, soft votes.

A real position-biased model often leaves 'B' out of a short top list (the embedded
model: 74 of 132 reads with top_logprobs=5). The simulated chooser plants that with
`logprob_other_tokens` / `logprob_other_mass`; the tests show that a short list loses
'B', that the default of 20 finds both letters, that every read says which it found,
and that the soft votes with the position term recover the planted utilities and bias.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from inspect_ai.model import ChatCompletionChoice, ChatMessageAssistant, Logprob, Logprobs, ModelOutput, TopLogprob
from scipy.stats import spearmanr

from utility_gap.models.simulated import planted_utility
from utility_gap.pipeline.elicitation_rounds import ElicitationPlan, run_elicitation
from utility_gap.solvers.choice import logprob_choice


def output_with(tokens: dict[str, float]) -> ModelOutput:
    top = [TopLogprob(token=t, logprob=math.log(p)) for t, p in tokens.items()]
    first = Logprobs(content=[Logprob(token=top[0].token, logprob=top[0].logprob, top_logprobs=top)])
    choice = ChatCompletionChoice(message=ChatMessageAssistant(content=top[0].token), logprobs=first)
    return ModelOutput(model="x", choices=[choice])


def test_logprob_read_says_which_letters_it_found() -> None:
    both = logprob_choice(output_with({" A": 0.6, "b": 0.2, "The": 0.2}))
    assert both.letters == "both" and both.p_a == pytest.approx(0.75) and both.p_other == pytest.approx(0.2)
    # 'B' missing: its probability is at most the smallest listed one (0.01), not 0
    a_only = logprob_choice(output_with({"A": 0.9, "The": 0.05, "Option": 0.01}))
    assert a_only.letters == "A" and a_only.p_a == pytest.approx(0.9 / 0.91) and a_only.p_a < 1.0
    b_only = logprob_choice(output_with({"B": 0.5, "I": 0.3}))
    assert b_only.letters == "B" and b_only.p_a == pytest.approx(0.3 / 0.8)
    assert logprob_choice(output_with({"The": 0.5, "I": 0.3})) is None


DISTRACTORS = {"logprob_other_tokens": 10, "logprob_other_mass": 0.5, "position_bias": 1.5, "utility_seed": 2}


def elicit(folder: Path, top_logprobs: int):
    return run_elicitation(ElicitationPlan(
        model="simulated/chooser", domain="demo", log_dir=folder, logprobs=True, top_logprobs=top_logprobs,
        rounds=1, budget=50, heldout=16, seed=1, model_args=DISTRACTORS, max_connections=50,
    ))


def test_short_top_list_loses_b_and_twenty_finds_both(tmp_path: Path) -> None:
    short = elicit(tmp_path / "five", 5)
    letters = short.frame["logprob_letters"]
    assert (letters == "A").sum() >= 10  # B fell out of the top 5 for a strongly first-shown choice
    m = short.fit.metrics
    assert m["n_logprob_reads"] == len(short.frame) and m["n_logprob_one_letter"] == (letters != "both").sum()
    assert (short.frame.loc[letters == "A", "p_a"] < 1.0).all()  # a bound, not a certainty

    full = elicit(tmp_path / "twenty", 20)
    m = full.fit.metrics
    assert (full.frame["logprob_letters"] == "both").all()
    assert m["n_logprob_both_letters"] == m["n_logprob_reads"] == len(full.frame)
    assert full.design["mode"] == "logprob" and full.design["top_logprobs"] == 20
    assert (full.frame["calls"] == 1).all() and (full.frame["method"] == "logprob").all()
    # soft votes with the position term: utilities and the planted bias come back
    truth = [planted_utility(full.texts[o], 2) for o in full.fit.ids]
    assert spearmanr(truth, full.fit.means).statistic > 0.9
    planted_beta = 1.5 / np.std(truth)  # on the normalised utility scale
    assert m["position_term"] and m["position_beta_ci_low"] < planted_beta < m["position_beta_ci_high"]
    assert m["position_beta_ci_low"] > 0.3
