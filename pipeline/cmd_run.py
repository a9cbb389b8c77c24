"""`utility-gap run`: the whole experiment, resumable, on any model or the embedded default."""

from __future__ import annotations

import argparse

from utility_gap.analysis.locations import location
from utility_gap.pipeline.arguments import key_values, model_key_values
from utility_gap.pipeline.errors import CommandError
from utility_gap.pipeline.presets import get_preset


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", action="append", default=[], metavar="MODEL",
        help="model under test, provider/model; repeat for several in one study (default: the embedded SmolLM2-135M)",
    )
    parser.add_argument(
        "--judge", action="append", default=[], metavar="MODEL",
        help="a judge model; repeat for a panel (default: the model under test judges)",
    )
    parser.add_argument("-M", dest="model_args", action="append", default=[], metavar="KEY=VALUE",
                        help="argument for every model under test (repeatable)")
    parser.add_argument("--arg-for", dest="model_args_for", action="append", default=[], metavar="MODEL:KEY=VALUE",
                        help="argument for one model under test, over -M (repeatable)")
    parser.add_argument("--only-model", action="append", default=[], metavar="MODEL",
                        help="run only this model's part of the study (repeatable; e.g. one model per machine); "
                             "name every model with --model, and write the report when every part is done")
    parser.add_argument("--add-models", action="store_true",
                        help="let models named with --model join the study already in --out (every other setting "
                             "the same)")
    parser.add_argument("-J", dest="judge_args", action="append", default=[], metavar="KEY=VALUE",
                        help="argument for every judge model (repeatable)")
    parser.add_argument("--preset", default="demo",
                        help="demo (default, a few minutes on a laptop), paper, or entities (demo's entity study only)")
    parser.add_argument("--family", help="comma list of studies: writing, entities (default: the preset's)")
    parser.add_argument("--tasks", help="comma list of writing tasks (default: the preset's)")
    parser.add_argument("--contrasts", help="comma list of contrasts armA_vs_armB (default: the preset's)")
    parser.add_argument("--domains", help="comma list of outcome domains for Stage 1 (default: the preset's)")
    parser.add_argument("--items", type=int, help="items per writing task")
    parser.add_argument("--repeats", type=int, help="generations per (item, contrast, draw)")
    parser.add_argument("--draws", type=int, help="outcome draws per item for utility contrasts")
    parser.add_argument("--k", type=int, help="Stage 1 draws per presentation order")
    parser.add_argument("--max-tokens", type=int, help="generation limit per output")
    parser.add_argument("--max-connections", type=int, help="concurrent model calls (embedded model: 1)")
    parser.add_argument("--seed", type=int, default=0, help="seed for pairs, draws and presentation orders")
    parser.add_argument("--out", default=None, help="output directory (default: runs/<preset>)")
    parser.add_argument("--entities", dest="entity_set", metavar="SET",
                        help="entity study: the entity set, a domain or a .jsonl path (default: entities)")
    parser.add_argument("--entity-pairs", help="entity study: advice pairs, `all` or a number (default: the preset's)")
    parser.add_argument("--entity-retries", type=int, help="entity study: extra advice attempts after a refusal")
    parser.add_argument("--entity-items", type=int, help="entity study: reading items per entity")
    parser.add_argument("--display", choices=["full", "rich", "plain", "log", "none"], default=None,
                        help="Inspect's progress display for Stages 2-3 (default: full in a terminal)")
    parser.add_argument("--dry-run", action="store_true", help="print the plan (evals, samples, calls) and exit")
    parser.add_argument("--quarantine-broken-logs", action="store_true",
                        help="move logs that cannot be read (cut short by a killed run or a full disk) to "
                             "OUT/broken/ and redo only their work")


def _csv(value: str | None) -> tuple[str, ...] | None:
    return None if value is None else tuple(v.strip() for v in value.split(",") if v.strip())


def config_from_args(args: argparse.Namespace):
    from utility_gap.pipeline.run import RunConfig

    try:
        preset = get_preset(args.preset)
    except ValueError as ex:
        raise CommandError(str(ex)) from None
    preset = preset.with_overrides(
        tasks=_csv(args.tasks), contrasts=_csv(args.contrasts), domains=_csv(args.domains),
        items=args.items, repeats=args.repeats, draws=args.draws, k=args.k, max_tokens=args.max_tokens,
        families=_csv(args.family), entity_set=args.entity_set, entity_pairs=args.entity_pairs,
        entity_retries=args.entity_retries, entity_items=args.entity_items,
    )
    return RunConfig(
        out=location(args.out or f"runs/{preset.name}"),  # a path, or a URL such as s3://bucket/prefix
        preset=preset,
        models=tuple(args.model),
        judges=list(args.judge),
        model_args=key_values(args.model_args, "-M"),
        model_args_for=model_key_values(args.model_args_for, "--arg-for"),
        only_models=tuple(args.only_model),
        add_models=args.add_models,
        judge_args=key_values(args.judge_args, "-J"),
        seed=args.seed,
        max_connections=args.max_connections,
        display=args.display,
        quarantine_broken_logs=args.quarantine_broken_logs,
    )


def run(args: argparse.Namespace) -> int:
    from utility_gap.pipeline.run import PipelineError, check_settings, format_plan, plan, run as run_pipeline, validate

    config = config_from_args(args)
    try:
        validate(config)
        if args.dry_run:
            check_settings(config)
            print(format_plan(config, plan(config)))
            return 0
        if config.judges and len(config.judges) < config.preset.judges:
            print(f"Note: preset '{config.preset.name}' expects {config.preset.judges} judges; {len(config.judges)} given.")
        report = run_pipeline(config)
    except PipelineError as ex:
        raise CommandError(str(ex)) from None
    if report is not None:
        print(f"Report written: {report}")
    return 0
