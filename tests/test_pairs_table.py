"""A judged-pairs table from elsewhere becomes the same frame and the same report (#10).

The round trip starts from real logs (the `essay` task and `judge_panel` scorer on the
simulated writer and judges): their judged-pairs frame is written out as a foreign table
with other column names and other winner labels, read back through a column mapping, and
must give the same frame, the same statistics and the same report tables.
"""

from __future__ import annotations

import json
import re
import runpy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from inspect_ai import eval
from test_report_e2e import judges, write_items

from utility_gap.analysis.frames import FrameError, read_frames
from utility_gap.analysis.pairs_table import ColumnMapping, read_pairs_table
from utility_gap.analysis.report import ReportSettings, write_report, write_table_report
from utility_gap.analysis.win_rates import win_rates
from utility_gap.evals.writing import essay
from utility_gap.pipeline.cli import main

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "docs" / "examples" / "judged_pairs.csv"
FOREIGN = {"model": "LLM", "task": "Task", "item_id": "Prompt", "contrast": "Comparison", "pair_key": "PairID",
           "winner": "Verdict", "flag_leak": "Leaked"}
MAPPING = ColumnMapping(
    model="LLM", task="Task", winner="Verdict", contrast="Comparison", item="Prompt", pair_id="PairID",
    flag_leak="Leaked", a_wins=("A",), b_wins=("B",), tie=("=",), unresolved=("n/a",),
)
COMPARED = ["model", "task", "item_id", "contrast", "arm_a", "arm_b", "winner", "flag_leak"]


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("table_roundtrip")
    (log,) = eval(
        essay,
        task_args={"contrast": "exhort_vs_neutral,amount_high_vs_amount_low",
                   "items_file": str(write_items(root / "items.jsonl")), "repeats": 2, "seed": 5},
        model="simulated/writer",
        model_args={"shifts": "exhort:0.8", "seed": 4},
        model_roles=judges(),
        log_dir=str(root / "logs"),
        display="none",
        max_samples=32,
    )
    assert log.status == "success", log.error
    return root / "logs"


def foreign_table(pairs: pd.DataFrame) -> pd.DataFrame:
    """The frame as another harness might write it: its own names and labels, four pairs unresolved."""
    table = pairs[list(FOREIGN)].rename(columns=FOREIGN)
    table["Verdict"] = pairs["winner"].map({"a": "A", "b": "B", "tie": "="})
    table["Leaked"] = np.where(pairs["flag_leak"], "yes", "no")
    extra = table.iloc[:4].copy()
    extra["PairID"] = [f"unresolved-{i}" for i in range(4)]
    extra["Verdict"] = ["n/a", "n/a", "n/a", None]
    return pd.concat([table, extra], ignore_index=True)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_frame_from_real_logs_round_trips_through_a_foreign_table(logs: Path, tmp_path: Path, suffix: str) -> None:
    pairs = read_frames(logs).pairs
    table = foreign_table(pairs)
    path = tmp_path / f"pairs{suffix}"
    table.to_csv(path, index=False) if suffix == ".csv" else table.to_parquet(path, index=False)
    read = read_pairs_table(path, MAPPING)
    assert read.n_rows == len(pairs) + 4 and len(read.pairs) == len(pairs)
    assert read.n_unresolved == 4 and read.unresolved_values == {"n/a": 3, "": 1}
    first = pairs.iloc[:4]
    expected = first.groupby(["contrast", "model", "task"]).size()
    assert read.unresolved.set_index(["contrast", "model", "task"])["n_unresolved"].to_dict() == expected.to_dict()
    back = read.pairs.set_index(read.pairs["sample_id"])
    original = pairs.set_index(pairs["pair_key"])
    pd.testing.assert_frame_equal(back.loc[original.index, COMPARED], original[COMPARED], check_names=False)
    numbers = ["n_a", "n_b", "n_tie", "n", "win_rate", "p_value", "fw_ci_low", "fw_ci_high", "p_holm"]
    pd.testing.assert_frame_equal(win_rates(read.pairs)[numbers], win_rates(pairs)[numbers])


def test_the_table_report_has_the_same_tables_as_the_log_report(logs: Path, tmp_path: Path) -> None:
    pairs = read_frames(logs).pairs
    foreign_table(pairs).to_csv(tmp_path / "pairs.csv", index=False)
    settings = ReportSettings(n_boot=300, min_levels=2)
    write_report(logs, tmp_path / "from_logs", settings)
    write_table_report(read_pairs_table(tmp_path / "pairs.csv", MAPPING), tmp_path / "from_table", settings)
    for name in ("win_rates", "aggregate_win_rates", "net_scores"):
        from_logs = pd.read_csv(tmp_path / "from_logs" / "tables" / f"{name}.csv")
        from_table = pd.read_csv(tmp_path / "from_table" / "tables" / f"{name}.csv")
        pd.testing.assert_frame_equal(from_table, from_logs, obj=name)
    text = (tmp_path / "from_table" / "report.md").read_text()
    assert "## What was analysed (a judged-pairs table)" in text and "## What was run" not in text
    assert "panel checks (missing answers, order consistency" in text and "are unavailable" in text
    assert "4 unresolved pair(s) per cell (winner value 'n/a' x 3, empty x 1)" in text
    assert "4 of" in text.split("## What the data cannot support")[1].split("##")[0]


def test_the_documented_example_runs_and_the_docs_quote_its_output(tmp_path: Path) -> None:
    docs = (REPO / "docs" / "analysis.md").read_text()
    command = re.search(r"utility-gap report --table docs/examples/judged_pairs\.csv(.*?)--out report_table", docs, re.S)
    assert command, "the worked example's command is in docs/analysis.md"
    argv = ["report", "--table", str(EXAMPLE), *command.group(1).replace("\\\n", " ").split(),
            "--out", str(tmp_path / "report_table")]
    argv = [a.strip("'") for a in argv]
    assert main(argv) == 0
    text = (tmp_path / "report_table" / "report.md").read_text()
    finding = next(line for line in text.splitlines() if line.startswith("- **exhort_vs_neutral**"))
    assert finding in docs  # the docs show the output this command gives
    assert "crossed bootstrap over model, task, pairs" in finding
    assert "The aggregate interval of exhort_vs_neutral resamples few levels (model=6, task=5)" in text
    assert "Judged pairs with a verdict: 232; unresolved (no verdict, counted and left out of every table): 8" in text
    # the example plan, as docs/analysis.md describes it
    plan = REPO / "docs" / "examples" / "analysis_plan.yaml"
    assert "--plan docs/examples/analysis_plan.yaml" in docs
    assert main([*argv[:-2], "--plan", str(plan), "--no-text-features", "--out", str(tmp_path / "planned")]) == 0
    text = (tmp_path / "planned" / "report.md").read_text()
    assert "The analysis follows the plan: no setting differs and the data hold what was planned" in text
    finding = next(line for line in text.splitlines() if line.startswith("- **exhort_vs_neutral**"))
    quoted = "(one-sided exact tests, Holm over m = 30; neutral better than exhort was not tested)"
    assert quoted in finding and quoted in docs
    win = pd.read_csv(tmp_path / "planned" / "tables" / "win_rates.csv")
    assert (win["alternative"] == "greater").all() and (win["family"] == "planned").all() and len(win) == 30


def test_the_example_table_is_made_by_its_script(tmp_path: Path) -> None:
    """docs/examples/make_judged_pairs.py reproduces the committed table, so its planted design is what the docs say."""
    script = runpy.run_path(str(REPO / "docs" / "examples" / "make_judged_pairs.py"))
    script["write"](tmp_path / "again.csv")
    assert (tmp_path / "again.csv").read_bytes() == EXAMPLE.read_bytes()
    assert script["judged_pairs"](seed=1) != script["judged_pairs"]()  # the seed matters: the check can fail
    docs = (REPO / "docs" / "analysis.md").read_text()
    assert f"win rate of {script['MEAN']} + a model effect (sd {script['SD_MODEL']})" in docs
    assert f"a task effect (sd {script['SD_TASK']}) and {script['TIES']:.0%} ties" in docs


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda t: t.assign(Verdict=t["Verdict"].replace({"A": "a"})), r"not mapped: 'a' \("),
        (lambda t: t.drop(columns="Task"), r"no column\(s\) for task='Task'"),
        (lambda t: t.assign(PairID="same"), "pair id column 'PairID' repeats 1 id"),
        (lambda t: t.assign(LLM=[None] + list(t["LLM"][1:])), r"column 'LLM' \(the model\) is empty in 1 row"),
        (lambda t: t.assign(Leaked="maybe"), "flag column 'Leaked' holds"),
    ],
)
def test_bad_tables_are_named(logs: Path, tmp_path: Path, change, message: str) -> None:
    path = tmp_path / "bad.csv"
    change(foreign_table(read_frames(logs).pairs)).to_csv(path, index=False)
    with pytest.raises(FrameError, match=message):
        read_pairs_table(path, MAPPING)


def test_mapping_errors_and_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(FrameError, match="listed under both 'a_wins' and 'tie'"):
        ColumnMapping(model="m", task="t", winner="w", a_wins=("x",), tie=("x",))
    with pytest.raises(FrameError, match="say which column holds winner"):
        ColumnMapping.from_dict({"model": "m", "task": "t"})
    with pytest.raises(FrameError, match=r"unknown key\(s\) \['judge'\]"):
        ColumnMapping.from_dict({"model": "m", "task": "t", "winner": "w", "judge": "j"})
    out = tmp_path / "out"
    assert main(["report", "--out", str(out)]) == 2
    assert "give either LOGDIR" in capsys.readouterr().err
    assert main(["report", str(tmp_path), "--map", "model=m", "--out", str(out)]) == 2
    assert "--map describe a --table input" in capsys.readouterr().err
    assert main(["report", "--table", str(EXAMPLE), "--map", "model=llm,task=writing_task,winner=preferred",
                 "--out", str(out)]) == 2
    assert "not mapped: 'first' (130 rows), 'second' (80 rows)" in capsys.readouterr().err
    assert not out.exists()
    # the mapping as a file, with a flag on top
    mapping = {"model": "llm", "task": "writing_task", "winner": "preferred", "contrast": "comparison",
               "a_wins": ["first"], "b_wins": ["second"], "tie": ["same"]}
    (tmp_path / "mapping.json").write_text(json.dumps(mapping))
    assert main(["report", "--table", str(EXAMPLE), "--mapping", str(tmp_path / "mapping.json"),
                 "--unresolved", "??", "--out", str(out)]) == 0
    assert "unresolved (no verdict, counted and left out of every table): 8" in (out / "report.md").read_text()
