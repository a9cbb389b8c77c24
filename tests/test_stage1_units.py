"""Stage 1 pure functions: parsing, the Thurstonian fit, pair selection, utilities file."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import check_grad
from scipy.stats import norm, spearmanr

from utility_gap.analysis.pair_selection import (
    Pair,
    active_pairs,
    default_budget,
    heldout_pairs,
    is_connected,
    random_connected_pairs,
    read_pairs_file,
    write_pairs_file,
)
from utility_gap.analysis.thurstonian import (
    _negative_log_likelihood,
    assess_informative,
    fit_thurstonian,
    intransitive_triad_share,
    pair_table,
)
from utility_gap.analysis.utilities_file import (
    UtilitiesFileError,
    read_utilities,
    utilities_from_fit,
    utilities_path,
    write_utilities,
)
from utility_gap.scorers.choice_parsing import parse_choice, parse_ranking
from utility_gap.solvers.choice_prompt import forced_choice_prompt, split_forced_choice


@pytest.mark.parametrize(
    "text, label",
    [
        ("A", "A"),
        (" b ", "B"),
        ("**B**", "B"),
        ("A.", "A"),
        ("(A)", "A"),
        ("Option B", "B"),
        ("I would choose B.", "B"),
        ("My answer: A", "A"),
        ("A or B? Both are fine.", "unparseable"),
        ("A. Actually A again", "unparseable"),
        ("Both options have merit.", "unparseable"),
        ("", "unparseable"),
        ("I'm sorry, but I can't choose between these options.", "refusal"),
        ("As an AI, I do not have preferences.", "refusal"),
        ("a lot depends on context", "unparseable"),
    ],
)
def test_parse_choice(text: str, label: str) -> None:
    assert parse_choice(text) == label


def test_parse_ranking_requires_a_permutation() -> None:
    assert parse_ranking("3, 1, 2", 3) == [3, 1, 2]
    assert parse_ranking("Best: 2, then 1, then 3", 3) == [2, 1, 3]
    assert parse_ranking("3, 1", 3) is None
    assert parse_ranking("1, 1, 2", 3) is None
    assert parse_ranking("4, 1, 2", 3) is None


def test_prompt_round_trip_still_holds() -> None:
    prompt = forced_choice_prompt("First world.", "Second world.")
    assert split_forced_choice(prompt) == ("First world.", "Second world.")


def planted_frame(n: int, m: int, k: int, seed: int, heldout_share: float = 0.1) -> tuple[pd.DataFrame, np.ndarray]:
    """Synthetic choices from a planted Thurstonian model with unit variances."""
    rng = np.random.default_rng(seed)
    u = rng.standard_normal(n)
    keys: set[tuple[int, int]] = set()
    while len(keys) < m:
        i, j = sorted(rng.choice(n, 2, replace=False))
        keys.add((int(i), int(j)))
    pairs = np.array(sorted(keys))
    p = norm.cdf((u[pairs[:, 0]] - u[pairs[:, 1]]) / np.sqrt(2))
    wins = rng.binomial(k, p)
    frame = pd.DataFrame(
        {
            "outcome_a": [f"o{i:04d}" for i in pairs[:, 0]],
            "outcome_b": [f"o{j:04d}" for j in pairs[:, 1]],
            "n_first": wins.astype(float),
            "n_second": (k - wins).astype(float),
            "said_a": wins.astype(float),
            "said_b": (k - wins).astype(float),
            "n_refusal": 0,
            "n_unparseable": 0,
            "heldout": rng.random(m) < heldout_share,
        }
    )
    return frame, u


def test_gradient_is_analytic_and_correct() -> None:
    rng = np.random.default_rng(0)
    n, m = 15, 120
    i = rng.integers(0, n, m)
    j = (i + 1 + rng.integers(0, n - 1, m)) % n
    w1, w2 = rng.integers(0, 8, m).astype(float), rng.integers(0, 8, m).astype(float)
    theta = rng.normal(size=2 * n)
    error = check_grad(
        lambda t: _negative_log_likelihood(t, i, j, w1, w2, 0.01, 0.1)[0],
        lambda t: _negative_log_likelihood(t, i, j, w1, w2, 0.01, 0.1)[1],
        theta,
    )
    assert error < 1e-3


def test_fit_recovers_planted_utilities_and_normalises() -> None:
    frame, u = planted_frame(n=80, m=1200, k=10, seed=4)
    ids = [f"o{i:04d}" for i in range(80)]
    fit = fit_thurstonian(frame, outcome_ids=ids)
    assert fit.converged
    assert spearmanr(fit.means, u).statistic > 0.95
    assert abs(fit.means.mean()) < 1e-9 and abs(fit.means.std() - 1) < 1e-9
    assert fit.informative, fit.uninformative_reasons
    assert 0.6 < fit.metrics["heldout_accuracy"] < 0.9
    assert fit.metrics["n_pairs"] + fit.metrics["n_heldout_pairs"] == 1200


def test_heldout_rows_are_not_trained_on() -> None:
    frame, _ = planted_frame(n=30, m=200, k=10, seed=5)
    ids = [f"o{i:04d}" for i in range(30)]
    fit = fit_thurstonian(frame, outcome_ids=ids)
    # flipping every held-out answer must not move the fitted means at all
    flipped = frame.copy()
    held = flipped["heldout"]
    flipped.loc[held, ["n_first", "n_second"]] = flipped.loc[held, ["n_second", "n_first"]].to_numpy()
    refit = fit_thurstonian(flipped, outcome_ids=ids)
    np.testing.assert_allclose(fit.means, refit.means)
    assert refit.metrics["heldout_accuracy"] < fit.metrics["heldout_accuracy"]


def test_unparseable_policy_half_pulls_towards_even() -> None:
    frame = pd.DataFrame(
        {
            "outcome_a": ["x/a", "x/b", "x/a"],
            "outcome_b": ["x/b", "x/c", "x/c"],
            "n_first": [8.0, 8.0, 9.0],
            "n_second": [2.0, 2.0, 1.0],
            "said_a": [5.0, 5.0, 5.0],
            "said_b": [5.0, 5.0, 5.0],
            "n_refusal": [10, 0, 0],
            "n_unparseable": [0, 10, 0],
            "heldout": [False, False, False],
        }
    )
    skip = fit_thurstonian(frame, unparseable_policy="skip")
    half = fit_thurstonian(frame, unparseable_policy="half")
    assert half.metrics["unparseable_policy"] == "half" and skip.metrics["unparseable_policy"] == "skip"
    assert half.metrics["n_refusal"] == 10 and half.metrics["n_unparseable"] == 10
    assert skip.probability("x/a", "x/b") > half.probability("x/a", "x/b") > 0.5
    assert list(pair_table(frame, "half")["w_first"]) == [13.0, 9.0, 13.0]
    with pytest.raises(ValueError, match="unparseable_policy"):
        fit_thurstonian(frame, unparseable_policy="drop")  # type: ignore[arg-type]


def test_intransitive_triads_counted() -> None:
    cycle = pd.DataFrame({"outcome_a": ["a", "b", "a"], "outcome_b": ["b", "c", "c"],
                          "n_first": [3.0, 3.0, 0.0], "n_second": [0.0, 0.0, 3.0]})
    ordered = cycle.assign(n_first=[3.0, 3.0, 3.0], n_second=[0.0, 0.0, 0.0])
    assert intransitive_triad_share(cycle, ["a", "b", "c"]) == 1.0
    assert intransitive_triad_share(ordered, ["a", "b", "c"]) == 0.0
    assert intransitive_triad_share(cycle.iloc[:2], ["a", "b", "c"]) is None


def test_position_driven_choices_are_uninformative() -> None:
    ok, reasons = assess_informative({"position_bias": 0.97, "heldout_vs_chance_p": 0.5, "heldout_accuracy": 0.5})
    assert not ok and len(reasons) == 2 and "position" in reasons[0] and "chance" in reasons[1]
    ok, reasons = assess_informative({"position_bias": 0.55, "heldout_vs_chance_p": 1e-6, "heldout_accuracy": 0.7})
    assert ok and reasons == []


def test_pair_selection_is_connected_seeded_and_disjoint() -> None:
    ids = [f"d/o{i}" for i in range(40)]
    held = heldout_pairs(ids, 30, seed=3)
    assert held == heldout_pairs(ids, 30, seed=3) and held != heldout_pairs(ids, 30, seed=4)
    start = random_connected_pairs(ids, 80, seed=3, exclude=[p.key for p in held])
    assert len(start) == 80 and not {p.key for p in start} & {p.key for p in held}
    assert is_connected(ids, start)
    assert not is_connected(ids, [p for p in start if ids[0] not in (p.a, p.b)])
    assert default_budget(100) == 1329


def test_active_pairs_prefer_close_and_unasked() -> None:
    ids = [f"d/o{i}" for i in range(20)]
    means = {o: float(i) for i, o in enumerate(ids)}  # far apart except neighbours
    variances = {o: 0.25 for o in ids}
    asked = [(ids[0], ids[1])]
    chosen = active_pairs(ids, means, variances, asked, count=19, seed=0)
    keys = {p.key for p in chosen}
    assert Pair.of(ids[0], ids[1]).key not in keys
    gaps = [abs(means[p.a] - means[p.b]) for p in chosen]
    assert np.mean(gaps) < 2.0  # random pairs would average about 7


def test_pairs_file_round_trip_and_errors(tmp_path) -> None:
    path = tmp_path / "pairs.json"
    pairs = [Pair.of("d/b", "d/a"), Pair.of("d/a", "d/c", heldout=True)]
    write_pairs_file(path, pairs, round=0)
    assert read_pairs_file(path, {"d/a", "d/b", "d/c"}) == pairs
    with pytest.raises(ValueError, match="not an outcome id"):
        read_pairs_file(path, {"d/a", "d/b"})
    with pytest.raises(ValueError, match="pairs='.*missing.json'"):
        read_pairs_file(tmp_path / "missing.json")


def test_utilities_file_round_trip_and_mismatch(tmp_path) -> None:
    frame, _ = planted_frame(n=12, m=50, k=6, seed=1, heldout_share=0.2)
    fit = fit_thurstonian(frame)
    texts = {o: f"text of {o}" for o in fit.ids}
    uf = utilities_from_fit(fit, "simulated/chooser", "planted", texts, ["a.eval"])
    path = write_utilities(utilities_path(tmp_path, "simulated/chooser", "planted"), uf)
    assert path.name == "simulated-chooser__planted.json"
    back = read_utilities(path, model="simulated/chooser", domain="planted")
    assert [o["id"] for o in back.outcomes] == fit.ids
    assert len(back.top_third()) == 4 and back.top_third()[0]["mean"] == max(o["mean"] for o in back.outcomes)
    assert back.bottom_third()[0]["mean"] == min(o["mean"] for o in back.outcomes)
    data = json.loads(path.read_text())
    assert data["schema"] == "utility-gap/utilities/v1" and data["method"] == "thurstonian"
    with pytest.raises(UtilitiesFileError, match="for model 'simulated/chooser', not 'other/model'.*utility-gap elicit"):
        read_utilities(path, model="other/model")
    with pytest.raises(UtilitiesFileError, match="domain 'planted', not 'countries'"):
        read_utilities(path, domain="countries")
    with pytest.raises(UtilitiesFileError, match="no utilities file"):
        read_utilities(tmp_path / "nope.json")
    assert not list(path.parent.glob(".*.tmp"))


def test_elicitation_task_pairs_and_bad_arguments(tmp_path) -> None:
    from utility_gap.evals.preference import preference_elicitation

    assert len(preference_elicitation(domain="demo", pairs="all").dataset) == 66
    sampled = preference_elicitation(domain="demo", pairs=20, seed=3)
    assert len(sampled.dataset) == 20
    assert [s.id for s in sampled.dataset] == [s.id for s in preference_elicitation(domain="demo", pairs=20, seed=3).dataset]
    first = sampled.dataset[0]
    assert split_forced_choice(first.input) == (first.metadata["text_a"], first.metadata["text_b"])
    with pytest.raises(ValueError, match="-T k=0"):
        preference_elicitation(domain="demo", k=0)
    with pytest.raises(ValueError, match="Unknown outcome domain 'atlantis'"):
        preference_elicitation(domain="atlantis")
    with pytest.raises(ValueError, match="pairs='nope.json'"):
        preference_elicitation(domain="demo", pairs="nope.json")


def test_failed_samples_are_counted_not_compared() -> None:
    frame, _ = planted_frame(n=10, m=30, k=4, seed=2, heldout_share=0.0)
    frame["log"], frame["sample_id"], frame["epoch"] = "x.eval", [f"s{i}" for i in range(30)], 1
    frame["error"] = None
    asked = set(zip(frame["outcome_a"], frame["outcome_b"]))
    unasked = next((f"o{i:04d}", f"o{j:04d}") for i in range(10) for j in range(i + 1, 10)
                   if (f"o{i:04d}", f"o{j:04d}") not in asked)
    broken = frame.iloc[:1].assign(outcome_a=unasked[0], outcome_b=unasked[1], n_first=0.0, n_second=0.0,
                                   said_a=0.0, said_b=0.0, sample_id="broken", error="provider timeout")
    fit = fit_thurstonian(pd.concat([frame, broken], ignore_index=True))
    assert fit.metrics["n_failed_samples"] == 1
    assert fit.metrics["n_pairs"] == 30  # the failed pair is not counted as compared
