"""Duplicated judged pairs: found, refused by default, or resolved by an explicit policy."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from inspect_ai.log import write_eval_log

from synthetic_logs import SyntheticRun, synthetic_log, write_synthetic_logs
from utility_gap.analysis.frames import judged_pairs_frame
from utility_gap.analysis.frames.duplicates import (
    DuplicatePairsError,
    find_duplicates,
    resolve_duplicates,
)
from utility_gap.pipeline.cli import main


def _pairs(log: str, items: list[str], winner: str = "a", **columns: object) -> pd.DataFrame:
    rows = [
        {
            "log": log, "sample_id": f"{item}__exhort_vs_neutral", "epoch": 1, "pair_key": f"{log}::{item}::1",
            "model": "m", "task": "essay", "item_id": item, "contrast": "exhort_vs_neutral", "domain": None,
            "draw": 0, "repeat": 0, "judges": "j1, j2", "winner": winner, **columns,
        }
        for item in items
    ]
    frame = pd.DataFrame(rows)
    frame["draw"] = frame["draw"].astype("Int64")
    frame["repeat"] = frame["repeat"].astype("Int64")
    return frame


CREATED = {"old.eval": "2026-01-01T10:00:00+00:00", "new.eval": "2026-01-02T10:00:00+00:00"}


def test_no_duplicates_in_distinct_pairs() -> None:
    pairs = pd.concat([_pairs("old.eval", ["i1", "i2"]), _pairs("new.eval", ["i3"])], ignore_index=True)
    assert find_duplicates(pairs).empty
    resolution = resolve_duplicates(pairs)
    assert resolution.n_duplicated == 0 and len(resolution.kept) == 3 and resolution.dropped.empty


def test_the_same_pair_in_two_logs_is_refused_naming_the_logs() -> None:
    pairs = pd.concat([_pairs("old.eval", ["i1", "i2", "i3"]), _pairs("new.eval", ["i2", "i3", "i4"])], ignore_index=True)
    found = find_duplicates(pairs)
    assert sorted(zip(found["log"], found["item_id"])) == [
        ("new.eval", "i2"), ("new.eval", "i3"), ("old.eval", "i2"), ("old.eval", "i3")
    ]
    assert (found["copies"] == 2).all()
    with pytest.raises(DuplicatePairsError) as refused:
        resolve_duplicates(pairs, "error", CREATED)
    message = str(refused.value)
    assert "2 judged pair(s) appear in more than one log (2 extra copies)" in message
    assert "old.eval: 2 duplicated pair(s)" in message and "new.eval: 2 duplicated pair(s)" in message
    assert "--duplicates keep-newest" in message


@pytest.mark.parametrize(("policy", "kept_from"), [("keep-newest", "new.eval"), ("keep-first", "old.eval")])
def test_a_policy_keeps_one_copy_of_each_pair(policy: str, kept_from: str) -> None:
    # listed newest first, so the order of rows does not decide: the creation times do
    pairs = pd.concat(
        [_pairs("new.eval", ["i2", "i3", "i4"], winner="b"), _pairs("old.eval", ["i1", "i2", "i3"], winner="a")],
        ignore_index=True,
    )
    resolution = resolve_duplicates(pairs, policy, CREATED)
    assert resolution.policy == policy and resolution.n_duplicated == 2
    assert sorted(resolution.kept["item_id"]) == ["i1", "i2", "i3", "i4"]
    shared = resolution.kept[resolution.kept["item_id"].isin(["i2", "i3"])]
    assert set(shared["log"]) == {kept_from}
    assert len(resolution.dropped) == 2 and set(resolution.dropped["log"]) != {kept_from}
    assert find_duplicates(resolution.kept).empty
    by_log = resolution.by_log.set_index("log")
    assert by_log.loc["old.eval", "duplicated_pairs"] == 2 and by_log.loc["new.eval", "duplicated_pairs"] == 2
    assert by_log["rows_dropped"].sum() == 2


@pytest.mark.parametrize(
    "column, other",
    [("judges", "j3"), ("epoch", 2), ("repeat", 1), ("draw", 1), ("domain", "countries"), ("contrast", "x_vs_y"),
     ("model", "m2"), ("task", "translation")],
)
def test_pairs_that_differ_in_any_identity_column_are_not_duplicates(column: str, other: object) -> None:
    first, second = _pairs("old.eval", ["i1"]), _pairs("new.eval", ["i1"])
    second[column] = pd.Series([other], dtype=second[column].dtype)
    assert find_duplicates(pd.concat([first, second], ignore_index=True)).empty
    assert len(find_duplicates(pd.concat([first, _pairs("new.eval", ["i1"])], ignore_index=True))) == 2


def test_an_unknown_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="Unknown duplicates policy 'newest'"):
        resolve_duplicates(_pairs("old.eval", ["i1"]), "newest")


# -- the report ------------------------------------------------------------------------------


def _twice(log_dir: Path) -> tuple[Path, Path]:
    """The same 12 logical pairs in two logs (the second judged with other noise), created in turn."""
    first = synthetic_log(SyntheticRun(n_items=12, seed=21, shift=0.5))
    second = synthetic_log(SyntheticRun(n_items=12, seed=22, shift=0.5))
    first.eval.created, second.eval.created = "2026-01-01T10:00:00+00:00", "2026-01-02T10:00:00+00:00"
    log_dir.mkdir(parents=True, exist_ok=True)
    paths = (log_dir / "b-first.eval", log_dir / "a-second.eval")  # names sort the other way round
    write_eval_log(first, str(paths[0]))
    write_eval_log(second, str(paths[1]))
    return paths


def _counts(table: pd.DataFrame) -> tuple[int, int, int]:
    return int(table["n_a"].sum()), int(table["n_b"].sum()), int(table["n_tie"].sum())


def test_the_report_stops_on_pairs_found_twice_and_writes_nothing(tmp_path: Path, capsys) -> None:
    _twice(tmp_path / "logs")
    code = main(["report", str(tmp_path / "logs"), "--out", str(tmp_path / "report"), "--exclude-flags", "none"])
    err = capsys.readouterr().err
    assert code == 2
    assert "12 judged pair(s) appear in more than one log (12 extra copies)" in err
    assert "b-first.eval: 12 duplicated pair(s)" in err and "a-second.eval: 12 duplicated pair(s)" in err
    assert "--duplicates keep-newest" in err
    assert not (tmp_path / "report").exists()


@pytest.mark.parametrize(("policy", "kept"), [("keep-newest", "a-second.eval"), ("keep-first", "b-first.eval")])
def test_a_duplicates_policy_counts_each_pair_once_and_says_so(tmp_path: Path, policy: str, kept: str) -> None:
    _twice(tmp_path / "logs")
    out = tmp_path / "report"
    assert main(["report", str(tmp_path / "logs"), "--out", str(out), "--exclude-flags", "none",
                 "--duplicates", policy]) == 0
    rates = pd.read_csv(out / "tables" / "win_rates.csv")
    alone = judged_pairs_frame(tmp_path / "logs" / kept)
    # The statistics see the kept log's 12 pairs, once each, with that log's verdicts.
    assert _counts(rates) == tuple(int((alone["winner"] == w).sum()) for w in ("a", "b", "tie"))
    assert sum(_counts(rates)) == 12
    report = (out / "report.md").read_text()
    assert f"`--duplicates {policy}`" in report
    assert "12 judged pair(s) (same model, task, item, contrast, domain, draw, repeat, epoch and judges) appeared " \
           "in more than one log; 12 copies were dropped" in report
    by_log = pd.read_csv(out / "tables" / "duplicate_pairs_by_log.csv").set_index("log")
    assert by_log["rows_dropped"].to_dict() == {
        "a-second.eval": 12 if kept == "b-first.eval" else 0, "b-first.eval": 12 if kept == "a-second.eval" else 0
    }


def test_the_report_states_the_policy_when_nothing_was_duplicated(tmp_path: Path) -> None:
    write_synthetic_logs(str(tmp_path / "logs"), [SyntheticRun(n_items=6, seed=23)])
    assert main(["report", str(tmp_path / "logs"), "--out", str(tmp_path / "report")]) == 0
    report = (tmp_path / "report" / "report.md").read_text()
    assert "`--duplicates error` (stop when a pair appears twice)" in report
    assert "No judged pair appears in more than one log; none was dropped." in report


def test_a_finished_log_copied_in_twice_is_a_duplicate_not_a_retry(tmp_path: Path, capsys) -> None:
    # A byte copy of a finished log shares its task_id. A finished eval is never retried,
    # so the copy is not an "earlier attempt" to skip quietly: the report stops and names both.
    log = synthetic_log(SyntheticRun(n_items=8, seed=24))
    log.eval.task_id = "finished-eval"
    (tmp_path / "logs").mkdir()
    write_eval_log(log, str(tmp_path / "logs" / "essay.eval"))
    (tmp_path / "logs" / "copy_essay.eval").write_bytes((tmp_path / "logs" / "essay.eval").read_bytes())
    code = main(["report", str(tmp_path / "logs"), "--out", str(tmp_path / "report"), "--exclude-flags", "none"])
    err = capsys.readouterr().err
    assert code == 2
    assert "8 judged pair(s) appear in more than one log (8 extra copies)" in err
    assert "copy_essay.eval: 8 duplicated pair(s)" in err and "  essay.eval: 8 duplicated pair(s)" in err
    assert not (tmp_path / "report").exists()

    assert main(["report", str(tmp_path / "logs"), "--out", str(tmp_path / "report"), "--exclude-flags", "none",
                 "--duplicates", "keep-newest"]) == 0
    assert sum(_counts(pd.read_csv(tmp_path / "report" / "tables" / "win_rates.csv"))) == 8
