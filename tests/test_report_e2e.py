"""End to end: simulated writer (planted exhort +0.8) + simulated judges -> logs -> frames -> report.

The real `essay` task and `judge_panel` scorer write the logs; the real
`judge_controls` task checks the panel. The planted effect must appear in the report's
table (exhort_vs_neutral win rate > 0.5, Holm-significant) and the planted null
(amount_high_vs_amount_low: no shift) must not.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from inspect_ai import eval
from inspect_ai.model import get_model

from utility_gap.analysis.frames import judged_pairs_frame, read_frames
from utility_gap.analysis.report import ReportSettings, write_report
from utility_gap.analysis.utilities_file import REQUIRED_METRICS, UtilitiesFile, write_utilities
from utility_gap.evals.judge_controls import judge_controls
from utility_gap.evals.outcomes import load_outcomes
from utility_gap.evals.preference import preference_ranking
from utility_gap.models.simulated import planted_utility
from utility_gap.evals.writing import essay

TOPICS = ["rooftop gardens", "evening markets", "river walkways", "repair cafes", "tool libraries", "shade trees"]

CONTROL_PARAGRAPHS = [
    (
        "The Millbrook ferry began running in 1911 and carried about 640 passengers a day at its peak. "
        "It linked two halves of a town that had grown up on opposite banks of a wide, slow river, and "
        "for decades it was the only way across without a long detour upstream."
    ),
    (
        "Engineer Rosalind Marsh proposed a bridge in 1952, arguing that the crossing was too busy for a "
        "single boat and too important to close whenever the river flooded. Her plan was rejected twice "
        "on cost before the council finally approved a narrower design."
    ),
    (
        "The bridge opened in 1958 and the ferry stopped a year later. Today the old landing stages hold "
        "a small museum, where visitors can read the ticket ledgers and see how a town organised its days "
        "around a timetable set by the tide and the weather."
    ),
]


def write_items(path: Path) -> Path:
    records = [
        {
            "task": "essay",
            "id": f"essay/{topic.replace(' ', '-')}",
            "prompt": f"Write 150-200 words arguing that a small town should invest in {topic}.",
            "axis": "Which essay argues its case more convincingly and clearly?",
            "criteria": ["argument", "clarity"],
            "length_target": {"min_words": 150, "max_words": 200},
        }
        for topic in TOPICS
    ]
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    return path


def write_controls(path: Path) -> Path:
    record = {
        "id": "control/millbrook-ferry",
        "task": "essay",
        "prompt": "Write a short history of a river crossing in 120-250 words.",
        "axis": "Which history is more accurate, complete and readable?",
        "text": "\n\n".join(CONTROL_PARAGRAPHS),
        "facts": ["1911", "640", "Rosalind Marsh", "1952", "1958"],
    }
    path.write_text(json.dumps(record) + "\n")
    return path


def judges() -> dict:
    return {f"judge{i}": get_model("simulated/judge", memoize=False, seed=40 + i, judge_sd=0.5) for i in (1, 2, 3)}


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("e2e")
    log_dir = root / "logs"
    (writing,) = eval(
        essay,
        task_args={
            "contrast": "exhort_vs_neutral,amount_high_vs_amount_low",
            "items_file": str(write_items(root / "items.jsonl")),
            "repeats": 4,
            "seed": 3,
        },
        model="simulated/writer",
        model_args={"shifts": "exhort:0.8", "seed": 2},
        model_roles=judges(),
        log_dir=str(log_dir),
        display="none",
        max_samples=64,
    )
    assert writing.status == "success", writing.error
    (controls,) = eval(
        judge_controls,
        task_args={"controls_file": str(write_controls(root / "controls.jsonl"))},
        model="simulated/writer",
        model_roles=judges(),
        log_dir=str(log_dir),
        display="none",
    )
    assert controls.status == "success", controls.error
    (ranking,) = eval(
        preference_ranking,
        task_args={"domain": "demo", "subsets": 30, "size": 6, "seed": 1},
        model="simulated/chooser",
        model_args={"seed": 3},
        log_dir=str(log_dir),
        display="none",
    )
    assert ranking.status == "success", ranking.error
    return log_dir


def planted_utilities_file(path: Path) -> Path:
    """A Thurstonian utilities file holding the simulated chooser's planted utilities."""
    outcomes = [
        {"id": o.id, "text": o.text, "mean": planted_utility(o.text), "variance": 1.0, "n_comparisons": 10}
        for o in load_outcomes("demo")
    ]
    metrics = dict.fromkeys(REQUIRED_METRICS, 0.0) | {"unparseable_policy": "skip"}
    write_utilities(path, UtilitiesFile(model="simulated/chooser", domain="demo", outcomes=outcomes,
                                        metrics=metrics, informative=True))
    return path


def test_frames_of_real_logs_follow_the_contract(logs: Path) -> None:
    frames = read_frames(logs)
    pairs = frames.pairs
    assert len(pairs) == len(TOPICS) * 2 * 4  # items x contrasts x repeats
    assert set(pairs["contrast"]) == {"exhort_vs_neutral", "amount_high_vs_amount_low"}
    assert (pairs["model"] == "simulated/writer").all() and (pairs["task"] == "essay").all()
    assert (pairs["n_judges"] == 3).all() and set(pairs["first_shown"]) == {"a", "b"}
    assert len(frames.verdicts) == len(pairs) * 3 * 2
    assert frames.verdicts.groupby("pair_key")["order"].apply(set).eq({"ab", "ba"}).all()
    pd.testing.assert_frame_equal(judged_pairs_frame(logs), pairs)  # the fast summary read agrees
    kinds = sorted(s.kind for s in frames.logs)
    assert kinds == ["controls", "pairs"]
    assert [s.task for s in frames.skipped] == ["utility_gap/preference_ranking"]
    assert len(frames.controls) > 0 and set(frames.controls["damage"]) == {"truncated", "shuffled", "corrupted_facts", "typos"}


def test_planted_effect_appears_in_the_report_and_planted_null_does_not(logs: Path, tmp_path: Path) -> None:
    path = write_report(logs, tmp_path / "report")
    table = pd.read_csv(tmp_path / "report" / "tables" / "win_rates.csv").set_index("contrast")
    exhort, null = table.loc["exhort_vs_neutral"], table.loc["amount_high_vs_amount_low"]
    assert exhort["win_rate"] > 0.5 and bool(exhort["significant_holm"])
    assert not bool(null["significant_holm"])
    text = path.read_text()
    row = next(line for line in text.splitlines()
               if line.startswith("| simulated/writer | essay") and "exhort better than neutral" in line)
    assert "exhort better than neutral (two-sided, Holm p" in row
    controls = pd.read_csv(tmp_path / "report" / "tables" / "judge_controls.csv")
    panel = controls[(controls["judge"] == "panel") & (controls["damage"] == "all")]
    assert len(panel) == 1 and panel["n"].iloc[0] + panel["n_missing"].iloc[0] == 4
    assert "The panel was not validated" not in text
    for image in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text):
        assert (tmp_path / "report" / image).stat().st_size > 5_000


def test_ranking_logs_agree_with_planted_thurstonian_utilities(logs: Path, tmp_path: Path) -> None:
    utilities = tmp_path / "utilities"
    planted_utilities_file(utilities / "simulated-chooser__demo.json")
    path = write_report(logs, tmp_path / "report", ReportSettings(utilities_dir=utilities))
    text = path.read_text()
    match = re.search(r"Spearman (-?\d\.\d\d) between the Thurstonian means and the ranking \(Borda\) scores over (\d+)", text)
    assert match, "method agreement missing from the report"
    assert float(match.group(1)) > 0.7 and int(match.group(2)) == len(load_outcomes("demo"))
    assert (tmp_path / "report" / "figures" / "utility_methods__simulated-chooser__demo__ranking.png").stat().st_size > 5_000
