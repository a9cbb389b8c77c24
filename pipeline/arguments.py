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


def model_key_values(items: list[str], flag: str) -> dict[str, dict[str, Any]]:
    """`MODEL:KEY=VALUE` strings -> {model: {key: value}}; a model name may hold `/` and `:`.

    The model is everything before the last `:` ahead of the first `=` (keys hold no `:`).
    """
    parsed: dict[str, dict[str, Any]] = {}
    for item in items:
        head = item.split("=", 1)[0]
        if "=" not in item or ":" not in head:
            raise CommandError(f"{flag} {item}: expected MODEL:KEY=VALUE, e.g. {flag} openai/gpt-4o-mini:temperature=0.")
        model, key_value = item[: head.rindex(":")], item[head.rindex(":") + 1 :]
        parsed.setdefault(model.strip(), {}).update(key_values([key_value], flag))
    return parsed
