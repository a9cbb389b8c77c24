"""Duplicated judged pairs: resolved before any statistic, and reported.

`drop_duplicate_pairs` runs in `writer.write_report` before anything is written: with
the default policy (`error`) a log directory that holds one logical pair twice stops
the report (`DuplicatePairsError`, naming the logs); with `keep-newest` or
`keep-first` one copy of each pair is kept in every frame (the per-judge verdict and
rubric rows of a dropped copy go with it). `duplicates_section` then states the policy
and what it dropped, per log.
"""

from __future__ import annotations

import dataclasses

from utility_gap.analysis.frames import Frames
from utility_gap.analysis.frames.duplicates import DuplicateResolution, resolve_duplicates
from utility_gap.analysis.report.document import ReportContext, ReportDocument

_POLICY_MEANING = {
    "error": "stop when a pair appears twice",
    "keep-newest": "keep the copy from the most recently created log",
    "keep-first": "keep the copy from the earliest log",
}


def drop_duplicate_pairs(frames: Frames, policy: str) -> tuple[Frames, DuplicateResolution]:
    """One copy of each logical pair in every frame, by `policy` (raises for `error`)."""
    resolution = resolve_duplicates(frames.pairs, policy, {s.log: s.created for s in frames.logs})
    if resolution.dropped.empty:
        return frames, resolution
    gone = set(resolution.dropped["pair_key"])
    kept = dataclasses.replace(
        frames,
        pairs=resolution.kept.reset_index(drop=True),
        verdicts=frames.verdicts[~frames.verdicts["pair_key"].isin(gone)].reset_index(drop=True),
        outputs=frames.outputs[~frames.outputs["pair_key"].isin(gone)].reset_index(drop=True),
    )
    return kept, resolution


def duplicates_section(doc: ReportDocument, ctx: ReportContext) -> None:
    resolution = ctx.duplicates
    policy = resolution.policy if resolution is not None else ctx.settings.duplicates
    doc.add("## Duplicate pairs")
    stated = f"Policy for pairs found in more than one log: `--duplicates {policy}` ({_POLICY_MEANING[policy]})."
    if resolution is None or resolution.n_duplicated == 0:
        doc.add(stated, "No judged pair appears in more than one log; none was dropped.")
        return
    dropped = len(resolution.dropped)
    doc.add(
        stated,
        f"{resolution.n_duplicated} judged pair(s) (same model, task, item, contrast, domain, draw, repeat, epoch "
        f"and judges) appeared in more than one log; {dropped} copies were dropped, so each is counted once.",
    )
    doc.table("duplicate_pairs_by_log", resolution.by_log, caption="Logs holding duplicated pairs:")
    doc.cautions.append(
        f"{resolution.n_duplicated} judged pairs were found in more than one log and {dropped} copies were dropped "
        f"(`--duplicates {policy}`): check that the logs read belong to one study."
    )
