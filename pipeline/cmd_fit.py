"""`utility-gap fit LOGDIR --out FILE`: refit a utilities file from existing elicitation logs.

Reads every successful `preference_elicitation` log under LOGDIR (one model, one domain),
fits the Thurstonian model and writes FILE atomically. No model is called.
"""

from __future__ import annotations

import argparse
from utility_gap.analysis.locations import location


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("log_dir", type=location, metavar="LOGDIR",
                        help="Directory of elicitation logs (a path, or a URL such as s3://bucket/run/logs/elicitation/M__D).")
    parser.add_argument("--out", required=True, type=location, metavar="FILE", help="Utilities file to write (.json; a path or a URL).")
    parser.add_argument("--unparseable-policy", choices=["skip", "half"], default="skip",
                        help="Refusals/unparseable answers in the fit: skip, or half a vote each side.")


def _design_of(logs: list[str]) -> dict | None:
    """The design recorded in the logs' eval metadata (None for logs written before it was)."""
    from inspect_ai.log import read_eval_log

    for log in logs:
        design = (read_eval_log(log, header_only=True).eval.metadata or {}).get("design")
        if isinstance(design, dict):
            return design
    return None


def run(args: argparse.Namespace) -> int:
    from utility_gap.analysis.choices_frame import choices_frame
    from utility_gap.analysis.thurstonian import fit_thurstonian
    from utility_gap.analysis.utilities_file import summary, utilities_from_fit, write_utilities
    from utility_gap.pipeline.errors import CommandError
    from utility_gap.pipeline.storage import StorageError, check_urls

    try:
        check_urls(reads=[("LOGDIR", args.log_dir)], writes=[("--out", args.out.parent)])
    except StorageError as ex:
        raise CommandError(str(ex)) from None
    if not args.log_dir.is_dir():
        raise CommandError(f"LOGDIR {args.log_dir}: no such directory of elicitation logs.")
    frame = choices_frame(str(args.log_dir))
    if frame.empty:
        raise CommandError(
            f"LOGDIR {args.log_dir}: no successful preference_elicitation logs found. "
            "Run `utility-gap elicit ...` (or `inspect eval utility_gap/preference_elicitation`) first."
        )
    for column, what in (("model", "models"), ("domain", "domains")):
        values = sorted(frame[column].unique())
        if len(values) != 1:
            raise CommandError(
                f"LOGDIR {args.log_dir}: logs of several {what} ({', '.join(map(str, values))}); "
                f"a utilities file is for one model and one domain. Point LOGDIR at one run's logs."
            )
    texts = dict(zip(frame["outcome_a"], frame["text_a"])) | dict(zip(frame["outcome_b"], frame["text_b"]))
    fit = fit_thurstonian(frame, outcome_ids=sorted(texts), unparseable_policy=args.unparseable_policy)
    fit.metrics["calls"] = int(frame["calls"].sum())
    logs = sorted(frame["log"].unique())
    model, domain = str(frame["model"].iloc[0]), str(frame["domain"].iloc[0])
    uf = utilities_from_fit(fit, model, domain, texts, logs, design=_design_of(logs))
    path = write_utilities(args.out, uf)
    print(summary(uf, path, f"refitted from {len(logs)} log(s) without calling the model", int(frame["calls"].sum())))
    return 0
