"""Text features: pure functions of a string, computed with textstat and wordfreq."""

from __future__ import annotations

import math

import pytest
import textstat

from utility_gap.analysis.text_features import FEATURES, mattr, text_features, words_of

POSTMORTEM = """# Postmortem: API outage

**Summary**

On 3 May the API was down for 45 minutes. Error rates rose to 12.5% and 1,200 users were affected.
Costs reached $4,000 and p99 latency hit 900 ms.

## Actions

- Roll back within 5 min.
- Add a canary stage.
1. Page the owner.
"""


def test_counts_on_a_structured_text() -> None:
    f = text_features(POSTMORTEM)
    assert set(f) == set(FEATURES)
    assert f["paragraphs"] == 5
    assert f["headings"] == 3  # "# Postmortem", "**Summary**", "## Actions"
    assert f["list_items"] == 3
    # 3, 45, 12.5, 1,200, 4,000, 99 (in p99: not a numeral), 900, 5 -> the "1." list marker is not counted
    assert f["numbers"] == 7
    assert f["percentages"] == 1
    assert f["units"] == 4  # 45 minutes, $4,000, 900 ms, 5 min
    assert f["words"] == len(words_of(POSTMORTEM))
    assert f["quant_per_100_words"] == pytest.approx(100 * 7 / f["words"])
    assert f["fk_grade"] == pytest.approx(textstat.flesch_kincaid_grade(POSTMORTEM))
    assert f["mean_sentence_length"] == pytest.approx(f["words"] / f["sentences"])


def test_longer_text_has_more_words_but_the_same_lexical_variety() -> None:
    """Words drawn from one 200-word vocabulary: the plain type-token ratio falls with length, MATTR does not."""
    import random

    import wordfreq

    vocabulary = [w for w in wordfreq.top_n_list("en", 400) if w.isalpha()][:200]
    rng = random.Random(3)
    draw = [rng.choice(vocabulary) for _ in range(1000)]
    short_text, long_text = " ".join(draw[:60]) + ".", " ".join(draw) + "."
    short, long = text_features(short_text), text_features(long_text)
    assert long["words"] == 1000 and short["words"] == 60
    tokens = words_of(long_text)
    assert len(set(tokens)) / len(tokens) < 0.25  # the plain ratio collapses
    # MATTR does not: its expectation is E[types in 50 draws] / 50 = 4 * (1 - (199/200)^50) = 0.886 at any length
    expected = 4 * (1 - (199 / 200) ** 50)
    assert long["mattr"] == pytest.approx(expected, abs=0.02)
    assert short["mattr"] == pytest.approx(expected, abs=0.08)
    assert long["rare_word_rate"] == 0 == short["rare_word_rate"]


def test_mattr_definition() -> None:
    assert mattr(["a", "b", "a", "b"], window=2) == 1.0  # every window of two holds two types
    assert mattr(["a", "a", "a", "b"], window=2) == pytest.approx((1 + 1 + 2) / (3 * 2))
    assert mattr(["a", "a", "b"], window=5) == pytest.approx(2 / 3)  # shorter than the window
    assert math.isnan(mattr([]))


def test_rare_words_and_readability_move_the_right_way() -> None:
    plain = text_features("The cat sat on the mat. The dog ran to the park. It was a good day.")
    ornate = text_features(
        "The perspicacious interlocutor elucidated the sesquipedalian nomenclature. "
        "Obfuscatory circumlocution notwithstanding, the disquisition proved illuminating."
    )
    assert plain["rare_word_rate"] == 0
    assert ornate["rare_word_rate"] > 0.3
    assert ornate["fk_grade"] > plain["fk_grade"] + 5


@pytest.mark.parametrize("text", ["", "   \n\n  "])
def test_empty_text_has_zero_counts_and_undefined_ratios(text: str) -> None:
    f = text_features(text)
    for name in ("words", "sentences", "paragraphs", "numbers", "percentages", "units", "headings", "list_items"):
        assert f[name] == 0, name
    for name in ("mean_sentence_length", "mattr", "fk_grade", "rare_word_rate", "quant_per_100_words"):
        assert math.isnan(f[name]), name
