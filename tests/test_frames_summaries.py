"""Every frame from sample summaries: the same frames as from full samples, read faster.

Real logs (the essay task and the judge controls, simulated writer and a panel of three
simulated judges, pairwise and rubric scorers) carry every model call in their samples;
the scorers also write `verdict_rows`, small enough for Inspect's sample summaries, so
`read_frames` can read every frame from summaries. These tests compare that with a read
of full samples, show that no full sample is read when the summaries suffice, and that a
log without `verdict_rows` (an older log) is still read, from full samples.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai.log import read_eval_log, write_eval_log
from inspect_ai.model import get_model

from utility_gap.analysis.frames import sample_rows
from utility_gap.analysis.frames import read_frames
from utility_gap.evals.judge_controls import judge_controls
from utility_gap.evals.writing import essay


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    log_dir = tmp_path_factory.mktemp("real-logs")
    judges = {"judge": [get_model("simulated/judge", memoize=False, seed=s, unparseable_rate=0.2) for s in (1, 2, 3)]}
    inspect_eval(
        [
            essay(contrast="exhort_vs_neutral,sandbag_vs_neutral", items=4, repeats=2, scorer="both"),
            judge_controls(damage="truncated,typos"),
        ],
        model=get_model("simulated/writer", memoize=False, shifts="exhort:0.8,sandbag:-0.8"),
        model_roles=judges,
        log_dir=str(log_dir),
        display="none",
        max_samples=50,
    )
    return log_dir


def test_summaries_give_the_same_frames_as_full_samples(logs: Path) -> None:
    fast = read_frames(logs)
    full = read_frames(logs, summaries=False)
    assert len(fast.pairs) > 0 and len(fast.verdicts) > 0 and len(fast.outputs) > 0 and len(fast.controls) > 0
    assert fast.verdicts["n_attempts"].max() > 1  # retried answers are counted the same way
    for name in ("pairs", "verdicts", "outputs", "controls"):
        pd.testing.assert_frame_equal(getattr(fast, name), getattr(full, name), check_like=False)
    assert [s.n_rows for s in fast.logs] == [s.n_rows for s in full.logs]


def test_no_full_sample_is_read_when_the_summaries_suffice(logs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    full_reads: list[str] = []
    original = sample_rows.read_eval_log  # where every sample is read

    def counting(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not kwargs.get("header_only"):
            full_reads.append(str(path))
        return original(path, *args, **kwargs)

    monkeypatch.setattr(sample_rows, "read_eval_log", counting)
    read_frames(logs)
    assert full_reads == []
    read_frames(logs, summaries=False)
    assert len(full_reads) == 2


def test_a_log_without_verdict_rows_is_read_from_full_samples(logs: Path, tmp_path: Path) -> None:
    older = tmp_path / "older"
    older.mkdir()
    for path in logs.glob("*.eval"):
        log = read_eval_log(str(path))
        for sample in log.samples or []:
            for score in (sample.scores or {}).values():
                (score.metadata or {}).pop("verdict_rows", None)
        write_eval_log(log, str(older / path.name))
    before, after = read_frames(logs), read_frames(older)
    for name in ("pairs", "verdicts", "outputs", "controls"):
        a = getattr(before, name).drop(columns=["log", "pair_key"], errors="ignore")
        b = getattr(after, name).drop(columns=["log", "pair_key"], errors="ignore")
        pd.testing.assert_frame_equal(a, b)
