"""Stage 3: seeded damage functions for the judge controls, and chrF."""

from __future__ import annotations

import re

import pytest

from utility_gap.scorers.chrf import chrf, pair_chrf
from utility_gap.solvers.damage import (
    DAMAGE_TYPES,
    DamageError,
    add_typos,
    corrupt_facts,
    damage,
    shuffle_paragraphs,
    truncate,
)

TEXT = (
    "The Harbour Line opened in 1932 after eleven years of work. Its engineer, Margaret Bradfield, "
    "insisted on steel arches strong enough for 52,800 tonnes of traffic.\n\n"
    "At first the line carried only freight. Passenger services began in 1936, and by then the "
    "arches had already survived a severe winter storm without damage.\n\n"
    "Today the line is a protected landmark. Engineers from Lisbon and Osaka still visit it, "
    "and its centenary will be marked with a public festival in the old goods yard."
)
FACTS = ["1932", "Bradfield", "52,800 tonnes", "1936", "Lisbon", "Osaka"]


def words(text: str) -> list[str]:
    return text.split()


@pytest.mark.parametrize("kind", DAMAGE_TYPES)
def test_each_damage_changes_the_text_and_is_seeded(kind):
    damaged = damage(TEXT, kind, seed=1, facts=FACTS)
    assert damaged != TEXT
    assert damage(TEXT, kind, seed=1, facts=FACTS) == damaged
    assert len({damage(TEXT, kind, seed=s, facts=FACTS) for s in range(6)}) > 1


def test_truncated_is_a_prefix_cut_mid_sentence():
    for seed in range(10):
        cut = truncate(TEXT, seed)
        assert TEXT.startswith(cut)
        assert 0.35 < len(words(cut)) / len(words(TEXT)) < 0.65
        assert not re.search(r"[.!?]$", cut)


def test_shuffled_keeps_every_paragraph_in_a_new_order():
    original = TEXT.split("\n\n")
    for seed in range(10):
        shuffled = shuffle_paragraphs(TEXT, seed).split("\n\n")
        assert sorted(shuffled) == sorted(original) and shuffled != original
    one_paragraph = "First sentence here. Second sentence here. Third sentence here."
    out = shuffle_paragraphs(one_paragraph, 0)
    sentences = lambda t: sorted(re.split(r"(?<=[.!?])\s+", t))  # noqa: E731
    assert out != one_paragraph and sentences(out) == sentences(one_paragraph)
    with pytest.raises(DamageError, match="at least two distinct"):
        shuffle_paragraphs("Only one sentence", 0)


def test_corrupted_facts_alters_every_fact_and_keeps_the_length():
    for seed in range(10):
        out = corrupt_facts(TEXT, seed, FACTS)
        assert len(words(out)) == len(words(TEXT))
        for fact in ["1932", "52,800", "1936"]:
            assert fact not in out
        # the three names are rotated among themselves
        assert "Margaret Lisbon" in out or "Margaret Osaka" in out
    # without facts: numbers and mid-sentence names are found in the text
    out = corrupt_facts(TEXT, 0)
    assert "1932" not in out and "52,800" not in out
    with pytest.raises(DamageError, match="no numbers or names"):
        corrupt_facts("all lower case and no numbers at all.", 0)
    with pytest.raises(DamageError, match="not in the text"):
        corrupt_facts(TEXT, 0, ["Vienna"])


def test_years_move_a_little_not_absurdly():
    out = corrupt_facts("It opened in 1932, as planned.", 3, ["1932"])
    year = int(re.search(r"\d{4}", out).group(0))
    assert year != 1932 and 1920 <= year <= 1944


def test_typos_touch_about_one_word_in_eight():
    for seed in range(5):
        out = add_typos(TEXT, seed)
        assert len(words(out)) == len(words(TEXT))
        changed = sum(a != b for a, b in zip(words(out), words(TEXT)))
        long_words = len(re.findall(r"[A-Za-z]{4,}", TEXT))
        assert 0.5 * long_words / 8 <= changed <= 1.5 * long_words / 8


def test_unknown_damage_names_the_choices():
    with pytest.raises(DamageError, match="truncated, shuffled, corrupted_facts, typos"):
        damage(TEXT, "smudged")


def test_chrf_orders_translations_and_skips_pairs_without_reference():
    reference = "The committee approved the new budget on Tuesday evening."
    close = "The committee approved the new budget on Tuesday night."
    far = "A group talked about money."
    assert chrf(reference, reference) == pytest.approx(100.0)
    assert chrf(close, reference) > chrf(far, reference) > 0.0
    pair = {"a": {"output": close}, "b": {"output": far}}
    scores = pair_chrf(reference, pair)
    assert scores["a"] > scores["b"]
    assert pair_chrf(None, pair) is None


def test_identify_damage_inverts_every_damage_of_every_shipped_control():
    from utility_gap.evals.task_items import load_control_texts
    from utility_gap.solvers.damage import identify_damage

    for control in load_control_texts():
        assert identify_damage(control.text, control.text) is None
        for kind in DAMAGE_TYPES:
            for seed in range(5):
                damaged = damage(control.text, kind, seed=seed, facts=control.facts)
                assert identify_damage(control.text, damaged) == kind, (control.id, kind, seed)


def test_identify_damage_refuses_what_no_single_damage_explains():
    from utility_gap.solvers.damage import identify_damage

    both = add_typos(truncate(TEXT, seed=2), seed=2)
    assert identify_damage(TEXT, both) is None
    assert identify_damage(TEXT, "An unrelated text about something else entirely.") is None
    rewritten = TEXT.replace("steel arches strong", "iron girders sturdy")
    assert identify_damage(TEXT, rewritten) is None
