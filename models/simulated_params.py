"""The simulated provider's planted parameters: `-M` arguments parsed, checked and loaded.

`SimulatedParams` lists every parameter `simulated/<role>` takes (see `simulated.py`
for what each plants); `parse_params` turns `-M name=value` into them, naming the bad
argument in any error, and the loaders read the files some parameters point at
(planted utilities, an answer key). Kept apart from the provider so the planted truth
a test sets is readable in one place.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from utility_gap.evals.task_arguments import mark_argument_error
from utility_gap.solvers.benchmark_framing import BENCHMARK_ARMS
from utility_gap.solvers.damage import DAMAGE_TYPES
from utility_gap.solvers.framing_text import ARMS

ROLES = ("chooser", "writer", "judge", "subject", "any")
CHOOSING_ROLES = ("chooser", "subject", "any")  # answer forced choices and rankings
WRITING_ROLES = ("writer", "subject", "any")
JUDGING_ROLES = ("judge", "any")

# How far below the intact text the judge values a damaged copy (in judge_sd units x judge_sd):
# planted so that each damage type of the judge controls is seen with its own, known accuracy.
DEFAULT_DAMAGE_SENSITIVITY: dict[str, float] = {"truncated": 2.0, "typos": 1.0, "corrupted_facts": 0.6, "shuffled": 0.4}


class SimulatedArgumentError(ValueError):
    """A bad `simulated/<role>` name or `-M` argument, printed without a traceback.

    Marked like a bad task argument (`evals/task_arguments.py`): under `inspect eval` it
    prints as `utility_gap/simulated: <message>`, with no traceback and no private
    Inspect API.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        mark_argument_error(self, "simulated")


@dataclass
class SimulatedParams:
    """Planted parameters; each can be set with `-M name=value`."""

    seed: int = 0
    latency: float = 0.0  # seconds each call takes (to exercise interruption and resume)
    call_log: str = ""  # append one line per call to this file (counts calls across runs)
    # chooser
    utilities: str = ""  # JSON file: {text: mean} or a utilities file ({"outcomes": [...]})
    utility_seed: int = 0
    choice_sd: float = 1.0  # sd of each outcome's utility draw, when the file gives none
    position_bias: float = 0.0  # utility added to the option shown first (A / response 1)
    refusal_rate: float = 0.0
    unparseable_rate: float = 0.0
    logprobs: bool = True  # return logprobs when asked (False: a provider without them)
    logprob_other_tokens: int = 0  # non-letter tokens in the first token's distribution
    logprob_other_mass: float = 0.0  # their total probability (taken from A and B in proportion)
    # writer
    shifts: dict[str, float] = field(default_factory=dict)
    utility_slope: float = 0.0
    item_sd: float = 0.5
    noise_sd: float = 0.3
    leak_rate: float = 0.0
    length_shifts: dict[str, float] = field(default_factory=dict)  # arm -> padding sentences added
    length_sd: float = 0.0  # sd of every text's padding, in sentences (length varies within an arm)
    # judge
    judge_sd: float = 0.5
    tie_band: float = 0.0
    # `truncated:2,shuffled:0.4` (merged over DEFAULT_DAMAGE_SENSITIVITY; 0 = cannot see it)
    damage_sensitivity: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_DAMAGE_SENSITIVITY))
    controls: str = ""  # a lab's own judge-control file, known beside the shipped texts
    length_bias: float = 0.0  # quality units per doubling of length (pairwise verdicts)
    # writer/subject: entity behaviour and scored answers (defaults plant no effect)
    entity_set: str = "entities"  # outcome set mapping entity names to outcomes (their utilities)
    advice_slope: float = 0.0  # P(advise the first entity) = Phi(advice_slope * (u_first - u_second))
    refusal_slope: float = 0.0  # extra advice refusals: + refusal_slope * mean dislike (max(0, -u)) of the two
    accuracy: float = 0.8  # P(correct) on an item with a known answer and no incentive
    accuracy_slope: float = 0.0  # probit shift per unit utility of what a correct answer earns
    accuracy_shifts: dict[str, float] = field(default_factory=dict)  # probit shift per framed-benchmark arm
    answers: str = ""  # answer key: JSONL of {"input", "target"} (an Inspect dataset file) or JSON {input: target}
    reading_items: str = "sample"  # reading items whose answers the model knows (evals/reading_items.py)


_PROBABILITIES = ("refusal_rate", "unparseable_rate", "leak_rate", "accuracy", "logprob_other_mass")
_NON_NEGATIVE = ("latency", "choice_sd", "item_sd", "noise_sd", "judge_sd", "tie_band", "length_sd", "refusal_slope",
                 "logprob_other_tokens")
# The arms `-M accuracy_shifts=arm:shift,...` may name (`utility` names both utility arms).
ACCURACY_SHIFT_ARMS: frozenset[str] = frozenset(BENCHMARK_ARMS) - {"utility_high", "utility_low"} | {"utility"}


def parse_params(role: str, model_args: dict[str, Any]) -> SimulatedParams:
    """Validate `-M` arguments, naming the offending one in any error."""
    if role not in ROLES:
        raise SimulatedArgumentError(
            f"Unknown simulated behaviour '{role}' in model 'simulated/{role}'. "
            f"Use one of: {', '.join('simulated/' + r for r in ROLES)}."
        )
    params = SimulatedParams()
    known = {f.name: f for f in fields(SimulatedParams)}
    for name, raw in model_args.items():
        if name not in known:
            raise SimulatedArgumentError(
                f"Unknown argument '-M {name}' for simulated/{role}. Known arguments: {', '.join(known)}."
            )
        setattr(params, name, _coerce(name, raw, known[name].type))
    if "damage_sensitivity" in model_args:
        params.damage_sensitivity = DEFAULT_DAMAGE_SENSITIVITY | params.damage_sensitivity
    for name in _PROBABILITIES:
        value = getattr(params, name)
        if not 0.0 <= value <= 1.0:
            raise SimulatedArgumentError(f"Argument '-M {name}={value}' must be a probability between 0 and 1.")
    for name in _NON_NEGATIVE:
        if getattr(params, name) < 0:
            raise SimulatedArgumentError(f"Argument '-M {name}={getattr(params, name)}' must be >= 0.")
    if params.choice_sd == 0 and params.position_bias == 0:
        pass  # a deterministic chooser is allowed
    return params


def _coerce(name: str, raw: Any, kind: Any) -> Any:
    kind = str(kind)
    try:
        if kind == "int":
            if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
                raise ValueError
            return int(raw)
        if kind == "float":
            if isinstance(raw, bool):
                raise ValueError
            return float(raw)
        if kind == "bool":
            if isinstance(raw, bool):
                return raw
            if str(raw).lower() in ("true", "1", "yes"):
                return True
            if str(raw).lower() in ("false", "0", "no"):
                return False
            raise ValueError
        if kind == "str":
            return str(raw)
        if kind.startswith("dict"):
            if name == "damage_sensitivity":
                return _parse_mapping(raw, set(DAMAGE_TYPES), "damage type")
            if name == "accuracy_shifts":
                return _parse_mapping(raw, set(ACCURACY_SHIFT_ARMS), "arm")
            return _parse_shifts(raw)
    except ValueError as ex:
        detail = f": {ex}" if str(ex) else ""
        raise SimulatedArgumentError(f"Bad value for '-M {name}={raw}': expected {kind}{detail}.") from None
    raise SimulatedArgumentError(f"Bad value for '-M {name}={raw}'.")


def _parse_shifts(raw: Any) -> dict[str, float]:
    """`exhort:0.8,sandbag:-0.8` (or a dict) -> {arm: shift}; `utility` names both utility arms."""
    return _parse_mapping(raw, set(ARMS) | {"utility"}, "arm")


def _parse_mapping(raw: Any, known: set[str], what: str) -> dict[str, float]:
    """`name:value,name:value` (or a dict) -> {name: float}, every name one of `known`."""
    if isinstance(raw, dict):
        items = list(raw.items())
    else:
        # the CLI splits `-M shifts=a:1,b:2` into a list; Python callers may pass a string
        parts = raw if isinstance(raw, (list, tuple)) else str(raw).split(",")
        items = []
        for part in map(str, parts):
            if not part.strip():
                continue
            if ":" not in part:
                raise ValueError(f"'{part}' is not {what.replace(' ', '_')}:value")
            arm, value = part.split(":", 1)
            items.append((arm, value))
    mapping: dict[str, float] = {}
    for name, value in items:
        name = str(name).strip()
        if name not in known:
            raise ValueError(f"unknown {what} '{name}' (known: {', '.join(sorted(known))})")
        try:
            mapping[name] = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"value for '{name}' is not a number") from None
    return mapping


def load_planted_utilities(path: str) -> dict[str, tuple[float, float | None]]:
    """text -> (mean, variance or None) from `{text: mean}` or a utilities file."""
    file = Path(path)
    if not file.is_file():
        raise SimulatedArgumentError(f"'-M utilities={path}': no such file.")
    try:
        data = json.loads(file.read_text())
    except json.JSONDecodeError as ex:
        raise SimulatedArgumentError(f"'-M utilities={path}' is not valid JSON: {ex}") from None
    if isinstance(data, dict) and isinstance(data.get("outcomes"), list):
        try:
            return {o["text"].strip(): (float(o["mean"]), o.get("variance")) for o in data["outcomes"]}
        except (KeyError, TypeError, ValueError):
            raise SimulatedArgumentError(f"'-M utilities={path}': each outcome needs 'text' and 'mean'.") from None
    if isinstance(data, dict) and all(isinstance(v, (int, float)) for v in data.values()):
        return {str(k).strip(): (float(v), None) for k, v in data.items()}
    raise SimulatedArgumentError(
        f"'-M utilities={path}' must be {{outcome text: mean}} or a utilities file with an 'outcomes' list."
    )


def _key(text: str) -> str:
    """How a question is looked up in the answer key: whitespace-normalised, no trailing `?`."""
    return " ".join(str(text).split()).rstrip("?").strip()


def load_answer_key(answers: str, reading_items: str) -> dict[str, str]:
    """question -> correct answer: the reading items (yes/no) plus the `answers` file, if any."""
    key: dict[str, str] = {}
    if reading_items:
        from utility_gap.evals.reading_items import ReadingItemsError, load_reading_items

        try:
            key.update({_key(item.question): item.target for item in load_reading_items(reading_items)})
        except ReadingItemsError as ex:
            raise SimulatedArgumentError(f"'-M reading_items={reading_items}': {ex}") from None
    if not answers:
        return key
    file = Path(answers)
    if not file.is_file():
        raise SimulatedArgumentError(f"'-M answers={answers}': no such file.")
    text = file.read_text(encoding="utf-8")
    try:
        if file.suffix == ".jsonl":
            records = [json.loads(line) for line in text.splitlines() if line.strip()]
            pairs = [(r["input"], r["target"]) for r in records]
        else:
            pairs = list(json.loads(text).items())
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as ex:
        raise SimulatedArgumentError(
            f"'-M answers={answers}': expected JSONL lines with 'input' and 'target' strings, or a JSON object "
            f"{{input: target}} ({type(ex).__name__}: {ex})."
        ) from None
    for question, target in pairs:
        if not isinstance(question, str) or not isinstance(target, (str, int, float)):
            raise SimulatedArgumentError(f"'-M answers={answers}': input {question!r} needs a string or number target.")
        key[_key(question)] = str(target)
    return key
