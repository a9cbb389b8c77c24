"""The blind rating page in a real browser: headless Chromium driven by selenium.

`utility-gap rate` is started as a user starts it; the browser rates pairs with the
keyboard and the buttons (and rubric scores), is closed, the server is stopped and
started again, a new browser goes on where the first stopped, and the ratings file is
checked line by line against what the page showed. Every response the browser received
(the page and each API answer, read through the DevTools protocol) is searched for
anything that would unblind a rater: arms, contrast, model, judges, outcome ids, log
names, pair keys, verdicts.

Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them); nothing is
downloaded at test time. Set UTILITY_GAP_SCREENSHOTS=DIR to keep the screenshots.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from utility_gap.analysis.frames import read_frames
from utility_gap.analysis.human_ratings import read_ratings
from utility_gap.analysis.rating_sample import rating_sample, shown_first
from synthetic_logs import SyntheticRun, write_synthetic_logs

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
HAVE_BROWSER = Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()
if not HAVE_BROWSER and os.environ.get("CI"):
    raise RuntimeError("CI must install Debian's chromium and chromium-driver (see .ci/run).")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not HAVE_BROWSER, reason="needs Debian's chromium + chromium-driver (apt-get install -y chromium chromium-driver)"),
]
PER_STRATUM = 3
WAIT = 60  # seconds an element may take to appear on this shared machine


@pytest.fixture(scope="module")
def logs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("rating") / "logs"
    write_synthetic_logs(str(root), [
        SyntheticRun(task="essay", contrast="exhort_vs_neutral", shift=0.8, n_items=5, repeats=2, seed=1),
        SyntheticRun(task="translation", contrast="utility_high_vs_utility_low", n_items=5, repeats=1, seed=2),
    ])
    return root


class RateCommand:
    """`utility-gap rate` in a subprocess, as a user runs it."""

    def __init__(self, logs: Path, out: Path, rater: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "utility_gap.pipeline.cli", "rate", str(logs), "--out", str(out),
             "--rater", rater, "--per-stratum", str(PER_STRATUM)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self.lines: list[str] = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            self.lines.append(line)
            if line.startswith("Open http://127.0.0.1:"):
                self.url = line.split()[1]
                return
        self.stop()
        raise AssertionError("utility-gap rate did not print its URL:\n" + "".join(self.lines))

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        out, _ = self.process.communicate(timeout=30)
        self.lines.append(out)
        return "".join(self.lines)


def browser(user_dir: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1280,1000", f"--user-data-dir={user_dir}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def wait_for(driver, condition, what: str):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT, poll_frequency=0.1).until(lambda d: condition(d), message=what)


def text_of(driver, element_id: str) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, element_id).text


def wait_for_count(driver, done: int, total: int) -> None:
    wait_for(driver, lambda d: text_of(d, "count") == f"{done} / {total}", f"progress {done} / {total}")


def shown_pair(driver) -> tuple[str, str]:
    wait_for(driver, lambda d: text_of(d, "output-1") and text_of(d, "output-2"), "a pair on screen")
    return text_of(driver, "output-1"), text_of(driver, "output-2")


def responses(driver) -> list[str]:
    """Every response body the browser received (page and API), via the DevTools protocol."""
    bodies = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] != "Network.responseReceived":
            continue
        if not message["params"]["response"]["url"].startswith("http://127.0.0.1:"):
            continue
        try:
            body = driver.execute_cdp_cmd("Network.getResponseBody", {"requestId": message["params"]["requestId"]})
        except Exception:  # a body the browser already dropped (e.g. a redirect)
            continue
        bodies.append(body["body"])
    return bodies


def screenshot(driver, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    assert driver.save_screenshot(str(path))
    assert path.stat().st_size > 10_000  # a rendered page, not a blank one
    keep = os.environ.get("UTILITY_GAP_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / path.name)
    return path


def forbidden_strings(logs: Path) -> set[str]:
    """What must never reach the browser: everything that identifies arms, framing, model or verdicts."""
    pairs = read_frames(logs).pairs
    strings = set()
    for column in ("contrast", "arm_a", "arm_b", "model", "outcome_a", "outcome_b", "log", "pair_key"):
        strings |= {str(v) for v in pairs[column].dropna().unique()}
    strings |= set(read_frames(logs).verdicts["judge"].unique())
    strings |= {"winner", "verdict", "judge", "shown_first", "simulated", "demo/outcome", "::"}
    return strings


def test_rate_close_reopen_and_nothing_blind_breaking_reaches_the_browser(logs: Path, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    out = tmp_path / "ratings" / "alice.jsonl"
    out.parent.mkdir()
    sample = rating_sample(logs, PER_STRATUM)
    total = len(sample.pairs)
    assert total == 2 * PER_STRATUM
    outputs = {p.pair_key: (p.output_a, p.output_b) for p in sample.pairs}
    seen: list[tuple[str, str]] = []
    bodies: list[str] = []

    server = RateCommand(logs, out, "alice")
    driver = browser(tmp_path / "profile-1")
    try:
        driver.get(server.url)
        wait_for_count(driver, 0, total)
        assert text_of(driver, "rater") == "alice"
        seen.append(shown_pair(driver))
        screenshot(driver, tmp_path, "1-first-pair")
        driver.find_element(By.TAG_NAME, "body").send_keys("1")  # keyboard: response 1
        wait_for_count(driver, 1, total)
        seen.append(shown_pair(driver))
        driver.find_element(By.ID, "choose-tie").click()  # button: tie
        wait_for_count(driver, 2, total)
        seen.append(shown_pair(driver))
        driver.find_element(By.CSS_SELECTOR, "#rubric-box summary").click()  # optional rubric scores
        wait_for(driver, lambda d: d.find_element(By.ID, "score-1-0").is_displayed(), "rubric inputs")
        driver.find_element(By.ID, "score-1-0").send_keys("3")  # typing a digit in a score does not rate
        driver.find_element(By.ID, "score-2-0").send_keys("8")
        assert text_of(driver, "count") == f"2 / {total}"
        screenshot(driver, tmp_path, "2-rubric-open")
        driver.find_element(By.ID, "choose-2").click()
        wait_for_count(driver, 3, total)
        bodies += responses(driver)
    finally:
        driver.quit()  # the rater closes the browser ...
    assert len(out.read_text().splitlines()) == 3  # ... and nothing is lost
    first_run = server.stop()  # ... and the server is stopped too
    assert "Stopped. 3 of 6 pairs rated by 'alice'" in first_run

    server = RateCommand(logs, out, "alice")
    assert any("3 already rated" in line for line in server.lines)
    driver = browser(tmp_path / "profile-2")
    try:
        driver.get(server.url)
        wait_for_count(driver, 3, total)  # the progress came back from the file
        seen.append(shown_pair(driver))
        screenshot(driver, tmp_path, "3-reopened")
        driver.find_element(By.TAG_NAME, "body").send_keys("t")
        wait_for_count(driver, 4, total)
        bodies += responses(driver)
    finally:
        driver.quit()
        server.stop()

    # the file: one line per rating, in the documented schema, matching what was on screen
    ratings = read_ratings([out]).verdicts
    assert list(ratings["choice"]) == ["1", "tie", "2", "tie"]
    assert (ratings["rater"] == "alice").all() and ratings["pair_key"].is_unique
    assert list(ratings["pair_key"]) == [p.pair_key for p in sample.pairs[:4]]  # the sample's order
    for (one, two), row in zip(seen, ratings.itertuples()):
        assert row.shown_first == shown_first("alice", row.pair_key)
        a, b = outputs[row.pair_key]
        assert (one, two) == ((a, b) if row.shown_first == "a" else (b, a))
        expected = {"1": row.shown_first, "2": "b" if row.shown_first == "a" else "a", "tie": "tie"}[row.choice]
        assert row.verdict == expected
        assert row.seconds >= 0
    scores = read_ratings([out]).scores
    third = ratings.iloc[2]
    other = "b" if third["shown_first"] == "a" else "a"
    assert set(zip(scores["side"], scores["score"])) == {(third["shown_first"], 3.0), (other, 8.0)}
    assert set(scores["criterion"]) == {"clarity"}

    # blindness: nothing that identifies arms, framing, model, judges or verdicts reached the browser
    assert any(body.lstrip().startswith("<!doctype html>") for body in bodies)
    api = [body for body in bodies if body.lstrip().startswith("{")]
    assert len(api) >= 6  # two state loads and four ratings
    forbidden = forbidden_strings(logs)
    for body in bodies:
        leaked = sorted(s for s in forbidden if s and s in body)
        assert not leaked, f"blind-breaking strings reached the browser: {leaked}"
    keys = {json.dumps(sorted(json.loads(body)["pair"] or {})) for body in api if "pair" in json.loads(body)}
    assert keys <= {json.dumps(sorted(["token", "task_prompt", "axis", "criteria", "output_1", "output_2"])), "[]"}
