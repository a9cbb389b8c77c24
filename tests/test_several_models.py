"""Several models under test in one study, and one study split across processes (#13).

Planted truth: `simulated/subject/strong` writes better under the exhortation (shift 1.5)
and follows its own utilities (slope 1.0, its own utility seed, so another model's
utilities would not predict its quality); `simulated/subject/null` has no effect at all.
Each model's effect must be found in its own rows, and the null model's must not.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from inspect_ai.log import list_eval_logs, read_eval_log
from s3_server import new_bucket, s3_server  # noqa: F401  (the fixture)

from utility_gap.pipeline.cli import main
from utility_gap.pipeline.presets import DEMO
from utility_gap.pipeline.run import RunConfig
from utility_gap.pipeline.study_file import SCHEMA_V1, STUDY_FILE, StudyMismatch, read_study
from utility_gap.pipeline.study_lock import StudyFolderBusy
from utility_gap.pipeline.study_parts import check_study_models, hold_parts, record, tasks_dir

STRONG, NULL = "simulated/subject/strong", "simulated/subject/null"
TINY_OUTCOMES = "".join(
    f'{{"id": "tiny/o{i}", "text": "Outcome {i} happens.", "entity": null, "quantity": null, "kind": "k"}}\n'
    for i in range(6)
)
# Everything but the models and where the study goes: the same on every "machine".
STUDY = ["--judge", "simulated/judge", "--judge", "simulated/judge", "--domains", "tiny.jsonl", "--tasks", "essay",
         "--items", "6", "--repeats", "2", "--k", "1", "--display", "none"]
PLANTED = ["--arg-for", f"{STRONG}:shifts=exhort:1.5", "--arg-for", f"{STRONG}:utility_slope=1.0",
           "--arg-for", f"{STRONG}:utility_seed=1"]
CELL = ["n_a", "n_b", "n_tie", "n", "win_rate", "p_value"]  # what a cell's data give, whatever else was run


def _cli(cwd: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "utility_gap.pipeline.cli", *args], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(process: subprocess.Popen[str]) -> str:
    _, err = process.communicate(timeout=900)
    assert process.returncode == 0, err[-3000:]
    return err


@pytest.fixture(scope="module")
def studies(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same two-model study three ways: one command; two processes at once (one model each,
    one report after); and each model alone."""
    root = tmp_path_factory.mktemp("several_models")
    (root / "tiny.jsonl").write_text(TINY_OUTCOMES)
    together = _cli(root, "run", "--model", STRONG, "--model", NULL, *PLANTED, *STUDY, "--out", "together")
    assert "from before study files existed" not in _finish(together)  # a new study, not an old folder
    # The split: both processes name the whole study and run one model's part each, at once.
    split = [_cli(root, "run", "--model", STRONG, "--model", NULL, *PLANTED, *STUDY, "--only-model", model,
                  "--out", "split") for model in (STRONG, NULL)]
    errs = [_finish(process) for process in split]
    assert all("When every model's part of the study is done, write the report" in err for err in errs)
    assert not (root / "split" / "report").exists()  # a part's run writes no report
    assert main(["report", str(root / "split" / "logs"), "--out", str(root / "split" / "report")]) == 0
    # Each model alone, in a study of its own.
    alone = [_cli(root, "run", "--model", STRONG, *PLANTED, *STUDY, "--out", "alone_strong"),
             _cli(root, "run", "--model", NULL, *STUDY, "--out", "alone_null")]
    for process in alone:
        _finish(process)
    return root


def _rates(root: Path, study: str) -> pd.DataFrame:
    rates = pd.read_csv(root / study / "report" / "tables" / "win_rates.csv")
    return rates.sort_values(["contrast", "model", "task"]).reset_index(drop=True)


def _cell(rates: pd.DataFrame, model: str, contrast: str) -> pd.Series:
    (row,) = [r for _, r in rates.iterrows() if r.model == model and r.contrast == contrast]
    return row


def test_each_model_effect_is_recovered_in_its_own_rows_and_the_null_model_shows_none(studies: Path) -> None:
    rates = _rates(studies, "together")
    assert sorted(rates["model"].unique()) == [NULL, STRONG]
    for contrast in ("exhort_vs_neutral", "utility_high_vs_utility_low"):
        strong, null = _cell(rates, STRONG, contrast), _cell(rates, NULL, contrast)
        assert strong.n_total == null.n_total == 12  # 6 items x 2 repeats, each pair once
        assert strong.win_rate >= 0.9 and strong.p_holm < 0.01, strong.to_dict()  # planted: found
        assert null.p_holm > 0.05 and null.fw_ci_low < 0.5 < null.fw_ci_high, null.to_dict()  # planted null
    text = (studies / "together" / "report" / "report.md").read_text()
    assert f"Models under test: `{NULL}`, `{STRONG}`" in text
    figure = (studies / "together" / "report" / "figures" / "contrasts_side_by_side.svg").read_text()
    assert f"{STRONG} | essay" in figure and f"{NULL} | essay" in figure
    aggregate = pd.read_csv(studies / "together" / "report" / "tables" / "aggregate_win_rates.csv")
    assert (aggregate["n_cells"] == 2).all()  # one cell per model, pooled with equal weight


def test_each_models_utility_arms_use_its_own_utilities(studies: Path) -> None:
    out = studies / "together"
    study = read_study(out)
    assert study is not None and study["models"] == [STRONG, NULL]
    assert study["model_args_for"] == {STRONG: {"shifts": "exhort:1.5", "utility_slope": 1.0, "utility_seed": 1}}
    for model in (STRONG, NULL):
        logs = [read_eval_log(info, header_only=True) for info in list_eval_logs(str(tasks_dir(out, model)))]
        assert {log.eval.model for log in logs} == {model}
        (utility,) = [log for log in logs if log.eval.task_args.get("utilities")]
        utilities = json.loads((studies / utility.eval.task_args["utilities"]).read_text())  # relative to the run
        assert utilities["model"] == model
    # The judge controls test the panel, not a model: run once, in the first model's part.
    controls = [p for p in (out / "logs").rglob("*judge-controls*.eval")]
    assert len(controls) == 1 and controls[0].parent == tasks_dir(out, STRONG)


def test_two_processes_one_model_each_make_the_same_report_as_one_command(studies: Path) -> None:
    split, together = _rates(studies, "split"), _rates(studies, "together")
    pd.testing.assert_frame_equal(split, together)  # every pair counted once, the same pairs
    controls = pd.read_csv(studies / "split" / "report" / "tables" / "judge_controls.csv")
    assert controls.set_index(["judge", "damage"]).loc[("panel", "all"), "n"] == 4  # once, not once per model
    assert "The study is not complete" not in (studies / "split" / "report" / "report.md").read_text()


def test_a_report_over_a_study_with_a_part_not_run_names_the_missing_model(studies: Path, tmp_path: Path) -> None:
    study = tmp_path / "study"
    shutil.copytree(studies / "split", study, ignore=shutil.ignore_patterns("report"))
    shutil.rmtree(tasks_dir(study, NULL))
    for folder in (study / "logs" / "elicitation").glob("simulated-subject-null__*"):
        shutil.rmtree(folder)
    assert main(["report", str(study / "logs"), "--out", str(tmp_path / "report")]) == 0
    text = (tmp_path / "report" / "report.md").read_text()
    assert f"**No logs yet**: `{NULL}`" in text
    assert f"The study is not complete: {NULL} (listed in the study file) has no logs" in text
    assert set(pd.read_csv(tmp_path / "report" / "tables" / "win_rates.csv")["model"]) == {STRONG}


def test_a_models_part_gives_what_that_model_run_alone_gives(studies: Path) -> None:
    split = _rates(studies, "split")
    for model, study in ((STRONG, "alone_strong"), (NULL, "alone_null")):
        alone = _rates(studies, study)
        assert list(alone["model"].unique()) == [model]
        part = split[split["model"] == model].reset_index(drop=True)
        pd.testing.assert_frame_equal(part[["contrast", "task", *CELL]], alone[["contrast", "task", *CELL]])


# -- settings, the study file and the locks (no model is called) ----------------------------


def _config(out: Path, *models: str, **settings: object) -> RunConfig:
    return RunConfig(out=out, preset=DEMO, models=models, judges=["simulated/judge"], **settings)  # type: ignore[arg-type]


def test_arg_for_takes_model_names_with_slashes_and_colons() -> None:
    from utility_gap.pipeline.arguments import model_key_values
    from utility_gap.pipeline.errors import CommandError

    assert model_key_values([f"{STRONG}:shifts=exhort:1.5", "ollama/llama3:8b:temperature=0", f"{STRONG}:seed=2"],
                            "--arg-for") == {STRONG: {"shifts": "exhort:1.5", "seed": 2},
                                             "ollama/llama3:8b": {"temperature": 0}}
    for bad in ("shifts=exhort:1.5", f"{STRONG}:seed"):
        with pytest.raises(CommandError, match=f"--arg-for {bad}: expected MODEL:KEY=VALUE"):
            model_key_values([bad], "--arg-for")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--model", STRONG, "--model", STRONG, *STUDY], f"--model {STRONG} is given more than once"),
        (["--model", "simulated/subject/a-b", "--model", "simulated/subject-a/b", *STUDY],
         "would share the folder names 'simulated-subject-a-b'"),
        (["--model", STRONG, "--model", NULL, "--arg-for", "simulated/subject/x:seed=1", *STUDY],
         "--arg-for simulated/subject/x: not a model under test of this run"),
        (["--model", STRONG, "--model", NULL, "--only-model", "simulated/subject", *STUDY],
         "--only-model simulated/subject: not a model under test of this run"),
        (["--model", STRONG, "--model", NULL, "--tasks", "essay"], "Several models under test need a shared judge panel"),
        (["--model", STRONG, "--model", "simulated/judge/x", *STUDY], "simulated/judge/x cannot both choose"),
    ],
)
def test_bad_model_settings_are_refused_before_the_study_is_touched(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "tiny.jsonl").write_text(TINY_OUTCOMES)
    monkeypatch.chdir(tmp_path)
    assert main(["run", *args, "--out", str(tmp_path / "out")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out" / STUDY_FILE).exists() and not (tmp_path / "out" / "logs").exists()


def test_a_model_joins_a_study_only_when_asked_and_after_the_recorded_ones(tmp_path: Path) -> None:
    assert record(_config(tmp_path, STRONG)) is None
    created = json.loads((tmp_path / STUDY_FILE).read_text())["created"]

    with pytest.raises(StudyMismatch) as refused:
        check_study_models(_config(tmp_path, STRONG, NULL))
    assert f"--model: {STRONG} (recorded) -> {STRONG},{NULL} (this run)" in str(refused.value)
    assert "pass --add-models" in str(refused.value)

    note = record(_config(tmp_path, NULL, STRONG, add_models=True, model_args_for={NULL: {"seed": 4}}))
    assert note is not None and f"Added {NULL} to the study" in note
    document = json.loads((tmp_path / STUDY_FILE).read_text())
    assert document["settings"]["models"] == [STRONG, NULL]  # the recorded model stays first (it holds the controls)
    assert document["settings"]["model_args_for"] == {NULL: {"seed": 4}}
    assert document["created"] == created

    # The set in any order is the study; a part of it is named with --only-model.
    check_study_models(_config(tmp_path, NULL, STRONG, model_args_for={NULL: {"seed": 4}}))
    with pytest.raises(StudyMismatch, match="add --only-model MODEL for each part to run"):
        check_study_models(_config(tmp_path, NULL, model_args_for={NULL: {"seed": 4}}))
    with pytest.raises(StudyMismatch, match=rf"--arg-for {NULL}:seed: 4 \(recorded\) -> 5 \(this run\)"):
        check_study_models(_config(tmp_path, STRONG, NULL, model_args_for={NULL: {"seed": 5}}))
    # Adding a model takes nothing else: every other setting must be the recorded one.
    adding = _config(tmp_path, STRONG, NULL, STRONG + "2", add_models=True, model_args_for={NULL: {"seed": 4}})
    with pytest.raises(StudyMismatch, match=rf"--items: {DEMO.items} \(recorded\) -> {DEMO.items + 1} \(this run\)"):
        check_study_models(replace(adding, preset=DEMO.with_overrides(items=DEMO.items + 1)))


def test_a_study_file_of_one_model_v1_reads_as_that_model_and_its_folder_takes_no_other(tmp_path: Path) -> None:
    from utility_gap.pipeline.study_file import study_settings

    settings = study_settings(_config(tmp_path, STRONG))
    v1 = {"model": STRONG, **{k: v for k, v in settings.items() if k not in ("models", "model_args_for")}}
    (tmp_path / STUDY_FILE).write_text(json.dumps({"schema": SCHEMA_V1, "created": "then", "settings": v1}))
    (tmp_path / "logs" / "tasks").mkdir(parents=True)
    (tmp_path / "logs" / "tasks" / "old_essay.eval").write_bytes(b"")  # the one-model layout of earlier runs
    check_study_models(_config(tmp_path, STRONG))
    assert tasks_dir(tmp_path, STRONG) == tmp_path / "logs" / "tasks"  # resumed where its logs are
    with pytest.raises(StudyMismatch, match="was made before a study could hold several models"):
        check_study_models(_config(tmp_path, STRONG, NULL, add_models=True))


def _hold_in_child(folder: Path, seconds: float = 120) -> subprocess.Popen[str]:
    code = textwrap.dedent(
        f"""
        import time
        from utility_gap.pipeline.study_lock import LocalStudyLock
        lock = LocalStudyLock({str(folder)!r})
        lock.acquire()
        print("locked", flush=True)
        time.sleep({seconds})
        lock.release()
        time.sleep(120)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline().strip() == "locked"
    return child


def test_one_models_part_is_held_while_another_models_part_may_run(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    child = _hold_in_child(tasks_dir(tmp_path, STRONG))  # a run of the strong model's part, elsewhere
    try:
        with hold_parts(_config(tmp_path, STRONG, NULL, only_models=(NULL,))) as (parts, _):
            assert [p.model for p in parts] == [NULL] and not parts[0].controls
        with pytest.raises(StudyFolderBusy) as refused:
            with hold_parts(_config(tmp_path, STRONG, NULL)):
                pass
        assert f"--out {tmp_path} is in use by another utility-gap run (PID {child.pid}" in str(refused.value)
        assert f"That run holds model {STRONG}'s part of the study" in str(refused.value)
        # Through the command: refused before any call, naming the holder.
        (tmp_path / "tiny.jsonl").write_text(TINY_OUTCOMES)
        monkeypatch.chdir(tmp_path)
        calls = tmp_path / "calls"
        code = main(["run", "--model", STRONG, "--model", NULL, *STUDY, "-M", f"call_log={calls}",
                     "--only-model", STRONG, "--out", str(tmp_path)])
        assert code == 2 and f"(PID {child.pid}" in capsys.readouterr().err and not calls.exists()
        # `utility-gap elicit` writes a model's Stage 1, so it holds that model's part too.
        code = main(["elicit", "--model", STRONG, "-M", f"call_log={calls}", "--domain", "tiny.jsonl",
                     "--out", str(tmp_path)])
        assert code == 2 and f"(PID {child.pid}" in capsys.readouterr().err and not calls.exists()
    finally:
        child.kill()
        child.wait()


def test_a_run_waits_briefly_for_the_folder_lock_and_then_names_its_holder(tmp_path: Path) -> None:
    import time

    child = _hold_in_child(tmp_path, seconds=1.0)  # e.g. another machine recording the study file
    try:
        started = time.monotonic()
        with pytest.raises(StudyFolderBusy, match=f"PID {child.pid}"):
            with hold_parts(_config(tmp_path, STRONG), wait=0.2):
                pass
        with hold_parts(_config(tmp_path, STRONG), wait=30) as (parts, _):
            assert time.monotonic() - started >= 0.9 and [p.model for p in parts] == [STRONG]
    finally:
        child.kill()
        child.wait()


def test_a_labelled_simulated_model_is_its_own_model_with_its_own_draws() -> None:
    import asyncio

    from inspect_ai.model import get_model

    prompt = "Write a short essay about rivers."

    def answer(name: str) -> str:
        model = get_model(name, memoize=False, noise_sd=1.0)
        return asyncio.run(model.generate(prompt)).completion

    assert answer(STRONG) == answer(STRONG)  # seeded
    assert answer(STRONG) != answer(NULL)  # another label, other draws
    assert get_model(STRONG, memoize=False).api.role == "subject"  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="Unknown simulated behaviour 'boss'"):
        get_model("simulated/boss/x", memoize=False)


# -- the split into one bucket prefix (a real S3 server on loopback: tests/s3_server.py) ------


def test_two_processes_into_one_bucket_prefix_make_the_same_report_as_one_command(
    studies: Path, s3_server: str, tmp_path: Path
) -> None:
    import s3fs

    out = f"s3://{new_bucket(s3_server)}/studies/two-models"
    split = [_cli(studies, "run", "--model", STRONG, "--model", NULL, *PLANTED, *STUDY, "--only-model", model,
                  "--out", out) for model in (STRONG, NULL)]
    for process in split:
        assert "When every model's part of the study is done, write the report" in _finish(process)
    store = s3fs.S3FileSystem(skip_instance_cache=True)
    prefix = out[len("s3://"):]
    assert json.loads(store.cat_file(f"{prefix}/{STUDY_FILE}"))["settings"]["models"] in ([STRONG, NULL], [NULL, STRONG])
    assert not store.glob(f"{prefix}/**/.utility-gap.lock")  # both parts' locks were released
    assert main(["report", f"{out}/logs", "--out", str(tmp_path / "report")]) == 0
    rates = pd.read_csv(tmp_path / "report" / "tables" / "win_rates.csv")
    rates = rates.sort_values(["contrast", "model", "task"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(rates, _rates(studies, "together"))  # every pair once, the same pairs
    controls = pd.read_csv(tmp_path / "report" / "tables" / "judge_controls.csv")
    assert controls.set_index(["judge", "damage"]).loc[("panel", "all"), "n"] == 4
    assert "The study is not complete" not in (tmp_path / "report" / "report.md").read_text()
