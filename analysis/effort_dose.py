"""Effort dose: does a larger request for effort win more often against the same neutral arm?

The graded exhortation arms (`EFFORT_LEVELS` in `solvers/framing_text.py`: neutral 0,
exhort_mid 1, exhort 2) are each judged against `neutral` (`EFFORT_DOSE_CONTRASTS`).
If requested effort acts like a dose, the win rate should rise with it, the way the
utility contrasts ask whether a larger utility gap wins more. Neutral against itself is
0.5 by construction, so the dose-0 point is not estimated.

`effort_dose` returns, per dose, the win rate of the exhorted side with an interval
clustered by item (and, when the pairs carry `length_diff` from
`length_control.paired_features`, the win rate at equal length), and the trend: a
logistic regression of "exhorted side wins" on the dose over the decisive pairs of all
dose contrasts, with cluster-robust errors by (model, task, item), raw and with the log2
length ratio as a covariate (is the extra effort's advantage more than extra length?).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from utility_gap.analysis.length_control import (
    LENGTH,
    LENGTH_DIFF,
    coefficient,
    fit_logit,
    length_controlled_win_rates,
    win_rate_interval,
)
from utility_gap.analysis.win_rates import check_winners, require_columns
from utility_gap.solvers.contrasts import EFFORT_DOSE_CONTRASTS, parse_contrast
from utility_gap.solvers.framing_text import EFFORT_LEVELS

CLUSTER: tuple[str, ...] = ("model", "task", "item_id")
LEVEL_COLUMNS: tuple[str, ...] = (
    "contrast", "arm", "dose", "n_pairs", "n_tie", "n", "n_a", "win_rate", "ci_low", "ci_high",
    "lc_win_rate", "lc_ci_low", "lc_ci_high",
)
TREND_COLUMNS: tuple[str, ...] = ("spec", "n", "n_clusters", "slope", "ci_low", "ci_high", "p_value", "note")


def _doses(contrasts: Sequence[str], levels: Mapping[str, int]) -> dict[str, tuple[str, int]]:
    out = {}
    for name in contrasts:
        contrast = parse_contrast(name)
        if contrast.arm_a not in levels or levels.get(contrast.arm_b) != 0:
            raise ValueError(f"{name}: an effort-dose contrast sets a dosed arm against the dose-0 arm (neutral).")
        out[name] = (contrast.arm_a, int(levels[contrast.arm_a]))
    return out


def effort_dose(
    pairs: pd.DataFrame,
    contrasts: Sequence[str] = EFFORT_DOSE_CONTRASTS,
    levels: Mapping[str, int] = EFFORT_LEVELS,
    alpha: float = 0.05,
    cluster: Sequence[str] = CLUSTER,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per-dose table `LEVEL_COLUMNS`, trend table `TREND_COLUMNS`) over the dose contrasts present.

    `pairs` is the judged-pairs frame, or `paired_features` output (then the
    length-controlled columns and the `length_controlled` trend are filled).
    """
    require_columns(pairs, ["contrast", "winner", *cluster], "judged-pairs frame")
    check_winners(pairs)
    doses = _doses(contrasts, levels)
    data = pairs[pairs["contrast"].isin(list(doses))]
    has_length = LENGTH_DIFF in data.columns
    lc = (
        length_controlled_win_rates(data, by=("contrast",), covariates=(LENGTH,), alpha=alpha, cluster=list(cluster))
        .set_index("contrast") if has_length and len(data) else None
    )
    rows = []
    for name, (arm, dose) in doses.items():
        group = data[data["contrast"] == name]
        decisive = group[group["winner"].isin(["a", "b"])]
        y = (decisive["winner"] == "a").to_numpy(dtype=float)
        row = {"contrast": name, "arm": arm, "dose": dose, "n_pairs": len(group),
               "n_tie": len(group) - len(decisive), "n": len(y), "n_a": int(y.sum())}
        row["win_rate"] = y.mean() if len(y) else np.nan
        groups = decisive.groupby(list(cluster), sort=False, dropna=False).ngroup().to_numpy()
        row["ci_low"], row["ci_high"] = win_rate_interval(y, groups, alpha) if len(y) else (np.nan, np.nan)
        if lc is not None and name in lc.index:
            row.update({k: lc.loc[name, k] for k in ("lc_win_rate", "lc_ci_low", "lc_ci_high")})
        rows.append(row)
    table = pd.DataFrame(rows, columns=list(LEVEL_COLUMNS)).sort_values("dose").reset_index(drop=True)
    specs = [("raw", [])] + ([("length_controlled", [LENGTH_DIFF])] if has_length else [])
    trend = pd.DataFrame([_trend(data, doses, spec, extra, alpha, list(cluster)) for spec, extra in specs],
                         columns=list(TREND_COLUMNS))
    return table, trend


def _trend(data: pd.DataFrame, doses: dict[str, tuple[str, int]], spec: str, extra: list[str], alpha: float,
           cluster: list[str]) -> dict:
    decisive = data[data["winner"].isin(["a", "b"])].dropna(subset=extra)
    row: dict = {"spec": spec, "n": len(decisive), "slope": np.nan, "ci_low": np.nan, "ci_high": np.nan,
                 "p_value": np.nan, "note": ""}
    dose = decisive["contrast"].map({name: d for name, (_, d) in doses.items()}).to_numpy(dtype=float)
    groups = decisive.groupby(cluster, sort=False, dropna=False).ngroup().to_numpy()
    row["n_clusters"] = int(len(np.unique(groups)))
    if len(np.unique(dose)) < 2:
        row["note"] = "needs pairs at two or more doses"
        return row
    y = (decisive["winner"] == "a").to_numpy(dtype=float)
    swept = sorted({int(d) for d in np.unique(dose) if y[dose == d].min() == y[dose == d].max()})
    if swept:
        row["note"] = f"one side won every decisive pair at dose {', '.join(map(str, swept))}: the slope is not estimable"
        return row
    x = np.column_stack([dose] + [decisive[c].to_numpy(dtype=float) for c in extra])
    fit, note = fit_logit(y, x, groups)
    if fit is None:
        row["note"] = note
        return row
    row["slope"], row["ci_low"], row["ci_high"], row["p_value"] = coefficient(fit, 1, alpha)
    return row
