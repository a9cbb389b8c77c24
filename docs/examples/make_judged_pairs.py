"""Make docs/examples/judged_pairs.csv: a judged-pairs table as a rating study might release it.

Why a script: the worked example in docs/analysis.md ("A judged-pairs table as input")
claims what was planted in this table; the script is that claim, and
tests/test_pairs_table.py checks that it reproduces the committed file byte for byte.

Planted: one contrast (`exhort_vs_neutral`, side a = exhort) over 6 models x 5 tasks,
8 pairs per cell (4 prompts x 2 repeats). Cell (i, j) has win rate
`0.62 + a_i + b_j` with model effects a_i ~ N(0, 0.08) and task effects b_j ~ N(0, 0.06);
10% of pairs are ties. Raters answered `first` (side a better), `second`, `same`, and
`??` for 8 pairs they could not judge (unresolved). Pure numpy, seeded.

    python docs/examples/make_judged_pairs.py docs/examples/judged_pairs.csv
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np

MODELS = ("lab-a/base", "lab-a/chat", "lab-b/large", "lab-b/small", "lab-c/mini", "lab-c/pro")
TASKS = ("essay", "grant_abstract", "incident_postmortem", "product_review", "translation")
MEAN, SD_MODEL, SD_TASK, TIES = 0.62, 0.08, 0.06, 0.10
PROMPTS, REPEATS, UNRESOLVED, SEED = 4, 2, 8, 2026


def judged_pairs(seed: int = SEED) -> list[dict[str, str]]:
    """One row per judged pair, in the order a rating export would list them."""
    rng = np.random.default_rng(seed)
    model_effect = rng.normal(0, SD_MODEL, len(MODELS))
    task_effect = rng.normal(0, SD_TASK, len(TASKS))
    rows = []
    for i, model in enumerate(MODELS):
        for j, task in enumerate(TASKS):
            rate = float(np.clip(MEAN + model_effect[i] + task_effect[j], 0.02, 0.98))
            verdicts = rng.choice(["first", "second", "same"], size=PROMPTS * REPEATS,
                                  p=[(1 - TIES) * rate, (1 - TIES) * (1 - rate), TIES])
            for k, verdict in enumerate(verdicts):
                rows.append({"llm": model, "writing_task": task, "comparison": "exhort_vs_neutral",
                             "prompt": f"{task}-{k % PROMPTS + 1:02d}", "preferred": str(verdict)})
    for index in rng.choice(len(rows), size=UNRESOLVED, replace=False):
        rows[index]["preferred"] = "??"
    return [{"pair": f"p{n:03d}", **row} for n, row in enumerate(rows, start=1)]


def write(path: Path, seed: int = SEED) -> None:
    rows = judged_pairs(seed)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python docs/examples/make_judged_pairs.py OUT.csv")
    write(Path(sys.argv[1]))
