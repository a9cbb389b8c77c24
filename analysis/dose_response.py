"""Dose-response: does the side with the higher utility win more as the utility gap grows?

Why: if a model's preferences acted as incentives, the bigger the gap between the
utilities of the two outcomes on offer, the more often the higher-utility side's text
should win. This is a logistic regression (statsmodels formula API, `smf.logit`):

    P(high side wins) = logistic(b0 + b1 * |utility_diff| [+ fixed effects])

on the judged-pairs frame, where the *high side* is `a` if `utility_diff` (a - b) > 0
and `b` if it is < 0. Rows are dropped, and counted, when `utility_diff` is missing (no
utilities: not a utility contrast), zero (no high side) or the panel tied (no winner).
`b1` is the dose-response slope per unit of utility (utilities are normalised to sd 1 in
Stage 1); `b0` is the high side's log-odds at a gap of zero, which a clean null leaves
at 0.

Two specifications: `pooled` (no fixed effects) and `fixed_effects` (indicator fixed
effects for `model`, `task`, `domain`). A fixed-effect column with a single level in the
data is dropped (reported in `fe_dropped`), so the same call works for one model or one
task. Standard errors are the model-based ones by default; `cluster="item_id"` (any
column) gives cluster-robust ones, since pairs of the same item share its difficulty.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from statsmodels.tools.sm_exceptions import (
    HessianInversionWarning,
    PerfectSeparationError,
    PerfectSeparationWarning,
)

from utility_gap.analysis.win_rates import FrameError, check_winners, require_columns

DEFAULT_FIXED_EFFECTS = ("model", "task", "domain")
MIN_PAIRS = 10
DOSE_COLUMNS = (
    "spec", "n", "n_tie", "n_no_utility", "n_zero_diff", "fe_used", "fe_dropped", "cov_type",
    "intercept", "slope", "se", "ci_low", "ci_high", "p_value", "converged", "error",
)


def high_side_frame(pairs: pd.DataFrame, contrasts: Sequence[str] | None = None) -> tuple[pd.DataFrame, dict[str, int]]:
    """Decisive pairs with a utility gap: adds `high_wins` (0/1) and `utility_gap` (|diff|).

    Returns the frame and the counts of rows dropped (`n_tie`, `n_no_utility`,
    `n_zero_diff`), in that order of checks.
    """
    require_columns(pairs, ["utility_diff", "winner"] + (["contrast"] if contrasts else []), "judged-pairs frame")
    check_winners(pairs)
    frame = pairs if contrasts is None else pairs[pairs["contrast"].isin(list(contrasts))]
    diff = pd.to_numeric(frame["utility_diff"], errors="coerce")
    no_utility = diff.isna()
    zero = ~no_utility & (diff == 0)
    tie = ~no_utility & ~zero & (frame["winner"] == "tie")
    keep = ~(no_utility | zero | tie)
    kept = frame.loc[keep].copy()
    d = diff[keep]
    high = np.where(d > 0, "a", "b")
    kept["high_wins"] = (kept["winner"].to_numpy() == high).astype(int)
    kept["utility_gap"] = d.abs().to_numpy()
    counts = {"n_tie": int(tie.sum()), "n_no_utility": int(no_utility.sum()), "n_zero_diff": int(zero.sum())}
    return kept, counts


def _fit(data: pd.DataFrame, fe: list[str], cluster: str | None, alpha: float) -> dict:
    terms = ["utility_gap"] + [f"C({name})" for name in fe]
    formula = "high_wins ~ " + " + ".join(terms)
    fit_kwargs: dict = {"disp": 0, "maxiter": 200}
    if cluster is not None:
        groups = pd.factorize(data[cluster].astype(str))[0]
        fit_kwargs.update(cov_type="cluster", cov_kwds={"groups": groups})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence trouble is reported in `converged`
        warnings.simplefilter("error", PerfectSeparationWarning)
        warnings.simplefilter("error", HessianInversionWarning)
        try:
            result = smf.logit(formula, data=data).fit(**fit_kwargs)
        except (PerfectSeparationError, PerfectSeparationWarning):
            raise FrameError(
                f"dose-response: {formula!r} perfectly separates who wins ({len(data)} pairs), so the "
                f"slope is not estimable; add pairs or drop fixed effects with few pairs per level."
            ) from None
        except (np.linalg.LinAlgError, HessianInversionWarning):
            # statsmodels < 0.14.2 raises, later versions warn: either way there is no covariance
            raise FrameError(
                f"dose-response: {formula!r} has a singular information matrix ({len(data)} pairs): a "
                f"fixed-effect level where one side always wins, so the slope has no standard error; "
                f"add pairs or drop fixed effects with few pairs per level."
            ) from None
    low, high = result.conf_int(alpha=alpha).loc["utility_gap"]
    return {
        "intercept": float(result.params["Intercept"]),
        "slope": float(result.params["utility_gap"]),
        "se": float(result.bse["utility_gap"]),
        "ci_low": float(low),
        "ci_high": float(high),
        "p_value": float(result.pvalues["utility_gap"]),
        "converged": bool(result.mle_retvals.get("converged", False)),
        "cov_type": result.cov_type,
        "error": "",
    }


def _adds_rank(base: np.ndarray, values: pd.Series) -> tuple[np.ndarray, bool]:
    """The design with `values`' indicators appended, and whether every indicator adds rank."""
    dummies = pd.get_dummies(values, drop_first=True, dtype=float).to_numpy()
    design = np.column_stack([base, dummies])
    return design, np.linalg.matrix_rank(design) == np.linalg.matrix_rank(base) + dummies.shape[1]


def dose_response(
    pairs: pd.DataFrame,
    fixed_effects: Sequence[str] = DEFAULT_FIXED_EFFECTS,
    contrasts: Sequence[str] | None = None,
    cluster: str | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Slope of "high-utility side wins" on the utility gap, pooled and with fixed effects.

    Columns: `spec` (pooled | fixed_effects), `n` (pairs in the fit), `n_tie`,
    `n_no_utility`, `n_zero_diff` (rows dropped), `fe_used`, `fe_dropped` (comma-joined
    column names), `cov_type`, `intercept`, `slope`, `se`, `ci_low`, `ci_high`
    (level 1 - alpha), `p_value` (Wald), `converged`, `error` (why a spec was not
    estimable, its numbers then NaN; empty when fitted). Raises `FrameError` when no spec
    is estimable.
    """
    fixed_effects = list(fixed_effects)
    data, counts = high_side_frame(pairs, contrasts)
    require_columns(data, fixed_effects + ([cluster] if cluster else []), "judged-pairs frame")
    if len(data) < MIN_PAIRS or data["utility_gap"].nunique() < 2 or data["high_wins"].nunique() < 2:
        raise FrameError(
            f"dose-response needs decisive pairs with at least two different utility gaps and both "
            f"outcomes; got {len(data)} usable rows (dropped: {counts}). Run a utility contrast "
            f"(utility_high_vs_utility_low) with more items or repeats."
        )
    fe_columns: dict[str, str] = {}
    renamed = data[["high_wins", "utility_gap"]].copy()
    if cluster:
        renamed["_cluster"] = data[cluster].to_numpy()
    used, dropped = [], []
    design = np.column_stack([np.ones(len(data)), data["utility_gap"].to_numpy(dtype=float)])
    for i, name in enumerate(fixed_effects):
        values = data[name].fillna("NA").astype(str)
        if values.nunique() < 2:
            dropped.append(name)
            continue
        extended, full_rank = _adds_rank(design, values)
        if not full_rank:  # aliased with the gap or the fixed effects before it
            dropped.append(name)
            continue
        design = extended
        fe_columns[name] = f"fe{i}"
        renamed[f"fe{i}"] = values.to_numpy()
        used.append(name)
    cluster_col = "_cluster" if cluster else None
    rows = []
    for spec, fe in (("pooled", []), ("fixed_effects", [fe_columns[n] for n in used])):
        row = {"spec": spec, "n": len(renamed), **counts,
               "fe_used": ",".join(used) if spec == "fixed_effects" else "",
               "fe_dropped": ",".join(dropped) if spec == "fixed_effects" else ""}
        try:
            row.update(_fit(renamed, fe, cluster_col, alpha))
        except FrameError as ex:
            row.update(converged=False, error=str(ex))
        rows.append(row)
    errors = [row["error"] for row in rows if row.get("error")]
    if len(errors) == len(rows):
        raise FrameError(" ".join(dict.fromkeys(errors)))
    return pd.DataFrame(rows, columns=list(DOSE_COLUMNS))
