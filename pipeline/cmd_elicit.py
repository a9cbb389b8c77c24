"""`utility-gap elicit`: run Stage 1 rounds for one model and domain, fit, write utilities.

    utility-gap elicit --model M --domain D --out DIR [--k K] [--budget N] [--logprobs] [--seed S]

Logs go to DIR/logs/elicitation/<model-slug>__<domain>/ (one per round; rerunning the
same command resumes), the utilities file to DIR/utilities/<model-slug>__<domain>.json.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from utility_gap.analysis.utilities_file import model_slug, utilities_from_fit, utilities_path, write_utilities


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="Inspect model, e.g. openai/gpt-4o-mini or simulated/chooser.")
    parser.add_argument("--domain", required=True, help="Outcome domain (e.g. demo, countries) or a .jsonl path.")
    parser.add_argument("--out", required=True, type=Path, help="Output directory (logs/ and utilities/).")
    parser.add_argument("--k", type=int, default=5, help="Draws per presentation order (default 5).")
    parser.add_argument("--budget", type=int, default=None, help="Training pairs (default about 2 n log2 n).")
    parser.add_argument("--heldout", type=int, default=None, help="Held-out pairs (default budget/10, at least 10).")
    parser.add_argument("--rounds", type=int, default=4, help="Rounds of pair selection (default 4).")
    parser.add_argument("--logprobs", action="store_true", help="Read P(A) from top logprobs (one call per order).")
    parser.add_argument("--seed", type=int, default=0, help="Seed for pair selection and the held-out set.")
    parser.add_argument("--temperature", type=float, default=1.0, help="Sampling temperature (default 1).")
    parser.add_argument("--unparseable-policy", choices=["skip", "half"], default="skip",
                        help="Refusals/unparseable answers in the fit: skip, or half a vote each side.")
    parser.add_argument("--no-batch", action="store_true",
                        help="Make K single calls per order instead of one call with num_choices=K.")
    parser.add_argument("--max-connections", type=int, default=None, help="Concurrent model connections.")
    parser.add_argument("-M", "--model-arg", action="append", default=[], metavar="KEY=VALUE",
                        help="Model argument (repeatable), as for `inspect eval -M`.")


def parse_model_args(items: list[str]) -> dict[str, Any]:
    """`key=value` strings -> dict, values read as YAML scalars like `inspect eval -M`."""
    import yaml

    from utility_gap.pipeline.errors import CommandError

    parsed: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise CommandError(f"-M {item}: expected KEY=VALUE, e.g. -M position_bias=0.5.")
        key, value = item.split("=", 1)
        parsed[key.strip()] = yaml.safe_load(value)
    return parsed


def run(args: argparse.Namespace) -> int:
    from utility_gap.analysis.elicitation_rounds import ElicitationError, ElicitationPlan, run_elicitation
    from utility_gap.evals.outcomes import OutcomeSetError
    from utility_gap.pipeline.errors import CommandError

    if args.k < 1:
        raise CommandError(f"--k {args.k}: the number of draws per order must be at least 1.")
    plan = ElicitationPlan(
        model=args.model,
        domain=args.domain,
        log_dir=Path(args.out) / "logs" / "elicitation" / f"{model_slug(args.model)}__{Path(args.domain).stem}",
        k=args.k,
        budget=args.budget,
        heldout=args.heldout,
        rounds=args.rounds,
        logprobs=args.logprobs,
        seed=args.seed,
        model_args=parse_model_args(args.model_arg),
        unparseable_policy=args.unparseable_policy,
        max_connections=args.max_connections,
        temperature=args.temperature,
        batch=not args.no_batch,
    )
    try:
        plan.validate()  # before any model call
        result = run_elicitation(plan)
    except (OutcomeSetError, ValueError, ElicitationError) as ex:
        raise CommandError(str(ex)) from None
    uf = utilities_from_fit(result.fit, args.model, result.domain, result.texts, result.logs)
    path = write_utilities(utilities_path(args.out, args.model, result.domain), uf)
    rounds = f"rounds: {result.rounds_run} run, {result.rounds_reused} resumed from logs"
    print(summary(uf, path, rounds, result.calls))
    return 0


def summary(uf: Any, path: Path, rounds: str, calls: int) -> str:
    """The few lines printed after a fit: where it went, how much data, how good, informative?"""
    m = uf.metrics

    def fmt(value: Any) -> str:
        return "n/a" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)

    lines = [
        f"Utilities for {uf.model} over '{uf.domain}' written to {path}",
        f"  {rounds}; model calls recorded in the logs: {calls}",
        f"  pairs: {m['n_pairs']} train, {m['n_heldout_pairs']} held out; parsed choices {m['n_choices']:g}; "
        f"refusals {m['n_refusal']}, unparseable {m['n_unparseable']} (policy: {m['unparseable_policy']})",
        f"  accuracy: train {fmt(m['train_accuracy'])}, held-out {fmt(m['heldout_accuracy'])}; "
        f"log-loss: train {fmt(m['train_log_loss'])}, held-out {fmt(m['heldout_log_loss'])}",
        f"  intransitive triads {fmt(m['intransitive_triad_share'])}; position bias (share 'A') {fmt(m['position_bias'])}",
    ]
    if uf.informative:
        top = ", ".join(o["id"] for o in uf.top_third()[:3])
        bottom = ", ".join(o["id"] for o in uf.bottom_third()[:3])
        lines.append(f"  informative: yes. Top: {top}. Bottom: {bottom}.")
    else:
        lines.append("  informative: NO -- " + "; ".join(uf.uninformative_reasons))
    return "\n".join(lines)
