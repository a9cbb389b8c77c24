"""`utility-gap rate LOGDIR --out RATINGS`: a blind rating page for people, on loopback.

Draws a stratified, seeded sample of judged pairs (`analysis/rating_sample.py`), serves
the rating page (`pipeline/rating_server.py`) and appends each rating to RATINGS
(schema: `analysis/human_ratings.py`). Run it again with the same arguments to go on
where the rater stopped; give each rater a file of their own.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from utility_gap.analysis.frames import FLAGS, FrameError
from utility_gap.analysis.human_ratings import RatingsError, iter_ratings
from utility_gap.analysis.rating_sample import DEFAULT_STRATA, STRATA_COLUMNS, RatingSampleError, rating_sample
from utility_gap.pipeline.arguments import positive_int
from utility_gap.pipeline.cmd_report import _flags
from utility_gap.pipeline.errors import CommandError


def _strata(value: str) -> tuple[str, ...]:
    strata = tuple(s.strip() for s in value.split(",") if s.strip())
    unknown = [s for s in strata if s not in STRATA_COLUMNS]
    if unknown or not strata:
        raise argparse.ArgumentTypeError(f"use a comma list of {', '.join(STRATA_COLUMNS)} (e.g. task,contrast)")
    return strata


def _positive(value: str) -> int:
    return positive_int(value, "--per-stratum 50")


def _port(value: str) -> int:
    port = int(value) if value.isdigit() else -1
    if not 0 <= port < 65536:
        raise argparse.ArgumentTypeError(f"'{value}' is not a port (0-65535; 0 picks a free one)")
    return port


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("logdir", metavar="LOGDIR", help="directory of Inspect logs with judged pairs")
    parser.add_argument("--out", required=True, type=Path, metavar="RATINGS",
                        help="this rater's ratings file (JSONL; appended to, so a rater can stop and come back)")
    parser.add_argument("--rater", default=None, help="the rater's id (default: the ratings file's name without .jsonl)")
    parser.add_argument("--per-stratum", type=_positive, default=50, metavar="N",
                        help="pairs to rate per stratum (default 50)")
    parser.add_argument("--strata", type=_strata, default=DEFAULT_STRATA, metavar="COLUMNS",
                        help=f"what a stratum is: a comma list of {', '.join(STRATA_COLUMNS)} (default task,contrast)")
    parser.add_argument("--seed", type=int, default=0, help="sample and order seed; every rater of a study uses the same")
    parser.add_argument("--exclude-flags", type=_flags, default=FLAGS, metavar="FLAGS",
                        help=f"never show pairs with these flags (default: {','.join(FLAGS)}; a leak reveals the framing)")
    parser.add_argument("--scorer", default=None, help="pairwise score to use when logs were re-judged")
    parser.add_argument("--port", type=_port, default=0, help="loopback port (default 0: a free one)")


def _rater(args: argparse.Namespace) -> str:
    rater = args.rater if args.rater is not None else args.out.name.removesuffix(".jsonl")
    if not rater.strip() or rater != rater.strip():
        raise CommandError(f"--rater {rater!r}: give a non-empty id without surrounding spaces.")
    if args.out.exists():
        others = {record["rater"] for _, record in iter_ratings(args.out)} - {rater}
        if others:
            raise CommandError(
                f"--out {args.out} holds ratings by {', '.join(sorted(others))}, not {rater!r}: give every rater "
                f"a file of their own (or pass --rater {sorted(others)[0]} to go on as that rater)."
            )
    return rater


def run(args: argparse.Namespace) -> int:
    from utility_gap.pipeline.rating_server import RatingSession, serve

    parent = os.getppid()  # before the slow part, so a parent that dies meanwhile is noticed
    if not Path(args.logdir).exists():
        raise CommandError(f"LOGDIR '{args.logdir}' does not exist; pass the directory `inspect eval --log-dir` wrote to.")
    if args.out.is_dir():
        raise CommandError(f"--out {args.out} is a directory; give the ratings file to write (e.g. ratings/alice.jsonl).")
    if not args.out.parent.is_dir():
        raise CommandError(f"--out {args.out}: the folder {args.out.parent} does not exist; create it first.")
    try:
        rater = _rater(args)
        sample = rating_sample(args.logdir, args.per_stratum, args.strata, args.seed, args.exclude_flags, args.scorer)
        session = RatingSession(sample=sample, out=args.out, rater=rater)
    except (FrameError, RatingSampleError, RatingsError) as ex:
        raise CommandError(str(ex)) from None
    sizes = ", ".join(f"{stratum}: {n}" for stratum, n in sample.strata_sizes.items())
    print(f"Rating sample: {len(sample.pairs)} pairs ({sizes}); seed {sample.seed}.")
    print(f"Rater {rater!r}: {len(session.done)} already rated, ratings go to {args.out}.")

    def ready(url: str) -> None:
        print(f"Open {url} in a browser. Stop with Ctrl-C (every rating is already saved).", flush=True)

    try:
        serve(session, args.port, ready, parent)
    except KeyboardInterrupt:
        pass
    except OSError as ex:
        raise CommandError(f"Cannot serve on 127.0.0.1:{args.port}: {ex}") from None
    print(f"Stopped. {len(session.done)} of {len(sample.pairs)} pairs rated by {rater!r} in {args.out}.", flush=True)
    return 0
