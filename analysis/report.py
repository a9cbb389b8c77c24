"""A log directory -> one report folder: report.md, tables/*.csv, figures/*.{png,svg}.

Why one folder: a reader (or a reviewer) gets every number the report states as a CSV
beside it, every figure in two formats, and the settings and exclusions that produced
them, in a folder that can be zipped and sent. The report states plainly where the
data cannot support a conclusion (too few decisive pairs, a judge that always gives the
same answer, a panel that was never validated).

Writing is atomic: the folder is built in a temporary sibling directory and swapped in
only when complete, so a failed or interrupted run leaves the previous report intact
and never a half-written one. Nothing is created when the logs cannot be read.

Statistics come from the statistics modules (`win_rates`, `effect_sizes`,
`equivalence_power`, `dose_response`, `judge_agreement`); this module only arranges
their tables, figures and words.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from utility_gap.analysis import figures
from utility_gap.analysis.effect_sizes import add_cohens_h, judge_icc, net_scores, rubric_effect_sizes
from utility_gap.analysis.equivalence_power import equivalence_table
from utility_gap.analysis.frames import FLAGS, Frames, read_frames
from utility_gap.analysis.dose_response import dose_response, high_side_frame
from utility_gap.analysis.judge_agreement import control_accuracy, fleiss_kappa_table, order_consistency, position_bias
from utility_gap.analysis.win_rates import FrameError as StatisticsInputError
from utility_gap.analysis.win_rates import aggregate_win_rates, exclude_flagged, win_rates
from utility_gap.solvers.contrasts import STANDARD_CONTRASTS

REPORT_FILE = "report.md"
# The order in which contrasts are shown: controls first, then the utility contrasts.
CONTRAST_ORDER: tuple[str, ...] = STANDARD_CONTRASTS
# Side-by-side figure: the positive control beside the utility contrast.
SIDE_BY_SIDE: tuple[str, ...] = ("exhort_vs_neutral", "sandbag_vs_neutral", "utility_high_vs_utility_low")
MIN_DECISIVE = 10  # below this many decisive pairs a cell supports no conclusion
MAX_TABLE_ROWS = 60  # longer tables are cut in report.md (the CSV has every row)


class ReportError(ValueError):
    """The report cannot be written; the message says what to change."""


@dataclass(frozen=True)
class ReportSettings:
    """What the report excludes and how it tests; every field is printed in the report."""

    exclude_flags: tuple[str, ...] = FLAGS
    margin: float = 0.05  # smallest win-rate difference from 0.5 that matters (TOST)
    alpha: float = 0.05
    power: float = 0.8
    n_boot: int = 2000
    seed: int = 0
    scorer: str | None = None
    utilities_dir: Path | None = None

    def __post_init__(self) -> None:
        unknown = [f for f in self.exclude_flags if f not in FLAGS]
        if unknown:
            raise ReportError(f"Unknown exclusion flag(s) {', '.join(unknown)}; choose from {', '.join(FLAGS)}.")
        if not 0 < self.margin < 0.5:
            raise ReportError(f"margin={self.margin}: the equivalence margin must be in (0, 0.5), e.g. 0.05.")
        if not 0 < self.alpha < 1:
            raise ReportError(f"alpha={self.alpha} must be in (0, 1).")


# -- markdown helpers ----------------------------------------------------------------------


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "–"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if v != 0 and abs(v) < 0.001:
            return f"{v:.1e}"
        return f"{v:.3f}"
    text = str(value).replace("|", "\\|").replace("\n", " ")
    return text


def markdown_table(frame: pd.DataFrame, columns: Sequence[str] | None = None, max_rows: int = MAX_TABLE_ROWS) -> str:
    """A GitHub-flavoured Markdown table of `frame` (first `max_rows` rows)."""
    columns = list(columns) if columns is not None else list(frame.columns)
    columns = [c for c in columns if c in frame.columns]
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    for _, row in frame.head(max_rows).iterrows():
        lines.append("| " + " | ".join(_fmt(row[c]) for c in columns) + " |")
    if len(frame) > max_rows:
        lines.append(f"\n*First {max_rows} of {len(frame)} rows; the CSV has all of them.*")
    return "\n".join(lines)


@dataclass
class _Doc:
    """The report being built: Markdown lines plus the table and figure files written."""

    root: Path
    lines: list[str] = field(default_factory=list)
    tables: list[Path] = field(default_factory=list)
    figures: list[Path] = field(default_factory=list)
    cautions: list[str] = field(default_factory=list)

    def add(self, *text: str) -> None:
        """Append a block; a heading or a table always stands in its own block."""
        for line in text:
            if line.startswith("#") or line.startswith("|"):
                if self.lines and self.lines[-1] != "":
                    self.lines.append("")
                self.lines.extend([line, ""])
            else:
                self.lines.append(line)
        if self.lines and self.lines[-1] != "":
            self.lines.append("")

    def table(self, name: str, frame: pd.DataFrame, columns: Sequence[str] | None = None, caption: str = "") -> None:
        path = self.root / "tables" / f"{name}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, index=False)
        self.tables.append(path)
        if caption:
            self.add(caption)
        self.add(markdown_table(frame, columns), f"CSV: [tables/{name}.csv](tables/{name}.csv)")

    def figure(self, paths: list[Path], alt: str) -> None:
        self.figures.extend(paths)
        png = next(p for p in paths if p.suffix == ".png")
        svg = next((p for p in paths if p.suffix == ".svg"), None)
        rel = png.relative_to(self.root).as_posix()
        extra = f" ([SVG]({svg.relative_to(self.root).as_posix()}))" if svg else ""
        self.add(f"![{alt}]({rel}){extra}")


# -- sections ------------------------------------------------------------------------------


def _ordered_contrasts(contrasts: Sequence[str]) -> list[str]:
    known = [c for c in CONTRAST_ORDER if c in contrasts]
    return known + sorted(c for c in contrasts if c not in CONTRAST_ORDER)


def _settings_section(doc: _Doc, frames: Frames, log_dir: Path, settings: ReportSettings) -> None:
    pairs = frames.pairs
    judges = sorted(frames.verdicts["judge"].unique()) if len(frames.verdicts) else []
    doc.add("## What was run")
    doc.add(
        f"- Logs read from: `{log_dir}` ({len(frames.logs)} used, {len(frames.skipped)} skipped)",
        f"- Models under test: {', '.join(f'`{m}`' for m in sorted({s.model for s in frames.logs})) or 'none'}",
        f"- Tasks: {', '.join(sorted({s.task.split('/')[-1] for s in frames.logs})) or 'none'}",
        f"- Contrasts: {', '.join(_ordered_contrasts(pairs['contrast'].unique())) or 'none with a judged pair'}",
        f"- Outcome domains: {', '.join(sorted(pairs['domain'].dropna().unique())) or 'none (no utility arms)'}",
        f"- Judges: {', '.join(f'`{j}`' for j in judges) or 'none recorded'}",
        f"- Judged pairs read: {len(pairs)}"
        f" ({sum(x.n_no_verdict for x in frames.logs)} more with no panel verdict: every judge unparseable;"
        f" {sum(x.n_unscored for x in frames.logs)} unscored)",
        f"- Exclusion flags applied: {', '.join(settings.exclude_flags) or 'none'}; "
        f"equivalence margin ±{settings.margin}; alpha {settings.alpha}; power target {settings.power:.0%}; "
        f"bootstrap {settings.n_boot} replicates (seed {settings.seed})"
        + (f"; pairwise scorer `{settings.scorer}`" if settings.scorer else ""),
    )
    logs = pd.DataFrame(
        [
            {
                "log": s.log,
                "kind": s.kind,
                "task": s.task,
                "model": s.model,
                "status": s.status,
                "partial": s.partial,
                "expected": s.n_expected,
                "samples": s.n_samples,
                "rows": s.n_rows,
                "unscored": s.n_unscored,
                "no_verdict": s.n_no_verdict,
                "scorer": s.scorer,
                "judges (model roles)": "; ".join(f"{r}={m}" for r, m in s.model_roles.items()),
                "task_args": _compact(s.task_args),
                "generate_config": _compact(s.generate_config),
                "model_args": _compact(s.model_args),
                "created": s.created,
            }
            for s in frames.logs
        ]
    )
    doc.table(
        "logs",
        logs,
        ["log", "kind", "task", "model", "status", "rows", "judges (model roles)", "task_args", "model_args",
         "generate_config"],
        caption="Each log used, with the settings from its eval spec:",
    )


def _compact(value: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in value.items()) if value else ""


def _exclusions_section(doc: _Doc, frames: Frames, settings: ReportSettings) -> pd.DataFrame:
    doc.add("## Exclusions")
    if frames.skipped:
        skipped = pd.DataFrame([vars(s) for s in frames.skipped]).drop(columns=["path"])
        doc.table("skipped_logs", skipped, caption=f"{len(skipped)} log(s) in the directory were not used:")
    else:
        doc.add("No log in the directory was skipped.")
    partial = [s for s in frames.logs if s.partial]
    if partial:
        doc.add(
            f"{len(partial)} log(s) did not finish; their finished samples are used and marked `partial_log`:",
            *[
                f"- `{s.log}`: status {s.status}, {s.n_samples} of {s.n_expected} samples present, "
                f"{s.n_rows} judged pairs read"
                for s in partial
            ],
        )
        doc.cautions.append(
            f"{len(partial)} log(s) are partial: the cells they feed may be unbalanced across items."
        )
    unscored = sum(s.n_unscored for s in frames.logs)
    no_verdict = sum(s.n_no_verdict for s in frames.logs if s.kind == "pairs")
    if unscored:
        doc.add(f"{unscored} sample(s) have no panel score (the sample failed before judging) and are not pairs.")
    if no_verdict:
        doc.add(
            f"{no_verdict} pair(s) have no panel verdict (every judge's answer was unparseable after retries) "
            "and are left out of every table."
        )
    excluded = exclude_flagged(frames.pairs, settings.exclude_flags) if settings.exclude_flags else None
    counts = pd.DataFrame(
        [
            {"flag": flag, "n_flagged": int(frames.pairs[f"flag_{flag}"].sum()), "excluded": flag in settings.exclude_flags}
            for flag in FLAGS
        ]
    )
    n_excluded = len(excluded.excluded) if excluded is not None else 0
    counts.loc[len(counts)] = {"flag": "any (excluded)", "n_flagged": n_excluded, "excluded": bool(settings.exclude_flags)}
    counts["share"] = counts["n_flagged"] / max(len(frames.pairs), 1)
    doc.table(
        "exclusions",
        counts,
        caption=(
            f"Pairs flagged on either side ({len(frames.pairs)} judged pairs read; a pair with two flags is "
            f"counted under both; {n_excluded} excluded, {len(frames.pairs) - n_excluded} analysed):"
        ),
    )
    if n_excluded and excluded is not None:
        by_contrast = (
            frames.pairs.assign(excluded=frames.pairs["pair_key"].isin(set(excluded.excluded["pair_key"])))
            .groupby(["contrast", "model", "task"])["excluded"].agg(["size", "sum"]).reset_index()
            .rename(columns={"size": "pairs", "sum": "excluded"})
        )
        by_contrast["share_excluded"] = by_contrast["excluded"] / by_contrast["pairs"]
        doc.table(
            "exclusions_by_cell",
            by_contrast,
            caption="Excluded pairs per cell (an exclusion rate that differs between cells or contrasts can bias "
            "the comparison; compare with `--exclude-flags none`):",
        )
    missing = int((frames.verdicts["judge_verdict"].isna()).sum())
    if missing:
        doc.add(
            f"{missing} of {len(frames.verdicts)} judge presentations belong to a judge verdict that is missing "
            "(unparseable after retries); where other judges answered, the panel decided by them."
        )
    return excluded.kept if excluded is not None else frames.pairs


def _conclusion(row: pd.Series, margin: float, power: float) -> str:
    n = int(row["n"])
    if row["significant_holm"]:  # the exact test is valid at any n; a small n only widens the interval
        side = "a" if row["win_rate"] > 0.5 else "b"
        small = f"; only {n} decisive pairs, so the size is imprecise" if n < MIN_DECISIVE else ""
        return f"side {side} better (Holm p = {_fmt(row['p_holm'])}{small})"
    if n < MIN_DECISIVE:
        return f"cannot say: only {n} decisive pair(s)"
    if row.get("equivalent_fw", False):
        return f"no effect larger than ±{margin} (TOST, family-wise)"
    return f"inconclusive (MDE {_fmt(row.get('mde_fw'))} at {power:.0%} power)"


def _win_rate_section(doc: _Doc, pairs: pd.DataFrame, settings: ReportSettings) -> pd.DataFrame:
    doc.add(
        "## Win rates per model and task",
        "Win rate = share of decisive pairs won by side a (the first arm of the contrast); ties are "
        "excluded from the denominator and shown beside it. Exact two-sided binomial test against 0.5, "
        "Holm-adjusted within each contrast; `fw_ci` is the family-wise Clopper-Pearson interval at "
        "1 - alpha/m (m = testable cells of the contrast). `equivalent_fw`: the TOST against "
        f"±{settings.margin} rejects at alpha/m. `mde_fw`: the smallest win-rate difference from 0.5 the "
        f"cell could detect with {settings.power:.0%} power.",
    )
    table = win_rates(pairs, alpha=settings.alpha)
    table = add_cohens_h(table)
    table = equivalence_table(table, margin=settings.margin, alpha=settings.alpha, power=settings.power)
    table["conclusion"] = [_conclusion(row, settings.margin, settings.power) for _, row in table.iterrows()]
    table = table.sort_values(
        ["contrast", "model", "task"], key=lambda s: s.map({c: i for i, c in enumerate(_ordered_contrasts(s.unique()))})
        if s.name == "contrast" else s
    ).reset_index(drop=True)
    shown = [
        "model", "task", "n_a", "n_b", "n_tie", "win_rate", "fw_ci_low", "fw_ci_high", "p_holm",
        "cohens_h", "equivalent_fw", "mde_fw", "conclusion",
    ]
    for contrast in _ordered_contrasts(table["contrast"].unique()):
        rows = table[table["contrast"] == contrast]
        doc.add(f"### {contrast}")
        safe = contrast.replace("/", "-")
        doc.table(f"win_rates__{safe}", rows, shown)
        doc.figure(
            figures.win_rate_lollipop(rows, contrast, doc.root / "figures" / f"win_rates__{safe}"),
            f"Win rates for {contrast}",
        )
    table.to_csv(doc.root / "tables" / "win_rates.csv", index=False)
    doc.tables.append(doc.root / "tables" / "win_rates.csv")
    doc.add("All cells of every contrast, with every column: [tables/win_rates.csv](tables/win_rates.csv)")
    side = [c for c in SIDE_BY_SIDE if c in set(table["contrast"])]
    if len(side) >= 2:
        doc.add("### Contrasts side by side")
        doc.figure(
            figures.contrasts_side_by_side(table, side, doc.root / "figures" / "contrasts_side_by_side"),
            "Exhortation and utility contrasts side by side",
        )
    return table


def _aggregate_section(doc: _Doc, pairs: pd.DataFrame, settings: ReportSettings) -> pd.DataFrame:
    doc.add(
        "## Aggregates per contrast",
        "Equal-cell mean: every model x task cell weighs the same; its CI is a two-stage cell "
        "bootstrap. The pooled rate weighs cells by their decisive pairs. With fewer than about 8 "
        "cells the bootstrap interval is rough.",
    )
    table = aggregate_win_rates(pairs, alpha=settings.alpha, n_boot=settings.n_boot, seed=settings.seed)
    order = {c: i for i, c in enumerate(_ordered_contrasts(table["contrast"].unique()))}
    table = table.sort_values("contrast", key=lambda s: s.map(order)).reset_index(drop=True)
    doc.table(
        "aggregate_win_rates",
        table,
        ["contrast", "n_cells", "equal_cell_win_rate", "boot_ci_low", "boot_ci_high", "equal_cell_net_score",
         "n_a", "n_b", "n_tie", "pooled_win_rate", "pooled_ci_low", "pooled_ci_high", "pooled_p_value"],
    )
    nets = net_scores(pairs, alpha=settings.alpha)
    doc.table(
        "net_scores",
        nets,
        caption="Net score per cell (+1 a wins, 0 tie, -1 b wins; ties stay in the denominator), t-interval:",
    )
    return table


def _rubric_section(doc: _Doc, frames: Frames, kept: pd.DataFrame, settings: ReportSettings) -> None:
    excluded = set(frames.pairs["pair_key"]) - set(kept["pair_key"])
    outputs = frames.outputs[~frames.outputs["pair_key"].isin(excluded)]
    if outputs.empty:
        return
    doc.add(
        "## Rubric scores (secondary)",
        "Each output scored 1-10 per criterion by each judge; an output's score is its mean over judges "
        "and criteria. d_z: paired standardised difference (a - b).",
    )
    doc.table("rubric_effect_sizes", rubric_effect_sizes(outputs, alpha=settings.alpha, n_boot=settings.n_boot))
    icc = judge_icc(outputs, by=("task",), alpha=settings.alpha)
    doc.table("judge_icc", icc, caption="Agreement of the judges' rubric scores (ICC) per task:")


def _judges_section(doc: _Doc, frames: Frames, kept: pd.DataFrame, settings: ReportSettings) -> None:
    doc.add("## Judges")
    excluded = set(frames.pairs["pair_key"]) - set(kept["pair_key"])
    verdicts = frames.verdicts[~frames.verdicts["pair_key"].isin(excluded)]
    if verdicts.empty:
        doc.add("No judge verdicts were recorded.")
        doc.cautions.append("No judge verdicts: nothing about the panel can be checked.")
        return
    diag = judge_diagnostics(verdicts, alpha=settings.alpha)
    doc.table(
        "judge_diagnostics",
        diag,
        caption=(
            "Per judge: `missing` = presentations with no parseable answer; `order_consistency` = share of "
            "pairs whose two presentations agree; `first_position_rate` = share of decisive answers choosing "
            "the response shown first (0.5 = no position bias; binomial p against 0.5); `tie_rate` of combined "
            "verdicts; `answers_all_same`: the judge gave one answer to everything."
        ),
    )
    for _, row in diag.iterrows():
        if row["answers_all_same"]:
            doc.cautions.append(
                f"Judge `{row['judge']}` answered {row['only_answer']!r} in every presentation: its verdicts carry "
                "no information about quality (after the order flip they are all ties)."
            )
        elif row["order_consistency"] < 0.5:
            doc.cautions.append(
                f"Judge `{row['judge']}` agrees with itself across presentation orders in only "
                f"{row['order_consistency']:.0%} of pairs: its verdicts are mostly position, not quality."
            )
        if row["position_p"] < settings.alpha:
            doc.cautions.append(
                f"Judge `{row['judge']}` picks the response shown first in {_fmt(row['first_position_rate'])} of "
                f"its decisive answers (p = {_fmt(row['position_p'])}); both orders are judged, so this bias "
                "becomes ties rather than wins, but it lowers the panel's resolution."
            )
    _agreement(doc, verdicts)
    _controls(doc, frames, settings.alpha)


def judge_diagnostics(verdicts: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Per judge: order consistency and position bias (judge_agreement), missing, retries, ties, sameness."""
    consistency = order_consistency(verdicts, by=("judge",), alpha=alpha)[["judge", "consistency_rate", "n_pairs"]]
    bias = position_bias(verdicts, by=("judge",), alpha=alpha)[["judge", "first_share", "p_value"]]
    rows = []
    for judge, group in verdicts.groupby("judge", sort=True):
        parsed = group["parsed"].dropna()
        combined = group.drop_duplicates("pair_key")["judge_verdict"]
        rows.append(
            {
                "judge": judge,
                "presentations": len(group),
                "missing": int(group["parsed"].isna().sum()),
                "retried": int((group["n_attempts"] > 1).sum()),
                "tie_rate": float((combined == "tie").mean()) if combined.notna().any() else np.nan,
                "answers_all_same": bool(len(parsed) >= 2 and parsed.nunique() == 1),
                "only_answer": parsed.iloc[0] if len(parsed) and parsed.nunique() == 1 else None,
            }
        )
    table = consistency.merge(bias, on="judge", how="outer").merge(pd.DataFrame(rows), on="judge", how="outer")
    return table.rename(
        columns={"n_pairs": "pairs_both_orders", "consistency_rate": "order_consistency",
                 "first_share": "first_position_rate", "p_value": "position_p"}
    )[["judge", "presentations", "missing", "retried", "pairs_both_orders", "order_consistency",
       "first_position_rate", "position_p", "tie_rate", "answers_all_same", "only_answer"]]


def _agreement(doc: _Doc, verdicts: pd.DataFrame) -> None:
    with np.errstate(invalid="ignore", divide="ignore"):  # kappa is NaN when every verdict is the same
        overall = fleiss_kappa_table(verdicts).assign(task="all")
        per_task = fleiss_kappa_table(verdicts, by=("task",))
    table = pd.concat([overall, per_task], ignore_index=True)
    table = table[["task"] + [c for c in table.columns if c != "task"]]
    doc.table(
        "judge_agreement",
        table,
        caption="Agreement between the judges' combined verdicts (Fleiss' kappa over a / b / tie; pairs with a "
        "missing judge are dropped and counted):",
    )


def _controls(doc: _Doc, frames: Frames, alpha: float) -> None:
    controls = frames.controls
    if controls.empty:
        doc.add(
            "No judge-control log was found, so the panel's ability to tell a good text from a damaged copy "
            "was not checked (run `inspect eval utility_gap/judge_controls` with the same judges)."
        )
        doc.cautions.append("The panel was not validated on judge controls in this run.")
        return
    table = control_accuracy(controls, by=("judge", "damage"), alpha=alpha)
    table = pd.concat(
        [table[table["judge"] != "all"], control_accuracy(controls, by=("judge",), alpha=alpha).assign(damage="all")],
        ignore_index=True,
    )
    table = table[table["judge"] != "all"].sort_values(["judge", "damage"]).reset_index(drop=True)
    doc.table(
        "judge_controls",
        table,
        ["judge", "damage", "n", "n_correct", "n_missing", "accuracy", "ci_low", "ci_high"],
        caption="Judge-control accuracy: share of (intact, damaged) pairs where the intact text was preferred "
        "(a tie counts as not preferred; `panel` is the panel's verdict):",
    )
    panel = table[(table["judge"] == "panel") & (table["damage"] == "all")]
    n = int(panel["n"].iloc[0]) if len(panel) else 0
    if n < MIN_DECISIVE:
        doc.cautions.append(
            f"Only {n} judge-control pair(s) have a panel verdict: too few to validate the panel "
            "(run judge_controls with more control texts)."
        )
    elif not panel["accuracy"].iloc[0] >= 0.75:
        doc.cautions.append(
            f"The panel preferred the intact text in only {_fmt(panel['accuracy'].iloc[0])} of {n} judge-control "
            f"pairs (95% CI {_fmt(panel['ci_low'].iloc[0])}–{_fmt(panel['ci_high'].iloc[0])}): its verdicts on "
            "the writing tasks may not track quality."
        )


def _dose_response_section(doc: _Doc, pairs: pd.DataFrame, settings: ReportSettings) -> None:
    if pairs["utility_diff"].isna().all():
        return
    doc.add(
        "## Dose-response",
        "Does the side with the higher-utility outcome win more often the larger the utility gap? "
        "Logistic regression of 'high side wins' on |utility difference| over decisive pairs, pooled and "
        "with model/task/domain fixed effects; standard errors clustered by item.",
    )
    utility_contrasts = sorted(pairs.loc[pairs["utility_diff"].notna(), "contrast"].unique())
    pairs = pairs[pairs["contrast"].isin(utility_contrasts)]
    doc.add(f"Contrasts with utilities: {', '.join(utility_contrasts)}.")
    data, _ = high_side_frame(pairs)
    try:
        fits = dose_response(pairs, cluster="item_id", alpha=settings.alpha)
    except StatisticsInputError as ex:
        doc.add(f"No dose-response fit: {ex}")
        doc.cautions.append("The dose-response slope could not be estimated from these pairs.")
        fits = None
    if fits is not None:
        doc.table("dose_response", fits)
    pooled = fits[fits["spec"] == "pooled"].iloc[0].to_dict() if fits is not None else None
    doc.figure(
        figures.dose_response_plot(data, pooled, doc.root / "figures" / "dose_response"),
        "Dose-response: share won by the higher-utility side against the utility gap",
    )


def _chrf_section(doc: _Doc, pairs: pd.DataFrame) -> None:
    scored = pairs[pairs["chrf_a"].notna() & pairs["chrf_b"].notna() & pairs["winner"].isin(["a", "b"])]
    if scored.empty:
        return
    higher = np.where(scored["chrf_a"] > scored["chrf_b"], "a", np.where(scored["chrf_a"] < scored["chrf_b"], "b", "tie"))
    agree = scored.assign(chrf_higher=higher)
    agree = agree[agree["chrf_higher"] != "tie"]
    table = (
        agree.assign(agrees=agree["chrf_higher"] == agree["winner"])
        .groupby(["model", "contrast"])["agrees"].agg(["mean", "size"]).reset_index()
        .rename(columns={"mean": "panel_agrees_with_chrf", "size": "n"})
    )
    doc.add(
        "## Translation: chrF against the reference",
        "Share of decisive translation pairs where the panel's winner is the side with the higher chrF.",
    )
    doc.table("chrf_agreement", table)


def _utilities_section(doc: _Doc, utilities_dir: Path | None, frames: Frames) -> None:
    if utilities_dir is None:
        return
    from utility_gap.analysis.utilities_file import UtilitiesFileError, read_utilities

    doc.add("## Stage 1: elicitation diagnostics")
    rows, problems, loaded = [], [], []
    for path in sorted(utilities_dir.rglob("*.json")):
        try:
            uf = read_utilities(path)
        except UtilitiesFileError as ex:
            problems.append(f"- `{path.name}`: {ex}")
            continue
        loaded.append(uf)
        m = uf.metrics
        rows.append(
            {
                "file": path.relative_to(utilities_dir).as_posix(),
                "model": uf.model,
                "domain": uf.domain,
                "method": uf.method,
                "outcomes": len(uf.outcomes),
                "informative": uf.informative,
                "uninformative_reasons": "; ".join(uf.uninformative_reasons),
                **{k: m.get(k) for k in (
                    "train_accuracy", "heldout_accuracy", "heldout_log_loss", "intransitive_triad_share",
                    "position_bias", "unparseable_policy",
                )},
                **{k: int(m[k]) if m.get(k) is not None else None for k in (
                    "n_pairs", "n_choices", "n_refusal", "n_unparseable",
                )},
            }
        )
    if not rows:
        doc.add(f"No utilities file was found under `{utilities_dir}`.", *problems)
        return
    doc.table(
        "elicitation_diagnostics",
        pd.DataFrame(rows),
        ["file", "model", "domain", "method", "outcomes", "informative", "uninformative_reasons", "heldout_accuracy",
         "heldout_log_loss", "intransitive_triad_share", "position_bias", "n_choices", "n_refusal", "n_unparseable",
         "unparseable_policy"],
    )
    if problems:
        doc.add("Files that could not be read as utilities files:", *problems)
    for _, row in pd.DataFrame(rows).iterrows():
        if not row["informative"]:
            doc.cautions.append(
                f"The utilities of `{row['model']}` over `{row['domain']}` are uninformative "
                f"({row['uninformative_reasons'] or 'no reason recorded'}): utility arms built on them test nothing."
            )
    thurstonian = {(uf.model, uf.domain): uf for uf in loaded if uf.method == "thurstonian"}
    second = _ranking_scores(frames) + _second_method_files(loaded, thurstonian)
    if not second and thurstonian:
        doc.add(
            "No second elicitation method (preference_ranking logs in LOGDIR, or a second utilities file) was "
            "found, so method agreement is not shown."
        )
    for (model, domain), method, scores in second:
        uf = thurstonian.get((model, domain))
        if uf is not None:
            _methods_scatter(doc, uf, method, scores)


def _ranking_scores(frames: Frames) -> list[tuple[tuple[str, str], str, pd.DataFrame]]:
    """Borda scores per (model, domain) from the preference_ranking logs the frames skipped."""
    from utility_gap.analysis.ranking import RANKING_TASK, aggregate_rankings, rankings_frame

    paths = [s.path for s in frames.skipped if s.task.split("/")[-1] == RANKING_TASK and s.path]
    if not paths:
        return []
    ranked = rankings_frame(paths)
    out = []
    for (model, domain), group in ranked.groupby(["model", "domain"], sort=True):
        table = aggregate_rankings(group).rename(columns={"outcome_id": "id", "borda": "score"})
        out.append(((str(model), str(domain)), "ranking (Borda)", table[["id", "score"]]))
    return out


def _second_method_files(loaded: list[Any], thurstonian: dict) -> list[tuple[tuple[str, str], str, pd.DataFrame]]:
    out = []
    for uf in loaded:
        if uf.method != "thurstonian" and (uf.model, uf.domain) in thurstonian:
            table = pd.DataFrame(uf.outcomes)[["id", "mean"]].rename(columns={"mean": "score"})
            out.append(((uf.model, uf.domain), uf.method, table))
    return out


def _methods_scatter(doc: _Doc, uf: Any, method: str, scores: pd.DataFrame) -> None:
    """Thurstonian mean against a second method's score over the outcomes both cover."""
    from scipy.stats import spearmanr

    merged = pd.DataFrame(uf.outcomes)[["id", "mean"]].merge(scores, on="id")
    merged = merged.rename(columns={"mean": "thurstonian_mean", "score": "ranking_score"})
    if len(merged) < 3:
        doc.add(f"Method agreement for `{uf.model}` / {uf.domain}: only {len(merged)} shared outcome(s); not shown.")
        return
    rho = float(spearmanr(merged["thurstonian_mean"], merged["ranking_score"]).statistic)
    label = _slug(method.split(" ")[0])
    stem = doc.root / "figures" / f"utility_methods__{_slug(uf.model)}__{uf.domain}__{label}"
    doc.add(
        f"Method agreement for `{uf.model}` / {uf.domain}: Spearman {rho:.2f} between the Thurstonian means and "
        f"the {method} scores over {len(merged)} outcomes."
    )
    doc.figure(
        figures.utility_methods_scatter(merged, stem, y_label=f"{method} score",
                                        title=f"{uf.model} / {uf.domain}: Spearman {rho:.2f}"),
        f"Thurstonian mean against {method} score",
    )


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "-" for c in text)


def _data_cautions(doc: _Doc, frames: Frames, kept: pd.DataFrame, table: pd.DataFrame) -> None:
    if frames.pairs.empty:
        doc.cautions.append(
            "No judged pair has a pairwise panel verdict (rubric-only logs, or every pair unscored): no win-rate "
            "conclusion is possible."
        )
        return
    if kept.empty:
        doc.cautions.append("Every judged pair was excluded: no conclusion is possible.")
        return
    if (kept["winner"] == "tie").all():
        doc.cautions.append("Every analysed pair is a tie: the panel never separated the two sides.")
    small = table[(table["n"] < MIN_DECISIVE) & ~table["significant_holm"].astype(bool)]
    if len(small):
        doc.cautions.append(
            f"{len(small)} of {len(table)} cells have fewer than {MIN_DECISIVE} decisive pairs and no significant "
            "difference; they support no conclusion either way."
        )
    small_significant = table[(table["n"] < MIN_DECISIVE) & table["significant_holm"].astype(bool)]
    if len(small_significant):
        doc.cautions.append(
            f"{len(small_significant)} significant cell(s) rest on fewer than {MIN_DECISIVE} decisive pairs: the "
            "direction is supported by the exact test, the size of the effect is not pinned down."
        )
    weak = table[
        (table["n"] >= MIN_DECISIVE) & ~table["significant_holm"].astype(bool) & ~table["equivalent_fw"].astype(bool)
    ]
    if len(weak):
        doc.cautions.append(
            f"{len(weak)} cell(s) show neither a significant difference nor equivalence within the margin: a "
            "null there is absence of evidence, not evidence of absence (see `mde_fw`)."
        )


def _findings(table: pd.DataFrame, aggregate: pd.DataFrame, settings: ReportSettings) -> list[str]:
    lines = ["## Findings"]
    for _, row in aggregate.iterrows():
        cells = table[table["contrast"] == row["contrast"]]
        better = cells[cells["significant_holm"] & (cells["win_rate"] > 0.5)]
        worse = cells[cells["significant_holm"] & (cells["win_rate"] < 0.5)]
        equivalent = cells[cells["equivalent_fw"]]
        lines.append(
            f"- **{row['contrast']}**: equal-cell win rate {_fmt(row['equal_cell_win_rate'])} "
            f"(95% CI {_fmt(row['boot_ci_low'])}–{_fmt(row['boot_ci_high'])}) over {int(row['n_cells'])} cell(s); "
            f"side a significantly better in {len(better)}, worse in {len(worse)}, equivalent to 0.5 within "
            f"±{settings.margin} in {len(equivalent)} of {len(cells)} cell(s)."
        )
    return lines


# -- entry point ---------------------------------------------------------------------------


def _check_target(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise ReportError(f"--out {out_dir} is a file; give a directory for the report.")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / REPORT_FILE).is_file():
        raise ReportError(
            f"--out {out_dir} is a non-empty directory that holds no {REPORT_FILE}; refusing to replace it. "
            "Choose a new or empty directory (a previous report folder is replaced)."
        )


def write_report(log_dir: str | Path, out_dir: str | Path, settings: ReportSettings = ReportSettings()) -> Path:
    """Read the logs, compute every table and figure, and atomically (re)place `out_dir`.

    Raises `FrameError` (bad or missing logs) or `ReportError` before anything is written.
    Returns the path of report.md.
    """
    log_dir, out_dir = Path(log_dir), Path(out_dir).resolve()
    _check_target(out_dir)
    if settings.utilities_dir is not None and not Path(settings.utilities_dir).is_dir():
        raise ReportError(f"--utilities {settings.utilities_dir} is not a directory of utilities files.")
    frames = read_frames(log_dir, scorer=settings.scorer)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.building-", dir=out_dir.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(staging, 0o777 & ~umask)  # mkdtemp makes it private; the report is an ordinary folder
    try:
        _build(frames, log_dir, staging, settings)
        _swap(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_dir / REPORT_FILE


def _swap(staging: Path, out_dir: Path) -> None:
    """Replace out_dir by staging with two renames (the old report is removed last)."""
    old = None
    if out_dir.exists():
        old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
        os.replace(out_dir, old)
    os.replace(staging, out_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _build(frames: Frames, log_dir: Path, root: Path, settings: ReportSettings) -> None:
    doc = _Doc(root=root)
    (root / "tables").mkdir()
    (root / "figures").mkdir()
    body = _Doc(root=root, tables=doc.tables, figures=doc.figures, cautions=doc.cautions)
    _settings_section(body, frames, log_dir, settings)
    kept = _exclusions_section(body, frames, settings)
    if kept.empty:
        table = pd.DataFrame(columns=["contrast", "n", "significant_holm", "equivalent_fw"])
        aggregate = pd.DataFrame()
    else:
        table = _win_rate_section(body, kept, settings)
        aggregate = _aggregate_section(body, kept, settings)
        _dose_response_section(body, kept, settings)
        _chrf_section(body, kept)
    _rubric_section(body, frames, kept, settings)
    _judges_section(body, frames, kept, settings)
    _utilities_section(body, Path(settings.utilities_dir) if settings.utilities_dir else None, frames)
    _data_cautions(body, frames, kept, table)

    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    doc.add("# utility-gap report", f"Generated {stamp} from `{log_dir}`.")
    if not aggregate.empty:
        doc.add(*_findings(table, aggregate, settings))
    doc.add("## What the data cannot support")
    if doc.cautions:
        doc.add(*[f"- {c}" for c in dict.fromkeys(doc.cautions)])
    else:
        doc.add("No limitation was detected beyond the intervals shown.")
    doc.lines.extend(body.lines)
    (root / REPORT_FILE).write_text("\n".join(doc.lines), encoding="utf-8")
