"""How far the judge panel can be trusted: agreement, order consistency, position bias, controls.

Why: a null result is only as good as the panel that produced it. These functions take
the judge-verdicts frame of `analysis/frames/` (one row per pair, judge and
presentation order: `pair_key`, `judge`, `order` (ab|ba), `parsed` ("1"|"2"|"tie"|null),
`winner` (a|b|tie|null), `judge_verdict`) and a controls frame (one row per judge-control
pair: `damage`, `correct` (bool, null when the panel gave no verdict)).

- `fleiss_kappa_table`: Fleiss' kappa (statsmodels `fleiss_kappa`, categories a / b /
  tie) over pairs judged by every judge of the group; pairs with a missing judge
  verdict are dropped and counted.
- `order_consistency`: per judge, the share of pairs whose winner is the same in both
  presentation orders (a tie in both counts as consistent), with a Clopper-Pearson CI.
- `position_bias`: per judge, among presentations parsed as "1" or "2" (ties and
  unparsed answers excluded and counted), the share where the first-shown text won,
  with an exact binomial test against 0.5 and a Clopper-Pearson CI.
- `control_accuracy`: per damage type and overall, the share of controls where the
  panel preferred the intact text, with a Clopper-Pearson CI; missing verdicts are
  counted in `n_missing` and left out of the denominator.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

from utility_gap.analysis.win_rates import FrameError, binomial_pvalue, clopper_pearson, require_columns

VERDICT_CATEGORIES = ("a", "b", "tie")
VERDICTS_FRAME = "judge-verdicts frame"


def _groups(frame: pd.DataFrame, by: list[str]):
    if not by:
        return [((), frame)]
    return [((k if isinstance(k, tuple) else (k,)), g) for k, g in frame.groupby(by, sort=True, dropna=False)]


def judge_verdict_matrix(verdicts: pd.DataFrame) -> pd.DataFrame:
    """pair_key x judge matrix of each judge's combined verdict (one per pair and judge)."""
    require_columns(verdicts, ["pair_key", "judge", "judge_verdict"], VERDICTS_FRAME)
    per_judge = verdicts.groupby(["pair_key", "judge"], sort=True, dropna=False)["judge_verdict"]
    n_distinct = per_judge.nunique(dropna=False)
    if (n_distinct > 1).any():
        bad = n_distinct[n_distinct > 1].index[0]
        raise FrameError(
            f"{VERDICTS_FRAME}: 'judge_verdict' must be the same on every presentation row of a "
            f"(pair_key, judge); {bad} has several. Rebuild the frame with analysis.frames."
        )
    matrix = per_judge.first().unstack("judge")
    values = matrix.stack(future_stack=True).dropna()
    bad_values = sorted(set(values.astype(str)) - set(VERDICT_CATEGORIES))
    if bad_values:
        raise FrameError(f"{VERDICTS_FRAME}: 'judge_verdict' must be one of {VERDICT_CATEGORIES} or null; found {bad_values}.")
    return matrix


def fleiss_kappa_table(verdicts: pd.DataFrame, by: Sequence[str] = ()) -> pd.DataFrame:
    """Fleiss' kappa of the judges' verdicts (a / b / tie) per group of `by`.

    Columns: `by`, `n_pairs` (complete), `n_judges`, `n_dropped` (pairs with a missing
    verdict), `kappa`, `share_a`, `share_b`, `share_tie` (of all complete verdicts).
    """
    by = list(by)
    require_columns(verdicts, by, VERDICTS_FRAME)
    rows = []
    for key, group in _groups(verdicts, by):
        matrix = judge_verdict_matrix(group)
        complete = matrix.dropna()
        row = dict(zip(by, key))
        row.update(n_pairs=len(complete), n_judges=matrix.shape[1], n_dropped=len(matrix) - len(complete))
        if matrix.shape[1] < 2 or len(complete) == 0:
            row.update(kappa=np.nan, share_a=np.nan, share_b=np.nan, share_tie=np.nan)
        else:
            codes = complete.apply(lambda col: col.map({c: i for i, c in enumerate(VERDICT_CATEGORIES)})).to_numpy(int)
            table, _ = aggregate_raters(codes, n_cat=len(VERDICT_CATEGORIES))
            row["kappa"] = float(fleiss_kappa(table, method="fleiss"))
            shares = table.sum(axis=0) / table.sum()
            row.update(share_a=shares[0], share_b=shares[1], share_tie=shares[2])
        rows.append(row)
    return pd.DataFrame(rows)


def order_consistency(verdicts: pd.DataFrame, by: Sequence[str] = ("judge",), alpha: float = 0.05) -> pd.DataFrame:
    """Share of pairs whose winner does not change with presentation order, per judge.

    Columns: `by`, `n_pairs` (both orders parsed), `n_incomplete` (an order missing or
    unparsed), `n_consistent`, `consistency_rate`, `ci_low`, `ci_high`.
    """
    by = list(by)
    require_columns(verdicts, list(dict.fromkeys(by + ["pair_key", "judge", "order", "winner"])), VERDICTS_FRAME)
    bad = ~verdicts["order"].isin(["ab", "ba"])
    if bad.any():
        raise FrameError(f"{VERDICTS_FRAME}: 'order' must be 'ab' or 'ba'; found {sorted(verdicts.loc[bad, 'order'].astype(str).unique())}.")
    keys = list(dict.fromkeys(by + ["pair_key", "judge"]))
    wide = verdicts.groupby(keys + ["order"], dropna=False, sort=True)["winner"].first().unstack("order")
    wide = wide.reindex(columns=["ab", "ba"])
    both = wide.notna().all(axis=1)
    wide = wide.assign(_both=both, _consistent=both & (wide["ab"] == wide["ba"])).reset_index()
    rows = []
    for key, group in _groups(wide, by):
        row = dict(zip(by, key))
        n = int(group["_both"].sum())
        k = int(group["_consistent"].sum())
        row.update(n_pairs=n, n_incomplete=int((~group["_both"]).sum()), n_consistent=k,
                   consistency_rate=k / n if n else np.nan)
        low, high = clopper_pearson(k, n, 1 - alpha)
        row.update(ci_low=low[0], ci_high=high[0])
        rows.append(row)
    return pd.DataFrame(rows)


def position_bias(verdicts: pd.DataFrame, by: Sequence[str] = ("judge",), alpha: float = 0.05) -> pd.DataFrame:
    """Share of decisive parsed answers that picked the first-shown text, per judge.

    Columns: `by`, `n_decisive` (parsed "1" or "2"), `n_first`, `n_tie_parsed`,
    `n_unparsed`, `first_share`, `p_value` (exact two-sided binomial vs 0.5), `ci_low`,
    `ci_high`.
    """
    by = list(by)
    require_columns(verdicts, list(dict.fromkeys(by + ["parsed"])), VERDICTS_FRAME)
    parsed = verdicts["parsed"].astype("object")
    bad = parsed.notna() & ~parsed.isin(["1", "2", "tie"])
    if bad.any():
        raise FrameError(f"{VERDICTS_FRAME}: 'parsed' must be '1', '2', 'tie' or null; found {sorted(parsed[bad].astype(str).unique())}.")
    frame = verdicts.assign(_first=parsed == "1", _second=parsed == "2", _tie=parsed == "tie", _none=parsed.isna())
    rows = []
    for key, group in _groups(frame, by):
        k, n = int(group["_first"].sum()), int(group["_first"].sum() + group["_second"].sum())
        row = dict(zip(by, key))
        row.update(n_decisive=n, n_first=k, n_tie_parsed=int(group["_tie"].sum()), n_unparsed=int(group["_none"].sum()),
                   first_share=k / n if n else np.nan, p_value=binomial_pvalue(k, n) if n else np.nan)
        low, high = clopper_pearson(k, n, 1 - alpha)
        row.update(ci_low=low[0], ci_high=high[0])
        rows.append(row)
    return pd.DataFrame(rows)


def control_accuracy(controls: pd.DataFrame, by: Sequence[str] = ("damage",), alpha: float = 0.05) -> pd.DataFrame:
    """Panel accuracy on judge controls (intact vs damaged text) per damage type and overall.

    Columns: `by`, `n` (controls with a verdict), `n_correct`, `n_missing`, `accuracy`,
    `ci_low`, `ci_high` (Clopper-Pearson, level 1 - alpha). The last row has every `by`
    column set to "all".
    """
    by = list(by)
    require_columns(controls, by + ["correct"], "controls frame")
    correct = controls["correct"]
    present = correct.notna()
    valid = correct[present].isin([True, False, 0, 1])
    if not valid.all():
        raise FrameError(f"controls frame: 'correct' must be True, False or null; found {sorted(correct[present][~valid].astype(str).unique())}.")
    frame = controls.assign(_present=present, _correct=correct.where(present, False).astype(bool))

    def summarise(row: dict, group: pd.DataFrame) -> dict:
        n = int(group["_present"].sum())
        k = int((group["_correct"] & group["_present"]).sum())
        low, high = clopper_pearson(k, n, 1 - alpha)
        row.update(n=n, n_correct=k, n_missing=int((~group["_present"]).sum()),
                   accuracy=k / n if n else np.nan, ci_low=low[0], ci_high=high[0])
        return row

    rows = [summarise(dict(zip(by, key)), group) for key, group in _groups(frame, by)]
    if by:
        rows.append(summarise({c: "all" for c in by}, frame))
    return pd.DataFrame(rows)
