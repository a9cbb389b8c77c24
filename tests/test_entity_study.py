"""`utility-gap run --family entities`: the whole entity study in one resumable command, on planted truth.

The simulated subject chooses between entity outcomes from planted utilities, advises by
`advice_slope`, refuses disliked entities by `refusal_slope` and reads more accurately for
liked ones by `accuracy_slope`. The report must find each planted dependence, and find
none when the slopes are zero.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from inspect_ai.log import list_eval_logs, read_eval_log
from inspect_ai.model import get_model
from scipy.stats import spearmanr

from utility_gap.analysis.entity_behaviour import entity_utilities
from utility_gap.analysis.report import ReportSettings, write_report
from utility_gap.analysis.utilities_file import read_utilities, write_utilities
from utility_gap.evals.outcomes import load_outcomes
from utility_gap.pipeline.cli import build_parser, main
from utility_gap.pipeline.cmd_run import config_from_args
from utility_gap.pipeline.run import plan
from utility_gap.pipeline.study_file import study_settings

NAMES = ["Alder Trust", "Birch Fund", "Cedar Relief", "Dogwood Aid", "Elm Society", "Fir Foundation", "Ginkgo Works",
         "Hazel Alliance", "Ivy Helpers", "Juniper Care", "Kapok Council", "Larch Collective"]


def entity_set(tmp_path: Path, names: list[str] = NAMES) -> Path:
    path = tmp_path / "ents.jsonl"
    path.write_text("".join(json.dumps({"id": f"ents/e{i}", "text": f"{name} receives a donation of $1,000.",
                                        "entity": name, "quantity": 1000, "kind": "donation"}) + "\n"
                            for i, name in enumerate(names)))
    return path


def run_study(out: Path, ents: Path, *model_args: str) -> int:
    args = ["run", "--family", "entities", "--model", "simulated/subject", "--entities", str(ents),
            "--entity-pairs", "all", "--entity-items", "16", "--k", "2", "--display", "none", "--out", str(out),
            "-M", f"entity_set={ents}"]
    for arg in model_args:
        args += ["-M", arg]
    return main(args)


def correlation(table: pd.DataFrame, preference: str, behaviour: str) -> dict:
    row = table[(table["preference"] == preference) & (table["behaviour"] == behaviour)]
    assert len(row) == 1, table
    return row.iloc[0].to_dict()


def test_one_command_recovers_planted_entity_effects_and_resumes(tmp_path: Path, capsys) -> None:
    ents = entity_set(tmp_path)
    out, calls = tmp_path / "planted", tmp_path / "calls.log"
    slopes = ("advice_slope=1.5", "refusal_slope=0.8", "accuracy_slope=1.0", f"call_log={calls}")
    assert run_study(out, ents, *slopes) == 0
    said = capsys.readouterr().err
    assert "Stages 2-3: 3 evals of simulated/subject (preference_ranking, entity_donation_advice, entity_reading_task)" in said

    # Stage 1 over the entity set: the fitted utilities rank the entities as planted.
    planted = get_model("simulated/subject", memoize=False, entity_set=str(ents)).api
    [uf_path] = list((out / "utilities").glob("*.json"))
    fitted = entity_utilities(read_utilities(uf_path), load_outcomes(ents))
    assert spearmanr([fitted[n] for n in NAMES], [planted.entity_utility(n) for n in NAMES]).statistic >= 0.8

    tables = out / "report" / "tables"
    corr = pd.read_csv(tables / "entity_correlations__simulated-subject__ents.csv")
    assert set(corr["preference"]) == {"utility", "ranking_borda"}  # both preference methods
    advice = correlation(corr, "utility", "advice_share")
    refusal = correlation(corr, "utility", "refusal_rate")
    accuracy = correlation(corr, "utility", "accuracy")
    assert advice["spearman"] >= 0.7 and advice["significant"]
    assert refusal["spearman"] <= -0.5 and refusal["significant"]
    assert accuracy["spearman"] >= 0.5 and accuracy["significant"]
    assert (corr["p_holm"].dropna() >= corr["p_value"].dropna()).all()

    per_entity = pd.read_csv(tables / "entity_behaviour__simulated-subject__ents.csv")
    assert sorted(per_entity["entity"]) == sorted(NAMES)
    assert (per_entity["n_items"] == 16).all()
    assert per_entity["n_attempts"].sum() > per_entity["n_samples"].sum()  # refused attempts were retried and counted
    report = (out / "report" / "report.md").read_text()
    assert "## Entity preferences and behaviour" in report and "Advice attempts:" in report and "refused:" in report
    assert "Method agreement for `simulated/subject` / ents" in report  # the two methods' Spearman
    figures = {p.name for p in (out / "report" / "figures").glob("entity_*__utility.png")}
    assert figures == {f"entity_{b}__simulated-subject__ents__utility.png"
                       for b in ("advice_share", "refusal_rate", "accuracy")}

    # The same command again reuses every finished round and sample: no model call.
    before = len(calls.read_text().splitlines())
    assert run_study(out, ents, *slopes) == 0
    assert len(calls.read_text().splitlines()) == before

    # Utilities that Stage 1 calls uninformative make the correlations with them weak evidence: the report says so.
    assert "the Thurstonian utilities are uninformative" not in report
    uf = read_utilities(uf_path)
    uf.informative, uf.uninformative_reasons = False, ["held-out accuracy at chance"]
    write_utilities(uf_path, uf)
    write_report(out / "logs", tmp_path / "again", ReportSettings(utilities_dir=out / "utilities"))
    again = (tmp_path / "again" / "report.md").read_text()
    assert "Entity study `simulated/subject` / ents: the Thurstonian utilities are uninformative" in again


def test_a_changed_entity_setting_is_refused_by_the_study_file(tmp_path: Path, capsys) -> None:
    from utility_gap.pipeline.study_file import write_study

    out = tmp_path / "study"
    args = ["run", "--family", "entities", "--model", "simulated/subject", "--entity-items", "4", "--out", str(out)]
    config = config_from_args(build_parser().parse_args(args))
    write_study(out, study_settings(config))  # as the first run records it
    calls = tmp_path / "calls"
    changed = [*args[:-4], "--entity-items", "5", "--out", str(out), "-M", f"call_log={calls}"]
    assert main(changed) == 2
    err = capsys.readouterr().err
    assert "--entity-items: 4 (recorded) -> 5 (this run)" in err and not calls.exists()


def test_planted_null_is_not_found(tmp_path: Path) -> None:
    ents = entity_set(tmp_path)
    out = tmp_path / "null"
    assert run_study(out, ents, "seed=3") == 0
    corr = pd.read_csv(out / "report" / "tables" / "entity_correlations__simulated-subject__ents.csv")
    for behaviour in ("advice_share", "accuracy"):
        found = correlation(corr, "utility", behaviour)
        assert not found["significant"] and found["p_holm"] >= 0.05, found
    assert correlation(corr, "utility", "refusal_rate")["note"] == "constant column"  # nobody refused


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--family", "entity"], "--family entity: choose one or more of writing, entities"),
        (["--family", "entities", "--entities", "planets"], "--entities planets"),
        (["--family", "entities", "--entity-pairs", "2"], "--entity-pairs 2"),
        (["--family", "entities", "--entity-items", "0"], "--entity-items 0"),
    ],
)
def test_bad_entity_settings_fail_before_any_call(tmp_path: Path, capsys, args: list[str], message: str) -> None:
    calls = tmp_path / "calls"
    code = main(["run", "--model", "simulated/subject", "-M", f"call_log={calls}", "--out", str(tmp_path / "o"), *args])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not calls.exists() and not (tmp_path / "o" / "logs").exists()


def test_dry_run_plans_the_entity_study_without_judges(tmp_path: Path, capsys) -> None:
    assert main(["run", "--preset", "entities", "--model", "simulated/subject", "--dry-run", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "Stage 1  entities: 37 outcomes" in printed and "Entities entities: 37 entities; advice 80 samples" in printed
    assert "judges" not in printed and "essay" not in printed


def test_writing_and_entities_in_one_folder_and_one_report(tmp_path: Path, capsys, caplog) -> None:
    """Both families in one run: one report with both studies; the entity logs are reported, not 'not used'."""
    ents, out = entity_set(tmp_path, NAMES[:5]), tmp_path / "both"
    code = main(["run", "--family", "writing,entities", "--model", "simulated/subject", "--judge", "simulated/judge",
                 "--tasks", "essay", "--items", "2", "--contrasts", "exhort_vs_neutral", "--entities", str(ents),
                 "--entity-pairs", "all", "--entity-items", "2", "--k", "1", "--display", "none", "--out", str(out),
                 "-M", f"entity_set={ents}", "-M", "advice_slope=1.5"])
    assert code == 0
    said = capsys.readouterr().err
    assert ("Stages 2-3: 6 evals of simulated/subject (preference_ranking x2, essay, judge_controls, entity_donation_advice, "
            "entity_reading_task)") in said
    report = (out / "report" / "report.md").read_text()
    assert "## Win rates per model and task" in report and "## Entity preferences and behaviour" in report
    # 2 Stage 1 rounds per domain (demo, five), 2 rankings, advice, reading: read by their own sections
    assert ("(2 paired-writing or judge-control logs used, 8 of other tasks read by their own sections, 0 not used)"
            in report)
    assert "entity_donation_advice (1): Entity preferences and behaviour" in report
    assert not (out / "report" / "tables" / "skipped_logs.csv").exists()
    assert not [r for r in caplog.records if "Skipped log" in r.getMessage()]
    assert json.loads((out / "study.json").read_text())["settings"]["families"] == ["entities", "writing"]


def _model_calls_in_logs(folder: Path) -> int:
    """Model calls whose results the logs keep (every sample of every log, reused samples included)."""
    return sum(1 for info in list_eval_logs(str(folder), recursive=True) for sample in read_eval_log(info).samples or []
               for event in sample.events if event.event == "model")


def test_an_interrupted_entity_study_resumes_without_redoing_finished_samples(tmp_path: Path) -> None:
    names = NAMES[:7]
    ents, out, calls = entity_set(tmp_path, names), tmp_path / "out", tmp_path / "calls.log"
    args = ["run", "--family", "entities", "--model", "simulated/subject", "--entities", str(ents), "--entity-pairs",
            "all", "--entity-items", "2", "--k", "1", "--max-connections", "2", "--display", "none", "--out", str(out),
            "-M", f"entity_set={ents}", "-M", "advice_slope=1.5", "-M", "refusal_slope=0.8", "-M", "latency=0.05",
            "-M", f"call_log={calls}"]
    planned = plan(config_from_args(build_parser().parse_args(args))).samples
    # Stage 1 (both orders, k=1) and the ranking come before the advice
    before_advice = sum(n * (2 if key.startswith("stage1") else 1) for key, n in planned.items()
                        if key.startswith(("stage1", "ranking")))
    command = [sys.executable, "-m", "utility_gap.pipeline.cli", *args]
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 300
    while not calls.exists() or len(calls.read_text().splitlines()) < before_advice + 12:
        assert process.poll() is None, "the run finished before it could be interrupted"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)  # well into the advice eval (42 samples)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130 and "Traceback" not in stderr, stderr[-3000:]
    statuses = {read_eval_log(i, header_only=True).eval.task.split("/")[-1]: read_eval_log(i, header_only=True).status
                for i in list_eval_logs(str(out / "logs" / "tasks"))}
    assert statuses.get("entity_donation_advice") == "cancelled", statuses  # stopped inside an eval, not between

    again = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert again.returncode == 0, again.stderr[-3000:]
    made, kept = len(calls.read_text().splitlines()), _model_calls_in_logs(out / "logs")
    # Only samples in flight were asked again: at most 2 (connections) x 3 attempts (1 + 2 retries).
    assert 0 <= made - kept <= 6, (made, kept)
    per_entity = pd.read_csv(out / "report" / "tables" / "entity_behaviour__simulated-subject__ents.csv")
    assert per_entity["n_items"].sum() == 2 * len(names)
    assert per_entity["n_samples"].sum() == 2 * planned["entity advice"]  # each advice sample names two entities


def _cut_short(log_dir: Path, keep: int) -> None:
    """Rewrite the one log in `log_dir` as a run stopped by Ctrl-C after `keep` samples."""
    from inspect_ai.log import write_eval_log

    [info] = list_eval_logs(str(log_dir))
    log = read_eval_log(info)
    log.status, log.samples = "cancelled", (log.samples or [])[:keep]
    assert log.results is not None
    log.results.completed_samples = keep
    write_eval_log(log, info.name)


def test_a_log_that_did_not_finish_is_named_in_the_entity_section(tmp_path: Path) -> None:
    from inspect_ai import eval as inspect_eval

    from utility_gap.evals.entity_behaviour import entity_donation_advice

    ents = entity_set(tmp_path, NAMES[:4])
    model = get_model("simulated/subject", memoize=False, entity_set=str(ents))
    [log] = inspect_eval(entity_donation_advice(entities=str(ents)), model=model, log_dir=str(tmp_path / "logs"),
                         display="none")
    assert log.status == "success" and len(log.samples or []) == 12
    write_report(tmp_path / "logs", tmp_path / "whole")
    assert "did not finish" not in (tmp_path / "whole" / "report.md").read_text()
    _cut_short(tmp_path / "logs", keep=5)
    write_report(tmp_path / "logs", tmp_path / "cut")
    text = (tmp_path / "cut" / "report.md").read_text()
    assert "entity_donation_advice): status cancelled, 5 of 12 samples finished" in text
    assert "Entity study: 1 log(s) did not finish" in text  # among the cautions at the top
