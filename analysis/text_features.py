"""Text features of one output: length, structure, vocabulary, readability, numbers.

Why: blind LLM judges are known to prefer longer, more elaborate answers, so a win
rate alone cannot say *why* one arm's texts won. These features describe what changed
in the text; `length_control` turns them into paired differences and a win rate at
equal length.

Every feature is a pure function of the output string (`text_features`), computed with
maintained libraries where they do the work: words are `wordfreq.tokenize(text, "en")`
tokens, word rarity is `wordfreq.zipf_frequency`, sentences and the Flesch-Kincaid grade
come from `textstat`. Whether the output hit the token limit is not in the string; the
features frame takes it from the log (`analysis/frames/texts.py`). The libraries are
imported on first use (wordfreq takes about a second to import, textstat's pronouncing
dictionary a few seconds to load), so importing the frames costs nothing until texts are
measured.

The features (`FEATURES`, name -> meaning) are the written schema of the features
columns. An empty (whitespace-only) text has 0 words, sentences, paragraphs, numbers,
headings and list items, and NaN for the ratios (mean sentence length, lexical
variety, grade, rare-word rate, quantities per 100 words), which are undefined without
words. English word lists are used whatever the task's language: outputs are English
(translations are *into* English).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from functools import lru_cache

LANGUAGE = "en"
MATTR_WINDOW = 50  # words per window of the moving-average type-token ratio (Covington & McFall 2010)
RARE_ZIPF = 3.0  # a word rarer than once per million words (Zipf < 3) counts as rare

FEATURES: dict[str, str] = {
    "words": "word tokens (wordfreq's English tokenizer; numbers count as words)",
    "sentences": "sentences (textstat's count; a heading or list item without a full stop joins the next sentence)",
    "paragraphs": "non-empty blocks separated by a blank line",
    "mean_sentence_length": "words per sentence",
    "mattr": f"lexical variety: moving-average type-token ratio over {MATTR_WINDOW}-word windows (plain type-token ratio when shorter)",
    "fk_grade": "readability: Flesch-Kincaid grade level (textstat); higher reads harder",
    "rare_word_rate": f"share of alphabetic words with an English Zipf frequency below {RARE_ZIPF:g} (wordfreq), unknown words included",
    "numbers": "numerals (e.g. 12, 3.5, 1,200; not the 1. of a numbered list)",
    "percentages": "numerals followed by % or 'percent'",
    "units": "numerals with a unit of measure, time or money (km, kg, hours, ms, GB, dollars, ...; or after a currency sign)",
    "quant_per_100_words": "numerals per 100 words (quantitative detail)",
    "headings": "Markdown headings (#, or a line underlined with === / ---) and lines wholly in bold",
    "list_items": "lines starting with a bullet (-, *, +, •) or a number (1. / 1))",
}
"""Feature name -> meaning; the features frame has one float64 column per name."""

_NUMBER = r"(?<![\w.])\d{1,3}(?:,\d{3})+(?:\.\d+)?|(?<![\w.])\d+(?:\.\d+)?"
_NUMBER_RE = re.compile(_NUMBER)
_PERCENT_RE = re.compile(rf"(?:{_NUMBER})\s?(?:%|per\s?cent\b)", re.IGNORECASE)
_UNITS = (
    "mm|cm|m|km|mi|miles?|ft|feet|inch(?:es)?|g|kg|mg|tonnes?|tons?|lbs?|ml|l|litres?|liters?|"
    "s|secs?|seconds?|ms|min|mins|minutes?|h|hrs?|hours?|days?|weeks?|months?|years?|"
    "kb|mb|gb|tb|kbps|mbps|gbps|hz|khz|mhz|ghz|w|kw|mw|gw|kwh|mwh|°c|°f|"
    "usd|eur|gbp|dollars?|euros?|pounds?|percentage points?"
)
_UNIT_RE = re.compile(rf"(?:{_NUMBER})\s?(?:{_UNITS})\b", re.IGNORECASE)
_CURRENCY_RE = re.compile(rf"[$€£¥]\s?(?:{_NUMBER})")
_HEADING_RE = re.compile(r"^\s{0,3}#{1,6}\s+\S|^\s*\*\*[^*\n]+\*\*:?\s*$|^\s*__[^_\n]+__:?\s*$", re.MULTILINE)
_SETEXT_RE = re.compile(r"^[^\n\s][^\n]*\n\s{0,3}(?:=+|-{3,})\s*$", re.MULTILINE)
_LIST_RE = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)])\s+\S", re.MULTILINE)
_LIST_MARKER_RE = re.compile(r"^\s*\d{1,3}[.)](?=\s)", re.MULTILINE)  # "1." of a numbered list is not a quantity
_PARAGRAPH_SPLIT_RE = re.compile(r"\n\s*\n")
_ALPHA_RE = re.compile(r"^[^\W\d_]+(?:['’][^\W\d_]+)*$")


def words_of(text: str) -> list[str]:
    """The text's word tokens, lower-cased (wordfreq's tokenizer for English)."""
    import wordfreq

    return wordfreq.tokenize(text, LANGUAGE)


def mattr(tokens: list[str], window: int = MATTR_WINDOW) -> float:
    """Moving-average type-token ratio: the mean share of distinct words per window.

    Unlike a plain type-token ratio it does not fall just because a text is longer.
    A text shorter than the window gets its plain type-token ratio; no words, NaN.
    """
    n = len(tokens)
    if n == 0:
        return math.nan
    if n <= window:
        return len(set(tokens)) / n
    counts = Counter(tokens[:window])
    distinct = len(counts)
    total = distinct
    for i in range(window, n):
        leaving, entering = tokens[i - window], tokens[i]
        counts[leaving] -= 1
        if counts[leaving] == 0:
            distinct -= 1
        if counts[entering] == 0:
            distinct += 1
        counts[entering] += 1
        total += distinct
    return total / ((n - window + 1) * window)


@lru_cache(maxsize=200_000)
def _is_rare(token: str) -> bool | None:
    """None for a token that is not a word (numbers, symbols); else Zipf < RARE_ZIPF."""
    if not _ALPHA_RE.match(token):
        return None
    import wordfreq

    return wordfreq.zipf_frequency(token, LANGUAGE) < RARE_ZIPF


def rare_word_rate(tokens: list[str]) -> float:
    """Share of alphabetic tokens whose English Zipf frequency is below `RARE_ZIPF`."""
    flags = [flag for flag in map(_is_rare, tokens) if flag is not None]
    return sum(flags) / len(flags) if flags else math.nan


def headings(text: str) -> int:
    return len(_HEADING_RE.findall(text)) + len(_SETEXT_RE.findall(text))


def text_features(text: str) -> dict[str, float]:
    """Every feature of `FEATURES` for one output string (a pure function of it)."""
    import textstat

    text = text or ""
    tokens = words_of(text)
    n_words = len(tokens)
    if not text.strip():
        zero = {"words", "sentences", "paragraphs", "numbers", "percentages", "units", "headings", "list_items"}
        return {name: 0.0 if name in zero else math.nan for name in FEATURES}
    sentences = textstat.sentence_count(text) if n_words else 0
    numbers = len(_NUMBER_RE.findall(_LIST_MARKER_RE.sub("", text)))
    return {
        "words": float(n_words),
        "sentences": float(sentences),
        "paragraphs": float(sum(1 for block in _PARAGRAPH_SPLIT_RE.split(text) if block.strip())),
        "mean_sentence_length": n_words / sentences if sentences else math.nan,
        "mattr": mattr(tokens),
        "fk_grade": float(textstat.flesch_kincaid_grade(text)) if n_words else math.nan,
        "rare_word_rate": rare_word_rate(tokens),
        "numbers": float(numbers),
        "percentages": float(len(_PERCENT_RE.findall(text))),
        "units": float(len(_UNIT_RE.findall(text)) + len(_CURRENCY_RE.findall(text))),
        "quant_per_100_words": 100.0 * numbers / n_words if n_words else math.nan,
        "headings": float(headings(text)),
        "list_items": float(len(_LIST_RE.findall(text))),
    }
