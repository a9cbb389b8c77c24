"""How a Stages 2-3 task names its utilities file: the way the folder's logs already name it.

Why: Inspect's eval set knows an eval by its task arguments, and a utility-arm writing
task takes its utilities file as a path (`utilities=`). Spelled another way, the same
file made another eval: after `--out runs/x`, a rerun with `--out /home/me/runs/x` (or
from another folder, or of a moved copy of the folder) generated and judged every
utility-arm sample again, and the report then refused the pairs it found twice. So:

- a new study names the file by its absolute path, which is the same from any folder;
- a rerun passes the spelling the logs in `DIR/logs/tasks` record, whenever that
  spelling reaches the same file (a study started with a relative `--out` resumes as it
  was started);
- a log whose utilities file is no longer where it says (the folder was moved or copied,
  or a relative spelling is read from another folder) stops the run before any Stage 2-3
  call, naming both paths and what to do.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from inspect_ai.log import list_eval_logs, read_eval_log

from utility_gap.analysis.locations import is_url, location


class MovedStudyError(ValueError):
    """The logs name a utilities file by a path that no longer reaches it."""


def recorded_utilities(log_dir: str | os.PathLike[str]) -> set[str]:
    """Every `utilities=` task argument recorded in the logs of `log_dir` (headers only)."""
    if not location(log_dir).is_dir():
        return set()
    found: set[str] = set()
    for info in list_eval_logs(str(log_dir), recursive=False):
        args = read_eval_log(info, header_only=True).eval.task_args_passed or {}
        if isinstance(args.get("utilities"), str):
            found.add(args["utilities"])
    return found


def _same_file(one: str | Path, other: str | Path) -> bool:
    try:
        return os.path.samefile(one, other)
    except OSError:
        return False


def utilities_argument(path: Path, recorded: Iterable[str], log_dir: str | os.PathLike[str]) -> str:
    """The `utilities=` value for `path`: a recorded spelling of the same file, else its absolute path.

    Raises MovedStudyError when a recorded spelling names a file of the same name
    that it no longer reaches: resuming would start that file's evals afresh.
    """
    if is_url(path):  # a URL is spelled one way from any machine or folder
        return str(path)
    recorded = sorted(recorded)
    for spelling in recorded:
        if _same_file(spelling, path):
            return spelling
    lost = [s for s in recorded if Path(s).name == path.name]
    if lost:
        raise MovedStudyError(
            f"The logs in {log_dir} name the utilities file {path.name} as {lost[0]}, which is not this study's "
            f"{path} (seen from {Path.cwd()}): the folder was moved or copied, or the run was started from "
            "another folder with a relative --out. Inspect knows each eval by that path, so resuming here would "
            "generate and judge every utility-arm sample again. Run the command from the folder it was started "
            f"in, or make {lost[0]} reach this folder's file (move the folder back, or link the old path to it), "
            "then rerun."
        )
    return str(path.resolve())
