"""Check the power planner on the simulated provider, not only on numpy draws.

Why: `plan_power` assumes every judged pair of a cell is an independent draw with one
win rate and one tie share. A real study produces its pairs through writers, a judge
panel that judges both presentation orders, order flips that become ties, plurality
over judges and retries of unreadable answers. `provider_power_check` runs that chain
on the planted provider and asks whether the planner's power holds there:

1. calibrate: `calibration_pairs` pairs of `exhort_vs_neutral` (side a = `exhort`) from
   `simulated/writer` with `shifts=exhort:<shift>` and a panel of `judges`
   `simulated/judge` seats with distinct seeds, judged by the panel's own code
   (`scorers.judge_panel.judge_pair` -> `combine_orders`, then `panel_winner`); this
   measures the win rate among decisive pairs and the tie share the shift produces;
2. plan: `plan_power(|win rate - 0.5|, cells, ties=tie share, alpha, power)` gives the
   judged pairs per cell (or take `pairs_per_cell` as given, e.g. for a planted null);
3. replicate: `replicates` fresh studies of `cells` x pairs-per-cell judged pairs on the
   same provider (fresh writer and judge instances, new seeds), each analysed by
   `analysis.win_rates.win_rates` (exact binomial test per cell, Holm across cells);
4. compare the share of cells rejected at alpha / cells (the planner's Bonferroni test)
   with the planned expected power, and report the Holm share and the family-wise share
   of studies with any Holm rejection.

Prompts are the suite's own: `solvers.framing_text.frame_prompt` for the writer and
`scorers.judge_prompts.pairwise_judge_prompt` (inside `judge_pair`) for the judges;
task items are the shipped `datasets/tasks` items, one task per cell (cycled).

Speed: a check makes ~8 provider calls per pair (2 writer, judges x 2 orders) and
tens of thousands of pairs. Inspect's `Model.generate` adds ~1.1 ms of bookkeeping per
call (transcript events, usage, cache lookup) on top of the provider's ~0.1 ms, so the
calls go straight to each model's `ModelAPI.generate` (`DirectModel`); the answers are
the provider's own, seeded from (seed, prompt, times seen), so a check is reproducible.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from inspect_ai.model import ChatMessageUser, GenerateConfig, Model, ModelOutput, get_model

from utility_gap.analysis.equivalence_power import exact_power
from utility_gap.analysis.power_planner import PowerPlan, expected_power_with_ties, plan_power
from utility_gap.analysis.win_rates import FrameError, win_rates
from utility_gap.evals.task_items import TASKS, TaskItem, load_task_items
from utility_gap.scorers.judge_panel import Judge, judge_pair, panel_winner
from utility_gap.solvers.framing_text import frame_prompt

CONTRAST = "exhort_vs_neutral"
ARM_A, ARM_B = "exhort", "neutral"
DEFAULT_JUDGE_ARGS: dict[str, Any] = {"judge_sd": 0.5, "position_bias": 0.1}
DEFAULT_CALIBRATION_PAIRS = 3000
# below this many calibration SEs from 0.5 the measured effect is no basis for a plan
MIN_EFFECT_SES = 3.0


class DirectModel:
    """A `Model` whose `generate` calls its provider's `ModelAPI.generate` directly.

    It answers exactly what the provider answers (same prompt, same seeded draw); it
    skips Inspect's per-call bookkeeping, which a power check with ~10^5 calls cannot
    afford. `str()` is the model name, as `Judge` labels expect.
    """

    def __init__(self, model: Model) -> None:
        self.model = model

    async def generate(self, input: str, config: GenerateConfig | None = None) -> ModelOutput:
        return await self.model.api.generate(
            [ChatMessageUser(content=input)], [], "none", config or GenerateConfig()
        )

    def __str__(self) -> str:
        return str(self.model)


@dataclass(frozen=True)
class Calibration:
    """What the planted shift produces on the provider: win rate among decisive pairs, ties."""

    pairs: int
    n_a: int
    n_b: int
    n_tie: int
    n_missing: int  # pairs every judge left unanswered (no panel winner; excluded)
    win_rate: float
    win_rate_se: float
    tie_share: float


@dataclass(frozen=True)
class ProviderPowerCheck:
    """Planned versus empirical power on the simulated provider.

    `planned_power` is the planner's expected exact power per cell at `alpha / cells`
    for the measured win rate and tie share at `pairs_per_cell`; `planned_power_se`
    is how much that number moves with the calibration's sampling error (half the
    change over win rate +- 1 SE). `empirical_power` is the share of all
    `replicates x cells` cells whose exact p-value is <= alpha / cells, with binomial
    SE `empirical_power_se`; `tolerance` = 3 x sqrt(both SEs squared).
    """

    shift: float
    cells: int
    replicates: int
    alpha: float
    target_power: float
    seed: int
    judges: int
    calibration: Calibration
    plan: dict | None  # PowerPlan.to_dict() when the size was planned, else None
    pairs_per_cell: int
    planned_power: float
    planned_power_se: float
    planned_power_unadjusted: float  # expected power at alpha per cell: bounds Holm from above
    empirical_power: float
    empirical_power_se: float
    holm_power: float  # share of cells with p_holm <= alpha (Holm within each study)
    any_rejected: float  # share of studies with at least one Holm rejection (family-wise)
    any_rejected_se: float
    study_win_rate: float  # pooled over all replicate pairs: a check on the calibration
    study_win_rate_se: float
    study_tie_share: float
    power_at_study_rate: float  # the planner's expected power at the pooled study rate and ties
    power_at_study_rate_se: float
    study_missing: int  # replicate pairs with no panel winner (excluded, counted)
    tolerance: float

    @property
    def agrees(self) -> bool:
        return abs(self.empirical_power - self.planned_power) <= self.tolerance

    @property
    def study_tolerance(self) -> float:
        """3 combined SEs for empirical power vs the power at the pooled study rate."""
        return 3 * math.sqrt(self.empirical_power_se**2 + self.power_at_study_rate_se**2)

    @property
    def agrees_at_study_rate(self) -> bool:
        return abs(self.empirical_power - self.power_at_study_rate) <= self.study_tolerance

    def to_dict(self) -> dict:
        out = asdict(self)
        out["agrees"] = self.agrees
        out["study_tolerance"] = self.study_tolerance
        out["agrees_at_study_rate"] = self.agrees_at_study_rate
        return out

    def summary(self) -> str:
        c = self.calibration
        lines = [
            f"Provider check: simulated/writer shifts=exhort:{self.shift:g}, {self.judges} simulated/judge seats, "
            f"contrast {CONTRAST}, seed {self.seed}",
            f"Calibration ({c.pairs} pairs): win rate {c.win_rate:.3f} +- {c.win_rate_se:.3f}, "
            f"tie share {c.tie_share:.3f}, no panel winner {c.n_missing}",
            f"Pairs per cell: {self.pairs_per_cell} ({'planned' if self.plan else 'given'}); "
            f"cells {self.cells}; alpha {self.alpha:g} -> {self.alpha / self.cells:.5g} per cell",
            f"Planned power per cell: {self.planned_power:.3f} +- {self.planned_power_se:.3f} (calibration)",
            f"Empirical power ({self.replicates} studies x {self.cells} cells): {self.empirical_power:.3f} "
            f"+- {self.empirical_power_se:.3f}; after Holm {self.holm_power:.3f}; "
            f"studies with any Holm rejection {self.any_rejected:.3f}",
            f"Study pairs pooled: win rate {self.study_win_rate:.3f} +- {self.study_win_rate_se:.3f}, "
            f"tie share {self.study_tie_share:.3f}, no panel winner {self.study_missing}; "
            f"expected power there {self.power_at_study_rate:.3f} +- {self.power_at_study_rate_se:.3f}",
            f"Agreement with the plan (|empirical - planned| <= {self.tolerance:.3f}, 3 combined SEs): "
            f"{'yes' if self.agrees else 'NO'}",
            f"Agreement at the pooled study rate (<= {self.study_tolerance:.3f}): "
            f"{'yes' if self.agrees_at_study_rate else 'NO'}",
        ]
        return "\n".join(lines)


def _writer(shift: float, seed: int, writer_args: dict[str, Any]) -> DirectModel:
    args = {"shifts": {ARM_A: float(shift)}, **writer_args, "seed": seed}
    return DirectModel(get_model("simulated/writer", memoize=False, **args))


def _panel(seed: int, n_judges: int, judge_args: dict[str, Any]) -> list[Judge]:
    judges = []
    for i in range(n_judges):
        model = DirectModel(get_model("simulated/judge", memoize=False, **{**judge_args, "seed": seed + i}))
        judges.append(Judge(label=f"simulated/judge#{i + 1}", role=f"judge{i + 1}", model=model))  # type: ignore[arg-type]
    return judges


async def _judged_pair(writer: DirectModel, judges: list[Judge], item: TaskItem, first_shown: str) -> str | None:
    """One pair through the real chain: both arms written, every judge both orders, plurality."""
    outputs = {}
    for side, arm in (("a", ARM_A), ("b", ARM_B)):
        outputs[side] = (await writer.generate(frame_prompt(arm, item.prompt))).completion
    records = [await judge_pair(j, item.prompt, item.axis, outputs, first_shown) for j in judges]
    return panel_winner([r["verdict"] for r in records])


async def _judged_pairs(
    n: int, writer: DirectModel, judges: list[Judge], items: list[TaskItem], rng: np.random.Generator
) -> list[str | None]:
    firsts = rng.integers(0, 2, size=n)
    return [await _judged_pair(writer, judges, items[i % len(items)], "ab"[f]) for i, f in enumerate(firsts)]


def _seed(*parts: int) -> int:
    return int(np.random.SeedSequence(list(parts)).generate_state(1)[0] % (2**31 - 1))


def _items_for_cells(cells: int) -> list[list[TaskItem]]:
    by_task = {t: load_task_items(t) for t in TASKS}
    return [by_task[TASKS[k % len(TASKS)]] for k in range(cells)]


def _planned(pairs: int, ties: float, win_rate: float, alpha: float) -> float:
    return expected_power_with_ties(pairs, ties, lambda n: exact_power(n, win_rate, alpha))


def _planned_with_se(pairs: int, ties: float, win_rate: float, se: float, alpha: float) -> tuple[float, float]:
    """Expected power at `win_rate`, and half its change over win_rate +- se (delta method)."""
    lo = _planned(pairs, ties, max(0.0, win_rate - se), alpha)
    hi = _planned(pairs, ties, min(1.0, win_rate + se), alpha)
    return _planned(pairs, ties, win_rate, alpha), abs(hi - lo) / 2


def _validate(shift: float, cells: int, replicates: int, calibration_pairs: int, judges: int,
              pairs_per_cell: int | None, alpha: float) -> None:
    if not math.isfinite(shift):
        raise FrameError(f"shift (--shift) must be a finite number; got {shift}.")
    if cells < 1:
        raise FrameError(f"cells (--cells) must be at least 1; got {cells}.")
    if replicates < 1:
        raise FrameError(f"replicates (--replicates) must be at least 1; got {replicates}.")
    if calibration_pairs < 50:
        raise FrameError(f"calibration_pairs (--calibration-pairs) must be at least 50; got {calibration_pairs}.")
    if judges < 1:
        raise FrameError(f"judges must be at least 1; got {judges}.")
    if pairs_per_cell is not None and pairs_per_cell < 1:
        raise FrameError(f"pairs_per_cell (--pairs-per-cell) must be at least 1; got {pairs_per_cell}.")
    if not 0 < alpha < 1:
        raise FrameError(f"alpha (--alpha) must be in (0, 1); got {alpha}.")


def provider_power_check(
    shift: float,
    pairs_per_cell: int | None = None,
    cells: int = 3,
    replicates: int = 50,
    seed: int = 0,
    alpha: float = 0.05,
    power: float = 0.8,
    calibration_pairs: int = DEFAULT_CALIBRATION_PAIRS,
    judges: int = 3,
    writer_args: dict[str, Any] | None = None,
    judge_args: dict[str, Any] | None = None,
    max_pairs_per_cell: int = 5000,
) -> ProviderPowerCheck:
    """Plan pairs per cell for the effect `shift` plants, then check that power on the provider.

    With `pairs_per_cell=None` the size comes from `plan_power` at the measured effect;
    a shift whose measured win rate is within 3 calibration SEs of 0.5 (a null) has no
    effect to plan for, so pass `pairs_per_cell` to check the rejection rate at a given
    size instead. `writer_args` / `judge_args` are further `-M` arguments of the
    simulated writer / judges (e.g. `{"noise_sd": 0.3}`, `{"tie_band": 0.1}`).
    """
    _validate(shift, cells, replicates, calibration_pairs, judges, pairs_per_cell, alpha)
    writer_args = dict(writer_args or {})
    judge_args = {**DEFAULT_JUDGE_ARGS, **(judge_args or {})}
    items = _items_for_cells(cells)
    return asyncio.run(
        _check(shift, pairs_per_cell, cells, replicates, seed, alpha, power, calibration_pairs, judges,
               writer_args, judge_args, items, max_pairs_per_cell)
    )


async def _check(shift, pairs_per_cell, cells, replicates, seed, alpha, power, calibration_pairs, n_judges,
                 writer_args, judge_args, items, max_pairs_per_cell) -> ProviderPowerCheck:
    rng = np.random.default_rng(_seed(seed, 0))
    all_items = [it for cell_items in items for it in cell_items]
    winners = await _judged_pairs(
        calibration_pairs, _writer(shift, _seed(seed, 1), writer_args),
        _panel(_seed(seed, 2), n_judges, judge_args), all_items, rng,
    )
    calibration = _calibration(winners)
    if not calibration.n_a + calibration.n_b:
        raise FrameError("calibration produced no decisive pair (every pair tied or unjudged); "
                         "lower the judges' tie_band or raise calibration_pairs.")
    effect = abs(calibration.win_rate - 0.5)
    per_test = alpha / cells
    plan: PowerPlan | None = None
    if pairs_per_cell is None:
        if effect < MIN_EFFECT_SES * calibration.win_rate_se or effect >= 0.5:
            raise FrameError(
                f"shift {shift:g} produced a win rate of {calibration.win_rate:.3f} +- {calibration.win_rate_se:.3f}, "
                f"too close to 0.5 (or 0/1) to plan for; pass pairs_per_cell (--pairs-per-cell) to check a given size."
            )
        plan = plan_power(effect, cells, ties=calibration.tie_share, alpha=alpha, power=power)
        pairs_per_cell = plan.pairs_per_cell
        if pairs_per_cell > max_pairs_per_cell:
            raise FrameError(
                f"the plan needs {pairs_per_cell} pairs per cell (win rate {calibration.win_rate:.3f}), more than "
                f"max_pairs_per_cell={max_pairs_per_cell}; use a larger shift for a check that runs in time."
            )
    ties, rate, se = calibration.tie_share, calibration.win_rate, calibration.win_rate_se
    planned, planned_se = _planned_with_se(pairs_per_cell, ties, rate, se, per_test)
    unadjusted = _planned(pairs_per_cell, ties, rate, alpha)

    frames = []
    for r in range(replicates):
        for k in range(cells):
            writer = _writer(shift, _seed(seed, 3, r, k), writer_args)
            panel = _panel(_seed(seed, 4, r, k), n_judges, judge_args)
            cell_winners = await _judged_pairs(pairs_per_cell, writer, panel, items[k], rng)
            frames.append(pd.DataFrame({"study": r, "cell": f"{items[k][0].task}#{k}", "contrast": CONTRAST,
                                        "winner": cell_winners}))
    study = pd.concat(frames, ignore_index=True)
    missing = int(study["winner"].isna().sum())
    study = study.dropna(subset=["winner"])
    table = win_rates(study, cell=("cell",), comparison=("study", "contrast"), alpha=alpha)
    p = table["p_value"].fillna(1.0).to_numpy()
    rejected = p <= per_test
    holm = table["significant_holm"].to_numpy(dtype=bool)
    any_rej = table.groupby("study")["significant_holm"].any().to_numpy(dtype=bool)
    n_cells = len(table)
    emp = float(rejected.mean())
    emp_se = math.sqrt(planned * (1 - planned) / n_cells)  # the SE of the share if the plan is right
    any_share = float(any_rej.mean())
    counts = study["winner"].value_counts()
    n_a, n_b, n_tie = (int(counts.get(w, 0)) for w in ("a", "b", "tie"))
    study_rate = n_a / (n_a + n_b) if n_a + n_b else float("nan")
    study_rate_se = math.sqrt(study_rate * (1 - study_rate) / (n_a + n_b)) if n_a + n_b else float("nan")
    study_ties = n_tie / len(study) if len(study) else float("nan")
    at_study, at_study_se = _planned_with_se(pairs_per_cell, study_ties, study_rate, study_rate_se, per_test)
    return ProviderPowerCheck(
        shift=float(shift), cells=cells, replicates=replicates, alpha=alpha, target_power=power, seed=seed,
        judges=n_judges, calibration=calibration, plan=plan.to_dict() if plan else None,
        pairs_per_cell=int(pairs_per_cell), planned_power=planned, planned_power_se=planned_se,
        planned_power_unadjusted=unadjusted, empirical_power=emp, empirical_power_se=emp_se,
        holm_power=float(holm.mean()), any_rejected=any_share,
        any_rejected_se=math.sqrt(max(any_share * (1 - any_share), alpha * (1 - alpha)) / len(any_rej)),
        study_win_rate=study_rate, study_win_rate_se=study_rate_se, study_tie_share=study_ties,
        power_at_study_rate=at_study, power_at_study_rate_se=at_study_se,
        study_missing=missing,
        tolerance=3 * math.sqrt(emp_se**2 + planned_se**2),
    )


def _calibration(winners: list[str | None]) -> Calibration:
    n_a, n_b, n_tie = (sum(w == x for w in winners) for x in ("a", "b", "tie"))
    n_missing = sum(w is None for w in winners)
    decisive = n_a + n_b
    rate = n_a / decisive if decisive else float("nan")
    judged = decisive + n_tie
    return Calibration(
        pairs=len(winners), n_a=n_a, n_b=n_b, n_tie=n_tie, n_missing=n_missing, win_rate=rate,
        win_rate_se=math.sqrt(rate * (1 - rate) / decisive) if decisive else float("nan"),
        tie_share=n_tie / judged if judged else float("nan"),
    )
