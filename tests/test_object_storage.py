"""A study on object storage (`utility-gap run --out s3://bucket/prefix`), against a real S3 server.

The server is moto in server mode on loopback (`tests/s3_server.py`). The run, `report`,
`fit` and `entities` talk to it over HTTP through Inspect's fsspec support and s3fs, as
they would to AWS (only `AWS_ENDPOINT_URL` differs). Redone calls are counted as in
tests/test_resume.py: the simulated provider logs one line per call (role and prompt
hash), and a run of these studies asks no prompt twice.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest
import s3fs
from inspect_ai import eval as inspect_eval
from inspect_ai.log import list_eval_logs, read_eval_log

from s3_server import new_bucket, s3_server  # noqa: F401  (the fixture)
from test_entity_behaviour import planted_utilities, scripted_model, write_entity_outcomes, write_planted_utilities
from test_resume import _cli, _lines, _redone, _start, _wait_for

from utility_gap.analysis.utilities_file import read_utilities
from utility_gap.evals.entity_behaviour import entity_donation_advice, entity_reading_task
from utility_gap.evals.reading_items import load_reading_items
from utility_gap.models.embedded import free_loopback_port
from utility_gap.pipeline import study_lock as locks
from utility_gap.pipeline.cli import main as cli_main
from utility_gap.pipeline.study_lock import ObjectStoreStudyLock, StudyFolderBusy

CALLS_PER_SAMPLE = 4  # one writing sample: two generations, two presentations to the one judge
ITEMS = 6
PAIRS = ITEMS * 2  # one task (essay) x two contrasts
MARKER = ".utility-gap-report.json"


def _study(out: str, calls: Path, judge_calls: Path) -> list[str]:
    return [
        "run", "--model", "simulated/subject", "-M", "shifts=exhort:0.8", "-M", "latency=0.05",
        "-M", f"call_log={calls}", "--judge", "simulated/judge", "-J", f"call_log={judge_calls}",
        "--items", str(ITEMS), "--tasks", "essay", "--max-connections", "1", "--display", "none", "--out", out,
    ]


def _s3() -> s3fs.S3FileSystem:
    return s3fs.S3FileSystem(skip_instance_cache=True)


def _normalised(text: str, *locations: str) -> list[str]:
    """A report's lines without what differs between two runs of one study: where, when, log ids.

    Rows of the log tables are sorted, since log names (which sort them) hold random ids.
    """
    for where in locations:
        text = text.replace(where, "OUT")
    text = re.sub(r"\d{4}-\d{2}-\d{2}T\d{2}[-:]\d{2}[-:]\d{2}(\.\d+)?([+-]\d{2}[-:]\d{2})?", "TIME", text)
    text = re.sub(r"_[A-Za-z0-9]{22}\.eval", "_ID.eval", text)
    lines = text.splitlines()
    logs = sorted(line for line in lines if "_ID.eval" in line)
    return [line for line in lines if "_ID.eval" not in line] + logs


def _assert_same_report(remote: dict[str, bytes], local: Path, *locations: str) -> None:
    """Two report folders hold the same files, and every table and the report text are the same
    up to `_normalised` (figures differ in their embedded dates and ids only)."""
    assert sorted(remote) == sorted(p.relative_to(local).as_posix() for p in local.rglob("*") if p.is_file())
    for name in sorted(n for n in remote if n.endswith((".md", ".csv"))):
        assert _normalised(remote[name].decode(), *locations) == _normalised((local / name).read_text(), *locations), name


def _remote_files(s3: s3fs.S3FileSystem, root: str) -> dict[str, bytes]:
    return {path[len(root) + 1 :]: s3.cat_file(path) for path in s3.find(root)}


def test_a_study_in_a_bucket_resumes_from_it_and_reports_like_a_local_one(
    tmp_path: Path, s3_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bucket = new_bucket(s3_server)
    out, root = f"s3://{bucket}/studies/planted", f"{bucket}/studies/planted"
    s3 = _s3()

    # The reference: the same study on local disk, not interrupted.
    local, local_calls, s3_calls = tmp_path / "local", tmp_path / "calls-local", tmp_path / "calls-s3"
    local_calls.mkdir()
    s3_calls.mkdir()
    assert cli_main(_study(str(local), local_calls / "subject", local_calls / "judge")) == 0
    reference = _lines(local_calls / "subject") + _lines(local_calls / "judge")
    # where the two runs differ, for comparing their reports (call logs first: "local" prefixes them)
    places = (str(local_calls), str(s3_calls), out, str(local))

    # Into the bucket, stopped with Ctrl-C well into Stages 2-3 ...
    calls, judge_calls = s3_calls / "subject", s3_calls / "judge"
    process = _start(_study(out, calls, judge_calls), tmp_path)
    # judges are called only in Stages 2-3, twice a sample: 21 calls is mid-way through the 11th sample
    _wait_for(process, judge_calls, 21)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode != 0, stderr[-3000:]
    assert not s3.exists(f"{root}/report/report.md")
    assert s3.exists(f"{root}/study.json") and s3.exists(f"{root}/utilities/simulated-subject__demo.json")
    assert not s3.exists(f"{root}/.utility-gap.lock")  # released on the way out
    finished = sum(1 for info in list_eval_logs(f"{out}/logs/tasks") for sample in read_eval_log(info).samples or []
                   if sample.scores and read_eval_log(info, header_only=True).eval.task.endswith("essay"))
    assert finished >= ITEMS, f"only {finished} writing samples were in the bucket; the test interrupts too early"

    # ... then the same command again: it resumes from the bucket.
    capsys.readouterr()
    assert cli_main(_study(out, calls, judge_calls)) == 0
    resumed = capsys.readouterr()
    assert "rounds: 0 run, 2 resumed from logs" in resumed.out + resumed.err  # Stage 1 was reused from the bucket
    redone = _redone(calls, judge_calls)
    with capsys.disabled():
        print(f"\nresume from the bucket: {redone} calls redone; {_lines(calls) + _lines(judge_calls)} calls in all "
              f"({reference} in the uninterrupted local run)")
    # One connection: at most the one sample in flight is generated again.
    assert 0 <= redone <= CALLS_PER_SAMPLE, redone
    assert _lines(calls) + _lines(judge_calls) - redone == reference

    # The report is in the bucket, complete (its marker lists every file), and it is the local report.
    remote = _remote_files(s3, f"{root}/report")
    marker = json.loads(remote[MARKER])
    assert sorted([*marker["files"], MARKER]) == sorted(remote)
    assert {"report.md", "tables/win_rates.csv"} <= set(remote)
    rates = pd.read_csv(local / "report" / "tables" / "win_rates.csv")
    assert int((rates["n_a"] + rates["n_b"] + rates["n_tie"]).sum()) == PAIRS
    _assert_same_report(remote, local / "report", *places)

    # `report` reads the bucket's logs and utilities: the same report again, in a local folder.
    copy = tmp_path / "copy"
    assert cli_main(["report", f"{out}/logs", "--utilities", f"{out}/utilities", "--out", str(copy)]) == 0
    _assert_same_report(remote, copy, *places)

    # `fit` refits Stage 1 from the bucket's logs into the bucket: the run's utilities.
    refit = f"{out}/refit/simulated-subject__demo.json"
    assert cli_main(["fit", f"{out}/logs/elicitation/simulated-subject__demo", "--out", refit]) == 0
    first, second = read_utilities(f"{out}/utilities/simulated-subject__demo.json"), read_utilities(refit)
    assert {o["id"]: round(o["mean"], 9) for o in first.outcomes} == {o["id"]: round(o["mean"], 9) for o in second.outcomes}

    # A changed setting is refused against the study file in the bucket, before any call.
    before = _lines(calls)
    assert cli_main([*_study(out, calls, judge_calls)[:-2], "--items", "5", "--out", out]) == 2
    assert "--items: 6 (recorded) -> 5 (this run)" in capsys.readouterr().err
    assert _lines(calls) == before


# A store that cannot be used, as each case leaves the environment: (bucket, settings) for a
# bucket that exists on the test server, and the fix the message must give.
BAD_STORES = {
    "unknown bucket": ({}, "Check the bucket name"),
    "no credentials": ({"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None, "AWS_PROFILE": None},
                       "No credentials were found: set AWS_ACCESS_KEY_ID"),
    # one attempt per request (a user's setting too): botocore's retries of a refused connection add seconds, not checks
    "unreachable endpoint": ({"AWS_ENDPOINT_URL": "UNREACHABLE", "AWS_MAX_ATTEMPTS": "1"},
                             "The store cannot be reached: check AWS_ENDPOINT_URL"),
}


@pytest.mark.parametrize("case", sorted(BAD_STORES))
def test_a_store_that_cannot_be_used_stops_each_command_with_one_message_and_writes_nothing(
    case: str, tmp_path: Path, s3_server: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bucket = new_bucket(s3_server)
    s3 = _s3()
    s3.pipe_file(f"{bucket}/study/logs/placeholder.txt", b"so that the log folder exists")
    settings, fix = BAD_STORES[case]
    if case == "unknown bucket":
        bucket = "no-such-bucket-here"
    url = f"s3://{bucket}/study"
    # no credentials from files or an instance's metadata service either
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for key, value in settings.items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        elif value == "UNREACHABLE":  # nothing listens on a port just freed
            monkeypatch.setenv(key, f"http://127.0.0.1:{free_loopback_port()}")
        else:
            monkeypatch.setenv(key, value)
    s3fs.S3FileSystem.clear_instance_cache()  # a new process reads the environment afresh
    calls = tmp_path / "calls"
    table = Path(__file__).resolve().parents[1] / "docs" / "examples" / "judged_pairs.csv"
    commands = {
        "--out": _study(url, calls, tmp_path / "judge"),
        "LOGDIR": ["report", f"{url}/logs", "--out", str(tmp_path / "report")],
        "LOGDIR ": ["fit", f"{url}/logs", "--out", str(tmp_path / "utilities.json")],
        "--out ": ["report", "--table", str(table), "--map",
                   "model=llm,task=writing_task,contrast=comparison,item=prompt,pair_id=pair,winner=preferred",
                   "--a-wins", "first", "--b-wins", "second", "--tie", "same", "--unresolved", "??",
                   "--out", f"{url}/report"],
    }
    for flag, args in commands.items():
        capsys.readouterr()
        assert cli_main(args) == 2, args
        err = capsys.readouterr().err
        named = f"{flag.strip()} {args[args.index('--out') + 1] if flag.strip() == '--out' else args[1]}"
        assert err.count("error:") == 1 and "Traceback" not in err, err
        assert named in err and fix in err, err
    assert _lines(calls) == 0  # no model was called
    assert not any(tmp_path.glob("report*")) and not (tmp_path / "utilities.json").exists()
    monkeypatch.undo()
    s3fs.S3FileSystem.clear_instance_cache()
    if case != "unknown bucket":  # the bucket holds what it held before
        assert _s3().find(f"{bucket}") == [f"{bucket}/study/logs/placeholder.txt"]
    else:
        assert not _s3().exists(bucket)


def test_entities_reads_logs_and_utilities_in_a_bucket_and_writes_there(tmp_path: Path, s3_server: str) -> None:
    bucket = new_bucket(s3_server)
    out = f"s3://{bucket}/entities"
    s3 = _s3()
    utilities = planted_utilities()
    outcomes_file = write_entity_outcomes(tmp_path)
    answers = {item.question.rstrip("?"): item.answer for item in load_reading_items("sample")}
    model = scripted_model(utilities, follow=True, answers=answers, seed=5)
    # Inspect writes the logs straight into the bucket.
    for task in (entity_reading_task(entities=str(outcomes_file), n_items=12, seed=1),
                 entity_donation_advice(entities=str(outcomes_file), retries=0)):
        [log] = inspect_eval(task, model=model, log_dir=f"{out}/logs", display="none", max_connections=20)
        assert log.status == "success", log.error
    uf = write_planted_utilities(tmp_path, outcomes_file, utilities)
    s3.put_file(str(uf), f"{bucket}/entities/utilities.json")

    code = cli_main(["entities", f"{out}/logs", "--utilities", f"{out}/utilities.json", "--outcomes",
                     str(outcomes_file), "--out", f"{out}/analysis"])
    assert code == 0
    # The same analysis over a local copy of the logs gives the same files.
    s3.get(f"{bucket}/entities/logs", str(tmp_path / "logs"), recursive=True)
    assert cli_main(["entities", str(tmp_path / "logs"), "--utilities", str(uf), "--outcomes", str(outcomes_file),
                     "--out", str(tmp_path / "analysis")]) == 0
    for name in ("entity_behaviour.csv", "entity_correlations.csv"):
        assert s3.cat_file(f"{bucket}/entities/analysis/{name}").decode() == (tmp_path / "analysis" / name).read_text()
    table = pd.read_csv(tmp_path / "analysis" / "entity_behaviour.csv")
    assert len(table) == len(utilities) and table["accuracy"].notna().all()


def test_a_remote_report_prefix_that_holds_other_files_is_refused(
    tmp_path: Path, s3_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bucket = new_bucket(s3_server)
    s3 = _s3()
    s3.pipe_file(f"{bucket}/mine/notes.txt", b"a file the report did not write")
    table = Path(__file__).resolve().parents[1] / "docs" / "examples" / "judged_pairs.csv"
    args = ["report", "--table", str(table), "--map",
            "model=llm,task=writing_task,contrast=comparison,item=prompt,pair_id=pair,winner=preferred",
            "--a-wins", "first", "--b-wins", "second", "--tie", "same", "--unresolved", "??", "--out"]
    assert cli_main([*args, f"s3://{bucket}/mine"]) != 0
    err = capsys.readouterr().err
    assert "notes.txt" in err and "did not make" in err, err
    assert s3.cat_file(f"{bucket}/mine/notes.txt") == b"a file the report did not write"
    assert s3.find(f"{bucket}/mine") == [f"{bucket}/mine/notes.txt"]

    # An empty prefix is used; a second report replaces the first, and a stale file of the
    # first (listed in its marker) is removed, so the prefix holds exactly the new report.
    target = f"{bucket}/reports/table"
    assert cli_main([*args, f"s3://{target}"]) == 0
    first = json.loads(s3.cat_file(f"{target}/{MARKER}"))
    s3.pipe_file(f"{target}/tables/old_table.csv", b"from an older report")
    first["files"].append("tables/old_table.csv")
    s3.pipe_file(f"{target}/{MARKER}", json.dumps(first).encode())
    assert cli_main([*args, f"s3://{target}"]) == 0
    marker = json.loads(s3.cat_file(f"{target}/{MARKER}"))
    present = sorted(p[len(target) + 1 :] for p in s3.find(target))
    assert "tables/old_table.csv" not in present
    assert present == sorted([*marker["files"], MARKER])
    # a file added to the report by hand is not the report's to delete
    s3.pipe_file(f"{target}/my_notes.md", b"mine")
    assert cli_main([*args, f"s3://{target}"]) != 0
    assert "my_notes.md" in capsys.readouterr().err


def _write_holder(s3: s3fs.S3FileSystem, key: str, pid: int, host: str) -> None:
    record = {"pid": pid, "host": host, "started": "2026-01-01T00:00:00+00:00", "token": "theirs"}
    s3.pipe_file(key, json.dumps(record).encode())


def test_the_bucket_lock_refuses_a_live_holder_and_takes_over_a_dead_one(s3_server: str, monkeypatch) -> None:
    monkeypatch.setattr(locks, "TAKEOVER_PAUSE_SECONDS", 0.0)
    bucket = new_bucket(s3_server)
    folder, key = f"s3://{bucket}/study", f"{bucket}/study/.utility-gap.lock"
    s3 = _s3()

    first = ObjectStoreStudyLock(folder)
    first.acquire()
    assert json.loads(s3.cat_file(key))["pid"] == os.getpid()
    with pytest.raises(StudyFolderBusy, match=rf"in use by another utility-gap run \(PID {os.getpid()}"):
        ObjectStoreStudyLock(folder).acquire()  # the conditional create fails; the holder is alive
    first.release()
    assert not s3.exists(key)

    # Of many runs that start at once, exactly one takes the lock (S3's If-None-Match: *).
    contenders = [ObjectStoreStudyLock(folder) for _ in range(8)]

    def attempt(lock: ObjectStoreStudyLock) -> bool:
        try:
            lock.acquire()
            return True
        except StudyFolderBusy:
            return False

    with ThreadPoolExecutor(8) as pool:
        won = list(pool.map(attempt, contenders))
    assert sum(won) == 1
    contenders[won.index(True)].release()

    # A holder that died on this host (its PID is gone) is taken over at once.
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    _write_holder(s3, key, dead.pid, socket.gethostname())
    taker = ObjectStoreStudyLock(folder)
    taker.acquire()
    assert json.loads(s3.cat_file(key))["pid"] == os.getpid()
    taker.release()

    # A holder on another machine is live while its lock object is fresh (by the store's
    # clock), and stale once it has not been rewritten for STALE_SECONDS.
    monkeypatch.setattr(locks, "STALE_SECONDS", 2.0)
    _write_holder(s3, key, 4242, "another-machine")
    with pytest.raises(StudyFolderBusy, match="PID 4242 on another-machine"):
        ObjectStoreStudyLock(folder).acquire()
    time.sleep(3.5)
    late = ObjectStoreStudyLock(folder)
    late.acquire()
    assert json.loads(s3.cat_file(key))["token"] != "theirs"

    # The heartbeat keeps a live holder's lock object young, past STALE_SECONDS.
    late.release()
    monkeypatch.setattr(locks, "HEARTBEAT_SECONDS", 0.5)
    holder = ObjectStoreStudyLock(folder)
    holder.acquire()
    time.sleep(3.5)
    assert ObjectStoreStudyLock(folder)._age() < locks.STALE_SECONDS
    holder.release()
    assert not s3.exists(key)
