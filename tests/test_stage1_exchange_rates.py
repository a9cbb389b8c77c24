"""Exchange rates between entities, on planted log-linear utilities.

The planted chooser values N people of country c at a_c + b_c ln N (b = 0.4 for all but
one country, whose b is 0: a model that does not care how many). Choices are drawn from
it over the shipped `countries` outcome set, fitted, and the exchange rates are read back
from the fitted utilities: they must recover the planted rates (exp((a_X - a_Y) / b)
when slopes are equal) within their bootstrap intervals, and the flat entity must get a
warning instead of a rate.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from planted_choices import PlantedChooser
from utility_gap.analysis.exchange_rates import exchange_rates, exchange_table, has_exchange_structure
from utility_gap.analysis.pair_selection import default_budget, heldout_pairs, random_connected_pairs
from utility_gap.analysis.thurstonian import fit_thurstonian
from utility_gap.analysis.utilities_file import utilities_from_fit
from utility_gap.evals.outcomes import load_outcomes

SLOPE = 0.4


def planted_countries():
    outcomes = load_outcomes("countries")
    entities = list(dict.fromkeys(o.entity for o in outcomes))
    rng = np.random.default_rng(5)
    intercept = {e: float(v) for e, v in zip(entities, rng.normal(0, 0.6, len(entities)))}
    flat = entities[3]
    slope = {e: (0.0 if e == flat else SLOPE) for e in entities}
    utilities = np.array([intercept[o.entity] + slope[o.entity] * math.log(o.quantity) for o in outcomes])
    return outcomes, intercept, flat, utilities


@pytest.fixture(scope="module")
def fitted():
    outcomes, intercept, flat, utilities = planted_countries()
    ids = [o.id for o in outcomes]
    chooser = PlantedChooser(ids, utilities, np.full(len(ids), 0.5))
    held = heldout_pairs(ids, 150, 0)
    train = random_connected_pairs(ids, 2 * default_budget(len(ids)), 0, exclude=[p.key for p in held])
    index = {o: k for k, o in enumerate(ids)}
    pairs = held + train
    frame = chooser.choices(np.array([index[p.a] for p in pairs]), np.array([index[p.b] for p in pairs]), 5,
                            np.random.default_rng(0), np.array([p.heldout for p in pairs]))
    fit = fit_thurstonian(frame, outcome_ids=ids)
    uf = utilities_from_fit(fit, "simulated/chooser", "countries", {o.id: o.text for o in outcomes}, [])
    return outcomes, intercept, flat, uf


def test_planted_exchange_rates_are_recovered(fitted) -> None:
    outcomes, intercept, flat, uf = fitted
    table = exchange_table(uf.outcomes, outcomes)
    assert has_exchange_structure(table)
    result = exchange_rates(table, bootstrap=500)
    reference = result.rates["reference"].iloc[0]
    assert reference == outcomes[0].entity  # the first entity with a positive slope
    rates = result.rates.set_index("entity")
    covered, checked = 0, 0
    for entity, row in rates.iterrows():
        if entity == flat:
            continue
        planted = math.exp((intercept[entity] - intercept[reference]) / SLOPE)
        checked += 1
        covered += row["rate_ci_low"] <= planted <= row["rate_ci_high"]
        assert abs(math.log(row["rate"]) - math.log(planted)) < 1.0, entity  # within a factor of e
    assert covered >= 0.85 * checked
    assert rates.loc[reference, "rate"] == pytest.approx(1.0)


def test_flat_entity_gets_a_warning_not_a_rate(fitted) -> None:
    outcomes, _, flat, uf = fitted
    result = exchange_rates(exchange_table(uf.outcomes, outcomes), bootstrap=200)
    fits = result.fits.set_index("entity")
    assert not fits.loc[flat, "slope_positive"] or fits.loc[flat, "b_ci_low"] < 0
    if not fits.loc[flat, "slope_positive"]:
        assert math.isnan(result.rates.set_index("entity").loc[flat, "rate"])
        assert any(flat in w and "does not rise" in w for w in result.warnings)
    else:  # a small positive slope by chance: the rate must then be flagged unstable
        assert "unstable" in result.rates.set_index("entity").loc[flat, "note"]
    assert (fits.drop(index=flat)["b"] > 0.2).all()


def test_slope_zero_everywhere_gives_no_rates() -> None:
    table = pd.DataFrame({
        "id": [f"d/{e}{q}" for e in "xy" for q in (10, 100, 1000)],
        "entity": [e for e in "xy" for _ in range(3)], "quantity": [10, 100, 1000] * 2, "kind": "saved",
        "mean": [0.3, 0.1, -0.1, 0.5, 0.5, 0.4], "mean_se": 0.05,
    })
    result = exchange_rates(table, bootstrap=100)
    assert result.rates.empty
    assert any("no entity's utility rises" in w for w in result.warnings)
    assert not has_exchange_structure(table.assign(entity=None))


def test_report_shows_exchange_rates_position_term_and_both_accuracies(fitted, tmp_path) -> None:
    from synthetic_logs import SyntheticRun, write_synthetic_logs
    from utility_gap.analysis.report import ReportSettings, write_report
    from utility_gap.analysis.utilities_file import write_utilities

    outcomes, _, flat, uf = fitted
    uf.design = {"mode": "sample", "k": 5, "budget": 1658, "heldout": 150, "rounds": 1, "start": "random",
                 "selection": "none", "seed": 0}
    write_utilities(tmp_path / "utilities" / "countries.json", uf)
    write_synthetic_logs(str(tmp_path / "logs"), [SyntheticRun(n_items=4, seed=3)])
    write_report(tmp_path / "logs", tmp_path / "out", ReportSettings(utilities_dir=tmp_path / "utilities"))
    text = (tmp_path / "out" / "report.md").read_text()
    assert "## Stage 1: exchange rates between entities" in text
    name = "exchange_rates__simulated-chooser__countries__cured"
    table = pd.read_csv(tmp_path / "out" / "tables" / f"{name}.csv")
    assert len(table) == 30 and table["rate"].notna().sum() >= 29
    assert (tmp_path / "out" / "figures" / f"{name}.png").stat().st_size > 5_000
    diagnostics = pd.read_csv(tmp_path / "out" / "tables" / "elicitation_diagnostics.csv")
    row = diagnostics.iloc[0]
    assert row["heldout_pair_accuracy"] > row["heldout_choice_accuracy"]
    assert row["position_term"].startswith(("+", "-")) and "[" in row["position_term"]
    assert "sample mode, k=5 per order" in row["design"]
    assert "per pair" in text and "per choice" in text
    if not table.set_index("entity").loc[flat, "rate"] == table.set_index("entity").loc[flat, "rate"]:
        assert flat in text  # the warning for the flat entity reaches the cautions
