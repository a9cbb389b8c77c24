"""The utilities file: one model's fitted utilities over one outcome domain.

This docstring is the written schema (Stage 1 -> the utility arms of Stage 2, and the
report). One JSON object:

```
{"schema": "utility-gap/utilities/v1",
 "model": "openai/gpt-4o-mini",          # the model as Inspect names it
 "domain": "countries",                  # the outcome domain
 "created": "2026-11-26T13:00:00+00:00", # ISO 8601, UTC
 "method": "thurstonian",
 "outcomes": [{"id": str, "text": str,
               "mean": float,            # normalised: mean 0, sd 1 over the domain
               "variance": float,        # scaled by the same sd^2
               "n_comparisons": int,     # distinct training pairs the outcome was in
               "mean_se": float | null}],# optional: standard error of the mean (Fisher information)
 "metrics": {"train_accuracy", "train_log_loss", "heldout_accuracy", "heldout_log_loss",
             "intransitive_triad_share", "position_bias", "n_pairs", "n_heldout_pairs",
             "n_choices", "n_refusal", "n_unparseable", "unparseable_policy", ...},
 "design": {...} | null,                 # optional: how the pairs were chosen and asked
 "informative": bool,                    # false: the choices did not track content
 "uninformative_reasons": [str],         # why, in words (empty when informative)
 "logs": [str]}                          # the elicitation logs the fit came from
```

Every outcome's `mean` and `variance` must be finite numbers (JSON has no NaN; Python's
reader accepts `NaN` and `Infinity`, this one refuses them, naming the file, the outcome
and the field), `variance` >= 0, `n_comparisons` a whole number >= 0, ids unique.
Metric definitions are in `analysis/thurstonian.py`; a metric that cannot be computed
(e.g. no held-out pairs) is null. Extra metric keys may appear (`heldout_vs_chance_p`,
`n_failed_samples`, `n_train_choices`, `n_heldout_choices`, `converged`,
`regularisation`, `calls`), and files written since the position term carry:

- accuracy at two levels, named so they cannot be confused: `*_choice_accuracy` (share of
  parsed votes the content model predicts; the same number as the older `*_accuracy`)
  and `*_pair_accuracy` (share of pairs with a strict majority whose majority the fitted
  order matches; `n_*_pairs_decided`, `heldout_pair_vs_chance_p`);
  `heldout_calibration_error` (per-order predictions, position term included);
- the position term: `position_term` (bool), `position_beta`, `position_beta_ci_low`,
  `position_beta_ci_high` (normalised utility units) and `position_p_first_equal`;
- logprob reads: `n_logprob_reads`, `n_logprob_both_letters`, `n_logprob_one_letter`.

`design` (null in older files) says which design a metric comes from: `mode`
(`sample` | `logprob`), `k` (draws per order), `top_logprobs`, `budget`, `heldout`,
`rounds`, `start` and `selection` (the pair-selection rules), `seed`.

Files live at `<out>/utilities/<model-slug>__<domain>.json` (`utilities_path`), where
the slug replaces every character other than letters, digits, `.`, `_`, `-` by `-`.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from utility_gap.analysis.atomic_files import write_text_atomic
from utility_gap.analysis.locations import location

SCHEMA = "utility-gap/utilities/v1"
REQUIRED_METRICS: tuple[str, ...] = (
    "train_accuracy",
    "train_log_loss",
    "heldout_accuracy",
    "heldout_log_loss",
    "intransitive_triad_share",
    "position_bias",
    "n_pairs",
    "n_heldout_pairs",
    "n_choices",
    "n_refusal",
    "n_unparseable",
    "unparseable_policy",
)
OUTCOME_FIELDS: tuple[str, ...] = ("id", "text", "mean", "variance", "n_comparisons")


class UtilitiesFileError(ValueError):
    """A utilities file that is missing, malformed or for another model/domain."""


def model_slug(model: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", model).strip("-")


def utilities_path(out_dir: str | Path, model: str, domain: str) -> Path:
    return location(out_dir) / "utilities" / f"{model_slug(model)}__{domain}.json"  # type: ignore[return-value]


def _how_to_make(model: str | None, domain: str | None) -> str:
    return (
        f"Make it with: utility-gap elicit --model {model or '<model>'} "
        f"--domain {domain or '<domain>'} --out <dir>"
    )


@dataclass
class UtilitiesFile:
    """A fitted utilities file (see the module docstring for the schema)."""

    model: str
    domain: str
    outcomes: list[dict[str, Any]]
    metrics: dict[str, Any]
    informative: bool
    uninformative_reasons: list[str] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)
    design: dict[str, Any] | None = None
    created: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    method: str = "thurstonian"
    schema: str = SCHEMA

    def _by_mean(self) -> list[dict[str, Any]]:
        return sorted(self.outcomes, key=lambda o: (-o["mean"], o["id"]))

    def _third(self) -> int:
        return max(1, len(self.outcomes) // 3)

    def top_third(self) -> list[dict[str, Any]]:
        """The n // 3 outcomes (at least one) with the highest means, best first."""
        return self._by_mean()[: self._third()]

    def bottom_third(self) -> list[dict[str, Any]]:
        """The n // 3 outcomes (at least one) with the lowest means, worst first."""
        return list(reversed(self._by_mean()))[: self._third()]

    def utility_of(self) -> dict[str, float]:
        return {o["id"]: float(o["mean"]) for o in self.outcomes}

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        order = ["schema", "model", "domain", "created", "method", "outcomes", "metrics", "design",
                 "informative", "uninformative_reasons", "logs"]
        return {key: data[key] for key in order}


def _clean(value: Any) -> Any:
    """JSON-safe: NaN/inf become null, numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_utilities(path: str | Path, uf: UtilitiesFile) -> Path:
    """Write atomically (temp file in the same folder, then rename), with the umask's mode."""
    return write_text_atomic(path, json.dumps(_clean(uf.to_json()), indent=1, allow_nan=False))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _outcome_problem(outcome: dict[str, Any], seen: set[str]) -> str | None:
    """What is wrong with one outcome record (field and value), or None."""
    if not isinstance(outcome["id"], str) or not outcome["id"]:
        return f"field 'id' is {outcome['id']!r}, expected a non-empty string"
    if outcome["id"] in seen:
        return "field 'id' repeats an earlier outcome's id"
    if not isinstance(outcome["text"], str):
        return f"field 'text' is {outcome['text']!r}, expected a string"
    for key in ("mean", "variance"):
        if not _is_number(outcome[key]):
            return f"field '{key}' is {outcome[key]!r}, expected a finite number"
    if outcome["variance"] < 0:
        return f"field 'variance' is {outcome['variance']!r}, expected a number >= 0"
    count = outcome["n_comparisons"]
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        return f"field 'n_comparisons' is {count!r}, expected a whole number >= 0"
    return None


def read_utilities(path: str | Path, *, model: str | None = None, domain: str | None = None) -> UtilitiesFile:
    """Read and check a utilities file (a path or a URL); optionally require its model and domain."""
    file = location(path)
    fix = _how_to_make(model, domain)
    if not file.is_file():
        raise UtilitiesFileError(f"{file}: no utilities file here. {fix}")
    try:
        data = json.loads(file.read_text())
    except json.JSONDecodeError as ex:
        raise UtilitiesFileError(f"{file}: not valid JSON ({ex}). {fix}") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        found = data.get("schema") if isinstance(data, dict) else type(data).__name__
        raise UtilitiesFileError(f"{file}: field 'schema' is {found!r}, expected '{SCHEMA}'. {fix}")
    for key, kind in (("model", str), ("domain", str), ("outcomes", list), ("metrics", dict),
                      ("informative", bool), ("uninformative_reasons", list), ("logs", list)):
        if not isinstance(data.get(key), kind):
            raise UtilitiesFileError(f"{file}: field '{key}' is missing or not a {kind.__name__}. {fix}")
    missing = [m for m in REQUIRED_METRICS if m not in data["metrics"]]
    if missing:
        raise UtilitiesFileError(f"{file}: metrics lack {', '.join(missing)}. {fix}")
    seen: set[str] = set()
    for n, outcome in enumerate(data["outcomes"]):
        absent = [f for f in OUTCOME_FIELDS if not isinstance(outcome, dict) or f not in outcome]
        if absent:
            raise UtilitiesFileError(f"{file}: outcomes[{n}] lacks {', '.join(absent)}. {fix}")
        problem = _outcome_problem(outcome, seen)
        if problem:
            name = f"'{outcome['id']}'" if isinstance(outcome["id"], str) else f"outcomes[{n}]"
            raise UtilitiesFileError(f"{file}: outcome {name} (outcomes[{n}]), {problem}. {fix}")
        seen.add(outcome["id"])
    if data.get("design") is not None and not isinstance(data["design"], dict):
        raise UtilitiesFileError(f"{file}: field 'design' must be an object or null. {fix}")
    if not data["outcomes"]:
        raise UtilitiesFileError(f"{file}: field 'outcomes' is empty. {fix}")
    if model is not None and data["model"] != model:
        raise UtilitiesFileError(
            f"{file}: this file is for model '{data['model']}', not '{model}'. {fix}"
        )
    if domain is not None and data["domain"] != domain:
        raise UtilitiesFileError(
            f"{file}: this file is for domain '{data['domain']}', not '{domain}'. {fix}"
        )
    return UtilitiesFile(
        model=data["model"],
        domain=data["domain"],
        outcomes=data["outcomes"],
        metrics=data["metrics"],
        informative=data["informative"],
        uninformative_reasons=data["uninformative_reasons"],
        logs=data["logs"],
        design=data.get("design"),
        created=str(data.get("created", "")),
        method=str(data.get("method", "thurstonian")),
    )


def utilities_from_fit(fit: Any, model: str, domain: str, texts: dict[str, str], logs: list[str],
                       extra_metrics: dict[str, Any] | None = None,
                       design: dict[str, Any] | None = None) -> UtilitiesFile:
    """Build a UtilitiesFile from a `ThurstonianFit` and the outcome texts."""
    se = getattr(fit, "mean_se", None)
    outcomes = [
        {
            "id": oid,
            "text": texts[oid],
            "mean": float(mean),
            "variance": float(var),
            "n_comparisons": int(fit.n_comparisons.get(oid, 0)),
            "mean_se": None if se is None else float(se[k]),
        }
        for k, (oid, mean, var) in enumerate(zip(fit.ids, fit.means, fit.variances))
    ]
    return UtilitiesFile(
        model=model,
        domain=domain,
        outcomes=outcomes,
        metrics={**fit.metrics, **(extra_metrics or {})},
        informative=bool(fit.informative),
        uninformative_reasons=list(fit.uninformative_reasons),
        logs=list(logs),
        design=design,
    )


def position_text(m: dict[str, Any]) -> str:
    """The fitted position term in words ('' when none was fitted)."""
    if not m.get("position_term") or m.get("position_beta") is None:
        return "; no position term fitted"
    ci = ""
    if m.get("position_beta_ci_low") is not None:
        ci = f" (95% CI {m['position_beta_ci_low']:+.3f} to {m['position_beta_ci_high']:+.3f})"
    return (f"; position term beta {m['position_beta']:+.3f}{ci}, P(first shown | equal) "
            f"{m['position_p_first_equal']:.3f}, kept out of the utilities")


def design_text(design: dict[str, Any]) -> str:
    """A design in one line: mode, draws, budget, rounds, selection."""
    mode = design.get("mode", "sample")
    draws = f"top_logprobs={design.get('top_logprobs')}" if mode == "logprob" else f"k={design.get('k')} per order"
    return (f"{mode} mode, {draws}, budget {design.get('budget')} pairs + {design.get('heldout')} held out, "
            f"{design.get('rounds')} rounds, start {design.get('start')}, selection {design.get('selection')}")


def summary(uf: UtilitiesFile, path: Path, rounds: str, calls: int) -> str:
    """The few lines printed after a fit: where it went, how much data, how good, informative?"""
    m = uf.metrics

    def fmt(value: Any) -> str:
        return "n/a" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)

    lines = [
        f"Utilities for {uf.model} over '{uf.domain}' written to {path}",
        f"  {rounds}; model calls recorded in the logs: {calls}",
        f"  pairs: {m['n_pairs']} train, {m['n_heldout_pairs']} held out; parsed choices {m['n_choices']:g}; "
        f"refusals {m['n_refusal']}, unparseable {m['n_unparseable']} (policy: {m['unparseable_policy']})",
        f"  held-out accuracy: per pair {fmt(m.get('heldout_pair_accuracy'))}, per choice {fmt(m['heldout_accuracy'])} "
        f"(train: per pair {fmt(m.get('train_pair_accuracy'))}, per choice {fmt(m['train_accuracy'])}); "
        f"log-loss: train {fmt(m['train_log_loss'])}, held-out {fmt(m['heldout_log_loss'])}",
        f"  intransitive triads {fmt(m['intransitive_triad_share'])}; position bias (share 'A') {fmt(m['position_bias'])}"
        + position_text(m),
    ]
    if m.get("n_logprob_reads"):
        lines.append(
            f"  logprob reads: {m['n_logprob_reads']}, both letters found in {m.get('n_logprob_both_letters')}, "
            f"one letter only in {m.get('n_logprob_one_letter')}"
        )
    if uf.design:
        lines.append("  design: " + design_text(uf.design))
    if uf.informative:
        top = ", ".join(o["id"] for o in uf.top_third()[:3])
        bottom = ", ".join(o["id"] for o in uf.bottom_third()[:3])
        lines.append(f"  informative: yes. Top: {top}. Bottom: {bottom}.")
    else:
        lines.append("  informative: NO -- " + "; ".join(uf.uninformative_reasons))
    return "\n".join(lines)
