"""The frames cache: a second read of unchanged logs gives the same frames without reading them.

Each test reads real-shaped logs (the synthetic-log fixture and a real eval log of the
recorded-features tests' kind) twice through one cache folder and checks that the
frames are identical, that the second read did not read the log (Inspect's readers are
made to fail), and that a changed log, a damaged entry and a foreign pickle are never
served.
"""

from __future__ import annotations

import logging
import os
import pickle
from pathlib import Path

import pandas as pd
import pytest
from inspect_ai.log import read_eval_log, write_eval_log

import utility_gap.analysis.frames.sample_rows as sample_rows
import utility_gap.analysis.frames.texts as texts
from synthetic_logs import SyntheticRun, synthetic_log, write_synthetic_logs
from utility_gap.analysis.frames import read_frames
from utility_gap.analysis.frames.cache import FramesCache
from utility_gap.analysis.frames.texts import features_frame
from utility_gap.pipeline.cli import main

FRAMES = ("pairs", "verdicts", "outputs", "controls")


@pytest.fixture()
def log_dir(tmp_path: Path) -> Path:
    root = tmp_path / "logs"
    write_synthetic_logs(
        str(root),
        [SyntheticRun(model="m1", contrast="exhort_vs_neutral", n_items=5, repeats=2, seed=1, missing_rate=0.1,
                      flag_rate=0.1),
         SyntheticRun(model="m2", task="translation", contrast="sandbag_vs_neutral", n_items=4, repeats=2, seed=2)],
    )
    return root


def assert_same_frames(first, second) -> None:
    for name in FRAMES:
        pd.testing.assert_frame_equal(getattr(first, name), getattr(second, name), check_exact=True)
    assert first.logs == second.logs and first.recorded_features == second.recorded_features


def no_log_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("the log was read although the cache holds its rows")

    monkeypatch.setattr(sample_rows, "read_eval_log_sample_summaries", refuse)
    monkeypatch.setattr(sample_rows, "_rows_of", refuse)


def test_a_second_read_serves_identical_frames_from_the_cache(log_dir: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    cache = FramesCache(tmp_path / "cache")
    fresh = read_frames(log_dir)
    first = read_frames(log_dir, cache=cache)
    assert_same_frames(fresh, first)
    assert len(list((tmp_path / "cache").rglob("*.pickle"))) == 2
    no_log_reading(monkeypatch)
    assert_same_frames(fresh, read_frames(log_dir, cache=cache))
    with pytest.raises(AssertionError, match="was read"):
        read_frames(log_dir, cache=cache, detail=False)  # other options: another entry, not this one


def test_a_changed_log_is_read_again(log_dir: Path, tmp_path: Path) -> None:
    cache = FramesCache(tmp_path / "cache")
    before = read_frames(log_dir, cache=cache)
    path = sorted(log_dir.glob("*.eval"))[0]
    log = read_eval_log(str(path))
    sample = next(s for s in log.samples if s.scores and s.scores["judge_panel"].metadata.get("winner") == "a")
    sample.scores["judge_panel"].metadata["winner"] = "b"
    write_eval_log(log, str(path))
    after = read_frames(log_dir, cache=cache)
    assert_same_frames(read_frames(log_dir), after)
    assert (after.pairs["winner"] == "b").sum() == (before.pairs["winner"] == "b").sum() + 1


def test_damaged_and_foreign_entries_are_not_served(log_dir: Path, tmp_path: Path,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    cache = FramesCache(tmp_path / "cache")
    fresh = read_frames(log_dir, cache=cache)
    first, second = sorted((tmp_path / "cache").rglob("*.pickle"))
    first.write_bytes(b"not a pickle")
    second.write_bytes(pickle.dumps(os.getcwd))  # a pickle that would call code: refused, not loaded
    with caplog.at_level(logging.WARNING):
        again = read_frames(log_dir, cache=cache)
    assert_same_frames(fresh, again)
    assert "holds only plain data" in caplog.text and "unusable" in caplog.text
    assert b"not a pickle" not in first.read_bytes()  # replaced by a good entry


def test_measured_features_of_an_older_log_are_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "older"
    root.mkdir()
    write_eval_log(synthetic_log(SyntheticRun(contrast="exhort_vs_neutral", n_items=4, repeats=1, seed=5)),
                   str(root / "older.eval"))
    cache = FramesCache(tmp_path / "cache")
    measured = features_frame(root, cache=cache)
    assert measured["words"].gt(0).any()

    def refuse(*args, **kwargs):
        raise AssertionError("texts read again")

    monkeypatch.setattr(texts, "_log_texts", refuse)
    pd.testing.assert_frame_equal(features_frame(root, cache=cache), measured, check_exact=True)


def test_the_report_command_caches_unless_told_not_to(log_dir: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UTILITY_GAP_CACHE", str(tmp_path / "default-cache"))
    assert main(["report", str(log_dir), "--out", str(tmp_path / "r1"), "--no-cache"]) == 0
    assert not (tmp_path / "default-cache").exists()
    assert main(["report", str(log_dir), "--out", str(tmp_path / "r2")]) == 0
    assert len(list((tmp_path / "default-cache").rglob("*.pickle"))) >= 2
    assert main(["report", str(log_dir), "--out", str(tmp_path / "r3"), "--cache", str(tmp_path / "mine")]) == 0
    assert len(list((tmp_path / "mine").rglob("*.pickle"))) >= 2
    for name in ("win_rates.csv", "feature_deltas_by_cell.csv"):
        assert (tmp_path / "r1" / "tables" / name).read_bytes() == (tmp_path / "r3" / "tables" / name).read_bytes()


def test_frames_from_columns_equal_frames_from_rows() -> None:
    from utility_gap.analysis.frames.validation import columns_of, typed_columns, typed_frame

    schema = {"text": ("object", True), "mixed": ("object", True), "count": ("int64", False),
              "maybe": ("Int64", True), "score": ("float64", True), "flag": ("bool", False), "verdict": ("boolean", True)}
    rows = [
        {"text": "a", "mixed": 1, "count": 1, "maybe": 2, "score": 0.5, "flag": True, "verdict": True},
        {"text": None, "mixed": None, "count": 2, "maybe": None, "score": None, "flag": False, "verdict": None},
        {"text": "c", "mixed": "x", "count": 3, "maybe": 4, "score": float("nan"), "flag": True},  # a missing key
    ]
    for part in (rows, rows[:1], rows[1:2], []):
        expected = typed_frame(part, schema)
        got = typed_columns(columns_of(part, list(schema)), schema)
        pd.testing.assert_frame_equal(got, expected, check_exact=True)
        for column in ("text", "mixed"):
            assert [type(v) for v in got[column]] == [type(v) for v in expected[column]]


def test_the_reader_version_covers_every_module_that_makes_rows() -> None:
    # A module left out would let a changed reader meet rows cached by the old one.
    import ast

    from utility_gap.analysis.frames import cache

    frames = Path(cache.__file__).parent
    prefix = "utility_gap.analysis."
    seen, todo = set(), ["frames/sample_rows.py", "frames/reading.py", "frames/texts.py"]
    while todo:
        name = todo.pop()
        if name in seen or name == "frames/cache.py":
            continue
        seen.add(name)
        for node in ast.walk(ast.parse((frames.parent / name).read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(prefix):
                module = node.module[len(prefix):].replace(".", "/")
                if (frames.parent / f"{module}.py").is_file() and module.split("/")[0] in ("frames", "text_features"):
                    todo.append(f"{module}.py")
    listed = {str((frames / m).resolve().relative_to(frames.parent)) for m in cache._READER_MODULES}
    assert seen <= listed, f"not in the frames cache's reader version: {sorted(seen - listed)}"
