"""Stage 2 end to end: planted arm effects are recovered, planted nulls are not found.

The model under test is `simulated/writer` with planted shifts; the panel is three
`simulated/judge` roles running the real `judge_panel` scorer.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from inspect_ai import eval
from inspect_ai.log import EvalLog
from inspect_ai.model import ChatMessage, GenerateConfig, ModelOutput, ModelUsage, get_model
from scipy.stats import binomtest

from utility_gap.evals.writing import essay, grant_abstract, incident_postmortem, translation, writing_task
from utility_gap.solvers.framing_text import identify_framing

ITEM_TOPICS = ["street trees", "night buses", "public libraries", "school gardens", "bike lanes", "quiet zones"]


def write_items(path: Path, task: str = "essay", n: int = len(ITEM_TOPICS)) -> Path:
    lines = []
    for topic in ITEM_TOPICS[:n]:
        record = {
            "task": task,
            "id": f"{task}/{topic.replace(' ', '-')}",
            "prompt": f"Write 150-200 words making the case for more {topic} in a mid-sized town.",
            "axis": "Which text makes the case more convincingly and clearly?",
            "criteria": ["argument", "clarity"],
            "length_target": {"min_words": 150, "max_words": 200},
        }
        if task == "translation":
            record["prompt"] = f"Translate into English: Nuestra ciudad necesita más {topic}."
            record["reference"] = f"Our town needs more {topic}."
            record["source_language"] = "Spanish"
        lines.append(json.dumps(record))
    path.write_text("\n".join(lines) + "\n")
    return path


def judges(n: int = 3) -> dict:
    return {f"judge{i}": get_model("simulated/judge", memoize=False, seed=100 + i, judge_sd=0.5) for i in range(1, n + 1)}


def run(task_fn, task_args: dict, model_args: dict, tmp_path: Path, model: str = "simulated/writer", roles: dict | None = None) -> EvalLog:
    (log,) = eval(
        task_fn,
        task_args=task_args,
        model=model,
        model_args=model_args,
        model_roles=judges() if roles is None else roles,
        log_dir=str(tmp_path / "logs"),
        display="none",
        max_samples=64,
    )
    assert log.status == "success", log.error
    return log


def wins_by_contrast(log: EvalLog) -> dict[str, tuple[int, int, int]]:
    """contrast -> (a wins, b wins, ties)."""
    counts: dict[str, list[int]] = {}
    for sample in log.samples or []:
        winner = sample.scores["judge_panel"].answer
        row = counts.setdefault(sample.metadata["contrast"], [0, 0, 0])
        row[{"a": 0, "b": 1, "tie": 2}[winner]] += 1
    return {k: tuple(v) for k, v in counts.items()}


def test_planted_arm_effects_are_recovered_and_planted_null_is_not(tmp_path: Path) -> None:
    items = write_items(tmp_path / "items.jsonl")
    log = run(
        essay,
        {
            "contrast": "exhort_vs_neutral,sandbag_vs_neutral,amount_high_vs_amount_low",
            "items_file": str(items),
            "repeats": 4,
            "seed": 7,
        },
        {"shifts": "exhort:0.8,sandbag:-0.8", "seed": 5},
        tmp_path,
    )
    counts = wins_by_contrast(log)
    assert set(counts) == {"exhort_vs_neutral", "sandbag_vs_neutral", "amount_high_vs_amount_low"}
    a, b, _ = counts["exhort_vs_neutral"]
    assert a / (a + b) > 0.7 and binomtest(a, a + b, 0.5, alternative="greater").pvalue < 0.001
    a, b, _ = counts["sandbag_vs_neutral"]
    assert a / (a + b) < 0.3 and binomtest(a, a + b, 0.5, alternative="less").pvalue < 0.001
    a, b, _ = counts["amount_high_vs_amount_low"]
    assert abs(a / (a + b) - 0.5) < 0.25 and binomtest(a, a + b, 0.5).pvalue > 0.05


def test_sample_metadata_pair_record_and_viewer_messages(tmp_path: Path) -> None:
    items = write_items(tmp_path / "items.jsonl", n=3)
    log = run(essay, {"contrast": "exhort_vs_neutral", "items_file": str(items), "repeats": 4, "seed": 3}, {"leak_rate": 0.3}, tmp_path)
    samples = log.samples or []
    assert len(samples) == 12
    assert "essay-street-trees__exhort_vs_neutral__d0__r0" in {s.id for s in samples}
    first_shown = []
    leaks = 0
    for sample in samples:
        meta = sample.metadata
        assert (meta["arm_a"], meta["arm_b"], meta["draw"]) == ("exhort", "neutral", 0)
        assert meta["outcome_a"] is None and meta["outcome_b"] is None and meta["utility_diff"] is None
        assert meta["domain"] is None and meta["task"] == "essay" and meta["criteria"] == ["argument", "clarity"]
        pair = meta["pair"]
        for side, arm in (("a", "exhort"), ("b", "neutral")):
            record = pair[side]
            assert record["arm"] == arm
            assert identify_framing(record["prompt"]).arm == arm
            assert identify_framing(record["prompt"]).task == meta["task_prompt"]
            assert record["stop_reason"] == "stop" and record["output"]
            assert set(record["flags"]) == {"empty", "truncated", "refusal", "leak"}
            leaks += record["flags"]["leak"]
        score = sample.scores["judge_panel"]
        assert score.metadata["first_shown"] == pair["first_shown"]
        assert score.metadata["flags"] == {"a": pair["a"]["flags"], "b": pair["b"]["flags"]}
        first_shown.append(pair["first_shown"])
        # both exchanges are visible: prompt A, output A, prompt B, output B
        assert [m.role for m in sample.messages] == ["user", "assistant", "user", "assistant"]
        assert sample.messages[0].text == pair["a"]["prompt"] and sample.messages[3].text == pair["b"]["output"]
        infos = [sample.attachments.get(str(e.data).removeprefix("attachment://"), e.data) for e in sample.events if e.event == "info"]
        assert any("Side A" in str(d) and "exhort" in str(d) for d in infos)
        assert any("Side B" in str(d) and "neutral" in str(d) for d in infos)
    assert set(first_shown) == {"a", "b"}
    assert leaks > 0  # planted leak_rate=0.3 over 24 outputs


def test_a_leak_on_the_bare_side_is_flagged_like_any_side(tmp_path: Path) -> None:
    """A planted leak on every output: the bare side of a pair must be flagged too."""
    items = write_items(tmp_path / "items.jsonl", n=3)
    log = run(essay, {"contrast": "exhort_vs_bare,neutral_vs_bare", "items_file": str(items)},
              {"leak_rate": 1.0}, tmp_path, roles=judges(1))
    samples = log.samples or []
    assert len(samples) == 6
    for sample in samples:
        pair = sample.metadata["pair"]
        assert pair["b"]["arm"] == "bare"
        assert pair["a"]["flags"]["leak"] and pair["b"]["flags"]["leak"], sample.id
        assert "competition" in pair["b"]["leak_terms"]
        assert sample.scores["judge_panel"].metadata["flags"]["b"]["leak"]


def test_first_shown_and_samples_are_reproducible(tmp_path: Path) -> None:
    items = write_items(tmp_path / "items.jsonl", n=2)
    args = {"contrast": "exhort_vs_neutral", "items_file": str(items), "repeats": 5, "seed": 11}
    one = run(essay, args, {}, tmp_path / "one", roles=judges(1))
    two = run(essay, args, {}, tmp_path / "two", roles=judges(1))
    shown = lambda log: {s.id: s.metadata["pair"]["first_shown"] for s in log.samples}  # noqa: E731
    assert shown(one) == shown(two)
    other = run(essay, {**args, "seed": 12}, {}, tmp_path / "three", roles=judges(1))
    assert shown(other) != shown(one)


def _plain_writer(input: list[ChatMessage], tools, tool_choice, config: GenerateConfig) -> ModelOutput:
    """A scripted 'real' writer: plain prose, no quality marker; refuses and truncates on cue."""
    framing = identify_framing(input[-1].text)
    usage = ModelUsage(input_tokens=50, output_tokens=40, total_tokens=90)
    if framing.arm == "sandbag":
        output = ModelOutput.from_content("mockllm/model", "I'm sorry, but I can't help with that.")
    elif "night buses" in framing.task:
        output = ModelOutput.from_content("mockllm/model", "Night buses carry shift workers home and", stop_reason="max_tokens")
    else:
        output = ModelOutput.from_content("mockllm/model", f"A clear case for {framing.task[-40:]}\n\nIt pays for itself.")
    output.usage = usage
    return output


def _plain_judge(input: list[ChatMessage], tools, tool_choice, config: GenerateConfig) -> ModelOutput:
    output = ModelOutput.from_content("mockllm/model", "VERDICT: 1\nREASON: The first is clearer.")
    output.usage = ModelUsage(input_tokens=50, output_tokens=10, total_tokens=60)
    return output


@pytest.mark.parametrize("task_fn, task_name", [(essay, "essay"), (grant_abstract, "grant_abstract"), (incident_postmortem, "incident_postmortem"), (translation, "translation")])
def test_each_task_runs_on_plain_text_models_and_flags_them(tmp_path: Path, task_fn, task_name: str) -> None:
    items = write_items(tmp_path / "items.jsonl", task=task_name, n=2)
    judge = get_model("mockllm/model", memoize=False, custom_outputs=_plain_judge)
    log = run(
        task_fn,
        {"contrast": "sandbag_vs_neutral", "items_file": str(items), "max_tokens": 64},
        {"custom_outputs": _plain_writer},
        tmp_path,
        model="mockllm/model",
        roles={"judge": judge},
    )
    samples = log.samples or []
    assert len(samples) == 2 and all(s.metadata["task"] == task_name for s in samples)
    for sample in samples:
        pair = sample.metadata["pair"]
        assert pair["a"]["flags"]["refusal"] and not pair["b"]["flags"]["refusal"]
        night = "night buses" in sample.metadata["task_prompt"]
        assert pair["b"]["flags"]["truncated"] == night
        assert pair["b"]["stop_reason"] == ("max_tokens" if night else "stop")
        # a judge that always says "1" prefers whichever side was shown first: the order flip makes it a tie
        assert sample.scores["judge_panel"].answer == "tie"
        if task_name == "translation":
            assert sample.metadata["reference"] and sample.scores["judge_panel"].metadata["chrf"] is not None
    model_events = [e for e in samples[0].events if e.event == "model" and e.model == "mockllm/model"]
    assert any(e.config.max_tokens == 64 for e in model_events)


def test_shipped_items_build_and_parameters_are_checked() -> None:
    task = writing_task("grant_abstract", contrast="exhort_vs_neutral,role_vs_bare", items=2, repeats=3)
    ids = [s.id for s in task.dataset]
    assert len(ids) == 2 * 2 * 3 == len(set(ids))
    assert all(s.input == s.metadata["task_prompt"] for s in task.dataset)
    full = writing_task("essay", items="all", scorer="both")
    assert len(full.dataset) >= 1 and len(full.scorer) == 3  # the panel, the rubric and output_features
    for bad, flag in [({"draws": 0}, "draws"), ({"repeats": "x"}, "repeats"), ({"items": 10_000}, "items"), ({"scorer": "vote"}, "scorer"), ({"max_tokens": -5}, "max_tokens"), ({"allow_model_mismatch": "maybe"}, "allow_model_mismatch")]:
        with pytest.raises(ValueError, match=f"-T {flag}="):
            writing_task("essay", **bad)
    with pytest.raises(ValueError, match="exhort_vs_nobody"):
        writing_task("essay", contrast="exhort_vs_nobody")
