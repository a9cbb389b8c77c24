"""The report folder renders, links resolve, tables are readable, and limits are stated plainly."""

from __future__ import annotations

import argparse
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from utility_gap.analysis import figures
from utility_gap.analysis.frames import FrameError, read_frames
from utility_gap.analysis.report import ReportError, ReportSettings, write_report
from utility_gap.analysis.report.writer import MARKER_FILE
from synthetic_logs import SyntheticRun, planted_logs, write_synthetic_logs, write_unrelated_log
from utility_gap.analysis.utilities_file import UtilitiesFile, write_utilities
from utility_gap.pipeline import cmd_report
from utility_gap.pipeline.cli import main
from utility_gap.pipeline.errors import CommandError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def cli(argv: list[str]) -> int:
    """`utility-gap report ...` through the real command (user errors are exit status 2)."""
    return main(["report", *argv])


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report")
    planted_logs(str(root / "logs"))
    assert cli([str(root / "logs"), "--out", str(root / "out")]) == 0
    return root / "out"


def test_every_link_resolves_every_csv_reads_and_figures_are_pngs(report: Path) -> None:
    text = (report / "report.md").read_text()
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    links = re.findall(r"(?<!!)\[[^\]]*\]\(([^)]+)\)", text)
    assert len(images) >= 4  # two lollipops, side by side, dose-response
    for target in images + links:
        assert not Path(target).is_absolute()
        assert (report / target).is_file(), target
    for image in images:
        data = (report / image).read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 5_000, image
        assert (report / image).with_suffix(".svg").stat().st_size > 1_000
    csvs = [link for link in links if link.endswith(".csv")]
    on_disk = {p.relative_to(report).as_posix() for p in (report / "tables").glob("*.csv")}
    assert set(csvs) == on_disk  # every table written is linked, every link is written
    for csv in csvs:
        assert len(pd.read_csv(report / csv).columns) > 0
    for heading in ("## What was run", "## Exclusions", "## Win rates", "## Judges", "## Dose-response",
                    "## Translation: chrF", "## Rubric scores"):
        assert heading in text


def test_planted_effect_is_significant_and_planted_null_is_not(report: Path) -> None:
    table = pd.read_csv(report / "tables" / "win_rates.csv")
    exhort = table[table["contrast"] == "exhort_vs_neutral"]
    null = table[table["contrast"] == "amount_high_vs_amount_low"]
    assert len(exhort) == 3 and len(null) == 2
    assert (exhort["win_rate"] > 0.5).all() and exhort["significant_holm"].all()
    assert not null["significant_holm"].any()
    text = (report / "report.md").read_text()
    assert re.search(r"\*\*exhort_vs_neutral\*\*.*exhort significantly better than neutral in 3", text)
    assert re.search(r"\*\*amount_high_vs_amount_low\*\*.*amount_high significantly better than amount_low in 0", text)
    assert "exhort better than neutral (two-sided, Holm p" in text  # significance names its direction


def test_settings_exclusions_and_judges_come_from_the_logs(report: Path) -> None:
    text = (report / "report.md").read_text()
    frames = read_frames(report.parent / "logs")
    assert f"Judged pairs read: {len(frames.pairs)}" in text
    for judge in ("simulated/judge-1", "simulated/judge-2", "simulated/judge-3"):
        assert judge in text
    exclusions = pd.read_csv(report / "tables" / "exclusions.csv").set_index("flag")
    for flag in ("empty", "truncated", "refusal", "leak"):
        assert exclusions.loc[flag, "n_flagged"] == frames.pairs[f"flag_{flag}"].sum()
    flagged = frames.pairs[["flag_empty", "flag_truncated", "flag_refusal", "flag_leak"]].any(axis=1).sum()
    assert flagged > 0 and exclusions.loc["any (excluded)", "n_flagged"] == flagged
    win = pd.read_csv(report / "tables" / "win_rates.csv")
    assert win["n_total"].sum() == len(frames.pairs) - flagged
    logs = pd.read_csv(report / "tables" / "logs.csv")
    assert len(logs) == 6 and logs["task_args"].str.contains("repeats=2").all()
    assert "The panel was not validated on judge controls" in text
    chrf = pd.read_csv(report / "tables" / "chrf_agreement.csv")
    assert chrf["n"].sum() > 0 and (chrf["panel_agrees_with_chrf"] > 0.6).all()  # chrF planted to track quality


def test_keeping_flagged_pairs_changes_the_denominator(tmp_path: Path, report: Path) -> None:
    assert cli([str(report.parent / "logs"), "--out", str(tmp_path / "all"), "--exclude-flags", "none"]) == 0
    kept_all = pd.read_csv(tmp_path / "all" / "tables" / "win_rates.csv")["n_total"].sum()
    excluded = pd.read_csv(report / "tables" / "win_rates.csv")["n_total"].sum()
    assert kept_all == len(read_frames(report.parent / "logs").pairs) > excluded


def test_a_judge_that_always_answers_the_same_and_tiny_n_are_stated(tmp_path: Path) -> None:
    write_synthetic_logs(str(tmp_path / "logs"), [SyntheticRun(n_items=4, always="1", seed=9)])
    write_report(tmp_path / "logs", tmp_path / "out")
    text = (tmp_path / "out" / "report.md").read_text()
    cautions = text.split("## What the data cannot support")[1].split("## What was run")[0]
    assert "answered '1' in every presentation" in cautions
    assert "Every analysed pair is a tie" in cautions
    assert "fewer than 10 decisive pairs" in cautions
    assert "cannot say: only 0 decisive pair(s)" in text


def test_rerun_replaces_the_report_atomically_and_a_failed_run_keeps_the_old_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_synthetic_logs(str(tmp_path / "logs"), [SyntheticRun(n_items=12, shift=0.8, seed=10)])
    write_synthetic_logs(str(tmp_path / "logs" / "more"), [SyntheticRun(n_items=12, contrast="amount_high_vs_amount_low", seed=9)])
    out = tmp_path / "out"
    write_report(tmp_path / "logs", out, ReportSettings(margin=0.05))
    assert "margin ±0.05" in (out / "report.md").read_text()
    stale = out / "tables" / "win_rates__amount_high_vs_amount_low.csv"
    assert stale.is_file()
    shutil.rmtree(tmp_path / "logs" / "more")
    write_report(tmp_path / "logs", out, ReportSettings(margin=0.1))
    assert "margin ±0.1" in (out / "report.md").read_text()
    assert not stale.exists()  # a table of the earlier report that this one does not write
    assert sorted(p.name for p in tmp_path.iterdir()) == ["logs", "out"]

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("figure failed")

    monkeypatch.setattr(figures, "win_rate_lollipop", broken)
    with pytest.raises(RuntimeError, match="figure failed"):
        write_report(tmp_path / "logs", out, ReportSettings(margin=0.2))
    assert "margin ±0.1" in (out / "report.md").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["logs", "out"]


def test_bad_input_is_a_clear_error_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    with pytest.raises(CommandError, match="does not exist"):
        cmd_report.run(argparse.Namespace(logdir=str(tmp_path / "missing"), out=str(out), exclude_flags=(),
                                          margin=0.05, alpha=0.05, utilities=None, scorer=None))
    assert cli([str(tmp_path / "missing"), "--out", str(out)]) == 2
    assert "missing' does not exist" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert cli([str(tmp_path / "empty"), "--out", str(out)]) == 2
    assert "No Inspect logs" in capsys.readouterr().err
    write_unrelated_log(str(tmp_path / "empty" / "other" / "2026-01-01T00-00-00+00-00_x_y.eval"))
    assert cli([str(tmp_path / "empty"), "--out", str(out)]) == 2
    assert "some_other_suite/arithmetic" in capsys.readouterr().err
    with pytest.raises(FrameError, match="No paired-writing logs"):
        write_report(tmp_path / "empty", out)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]  # nothing written beside it
    with pytest.raises(SystemExit):
        cli([str(tmp_path / "empty"), "--out", str(out), "--exclude-flags", "leak,typo"])
    assert "unknown flag(s) typo" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli([str(tmp_path / "empty"), "--out", str(out), "--margin", "0.7"])


def test_refuses_to_replace_a_directory_that_is_not_a_report(tmp_path: Path) -> None:
    write_synthetic_logs(str(tmp_path / "logs"), [SyntheticRun(n_items=4, seed=11)])
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(ReportError, match="refusing to replace"):
        write_report(tmp_path / "logs", precious)
    assert (precious / "notes.txt").read_text() == "keep me"


def test_replaces_only_a_folder_the_report_made(tmp_path: Path) -> None:
    """A report.md is not enough: the folder must carry the report's marker and nothing it did not write."""
    write_synthetic_logs(str(tmp_path / "logs"), [SyntheticRun(n_items=4, seed=11)])
    results = tmp_path / "results"
    results.mkdir()
    (results / "report.md").write_text("# my own notes")
    (results / "analysis.ipynb").write_text("{}")
    with pytest.raises(ReportError, match="did not make.*analysis.ipynb"):
        write_report(tmp_path / "logs", results)
    assert sorted(p.name for p in results.iterdir()) == ["analysis.ipynb", "report.md"]

    out = tmp_path / "out"
    write_report(tmp_path / "logs", out)
    assert (out / MARKER_FILE).is_file()
    write_report(tmp_path / "logs", out)  # its own folder: replaced
    (out / "figures" / "my-annotated.png").write_bytes(b"mine")
    with pytest.raises(ReportError, match="figures/my-annotated.png"):
        write_report(tmp_path / "logs", out)
    assert (out / "figures" / "my-annotated.png").read_bytes() == b"mine"
    assert (out / "report.md").is_file()


def test_utilities_files_give_elicitation_diagnostics_with_reasons(tmp_path: Path) -> None:
    write_synthetic_logs(str(tmp_path / "logs"), [SyntheticRun(n_items=6, seed=12)])
    metrics = {
        "train_accuracy": 0.52, "train_log_loss": 0.69, "heldout_accuracy": 0.49, "heldout_log_loss": 0.70,
        "intransitive_triad_share": 0.3, "position_bias": 0.9, "n_pairs": 40, "n_heldout_pairs": 10,
        "n_choices": 400, "n_refusal": 3, "n_unparseable": 5, "unparseable_policy": "skip",
    }
    outcomes = [{"id": f"demo/o{i}", "text": f"Outcome {i}.", "mean": float(i - 2), "variance": 1.0, "n_comparisons": 4}
                for i in range(5)]
    reason = "held-out accuracy 0.49 is not above chance"
    write_utilities(tmp_path / "utilities" / "a.json", UtilitiesFile(
        model="simulated/chooser", domain="demo", outcomes=outcomes, metrics=metrics, informative=False,
        uninformative_reasons=[reason]))
    ranking = [dict(o, mean=float(4 - i)) for i, o in enumerate(reversed(outcomes))]
    write_utilities(tmp_path / "utilities" / "b.json", UtilitiesFile(
        model="simulated/chooser", domain="demo", outcomes=ranking, metrics=metrics, informative=True,
        method="ranking"))
    (tmp_path / "utilities" / "notes.json").write_text("{}")
    write_report(tmp_path / "logs", tmp_path / "out", ReportSettings(utilities_dir=tmp_path / "utilities"))
    text = (tmp_path / "out" / "report.md").read_text()
    diagnostics = pd.read_csv(tmp_path / "out" / "tables" / "elicitation_diagnostics.csv")
    assert sorted(diagnostics["file"]) == ["a.json", "b.json"]
    assert reason in text and "uninformative" in text
    assert "`notes.json`" in text  # a JSON that is not a utilities file is named, not silently ignored
    assert re.search(r"Spearman 1\.00 between the Thurstonian means and the ranking scores over 5 outcomes", text)
    assert (tmp_path / "out" / "figures" / "utility_methods__simulated-chooser__demo__ranking.png").stat().st_size > 5_000


def test_partial_logs_and_other_tasks_are_reported_with_counts(tmp_path: Path) -> None:
    write_synthetic_logs(
        str(tmp_path / "logs"),
        [SyntheticRun(n_items=20, seed=20), SyntheticRun(n_items=10, status="cancelled", completed_share=0.7, seed=21,
                                                       task="grant_abstract")],
    )
    write_unrelated_log(str(tmp_path / "logs" / "2026-01-01T00-00-00+00-00_sums_q.eval"))
    write_report(tmp_path / "logs", tmp_path / "out")
    text = (tmp_path / "out" / "report.md").read_text()
    assert "status cancelled, 7 of 10 samples present, 7 judged pairs read" in text
    assert "1 log(s) are partial" in text
    skipped = pd.read_csv(tmp_path / "out" / "tables" / "skipped_logs.csv")
    assert list(skipped["task"]) == ["some_other_suite/arithmetic"]
    logs = pd.read_csv(tmp_path / "out" / "tables" / "logs.csv").set_index("task")
    assert logs.loc["utility_gap/grant_abstract", "partial"] and not logs.loc["utility_gap/essay", "partial"]
