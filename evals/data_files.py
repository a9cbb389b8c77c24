"""Where the shipped data files live, installed or in a source checkout."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def datasets_dir() -> Path:
    """The `datasets/` folder, which ships inside the wheel as `utility_gap.datasets`.

    `datasets/` holds data only (no `__init__.py`), so it is a namespace package; its
    real folder is the first search location that exists on disk.
    """
    spec = importlib.util.find_spec("utility_gap.datasets")
    for location in (spec.submodule_search_locations or []) if spec else []:
        if Path(location).is_dir():
            return Path(location)
    raise FileNotFoundError("The utility_gap.datasets folder is missing: reinstall utility-gap.")


def dataset_path(*parts: str) -> Path:
    return datasets_dir().joinpath(*parts)
