"""`utility-gap elicit`: run Stage 1 rounds for one model and domain, fit, write utilities.

    utility-gap elicit --model M --domain D --out DIR [--k K] [--budget N] [--logprobs] [--seed S]

Logs go to DIR/logs/elicitation/<model-slug>__<domain>/ (one per round; rerunning the
same command resumes), the utilities file to DIR/utilities/<model-slug>__<domain>.json.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from utility_gap.analysis.utilities_file import summary
from utility_gap.pipeline.arguments import key_values


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="Inspect model, e.g. openai/gpt-4o-mini or simulated/chooser.")
    parser.add_argument("--domain", required=True, help="Outcome domain (e.g. demo, countries) or a .jsonl path.")
    parser.add_argument("--out", required=True, type=Path, help="Output directory (logs/ and utilities/).")
    parser.add_argument("--k", type=int, default=5, help="Draws per presentation order (default 5).")
    parser.add_argument("--budget", type=int, default=None, help="Training pairs (default about 2 n log2 n).")
    parser.add_argument("--heldout", type=int, default=None, help="Held-out pairs (default budget/10, at least 10).")
    parser.add_argument("--rounds", type=int, default=4, help="Rounds of pair selection (default 4).")
    parser.add_argument("--logprobs", action="store_true", help="Read P(A) from top logprobs (one call per order).")
    parser.add_argument("--top-logprobs", type=int, default=20,
                        help="Logprob mode: top tokens asked for per read (default 20).")
    parser.add_argument("--start", choices=["regular", "random"], default="regular",
                        help="Round 0 design: degree-balanced random graph (default) or a cycle plus random pairs.")
    parser.add_argument("--selection", choices=["filter", "score"], default="filter",
                        help="Later rounds: random among the closest gaps and least-compared outcomes (default), "
                             "or the older greedy closeness+degree score.")
    parser.add_argument("--seed", type=int, default=0, help="Seed for pair selection and the held-out set.")
    parser.add_argument("--temperature", type=float, default=1.0, help="Sampling temperature (default 1).")
    parser.add_argument("--unparseable-policy", choices=["skip", "half"], default="skip",
                        help="Refusals/unparseable answers in the fit: skip, or half a vote each side.")
    parser.add_argument("--no-batch", action="store_true",
                        help="Make K single calls per order instead of one call with num_choices=K.")
    parser.add_argument("--max-connections", type=int, default=None, help="Concurrent model connections.")
    parser.add_argument("-M", "--model-arg", action="append", default=[], metavar="KEY=VALUE",
                        help="Model argument (repeatable), as for `inspect eval -M`.")


def run(args: argparse.Namespace) -> int:
    from utility_gap.pipeline.elicitation_rounds import (
        ElicitationCancelled,
        ElicitationError,
        ElicitationPlan,
        elicit_utilities,
        elicitation_log_dir,
    )
    from utility_gap.evals.outcomes import OutcomeSetError
    from utility_gap.pipeline.errors import CommandError
    from utility_gap.pipeline.study_lock import StudyFolderBusy, study_lock
    from utility_gap.pipeline.study_parts import part_lock

    plan = ElicitationPlan(
        model=args.model,
        domain=args.domain,
        log_dir=elicitation_log_dir(args.out, args.model, args.domain),
        k=args.k,
        budget=args.budget,
        heldout=args.heldout,
        rounds=args.rounds,
        start=args.start,
        selection=args.selection,
        logprobs=args.logprobs,
        top_logprobs=args.top_logprobs,
        seed=args.seed,
        model_args=key_values(args.model_arg, "-M"),
        unparseable_policy=args.unparseable_policy,
        max_connections=args.max_connections,
        temperature=args.temperature,
        batch=not args.no_batch,
    )
    try:
        plan.validate()  # before any model call
        # One writer per folder, as for `utility-gap run`, and none in the model's part of a study
        # while a run (which holds only its parts) writes it.
        with study_lock(args.out), part_lock(Path(args.out), args.model):
            result, uf, path = elicit_utilities(plan, args.out)
    except ElicitationCancelled as ex:
        print(ex, file=sys.stderr)
        raise KeyboardInterrupt from None  # exit status 130, like any Ctrl-C
    except (OutcomeSetError, ValueError, ElicitationError, StudyFolderBusy) as ex:
        raise CommandError(str(ex)) from None
    rounds = f"rounds: {result.rounds_run} run, {result.rounds_reused} resumed from logs"
    print(summary(uf, path, rounds, result.calls))
    return 0
