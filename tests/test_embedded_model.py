"""The real embedded model (SmolLM2-135M on llama.cpp) drives the real path.

Marked `embedded`: these start a llama.cpp server (about a second) and make a handful
of real model calls. Deselect with `-m "not embedded"` on a machine without the
`local` extra; CI installs it and runs them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from inspect_ai.log import list_eval_logs, read_eval_log

from utility_gap.models.embedded import BASE_URL_ENV, EMBEDDED_MODEL, embedded_model, start_embedded_server

pytestmark = pytest.mark.embedded


@pytest.fixture(scope="module")
def server():
    with embedded_model() as running:
        yield running


def test_server_stops_by_pid() -> None:
    server = start_embedded_server()
    pid = server.pid
    assert server.alive()
    server.stop()
    assert not server.alive()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


_ORPHAN_PARENT = """
import json, sys, threading, time, urllib.request
from utility_gap.models.embedded import start_embedded_server
server = start_embedded_server()
def ask():  # a long generation, in flight when this process is killed
    body = json.dumps({"messages": [{"role": "user", "content": "Write a long story."}], "max_tokens": 2000})
    request = urllib.request.Request(server.base_url + "/chat/completions", data=body.encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        urllib.request.urlopen(request, timeout=600)
    except Exception:
        pass
threading.Thread(target=ask, daemon=True).start()
print(server.pid, flush=True)
time.sleep(600)
"""


def test_server_dies_with_its_parent_mid_request() -> None:
    # Measured before the fix: SIGTERM on the parent's death made uvicorn wait for the
    # request in flight, so the orphan went on generating for nobody (alive 38 s later).
    parent = subprocess.Popen([sys.executable, "-c", _ORPHAN_PARENT], stdout=subprocess.PIPE, text=True)
    try:
        pid = int(parent.stdout.readline())
        time.sleep(2)  # the request is being generated
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=30)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.2)
        else:
            os.kill(pid, signal.SIGKILL)
            pytest.fail(f"the model server (PID {pid}) outlived its parent by 10 s")
    finally:
        if parent.poll() is None:
            parent.kill()


def test_inspect_eval_runs_forced_choices_on_the_embedded_model(server, tmp_path: Path) -> None:
    env = {**os.environ, BASE_URL_ENV: server.base_url}
    command = [
        sys.executable, "-m", "inspect_ai", "eval", "utility_gap/preference_elicitation",
        "--model", EMBEDDED_MODEL,
        "-T", "domain=demo", "-T", "k=1", "--limit", "3",
        "--max-connections", "1", "--max-tokens", "8",
        "--log-dir", str(tmp_path), "--display", "plain",
    ]
    result = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    (info,) = list_eval_logs(str(tmp_path))
    log = read_eval_log(info)
    assert log.status == "success"
    assert log.eval.model == EMBEDDED_MODEL
    assert log.samples and len(log.samples) == 3
    # Every sample made real calls in both orders and recorded each answer, parsed or not.
    for sample in log.samples:
        outputs = [e for e in sample.events if e.event == "model"]
        assert len(outputs) >= 2
        assert all(e.output.completion is not None for e in outputs)


def test_logprob_reads_find_both_letters_with_top_20(server, tmp_path: Path) -> None:
    """Logprob mode on the real server: top_logprobs=20 is accepted, and each read says what it found.

    With top_logprobs=5 'B' was missing from 74 of 132 reads on this model; with 20 most
    reads must list both letters, and none may fall back to sampling.
    """
    from utility_gap.analysis.choices_frame import choices_frame

    env = {**os.environ, BASE_URL_ENV: server.base_url}
    command = [
        sys.executable, "-m", "inspect_ai", "eval", "utility_gap/preference_elicitation",
        "--model", EMBEDDED_MODEL, "-T", "domain=demo", "-T", "logprobs=true", "-T", "top_logprobs=20",
        "--limit", "12", "--max-connections", "1", "--max-tokens", "1",
        "--log-dir", str(tmp_path), "--display", "plain",
    ]
    result = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    frame = choices_frame(tmp_path)
    assert len(frame) == 24 and (frame["method"] == "logprob").all()
    assert not frame["logprob_fallback"].any()
    letters = frame["logprob_letters"].value_counts().to_dict()
    print(f"letters found per read (top_logprobs=20): {letters}")
    assert set(letters) <= {"both", "A", "B"}
    assert letters.get("both", 0) >= 0.75 * len(frame)
    assert frame["p_a"].between(0, 1).all() and (frame["calls"] == 1).all()


def test_demo_pipeline_runs_every_stage_on_the_embedded_model(tmp_path: Path) -> None:
    """All four writing tasks, Stage 1 and the report, for real on SmolLM2 (a few minutes).

    The model is weak: the test asserts that every stage ran and that the report says
    what the data cannot support, not that any effect was found.
    """
    import json

    out = tmp_path / "demo"
    env = {k: v for k, v in os.environ.items() if k != BASE_URL_ENV}
    command = [
        sys.executable, "-m", "utility_gap.pipeline.cli", "run", "--contrasts", "exhort_vs_neutral",
        "--max-tokens", "64", "--display", "none", "--out", str(out),
    ]
    result = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stderr[-3000:]

    (utilities,) = (out / "utilities").glob("*.json")
    fitted = json.loads(utilities.read_text())
    assert fitted["model"] == EMBEDDED_MODEL and fitted["domain"] == "demo"
    # Whatever the model answered, the fit states whether it is informative, with reasons.
    assert fitted["informative"] or fitted["uninformative_reasons"]
    tasks = {read_eval_log(info, header_only=True).eval.task for info in list_eval_logs(str(out / "logs"))}
    for name in ("preference_elicitation", "preference_ranking", "essay", "grant_abstract",
                 "incident_postmortem", "translation", "judge_controls"):
        assert f"utility_gap/{name}" in tasks
    report = (out / "report" / "report.md").read_text()
    assert "## What was run" in report and EMBEDDED_MODEL in report
    # The run's own server (its log names its port) was stopped with the run.
    import socket

    (server_log,) = (out / "logs").glob("utility-gap-embedded-*.log")
    port = int(server_log.stem.rsplit("-", 1)[1])
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
