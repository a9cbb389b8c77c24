"""The frames read logs into the documented schema, skip other tasks, and count what they cannot use."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from inspect_ai.log import EvalLog, write_eval_log

from utility_gap.analysis.frames import (
    JUDGE_VERDICTS_SCHEMA,
    JUDGED_PAIRS_SCHEMA,
    OUTPUTS_SCHEMA,
    FrameError,
    judged_pairs_frame,
    read_frames,
    validate_judged_pairs,
)
from synthetic_logs import SyntheticRun, synthetic_log, write_synthetic_logs, write_unrelated_log


def other_task_log(path: Path) -> Path:
    return Path(write_unrelated_log(str(path)))


def write_log(log: EvalLog, path: Path) -> Path:
    write_eval_log(log, str(path))
    return path


def test_one_row_per_judged_pair_with_the_documented_schema(tmp_path: Path) -> None:
    runs = [
        SyntheticRun(task="essay", contrast="exhort_vs_neutral", shift=0.8, n_items=6, repeats=2, seed=1, flag_rate=0.1),
        SyntheticRun(task="translation", contrast="utility_high_vs_utility_low", n_items=5, repeats=2, seed=2),
    ]
    logs = [synthetic_log(run) for run in runs]
    for i, log in enumerate(logs):
        write_log(log, tmp_path / f"log{i}.eval")
    frames = read_frames(tmp_path)
    pairs = frames.pairs

    assert len(pairs) == 12 + 10
    for column, (dtype, _) in JUDGED_PAIRS_SCHEMA.items():
        assert str(pairs[column].dtype) == dtype, column
    for column, (dtype, _) in JUDGE_VERDICTS_SCHEMA.items():
        assert str(frames.verdicts[column].dtype) == dtype, column
    for column, (dtype, _) in OUTPUTS_SCHEMA.items():
        assert str(frames.outputs[column].dtype) == dtype, column
    assert pairs["pair_key"].is_unique

    # every value comes from the log: compare row by row with the samples written
    by_key = pairs.set_index(["log", "sample_id"])
    for i, log in enumerate(logs):
        for sample in log.samples:
            row = by_key.loc[(f"log{i}.eval", str(sample.id))]
            md, score = sample.metadata, sample.scores["judge_panel"].metadata
            assert row["winner"] == score["winner"]
            assert (row["contrast"], row["arm_a"], row["arm_b"]) == (md["contrast"], md["arm_a"], md["arm_b"])
            assert row["item_id"] == md["item_id"] and row["repeat"] == md["repeat"]
            for flag in ("empty", "truncated", "refusal", "leak"):
                assert row[f"flag_{flag}"] == (score["flags"]["a"][flag] or score["flags"]["b"][flag])
            if md["outcome_a"] is None:
                assert row["outcome_a"] is None and np.isnan(row["utility_diff"])
            else:
                assert row["outcome_a"] == md["outcome_a"]["id"]
                assert row["utility_a"] == pytest.approx(md["outcome_a"]["utility"])
                assert row["utility_diff"] == pytest.approx(md["utility_diff"])
            assert row["n_judges"] == 3 and row["n_missing"] == 0
            assert row["model"] == log.eval.model and not row["partial_log"]
    assert pairs["flag_leak"].any() and not pairs["flag_leak"].all()  # planted flag_rate=0.1

    # verdicts: 3 judges x 2 presentations per pair; outputs: 2 sides x 3 judges x 2 criteria
    assert len(frames.verdicts) == len(pairs) * 6
    assert set(frames.verdicts["order"]) == {"ab", "ba"}
    assert len(frames.outputs) == len(pairs) * 12
    assert set(frames.outputs["side"]) == {"a", "b"}
    assert [s.n_rows for s in frames.logs] == [12, 10]


def test_other_tasks_are_skipped_and_listed_but_an_explicit_one_is_an_error(tmp_path: Path) -> None:
    write_synthetic_logs(str(tmp_path), [SyntheticRun(n_items=4)])
    other = other_task_log(tmp_path / "2026-01-01T00-00-00+00-00_arithmetic_abc.eval")
    frames = read_frames(tmp_path)
    assert len(frames.pairs) == 4
    assert [(s.log, s.task) for s in frames.skipped] == [(other.name, "some_other_suite/arithmetic")]
    assert "judge_panel" in frames.skipped[0].reason

    with pytest.raises(FrameError, match="arithmetic"):
        read_frames(other)


def test_no_relevant_logs_or_no_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FrameError, match="does not exist"):
        judged_pairs_frame(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FrameError, match="No Inspect logs"):
        judged_pairs_frame(tmp_path / "empty")
    other_task_log(tmp_path / "only_other" / "2026-01-01T00-00-00+00-00_x_y.eval")
    with pytest.raises(FrameError, match="No paired-writing logs.*some_other_suite/arithmetic"):
        judged_pairs_frame(tmp_path / "only_other")


def test_partial_log_is_used_and_counted(tmp_path: Path) -> None:
    run = SyntheticRun(n_items=10, repeats=1, status="error", completed_share=0.6, seed=3)
    write_log(synthetic_log(run), tmp_path / "partial.eval")
    write_log(synthetic_log(SyntheticRun(n_items=5, seed=4, task="grant_abstract")), tmp_path / "full.eval")
    frames = read_frames(tmp_path)
    partial = {s.log: s for s in frames.logs}["partial.eval"]
    assert partial.partial and partial.status == "error"
    assert (partial.n_expected, partial.n_samples, partial.n_rows) == (10, 6, 6)
    assert frames.pairs.groupby("log")["partial_log"].all().to_dict() == {"full.eval": False, "partial.eval": True}
    assert [s.log for s in frames.partial_logs] == ["partial.eval"]


def test_pairs_without_a_panel_verdict_and_unscored_samples_are_counted_not_rows(tmp_path: Path) -> None:
    log = synthetic_log(SyntheticRun(n_items=6, seed=5))
    silent = log.samples[0].scores["judge_panel"]
    silent.metadata["winner"] = None
    silent.answer = None
    for judge in silent.metadata["judges"]:
        judge["verdict"] = None
        for presentation in judge["presentations"]:
            presentation.update(parsed=None, winner=None)
    log.samples[1].scores = None  # a sample that failed before scoring
    write_log(log, tmp_path / "log.eval")
    frames = read_frames(tmp_path)
    (summary,) = frames.logs
    assert (summary.n_rows, summary.n_no_verdict, summary.n_unscored) == (4, 1, 1)
    assert str(log.samples[0].id) not in set(frames.pairs["sample_id"])
    missing = frames.verdicts[frames.verdicts["pair_key"].str.endswith(f"::{log.samples[0].id}::1")]
    assert len(missing) == 6 and missing["parsed"].isna().all() and missing["judge_verdict"].isna().all()


def test_missing_judge_is_counted_per_pair(tmp_path: Path) -> None:
    write_log(synthetic_log(SyntheticRun(n_items=30, missing_rate=0.3, seed=6)), tmp_path / "log.eval")
    frames = read_frames(tmp_path)
    verdicts = frames.verdicts.drop_duplicates(["pair_key", "judge"])
    per_pair = verdicts.groupby("pair_key")["judge_verdict"].apply(lambda v: int(v.isna().sum()))
    merged = frames.pairs.set_index("pair_key")["n_missing"]
    assert (per_pair.reindex(merged.index) == merged).all()
    assert merged.sum() > 0


def test_a_sample_breaking_the_contract_names_log_sample_and_field(tmp_path: Path) -> None:
    log = synthetic_log(SyntheticRun(n_items=3, seed=7))
    del log.samples[2].metadata["contrast"]
    write_log(log, tmp_path / "bad.eval")
    with pytest.raises(FrameError, match=r"bad\.eval: sample 3 .*'contrast'"):
        read_frames(tmp_path)

    log = synthetic_log(SyntheticRun(n_items=3, seed=7))
    log.samples[0].scores["judge_panel"].metadata["winner"] = "left"
    write_log(log, tmp_path / "bad.eval")
    with pytest.raises(FrameError, match="winner 'left'"):
        read_frames(tmp_path)


def test_validate_judged_pairs_rejects_missing_columns_wrong_dtypes_and_bad_winners(tmp_path: Path) -> None:
    write_synthetic_logs(str(tmp_path), [SyntheticRun(n_items=4, seed=8)])
    pairs = judged_pairs_frame(tmp_path)
    validate_judged_pairs(pairs)
    with pytest.raises(FrameError, match="flag_leak"):
        validate_judged_pairs(pairs.drop(columns=["flag_leak"]))
    with pytest.raises(FrameError, match="'epoch' has dtype float64"):
        validate_judged_pairs(pairs.assign(epoch=pairs["epoch"].astype(float)))
    with pytest.raises(FrameError, match="'winner' has values"):
        validate_judged_pairs(pairs.assign(winner=pd.Series(["draw"] * len(pairs), dtype=object)))
    validate_judged_pairs(pairs.assign(task=pairs["task"].astype("str")))  # pandas' string dtype is fine
    with pytest.raises(FrameError, match="'model' has missing values"):
        validate_judged_pairs(pairs.assign(model=pd.Series([None] * len(pairs), dtype=object)))


def test_parallel_and_serial_reads_agree(tmp_path: Path) -> None:
    runs = [SyntheticRun(n_items=5, seed=s, contrast=c) for s, c in ((1, "exhort_vs_neutral"), (2, "sandbag_vs_neutral"))]
    write_synthetic_logs(str(tmp_path), runs)
    serial = read_frames(tmp_path, workers=1).pairs
    parallel = read_frames(tmp_path, workers=2).pairs
    pd.testing.assert_frame_equal(serial, parallel)


def test_summary_read_gives_the_same_pairs_and_falls_back_when_counts_are_absent(tmp_path: Path) -> None:
    runs = [SyntheticRun(n_items=8, missing_rate=0.2, seed=13), SyntheticRun(n_items=5, seed=14, task="translation")]
    logs = [synthetic_log(run) for run in runs]
    for sample in logs[1].samples:  # a panel that records no counts: summaries cannot give n_missing
        del sample.scores["judge_panel"].metadata["n_judges"]
        del sample.scores["judge_panel"].metadata["n_missing"]
    for i, log in enumerate(logs):
        write_log(log, tmp_path / f"log{i}.eval")
    full = read_frames(tmp_path)
    fast = read_frames(tmp_path, detail=False)
    pd.testing.assert_frame_equal(full.pairs, fast.pairs)
    pd.testing.assert_frame_equal(full.pairs, judged_pairs_frame(tmp_path))
    assert fast.verdicts.empty and fast.outputs.empty and not full.verdicts.empty


def test_a_rejudged_log_needs_a_scorer_choice_and_rubric_scores_are_not_taken_for_a_panel(tmp_path: Path) -> None:
    log = synthetic_log(SyntheticRun(n_items=6, seed=15))
    for sample in log.samples:
        first = sample.scores["judge_panel"]
        flipped = {"a": "b", "b": "a", "tie": "tie"}[first.metadata["winner"]]
        sample.scores["judge_panel1"] = first.model_copy(
            update={"answer": flipped, "metadata": {**first.metadata, "winner": flipped}}
        )
        sample.scores["judge_rubric"].metadata["judges"] = [{"judge": "simulated/judge-1"}]  # as the real rubric has
    write_log(log, tmp_path / "rejudged.eval")
    with pytest.raises(FrameError, match=r"2 pairwise panel scores \(judge_panel, judge_panel1\).*--scorer"):
        read_frames(tmp_path)
    original = read_frames(tmp_path, scorer="judge_panel").pairs
    rejudged = read_frames(tmp_path, scorer="judge_panel1").pairs
    swap = {"a": "b", "b": "a", "tie": "tie"}
    assert list(rejudged["winner"]) == [swap[w] for w in original["winner"]]
    assert set(original["winner"]) != {"tie"}
    with pytest.raises(FrameError, match="no_such_panel"):
        read_frames(tmp_path, scorer="no_such_panel")


def test_an_earlier_attempt_of_a_retried_eval_is_skipped_not_double_counted(tmp_path: Path) -> None:
    first = synthetic_log(SyntheticRun(n_items=10, status="error", completed_share=0.5, seed=16))
    retry = synthetic_log(SyntheticRun(n_items=10, seed=16))
    other = synthetic_log(SyntheticRun(n_items=4, seed=17, task="grant_abstract"))
    first.eval.task_id = retry.eval.task_id = "task-abc"
    first.eval.created, retry.eval.created = "2026-01-01T00:00:00+00:00", "2026-01-01T01:00:00+00:00"
    write_log(first, tmp_path / "attempt1.eval")
    write_log(retry, tmp_path / "attempt2.eval")
    write_log(other, tmp_path / "other.eval")
    frames = read_frames(tmp_path)
    assert sorted(s.log for s in frames.logs) == ["attempt2.eval", "other.eval"]
    assert len(frames.pairs) == 10 + 4
    (skipped,) = frames.skipped
    assert skipped.log == "attempt1.eval" and "attempt2.eval" in skipped.reason
