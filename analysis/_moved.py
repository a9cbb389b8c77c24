"""Lazy forwarding for modules that moved out of `analysis/` (one-release aliases).

Why lazy: `analysis/` may not import the packages that run models (the layout rule in
docs/architecture.md, checked by tests/test_layout.py); an alias that imported its new
home at import time would break the rule it exists to keep.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any


def _warn(old: str, new: str) -> None:
    warnings.warn(f"{old} moved to {new}; the old name goes away in the next release.", DeprecationWarning, stacklevel=3)


def forward(old: str, new: str) -> Callable[[str], Any]:
    """A module `__getattr__` that resolves names from module `new`, with a warning."""

    def __getattr__(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        _warn(old, new)
        return getattr(importlib.import_module(new), name)

    return __getattr__


def forward_to_file(old: str, relative: str) -> Callable[[str], Any]:
    """A module `__getattr__` that resolves names from a file of the repository checkout."""
    path = Path(__file__).resolve().parents[1] / relative
    loaded: list[ModuleType] = []

    def __getattr__(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if not path.is_file():
            raise ImportError(
                f"{old} moved to {relative} in the utility-gap repository and is not installed; "
                "use it from a checkout (git clone, then `pip install -e .`)."
            )
        _warn(old, relative)
        if not loaded:
            spec = importlib.util.spec_from_file_location(Path(relative).stem, path)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules.setdefault(spec.name, module)
            spec.loader.exec_module(module)
            loaded.append(module)
        return getattr(loaded[0], name)

    return __getattr__
