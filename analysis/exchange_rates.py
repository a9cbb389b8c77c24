"""Exchange rates between entities: how many of Y a model treats as worth one of X.

For outcome sets whose outcomes carry an `entity` and a `quantity` ("N people in
country X are cured"), the fitted utility of each entity is modelled as

    utility ~ a_entity + b_entity * ln(quantity)

(ordinary least squares within each (kind, entity)). At a reference quantity q0 (by
default the geometric mean of the kind's quantities, the middle of the grid, so nothing
is extrapolated far) entity X's utility is U_X = a_X + b_X ln q0; the number N of entity
Y's units with the same utility solves a_Y + b_Y ln N = U_X, and the exchange rate is
N / q0: one X is worth `rate` Y. When the slopes are equal this does not depend on q0.

A rate needs both slopes to be positive: a slope at or below zero means the model's
choices do not value more of that entity, so no rate is given for it and a warning
says so (`slope_positive` false, `warning` set) instead of printing a meaningless number.

Uncertainty: a parametric bootstrap of the utilities. Each replicate draws every
outcome's utility from N(mean, mean_se^2), with `mean_se` from the utilities file
(the Thurstonian fit's Fisher information); for files without it, the pooled residual sd
of the per-entity regressions stands in. The regressions and rates are recomputed and
percentile intervals reported. This covers the fit's sampling error, not a wrong
functional form: `r_squared` per entity shows how well the log-linear form fits.

Pure functions of a DataFrame with columns `id`, `entity`, `quantity`, `kind`, `mean`
and optionally `mean_se` (`exchange_table` builds it from a utilities file's outcomes
and the outcome set).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np
import pandas as pd

MIN_QUANTITIES = 2
"""An entity needs outcomes at this many distinct positive quantities for a slope."""


@dataclass
class ExchangeRates:
    """Per-entity log-quantity fits and rates against a reference entity, per kind."""

    fits: pd.DataFrame  # kind, entity, n, a, b, b_ci_low, b_ci_high, r_squared, slope_positive, warning
    rates: pd.DataFrame  # kind, entity, reference, reference_quantity, rate, rate_ci_low, rate_ci_high, ...
    warnings: list[str] = field(default_factory=list)
    bootstrap: int = 0
    se_source: str = ""


def exchange_table(outcomes: Iterable[dict[str, Any]], outcome_set: Iterable[Any]) -> pd.DataFrame:
    """Join a utilities file's outcomes (id, mean, mean_se) to the set's entity/quantity/kind."""
    fields = pd.DataFrame(
        [{"id": o.id, "entity": o.entity, "quantity": o.quantity, "kind": o.kind} for o in outcome_set]
    )
    fitted = pd.DataFrame([{"id": o["id"], "mean": o["mean"], "mean_se": o.get("mean_se")} for o in outcomes])
    if fields.empty or fitted.empty:
        return pd.DataFrame(columns=["id", "entity", "quantity", "kind", "mean", "mean_se"])
    return fitted.merge(fields, on="id", how="inner")


def has_exchange_structure(table: pd.DataFrame) -> bool:
    """Whether some kind has two entities with outcomes at two or more positive quantities."""
    usable = _usable(table)
    if usable.empty:
        return False
    counts = usable.groupby(["kind", "entity"])["quantity"].nunique()
    per_kind = (counts >= MIN_QUANTITIES).groupby(level="kind").sum()
    return bool((per_kind >= 2).any())


def _usable(table: pd.DataFrame) -> pd.DataFrame:
    if table.empty:
        return table
    quantity = pd.to_numeric(table["quantity"], errors="coerce")
    return table[table["entity"].notna() & quantity.gt(0)].assign(quantity=quantity)


def _ols(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Intercepts and slopes of y (replicates x points) on x, vectorised over replicates."""
    xc = x - x.mean()
    b = (y - y.mean(axis=-1, keepdims=True)) @ xc / (xc @ xc)
    a = y.mean(axis=-1) - b * x.mean()
    return a, b


def exchange_rates(
    table: pd.DataFrame,
    *,
    reference: str | dict[str, str] | None = None,
    reference_quantity: float | None = None,
    bootstrap: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> ExchangeRates:
    """Fit utility ~ a + b ln(quantity) per (kind, entity) and rate every entity against a reference.

    `reference` names the reference entity (one for all kinds, or per kind); by default
    the first entity, in table order, whose slope is positive. Rates are "how many of
    the reference equal one of this entity" at `reference_quantity` (default: the
    geometric mean of the kind's quantities).
    """
    usable = _usable(table)
    rng = np.random.default_rng([seed, 1_515])
    tail = (1 - level) / 2
    fits_rows: list[dict[str, Any]] = []
    rate_rows: list[dict[str, Any]] = []
    warnings: list[str] = []
    has_se = "mean_se" in usable.columns and usable["mean_se"].notna().all() and not usable.empty
    residuals: list[float] = []
    groups: dict[tuple[str, str], pd.DataFrame] = {}
    for (kind, entity), group in usable.groupby(["kind", "entity"], sort=False):
        if group["quantity"].nunique() < MIN_QUANTITIES:
            continue
        groups[(str(kind), str(entity))] = group
        x = np.log(group["quantity"].to_numpy(float))
        y = group["mean"].to_numpy(float)
        a, b = _ols(x, y)
        residuals.extend((y - a - b * x).tolist())
    if not groups:
        return ExchangeRates(pd.DataFrame(), pd.DataFrame(), ["no entity has outcomes at two or more quantities"])
    dof = max(1, len(residuals) - 2 * len(groups))
    pooled_sd = math.sqrt(sum(r * r for r in residuals) / dof)
    se_source = "mean_se (Fisher information of the fit)" if has_se else "pooled residual sd of the log-quantity fits"

    draws: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
    point: dict[tuple[str, str], tuple[float, float]] = {}
    for key, group in groups.items():
        x = np.log(group["quantity"].to_numpy(float))
        y = group["mean"].to_numpy(float)
        se = group["mean_se"].to_numpy(float) if has_se else np.full(y.size, pooled_sd)
        a, b = _ols(x, y)
        sample = y + se * rng.standard_normal((bootstrap, y.size))
        draws[key] = _ols(x, sample)
        point[key] = (float(a), float(b))
        fitted = a + b * x
        total = float(((y - y.mean()) ** 2).sum())
        b_low, b_high = np.quantile(draws[key][1], [tail, 1 - tail]) if bootstrap else (math.nan, math.nan)
        positive = bool(b > 0)
        warning = None
        if not positive:
            warning = (f"{key[1]} ({key[0]}): utility does not rise with quantity (slope {b:+.3f}); "
                       "the model's choices do not value more of it, so no exchange rate is given")
            warnings.append(warning)
        fits_rows.append({
            "kind": key[0], "entity": key[1], "n": int(y.size), "a": float(a), "b": float(b),
            "b_ci_low": float(b_low), "b_ci_high": float(b_high),
            "r_squared": float(1 - ((y - fitted) ** 2).sum() / total) if total > 0 else math.nan,
            "slope_positive": positive, "warning": warning,
        })
    fits = pd.DataFrame(fits_rows)

    for kind, kind_fits in fits.groupby("kind", sort=False):
        positive = kind_fits[kind_fits["slope_positive"]]
        chosen = reference.get(str(kind)) if isinstance(reference, dict) else reference
        if chosen is None:
            if positive.empty:
                warnings.append(f"{kind}: no entity's utility rises with quantity, so no exchange rates")
                continue
            chosen = str(positive["entity"].iloc[0])
        ref_key = (str(kind), chosen)
        if ref_key not in point:
            raise ValueError(f"reference entity '{chosen}' has no log-quantity fit in kind '{kind}'.")
        if point[ref_key][1] <= 0:
            warnings.append(f"{kind}: the reference entity {chosen} has a slope <= 0, so no exchange rates")
            continue
        kind_quantities = usable.loc[usable["kind"] == kind, "quantity"].to_numpy(float)
        q0 = reference_quantity or float(np.exp(np.log(kind_quantities).mean()))
        a_ref, b_ref = draws[ref_key]
        for _, row in kind_fits.iterrows():
            key = (str(kind), str(row["entity"]))
            base = {"kind": kind, "entity": key[1], "reference": chosen, "reference_quantity": q0}
            if not row["slope_positive"]:
                rate_rows.append({**base, "rate": math.nan, "rate_ci_low": math.nan, "rate_ci_high": math.nan,
                                  "log10_rate": math.nan, "note": "slope <= 0: no rate"})
                continue
            a, b = point[key]
            log_n = (a + b * math.log(q0) - point[ref_key][0]) / point[ref_key][1]
            a_x, b_x = draws[key]
            ok = b_ref > 0
            log_draws = (a_x[ok] + b_x[ok] * math.log(q0) - a_ref[ok]) / b_ref[ok] - math.log(q0)
            low, high = (np.quantile(log_draws, [tail, 1 - tail]) if log_draws.size else (math.nan, math.nan))
            share_bad = 1 - float(np.mean((b_x > 0) & ok)) if bootstrap else 0.0
            note = ""
            if share_bad > tail * 2:
                note = f"slope not clearly positive in {100 * share_bad:.0f}% of bootstrap draws: rate unstable"
            rate_rows.append({
                **base, "rate": math.exp(log_n - math.log(q0)), "rate_ci_low": math.exp(low),
                "rate_ci_high": math.exp(high), "log10_rate": (log_n - math.log(q0)) / math.log(10), "note": note,
            })
    return ExchangeRates(fits, pd.DataFrame(rate_rows), warnings, bootstrap, se_source)
