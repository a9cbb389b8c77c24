"""The power planner checked on the simulated provider (writer -> 3-judge panel -> exact test + Holm).

Tolerances: the empirical power is a share of R x m independent cells (R studies, m cells;
pairs are independent draws, so cells are too), with binomial SE sqrt(P (1 - P) / (R m))
under the plan's power P. The plan itself rests on a measured win rate whose calibration
SE moves P by `planned_power_se` (delta method, half the change over +-1 SE). A correct
planner lands within 3 x sqrt(sum of both variances) of the empirical share in all but
~0.3% of seeds. With shift 0.25 (win rate ~0.77, ~38% ties, ~60 pairs per cell), 50
studies of 3 cells and a 4,000-pair calibration that is ~0.14, small against the gap a
wrong tie or Bonferroni treatment would make (planning as if there were no ties gives 36
pairs and ~0.49 power; ignoring alpha / m gives ~0.90).
"""

from __future__ import annotations

import argparse
import json
import math

import pytest

from utility_gap.analysis.equivalence_power import exact_power
from utility_gap.pipeline.power_check import provider_power_check
from utility_gap.analysis.power_planner import expected_power_with_ties, plan_power
from utility_gap.analysis.win_rates import FrameError
from utility_gap.pipeline import cmd_plan_power
from utility_gap.pipeline.errors import CommandError

ALPHA = 0.05


def test_planned_power_holds_on_the_provider():
    check = provider_power_check(0.25, cells=3, replicates=50, seed=1, calibration_pairs=4000)
    cal = check.calibration
    # the planted shift is recovered as a clear positive effect, with the panel's ties
    assert cal.win_rate - 0.5 > 5 * cal.win_rate_se and 0.05 < cal.tie_share < 0.9
    assert cal.n_missing == 0 and check.study_missing == 0
    # the size is the planner's answer at the measured effect and tie share
    plan = plan_power(cal.win_rate - 0.5, 3, ties=cal.tie_share, alpha=ALPHA, power=0.8)
    assert check.pairs_per_cell == plan.pairs_per_cell and check.plan["pairs_per_cell"] == plan.pairs_per_cell
    assert check.planned_power == pytest.approx(plan.expected_power)
    assert 20 <= check.pairs_per_cell <= 300
    # calibration and the studies see the same provider (independent seeds, same truth)
    gap = abs(cal.win_rate - check.study_win_rate)
    assert gap <= 3 * math.hypot(cal.win_rate_se, check.study_win_rate_se)
    # the headline: empirical power at alpha / m agrees with the plan
    assert check.tolerance < 0.16
    assert abs(check.empirical_power - check.planned_power) <= check.tolerance, check.summary()
    assert check.agrees and check.agrees_at_study_rate, check.summary()
    # Holm rejects everything Bonferroni does and nothing the unadjusted test would not
    assert check.holm_power >= check.empirical_power
    unadjusted_se = math.sqrt(check.planned_power_unadjusted * (1 - check.planned_power_unadjusted) / 150)
    assert check.holm_power <= check.planned_power_unadjusted + 3 * unadjusted_se


def test_planted_null_rejects_at_most_alpha_family_wise():
    cells, replicates = 3, 50
    check = provider_power_check(0.0, pairs_per_cell=40, cells=cells, replicates=replicates, seed=2,
                                 calibration_pairs=600)
    assert check.plan is None and check.pairs_per_cell == 40
    assert abs(check.calibration.win_rate - 0.5) <= 3 * check.calibration.win_rate_se
    assert abs(check.study_win_rate - 0.5) <= 3 * check.study_win_rate_se
    # family-wise: studies with any Holm rejection, binomial over the replicates
    assert check.any_rejected <= ALPHA + 3 * math.sqrt(ALPHA * (1 - ALPHA) / replicates), check.summary()
    # per cell at alpha / m, binomial over all cells
    per_test = ALPHA / cells
    assert check.empirical_power <= per_test + 3 * math.sqrt(per_test * (1 - per_test) / (cells * replicates))
    # the exact test is conservative at 0.5: the planned rejection rate is below alpha / m
    null_rate = expected_power_with_ties(40, check.calibration.tie_share, lambda n: exact_power(n, 0.5, per_test))
    assert null_rate <= per_test
    assert abs(check.empirical_power - check.planned_power) <= check.tolerance


def test_a_null_shift_without_a_size_is_refused():
    with pytest.raises(FrameError, match="--pairs-per-cell"):
        provider_power_check(0.0, cells=2, replicates=1, calibration_pairs=300, seed=3)
    with pytest.raises(FrameError, match="--replicates"):
        provider_power_check(0.3, cells=2, replicates=0)


def test_check_is_deterministic_for_a_seed():
    first = provider_power_check(0.4, cells=2, replicates=3, seed=5, calibration_pairs=200)
    again = provider_power_check(0.4, cells=2, replicates=3, seed=5, calibration_pairs=200)
    other = provider_power_check(0.4, cells=2, replicates=3, seed=6, calibration_pairs=200)
    assert first.to_dict() == again.to_dict()
    assert first.calibration != other.calibration


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cmd_plan_power.add_arguments(parser)
    return parser.parse_args(argv)


def test_plan_power_command_checks_on_the_provider(capsys):
    argv = ["--check-on-provider", "--shift", "0.4", "--cells", "2", "--replicates", "3",
            "--calibration-pairs", "200", "--seed", "5"]
    assert cmd_plan_power.run(_parse(argv + ["--json"])) == 0
    printed = json.loads(capsys.readouterr().out)
    expected = provider_power_check(0.4, cells=2, replicates=3, seed=5, calibration_pairs=200)
    assert printed["pairs_per_cell"] == expected.pairs_per_cell
    assert printed["empirical_power"] == pytest.approx(expected.empirical_power)
    assert cmd_plan_power.run(_parse(argv)) == 0
    assert "Empirical power (3 studies x 2 cells)" in capsys.readouterr().out
    with pytest.raises(CommandError, match="--shift"):
        cmd_plan_power.run(_parse(["--check-on-provider", "--cells", "2"]))
    with pytest.raises(CommandError, match="--effect"):
        cmd_plan_power.run(_parse(argv + ["--effect", "0.1"]))
    with pytest.raises(CommandError, match="--effect is required"):
        cmd_plan_power.run(_parse(["--cells", "2"]))
    with pytest.raises(CommandError, match="--check-on-provider"):
        cmd_plan_power.run(_parse(["--effect", "0.1", "--cells", "2", "--shift", "0.3"]))
