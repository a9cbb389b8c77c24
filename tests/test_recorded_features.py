"""Text features recorded in the log by the writing tasks: the report reads the same frame it would measure.

The writing tasks' `output_features` scorer records each output's features when it is
written; `features_frame` reads them from sample summaries and measures only logs that
lack a current record. These tests check that the two ways give the identical frame
(values, dtypes, row order), on a real eval log, on a mixed directory, on a record of
another version and on a sample that failed before writing, and that the record fits
what summaries keep.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai.log import read_eval_log, read_eval_log_sample_summaries, write_eval_log
from inspect_ai.model import get_model

from synthetic_logs import SyntheticRun, synthetic_log
from utility_gap.analysis.frames import read_frames
from utility_gap.analysis.frames.recorded_features import (
    FEATURES_SCORER,
    feature_record,
    features_version,
    recorded_sides,
)
from utility_gap.analysis.frames.texts import features_frame
from utility_gap.analysis.text_features import FEATURES
from utility_gap.evals.writing import essay

SUMMARY_LIMIT = 1024  # bytes of one metadata value that Inspect's sample summaries keep


def measured(log_dir: Path) -> pd.DataFrame:
    """The features frame with every log's texts read and measured (no record used)."""
    frames = read_frames(log_dir, detail=False)
    frames.recorded_features.clear()
    return features_frame(log_dir, frames=frames, workers=1)


@pytest.fixture(scope="module")
def eval_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("recorded")
    judges = {"judge": [get_model("simulated/judge", memoize=False, seed=s) for s in (1, 2)]}
    [log] = inspect_eval(
        essay(contrast="exhort_vs_neutral,sandbag_vs_neutral", items=3, repeats=2),
        model=get_model("simulated/writer", memoize=False, shifts="exhort:0.8", length_shifts="exhort:3",
                        length_sd=1.0, refusal_rate=0.15, seed=3),
        model_roles=judges, log_dir=str(root), display="none",
    )
    assert log.status == "success", log.error
    return root


def test_the_writing_task_records_both_sides_in_the_summaries(eval_dir: Path) -> None:
    [path] = sorted(eval_dir.glob("*.eval"))
    log = read_eval_log(str(path))
    for sample in log.samples:
        score = sample.scores[FEATURES_SCORER]
        assert score.metadata == feature_record(sample.metadata)  # what the scorer wrote is the record of the texts
        words = [score.metadata[side]["words"] for side in ("a", "b")]
        assert score.value == words[0] - words[1]
    # summaries keep the record whole (they drop metadata values over 1 kB)
    summaries = read_eval_log_sample_summaries(str(path))
    assert all(recorded_sides(s.scores[FEATURES_SCORER].metadata) is not None for s in summaries)
    assert [s.name for s in log.results.scores][-1] == FEATURES_SCORER


def test_recorded_and_measured_frames_are_identical(eval_dir: Path) -> None:
    frames = read_frames(eval_dir, detail=False)
    assert list(frames.recorded_features) == [s.log for s in frames.logs]
    recorded = features_frame(eval_dir, frames=frames)
    again = measured(eval_dir)
    pd.testing.assert_frame_equal(recorded, again, check_exact=True)
    assert recorded.equals(again)
    assert recorded["words"].gt(0).all()
    assert recorded.groupby("arm")["words"].mean()["exhort"] > recorded.groupby("arm")["words"].mean()["neutral"]


def test_a_mixed_directory_measures_only_the_logs_without_records(eval_dir: Path, tmp_path: Path) -> None:
    root = tmp_path / "mixed"
    shutil.copytree(eval_dir, root)
    older = synthetic_log(SyntheticRun(contrast="exhort_vs_neutral", n_items=4, repeats=1, seed=2))
    write_eval_log(older, str(root / "older.eval"))  # written without the features scorer
    frames = read_frames(root, detail=False)
    assert "older.eval" not in frames.recorded_features and len(frames.recorded_features) == 1
    recorded = features_frame(root, frames=frames)
    assert set(recorded["log"]) == {s.log for s in frames.logs}
    pd.testing.assert_frame_equal(recorded, measured(root), check_exact=True)


def test_a_record_of_another_version_is_not_used(eval_dir: Path, tmp_path: Path) -> None:
    [path] = sorted(eval_dir.glob("*.eval"))
    log = read_eval_log(str(path))
    stale = log.samples[1].scores[FEATURES_SCORER]
    stale.metadata = {**stale.metadata, "version": "other-definitions"}
    stale.metadata["a"] = {**stale.metadata["a"], "words": 99999.0}  # what older definitions might have said
    root = tmp_path / "stale"
    root.mkdir()
    write_eval_log(log, str(root / path.name))
    frames = read_frames(root, detail=False)
    assert frames.recorded_features == {}
    frame = features_frame(root, frames=frames)
    assert 99999.0 not in set(frame["words"])
    pd.testing.assert_frame_equal(frame, features_frame(eval_dir), check_exact=True)


def test_a_sample_that_failed_before_writing_has_missing_rows_either_way(eval_dir: Path, tmp_path: Path) -> None:
    [path] = sorted(eval_dir.glob("*.eval"))
    log = read_eval_log(str(path))
    failed = log.samples[2]
    del failed.metadata["pair"]
    failed.scores = None
    root = tmp_path / "failed"
    root.mkdir()
    write_eval_log(log, str(root / path.name))
    frames = read_frames(root, detail=False)
    assert list(frames.recorded_features) == [path.name]  # still read from the records
    frame = features_frame(root, frames=frames)
    rows = frame[frame["pair_key"].str.contains(f"::{failed.id}::")]
    assert len(rows) == 2 and not rows["present"].any() and rows[list(FEATURES)].isna().all().all()
    pd.testing.assert_frame_equal(frame, measured(root), check_exact=True)


def test_one_side_of_the_record_fits_a_summary_with_room_to_spare() -> None:
    text = "# Title\n\n" + " ".join(f"Sentence {i} has 12.5% more words, 3 km and $40." for i in range(60))
    record = feature_record({"pair": {"a": {"arm": "utility_high", "output": text, "stop_reason": "max_tokens"},
                                      "b": {"arm": "utility_low", "output": "", "stop_reason": "stop"}}})
    assert record["version"] == features_version()
    longest = {**record["a"], **{name: -1234.5678901234567 for name in FEATURES}}  # the longest float repr
    assert len(json.dumps(longest)) < 0.8 * SUMMARY_LIMIT
    assert record["b"]["empty"] and record["b"]["words"] == 0 and record["b"]["fk_grade"] is None


def test_scoring_an_older_log_adds_the_record(eval_dir: Path, tmp_path: Path) -> None:
    from inspect_ai import score

    from utility_gap.scorers.output_features import output_features

    [path] = sorted(eval_dir.glob("*.eval"))
    older = read_eval_log(str(path))
    for sample in older.samples:  # as written before the writing tasks recorded features
        del sample.scores[FEATURES_SCORER]
    write_eval_log(older, str(tmp_path / "older.eval"))
    assert read_frames(tmp_path, detail=False).recorded_features == {}
    rescored = score(read_eval_log(str(tmp_path / "older.eval")), [output_features()], action="append", display="none")
    write_eval_log(rescored, str(tmp_path / "older.eval"))
    frames = read_frames(tmp_path, detail=False)
    assert list(frames.recorded_features) == ["older.eval"]
    pd.testing.assert_frame_equal(features_frame(tmp_path, frames=frames), measured(tmp_path), check_exact=True)
