"""The position-aware fit and the pair-level metrics, on choices drawn from a planted chooser.

The planted chooser (tests/planted_choices.py) answers as `simulated/chooser` does:
P(first shown chosen) = Phi((u_first - u_second + position_bias) / sqrt(var_1 + var_2)).
Both orders of every pair are asked. A fit without the position term cannot represent
the bias: its held-out log-loss degrades and the variances absorb the bias. The tests
plant the bias and assert that the position term removes those symptoms, recovers the
planted beta (on the normalised utility scale: position_bias / sd(u)), and leaves the
ranking no worse; with no bias planted, beta's interval covers 0.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from planted_choices import PlantedChooser
from utility_gap.analysis.pair_selection import default_budget, default_heldout, heldout_pairs, random_connected_pairs
from utility_gap.analysis.thurstonian import assess_informative, fit_thurstonian

N = 60


def planted_fit_inputs(bias: float, seed: int = 1, k: int = 5, logprob: bool = False, unequal: bool = True):
    chooser = PlantedChooser.draw(N, seed, position_bias=bias, unequal_variances=unequal)
    index = {o: n for n, o in enumerate(chooser.ids)}
    budget = default_budget(N)
    held = heldout_pairs(chooser.ids, 3 * default_heldout(budget, N), seed)
    train = random_connected_pairs(chooser.ids, budget, seed, exclude=[p.key for p in held])
    pairs = held + train
    i = np.array([index[p.a] for p in pairs])
    j = np.array([index[p.b] for p in pairs])
    frame = chooser.choices(i, j, k, np.random.default_rng(seed), np.array([p.heldout for p in pairs]), logprob=logprob)
    return chooser, frame


@pytest.fixture(scope="module")
def fits():
    out = {}
    for bias in (0.0, 2.0):
        chooser, frame = planted_fit_inputs(bias)
        out[bias] = (chooser, fit_thurstonian(frame, outcome_ids=chooser.ids, position=False),
                     fit_thurstonian(frame, outcome_ids=chooser.ids))
    return out


def test_position_term_restores_heldout_log_loss_and_variances(fits) -> None:
    _, _, unbiased = fits[0.0]
    chooser, plain, with_term = fits[2.0]
    assert with_term.metrics["position_term"] and not plain.metrics["position_term"]
    # without the term the bias shows up as a worse held-out log-loss ...
    assert plain.metrics["heldout_log_loss"] > unbiased.metrics["heldout_log_loss"] + 0.08
    # ... with it, held-out log-loss is back to (at most) the unbiased level
    assert with_term.metrics["heldout_log_loss"] <= unbiased.metrics["heldout_log_loss"] + 0.02
    assert with_term.metrics["heldout_calibration_error"] < 0.05 < plain.metrics["heldout_calibration_error"]
    var_plain = spearmanr(plain.variances, chooser.variances).statistic
    var_term = spearmanr(with_term.variances, chooser.variances).statistic
    assert var_term > var_plain + 0.3 and var_term > 0.6
    rho_plain = spearmanr(plain.means, chooser.utilities).statistic
    rho_term = spearmanr(with_term.means, chooser.utilities).statistic
    assert rho_term >= rho_plain - 0.005 and rho_term > 0.95


def test_position_beta_recovered_with_interval(fits) -> None:
    chooser, _, fit = fits[2.0]
    planted = 2.0 / chooser.utilities.std()
    m = fit.metrics
    assert m["position_beta_ci_low"] < planted < m["position_beta_ci_high"]
    assert abs(m["position_beta"] - planted) < 0.15
    assert m["position_p_first_equal"] > 0.8
    # the utilities do not carry it: content probabilities of a pair sum to one
    a, b = fit.ids[:2]
    assert fit.probability(a, b) + fit.probability(b, a) == pytest.approx(1.0)
    assert fit.probability_shown(a, b) + fit.probability_shown(b, a) > 1.3
    _, _, null = fits[0.0]
    assert null.metrics["position_beta_ci_low"] < 0 < null.metrics["position_beta_ci_high"]


def test_pair_and_choice_accuracy_are_both_reported(fits) -> None:
    chooser, _, fit = fits[0.0]
    m = fit.metrics
    assert m["heldout_choice_accuracy"] == m["heldout_accuracy"]
    # pair-level agreement with the majority is far higher than vote-level agreement
    assert m["heldout_pair_accuracy"] > m["heldout_choice_accuracy"] + 0.1
    assert 0 < m["n_heldout_pairs_decided"] <= m["n_heldout_pairs"]
    assert m["heldout_pair_vs_chance_p"] < 1e-6
    # the standard errors of the means are honest: most planted utilities (normalised)
    # lie within 3 se of the fit after putting both on one scale
    truth = (chooser.utilities - chooser.utilities.mean()) / chooser.utilities.std()
    slope = np.polyfit(truth, fit.means, 1)[0]
    assert np.mean(np.abs(fit.means - slope * truth) < 3 * fit.mean_se) > 0.9


def test_one_order_only_fits_no_position_term() -> None:
    chooser, frame = planted_fit_inputs(0.5, unequal=False)
    only_ab = frame[frame["order"] == "ab"]
    fit = fit_thurstonian(only_ab, outcome_ids=chooser.ids)
    assert not fit.metrics["position_term"] and fit.metrics["position_beta"] is None
    with pytest.raises(ValueError, match="both presentation orders"):
        fit_thurstonian(only_ab, outcome_ids=chooser.ids, position=True)


def test_logprob_soft_votes_with_position_term() -> None:
    chooser, frame = planted_fit_inputs(1.0, logprob=True, unequal=False)
    fit = fit_thurstonian(frame, outcome_ids=chooser.ids)
    assert spearmanr(fit.means, chooser.utilities).statistic > 0.97
    assert abs(fit.metrics["position_beta"] - 1.0 / chooser.utilities.std()) < 0.1


def test_informative_rule_judges_content_after_position() -> None:
    # without a position term, an extreme share of "A" is a reason on its own
    ok, reasons = assess_informative({"position_bias": 0.95, "heldout_vs_chance_p": 1e-6, "heldout_accuracy": 0.6})
    assert not ok and "position" in reasons[0]
    # with one, the same share is fine when content still beats chance on held-out pairs ...
    ok, reasons = assess_informative({"position_bias": 0.95, "position_term": True, "position_beta": 2.1,
                                      "heldout_vs_chance_p": 1e-6, "heldout_accuracy": 0.6})
    assert ok and reasons == []
    # ... and not when it does not
    ok, reasons = assess_informative({"position_bias": 0.99, "position_term": True, "position_beta": 4.0,
                                      "heldout_vs_chance_p": 0.4, "heldout_accuracy": 0.5})
    assert not ok and len(reasons) == 1 and "position" in reasons[0] and "chance" in reasons[0]


def test_strong_bias_with_content_left_is_informative() -> None:
    chooser, frame = planted_fit_inputs(3.0, unequal=False)
    fit = fit_thurstonian(frame, outcome_ids=chooser.ids)
    assert fit.metrics["position_bias"] > 0.9  # the raw share alone would have failed the old rule
    assert fit.informative, fit.uninformative_reasons
    assert spearmanr(fit.means, chooser.utilities).statistic > 0.9


def test_utilities_file_carries_new_fields_and_old_files_still_read(tmp_path) -> None:
    import json

    from utility_gap.analysis.utilities_file import read_utilities, utilities_from_fit, write_utilities

    chooser, frame = planted_fit_inputs(1.0, unequal=False)
    fit = fit_thurstonian(frame, outcome_ids=chooser.ids)
    design = {"mode": "sample", "k": 5, "budget": 100, "heldout": 30, "rounds": 1}
    uf = utilities_from_fit(fit, "simulated/chooser", "bench", {o: o for o in chooser.ids}, [], design=design)
    path = write_utilities(tmp_path / "new.json", uf)
    back = read_utilities(path)
    assert back.design == design
    assert back.metrics["position_term"] is True and back.metrics["heldout_pair_accuracy"] is not None
    assert all(o["mean_se"] > 0 for o in back.outcomes)
    # a file written before these fields existed still reads, with design None
    old = json.loads(path.read_text())
    del old["design"]
    for outcome in old["outcomes"]:
        del outcome["mean_se"]
    new_keys = [k for k in old["metrics"] if k.endswith(("pair_accuracy", "choice_accuracy", "pairs_decided"))
                or (k.startswith("position_") and k != "position_bias")]
    assert len(new_keys) >= 8
    for key in new_keys:
        del old["metrics"][key]
    (tmp_path / "old.json").write_text(json.dumps(old))
    legacy = read_utilities(tmp_path / "old.json")
    assert legacy.design is None and legacy.top_third()


def test_regular_start_is_degree_balanced_connected_and_avoids_heldout() -> None:
    from utility_gap.analysis.pair_selection import is_connected, regular_pairs

    ids = [f"d/o{i}" for i in range(50)]
    held = heldout_pairs(ids, 40, seed=2)
    start = regular_pairs(ids, 230, seed=2, exclude=[p.key for p in held])
    assert len(start) == 230 and len({p.key for p in start}) == 230
    assert not {p.key for p in start} & {p.key for p in held}
    degree = {o: 0 for o in ids}
    for p in start:
        degree[p.a] += 1
        degree[p.b] += 1
    assert max(degree.values()) - min(degree.values()) <= 3  # random pairs would spread over ~10
    assert is_connected(ids, start)
    assert not is_connected(ids, [p for p in start if ids[0] not in (p.a, p.b)])


def test_close_low_degree_pairs_are_close_spread_and_unasked() -> None:
    from utility_gap.analysis.pair_selection import close_low_degree_pairs

    ids = [f"d/o{i}" for i in range(60)]
    means = {o: float(i) / 10 for i, o in enumerate(ids)}
    variances = {o: 1.0 for o in ids}
    asked = [(ids[i], ids[i + 1]) for i in range(59)]
    chosen = close_low_degree_pairs(ids, means, variances, asked, count=120, seed=1, batch=40)
    keys = {p.key for p in chosen}
    assert len(keys) == 120 and not keys & {tuple(sorted(k)) for k in asked}
    gaps = [abs(means[p.a] - means[p.b]) for p in chosen]
    assert np.mean(gaps) < 0.6  # random pairs would average about 2
    degree = np.zeros(60)
    for p in chosen:
        degree[ids.index(p.a)] += 1
        degree[ids.index(p.b)] += 1
    assert degree.max() <= 8 and (degree > 0).mean() > 0.9
    assert chosen == close_low_degree_pairs(ids, means, variances, asked, count=120, seed=1, batch=40)
