"""Texts and features frames: every side of every pair, with missing and empty outputs counted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from inspect_ai.log import write_eval_log

from synthetic_logs import SyntheticRun, synthetic_log, write_unrelated_log
from utility_gap.analysis.frames import (
    FEATURES_SCHEMA,
    TEXTS_SCHEMA,
    FrameError,
    features_frame,
    read_frames,
    texts_frame,
    validate_frame,
)
from utility_gap.analysis.text_features import FEATURES, text_features


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("texts")
    log = synthetic_log(SyntheticRun(contrast="exhort_mid_vs_neutral", n_items=6, repeats=1, seed=4))
    samples = log.samples
    del samples[0].metadata["pair"]  # failed before generating: no outputs at all
    samples[1].metadata["pair"]["a"]["output"] = "  \n"  # an empty output
    samples[2].metadata["pair"]["b"]["stop_reason"] = "max_tokens"  # hit the token limit
    samples[3].metadata["pair"]["b"]["output"] = "# Plan\n\n- Cut costs by 12%.\n- Hire 3 engineers."
    write_eval_log(log, str(root / "pairs.eval"))
    write_unrelated_log(str(root / "other.eval"))
    return root


def test_one_row_per_side_with_missing_and_empty_outputs_counted(log_dir: Path) -> None:
    texts = texts_frame(log_dir)
    validate_frame(texts, TEXTS_SCHEMA, "texts")
    assert len(texts) == 12 and set(texts["log"]) == {"pairs.eval"}  # the unrelated log gives nothing
    assert set(texts["arm"]) == {"exhort_mid", "neutral"}
    missing = texts[~texts["present"]]
    assert len(missing) == 2 and missing["text"].isna().all() and missing["pair_key"].nunique() == 1
    assert int(texts["empty"].sum()) == 1
    truncated = texts[texts["truncated"]]
    assert list(truncated["stop_reason"]) == ["max_tokens"]
    # the pair keys are the judged-pairs frame's
    pairs = read_frames(log_dir, detail=False).pairs
    assert set(texts["pair_key"]) == set(pairs["pair_key"])


def test_features_are_text_features_of_each_output(log_dir: Path) -> None:
    texts = texts_frame(log_dir)
    features = features_frame(log_dir)
    validate_frame(features, FEATURES_SCHEMA, "features")
    assert "text" not in features.columns and len(features) == len(texts)
    for (_, t), (_, f) in zip(texts.iterrows(), features.iterrows()):
        if not t["present"]:
            assert all(np.isnan(f[name]) for name in FEATURES)
            continue
        expected = text_features(t["text"])
        for name in FEATURES:
            assert f[name] == pytest.approx(expected[name], nan_ok=True), name
    plan = features[features["pair_key"] == texts["pair_key"].iloc[6]].set_index("side").loc["b"]
    assert (plan["headings"], plan["list_items"], plan["percentages"]) == (1, 2, 1)
    empty = features[features["empty"]].iloc[0]
    assert empty["words"] == 0 and np.isnan(empty["fk_grade"])


def test_missing_directory_is_named(tmp_path: Path) -> None:
    with pytest.raises(FrameError, match="does not exist"):
        texts_frame(tmp_path / "nope")
