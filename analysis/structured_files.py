"""Reading small hand-written settings files (YAML or JSON) with errors that name the file.

Used for the analysis plan (`analysis_plan.py`) and the column mapping of a judged-pairs
table (`pairs_table.py`): a lab writes them by hand, so a mistake must point at the file
and the line rather than surface as a parser traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from utility_gap.analysis.frames import FrameError


def read_mapping_file(path: str | Path, what: str) -> dict[str, Any]:
    """A .yaml/.yml/.json file holding one mapping (dict), or a FrameError naming `what` and the file."""
    path = Path(path)
    if not path.is_file():
        raise FrameError(f"{what} '{path}' does not exist.")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        elif path.suffix.lower() in (".yaml", ".yml"):
            data = yaml.safe_load(text)
        else:
            raise FrameError(f"{what} '{path}': use a .yaml, .yml or .json file.")
    except (json.JSONDecodeError, yaml.YAMLError) as ex:
        raise FrameError(f"{what} '{path}' is not valid {path.suffix.lstrip('.').upper()}: {ex}") from None
    if not isinstance(data, dict):
        raise FrameError(f"{what} '{path}' must hold a mapping of keys to values, not {type(data).__name__}.")
    return data
