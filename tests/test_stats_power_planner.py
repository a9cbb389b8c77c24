"""The power planner: analytic answer, simulation check, and the plan-power command."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from utility_gap.analysis.equivalence_power import exact_power
from utility_gap.analysis.power_planner import plan_power, simulate_power
from utility_gap.analysis.win_rates import FrameError
from utility_gap.pipeline import cmd_plan_power
from utility_gap.pipeline.errors import CommandError


def test_plan_is_the_smallest_exact_n_and_close_to_the_normal_approximation():
    plan = plan_power(0.05, cells=28, ties=0.1)
    assert plan.alpha_per_test == pytest.approx(0.05 / 28)
    assert exact_power(plan.n_decisive_exact, 0.55, plan.alpha_per_test) >= 0.8
    assert exact_power(plan.n_decisive_exact - 1, 0.55, plan.alpha_per_test) < 0.8
    assert plan.n_decisive_exact == pytest.approx(plan.n_decisive_normal, rel=0.05)
    assert plan.pairs_per_cell * 0.9 >= plan.n_decisive_exact
    assert plan.expected_power >= 0.8 and plan.total_pairs == 28 * plan.pairs_per_cell
    assert all(s.items * s.repeats >= plan.pairs_per_cell for s in plan.suggestions)
    per_test = plan_power(0.05, cells=28, ties=0.1, family_wise=False)
    assert per_test.pairs_per_cell < plan.pairs_per_cell
    assert plan_power(0.1, cells=28).pairs_per_cell < plan.pairs_per_cell / 3


@pytest.mark.parametrize("effect,cells,ties", [(0.12, 10, 0.1), (0.08, 4, 0.25)])
def test_simulated_power_agrees_with_the_analytic_plan(effect, cells, ties):
    plan = plan_power(effect, cells=cells, ties=ties)
    sim = simulate_power(plan.pairs_per_cell, cells, effect, ties=ties, n_sims=300, seed=4)
    assert abs(sim.per_test_power - plan.expected_power) <= 3 * sim.per_test_power_se + 0.01, (sim, plan)
    assert sim.holm_power >= sim.per_test_power  # Holm is at least as powerful as Bonferroni
    assert sim.mean_decisive == pytest.approx(plan.pairs_per_cell * (1 - ties), rel=0.01)


def test_simulated_null_rejects_at_most_at_the_per_test_alpha():
    sim = simulate_power(500, cells=10, effect=0.0, ties=0.1, n_sims=300, seed=9)
    assert sim.per_test_power <= sim.alpha_per_test + 3 * np.sqrt(sim.alpha_per_test / 3000)
    assert sim.any_rejected <= 0.05 + 2 * np.sqrt(0.05 * 0.95 / 300)


def test_bad_inputs_name_the_flag():
    with pytest.raises(FrameError, match="--effect"):
        plan_power(0.6, cells=4)
    with pytest.raises(FrameError, match="--ties"):
        plan_power(0.05, cells=4, ties=1.0)
    with pytest.raises(FrameError, match="--cells"):
        plan_power(0.05, cells=0)


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cmd_plan_power.add_arguments(parser)
    return parser.parse_args(argv)


def test_plan_power_command_prints_the_plan(capsys):
    assert cmd_plan_power.run(_parse(["--effect", "0.1", "--cells", "8", "--ties", "0.1", "--json"])) == 0
    printed = json.loads(capsys.readouterr().out)
    plan = plan_power(0.1, cells=8, ties=0.1)
    assert printed["pairs_per_cell"] == plan.pairs_per_cell and printed["cells"] == 8
    assert cmd_plan_power.run(_parse(["--effect", "0.1", "--cells", "8", "--simulate", "50"])) == 0
    text = capsys.readouterr().out
    assert f"Judged pairs per cell: {plan_power(0.1, cells=8).pairs_per_cell}" in text and "Simulated" in text
    with pytest.raises(CommandError, match="--effect"):
        cmd_plan_power.run(_parse(["--effect", "0", "--cells", "8"]))
