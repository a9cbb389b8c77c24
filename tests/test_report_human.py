"""The report with human ratings: real simulated logs, planted raters, `--ratings`.

The simulated writer plants each output's latent quality; planted raters of known
accuracy rate every judged pair against it (and score the rubric from it), and the
report must show the agreement, the panel's accuracy against the human majority, the
rubric correlation and the human win rates, and say when the human check is missing or
weak.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from inspect_ai import eval
from inspect_ai.model import get_model

from utility_gap.analysis.human_ratings import rating_record
from utility_gap.analysis.rating_sample import rating_sample
from utility_gap.analysis.report import ReportError, ReportSettings, write_report
from utility_gap.evals.writing import essay
from utility_gap.models.simulated import quality_of
from utility_gap.pipeline.cli import main as cli
from planted_rater import write_planted_ratings

N_PAIRS = 30  # the shipped essay items, one repeat


@pytest.fixture(scope="module")
def logs(tmp_path_factory) -> Path:
    log_dir = tmp_path_factory.mktemp("human-report") / "logs"
    judges = [get_model("simulated/judge", memoize=False, seed=s) for s in (1, 2, 3)]
    (log,) = eval(
        essay(contrast="exhort_vs_neutral", scorer="both", seed=5),
        model=get_model("simulated/writer", memoize=False, shifts="exhort:0.6", seed=4),
        model_roles={"judge": judges},
        log_dir=str(log_dir),
        display="none",
    )
    assert log.status == "success", log.error
    return log_dir


@pytest.fixture(scope="module")
def planted(logs: Path) -> dict:
    """Truth, latent qualities and criteria of every judged pair, read back from the outputs."""
    sample = rating_sample(logs, per_stratum=1000)
    assert len(sample.pairs) == N_PAIRS
    qualities = {p.pair_key: (quality_of(p.output_a), quality_of(p.output_b)) for p in sample.pairs}
    return {
        "truth": {k: "a" if qa > qb else "b" for k, (qa, qb) in qualities.items()},
        "qualities": qualities,
        "criteria": {p.pair_key: list(p.criteria) for p in sample.pairs},
    }


def tables(folder: Path) -> dict[str, pd.DataFrame]:
    return {p.stem: pd.read_csv(p) for p in (folder / "tables").glob("human_*.csv")}


def cautions(folder: Path) -> str:
    text = (folder / "report.md").read_text()
    return text.split("## What the data cannot support")[1].split("## What was run")[0]


def test_report_without_ratings_says_the_panel_has_no_human_check(logs: Path, tmp_path: Path) -> None:
    write_report(logs, tmp_path / "report")
    assert "The panel was not checked against human judgement: no ratings were given" in cautions(tmp_path / "report")
    assert not tables(tmp_path / "report")


def test_planted_raters_are_compared_with_the_panel(logs: Path, planted: dict, tmp_path: Path) -> None:
    files = []
    for rater, accuracy, seed in (("alice", 0.9, 1), ("bob", 0.8, 2)):
        path = tmp_path / f"{rater}.jsonl"
        write_planted_ratings(path, planted["truth"], rater, accuracy, seed,
                              qualities=planted["qualities"], criteria=planted["criteria"])
        files.append(path)
    out = tmp_path / "report"
    assert cli(["report", str(logs), "--out", str(out), "--ratings", *map(str, files)]) == 0
    found = tables(out)
    assert set(found) == {"human_raters", "human_panel_agreement", "human_panel_accuracy", "human_rater_agreement",
                          "human_krippendorff", "human_win_rates", "human_rubric_correlation"}
    raters = found["human_raters"].set_index("rater")
    assert raters.loc["alice", "matched"] == raters.loc["bob", "matched"] == N_PAIRS
    # the two planted raters agree on exactly the pairs both got right or both got wrong
    pairwise = found["human_rater_agreement"].query("task == 'all'").iloc[0]
    truth = planted["truth"]
    assert pairwise["n"] == N_PAIRS
    from planted_rater import planted_verdicts

    a, b = (planted_verdicts(truth, r, acc, s).set_index("pair_key")["verdict"] for r, acc, s in
            (("alice", 0.9, 1), ("bob", 0.8, 2)))
    assert pairwise["agreement"] == pytest.approx((a == b).mean())
    assert pairwise["agreement_ci_low"] <= 0.9 * 0.8 + 0.1 * 0.2 <= pairwise["agreement_ci_high"]
    # the panel against people: per task and overall, with intervals
    agreement = found["human_panel_agreement"]
    assert set(agreement["rater"]) == {"alice", "bob"} and set(agreement["task"]) == {"essay", "all"}
    assert (agreement["agreement_ci_low"] <= agreement["agreement"]).all()
    accuracy = found["human_panel_accuracy"].set_index("task").loc["all"]
    assert accuracy["n"] + accuracy["n_split"] == N_PAIRS and accuracy["direction_accuracy"] > 0.7
    alphas = found["human_krippendorff"]
    assert set(alphas["raters"]) == {"humans", "humans + panel"}
    # people and panel see the planted exhortation effect in the same direction
    wins = found["human_win_rates"].iloc[0]
    assert wins["human_win_rate"] > 0.5 and wins["panel_win_rate"] > 0.5 and bool(wins["same_direction"])
    # rubric scores of people and panel come from the same latent quality: clearly correlated
    rubric = found["human_rubric_correlation"].set_index("task").loc["all"]
    assert rubric["n"] == N_PAIRS * 2 * len(next(iter(planted["criteria"].values())))
    assert rubric["spearman"] > 0.5 and rubric["ci_low"] > 0
    assert "not checked against human judgement" not in cautions(out)
    assert "## The panel against people" in (out / "report.md").read_text()


def test_a_rater_who_guesses_makes_the_check_weak_and_it_is_said(logs: Path, planted: dict, tmp_path: Path) -> None:
    path = tmp_path / "guesser.jsonl"
    write_planted_ratings(path, planted["truth"], "guesser", 0.5, 3)
    write_report(logs, tmp_path / "report", ReportSettings(ratings=(path,)))
    text = cautions(tmp_path / "report")
    assert "The panel agrees weakly with people overall" in text
    assert "One rater only" in (tmp_path / "report" / "report.md").read_text()


def test_too_few_or_unmatched_ratings_are_stated(logs: Path, planted: dict, tmp_path: Path) -> None:
    few = tmp_path / "few.jsonl"
    truth = dict(list(planted["truth"].items())[:5])
    write_planted_ratings(few, truth, "few", 1.0)
    write_report(logs, tmp_path / "few-report", ReportSettings(ratings=(few,)))
    assert "Only 5 pair(s) overall have a human majority verdict" in cautions(tmp_path / "few-report")
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps(rating_record(rater="x", pair_key="another.eval::1::1", shown_first="a",
                                              choice="1")) + "\n")
    write_report(logs, tmp_path / "other-report", ReportSettings(ratings=(other,)))
    assert "None of the human ratings given is of a pair analysed here" in cautions(tmp_path / "other-report")


def test_a_bad_ratings_file_stops_the_report_before_anything_is_written(logs: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"schema": "utility-gap/rating/v1", "rater": "x"}\n')
    with pytest.raises(ReportError, match="bad.jsonl, line 1: field 'pair_key'"):
        write_report(logs, tmp_path / "report", ReportSettings(ratings=(bad,)))
    assert not (tmp_path / "report").exists()
    assert cli(["report", str(logs), "--out", str(tmp_path / "report"), "--ratings", str(tmp_path / "missing.jsonl")]) == 2
    assert not (tmp_path / "report").exists()
