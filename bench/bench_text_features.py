"""Benchmark: text features per output, and what they add to a report.

1. `features_of_texts` on N distinct texts of about 400 words (paragraphs, a heading, a
   list, numbers), serially and with worker processes; the first call's one-off cost
   (textstat loading its pronouncing dictionary, wordfreq importing) is timed apart.
2. With --logs DIR: `write_report` on those logs with and without text features
   (`ReportSettings(text_features=False)`), i.e. the cost of reading full samples for the
   texts and measuring them.

Run:  .venv/bin/python bench/bench_text_features.py [--texts 2000] [--logs DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

import pandas as pd

from utility_gap.analysis.frames import TEXTS_SCHEMA, features_of_texts, typed_frame
from utility_gap.analysis.report import ReportSettings, write_report
from utility_gap.analysis.text_features import text_features


def synthetic_texts(n: int, words: int = 400, seed: int = 0) -> list[str]:
    """Distinct texts drawn from wordfreq's 3,000 commonest English words, with some structure."""
    import wordfreq

    vocabulary = [w for w in wordfreq.top_n_list("en", 3000) if w.isalpha()]
    rng = random.Random(seed)
    texts = []
    for i in range(n):
        sentences = []
        while sum(len(s.split()) for s in sentences) < words:
            body = " ".join(rng.choice(vocabulary) for _ in range(rng.randint(8, 24)))
            if rng.random() < 0.2:
                body += f" by {rng.randint(2, 90)}% to {rng.randint(10, 900)} km"
            sentences.append(body.capitalize() + ".")
        paragraphs = [" ".join(sentences[k : k + 5]) for k in range(0, len(sentences), 5)]
        texts.append(f"# Text {i}\n\n" + "\n\n".join(paragraphs) + "\n\n- first point\n- second point\n")
    return texts


def texts_frame_of(texts: list[str]) -> pd.DataFrame:
    rows = [
        {"pair_key": f"k{i // 2}", "log": "bench", "model": "m", "task": "essay", "item_id": str(i), "contrast": "c",
         "side": "ab"[i % 2], "arm": "x", "text": t, "stop_reason": "stop", "present": True, "empty": False,
         "truncated": False}
        for i, t in enumerate(texts)
    ]
    return typed_frame(rows, TEXTS_SCHEMA)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--logs", type=Path, default=None, help="a log directory to report on with and without texts")
    args = parser.parse_args()
    timings: dict[str, float] = {}
    start = time.perf_counter()
    text_features("Warm up: the first call loads the pronouncing dictionary.")
    timings["first call (library loading)"] = time.perf_counter() - start
    frame = texts_frame_of(synthetic_texts(args.texts))
    for workers in (1, args.workers):
        start = time.perf_counter()
        features_of_texts(frame, workers=workers)
        seconds = time.perf_counter() - start
        timings[f"features, {workers} worker(s), ms/text"] = 1000 * seconds / len(frame)
    if args.logs is not None:
        with tempfile.TemporaryDirectory() as out:
            for label, on in (("report without texts, s", False), ("report with texts, s", True)):
                start = time.perf_counter()
                write_report(args.logs, Path(out) / label.split(",")[0].replace(" ", "_"),
                             ReportSettings(text_features=on))
                timings[label] = time.perf_counter() - start
    for name, value in timings.items():
        print(f"{name:40s} {value:8.2f}")
    print(json.dumps({"texts": len(frame), **{k: round(v, 2) for k, v in timings.items()}}))


if __name__ == "__main__":
    main()
