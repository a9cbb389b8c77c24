"""Command-line value parsing shared by the `utility-gap` subcommands."""

from __future__ import annotations

import argparse
from typing import Any

import yaml

from utility_gap.pipeline.errors import CommandError


def key_values(items: list[str], flag: str = "-M") -> dict[str, Any]:
    """`KEY=VALUE` strings -> dict, values read as YAML scalars like `inspect eval -M`."""
    parsed: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise CommandError(f"{flag} {item}: expected KEY=VALUE, e.g. {flag} seed=1.")
        key, value = item.split("=", 1)
        parsed[key.strip()] = yaml.safe_load(value) if value else ""
    return parsed


def positive_int(value: str, example: str = "") -> int:
    """An argparse type: a whole number >= 1 (`example` completes the message, e.g. '--per-stratum 50')."""
    try:
        number = int(value)
    except ValueError:
        hint = f"; e.g. {example}" if example else ""
        raise argparse.ArgumentTypeError(f"'{value}' is not a whole number{hint}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"{number} must be at least 1")
    return number
