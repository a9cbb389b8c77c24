"""Report section on Stage 1: elicitation diagnostics and agreement between methods.

Reads the utilities files (Stage 1's hand-off, `analysis/utilities_file.py`) and the
preference_ranking logs the frames skipped, and shows per (model, domain) whether the
utilities are informative, their held-out fit, and the Spearman agreement between the
Thurstonian means and a second method.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from utility_gap.analysis import figures
from utility_gap.analysis.frames import Frames
from utility_gap.analysis.ranking import RANKING_TASK, aggregate_rankings, rankings_frame
from utility_gap.analysis.report.document import ReportContext, ReportDocument, slug
from utility_gap.analysis.utilities_file import UtilitiesFileError, read_utilities


def utilities_section(doc: ReportDocument, ctx: ReportContext) -> None:
    utilities_dir = Path(ctx.settings.utilities_dir) if ctx.settings.utilities_dir else None
    frames = ctx.frames
    if utilities_dir is None:
        return
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


def _methods_scatter(doc: ReportDocument, uf: Any, method: str, scores: pd.DataFrame) -> None:
    """Thurstonian mean against a second method's score over the outcomes both cover."""
    from scipy.stats import spearmanr

    merged = pd.DataFrame(uf.outcomes)[["id", "mean"]].merge(scores, on="id")
    merged = merged.rename(columns={"mean": "thurstonian_mean", "score": "ranking_score"})
    if len(merged) < 3:
        doc.add(f"Method agreement for `{uf.model}` / {uf.domain}: only {len(merged)} shared outcome(s); not shown.")
        return
    rho = float(spearmanr(merged["thurstonian_mean"], merged["ranking_score"]).statistic)
    label = slug(method.split(" ")[0])
    stem = doc.root / "figures" / f"utility_methods__{slug(uf.model)}__{uf.domain}__{label}"
    doc.add(
        f"Method agreement for `{uf.model}` / {uf.domain}: Spearman {rho:.2f} between the Thurstonian means and "
        f"the {method} scores over {len(merged)} outcomes."
    )
    doc.figure(
        figures.utility_methods_scatter(merged, stem, y_label=f"{method} score",
                                        title=f"{uf.model} / {uf.domain}: Spearman {rho:.2f}"),
        f"Thurstonian mean against {method} score",
    )
