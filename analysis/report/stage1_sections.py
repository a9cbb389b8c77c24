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
from utility_gap.analysis.utilities_file import UtilitiesFileError, design_text, read_utilities


def _position_cell(m: dict[str, Any]) -> str:
    """The fitted position term with its CI, or why there is none."""
    if not m.get("position_term") or m.get("position_beta") is None:
        return "not fitted" if "position_term" in m else "not recorded"
    if m.get("position_beta_ci_low") is None:
        return f"{m['position_beta']:+.3f}"
    return f"{m['position_beta']:+.3f} [{m['position_beta_ci_low']:+.3f}, {m['position_beta_ci_high']:+.3f}]"


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
                    "train_accuracy", "heldout_accuracy", "heldout_pair_accuracy", "heldout_log_loss",
                    "heldout_calibration_error", "intransitive_triad_share", "position_bias", "position_beta",
                    "position_beta_ci_low", "position_beta_ci_high", "unparseable_policy",
                )},
                "heldout_choice_accuracy": m.get("heldout_accuracy"),
                "position_term": _position_cell(m),
                "design": design_text(uf.design) if uf.design else "not recorded",
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
        ["file", "model", "domain", "method", "outcomes", "informative", "uninformative_reasons",
         "heldout_pair_accuracy", "heldout_choice_accuracy", "heldout_log_loss", "heldout_calibration_error",
         "intransitive_triad_share", "position_bias", "position_term", "n_choices", "n_refusal", "n_unparseable",
         "unparseable_policy", "design"],
    )
    doc.add(
        "Held-out accuracy is given at two levels that must not be confused: *per pair* (among held-out pairs "
        "whose votes have a strict majority, the share whose majority the fitted order matches; the usual metric "
        "in the literature) and *per choice* (the share of individual held-out votes the fitted utilities predict, "
        "which is bounded by how noisy single answers are). Log-loss and calibration error are per choice and "
        "include the position term. `position_bias` is the raw share of answers 'A'; `position_term` is the fitted "
        "shift towards the option shown first, in normalised utility units with its 95% CI, kept out of the "
        "utilities. Every number comes from the design in the last column."
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
    doc.draw(figures.utility_methods_scatter, merged, stem=stem, y_label=f"{method} score",
             title=f"{uf.model} / {uf.domain}: Spearman {rho:.2f}", alt=f"Thurstonian mean against {method} score")


def exchange_rates_section(doc: ReportDocument, ctx: ReportContext) -> None:
    """Exchange rates between entities for utilities files over entity x quantity domains."""
    from utility_gap.analysis.exchange_rates import exchange_rates, exchange_table, has_exchange_structure
    from utility_gap.evals.outcomes import load_outcomes

    utilities_dir = Path(ctx.settings.utilities_dir) if ctx.settings.utilities_dir else None
    if utilities_dir is None:
        return
    found = []
    for path in sorted(utilities_dir.rglob("*.json")):
        try:
            uf = read_utilities(path)
            table = exchange_table(uf.outcomes, load_outcomes(uf.domain))
        except ValueError:  # unreadable files are listed by the diagnostics section; unknown domains have no fields
            continue
        if has_exchange_structure(table):
            found.append((uf, table))
    if not found:
        return
    doc.add(
        "## Stage 1: exchange rates between entities",
        "Per entity, utility ~ a + b ln(quantity) is fitted to the outcomes' Thurstonian means; the rate says how "
        "many units of the reference entity the model's choices treat as worth one unit of the entity, at the "
        "reference quantity (the geometric mean of the grid). Intervals: parametric bootstrap of the utilities "
        "(see `analysis/exchange_rates.py`). An entity whose utility does not rise with quantity gets no rate.",
    )
    for uf, table in found:
        result = exchange_rates(table, seed=ctx.settings.seed)
        if result.rates.empty:
            doc.add(f"`{uf.model}` / {uf.domain}: no exchange rates ({'; '.join(result.warnings)}).")
            continue
        merged = result.rates.merge(result.fits, on=["kind", "entity"], how="left")
        for kind, rows in merged.groupby("kind", sort=False):
            name = f"exchange_rates__{slug(uf.model)}__{uf.domain}__{slug(str(kind))}"
            reference = rows["reference"].iloc[0]
            doc.add(f"### `{uf.model}` / {uf.domain} / {kind}: units of {reference} per unit of each entity")
            doc.table(
                name,
                rows.sort_values("rate", ascending=False, na_position="last"),
                ["entity", "rate", "rate_ci_low", "rate_ci_high", "b", "b_ci_low", "b_ci_high", "r_squared", "note"],
                caption=f"Reference quantity {rows['reference_quantity'].iloc[0]:.0f}; uncertainty from "
                        f"{result.se_source}, {result.bootstrap} bootstrap draws.",
            )
            doc.draw(figures.exchange_rates_plot, rows, stem=doc.root / "figures" / name,
                     title=f"{uf.model} / {uf.domain} / {kind}", alt=f"Exchange rates against {reference}")
        for warning in result.warnings:
            doc.cautions.append(f"Exchange rates for `{uf.model}` over `{uf.domain}`: {warning}.")
