"""A large set of real paired-writing logs (with events), built from a small real run.

Why: generating 50k real pairs with the simulated writer and judges takes about an hour
on this machine; the report benchmark needs them once. This module takes real logs
(`inspect eval` of the writing tasks on `simulated/writer` with three simulated judges,
pairwise and rubric: every model call is in the events) and writes `models` copies of
each, each holding `copies` replicas of every sample, through Inspect's own log API
(`read_eval_log`, `write_eval_log`). So the result is a real study's shape: one log per
(model, task), every sample with its events, messages, attachments and scores.

What a replica changes, and how:
- the model (`simulated/writer-NN` in the eval spec), the eval/run/task ids, the sample
  `repeat` (base repeat + copy x base repeats), id and uuid, and the dataset's ids;
- each output text: the simulated writer's four stock sentences become a distinct
  seeded text of 120-700 words (Zipf-weighted English words from wordfreq, paragraphs,
  a heading, a list, numbers with units), so that measuring texts costs what real
  outputs cost; the simulated quality marker the judges read is kept. The text is
  replaced everywhere the sample holds it (metadata, messages, model events, judge
  prompts, attachments) by replacing it in the sample's JSON. Texts are distinct within
  a log and across tasks and copies, but the models' logs of one task share them
  (measuring 100k distinct texts would take this machine hours to build): a reader that
  measures each distinct text once measures a tenth of a real study's texts here;
- the `output_features` score (and its score event): measured again on the new texts
  (`recorded_features.feature_record`), exactly as the scorer does at eval time.
The judges' verdicts, rubric scores and flags are the base sample's (the judges saw the
old texts); the log's results and reductions are the base log's (reductions dropped).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache
from pathlib import Path

import numpy as np
from inspect_ai.log import EvalSample, read_eval_log, write_eval_log
from inspect_ai.scorer import Score

from utility_gap.analysis.frames.recorded_features import FEATURES_SCORER, feature_record

_MARKER_RE = re.compile(r"\n\n\[sim-quality: [+-]\d+\.\d+\]$")
_LEAK = "I hope this entry wins the competition for the sponsor."
_UNITS = ("km", "kg", "hours", "days", "ms", "GB", "dollars", "%", " percent", "weeks")


def _seed(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:8], "little")


@lru_cache(maxsize=1)
def _vocabulary() -> tuple[list[str], np.ndarray]:
    import wordfreq

    words = [w for w in wordfreq.top_n_list("en", 50000) if w.isalpha()]
    weights = np.array([10 ** wordfreq.zipf_frequency(w, "en") for w in words])
    return words, weights / weights.sum()


def synthetic_text(seed: int) -> str:
    """A distinct English-like text of 120-700 words with some structure (seeded)."""
    rng = np.random.default_rng(seed)
    words, p = _vocabulary()
    target = int(np.clip(rng.normal(350, 90), 120, 700))
    draws = iter(rng.choice(len(words), size=target, p=p))
    paragraphs, sentences, n = [], [], 0
    if rng.random() < 0.5:
        paragraphs.append("## " + " ".join(words[next(draws)] for _ in range(3)).capitalize())
        n += 3
    while n < target - 8:
        length = int(min(rng.integers(6, 28), target - n))
        body = " ".join(words[next(draws)] for _ in range(length))
        n += length
        if rng.random() < 0.2:
            body += f" by {rng.integers(2, 900)}{_UNITS[rng.integers(len(_UNITS))]}"
        sentences.append(body.capitalize() + ".")
        if len(sentences) >= rng.integers(3, 7):
            paragraphs.append(" ".join(sentences))
            sentences = []
    if sentences:
        paragraphs.append(" ".join(sentences))
    if rng.random() < 0.3:
        paragraphs.append("\n".join(f"- {words[rng.integers(len(words))]} point {i + 1}" for i in range(3)))
    return "\n\n".join(paragraphs)


def _escaped(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)[1:-1]


def _new_text(old: str, seed: int) -> str:
    """A long text in place of the writer's; a refusal (no quality marker) is kept."""
    marker = _MARKER_RE.search(old)
    if marker is None:
        return old
    body = synthetic_text(seed)
    if _LEAK in old:
        body += " " + _LEAK
    return body + marker.group(0)


def replica_sample(sample: EvalSample, copy: int, base_repeats: int) -> EvalSample:
    """One replica of a base sample (see the module docstring); its uuid is set per log."""
    md = sample.metadata or {}
    repeat = int(md.get("repeat") or 0) + copy * base_repeats
    pair = md.get("pair") or {}
    olds = {side: (pair.get(side) or {}).get("output") for side in ("a", "b")}
    news: dict[str, str] = {}
    for side, old in olds.items():
        if isinstance(old, str):
            news[old] = news.get(old) or _new_text(old, _seed(sample.id, sample.epoch, copy, side))
    text = sample.model_dump_json()
    for old, new in news.items():
        if old != new:
            text = text.replace(_escaped(old), _escaped(new))
    replica = EvalSample.model_validate_json(text)
    replica.id = re.sub(r"__r\d+$", f"__r{repeat}", str(sample.id))
    replica.metadata["repeat"] = repeat
    if FEATURES_SCORER in (replica.scores or {}):
        record = feature_record(replica.metadata)
        words = [record[side]["words"] for side in ("a", "b")]
        score = (
            Score(value=words[0] - words[1], metadata=record)
            if None not in words else Score.unscored(explanation="an output is missing", metadata=record)
        )
        replica.scores[FEATURES_SCORER] = score
        for event in replica.events:
            if event.event == "score" and isinstance(event.score.metadata, dict) and "version" in event.score.metadata:
                event.score = score
    return replica


def replica_logs(base_path: str, out_dir: str, models: int, copies: int) -> list[str]:
    """Write `models` (model, task) logs, each of `copies` replicas of every base sample; returns their paths."""
    base = read_eval_log(base_path)
    base_repeats = 1 + max(int((s.metadata or {}).get("repeat") or 0) for s in base.samples or [])
    samples = [replica_sample(sample, copy, base_repeats) for copy in range(copies) for sample in base.samples or []]
    ids = list(dict.fromkeys(s.id for s in samples))
    dataset = base.eval.dataset.model_copy(update={"sample_ids": ids, "samples": len(ids)})
    task = base.eval.task.split("/")[-1].replace("_", "-")
    paths = []
    for model_index in range(models):
        task_id = uuid.uuid4().hex[:22]
        spec = base.eval.model_copy(
            update={
                "model": f"simulated/writer-{model_index:02d}",
                "eval_id": uuid.uuid4().hex[:22],
                "run_id": uuid.uuid4().hex[:22],
                "task_id": task_id,
                "dataset": dataset,
            }
        )
        own = [sample.model_copy(update={"uuid": uuid.uuid4().hex}) for sample in samples]
        log = base.model_copy(update={"eval": spec, "samples": own, "reductions": None})
        path = Path(out_dir) / f"2026-12-03T00-00-00-00-00_{task}-w{model_index:02d}_{task_id}.eval"
        write_eval_log(log, str(path))
        paths.append(str(path))
    return paths


def replicate_logs(base_dir: Path, out_dir: Path, models: int, copies: int, workers: int = 2) -> list[str]:
    """Every base log x `models`, each with `copies` replicas of its samples (a process per base log)."""
    bases = sorted(str(p) for p in base_dir.glob("*.eval"))
    out_dir.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(replica_logs, base, str(out_dir), models, copies) for base in bases]
        return [path for f in futures for path in f.result()]
