"""The analysis plan: read and validated, followed by the report, and every departure marked (#10)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from planted_crossed import planted_crossed_studies
from scipy import stats

from utility_gap.analysis.analysis_plan import PlanError, parse_plan, planned_cells, read_plan
from utility_gap.analysis.pairs_table import ColumnMapping, read_pairs_table
from utility_gap.analysis.report import settings_from_plan, write_table_report
from utility_gap.pipeline.cli import main

PLAN = """\
# fixed before any rating was seen
title: Incentive study
alpha: 0.05
margin: 0.05
interval: wilson
family: planned
models: [m0, m1, m2, m3, m4, m5, m6]   # m6 was planned but never run
tasks: [t0, t1, t2, t3, t4]
contrasts:
  exhort_vs_neutral: {sided: greater}
  utility_high_vs_utility_low: {margin: 0.03}
bootstrap: {method: auto, replicates: 400, seed: 7}
net_ci: bootstrap
exclusions: [refusal]
"""


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6 models x 5 tasks, exhort (planted 0.6) and a utility null, plus an unplanned contrast."""
    rng = np.random.default_rng(12)
    parts = []
    for contrast, mean in (("exhort_vs_neutral", 0.6), ("utility_high_vs_utility_low", 0.5), ("amount_high_vs_amount_low", 0.5)):
        parts.append(planted_crossed_studies(rng, 1, 6, 5, 30, mean=mean, sd_model=0.03, sd_task=0.03)
                     .drop(columns="study").assign(contrast=contrast))
    frame = pd.concat(parts, ignore_index=True)
    frame["refused"] = np.where(rng.random(len(frame)) < 0.02, "yes", "no")
    path = tmp_path_factory.mktemp("plan") / "pairs.csv"
    frame.to_csv(path, index=False)
    return path


MAPPING = ColumnMapping(model="model", task="task", winner="winner", contrast="contrast", flag_refusal="refused")


def write_plan(tmp_path: Path, text: str = PLAN, name: str = "plan.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_plan_is_read_with_defaults_for_what_it_leaves_out(tmp_path: Path) -> None:
    plan = read_plan(write_plan(tmp_path))
    assert plan.title == "Incentive study" and plan.interval == "wilson" and plan.family == "planned"
    assert [(c.name, c.sided, c.margin) for c in plan.contrasts] == [
        ("exhort_vs_neutral", "greater", None), ("utility_high_vs_utility_low", "two-sided", 0.03)]
    assert (plan.n_boot, plan.seed, plan.min_levels, plan.power) == (400, 7, 5, 0.8)  # min_levels, power: defaults
    assert plan.exclusions == ("refusal",) and len(plan.sha256) == 64 and plan.text.startswith("# fixed before")
    as_json = read_plan(write_plan(tmp_path, json.dumps({"contrasts": ["exhort_vs_neutral"], "exclusions": []}),
                                   "plan.json"))
    assert as_json.contrasts[0].sided == "two-sided" and as_json.exclusions == () and as_json.family == "testable"
    cells = planned_cells(plan, pd.DataFrame({"contrast": ["x"]}))
    assert len(cells) == 2 * 7 * 5 and set(cells.columns) == {"contrast", "model", "task"}


@pytest.mark.parametrize(
    "text, message",
    [
        ("alpha: 0.05\nbonferroni: true\n", r"top level: unknown key\(s\) \['bonferroni'\]"),
        ("contrasts:\n  exhort_vs_neutral: {sided: up}\n", "contrasts.exhort_vs_neutral.sided: 'up' is not one of"),
        ("contrasts:\n  exhort_vs_neutral: {side: greater}\n", r"contrasts.exhort_vs_neutral: unknown key\(s\) \['side'\]"),
        ("alpha: 2\n", r"alpha: 2 is outside \(0, 1\)"),
        ("bootstrap: {replicates: 50}\n", "bootstrap.replicates: 50 must be a whole number >= 100"),
        ("exclusions: [leak, typo]\n", "exclusions: 'typo' is not one of"),
        ("family: planned\nmodels: [a]\n", "a planned family needs both the planned models and the planned tasks"),
        ("- just\n- a list\n", "must hold a mapping"),
        ("alpha: [0.05\n", "is not valid YAML"),
    ],
)
def test_bad_plans_name_the_file_and_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = write_plan(tmp_path, text)
    with pytest.raises(PlanError, match=message) as info:
        read_plan(path)
    assert str(path) in str(info.value)


def test_the_report_follows_the_plan_and_says_so(table: Path, tmp_path: Path) -> None:
    plan = read_plan(write_plan(tmp_path))
    pairs = read_pairs_table(table, MAPPING)
    write_table_report(pairs, tmp_path / "report", settings_from_plan(plan))
    text = (tmp_path / "report" / "report.md").read_text()
    win = pd.read_csv(tmp_path / "report" / "tables" / "win_rates.csv")
    exhort = win[win["contrast"] == "exhort_vs_neutral"]
    # sidedness, planned family (7 x 5 planned cells, m6 empty), per-contrast margin, Wilson shown
    assert (exhort["alternative"] == "greater").all() and len(exhort) == 35 and (exhort["m"] == 35).all()
    decisive = exhort[exhort["n"] > 0]
    for _, row in decisive.head(5).iterrows():
        assert row.p_value == pytest.approx(stats.binomtest(int(row.n_a), int(row.n), 0.5, "greater").pvalue)
    assert (win.loc[win["contrast"] == "utility_high_vs_utility_low", "margin"] == 0.03).all()
    assert (win.loc[win["contrast"] == "amount_high_vs_amount_low", "margin"] == 0.05).all()
    assert "fw_wilson_low" in text.split("### exhort_vs_neutral")[1].split("###")[0]
    # refusal-flagged pairs were excluded, as planned
    flagged = int((pd.read_csv(table)["refused"] == "yes").sum())
    assert win["n_total"].sum() == len(pairs.pairs) - flagged
    # the plan printed as written, and a table of plan vs used
    assert "## Analysis plan" in text and "# fixed before any rating was seen" in text
    comparison = pd.read_csv(tmp_path / "report" / "tables" / "analysis_plan.csv").set_index("item")
    assert not comparison.loc[["alpha", "per-cell interval", "bootstrap seed", "sidedness"], "differs"].any()
    assert comparison.loc["models", "differs"] and comparison.loc["contrasts", "differs"]
    cautions = text.split("## What the data cannot support")[1].split("\n## ")[0]
    assert "Planned model(s) with no judged pair: m6." in cautions
    # m6's five planned cells per planned contrast are rows that say why they are empty, apart from small cells
    empty = win[win["n_total"] == 0]
    assert len(empty) == 10 and set(empty["model"]) == {"m6"}
    assert (empty["conclusion"] == "no judged pair: a planned cell, counted in m and in Holm").all()
    assert "10 planned cell(s) have no judged pair (never run, or every pair excluded)" in cautions
    assert "fewer than 10 decisive pairs" not in cautions  # 30 pairs per run cell; the empty ones are not "small"
    finding = next(line for line in text.splitlines() if line.startswith("- **exhort_vs_neutral**"))
    assert "(one-sided exact tests, Holm over m = 35; neutral better than exhort was not tested)" in finding
    assert "Contrast(s) not in the plan, so exploratory: amount_high_vs_amount_low." in cautions
    assert "departs from the plan" not in cautions
    finding = next(line for line in text.splitlines() if line.startswith("- **amount_high_vs_amount_low**"))
    assert finding.endswith("*Not in the analysis plan: exploratory.*")


def test_flags_that_override_the_plan_are_marked(table: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    plan = write_plan(tmp_path)
    argv = ["report", "--table", str(table), "--map", "model=model,task=task,winner=winner,contrast=contrast,"
            "flag_refusal=refused", "--plan", str(plan), "--out", str(tmp_path / "report")]
    assert main([*argv, "--seed", "3", "--interval", "clopper-pearson", "--one-sided", "exhort_vs_neutral:less"]) == 0
    text = (tmp_path / "report" / "report.md").read_text()
    comparison = pd.read_csv(tmp_path / "report" / "tables" / "analysis_plan.csv").set_index("item")
    assert comparison.loc[["bootstrap seed", "per-cell interval", "sidedness"], "differs"].all()
    assert comparison.loc["bootstrap seed", "used"] == 3 or comparison.loc["bootstrap seed", "used"] == "3"
    assert not comparison.loc[["alpha", "bootstrap replicates", "Holm family"], "differs"].any()
    assert ("The analysis departs from the plan in 3 setting(s): sidedness (plan exhort_vs_neutral: greater, used "
            "exhort_vs_neutral: less); per-cell interval (plan wilson, used clopper-pearson); bootstrap seed "
            "(plan 7, used 3).") in text
    win = pd.read_csv(tmp_path / "report" / "tables" / "win_rates.csv")
    assert (win.loc[win["contrast"] == "exhort_vs_neutral", "alternative"] == "less").all()
    # a bad plan stops the command before anything is written
    bad = write_plan(tmp_path, "alpha: 0.05\nholm: yes\n", "bad.yaml")
    assert main([*argv[:-2], "--plan", str(bad), "--out", str(tmp_path / "never")]) == 2
    assert "unknown key(s) ['holm']" in capsys.readouterr().err and not (tmp_path / "never").exists()


def test_a_plan_works_on_a_log_directory_too(tmp_path: Path) -> None:
    from synthetic_logs import SyntheticRun, write_synthetic_logs

    write_synthetic_logs(str(tmp_path / "logs"), [SyntheticRun(shift=0.8, n_items=12, seed=1)])
    plan = write_plan(tmp_path, "contrasts:\n  exhort_vs_neutral: {sided: greater}\nbootstrap: {min_levels: 2}\n")
    assert main(["report", str(tmp_path / "logs"), "--plan", str(plan), "--out", str(tmp_path / "report")]) == 0
    text = (tmp_path / "report" / "report.md").read_text()
    assert "## What was run" in text and "## Analysis plan" in text
    assert "The analysis follows the plan" in text
    assert "exhort better than neutral (one-sided, Holm p" in text


def test_the_schema_in_the_docs_is_a_valid_plan() -> None:
    """The YAML block under "Schema" in docs/analysis.md parses, with the defaults it claims."""
    import re

    import yaml

    docs = (Path(__file__).resolve().parents[1] / "docs" / "analysis.md").read_text()
    block = re.search(r"Schema \(every key optional.*?```yaml\n(.*?)```", docs, re.S)
    assert block, "docs/analysis.md shows the plan schema"
    plan = parse_plan(yaml.safe_load(block.group(1)))
    assert (plan.alpha, plan.margin, plan.power, plan.interval, plan.family) == (0.05, 0.05, 0.8, "clopper-pearson", "testable")
    assert (plan.n_boot, plan.seed, plan.min_levels, plan.net_ci) == (2000, 0, 5, "bootstrap")
    assert [(c.name, c.sided, c.margin) for c in plan.contrasts] == [
        ("exhort_vs_neutral", "greater", None), ("utility_high_vs_utility_low", "two-sided", 0.03)]


def test_parse_plan_accepts_a_dict_without_a_file() -> None:
    plan = parse_plan({"contrasts": {"exhort_vs_neutral": None}, "margin": 0.1})
    assert plan.path is None and plan.contrasts[0].sided == "two-sided" and plan.margin == 0.1
    with pytest.raises(PlanError, match="Analysis plan: margin: 0.7 is outside"):
        parse_plan({"margin": 0.7})
