"""Seeded damage to a good text, for the judge-control pairs (intact vs damaged).

Each function returns a copy of the text that a careful reader would rate worse,
and always a copy that differs from the input (or raises `DamageError` saying why
it cannot). The same (text, seed) always gives the same damage.

- `truncated`: the text is cut off mid-sentence after roughly half its words.
- `shuffled`: the paragraphs are put in a different order (sentences, if there is
  only one paragraph), so the argument no longer flows.
- `corrupted_facts`: concrete facts are altered, token for token: every number is
  changed (years move by 2-12 years, clock times by 20 minutes to 3 hours, other
  numbers are scaled), number words are exchanged, and names are swapped with one
  another (or replaced, if there is only one).
- `typos`: about one word in eight gets a typo: two letters swapped, a letter dropped,
  a letter doubled, or a shift-key slip (an inner letter in upper case).

`identify_damage(intact, other)` is the inverse: which of these damages turns `intact`
into `other` (the simulated judge uses it to plant a sensitivity per damage type).
"""

from __future__ import annotations

import hashlib
import re
from typing import Callable, Sequence

import numpy as np

DAMAGE_TYPES: tuple[str, ...] = ("truncated", "shuffled", "corrupted_facts", "typos")

TRUNCATE_KEEP = 0.5
TYPO_RATE = 0.125
REPLACEMENT_NAMES: tuple[str, ...] = ("Hollingworth", "Marchetti", "Okonkwo", "Lindqvist", "Vasquez", "Tanaka")

_PARAGRAPH_SPLIT = re.compile(r"\n\s*\n")
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+")
_TIME_RE = re.compile(r"\b\d{1,2}:\d{2}\b")
_NUMBER_RE = re.compile(r"\d[\d,]*(?:\.\d+)?")
_LETTER_RUNS = re.compile(r"[A-Za-z]+|[^A-Za-z]+")
_NAME_RE = re.compile(r"(?<=[a-z,;] )[A-Z][a-z]{2,}\b")
NUMBER_WORDS: tuple[str, ...] = ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")
GENERIC_NAME_WORDS = frozenset(
    {"The", "Port", "University", "College", "Hospital", "Saint", "Lake", "Mount", "River", "North", "South",
     "East", "West", "New", "City", "County", "Street", "Road", "Bridge", "Institute", "School", "January",
     "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December",
     "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}
)


class DamageError(ValueError):
    """A text cannot be damaged in the requested way; the message says why."""


def _rng(kind: str, text: str, seed: int) -> np.random.Generator:
    digest = hashlib.sha256(f"{kind}\x1f{seed}\x1f{text}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def truncate(text: str, seed: int = 0, keep: float = TRUNCATE_KEEP) -> str:
    """Cut the text after about `keep` of its words, never at a sentence end."""
    if not 0.0 < keep < 1.0:
        raise DamageError(f"truncate: keep={keep} must be strictly between 0 and 1.")
    tokens = re.findall(r"\S+\s*", text)
    if len(tokens) < 4:
        raise DamageError("truncate: the text has fewer than 4 words; nothing meaningful to cut.")
    rng = _rng("truncated", text, seed)
    cut = int(round(len(tokens) * keep)) + int(rng.integers(-2, 3))
    cut = min(max(cut, 2), len(tokens) - 1)
    # end mid-sentence: step back past any word that closes a sentence
    while cut > 2 and re.search(r"[.!?][\"')]*\s*$", tokens[cut - 1]):
        cut -= 1
    return "".join(tokens[:cut]).rstrip()


def _permute_differently(items: list[str], rng: np.random.Generator) -> list[str]:
    if len(set(items)) < 2:
        raise DamageError("shuffle: the text needs at least two distinct paragraphs or sentences.")
    while True:
        order = list(rng.permutation(len(items)))
        shuffled = [items[i] for i in order]
        if shuffled != items:
            return shuffled


def shuffle_paragraphs(text: str, seed: int = 0) -> str:
    """Reorder the paragraphs (or, with one paragraph, its sentences) into a new order."""
    rng = _rng("shuffled", text, seed)
    paragraphs = [p.strip() for p in _PARAGRAPH_SPLIT.split(text.strip()) if p.strip()]
    if len(set(paragraphs)) >= 2:
        return "\n\n".join(_permute_differently(paragraphs, rng))
    sentences = [s for s in _SENTENCE_SPLIT.split(text.strip()) if s]
    return " ".join(_permute_differently(sentences, rng))


def _altered_number(token: str, rng: np.random.Generator) -> str:
    if _TIME_RE.fullmatch(token):  # a clock time: move it by 20 minutes to 3 hours
        hours, minutes = map(int, token.split(":"))
        shift = int(rng.integers(20, 181)) * (1 if rng.random() < 0.5 else -1)
        total = (hours * 60 + minutes + shift) % (24 * 60)
        return f"{total // 60:0{len(token.split(':')[0])}d}:{total % 60:02d}"
    digits = re.sub(r"\D", "", token.split(".")[0]) or "0"
    value = int(digits)
    if 1000 <= value <= 2100 and "," not in token and "." not in token:  # a year: move it a little
        shift = int(rng.integers(2, 13)) * (1 if rng.random() < 0.5 else -1)
        return str(value + shift)
    while True:
        factor = float(rng.choice([0.5, 0.7, 1.3, 1.6, 2.0, 3.0]))
        new = max(1, int(round(value * factor))) if value > 9 else int(rng.integers(1, 10))
        if new != value:
            break
    new_text = f"{new:,}" if "," in token else str(new)
    if "." in token:
        new_text += "." + token.split(".", 1)[1]
    return new_text


def _token_pattern(tokens: Sequence[str]) -> re.Pattern[str]:
    """Whole tokens only (a number is not matched inside a longer number), longest first."""
    alternatives = "|".join(re.escape(t) for t in sorted(set(tokens), key=len, reverse=True))
    return re.compile(rf"(?<![\w,.:])(?:{alternatives})(?![\w:]|[,.]\d)")


def _fact_tokens(source: str, with_number_words: bool) -> tuple[list[str], list[str], list[str]]:
    """The alterable tokens of a text or fact: numbers, number words, names."""
    times = _TIME_RE.findall(source)
    numbers = times + _NUMBER_RE.findall(_TIME_RE.sub(" ", source))
    words = [w for w in re.findall(r"\b[a-z]+\b", source) if w in NUMBER_WORDS] if with_number_words else []
    pattern = r"\b[A-Z][a-z]{2,}\b" if with_number_words else _NAME_RE.pattern
    names = [n for n in re.findall(pattern, source) if n not in GENERIC_NAME_WORDS]
    return numbers, words, names


def corrupt_facts(text: str, seed: int = 0, facts: Sequence[str] | None = None) -> str:
    """Alter every number and swap names, inside `facts` if given, else anywhere in the text.

    Only tokens change (a number for a number, a name for a name, a number word for
    another), so the text keeps its length and shape: only the facts are wrong.
    """
    rng = _rng("corrupted_facts", text, seed)
    if facts:
        missing = [f for f in facts if f not in text]
        if missing:
            raise DamageError(f"corrupt_facts: facts not in the text: {missing}.")
        parts = [_fact_tokens(f, with_number_words=True) for f in facts]
        numbers, words, names = ([t for part in parts for t in part[i]] for i in range(3))
    else:
        numbers, words, names = _fact_tokens(text, with_number_words=False)
    numbers, words, names = (list(dict.fromkeys(x)) for x in (numbers, words, names))
    if not (numbers or words or names):
        raise DamageError("corrupt_facts: the text has no numbers or names to alter; give `facts`.")
    mapping: dict[str, str] = {n: _altered_number(n, rng) for n in numbers}
    for word in words:
        mapping[word] = str(rng.choice([w for w in NUMBER_WORDS if w != word]))
    if len(names) >= 2:
        mapping.update(zip(names, names[1:] + names[:1]))
    elif names:
        mapping[names[0]] = str(rng.choice([n for n in REPLACEMENT_NAMES if n not in text]))
    tokens = _token_pattern(list(mapping))

    def alter(fragment: str) -> str:
        return tokens.sub(lambda m: mapping[m.group(0)], fragment)

    if facts:
        fact_pattern = re.compile("|".join(re.escape(f) for f in sorted(set(facts), key=len, reverse=True)))
        damaged = fact_pattern.sub(lambda m: alter(m.group(0)), text)
    else:
        damaged = alter(text)
    if damaged == text:
        raise DamageError("corrupt_facts: altering the facts left the text unchanged.")
    return damaged


def _typo(word: str, rng: np.random.Generator) -> str:
    letters = list(word)
    i = int(rng.integers(1, len(letters) - 1))
    kind = int(rng.integers(0, 4))
    if kind == 0 and letters[i] != letters[i + 1]:
        letters[i], letters[i + 1] = letters[i + 1], letters[i]
    elif kind == 1:
        del letters[i]
    elif kind == 2 and letters[i].islower():
        letters[i] = letters[i].upper()
    else:
        letters.insert(i, letters[i])
    return "".join(letters)


def add_typos(text: str, seed: int = 0, rate: float = TYPO_RATE) -> str:
    """Put a typo into about `rate` of the words of four letters or more (at least one)."""
    if not 0.0 < rate <= 1.0:
        raise DamageError(f"add_typos: rate={rate} must be in (0, 1].")
    rng = _rng("typos", text, seed)
    words = list(re.finditer(r"[A-Za-z]{4,}", text))
    if not words:
        raise DamageError("add_typos: the text has no word of four letters or more.")
    n = max(1, int(round(rate * len(words))))
    chosen = sorted(rng.choice(len(words), size=min(n, len(words)), replace=False))
    pieces, last = [], 0
    for index in chosen:
        match = words[index]
        pieces.append(text[last : match.start()])
        pieces.append(_typo(match.group(0), rng))
        last = match.end()
    pieces.append(text[last:])
    return "".join(pieces)


_DAMAGE: dict[str, Callable[..., str]] = {
    "truncated": truncate,
    "shuffled": shuffle_paragraphs,
    "corrupted_facts": corrupt_facts,
    "typos": add_typos,
}


def _is_typo_edit(intact: str, other: str) -> bool:
    """One letter swapped with its neighbour, dropped, doubled, or put in upper case."""
    if len(other) == len(intact):
        diff = [i for i, (x, y) in enumerate(zip(intact, other)) if x != y]
        if len(diff) == 1:
            i = diff[0]
            return intact[i].isalpha() and other[i] == intact[i].upper() != intact[i]
        return len(diff) == 2 and diff[1] == diff[0] + 1 and intact[diff[0]] == other[diff[1]] and intact[diff[1]] == other[diff[0]]
    longer, shorter = (intact, other) if len(intact) > len(other) else (other, intact)
    if len(longer) != len(shorter) + 1:
        return False
    i = next((k for k, (x, y) in enumerate(zip(longer, shorter)) if x != y), len(shorter))
    return longer[i].isalpha() and longer[:i] + longer[i + 1 :] == shorter


def _is_fact_edit(intact: str, other: str) -> bool:
    """A number changed, a number word exchanged, or a name replaced by another name."""
    if any(c.isdigit() for c in intact + other):
        return True
    if all(c.lower() in NUMBER_WORDS for c in (intact, other)):
        return True
    return all(len(c) >= 3 and c[0].isupper() and c[1:].islower() for c in (intact, other))


def _units(text: str) -> list[str]:
    paragraphs = [p.strip() for p in _PARAGRAPH_SPLIT.split(text.strip()) if p.strip()]
    if len(paragraphs) >= 2:
        return paragraphs
    return [s for s in _SENTENCE_SPLIT.split(text.strip()) if s]


def identify_damage(intact: str, other: str) -> str | None:
    """The damage type that turns `intact` into `other`, or None if no single one does.

    Read from the two texts alone: a proper prefix is `truncated`; the same paragraphs
    (or sentences) in another order are `shuffled`; the same words but for changed
    numbers, number words or names are `corrupted_facts`; the same words but for
    one-letter slips are `typos`.
    """
    intact, other = intact.strip(), other.strip()
    if intact == other or not other:
        return None
    if intact.startswith(other):
        return "truncated"
    units_intact, units_other = _units(intact), _units(other)
    if units_intact != units_other and sorted(units_intact) == sorted(units_other):
        return "shuffled"
    # letter runs and what lies between them: typos and fact edits keep this shape
    words_intact, words_other = _LETTER_RUNS.findall(intact), _LETTER_RUNS.findall(other)
    if len(words_intact) != len(words_other):
        return None
    changed = [(x, y) for x, y in zip(words_intact, words_other) if x != y]
    if all(_is_typo_edit(x, y) for x, y in changed):
        return "typos"
    if all(_is_fact_edit(x, y) for x, y in changed):
        return "corrupted_facts"
    return None


def damage(text: str, kind: str, seed: int = 0, facts: Sequence[str] | None = None) -> str:
    """Apply one damage type (one of `DAMAGE_TYPES`) with a seed."""
    if kind not in _DAMAGE:
        raise DamageError(f"Unknown damage type '{kind}'. Use one of: {', '.join(DAMAGE_TYPES)}.")
    if kind == "corrupted_facts":
        return corrupt_facts(text, seed, facts)
    return _DAMAGE[kind](text, seed)
