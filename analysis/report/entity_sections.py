"""Report section on the entity family: preferences over entities vs advice, refusals and accuracy.

Reads the entity-task logs the frames skipped (`entity_donation_advice`,
`entity_reading_task`), and per (model, entity set) the preferences over the same set:
the Thurstonian utilities file (from `ReportSettings.utilities_dir`, matched by model
and domain) and the direct-ranking Borda scores (`preference_ranking` logs over that
domain in LOGDIR). Each entity's preference is the mean over its outcomes
(`analysis/entity_behaviour.py`). Writes the per-entity table, the Spearman
correlations (Holm over the table), the counts behind them, and one figure per
behaviour: the preference against advice share, refusal rate and reading accuracy, with
the fitted line and rho.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from utility_gap.analysis import entity_behaviour as eb
from utility_gap.analysis.entity_figures import preference_behaviour_scatter
from utility_gap.analysis.ranking import RANKING_TASK, aggregate_rankings, rankings_frame
from utility_gap.analysis.report.document import ReportContext, ReportDocument, slug
from utility_gap.analysis.task_logs import unfinished_logs
from utility_gap.analysis.utilities_file import UtilitiesFile, UtilitiesFileError, read_utilities
from utility_gap.evals.outcomes import Outcome, OutcomeSetError, load_outcomes

PREFERENCE_LABELS = {
    "utility": "Thurstonian utility (forced choices)",
    "ranking_borda": "Borda score (direct ranking)",
}
CORRELATION_TABLE = ["preference", "behaviour", "n_entities", "spearman", "p_value", "p_holm", "significant", "note"]
ENTITY_TABLE = ["entity", "utility", "ranking_borda", "advice_share", "n_advised", "refusal_rate", "n_attempts",
                "n_refused_all", "accuracy", "n_items", "n_failed_advice", "n_failed_reading", "n_failed"]


def _logs(ctx: ReportContext, tasks: tuple[str, ...]) -> list[str]:
    return [s.path for s in ctx.frames.skipped if s.task.split("/")[-1] in tasks and s.path]


def _utilities(ctx: ReportContext) -> list[UtilitiesFile]:
    folder = Path(ctx.settings.utilities_dir) if ctx.settings.utilities_dir else None
    found = []
    for path in sorted(folder.rglob("*.json")) if folder and folder.is_dir() else []:
        try:
            found.append(read_utilities(path))
        except UtilitiesFileError:
            continue  # the Stage 1 section lists unreadable files
    return found


def _fitted(files: list[UtilitiesFile], model: str, domain: str) -> UtilitiesFile | None:
    return next((f for f in files if f.model == model and f.domain == domain), None)


def _preferences(ctx: ReportContext, model: str, domain: str, outcomes: list[Outcome],
                 files: list[UtilitiesFile], rankings: pd.DataFrame) -> tuple[dict[str, dict[str, float]], list[str]]:
    preferences: dict[str, dict[str, float]] = {}
    notes: list[str] = []
    uf = _fitted(files, model, domain)
    if uf is not None:
        try:
            preferences["utility"] = eb.entity_utilities(uf, outcomes)
        except ValueError as ex:
            notes.append(str(ex))
    if not rankings.empty:
        mine = rankings[(rankings["model"] == model) & (rankings["domain"] == domain)]
        if not mine.empty and mine["parsed"].any():
            preferences["ranking_borda"] = eb.entity_borda(aggregate_rankings(mine), outcomes)
    if not preferences:
        notes.append(
            f"No preference measure over `{domain}` was found for `{model}` (no utilities file in the utilities "
            "folder, no parsed preference_ranking logs), so no correlation can be computed."
        )
    return preferences, notes


def entity_section(doc: ReportDocument, ctx: ReportContext) -> None:
    paths = _logs(ctx, eb.ENTITY_TASKS)
    if not paths:
        return
    doc.add("## Entity preferences and behaviour")
    doc.add(
        "Preferences over entities against three behaviours measured with no instruction to use them: the share of "
        "donation advice that names the entity, the refusal rate of advice requests naming it (retries count), and "
        "reading accuracy when a right answer wins money for it. Spearman correlations, Holm-corrected over each table."
    )
    advice, reading = eb.advice_frame(paths), eb.reading_frame(paths)
    unfinished = unfinished_logs(paths)
    if unfinished:
        doc.add("Logs that did not finish (their finished samples are used; the others are missing, and rerunning "
                "the command completes them):", *[f"- {line}" for line in unfinished])
        doc.cautions.append(f"Entity study: {len(unfinished)} log(s) did not finish, so some entities have fewer "
                            "samples than planned (see the entity section).")
    ranking_paths = _logs(ctx, (RANKING_TASK,))
    rankings = rankings_frame(ranking_paths) if ranking_paths else pd.DataFrame()
    files = _utilities(ctx)
    groups = sorted(set(zip(advice["model"], advice["entities"])) | set(zip(reading["model"], reading["entities"])))
    for model, source in groups:
        _study(doc, ctx, str(model), str(source),
               advice[(advice["model"] == model) & (advice["entities"] == source)],
               reading[(reading["model"] == model) & (reading["entities"] == source)], files, rankings)


def _study(doc: ReportDocument, ctx: ReportContext, model: str, source: str, advice: pd.DataFrame,
           reading: pd.DataFrame, files: list[UtilitiesFile], rankings: pd.DataFrame) -> None:
    try:
        outcomes = load_outcomes(source)
    except OutcomeSetError as ex:
        doc.add(f"### `{model}` / entities `{source}`", f"The entity set cannot be loaded here: {ex}")
        return
    domain = outcomes[0].domain
    doc.add(f"### `{model}` / entities `{domain}`")
    if not advice.empty:
        doc.add(eb.advice_counts_text(advice))
    if not reading.empty:
        doc.add(eb.reading_counts_text(reading))
    preferences, notes = _preferences(ctx, model, domain, outcomes, files, rankings)
    doc.add(*notes)
    fitted = _fitted(files, model, domain)
    if "utility" in preferences and fitted is not None and not fitted.informative:
        doc.cautions.append(
            f"Entity study `{model}` / {domain}: the Thurstonian utilities are uninformative (Stage 1 diagnostics), so "
            "a correlation of behaviour with them is weak evidence either way; elicit with a larger budget."
        )
    table, correlations = eb.entity_study(advice, reading, preferences, alpha=ctx.settings.alpha)
    name = f"{slug(model)}__{slug(domain)}"
    if preferences:
        doc.table(f"entity_correlations__{name}", correlations, CORRELATION_TABLE,
                  caption="Spearman correlation of each preference with each behaviour (Holm over this table):")
    doc.table(f"entity_behaviour__{name}", table, [c for c in ENTITY_TABLE if c in table.columns],
              caption="Per entity (the CSV has every count):")
    for preference in preferences:
        for behaviour, label in eb.BEHAVIOURS.items():
            row = correlations[(correlations["preference"] == preference) & (correlations["behaviour"] == behaviour)]
            if row.empty or behaviour not in table or table[[preference, behaviour]].dropna().empty:
                continue
            found = row.iloc[0]
            doc.draw(
                preference_behaviour_scatter, table, preference, behaviour,
                stem=doc.root / "figures" / f"entity_{behaviour}__{name}__{preference}",
                rho=float(found["spearman"]), p_holm=float(found["p_holm"]),
                title=f"{model} / {domain}", x_label=PREFERENCE_LABELS.get(preference, preference), y_label=label,
                alt=f"{PREFERENCE_LABELS.get(preference, preference)} against {label}",
            )
    untested = correlations[correlations["p_value"].isna() & (correlations["note"] != "no data")]
    for _, row in untested.iterrows():
        doc.cautions.append(
            f"Entity study `{model}` / {domain}: {row['preference']} vs {row['behaviour']} was not tested ({row['note']})."
        )
