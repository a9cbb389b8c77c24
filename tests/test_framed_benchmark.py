"""utility_gap/framed_benchmark: any Inspect task under incentive arms, paired by sample, scored by its own scorer.

The model is the simulated subject answering from an answer key with planted accuracy:
P(correct) = Phi(probit(accuracy) + accuracy_shifts[arm] + accuracy_slope * u(entity)).
Planted effects must be found; planted nulls must not be.
"""

from __future__ import annotations

import importlib.util
import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai.dataset import Sample
from inspect_ai.log import list_eval_logs, read_eval_log
from inspect_ai.model import ChatMessageAssistant, ChatMessageSystem, ChatMessageUser, ContentText, get_model
from scipy.stats import norm, spearmanr

from utility_gap.analysis import framed_scores as fs
from utility_gap.evals.framed_benchmark import FramingError, _frame_input, framed_benchmark
from utility_gap.pipeline.cli import main
from utility_gap.solvers.benchmark_framing import benchmark_framing, frame_task_text, identify_benchmark_framing

FIXTURES = Path(__file__).parent / "framed_fixtures"
TINY_QA = f"{FIXTURES / 'tiny_qa.py'}@tiny_qa"
ENTITY_NAMES = ["Alder Trust", "Birch Fund", "Cedar Relief", "Dogwood Aid", "Elm Society", "Fir Foundation"]


def arithmetic_items(tmp_path: Path, n: int, seed: int = 0) -> Path:
    """n distinct QA items (JSONL with input/target: an Inspect dataset and the simulated answer key)."""
    rng = random.Random(seed)
    pairs = set()
    while len(pairs) < n:
        pairs.add((rng.randint(10, 99), rng.randint(10, 99)))
    path = tmp_path / "arith.jsonl"
    path.write_text("".join(json.dumps({"id": f"a{i:03d}", "input": f"What is {a} plus {b}? Reply with the number only.",
                                        "target": str(a + b)}) + "\n" for i, (a, b) in enumerate(sorted(pairs))))
    return path


def entity_set(tmp_path: Path) -> Path:
    path = tmp_path / "ents.jsonl"
    path.write_text("".join(json.dumps({"id": f"ents/e{i}", "text": f"{name} receives a donation of $1,000.",
                                        "entity": name, "quantity": 1000, "kind": "donation"}) + "\n"
                            for i, name in enumerate(ENTITY_NAMES)))
    return path


def run(task: Any, tmp_path: Path, **model_args: Any) -> Path:
    log_dir = tmp_path / "logs"
    model = get_model("simulated/subject", memoize=False, **model_args)
    [log] = inspect_eval(task, model=model, log_dir=str(log_dir), display="none", max_connections=32)
    assert log.status == "success", log.error
    return log_dir


def row(table: Any, arm_a: str, arm_b: str) -> dict[str, Any]:
    found = table[(table["arm_a"] == arm_a) & (table["arm_b"] == arm_b)]
    assert len(found) == 1, table[["arm_a", "arm_b"]]
    return found.iloc[0].to_dict()


# --- framing and pairing ----------------------------------------------------------------------


def test_framing_goes_in_the_last_user_turn_and_reads_back() -> None:
    framing = benchmark_framing("entity", entity="Oxfam")
    chat = Sample(id=1, input=[ChatMessageSystem(content="Be brief."), ChatMessageUser(content="Example: 1+1?"),
                               ChatMessageAssistant(content="2"),
                               ChatMessageUser(content=[ContentText(text="What is 2+3?")])], target="5")
    framed = _frame_input(chat, framing, "here")
    assert [m.role for m in framed] == ["system", "user", "assistant", "user"]
    assert framed[1].content == "Example: 1+1?" and framed[0].content == "Be brief."  # earlier turns untouched
    back = identify_benchmark_framing(framed[3].text)
    assert back is not None and back.arm == "entity" and back.entity == "Oxfam" and back.task == "What is 2+3?"
    assert _frame_input(chat, None, "here") is chat.input  # bare: nothing added
    assert identify_benchmark_framing("What is 2+3?") is None


def test_copies_pair_across_arms_and_keep_the_task(tmp_path: Path) -> None:
    task = framed_benchmark(task=TINY_QA, arms="bare,neutral,entity", entities=str(entity_set(tmp_path)))
    samples = list(task.dataset)
    assert len(samples) == 12 * (2 + len(ENTITY_NAMES))
    first = samples[: 2 + len(ENTITY_NAMES)]  # the copies of one sample sit together, so --limit keeps pairs
    assert {s.metadata["framing_base_id"] for s in first} == {"q01"}
    assert [s.id for s in first[:3]] == ["q01|bare", "q01|neutral", f"q01|entity={ENTITY_NAMES[0]}"]
    assert first[0].input == "What is 17 plus 25? Reply with the number only."
    assert all(s.target == "42" for s in first)
    assert task.scorer and task.metadata["framed_task"] == TINY_QA
    assert task.name == "utility_gap/framed_benchmark"  # the registered name of an installed task


@pytest.mark.parametrize(
    "spec, args, message",
    [
        ("inspect_evals/no_such_task", {}, "no Inspect task is registered under this name"),
        ("gsm8k", {}, "named package/task"),
        (f"{FIXTURES / 'tiny_qa.py'}@system_only", {}, "no user message to frame (sample id(s) s1)"),
        (f"{FIXTURES / 'tiny_qa.py'}@letter_graded", {}, "scorer 'letter_grade' returned 'A'"),
        (str(FIXTURES / "tiny_qa.py"), {}, "defines 4 tasks"),
        (TINY_QA, {"task_args": {"items": "x"}}, "takes no argument 'items'"),
        (TINY_QA, {"arms": "neutral,bogus"}, "unknown arm(s) bogus"),
        (TINY_QA, {"arms": "neutral"}, "at least two different arms"),
        (TINY_QA, {"arms": "utility_high,utility_low"}, "need the model's utilities file"),
        ("utility_gap/framed_benchmark", {}, "cannot frame itself"),
        ("", {}, "name the task to frame"),
        (TINY_QA, {"arms": "neutral,entity", "entities": "planets"}, "-T entities=planets: Unknown outcome domain"),
    ],
)
def test_bad_input_fails_before_any_call(spec: str, args: dict[str, Any], message: str) -> None:
    with pytest.raises(FramingError) as caught:  # raised while the task is built: no model exists yet
        framed_benchmark(task=spec, **args)
    assert message in str(caught.value), caught.value


def run_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`inspect eval utility_gap/framed_benchmark ...` from a temp folder, as a user runs it."""
    inspect = Path(sys.executable).with_name("inspect")
    return subprocess.run([str(inspect), "eval", "utility_gap/framed_benchmark", "--model", "simulated/subject",
                           "--display", "none", "--log-dir", str(tmp_path / "logs"), *args],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)


def test_unknown_task_on_the_command_line_fails_before_any_call(tmp_path: Path) -> None:
    calls = tmp_path / "calls.log"
    result = run_cli(tmp_path, "-T", "task=inspect_evals/no_such_task", "-M", f"call_log={calls}")
    assert result.returncode != 0
    said = result.stdout + result.stderr
    # one paragraph naming the argument, not a traceback
    assert "utility_gap/framed_benchmark: -T task=inspect_evals/no_such_task: no Inspect task is registered" in said
    assert "Traceback" not in said and not calls.exists()
    scorer = run_cli(tmp_path, "-T", f"task={FIXTURES / 'tiny_qa.py'}@letter_graded", "-M", f"call_log={calls}")
    assert scorer.returncode != 0 and "scorer 'letter_grade' returned 'A'" in scorer.stderr
    assert "Traceback" not in scorer.stderr and not calls.exists() and not (tmp_path / "logs").exists()


def test_non_numeric_values_in_logs_are_named_not_coerced() -> None:
    assert fs.numeric_score("C") == 1.0 and fs.numeric_score("P") == 0.5 and fs.numeric_score(True) == 1.0
    assert fs.numeric_score("0.25") == 0.25 and fs.numeric_score("yes") == 1.0
    assert fs.numeric_score("A") is None and fs.numeric_score([1]) is None and fs.numeric_score(float("nan")) is None
    assert fs.non_numeric_values({"acc": "C", "grade": "B"}) == ["grade='B'"]


# --- planted truth ------------------------------------------------------------------------------


def test_planted_arm_effect_is_found_and_a_null_is_not(tmp_path: Path) -> None:
    items = arithmetic_items(tmp_path, 40)
    task_args = {"path": str(items)}
    planted = run(framed_benchmark(task=TINY_QA, task_args=task_args, arms="neutral,exhort,sandbag"), tmp_path / "p",
                  answers=str(items), accuracy=0.5, accuracy_shifts="exhort:1.5,sandbag:-1.5", seed=1)
    table = fs.arm_comparisons(fs.framed_frame(planted))
    exhort = row(table, "exhort", "neutral")
    assert exhort["n_pairs"] == 40 and exhort["binary"] and exhort["test"] == "exact McNemar"
    # planted: P(correct) 0.933 under exhort vs 0.5 under neutral, a difference of 0.433
    assert exhort["significant"] and exhort["p_holm"] < 0.01
    assert exhort["diff_ci_low"] < 0.433 < exhort["diff_ci_high"] and exhort["diff"] > 0.2
    sandbag = row(table, "sandbag", "neutral")
    assert sandbag["significant"] and sandbag["diff"] < -0.2  # the negative control moves the other way
    assert {"tost_p", "power_at_margin", "mde"} <= set(table.columns)
    # `utility-gap report` on a folder of framed logs alone: the framed section, its tables and figure.
    assert main(["report", str(planted), "--out", str(tmp_path / "report")]) == 0
    reported = pd.read_csv(tmp_path / "report" / "tables" / "framed_comparisons.csv")
    assert row(reported, "exhort", "neutral")["p_holm"] == pytest.approx(exhort["p_holm"])
    text = (tmp_path / "report" / "report.md").read_text()
    assert "## Framed benchmarks" in text and "## Judges" not in text
    assert list((tmp_path / "report" / "figures").glob("framed_arms__*.png"))

    # A planted null is "not found" at alpha 0.05 for 95% of seeds; this seed is one of them (seed 2 gives
    # 4 vs 13 discordant pairs, p = 0.049, by chance: the provider's arms do not differ, see the next test).
    null = run(framed_benchmark(task=TINY_QA, task_args=task_args, arms="neutral,exhort"), tmp_path / "n",
               answers=str(items), accuracy=0.5, seed=3)
    none = row(fs.arm_comparisons(fs.framed_frame(null)), "exhort", "neutral")
    assert not none["significant"] and none["p_value"] > 0.05


def test_planted_probabilities_depend_on_the_arm_only_through_the_shifts() -> None:
    question = "What is 17 plus 25? Reply with the number only."
    plain = get_model("simulated/subject", memoize=False, answers=str(FIXTURES / "tiny_qa.jsonl"), accuracy=0.5).api
    shifted = get_model("simulated/subject", memoize=False, answers=str(FIXTURES / "tiny_qa.jsonl"), accuracy=0.5,
                        accuracy_shifts="exhort:1.5").api
    for arm in ("bare", "neutral", "exhort", "sandbag", "moral_bad"):
        prompt = frame_task_text(arm, question, outcome="x", entity="y")
        assert plain.correct_probability(prompt) == pytest.approx(0.5)
        expected = 0.9331928 if arm == "exhort" else 0.5
        assert shifted.correct_probability(prompt) == pytest.approx(expected, abs=1e-6)
    assert plain.correct_probability("What is 1 plus 1?") is None  # no known answer: not a keyed task


def test_planted_entity_dependence_is_found_and_a_null_is_not(tmp_path: Path) -> None:
    items = arithmetic_items(tmp_path, 24, seed=3)
    ents = str(entity_set(tmp_path))
    task = framed_benchmark(task=TINY_QA, task_args={"path": str(items)}, arms="neutral,entity", entities=ents)
    logs = run(task, tmp_path / "p", answers=str(items), accuracy=0.6, accuracy_slope=1.5, entity_set=ents, seed=4)
    frame = fs.framed_frame(logs)
    per_entity, omnibus = fs.entity_scores(frame)
    assert list(per_entity["n_samples"]) == [24] * len(ENTITY_NAMES)
    assert omnibus.iloc[0]["test"] == "Cochran's Q" and omnibus.iloc[0]["p_value"] < 0.01
    planted = get_model("simulated/subject", memoize=False, entity_set=ents).api
    utility = [planted.entity_utility(e) for e in per_entity["entity"]]
    assert spearmanr(utility, per_entity["mean_score"]).statistic >= 0.7
    versus = fs.entity_vs_reference(frame)
    assert len(versus) == len(ENTITY_NAMES) and set(versus["arm_b"]) == {"neutral"}

    null = run(framed_benchmark(task=TINY_QA, task_args={"path": str(items)}, arms="neutral,entity", entities=ents),
               tmp_path / "n", answers=str(items), accuracy=0.6, entity_set=ents, seed=5)
    _, omnibus = fs.entity_scores(fs.framed_frame(null))
    assert omnibus.iloc[0]["p_value"] > 0.05


def test_frames_the_suites_own_reading_task(tmp_path: Path) -> None:
    """A registered task by name (the suite's reading task, scorer `reading_answer`), run as a user would."""
    ents = tmp_path / "two.jsonl"
    ents.write_text("".join(json.dumps({"id": f"two/e{i}", "text": f"{n} gets $1,000.", "entity": n, "quantity": None,
                                        "kind": "k"}) + "\n" for i, n in enumerate(ENTITY_NAMES[:2])))
    result = run_cli(tmp_path, "-T", "task=utility_gap/entity_reading_task", "-T", f'task_args={{"entities": "{ents}", "n_items": 20}}',
                     "-T", "arms=neutral,exhort", "-M", "accuracy=0.5", "-M", "accuracy_shifts=exhort:1.2", "-M", "seed=6")
    assert result.returncode == 0, result.stdout + result.stderr
    frame = fs.framed_frame(tmp_path / "logs")
    assert len(frame) == 2 * 2 * 20 and set(frame["score"]) == {"reading_answer"} and (frame["status"] == "scored").all()
    assert set(frame["task"]) == {"utility_gap/entity_reading_task"}
    exhort = row(fs.arm_comparisons(frame), "exhort", "neutral")
    assert exhort["n_pairs"] == 40 and exhort["significant"] and exhort["diff"] > 0.2


def planted_utilities_file(tmp_path: Path, model: str = "simulated/subject") -> Path:
    """A utilities file holding the simulated subject's own planted utilities over the demo outcomes."""
    from utility_gap.analysis.utilities_file import UtilitiesFile, write_utilities
    from utility_gap.evals.outcomes import load_outcomes

    subject = get_model("simulated/subject", memoize=False).api
    outcomes = [{"id": o.id, "text": o.text, "mean": subject.utility(o.text), "variance": 1.0, "n_comparisons": 10}
                for o in load_outcomes("demo")]
    metrics = {"train_accuracy": 1.0, "train_log_loss": 0.0, "heldout_accuracy": 1.0, "heldout_log_loss": 0.0,
               "intransitive_triad_share": 0.0, "position_bias": 0.5, "n_pairs": 0, "n_heldout_pairs": 0,
               "n_choices": 0, "n_refusal": 0, "n_unparseable": 0, "unparseable_policy": "skip"}  # planted, not fitted
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "utilities.json"
    write_utilities(path, UtilitiesFile(model=model, domain="demo", outcomes=outcomes, metrics=metrics, informative=True))
    return path


def test_planted_utility_arms_are_found_and_a_null_is_not(tmp_path: Path) -> None:
    """utility_high / utility_low from a utilities file: the subject's accuracy follows the promised outcome's utility."""
    # The file must be the tested model's own: another model's stops every sample before any model call.
    other = planted_utilities_file(tmp_path / "other", model="simulated/chooser")
    calls = tmp_path / "calls.log"
    [refused] = inspect_eval(framed_benchmark(task=TINY_QA, arms="utility_high,utility_low", utilities=str(other)),
                             model=get_model("simulated/subject", memoize=False, call_log=str(calls)),
                             log_dir=str(tmp_path / "refused"), display="none")
    assert refused.status == "error" and "for model 'simulated/chooser'" in refused.error.message
    assert not calls.exists()
    items, uf = arithmetic_items(tmp_path, 20, seed=5), planted_utilities_file(tmp_path)
    task = framed_benchmark(task=TINY_QA, task_args={"path": str(items)}, arms="neutral,utility_high,utility_low",
                            utilities=str(uf), draws=2)
    samples = list(task.dataset)
    high = [s.metadata["framing_utility"] for s in samples if s.metadata["framing_arm"] == "utility_high"]
    low = [s.metadata["framing_utility"] for s in samples if s.metadata["framing_arm"] == "utility_low"]
    assert len(high) == len(low) == 40 and min(high) > max(low)  # top third against bottom third, two draws

    logs = run(task, tmp_path / "p", answers=str(items), accuracy=0.5, accuracy_slope=0.8, seed=7)
    frame = fs.framed_frame(logs)
    assert frame.groupby("arm")["utility"].mean()["utility_high"] > 0 > frame.groupby("arm")["utility"].mean()["utility_low"]
    # planted: P(correct) = Phi(0.8 u(promised outcome)); its mean over the copies actually asked
    planted = {arm: float(np.mean([norm.cdf(0.8 * s.metadata["framing_utility"]) for s in samples
                                   if s.metadata["framing_arm"] == arm])) for arm in ("utility_high", "utility_low")}
    versus = row(fs.arm_comparisons(frame), "utility_high", "utility_low")
    assert versus["n_pairs"] == 40 and versus["test"] == "exact McNemar"  # paired by (sample, draw)
    assert versus["significant"] and versus["p_holm"] < 0.001
    assert versus["diff_ci_low"] < planted["utility_high"] - planted["utility_low"] < versus["diff_ci_high"]
    # against neutral, a utility arm uses draw 0 only: one pair per sample
    assert row(fs.arm_comparisons(frame), "utility_high", "neutral")["n_pairs"] == 20

    null = fs.framed_frame(run(task, tmp_path / "n", answers=str(items), accuracy=0.5, seed=7))
    none = row(fs.arm_comparisons(null), "utility_high", "utility_low")
    assert not none["significant"] and none["p_value"] > 0.05


def test_scores_averaged_over_epochs_get_the_paired_permutation_test(tmp_path: Path) -> None:
    """Non-binary paired values (a binary scorer over 3 epochs): permutation test, planted effect and null."""
    items = arithmetic_items(tmp_path, 16, seed=8)
    task = framed_benchmark(task=TINY_QA, task_args={"path": str(items)}, arms="neutral,exhort")
    model = dict(answers=str(items), accuracy=0.5)

    def compared(folder: str, **extra: Any) -> dict[str, Any]:
        log_dir = tmp_path / folder
        [log] = inspect_eval(task, model=get_model("simulated/subject", memoize=False, **model, **extra),
                             epochs=3, log_dir=str(log_dir), display="none", max_connections=32)
        assert log.status == "success", log.error
        return row(fs.arm_comparisons(fs.framed_frame(log_dir)), "exhort", "neutral")

    planted = compared("p", accuracy_shifts="exhort:1.5", seed=9)
    assert planted["n_pairs"] == 16 and not planted["binary"] and planted["test"] == "paired permutation"
    # planted difference: Phi(1.5) - 0.5 = 0.433 in mean accuracy over the three epochs
    assert planted["significant"] and planted["diff_ci_low"] < 0.433 < planted["diff_ci_high"]
    null = compared("n", seed=9)
    assert null["test"] == "paired permutation" and not null["significant"] and null["p_value"] > 0.05


def test_the_permutation_test_is_exact_for_few_pairs() -> None:
    """Five differences of the same sign: 2 of the 2^5 sign flips are as extreme, so p = 1/16 (two-sided)."""
    a, b = np.array([1.0, 2 / 3, 1.0, 1 / 3, 2 / 3]), np.array([0.0, 1 / 3, 1 / 3, 0.0, 0.0])
    result = fs.compare_arms(a, b, binary=False)
    assert result["test"] == "paired permutation" and result["p_value"] == pytest.approx(1 / 16)
    assert result["p_sign"] == pytest.approx(1 / 16) and (result["n_a"], result["n_b"]) == (5, 0)
    mixed = fs.compare_arms(np.array([1.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0]), binary=True)
    assert mixed["test"] == "exact McNemar" and mixed["p_value"] == pytest.approx(1.0)  # 2 vs 1 discordant


def test_a_solver_template_keeps_the_framing_in_the_user_turn(tmp_path: Path) -> None:
    """A task whose solver wraps the prompt in a template (gsm8k's prompt_template): the framing sits in its {prompt}."""
    spec = importlib.util.spec_from_file_location("tiny_qa_fixture", FIXTURES / "tiny_qa.py")
    assert spec and spec.loader
    fixture = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fixture)
    questions = {r["id"]: r["input"] for r in map(json.loads, (FIXTURES / "tiny_qa.jsonl").read_text().splitlines())}

    task = framed_benchmark(task=f"{FIXTURES / 'tiny_qa.py'}@templated_qa", arms="neutral,exhort", n_samples=2)
    [log] = [read_eval_log(info) for info in list_eval_logs(str(run(task, tmp_path)))]
    intro, outro = fixture.TEMPLATE.split("{prompt}")
    assert len(log.samples or []) == 4
    for sample in log.samples or []:
        users = [m.text for m in sample.messages if m.role == "user"]
        assert len(users) == 1  # the template rewrote the one user turn; nothing was added beside it
        assert users[0].startswith(intro) and users[0].endswith(outro)
        found = identify_benchmark_framing(users[0][len(intro): -len(outro)])
        assert found is not None and found.arm == sample.metadata["framing_arm"]
        assert found.task == questions[sample.metadata["framing_base_id"]]


def test_a_framed_log_that_did_not_finish_is_named_in_the_report(tmp_path: Path) -> None:
    from inspect_ai.log import write_eval_log

    logs = run(framed_benchmark(task=TINY_QA, arms="neutral,exhort"), tmp_path, answers=str(FIXTURES / "tiny_qa.jsonl"))
    [info] = list_eval_logs(str(logs))
    log = read_eval_log(info)
    log.status, log.samples = "cancelled", (log.samples or [])[:10]  # as Ctrl-C leaves it: 10 of 24 samples
    assert log.results is not None
    log.results.completed_samples = 10
    write_eval_log(log, info.name)
    assert main(["report", str(logs), "--out", str(tmp_path / "report")]) == 0
    text = (tmp_path / "report" / "report.md").read_text()
    assert "status cancelled, 10 of 24 samples finished" in text and "Framed benchmarks: 1 log(s) did not finish" in text
    assert row(pd.read_csv(tmp_path / "report" / "tables" / "framed_comparisons.csv"), "exhort", "neutral")["n_pairs"] == 5
