"""Why did side a win: paired text-feature differences and length-controlled win rates.

Blind LLM judges are known to prefer longer answers, so a contrast whose side a writes
longer texts can win for that reason alone. Three pure statistics over frames answer
the question (inputs: the judged-pairs frame and the features frame of
`analysis/frames/texts.py`, joined by `paired_features`):

- `feature_deltas`: per group (by default each model x task x contrast cell, or per
  contrast over all cells) and feature, the mean paired difference a - b with a
  cluster-robust confidence interval (pairs of one item share its topic, so pairs are
  clustered by item; the interval is a t interval with G - 1 degrees of freedom, G =
  items), the standardised effect d_z = mean difference / sd of the differences, and a
  Holm-adjusted p-value over the features of each group.
- `length_controlled_win_rates`: a logistic regression of "a wins" (decisive pairs) on
  the length difference `length_diff = log2((words_a + 1) / (words_b + 1))` (1 = side
  a twice as long), optionally with other feature differences:

      P(a wins) = logistic(b0 + b1 * length_diff [+ b2 * other_diff ...])

  The length-controlled win rate is logistic(b0): the win rate of two texts of equal
  length. Its interval is logistic(b0 +- z * se(b0)) with cluster-robust standard
  errors by item (statsmodels `Logit`, `cov_type="cluster"`). Beside it, the raw win
  rate with an interval from the intercept-only model of the same pairs and the same
  clusters, so the two are comparable. `b1` is the change in log-odds per doubling of
  relative length. When nearly every pair has side a longer (or shorter), zero length
  difference lies outside the data and logistic(b0) is an extrapolation: `extrapolated`
  says so (fewer than 5% of pairs on one side of zero). When the length difference
  separates the winners (no finite maximum-likelihood fit), `separation` says how: the
  longer (or shorter) text won every decisive pair, so length alone accounts for the
  winners; or side a (or b) won every pair up to some length difference beyond zero, so
  it won at equal length too, with no finite estimate or interval.
- `judge_length_bias`: per judge, the share of its decisive verdicts that went to the
  longer text, overall and (when rubric scores exist) among pairs of near-equal rubric
  score, with an exact binomial test against 0.5.

`length_control_verdict` words the comparison per row: whether an effect survives.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from scipy.special import expit
from statsmodels.stats.multitest import multipletests
from statsmodels.tools.sm_exceptions import PerfectSeparationError, PerfectSeparationWarning

from utility_gap.analysis.text_features import FEATURES
from utility_gap.analysis.win_rates import binomial_pvalue, check_winners, cheap_gc, clopper_pearson, require_columns

LENGTH = "length"  # the covariate name for length_diff
LENGTH_DIFF = "length_diff"
MIN_PAIRS = 10  # fewer decisive pairs with texts: no logistic fit
EXTRAPOLATION_SHARE = 0.05
DEFAULT_CELL: tuple[str, ...] = ("model", "task", "contrast")
LONGER_RATIO = 1.1  # a text is "longer" when it has at least 10% more words
EQUAL_RUBRIC = 0.5  # rubric means within this many points count as near-equal quality

LC_COLUMNS: tuple[str, ...] = (
    "n_pairs", "n_tie", "n_no_text", "n", "n_a", "raw_win_rate", "raw_ci_low", "raw_ci_high",
    "lc_win_rate", "lc_ci_low", "lc_ci_high", "lc_p_value", "length_slope", "length_slope_ci_low",
    "length_slope_ci_high", "length_slope_p", "mean_length_diff", "share_a_longer", "share_b_longer",
    "extrapolated", "separation", "covariates", "n_clusters", "note",
)
DELTA_COLUMNS: tuple[str, ...] = (
    "feature", "n", "n_missing", "mean_a", "mean_b", "mean_diff", "ci_low", "ci_high", "p_value", "p_holm",
    "sd_diff", "d_z", "n_clusters", "note",
)


def length_ratio(words_a: pd.Series | np.ndarray, words_b: pd.Series | np.ndarray) -> np.ndarray:
    """log2((words_a + 1) / (words_b + 1)): 0 at equal length, 1 when a is about twice as long."""
    a = np.asarray(words_a, dtype=float)
    b = np.asarray(words_b, dtype=float)
    return np.log2((a + 1.0) / (b + 1.0))


def paired_features(pairs: pd.DataFrame, features: pd.DataFrame) -> pd.DataFrame:
    """The judged pairs with each feature of both sides: `<f>_a`, `<f>_b`, `<f>_diff` (a - b).

    Adds `length_diff` (see the module docstring), `text_a` / `text_b` (the side's output
    is in the log), `texts_present` (both are) and `empty_a` / `empty_b`. Every judged
    pair is kept; a pair whose outputs are missing has NaN features, so it is counted
    (`n_no_text`, `n_missing`) rather than dropped.
    """
    require_columns(pairs, ["pair_key", "winner"], "judged-pairs frame")
    require_columns(features, ["pair_key", "side", "present", "empty"] + list(FEATURES), "features frame")
    sides = {}
    for side in ("a", "b"):
        part = features[features["side"] == side].drop_duplicates("pair_key").set_index("pair_key")
        part = part[["present", "empty"] + list(FEATURES)]
        sides[side] = part.rename(columns={c: f"{c}_{side}" for c in part.columns})
    wide = pairs.join(sides["a"], on="pair_key").join(sides["b"], on="pair_key")
    for side in ("a", "b"):
        wide[f"text_{side}"] = wide.pop(f"present_{side}").fillna(False).astype(bool)
        wide[f"empty_{side}"] = wide[f"empty_{side}"].fillna(False).astype(bool)
    wide["texts_present"] = wide["text_a"] & wide["text_b"]
    for name in FEATURES:
        wide[f"{name}_diff"] = wide[f"{name}_a"] - wide[f"{name}_b"]
    wide[LENGTH_DIFF] = length_ratio(wide["words_a"], wide["words_b"])
    return wide


def _cluster_codes(frame: pd.DataFrame, cluster: str | Sequence[str] | None) -> np.ndarray:
    if cluster is None:
        return np.arange(len(frame))
    columns = [cluster] if isinstance(cluster, str) else list(cluster)
    return frame.groupby(columns, sort=False, dropna=False).ngroup().to_numpy()


def feature_deltas(
    paired: pd.DataFrame,
    by: Sequence[str] = DEFAULT_CELL,
    features: Sequence[str] = tuple(FEATURES),
    alpha: float = 0.05,
    cluster: str | Sequence[str] | None = "item_id",
) -> pd.DataFrame:
    """Mean paired difference (a - b) of each feature per group, with a cluster-robust CI.

    Columns: `by`, then `DELTA_COLUMNS`: `n` (pairs with the feature on both sides),
    `n_missing` (pairs of the group without it: missing output, or undefined for an
    empty text), `mean_a`, `mean_b`, `mean_diff`, `ci_low`/`ci_high` (level 1 - alpha),
    `p_value` (t test of mean_diff = 0), `p_holm` (Holm-adjusted over the features of the
    group: with a dozen features, one in twenty intervals excludes 0 by chance alone),
    `sd_diff`, `d_z`, `n_clusters`, `note` (why
    there is no d_z: no pair or one pair has the feature on both sides, or every pair
    has the same difference, e.g. no difference at all; "" otherwise).

    The variance of the mean is the cluster-robust (CR1) one of an intercept-only
    regression, G/(G-1) * sum_g (sum_i e_i)^2 / n^2, which with one pair per cluster is
    the ordinary paired-t variance.
    """
    by = list(by)
    columns = [f"{f}_diff" for f in features] + [f"{f}_a" for f in features] + [f"{f}_b" for f in features]
    require_columns(paired, by + columns, "paired-features frame")
    base = paired[by].copy()
    base["_cluster"] = _cluster_codes(paired, cluster)
    long = []
    for name in features:
        part = base.copy()
        part["feature"] = name
        part["diff"] = paired[f"{name}_diff"].to_numpy(dtype=float)
        part["a"] = paired[f"{name}_a"].to_numpy(dtype=float)
        part["b"] = paired[f"{name}_b"].to_numpy(dtype=float)
        long.append(part)
    data = pd.concat(long, ignore_index=True)
    keys = by + ["feature"]
    sizes = data.groupby(keys, sort=False, dropna=False).size().rename("_size")
    data = data[data["diff"].notna()]
    grouped = data.groupby(keys, sort=False, dropna=False)
    table = grouped.agg(
        n=("diff", "size"), mean_a=("a", "mean"), mean_b=("b", "mean"), mean_diff=("diff", "mean"),
        sd_diff=("diff", "std"), n_clusters=("_cluster", "nunique"),
    )
    data = data.join(table["mean_diff"], on=keys)
    data["_resid"] = data["diff"] - data["mean_diff"]
    cluster_sums = data.groupby(keys + ["_cluster"], sort=False, dropna=False)["_resid"].sum()
    meat = (cluster_sums**2).groupby(level=list(range(len(keys))), sort=False, dropna=False).sum()
    table = table.join(meat.rename("_meat"))
    table = sizes.to_frame().join(table, how="left").reset_index()
    g = table["n_clusters"].astype(float)
    n = table["n"].astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(g / (g - 1) * table["_meat"] / n**2)
        se = se.where(g > 1)
        t = table["mean_diff"] / se
        crit = stats.t.ppf(1 - alpha / 2, g - 1)
        table["ci_low"] = table["mean_diff"] - crit * se
        table["ci_high"] = table["mean_diff"] + crit * se
        table["p_value"] = np.where(se > 0, 2 * stats.t.sf(np.abs(t), g - 1), np.where(table["mean_diff"].abs() > 0, 0.0, 1.0))
        table["p_value"] = table["p_value"].where(g > 1)
        table["d_z"] = (table["mean_diff"] / table["sd_diff"]).where(table["sd_diff"] > 0)
    table["n"] = table["n"].fillna(0).astype(int)
    table["n_clusters"] = table["n_clusters"].fillna(0).astype(int)
    table["n_missing"] = (table["_size"] - table["n"]).astype(int)
    table["note"] = np.select(
        [table["n"] == 0, table["d_z"].notna(), table["n"] == 1, table["mean_diff"] == 0],
        ["not measured in any pair", "", "one pair only", "no difference in any pair"],
        "the same difference in every pair",
    )
    table["p_holm"] = np.nan
    with cheap_gc():  # Holm's gc.collect() per family: 0.4 s each with a 50k-pair study's frames in memory
        for _, rows in table.groupby(by, sort=False, dropna=False) if by else [((), table)]:
            tested = rows["p_value"].dropna()
            if len(tested):
                table.loc[tested.index, "p_holm"] = multipletests(tested, method="holm")[1]
    order = {name: i for i, name in enumerate(features)}
    table = table.sort_values(by + ["feature"], key=lambda s: s.map(order) if s.name == "feature" else s)
    return table[by + list(DELTA_COLUMNS)].reset_index(drop=True)


def fit_logit(y: np.ndarray, x: np.ndarray | None, groups: np.ndarray) -> tuple[object | None, str]:
    """A logit fit with cluster-robust errors (model-based with fewer than 2 clusters), or a note why not."""
    exog = np.ones((len(y), 1)) if x is None else np.column_stack([np.ones(len(y)), x])
    n_groups = len(np.unique(groups))
    kwargs: dict = {"disp": 0, "maxiter": 100}
    if n_groups >= 2:
        kwargs.update(cov_type="cluster", cov_kwds={"groups": groups})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", PerfectSeparationWarning)
        try:
            result = sm.Logit(y, exog).fit(**kwargs)
        except (PerfectSeparationError, PerfectSeparationWarning, np.linalg.LinAlgError):
            return None, "perfect separation: the covariates decide every pair"
    if not result.mle_retvals.get("converged", False):
        return None, "the fit did not converge (quasi-separation: some outcome is decided by one side)"
    if not np.all(np.isfinite(result.bse)):
        return None, "the fit did not give finite standard errors"
    return result, ""


def coefficient(result: object, index: int, alpha: float) -> tuple[float, float, float, float]:
    """(estimate, ci_low, ci_high, p) of one coefficient on the log-odds scale."""
    estimate = float(result.params[index])
    se = float(result.bse[index])
    z = stats.norm.ppf(1 - alpha / 2)
    return estimate, estimate - z * se, estimate + z * se, float(result.pvalues[index])


def win_rate_interval(y: np.ndarray, groups: np.ndarray, alpha: float) -> tuple[float, float]:
    """Interval of a win rate (share of 1s in `y`), clustered like the length-controlled one.

    The intercept-only logit with cluster-robust errors, on the same pairs and clusters
    as the length-controlled fit; when one side won every pair (no finite intercept),
    the exact Clopper-Pearson interval.
    """
    n, k = len(y), int(np.sum(y))
    fit = fit_logit(y, None, groups)[0] if 0 < k < n else None
    if fit is None:
        low, high = clopper_pearson(k, n, 1 - alpha)
        return float(low[0]), float(high[0])
    _, low, high, _ = coefficient(fit, 0, alpha)
    return float(expit(low)), float(expit(high))


def _covariate_columns(covariates: Sequence[str]) -> list[str]:
    out = []
    for name in covariates:
        if name == LENGTH:
            out.append(LENGTH_DIFF)
        elif name in FEATURES:
            out.append(f"{name}_diff")
        else:
            raise ValueError(f"Unknown covariate {name!r}: use 'length' or a feature name ({', '.join(FEATURES)}).")
    return out


def _lc_row(group: pd.DataFrame, covariates: list[str], cluster: str | Sequence[str] | None, alpha: float) -> dict:
    row: dict = {"n_pairs": len(group), "n_tie": int((group["winner"] == "tie").sum())}
    decisive = group[group["winner"].isin(["a", "b"])]
    usable = decisive.dropna(subset=covariates)
    row["n_no_text"] = len(decisive) - len(usable)
    n = len(usable)
    y = (usable["winner"] == "a").to_numpy(dtype=float)
    x = usable[covariates].to_numpy(dtype=float)
    length = usable[LENGTH_DIFF].to_numpy(dtype=float) if LENGTH_DIFF in covariates else np.array([])
    row.update(n=n, n_a=int(y.sum()), raw_win_rate=y.mean() if n else np.nan, covariates=",".join(covariates))
    row["mean_length_diff"] = float(length.mean()) if len(length) else np.nan
    row["share_a_longer"] = float((length > 0).mean()) if len(length) else np.nan
    row["share_b_longer"] = float((length < 0).mean()) if len(length) else np.nan
    row["extrapolated"] = bool(
        len(length) and ((length <= 0).mean() < EXTRAPOLATION_SHARE or (length >= 0).mean() < EXTRAPOLATION_SHARE)
    )
    groups = _cluster_codes(usable, cluster)
    row["n_clusters"] = int(len(np.unique(groups)))
    row["separation"] = ""
    nan_fields = ("raw_ci_low", "raw_ci_high", "lc_win_rate", "lc_ci_low", "lc_ci_high", "lc_p_value",
                  "length_slope", "length_slope_ci_low", "length_slope_ci_high", "length_slope_p")
    row.update({name: np.nan for name in nan_fields})
    if n == 0:
        row["note"] = "no decisive pair with both texts"
        return row
    row["raw_ci_low"], row["raw_ci_high"] = win_rate_interval(y, groups, alpha)
    if n < MIN_PAIRS:
        row["note"] = f"only {n} decisive pairs with texts (a fit needs {MIN_PAIRS})"
        return row
    if row["n_a"] in (0, n):
        row["note"] = "one side won every pair: no logistic fit"
        return row
    constant = [c for c, values in zip(covariates, x.T) if np.nanstd(values) == 0]
    if constant:
        row["note"] = f"{', '.join(constant)} does not vary across pairs: its effect cannot be separated"
        return row
    fit, note = fit_logit(y, x, groups)
    if fit is None:
        row["note"] = note
        if covariates == [LENGTH_DIFF]:
            row["separation"], row["note"] = separation(y, length, note)
        return row
    estimate, low, high, p = coefficient(fit, 0, alpha)
    row.update(lc_win_rate=float(expit(estimate)), lc_ci_low=float(expit(low)), lc_ci_high=float(expit(high)), lc_p_value=p)
    if LENGTH_DIFF in covariates:
        slope, s_low, s_high, s_p = coefficient(fit, 1 + covariates.index(LENGTH_DIFF), alpha)
        row.update(length_slope=slope, length_slope_ci_low=s_low, length_slope_ci_high=s_high, length_slope_p=s_p)
    row["note"] = "extrapolated: zero length difference lies at the edge of the data" if row["extrapolated"] else ""
    return row


def separation(y: np.ndarray, length: np.ndarray, note: str) -> tuple[str, str]:
    """(kind, note) of a length-only fit without a finite estimate; kind "" when the winners are not separated.

    The winners are separated when a threshold on the length difference puts every win
    of side a on one side of it and every win of side b on the other (ties at the
    threshold allowed: quasi-separation). Where the threshold lies says what the data
    show: at zero (between the pairs side a won and lost), the longer text (`"longer"`)
    or the shorter (`"shorter"`) won every decisive pair, so length alone accounts for
    every winner; beyond zero, one side (`"a"` / `"b"`) won every pair up to that
    length difference, including all pairs at equal length and some in which it was the
    shorter (or longer) text, so it is better at equal length too.
    """
    wins_a, wins_b = length[y == 1], length[y == 0]
    for direction in (1, -1):  # 1: side a wins the larger length differences; -1: the smaller
        a_side, b_side = direction * wins_a, direction * wins_b
        low, high = b_side.max(), a_side.min()  # the threshold lies in [low, high]
        if low > high:
            continue
        if low <= 0 <= high:
            kind = "longer" if direction == 1 else "shorter"
            return kind, f"separation: the {kind} text won every decisive pair (length alone accounts for every winner)"
        side = "a" if high < 0 else "b"
        edge = high if side == "a" else low  # beyond zero, in side a's direction of the length difference
        against = int((a_side < 0).sum()) if side == "a" else int((b_side > 0).sum())
        ratio = 2.0 ** (direction * edge)
        worse = "shorter" if direction == 1 else "longer"  # against the way length decides the other pairs
        return side, (
            f"separation: side {side} won every decisive pair in which it was the {worse} text by up to a "
            f"length ratio of {max(ratio, 1 / ratio):.2f} ({against} such pair(s)), so every pair at equal "
            "length: no finite estimate or interval"
        )
    return "", note


def length_controlled_win_rates(
    paired: pd.DataFrame,
    by: Sequence[str] = DEFAULT_CELL,
    covariates: Sequence[str] = (LENGTH,),
    alpha: float = 0.05,
    cluster: str | Sequence[str] | None = "item_id",
) -> pd.DataFrame:
    """Raw and length-controlled win rates of side a per group (see the module docstring).

    `paired` is `paired_features(...)` output. `covariates`: `"length"` (the log2 length
    ratio) and/or feature names (their raw a - b differences). Columns: `by`, then
    `LC_COLUMNS`: `n_pairs` (in the group), `n_tie`, `n_no_text` (decisive pairs
    without both texts: counted, not fitted), `n` (fitted), `n_a`, `raw_win_rate` and
    its interval, `lc_win_rate` and its interval, `lc_p_value` (Wald, b0 = 0),
    `length_slope` (b1, log-odds per doubling) with interval and p, `mean_length_diff`,
    `share_a_longer`, `share_b_longer`, `extrapolated`, `separation` (with the length
    difference alone as covariate and no finite fit: "longer"/"shorter" when that text
    won every decisive pair, "a"/"b" when that side won every pair at equal length; see
    `separation`), `covariates`, `n_clusters`, `note` (why a fit is missing, or that it
    extrapolates).
    """
    by = list(by)
    columns = _covariate_columns(covariates)
    require_columns(paired, by + ["winner", LENGTH_DIFF] + columns, "paired-features frame")
    check_winners(paired, "paired-features frame")
    cluster_columns = [] if cluster is None else ([cluster] if isinstance(cluster, str) else list(cluster))
    require_columns(paired, cluster_columns, "paired-features frame")
    rows = []
    groups = paired.groupby(by, sort=True, dropna=False) if by else [((), paired)]
    for key, group in groups:
        key = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(by, key)), **_lc_row(group, columns, cluster, alpha)})
    return pd.DataFrame(rows, columns=by + list(LC_COLUMNS))


def length_control_verdict(row: pd.Series | dict) -> str:
    """Whether side a's raw advantage (or disadvantage) survives control for length, in words."""
    raw_low, raw_high = row["raw_ci_low"], row["raw_ci_high"]
    lc, lc_low, lc_high = row["lc_win_rate"], row["lc_ci_low"], row["lc_ci_high"]
    if pd.isna(raw_low):
        return "no decisive pairs with texts"
    raw_side = "a" if raw_low > 0.5 else "b" if raw_high < 0.5 else None
    separated = row.get("separation") or ""
    if pd.isna(lc) and separated in ("longer", "shorter"):
        return (
            f"not length-controlled: the {separated} text won every decisive pair, so the winners cannot be told "
            "apart from a preference for length"
        )
    if pd.isna(lc) and separated in ("a", "b"):
        lead = ("survives length control" if separated == raw_side else "no raw effect" if raw_side is None
                else "reverses under length control")
        return f"{lead}: side {separated} won every decisive pair at equal length (separation: no estimate or interval)"
    if pd.isna(lc):
        note = row.get("note") or "no fit"
        return f"not length-controlled ({note})"
    lc_side = "a" if lc_low > 0.5 else "b" if lc_high < 0.5 else None
    caveat = " (extrapolated: few pairs at equal length)" if bool(row.get("extrapolated")) else ""
    if raw_side is None and lc_side is None:
        return "no effect, raw or at equal length" + caveat
    if raw_side is None:
        return f"no raw effect; at equal length side {lc_side} is better" + caveat
    if lc_side == raw_side:
        return f"survives length control: side {raw_side} is better at equal length too" + caveat
    if lc_side is None:
        return (
            f"does not survive length control: at equal length the win rate is {lc:.2f}, "
            f"not distinguishable from 0.5" + caveat
        )
    return f"reverses under length control: at equal length side {lc_side} is better" + caveat


def judge_length_bias(
    verdicts: pd.DataFrame,
    lengths: pd.DataFrame,
    rubric: pd.DataFrame | None = None,
    min_ratio: float = LONGER_RATIO,
    equal_rubric: float = EQUAL_RUBRIC,
) -> pd.DataFrame:
    """Per judge: how often its decisive verdict went to the longer text.

    `verdicts`: the judge-verdicts frame (`pair_key`, `judge`, `judge_verdict`);
    `lengths`: one row per pair with `pair_key`, `words_a`, `words_b` (e.g.
    `paired_features` output); `rubric` (optional): one row per (pair_key, side) with a
    mean rubric `score` (`effect_sizes.output_scores`). A pair counts when one text has
    at least `min_ratio` times the other's words. Columns: `judge`, `longer_pairs`,
    `longer_win_rate`, `longer_p` (exact binomial against 0.5), and, with rubric scores,
    `equal_rubric_pairs`, `longer_win_rate_equal_rubric`, `longer_p_equal_rubric`
    (pairs whose mean rubric scores differ by at most `equal_rubric`).
    """
    require_columns(verdicts, ["pair_key", "judge", "judge_verdict"], "judge-verdicts frame")
    require_columns(lengths, ["pair_key", "words_a", "words_b"], "lengths frame")
    combined = verdicts.drop_duplicates(["pair_key", "judge"])[["pair_key", "judge", "judge_verdict"]]
    size = lengths.drop_duplicates("pair_key").set_index("pair_key")[["words_a", "words_b"]]
    data = combined.join(size, on="pair_key")
    ratio = (data["words_a"] + 1) / (data["words_b"] + 1)
    longer = np.where(ratio >= min_ratio, "a", np.where(ratio <= 1 / min_ratio, "b", None))
    data = data.assign(longer=longer)
    data = data[data["longer"].notna() & data["judge_verdict"].isin(["a", "b"])]
    data = data.assign(longer_won=data["judge_verdict"] == data["longer"])
    equal = None
    if rubric is not None and len(rubric):
        require_columns(rubric, ["pair_key", "side", "score"], "rubric scores")
        means = rubric.pivot_table(index="pair_key", columns="side", values="score", aggfunc="mean")
        if {"a", "b"} <= set(means.columns):
            gap = (means["a"] - means["b"]).abs()
            equal = set(gap[gap <= equal_rubric].index)
    rows = []
    for judge in sorted(verdicts["judge"].dropna().unique()):
        mine = data[data["judge"] == judge]
        row = {"judge": judge, **_share(mine["longer_won"], "")}
        if equal is not None:
            row.update(_share(mine.loc[mine["pair_key"].isin(equal), "longer_won"], "_equal_rubric"))
        rows.append(row)
    columns = ["judge", "longer_pairs", "longer_win_rate", "longer_p"]
    if equal is not None:
        columns += ["equal_rubric_pairs", "longer_win_rate_equal_rubric", "longer_p_equal_rubric"]
    return pd.DataFrame(rows, columns=columns)


def _share(won: pd.Series, suffix: str) -> dict:
    n, k = len(won), int(won.sum())
    pairs = "longer_pairs" if not suffix else f"{suffix.lstrip('_')}_pairs"
    return {
        pairs: n,
        f"longer_win_rate{suffix}": k / n if n else np.nan,
        f"longer_p{suffix}": binomial_pvalue(k, n) if n else np.nan,
    }
