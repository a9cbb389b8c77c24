"""Does the panel judge as people do? Agreement between the panel and human raters.

Why: a null result from an LLM panel means something only if the panel tracks what
people would call better. These functions compare the panel's verdicts with human
ratings of the same pairs (`analysis/human_ratings.py`); they are pure functions of
frames:

- `pairs`: the judged-pairs frame (`pair_key`, `winner` a|b|tie, and grouping columns
  such as `model`, `task`, `contrast`);
- `ratings`: one row per (rater, pair): `rater`, `pair_key`, `verdict` (a|b|tie);
- `rating_scores` / `outputs`: rubric scores, one row per (rater or judge, pair, side,
  criterion) with `score`.

Statistics:
- `panel_rater_agreement`: per group and rater, raw agreement (share of pairs with the
  same verdict, Clopper-Pearson CI) and Cohen's kappa over a / b / tie (statsmodels
  `cohens_kappa`, asymptotic CI);
- `rater_agreement`: the same for each pair of raters, plus Krippendorff's alpha
  (nominal; the `krippendorff` package) over all raters, and over raters and panel,
  with a bootstrap CI over pairs;
- `human_majority` / `panel_accuracy`: the human majority verdict of each pair (the
  unique plurality of its raters; a split has none and is counted) and the panel's
  accuracy against it (all verdicts, and direction among pairs both call decisive);
- `human_win_rates`: win rates from the human majority beside the panel's, on the same
  pairs (`win_rates.win_rates`, ties excluded from the denominator);
- `rubric_correlation`: Spearman correlation of the panel's mean rubric score (over
  judges) and the raters' mean score per (pair, side, criterion), Fisher-z CI.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import krippendorff
import numpy as np
import pandas as pd
from scipy.stats import norm, spearmanr
from statsmodels.stats.inter_rater import cohens_kappa

from utility_gap.analysis.win_rates import FrameError, clopper_pearson, require_columns, win_rates

VERDICTS = ("a", "b", "tie")
PANEL = "panel"
ALL = "all"


def _check_verdicts(frame: pd.DataFrame, column: str, name: str) -> None:
    bad = sorted(set(frame[column].dropna().astype(str)) - set(VERDICTS))
    if bad:
        raise FrameError(f"{name}: '{column}' must be one of {VERDICTS}; found {bad}.")


def _groups(frame: pd.DataFrame, by: list[str]) -> list[tuple[dict, pd.DataFrame]]:
    """Each group of `by`, then the whole frame with every `by` column set to "all"."""
    out = []
    if by:
        out = [(dict(zip(by, k if isinstance(k, tuple) else (k,))), g) for k, g in frame.groupby(by, sort=True)]
    out.append(({c: ALL for c in by}, frame))
    return out


def agreement_stats(first: Sequence[str], second: Sequence[str], alpha: float = 0.05) -> dict[str, float]:
    """Raw agreement and Cohen's kappa (a / b / tie) of two verdict lists over the same pairs."""
    first, second = list(first), list(second)
    n = len(first)
    k = sum(x == y for x, y in zip(first, second))
    low, high = clopper_pearson(k, n, 1 - alpha)
    row = {"n": n, "n_agree": k, "agreement": k / n if n else np.nan, "agreement_ci_low": low[0],
           "agreement_ci_high": high[0], "kappa": np.nan, "kappa_ci_low": np.nan, "kappa_ci_high": np.nan}
    if n == 0:
        return row
    index = {v: i for i, v in enumerate(VERDICTS)}
    table = np.zeros((len(VERDICTS), len(VERDICTS)))
    for x, y in zip(first, second):
        table[index[x], index[y]] += 1
    expected = (table.sum(axis=1) @ table.sum(axis=0)) / n**2
    if expected >= 1:  # both gave one and the same answer throughout: kappa is undefined
        return row
    with np.errstate(invalid="ignore", divide="ignore"):  # its z test divides by 0 when one side never varies
        result = cohens_kappa(table)
    z = norm.isf(alpha / 2)
    row.update(kappa=float(result.kappa), kappa_ci_low=float(result.kappa - z * result.std_kappa),
               kappa_ci_high=float(result.kappa + z * result.std_kappa))
    return row


def _rated(pairs: pd.DataFrame, ratings: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    require_columns(pairs, ["pair_key", "winner"] + by, "judged-pairs frame")
    require_columns(ratings, ["rater", "pair_key", "verdict"], "ratings frame")
    _check_verdicts(pairs, "winner", "judged-pairs frame")
    _check_verdicts(ratings, "verdict", "ratings frame")
    return ratings[["rater", "pair_key", "verdict"]].merge(pairs[["pair_key", "winner"] + by], on="pair_key")


def unmatched_ratings(pairs: pd.DataFrame, ratings: pd.DataFrame) -> pd.DataFrame:
    """Ratings whose pair is not in the judged-pairs frame (another log directory, or excluded)."""
    return ratings[~ratings["pair_key"].isin(set(pairs["pair_key"]))]


def panel_rater_agreement(
    pairs: pd.DataFrame, ratings: pd.DataFrame, by: Sequence[str] = ("task",), alpha: float = 0.05
) -> pd.DataFrame:
    """Per group of `by` (and "all") and rater: agreement of the rater with the panel.

    Columns: `by`, `rater`, `n`, `n_agree`, `agreement`, `agreement_ci_low/high`,
    `kappa`, `kappa_ci_low/high`.
    """
    by = list(by)
    joined = _rated(pairs, ratings, by)
    rows = []
    for key, group in _groups(joined, by):
        for rater, own in group.groupby("rater", sort=True):
            rows.append({**key, "rater": rater, **agreement_stats(own["winner"], own["verdict"], alpha)})
    return pd.DataFrame(rows, columns=by + ["rater", *AGREEMENT_COLUMNS])


AGREEMENT_COLUMNS = ("n", "n_agree", "agreement", "agreement_ci_low", "agreement_ci_high", "kappa", "kappa_ci_low",
                     "kappa_ci_high")


def _alpha(matrix: np.ndarray) -> float:
    """Krippendorff's alpha (nominal) of a raters x pairs matrix of codes, NaN where undefined."""
    usable = matrix[:, (~np.isnan(matrix)).sum(axis=0) >= 2]
    values = usable[~np.isnan(usable)]
    if usable.shape[1] == 0 or len(np.unique(values)) < 2:
        return np.nan
    return float(krippendorff.alpha(reliability_data=usable, level_of_measurement="nominal"))


def krippendorff_alpha(
    verdicts: pd.DataFrame, n_boot: int = 1000, seed: int = 0, alpha: float = 0.05
) -> dict[str, float]:
    """Krippendorff's alpha (nominal, a / b / tie) of a (rater, pair_key, verdict) frame, bootstrap CI over pairs.

    Pairs rated by fewer than two raters carry no information about agreement and are
    left out (`n_pairs` counts those rated at least twice).
    """
    codes = verdicts.assign(code=verdicts["verdict"].map({v: i for i, v in enumerate(VERDICTS)}).astype(float))
    matrix = codes.pivot_table(index="rater", columns="pair_key", values="code", aggfunc="last").to_numpy(float)
    matrix = matrix[:, (~np.isnan(matrix)).sum(axis=0) >= 2]
    row = {"n_raters": int(codes["rater"].nunique()), "n_pairs": matrix.shape[1], "alpha": _alpha(matrix),
           "alpha_ci_low": np.nan, "alpha_ci_high": np.nan}
    if matrix.shape[1] >= 2 and not math.isnan(row["alpha"]) and n_boot > 0:
        rng = np.random.default_rng(seed)
        draws = [_alpha(matrix[:, rng.integers(0, matrix.shape[1], matrix.shape[1])]) for _ in range(n_boot)]
        draws = np.array([d for d in draws if not math.isnan(d)])
        if len(draws):
            row["alpha_ci_low"], row["alpha_ci_high"] = np.quantile(draws, [alpha / 2, 1 - alpha / 2])
    return row


def rater_agreement(
    pairs: pd.DataFrame,
    ratings: pd.DataFrame,
    by: Sequence[str] = ("task",),
    alpha: float = 0.05,
    n_boot: int = 1000,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Agreement between raters: (pairwise table, Krippendorff table) per group of `by` and "all".

    Pairwise: `by`, `rater_1`, `rater_2`, then the `agreement_stats` columns over the
    pairs both rated. Krippendorff: `by`, `raters` ("humans" or "humans + panel"),
    `n_raters`, `n_pairs` (rated at least twice), `alpha`, `alpha_ci_low/high`.
    """
    by = list(by)
    joined = _rated(pairs, ratings, by)
    pairwise, alphas = [], []
    for key, group in _groups(joined, by):
        wide = group.pivot_table(index="pair_key", columns="rater", values="verdict", aggfunc="last")
        for first, second in itertools.combinations(sorted(wide.columns), 2):
            both = wide[[first, second]].dropna()
            pairwise.append({**key, "rater_1": first, "rater_2": second,
                             **agreement_stats(both[first], both[second], alpha)})
        humans = group[["rater", "pair_key", "verdict"]]
        panel = group.drop_duplicates("pair_key").assign(rater=PANEL, verdict=lambda f: f["winner"])
        for label, frame in (("humans", humans), ("humans + panel", pd.concat([humans, panel[humans.columns]]))):
            alphas.append({**key, "raters": label, **krippendorff_alpha(frame, n_boot, seed, alpha)})
    return (pd.DataFrame(pairwise, columns=by + ["rater_1", "rater_2", *AGREEMENT_COLUMNS]),
            pd.DataFrame(alphas, columns=by + ["raters", "n_raters", "n_pairs", "alpha", "alpha_ci_low",
                                                "alpha_ci_high"]))


def human_majority(ratings: pd.DataFrame) -> pd.DataFrame:
    """Per pair: `n_raters`, `majority` (the unique plurality verdict, None on a split)."""
    require_columns(ratings, ["rater", "pair_key", "verdict"], "ratings frame")
    _check_verdicts(ratings, "verdict", "ratings frame")
    counts = ratings.groupby(["pair_key", "verdict"]).size().unstack("verdict", fill_value=0)
    counts = counts.reindex(columns=list(VERDICTS), fill_value=0)
    top = counts.max(axis=1)
    unique = (counts.eq(top, axis=0)).sum(axis=1) == 1
    majority = [v if ok else None for v, ok in zip(counts.idxmax(axis=1), unique)]
    frame = pd.DataFrame({"pair_key": counts.index.to_numpy(), "n_raters": counts.sum(axis=1).to_numpy(),
                          "majority": pd.Series(majority, dtype=object)})
    return frame


def panel_accuracy(
    pairs: pd.DataFrame, ratings: pd.DataFrame, by: Sequence[str] = ("task",), alpha: float = 0.05
) -> pd.DataFrame:
    """The panel's accuracy against the human majority, per group of `by` and "all".

    Columns: `by`, `n_rated` (pairs with a rating), `n_split` (no unique human
    plurality; left out), `n` (pairs with a majority), `n_correct`, `accuracy` (panel
    winner == majority, ties included), `ci_low/high`, `top_share` (share of the commonest
    majority verdict: near 1, kappa is low whatever the panel does), `kappa`,
    `kappa_ci_low/high` (Cohen's kappa of panel and majority); `n_decisive` (both the panel and
    the majority chose a side), `direction_accuracy` (same side among those),
    `direction_ci_low/high`.
    """
    by = list(by)
    require_columns(pairs, ["pair_key", "winner"] + by, "judged-pairs frame")
    _check_verdicts(pairs, "winner", "judged-pairs frame")
    joined = human_majority(ratings).merge(pairs[["pair_key", "winner"] + by], on="pair_key")
    rows = []
    for key, group in _groups(joined, by):
        has = group[group["majority"].notna()]
        k = int((has["majority"] == has["winner"]).sum())
        decisive = has[has["majority"].isin(["a", "b"]) & has["winner"].isin(["a", "b"])]
        kd = int((decisive["majority"] == decisive["winner"]).sum())
        (low,), (high,) = clopper_pearson(k, len(has), 1 - alpha)
        (dlow,), (dhigh,) = clopper_pearson(kd, len(decisive), 1 - alpha)
        kappa = agreement_stats(has["winner"], has["majority"], alpha)
        rows.append({**key, "n_rated": len(group), "n_split": len(group) - len(has), "n": len(has), "n_correct": k,
                     "accuracy": k / len(has) if len(has) else np.nan, "ci_low": low, "ci_high": high,
                     "top_share": has["majority"].value_counts(normalize=True).max() if len(has) else np.nan,
                     "kappa": kappa["kappa"], "kappa_ci_low": kappa["kappa_ci_low"],
                     "kappa_ci_high": kappa["kappa_ci_high"],
                     "n_decisive": len(decisive), "direction_accuracy": kd / len(decisive) if len(decisive) else np.nan,
                     "direction_ci_low": dlow, "direction_ci_high": dhigh})
    return pd.DataFrame(rows)


def human_win_rates(
    pairs: pd.DataFrame,
    ratings: pd.DataFrame,
    cell: Sequence[str] = ("model", "task"),
    comparison: Sequence[str] = ("contrast",),
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Win rates of side a from the human majority and from the panel, on the same rated pairs.

    Pairs without a human majority (a split) are left out of both. Columns: the
    comparison and cell columns; `n_pairs`; `human_n_a`, `human_n_b`, `human_n_tie`,
    `human_win_rate`, `human_ci_low/high` (per-test Clopper-Pearson), `human_p_value`;
    the same with `panel_`; `same_direction` (both above, both below or both at 0.5).
    """
    keys = list(comparison) + list(cell)
    require_columns(pairs, ["pair_key", "winner"] + keys, "judged-pairs frame")
    majority = human_majority(ratings)
    rated = pairs.merge(majority[majority["majority"].notna()], on="pair_key")
    columns = ["n_a", "n_b", "n_tie", "win_rate", "ci95_low", "ci95_high", "p_value"]
    if rated.empty:
        return pd.DataFrame(columns=keys + ["n_pairs"] + [f"{who}_{c}" for who in ("human", "panel") for c in columns])
    tables = []
    for who, frame in (("human", rated.assign(winner=rated["majority"])), ("panel", rated)):
        table = win_rates(frame, cell=cell, comparison=comparison, alpha=alpha)
        tables.append(table[keys + columns].rename(columns={c: f"{who}_{c}" for c in columns}))
    out = tables[0].merge(tables[1], on=keys)
    out.insert(len(keys), "n_pairs", out[["human_n_a", "human_n_b", "human_n_tie"]].sum(axis=1))
    out = out.rename(columns=lambda c: c.replace("ci95_", "ci_"))
    out["same_direction"] = np.sign(out["human_win_rate"] - 0.5) == np.sign(out["panel_win_rate"] - 0.5)
    return out


def rubric_correlation(
    outputs: pd.DataFrame,
    rating_scores: pd.DataFrame,
    pairs: pd.DataFrame,
    by: Sequence[str] = ("task",),
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Spearman correlation of panel and human rubric scores per (pair, side, criterion).

    The panel's score is the mean over judges, the human one the mean over raters.
    Columns: `by`, `n` (scored units both have), `n_pairs`, `spearman`, `ci_low/high`
    (Fisher z, needs n >= 4), `panel_mean`, `human_mean`.
    """
    by = list(by)
    unit = ["pair_key", "side", "criterion"]
    require_columns(outputs, unit + ["score"], "outputs frame")
    require_columns(rating_scores, unit + ["score"], "rating-scores frame")
    require_columns(pairs, ["pair_key"] + by, "judged-pairs frame")
    panel = outputs.dropna(subset=["score"]).groupby(unit)["score"].mean().rename("panel")
    human = rating_scores.dropna(subset=["score"]).groupby(unit)["score"].mean().rename("human")
    joined = pd.concat([panel, human], axis=1, join="inner").reset_index().merge(pairs[["pair_key"] + by], on="pair_key")
    rows = []
    z = norm.isf(alpha / 2)
    for key, group in _groups(joined, by):
        n = len(group)
        rho = np.nan
        if n >= 3 and group["panel"].nunique() > 1 and group["human"].nunique() > 1:
            rho = float(spearmanr(group["panel"], group["human"]).statistic)
        low = high = np.nan
        if n >= 4 and not math.isnan(rho):
            centre, half = math.atanh(max(min(rho, 0.999999), -0.999999)), z / math.sqrt(n - 3)
            low, high = math.tanh(centre - half), math.tanh(centre + half)
        rows.append({**key, "n": n, "n_pairs": group["pair_key"].nunique(), "spearman": rho, "ci_low": low,
                     "ci_high": high, "panel_mean": group["panel"].mean() if n else np.nan,
                     "human_mean": group["human"].mean() if n else np.nan})
    return pd.DataFrame(rows, columns=by + ["n", "n_pairs", "spearman", "ci_low", "ci_high", "panel_mean",
                                            "human_mean"])
