"""The report's text-feature, length-control, effort-dose and judge length-bias sections.

Synthetic logs give the structure cheaply (and a log with a lost output); a small real
eval with a padding-only arm and one length-loving judge shows the judge diagnostics see
that judge and not its fair neighbour, from real Inspect logs end to end.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from inspect_ai import eval
from inspect_ai.log import write_eval_log
from inspect_ai.model import get_model

from synthetic_logs import SyntheticRun, synthetic_log
from utility_gap.analysis.report import ReportSettings, write_report
from utility_gap.analysis.text_features import FEATURES
from utility_gap.evals.writing import essay
from utility_gap.pipeline.cli import main


def body(report: Path) -> str:
    return (report / "report.md").read_text()


def cautions(report: Path) -> str:
    return body(report).split("## What the data cannot support")[1].split("## What was run")[0]


def findings(report: Path) -> str:
    return body(report).split("## Findings")[1].split("## What the data cannot support")[0]


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("text-report")
    logs = root / "logs"
    logs.mkdir()
    runs = [("exhort_vs_neutral", 0.8, 1), ("exhort_mid_vs_neutral", 0.4, 2), ("sandbag_vs_neutral", -0.8, 3)]
    for contrast, shift, seed in runs:
        log = synthetic_log(SyntheticRun(contrast=contrast, shift=shift, n_items=15, repeats=2, seed=seed))
        if contrast == "exhort_mid_vs_neutral":
            del log.samples[0].metadata["pair"]["b"]  # one output lost from the log
        write_eval_log(log, str(logs / f"{contrast}.eval"))
    report = root / "report"
    write_report(logs, report, ReportSettings(exclude_flags=()))
    return report


def test_sections_tables_and_figures_are_written(synthetic: Path) -> None:
    text = body(synthetic)
    for heading in ("## Text features and length control", "### What changed in the text",
                    "### Length-controlled win rates", "## Effort dose"):
        assert heading in text
    for name in ("text_features_by_arm", "feature_deltas_summary", "feature_deltas_by_contrast", "feature_deltas_by_cell",
                 "length_controlled_by_contrast", "length_controlled_by_cell", "effort_dose", "effort_dose_trend"):
        assert (synthetic / "tables" / f"{name}.csv").is_file(), name
        assert f"tables/{name}.csv" in text
    for name in ("feature_deltas", "length_control", "effort_dose"):
        assert (synthetic / "figures" / f"{name}.png").stat().st_size > 1000
        assert (synthetic / "figures" / f"{name}.svg").is_file()
    deltas = pd.read_csv(synthetic / "tables" / "feature_deltas_by_contrast.csv")
    assert set(deltas["feature"]) == set(FEATURES) and deltas["contrast"].nunique() == 3
    lc = pd.read_csv(synthetic / "tables" / "length_controlled_by_contrast.csv").set_index("contrast")
    assert lc.loc["sandbag_vs_neutral", "raw_win_rate"] < 0.5
    assert lc["verdict"].notna().all()
    for contrast in lc.index:  # every contrast gets a sentence saying what length control did to it
        assert f"- **{contrast}**: raw" in text
        line = next(x for x in findings(synthetic).splitlines() if x.startswith(f"- **{contrast}**"))
        assert "pooled over cells" in line and line.endswith(f": {lc.loc[contrast, 'verdict']}.")
    dose = pd.read_csv(synthetic / "tables" / "effort_dose.csv")
    assert list(dose["arm"]) == ["exhort_mid", "exhort"] and list(dose["dose"]) == [1, 2]


def test_a_lost_output_is_counted_not_dropped(synthetic: Path) -> None:
    arms = pd.read_csv(synthetic / "tables" / "text_features_by_arm.csv").set_index(["contrast", "arm"])
    assert arms.loc[("exhort_mid_vs_neutral", "neutral"), "missing"] == 1
    assert arms.loc[("exhort_mid_vs_neutral", "neutral"), "outputs"] == 30
    assert arms.loc[("exhort_vs_neutral", "neutral"), "missing"] == 0
    assert "1 of 180 outputs of the analysed pairs are not in the logs" in cautions(synthetic)
    lc = pd.read_csv(synthetic / "tables" / "length_controlled_by_contrast.csv").set_index("contrast")
    decisive_mid = lc.loc["exhort_mid_vs_neutral"]
    assert decisive_mid["n_no_text"] <= 1 and decisive_mid["n_pairs"] == 30
    words = pd.read_csv(synthetic / "tables" / "feature_deltas_by_contrast.csv")
    words = words[(words["contrast"] == "exhort_mid_vs_neutral") & (words["feature"] == "words")].iloc[0]
    assert (words["n"], words["n_missing"]) == (29, 1)


def test_judge_diagnostics_gain_length_bias_columns(synthetic: Path) -> None:
    diag = pd.read_csv(synthetic / "tables" / "judge_diagnostics.csv")
    for column in ("longer_pairs", "longer_win_rate", "longer_p", "equal_rubric_pairs", "longer_win_rate_equal_rubric"):
        assert column in diag.columns
    assert (diag["longer_pairs"] > 0).all()


def test_text_features_can_be_switched_off(synthetic: Path, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    write_eval_log(synthetic_log(SyntheticRun(n_items=12, seed=5)), str(logs / "a.eval"))
    out = tmp_path / "report"
    assert main(["report", str(logs), "--out", str(out), "--no-text-features"]) == 0
    assert "Text features were not computed (`--no-text-features`)" in body(out)
    assert not (out / "tables" / "length_controlled_by_contrast.csv").exists()
    assert "longer_win_rate" not in pd.read_csv(out / "tables" / "judge_diagnostics.csv").columns


def test_other_feature_differences_can_join_the_length_control(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    log = synthetic_log(SyntheticRun(n_items=30, shift=0.3, seed=8))
    for index, sample in enumerate(log.samples):  # lengths that vary, so that length can be controlled
        sample.metadata["pair"]["a"]["output"] += " One more sentence." * (index % 4)
    write_eval_log(log, str(logs / "a.eval"))
    out = tmp_path / "report"
    assert main(["report", str(logs), "--out", str(out), "--length-covariates", "mattr,fk_grade"]) == 0
    lc = pd.read_csv(out / "tables" / "length_controlled_by_contrast.csv").iloc[0]
    assert lc["covariates"] == "length_diff,mattr_diff,fk_grade_diff" and lc["n"] >= 10
    assert "means at equal length and equal mattr, fk_grade" in body(out)
    with pytest.raises(SystemExit) as stop:
        main(["report", str(logs), "--out", str(tmp_path / "other"), "--length-covariates", "mattr,verbosity"])
    assert stop.value.code == 2
    assert "--length-covariates: unknown text feature(s) verbosity" in capsys.readouterr().err
    assert not (tmp_path / "other").exists()


def test_real_logs_show_which_judge_likes_length(tmp_path: Path) -> None:
    """A padding-only arm (no quality), one judge with a planted length bias, one fair judge."""
    logs = tmp_path / "logs"
    judges = {
        "judge1": get_model("simulated/judge", memoize=False, seed=1, judge_sd=0.5, length_bias=1.0),
        "judge2": get_model("simulated/judge", memoize=False, seed=2, judge_sd=0.5),
    }
    (log,) = eval(
        essay,
        task_args={"contrast": "exhort_mid_vs_neutral", "items": 12, "repeats": 2, "seed": 1},
        model="simulated/writer",
        model_args={"length_shifts": "exhort_mid:4", "length_sd": 1.5, "seed": 3},
        model_roles=judges,
        log_dir=str(logs),
        display="none",
        max_samples=32,
    )
    assert log.status == "success", log.error
    out = tmp_path / "report"
    write_report(logs, out)
    diag = pd.read_csv(out / "tables" / "judge_diagnostics.csv").set_index("judge")
    biased, fair = diag.loc["simulated/judge#1"], diag.loc["simulated/judge#2"]
    assert biased["longer_pairs"] >= 10
    assert biased["longer_win_rate"] > 0.8 and biased["longer_p"] < 0.01
    assert fair["longer_p"] > 0.01
    assert "Judge `simulated/judge#1` chose the longer text" in cautions(out)
    assert "Judge `simulated/judge#2` chose the longer text" not in cautions(out)
    arms = pd.read_csv(out / "tables" / "text_features_by_arm.csv").set_index("arm")
    assert arms.loc["exhort_mid", "sentences"] > arms.loc["neutral", "sentences"] + 2
    assert arms["missing"].sum() == 0


def test_a_judged_pairs_table_has_no_texts_and_says_so(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[1] / "docs" / "examples" / "judged_pairs.csv"
    out = tmp_path / "report"
    assert main([
        "report", "--table", str(example),
        "--map", "model=llm,task=writing_task,contrast=comparison,item=prompt,pair_id=pair,winner=preferred",
        "--a-wins", "first", "--b-wins", "second", "--tie", "same", "--unresolved", "??", "--out", str(out),
    ]) == 0
    assert "carries no output texts: no feature deltas or length control" in body(out)
    assert "outputs of the analysed pairs are not in the logs" not in body(out)


SENTENCE = "A plain sentence about the topic. "


def separated_report(tmp_path: Path, texts_of) -> tuple[pd.Series, Path]:
    """A report on 40 pairs whose outputs `texts_of(winner, index)` -> (a text, b text) sets."""
    log = synthetic_log(SyntheticRun(contrast="exhort_vs_neutral", shift=0.5, n_items=40, repeats=1, seed=6))
    for index, sample in enumerate(log.samples):
        texts = texts_of(sample.scores["judge_panel"].metadata["winner"], index)
        for side, text in zip("ab", texts):
            sample.metadata["pair"][side]["output"] = text
    logs = tmp_path / "logs"
    logs.mkdir()
    write_eval_log(log, str(logs / "a.eval"))
    out = tmp_path / "report"
    write_report(logs, out, ReportSettings(exclude_flags=()))
    return pd.read_csv(out / "tables" / "length_controlled_by_contrast.csv").iloc[0], out


def test_a_win_that_length_alone_decides_is_a_caution(tmp_path: Path) -> None:
    """Every winner's text is twice as long as the loser's: no equal-length estimate exists."""
    short, long = SENTENCE, SENTENCE * 2 + "More."
    lc, out = separated_report(tmp_path, lambda winner, _: (long, short) if winner == "a" else (short, long))
    assert lc["raw_ci_low"] > 0.5 and pd.isna(lc["lc_win_rate"]) and lc["separation"] == "longer"
    assert "the length difference alone separates the winners (the longer text won every decisive pair)" in cautions(out)
    assert "no equal-length estimate" in body(out)
    assert "Length control (pooled over cells): not length-controlled: the longer text won" in findings(out)


def test_a_side_that_wins_at_equal_length_despite_separation_is_said_so(tmp_path: Path) -> None:
    """Side a wins when longer, equal or half as long; it loses only to a text four times its length."""
    def texts(winner: str, index: int) -> tuple[str, str]:
        if winner != "a":
            return SENTENCE, SENTENCE * 4
        return [(SENTENCE * 2, SENTENCE), (SENTENCE * 2, SENTENCE * 2), (SENTENCE, SENTENCE * 2)][index % 3]

    lc, out = separated_report(tmp_path, texts)
    assert lc["raw_ci_low"] > 0.5 and pd.isna(lc["lc_win_rate"]) and lc["separation"] == "a"
    assert "side a won every decisive pair in which it was the shorter text by up to a length ratio of 1.8" in lc["note"]
    assert lc["verdict"].startswith("survives length control: side a won every decisive pair at equal length")
    assert "`exhort_vs_neutral`: side a is better at equal length, but there is no estimate or interval" in cautions(out)
    assert "length difference alone separates" not in cautions(out)
