"""Build any Inspect task by the name a user would give `inspect eval`.

Two kinds of name, both through public APIs:

- a registered task, `package/name` (e.g. `inspect_evals/gsm8k`, `utility_gap/essay`):
  `inspect_ai.util.registry_create("task", name, **args)`, which loads the package's
  `inspect_ai` entry point as `inspect eval` does;
- a local file, `path/to/file.py@task_name` (or `path/to/file.py` holding one task):
  `inspect_ai.list_tasks` reads the file's `@task` functions without importing it, then
  the file is imported (its folder on `sys.path`, as `inspect eval` runs it) and the
  function is called.

Every failure is a `TaskLookupError` naming the task and what would fix it, raised
before any model is called.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import sys
from pathlib import Path
from typing import Any

from inspect_ai import Task, list_tasks
from inspect_ai.util import registry_create


class TaskLookupError(ValueError):
    """The named task cannot be built; the message says why and what to pass instead."""


def build_task(spec: str, args: dict[str, Any] | None = None, *, flag: str = "-T task") -> Task:
    """The task `spec` names, built with `args` (its own `-T` arguments)."""
    spec = str(spec or "").strip()
    args = dict(args or {})
    if not spec:
        raise TaskLookupError(f"{flag}: name the task to frame, e.g. {flag}=inspect_evals/gsm8k or {flag}=my_tasks.py@qa.")
    file, _, name = spec.partition("@")
    if file.endswith(".py"):
        return _file_task(Path(file).expanduser(), name or None, args, spec, flag)
    return _registered_task(spec, args, flag)


def _registered_task(name: str, args: dict[str, Any], flag: str) -> Task:
    try:
        built = registry_create("task", name, **args)
    except LookupError:
        package = name.split("/", 1)[0] if "/" in name else None
        hint = (
            f"Is the package that provides it installed (e.g. `pip install {package}`)? "
            if package else "A task in an installed package is named package/task (e.g. inspect_evals/gsm8k). "
        )
        raise TaskLookupError(
            f"{flag}={name}: no Inspect task is registered under this name. {hint}"
            f"A task in a local file is named path/to/file.py@task_name. `inspect list tasks` shows local tasks."
        ) from None
    except TypeError as ex:
        raise TaskLookupError(f"{flag}={name}: the task's arguments do not fit it ({ex}); check task_args.") from None
    if not isinstance(built, Task):
        raise TaskLookupError(f"{flag}={name}: the registry entry is not a task (got {type(built).__name__}).")
    return built


def _file_task(file: Path, name: str | None, args: dict[str, Any], spec: str, flag: str) -> Task:
    if not file.is_file():
        raise TaskLookupError(f"{flag}={spec}: no such file '{file}'. Pass an existing .py file holding an @task function.")
    found = [info.name for info in list_tasks(file.name, root_dir=file.resolve().parent)]
    if not found:
        raise TaskLookupError(f"{flag}={spec}: '{file}' defines no @task function.")
    if name is None:
        if len(found) > 1:
            raise TaskLookupError(
                f"{flag}={spec}: '{file}' defines {len(found)} tasks ({', '.join(found)}); name one as {file}@<task>."
            )
        name = found[0]
    if name not in found:
        raise TaskLookupError(f"{flag}={spec}: '{file}' has no task '{name}'; it defines: {', '.join(found)}.")
    function = getattr(_import_file(file), name, None)
    if function is None:  # `@task(name=...)` registered it under another name than the function's
        raise TaskLookupError(f"{flag}={spec}: task '{name}' is not a module-level function of '{file}'.")
    accepted = inspect.signature(function).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values())
    unknown = [key for key in args if key not in accepted and not takes_any]
    if unknown:
        raise TaskLookupError(
            f"{flag}={spec}: task '{name}' takes no argument {', '.join(map(repr, unknown))} "
            f"(it takes: {', '.join(accepted) or 'none'}); check task_args."
        )
    built = function(**args)
    if not isinstance(built, Task):
        raise TaskLookupError(f"{flag}={spec}: '{name}' returned {type(built).__name__}, not an Inspect Task.")
    return built


def _import_file(file: Path) -> Any:
    """Import a task file once per path, with its folder importable (as `inspect eval` runs it)."""
    path = file.resolve()
    module_name = f"_utility_gap_task_{path.stem}_{hashlib.sha256(str(path).encode()).hexdigest()[:10]}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise TaskLookupError(f"-T task={file}: cannot import this file.")
    module = importlib.util.module_from_spec(spec)
    folder = str(path.parent)
    added = folder not in sys.path
    if added:
        sys.path.insert(0, folder)
    try:
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    except Exception:
        sys.modules.pop(module_name, None)
        raise
    finally:
        if added:
            sys.path.remove(folder)
    return module
