"""The one user-facing error type of the `utility-gap` command, and how its messages print."""

from __future__ import annotations

import re

from rich.errors import StyleSyntaxError
from rich.style import Style


class CommandError(Exception):
    """A user-facing error: printed without a traceback, exit status 2."""


_TAG = re.compile(r"\[(/?)([^\[\]\n]*)\]")


def _is_style(text: str) -> bool:
    try:
        Style.parse(text)
    except StyleSyntaxError:
        return False
    return bool(text.strip())


def plain(message: str) -> str:
    """`message` without rich console markup such as `[bold]anthropic[/bold]`.

    Inspect writes markup into its error messages (a missing provider package, a bad
    model argument) for its own console; printed by this command it would show raw.
    Only tags that rich would read as styles are removed, so `scores['a']`, `[0]` or
    `[a, b]` stay as they are.
    """

    def strip(match: re.Match[str]) -> str:
        closing, body = match.groups()
        if closing:
            return "" if body == "" or _is_style(body) else match.group(0)
        return "" if _is_style(body) else match.group(0)

    return _TAG.sub(strip, message)
