"""The `utility-gap` command.

Each subcommand NAME lives in `utility_gap.pipeline.cmd_<name>` (dashes become
underscores) with `add_arguments(parser)` and `run(args) -> int`, so a stage's command
sits beside nothing but its own code and is imported only when used.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import signal
import sys
import threading

from utility_gap.analysis.atomic_files import FULL, OutputWriteError, write_failure_message
from utility_gap.pipeline.errors import CommandError, plain

COMMANDS: dict[str, str] = {
    "run": "Run the whole experiment (Stages 1-4), resumable; the embedded model when no --model.",
    "elicit": "Stage 1: elicit preferences in rounds and fit a utilities file.",
    "fit": "Stage 1: refit a utilities file from existing elicitation logs.",
    "report": "Stage 4: turn a log directory into tables, figures and a Markdown report.",
    "rate": "Rate judged pairs blind in a local web page, to check the panel against people.",
    "plan-power": "Plan items x repeats for a smallest effect of interest.",
    "tasks": "List the Inspect tasks this package registers (utility_gap/<task>).",
    "serve": "Start the embedded default model (SmolLM2-135M) on a loopback port.",
    "entities": "Entity preferences vs donation advice, refusals and reading accuracy (Spearman, Holm).",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="utility-gap",
        description="Do a language model's stated preferences act as incentives?",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, help_text in COMMANDS.items():
        module = importlib.import_module(f"utility_gap.pipeline.cmd_{name.replace('-', '_')}")
        command = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(command)
        command.set_defaults(_run=module.run)
    return parser


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # unwinds like Ctrl-C, so servers and temp files are cleaned up


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)
    try:
        return int(args._run(args) or 0)
    except CommandError as ex:
        print(f"utility-gap {args.command}: error: {plain(str(ex))}", file=sys.stderr)
        return 2
    except OutputWriteError as ex:  # a full disk or read-only folder: the path and the fix, no traceback
        print(f"utility-gap {args.command}: error: {ex}", file=sys.stderr)
        return 1
    except OSError as ex:  # a full or read-only disk met by a write we do not wrap (e.g. inside Inspect)
        if ex.errno not in FULL | {errno.EROFS}:
            raise
        where = ex.filename or getattr(args, "out", None) or "an output file"
        print(f"utility-gap {args.command}: error: {write_failure_message(where, ex)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"utility-gap {args.command}: interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
