"""The study file: one output folder is one study, with one set of settings.

`utility-gap run --out DIR` resumes whatever DIR holds. If a rerun could change the
settings, its logs would be mixed with the first run's in one report (more items,
other repeats, another judge's verdicts counted as more pairs of the same study). So
the first run records its settings in `DIR/study.json`, and every later run into DIR
must have the same settings or is refused, before any model call, with each changed
setting, its old and new value, and the two ways out (the same settings, or a new
`--out`).

Schema (`utility-gap/study/v2`), one JSON object written atomically:

    {"schema": "utility-gap/study/v2",
     "created": "<ISO 8601 UTC, when the study was started>",
     "settings": {
        "models": [str],              # the models under test, in study order (the embedded
                                      # model's name if none given); see study_parts.py
        "model_args": {str: any},     # -M KEY=VALUE (every model under test), without credentials
        "model_args_for": {str: {str: any}},  # --arg-for MODEL:KEY=VALUE (one model), the same way
        "judges": [str],              # --judge, in panel order ([]: the model under test judges)
        "judge_args": {str: any},     # -J KEY=VALUE, without credentials
        "seed": int,
        "preset": str,
        "domains": [str], "tasks": [str],   # sorted: their order changes nothing
        "contrasts": [str],           # as given: the order is part of each writing eval's arguments
        "items": int, "repeats": int, "draws": int, "k": int, "rounds": int,
        "budget": int | null, "ranking_subsets": int, "ranking_size": int,
        "controls": int | null, "max_tokens": int, "choice_max_tokens": int | null,
        "judge_max_tokens": int | null,
        # only when the run is not the writing study alone (`entity_study.study_settings`):
        "families": [str], "entity_set": str, "entity_pairs": str, "entity_retries": int,
        "entity_items": int | null}}

Recorded: every setting that changes what is generated or judged, and every model
argument: Inspect's eval set names each eval by its task arguments, models and model
arguments, so a rerun with another `-M`/`-J` value (even `-M latency`) would start new
evals beside the old ones instead of resuming them. Not recorded, and free to change
between runs: how the run is shown (`--display`) and how fast it goes
(`--max-connections`, which Inspect leaves out of an eval's identity), and credentials
(`CREDENTIAL_ARGS`, never written to disk).

Adding a judge or a contrast to a finished study is refused like any other change:
the report would otherwise pool two panels (or two designs) as if they were one. Run
the addition into a new `--out` and compare the two reports.

A study file of schema v1 (one model, `"model": str`) is read as v2 with that one model.

Models are the one setting that may grow, and only when asked (`--add-models`, see
`study_parts.py`): each model's results are their own rows of the report.

A folder with logs but no study file was made before study files existed: its
settings cannot be checked, so the current ones are recorded and a note says so.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from utility_gap.analysis.atomic_files import write_text_atomic
from utility_gap.analysis.locations import location
from utility_gap.pipeline.entity_study import study_settings as family_settings

if TYPE_CHECKING:
    from utility_gap.pipeline.run import RunConfig

STUDY_FILE = "study.json"
SCHEMA = "utility-gap/study/v2"
SCHEMA_V1 = "utility-gap/study/v1"  # one model: "model" where v2 has "models"

# Model arguments never recorded: credentials (Inspect leaves them out of an eval's identity too).
CREDENTIAL_ARGS: frozenset[str] = frozenset({"api_key"})
CREDENTIAL_PREFIXES: tuple[str, ...] = ("aws_",)

# How each setting is named on the command line, for the refusal message.
_FLAGS = {
    "models": "--model",
    "judges": "--judge",
    "seed": "--seed",
    "preset": "--preset",
    "domains": "--domains",
    "tasks": "--tasks",
    "contrasts": "--contrasts",
    "items": "--items",
    "repeats": "--repeats",
    "draws": "--draws",
    "k": "--k",
    "max_tokens": "--max-tokens",
    "families": "--family",
    "entity_set": "--entities",
    "entity_pairs": "--entity-pairs",
    "entity_retries": "--entity-retries",
    "entity_items": "--entity-items",
}
_UNSET = "(not set)"


class StudyMismatch(ValueError):
    """The folder holds a study with other settings (or an unreadable study file)."""


@dataclass(frozen=True)
class Change:
    """One setting that differs between the study file and this run."""

    setting: str  # as named on the command line, e.g. "--items" or "-J judge_sd"
    old: Any
    new: Any

    def line(self) -> str:
        return f"  {self.setting}: {_show(self.old)} (recorded) -> {_show(self.new)} (this run)"


def study_settings(config: RunConfig) -> dict[str, Any]:
    """The settings of a run that decide what it generates and judges."""
    p = config.preset
    return {
        "models": list(config.study_models),
        "model_args": _recorded_args(config.model_args),
        "model_args_for": {m: _recorded_args(a) for m, a in sorted(config.model_args_for.items()) if _recorded_args(a)},
        "judges": list(config.judges),
        "judge_args": _recorded_args(config.judge_args),
        "seed": config.seed,
        "preset": p.name,
        "domains": sorted(p.domains),
        "tasks": sorted(p.tasks),
        "contrasts": list(p.contrasts),
        "items": p.items,
        "repeats": p.repeats,
        "draws": p.draws,
        "k": p.k,
        "rounds": p.rounds,
        "budget": p.budget,
        "ranking_subsets": p.ranking_subsets,
        "ranking_size": p.ranking_size,
        "controls": p.controls,
        "max_tokens": p.max_tokens,
        "choice_max_tokens": p.choice_max_tokens,
        "judge_max_tokens": p.judge_max_tokens,
        **family_settings(config),
    }


def _recorded_args(args: dict[str, Any]) -> dict[str, Any]:
    return {
        k: _jsonable(v)
        for k, v in sorted(args.items())
        if k not in CREDENTIAL_ARGS and not k.startswith(CREDENTIAL_PREFIXES)
    }


def _jsonable(value: Any) -> Any:
    """A value as it reads back from JSON, so a recorded value compares equal to a new one."""
    return json.loads(json.dumps(value, default=str))


def study_path(out: str | os.PathLike[str]) -> Path:
    return location(out) / STUDY_FILE  # type: ignore[return-value]  # a UPath when --out is a URL


def read_study(out: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The recorded settings, or None when the folder has no study file."""
    path = study_path(out)
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as ex:
        raise StudyMismatch(
            f"{path} cannot be read ({ex}). It records the settings of the study in {out}; restore it, "
            "or pass a new --out for a new study."
        ) from None
    if (
        not isinstance(data, dict)
        or data.get("schema") not in (SCHEMA, SCHEMA_V1)
        or not isinstance(data.get("settings"), dict)
    ):
        raise StudyMismatch(
            f"{path} is not a utility-gap study file (expected an object with schema '{SCHEMA}' and 'settings'). "
            "Restore it, or pass a new --out for a new study."
        )
    settings = dict(data["settings"])
    if data["schema"] == SCHEMA_V1:  # one model under test
        settings = {"models": [settings.pop("model", None)], "model_args_for": {}, **settings}
    return settings


def read_created(out: str | os.PathLike[str]) -> str | None:
    """When the folder's study was started (None without a readable study file)."""
    try:
        return json.loads(study_path(out).read_text(encoding="utf-8")).get("created")
    except (OSError, ValueError, AttributeError):
        return None


def changes(recorded: dict[str, Any], current: dict[str, Any]) -> list[Change]:
    """Every setting whose value differs, model and judge arguments one key at a time."""
    found: list[Change] = []
    for name in list(current) + [n for n in recorded if n not in current]:
        old, new = recorded.get(name, _UNSET), _jsonable(current.get(name, _UNSET))
        if name == "model_args_for" and isinstance(old, dict) and isinstance(new, dict):
            for model in list(new) + [m for m in old if m not in new]:
                found += _key_changes(f"--arg-for {model}:", old.get(model, {}), new.get(model, {}))
        elif name in ("model_args", "judge_args") and isinstance(old, dict) and isinstance(new, dict):
            found += _key_changes("-M " if name == "model_args" else "-J ", old, new)
        elif old != new:
            found.append(Change(_FLAGS.get(name, f"preset setting '{name}'"), old, new))
    return found


def _key_changes(flag: str, old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    keys = list(new) + [k for k in old if k not in new]
    return [Change(flag + k, old.get(k, _UNSET), new.get(k, _UNSET)) for k in keys if old.get(k, _UNSET) != new.get(k, _UNSET)]


def check_study(out: str | os.PathLike[str], current: dict[str, Any]) -> None:
    """Refuse (StudyMismatch) when the folder's study has other settings; writes nothing."""
    recorded = read_study(out)
    if recorded is None:
        return
    found = changes(recorded, current)
    if found:
        raise StudyMismatch(mismatch_message(out, found))


def record_study(out: str | os.PathLike[str], current: dict[str, Any]) -> str | None:
    """Check the settings and write the study file if the folder has none.

    Returns a note for the user when an older folder's settings could not be checked.
    Call it while holding the folder's lock (`study_lock`).
    """
    check_study(out, current)
    if read_study(out) is not None:
        return None
    # Inspect logs, not just folders: the run's part locks live in DIR/logs/tasks/<model>/
    logs = location(out) / "logs"
    legacy = logs.is_dir() and any(f.suffix in (".eval", ".json") and f.is_file() for f in logs.rglob("*"))
    write_study(out, current)
    if legacy:
        return (
            f"{out} holds logs from before study files existed, so their settings could not be checked; "
            f"this run's settings are now recorded in {study_path(out)}."
        )
    return None


def write_study(out: str | os.PathLike[str], current: dict[str, Any], created: str | None = None) -> Path:
    """Write the study file atomically and durably (`write_text_atomic`); `created` defaults to now."""
    path = study_path(out)
    document = {
        "schema": SCHEMA,
        "created": created or datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "settings": _jsonable(current),
    }
    return write_text_atomic(path, json.dumps(document, indent=2) + "\n", durable=True)


def mismatch_message(out: Any, found: list[Change]) -> str:
    return "\n".join(
        [
            f"--out {out} holds a study with other settings ({study_path(out)}); one folder is one study, "
            f"and mixing the two would pool their logs in one report. Changed setting{'s' if len(found) > 1 else ''}:",
            *[change.line() for change in found],
            "Either rerun with the recorded settings (to resume or finish that study), or pass a new --out "
            "for a study with these settings.",
        ]
    )


def _show(value: Any) -> str:
    if value == _UNSET:
        return _UNSET
    if isinstance(value, list):
        return ",".join(map(str, value)) if value else "(none)"
    return json.dumps(value) if not isinstance(value, str) else value
