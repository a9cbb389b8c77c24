"""The statistical conventions reach the report: flags, what the report says, and the CSVs (#10)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from scipy import stats
from synthetic_logs import SyntheticRun, write_synthetic_logs

from utility_gap.analysis.equivalence_power import exact_power, mde_exact
from utility_gap.pipeline.cli import main


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two models x two tasks of exhort_vs_neutral (planted +0.6), one null contrast."""
    root = tmp_path_factory.mktemp("conventions") / "logs"
    runs = [
        SyntheticRun(model=model, task=task, contrast=contrast, shift=shift, n_items=12, repeats=2, seed=seed)
        for seed, (model, task, contrast, shift) in enumerate(
            [(m, t, "exhort_vs_neutral", 0.6) for m in ("sim/m1", "sim/m2") for t in ("essay", "grant_abstract")]
            + [("sim/m1", "essay", "amount_high_vs_amount_low", 0.0)]
        )
    ]
    write_synthetic_logs(str(root), runs)
    return root


def report(logs: Path, out: Path, *flags: str) -> tuple[str, pd.DataFrame, pd.DataFrame]:
    assert main(["report", str(logs), "--out", str(out), *flags]) == 0
    return (
        (out / "report.md").read_text(),
        pd.read_csv(out / "tables" / "win_rates.csv"),
        pd.read_csv(out / "tables" / "aggregate_win_rates.csv"),
    )


def test_defaults_say_which_bootstrap_and_withhold_an_interval_over_two_levels(logs: Path, tmp_path: Path) -> None:
    text, table, aggregate = report(logs, tmp_path / "default")
    exhort = aggregate.set_index("contrast").loc["exhort_vs_neutral"]
    assert exhort.boot_method == "crossed" and exhort.boot_levels == "model=2, task=2"
    assert not exhort.boot_reliable and pd.isna(exhort.boot_ci_low)
    assert "The aggregate interval of exhort_vs_neutral is withheld: not reliable: only 2 model level(s), 2 task" in text
    assert "95% CI not reliable" in text and "1.000–1.000" not in text
    assert (table["alternative"] == "two-sided").all() and (table["family"] == "testable").all()
    assert "per-cell interval clopper-pearson; tests two-sided; Holm family testable; aggregate bootstrap auto" in text
    assert "is the cell bootstrap although models and tasks both vary" not in text
    net = pd.read_csv(tmp_path / "default" / "tables" / "net_scores.csv")
    assert (net["net_ci_method"] == "bootstrap").all()
    assert ((net["net_ci_low"] >= -1) & (net["net_ci_high"] <= 1)).all()


def test_published_conventions_as_flags(logs: Path, tmp_path: Path) -> None:
    text, table, aggregate = report(
        logs, tmp_path / "published", "--interval", "wilson", "--one-sided", "exhort_vs_neutral",
        "--family", "planned", "--bootstrap", "cell", "--bootstrap-replicates", "500", "--seed", "3",
        "--min-levels", "2", "--net-ci", "t",
    )
    exhort = table[table["contrast"] == "exhort_vs_neutral"]
    assert (exhort["alternative"] == "greater").all()
    for _, row in exhort.iterrows():
        assert row.p_value == pytest.approx(stats.binomtest(int(row.n_a), int(row.n), 0.5, "greater").pvalue)
        # power and MDE are the one-sided test's, not the two-sided one's
        assert row.mde_fw == pytest.approx(mde_exact(int(row.n), 0.05 / row.m, 0.8, "greater"), nan_ok=True)
        assert row.power_at_margin == pytest.approx(exact_power(int(row.n), 0.55, 0.05, "greater"))
    assert (table.loc[table["contrast"] == "amount_high_vs_amount_low", "alternative"] == "two-sided").all()
    assert (table["family"] == "planned").all()
    section = text.split("### exhort_vs_neutral")[1].split("###")[0]
    assert "fw_wilson_low" in section and "fw_ci_low" not in section  # the chosen interval is shown
    assert "One-sided test: the hypothesis is *exhort better than neutral*" in section
    assert "exhort better than neutral (one-sided, Holm p" in section
    finding = next(line for line in text.splitlines() if line.startswith("- **exhort_vs_neutral**"))
    assert "(one-sided exact tests, Holm over m = 4; neutral better than exhort was not tested)" in finding
    assert "neutral better than exhort in" not in finding
    row = aggregate.set_index("contrast").loc["exhort_vs_neutral"]
    assert row.boot_method == "cell" and row.boot_reliable  # 4 cells, min-levels lowered to 2
    assert "bootstrap (500 replicates, seed 3; method `cell`)" in text
    # the cell bootstrap was chosen although models and tasks both vary: the report says what it cannot claim
    cautions = text.split("## What the data cannot support")[1].split("\n## ")[0]
    assert ("The aggregate interval of exhort_vs_neutral is the cell bootstrap although models and tasks both vary "
            "(2 models x 2 tasks): it treats the 4 cells as independent") in cautions
    assert "amount_high_vs_amount_low is the cell bootstrap" not in cautions  # one model, one task
    # the pooled test follows the contrast's sidedness
    assert row.pooled_alternative == "greater"
    assert row.pooled_p_value == pytest.approx(stats.binomtest(int(row.n_a), int(row.n_a + row.n_b), 0.5, "greater").pvalue)
    net = pd.read_csv(tmp_path / "published" / "tables" / "net_scores.csv")
    assert (net["net_ci_method"] == "t").all()
    # the seed is honoured: same seed, same interval; another seed, another
    _, _, again = report(logs, tmp_path / "again", "--bootstrap", "cell", "--bootstrap-replicates", "500",
                         "--seed", "3", "--min-levels", "2")
    _, _, other = report(logs, tmp_path / "other", "--bootstrap", "cell", "--bootstrap-replicates", "500",
                         "--seed", "4", "--min-levels", "2")
    assert again["boot_ci_low"].equals(aggregate["boot_ci_low"])
    assert not other["boot_ci_low"].equals(aggregate["boot_ci_low"])


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--one-sided", "exhort_vs_neutral:up"], "must be 'greater'"),
        (["--bootstrap", "two-way"], "invalid choice: 'two-way'"),
        (["--bootstrap-replicates", "50"], "50 bootstrap replicates: use at least 100"),
        (["--min-levels", "1"], "min_levels=1"),
        (["--seed", "-1"], "seed=-1: the bootstrap seed must be a whole number >= 0"),
        (["--one-sided", "exhort_vs_nuetral"], "--one-sided names contrast(s) not in the data: exhort_vs_nuetral; "
         "the data hold amount_high_vs_amount_low, exhort_vs_neutral"),
    ],
)
def test_bad_convention_flags_are_named(logs: Path, tmp_path: Path, capsys: pytest.CaptureFixture, flags, message) -> None:
    try:
        status = main(["report", str(logs), "--out", str(tmp_path / "bad"), *flags])
    except SystemExit as ex:  # argparse's own refusals
        status = ex.code
    assert status == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()
