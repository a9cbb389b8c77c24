"""The one user-facing error type of the `utility-gap` command."""


class CommandError(Exception):
    """A user-facing error: printed without a traceback, exit status 2."""
