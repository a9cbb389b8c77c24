"""The rating server without a browser: its API, its file, its refusals, its lifetime."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from utility_gap.analysis.human_ratings import append_rating, rating_record, read_ratings
from utility_gap.analysis.rating_sample import rating_sample, shown_first
from utility_gap.pipeline.cli import main as cli
from utility_gap.pipeline.rating_server import RatingSession, build_app
from synthetic_logs import SyntheticRun, write_synthetic_logs

PUBLIC = {"token", "task_prompt", "axis", "criteria", "output_1", "output_2"}


@pytest.fixture(scope="module")
def logs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("server") / "logs"
    write_synthetic_logs(str(root), [SyntheticRun(task="essay", contrast="exhort_vs_neutral", n_items=4, seed=1)])
    return root


def run_api(session: RatingSession, calls):
    async def go():
        async with TestClient(TestServer(build_app(session))) as client:
            return await calls(client)

    return asyncio.run(go())


def test_api_serves_only_the_blind_view_and_writes_each_rating_at_once(logs: Path, tmp_path: Path) -> None:
    out = tmp_path / "carol.jsonl"
    sample = rating_sample(logs, per_stratum=3)
    session = RatingSession(sample=sample, out=out, rater="carol")

    async def calls(client):
        page = await client.get("/")
        assert page.status == 200 and "<!doctype html>" in await page.text()
        state = await (await client.get("/api/state")).json()
        assert state["total"] == 3 and state["done"] == 0 and set(state["pair"]) == PUBLIC
        first = sample.pairs[0]
        shown = shown_first("carol", first.pair_key)
        assert state["pair"]["output_1"] == (first.output_a if shown == "a" else first.output_b)
        token = state["pair"]["token"]
        bad = await client.post("/api/rate", json={"token": token, "choice": "3"})
        assert bad.status == 400 and "choice" in (await bad.json())["error"]
        bad = await client.post("/api/rate", json={"token": "nope", "choice": "1"})
        assert bad.status == 400 and not out.exists()
        bad = await client.post("/api/rate", json={"token": token, "choice": "1", "scores": {"1": {"charm": 5}}})
        assert bad.status == 400 and "unknown criteria" in (await bad.json())["error"]
        rated = await client.post("/api/rate", json={"token": token, "choice": "1", "seconds": 2.5,
                                                     "scores": {"2": {"clarity": 6}}})
        assert rated.status == 200
        assert len(out.read_text().splitlines()) == 1  # on disk before the answer
        again = await (await client.post("/api/rate", json={"token": token, "choice": "2"})).json()
        assert again["duplicate"] and again["done"] == 1
        return shown, first.pair_key

    shown, key = run_api(session, calls)
    ratings = read_ratings([out])
    row = ratings.verdicts.iloc[0]
    assert (row["pair_key"], row["choice"], row["verdict"], row["seconds"]) == (key, "1", shown, 2.5)
    other = "b" if shown == "a" else "a"
    assert ratings.scores[["side", "criterion", "score"]].values.tolist() == [[other, "clarity", 6.0]]
    # a new session (the rater came back) starts after what is on disk
    assert RatingSession(sample=sample, out=out, rater="carol").state()["done"] == 1
    assert RatingSession(sample=sample, out=out, rater="dave").state()["done"] == 0


def test_a_file_of_another_rater_and_bad_arguments_are_refused(logs: Path, tmp_path: Path, capsys) -> None:
    bob = tmp_path / "bob.jsonl"
    append_rating(bob, rating_record(rater="bob", pair_key="x::1::1", shown_first="a", choice="1"))
    assert cli(["rate", str(logs), "--out", str(bob), "--rater", "alice"]) == 2
    assert "holds ratings by bob, not 'alice'" in capsys.readouterr().err
    assert cli(["rate", str(tmp_path / "nowhere"), "--out", str(tmp_path / "a.jsonl")]) == 2
    assert "LOGDIR" in capsys.readouterr().err
    assert cli(["rate", str(logs), "--out", str(tmp_path / "no" / "such" / "a.jsonl")]) == 2
    assert "does not exist; create it first" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli(["rate", str(logs), "--out", str(tmp_path / "a.jsonl"), "--strata", "item"])


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ")[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state not in ("Z", "X")  # a zombie has stopped; only its exit status is left


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_server_stops_when_the_process_that_started_it_dies(logs: Path, tmp_path: Path) -> None:
    out_file = tmp_path / "server.out"
    parent = subprocess.Popen(
        [sys.executable, "-c", (
            "import subprocess, sys, time\n"
            f"child = subprocess.Popen([sys.executable, '-m', 'utility_gap.pipeline.cli', 'rate', {str(logs)!r}, "
            f"'--out', {str(tmp_path / 'e.jsonl')!r}, '--per-stratum', '2'], stdout=open({str(out_file)!r}, 'w'), "
            "stderr=subprocess.STDOUT)\n"
            "print(child.pid, flush=True)\n"
            "time.sleep(600)\n"
        )],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        child = int(parent.stdout.readline())
        deadline = time.monotonic() + 120
        while "Open http://127.0.0.1:" not in (out_file.read_text() if out_file.exists() else ""):
            assert time.monotonic() < deadline and _alive(child), out_file.read_text()
            time.sleep(0.2)
        os.kill(parent.pid, signal.SIGKILL)  # the parent dies without a chance to clean up
        parent.wait()
        deadline = time.monotonic() + 30
        while _alive(child):
            assert time.monotonic() < deadline, "the rating server outlived its parent"
            time.sleep(0.2)
        assert "Stopped." in out_file.read_text()  # it shut down cleanly (SIGTERM), not killed
    finally:
        if parent.poll() is None:
            parent.kill()
        if _alive(child):
            os.kill(child, signal.SIGKILL)
