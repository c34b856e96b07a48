"""``python -m bench.ab``: the simulated A/B test of the onboarding model against the rule.

Starts a local stack (or uses the one running in ``--dir``), runs simulated listeners through
its API for ``--days`` simulated days in the experiment's arms (``--arms``: all by default, the
first the control; see :mod:`bench.ab.arms`), runs ``python -m lambdas.ops.experiments report``
on the stack's experiments table and writes the ``ab`` section of docs/benchmarks.md with a plot
of the learning curve (CTR by simulated day per arm), and with ``--json`` the run's figures as
JSON (:mod:`bench.ab.output`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shlex
import sys
import time
import uuid
from pathlib import Path

from bench.ab import listeners as sources
from bench.ab import ope_check, output
from bench.ab.arms import ArmsError, experiments_path, parse_arms, restricted, shares
from bench.ab.client import GatewayClient
from bench.ab.experiment_report import ReportRow, parse_report, run_report, run_rows
from bench.ab.section import REFERENCE_ARMS, RunSummary, body, plot
from bench.ab.simulate import ListenerResult, RunConfig, days_until_now, simulate
from bench.ab.stats import Lift, VariantTotals, bootstrap_lift, by_day, lift_of, totals
from bench.common import local_stack
from bench.report import DEFAULT_DOC, REPO_ROOT, machine, repo_relative, write_section
from lambdas.logic.experiments import Experiment, load
from lambdas.logic.services import ONBOARDING_EXPERIMENT
from local import deployment
from local.stack import Stack
from training.data.world import WorldTruth

SECTION = "ab"
PLOT = REPO_ROOT / "docs" / "img" / "ab_lift.png"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--arms",
        help="the experiment's variants taking part, comma-separated, the first the control of "
        "the lifts (default: every variant, the configured control first)",
    )
    parser.add_argument("--json", type=Path, help="also write the run's figures here as JSON")
    parser.add_argument("--listeners", type=int, default=400, help="simulated new listeners")
    parser.add_argument("--days", type=int, default=10, help="simulated days they arrive over")
    parser.add_argument("--seed", type=int, default=1, help="seed of the listeners and clicks")
    parser.add_argument(
        "--source",
        choices=sources.SOURCES,
        default="fresh",
        help="listeners generated anew from the world, or its held-out ones",
    )
    parser.add_argument(
        "--dir",
        type=Path,
        default=REPO_ROOT / ".local" / "bench-ab",
        help="the stack's directory (a stack running there is used)",
    )
    parser.add_argument("--world-users", type=int, default=3000, help="users of a started stack")
    parser.add_argument("--world-seed", type=int, default=11, help="seed of a started stack")
    parser.add_argument("--limit", type=int, default=5, help="stations and songs shown (each)")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="listeners at once (more than 1: see docs/experiments.md on the local gateway)",
    )
    parser.add_argument("--note", default="", help="a sentence on the run's conditions")
    parser.add_argument("--doc", type=Path, default=DEFAULT_DOC, help="benchmarks document")
    parser.add_argument("--plot", type=Path, default=PLOT, help="PNG of the CTR and lift by day")
    args = parser.parse_args(argv)
    if args.listeners < 2 or args.days < 1:
        parser.error("--listeners must be at least 2 and --days at least 1")
    return args


def served_model(stack: Stack) -> Path:
    last = deployment.read(stack)
    return Path(last.model_dir) if last else stack.dir / "model"


def draw_listeners(
    stack: Stack, args: argparse.Namespace
) -> tuple[list[sources.Listener], WorldTruth, str]:
    """The run's listeners, the truth that knows them, and how they were drawn."""
    world = stack.dir / "world"
    if args.source == "held-out":
        chosen = sources.held_out(
            world, served_model(stack), args.listeners, args.days, args.seed, args.limit
        )
        return chosen, WorldTruth(world), "held out (signed up after the model's training data)"
    chosen, fresh_world = sources.fresh(
        world, stack.dir / "ab-listeners", args.listeners, args.days, args.limit
    )
    seed = WorldTruth(world).seed
    return chosen, WorldTruth(fresh_world), f"generated anew from the same world (seed {seed})"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command = "python -m bench.ab " + shlex.join(argv if argv is not None else sys.argv[1:])
    experiment_spec = load(experiments_path())[ONBOARDING_EXPERIMENT]
    try:
        arms = parse_arms(args.arms, experiment_spec)
    except ArmsError as exc:
        print(f"python -m bench.ab: error: --arms: {exc}", file=sys.stderr)
        return 2
    load_avg = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    run_id = uuid.uuid4().hex[:8]
    config = RunConfig(run_id, args.seed, f"ab{args.seed}-", days_until_now(args.days),
                       experiment_spec, arms)  # fmt: skip
    with local_stack(args.dir, args.world_users, args.world_seed) as (stack, started):
        listeners, truth, source = draw_listeners(stack, args)
        world = WorldTruth(stack.dir / "world").document["config"]
        stack_text = f"`python -m local.up --users {world['users']} --seed {world['seed']}` " + (
            "started by the bench" if started else f"already running in {repo_relative(stack.dir)}"
        )
        print(f"{len(listeners):,} listeners, run {run_id}, arms {', '.join(arms)}",
              file=sys.stderr)  # fmt: skip
        before, _ = run_report(stack)
        began = time.monotonic()
        client = GatewayClient(stack)
        results = simulate(client, truth, listeners, config, workers=args.workers)
        simulate_s = time.monotonic() - began
        began = time.monotonic()
        after, report_args = run_report(stack)
        report_s = time.monotonic() - began
        hours = (simulate_s + 900) / 3600  # the run and the refresh's last minutes
        off_policy = ope_check.check(stack, truth, results, hours) if "bandit" in arms else None
    before_rows, after_rows = parse_report(before), parse_report(after)
    compared = restricted(experiment_spec, arms)
    report_text, report = run_rows(before_rows, after_rows, compared)
    print(report_text)
    variants = [totals(results, arm) for arm in arms]
    days = by_day(results, args.days, arms)
    summary = RunSummary(
        command=command,
        date=dt.date.today().isoformat(),
        machine=_machine_text(),
        load=load_avg,
        stack=stack_text,
        source=source,
        listeners=len(listeners),
        days=args.days,
        shown_limit=args.limit,
        seed=args.seed,
        experiment=experiment_spec.name,
        arms=arms,
        defined=tuple(experiment_spec.variants),
        configured_control=experiment_spec.control,
        variants=variants,
        weights=shares(experiment_spec, arms),
        report_command=_report_command(report_args),
        report_text=report_text,
        report=report,
        bootstrap={arm: bootstrap_lift(results, arms[0], arm, args.seed) for arm in arms[1:]},
        pairwise=pairwise(results, variants, arms, args.seed),
        off_policy=off_policy,
        days_detail=days,
        posted=sum(r.posted for r in results),
        stored=sum(r.stored for r in results),
        duplicates=sum(r.duplicates for r in results),
        errors=sum(len(r.errors) for r in results),
        retries=client.retries,
        simulate_s=simulate_s,
        report_s=report_s,
        plot=str(plot(args.plot, days, reference=_reference_run(arms))),
        note=args.note,
    )
    write_section(SECTION, body(summary), args.doc)
    counted, reported = counts_against_report(results, experiment_spec, before_rows, after_rows)
    if args.json:
        document = output.document(summary, run_id, counted == reported)
        print(f"wrote {output.write(args.json, document)}", file=sys.stderr)
    if summary.errors or summary.duplicates or counted != reported:
        first = [e for r in results for e in r.errors][:5]
        print(f"errors: {summary.errors} (first: {first}); duplicates: {summary.duplicates}; "
              f"counted {counted}, reported {reported}", file=sys.stderr)  # fmt: skip
        return 1
    return 0


def pairwise(
    results: list[ListenerResult], variants: list[VariantTotals], arms: tuple[str, ...], seed: int
) -> dict[str, dict[str, tuple[Lift | None, tuple[float, float] | None]]]:
    """Each arm but the control against each earlier one but the control: the lift with the
    report's interval on the two arms' counts, and the listener bootstrap's."""
    by_arm = {v.variant: v for v in variants}
    treatments = arms[1:]
    found: dict[str, dict[str, tuple[Lift | None, tuple[float, float] | None]]] = {}
    for i, later in enumerate(treatments):
        for earlier in treatments[:i]:
            lift = lift_of(by_arm[earlier], by_arm[later])
            found.setdefault(later, {})[earlier] = (
                lift,
                bootstrap_lift(results, earlier, later, seed),
            )
    return found


def counts_against_report(
    results: list[ListenerResult],
    experiment: Experiment,
    before: dict[str, ReportRow],
    after: dict[str, ReportRow],
) -> tuple[dict[str, tuple[int, int]], dict[str, tuple[int, int]]]:
    """(impressions, clicks) per variant of the experiment as the run posted them and as the
    report's counters grew over the run: every variant, so counts landing in an arm outside the
    run's show as a difference."""
    empty = ReportRow("", 0, 0)
    counted, reported = {}, {}
    for variant in experiment.variants:
        mine = totals(results, variant)
        counted[variant] = (mine.impressions, mine.clicks)
        new, old = after.get(variant, empty), before.get(variant, empty)
        reported[variant] = (new.impressions - old.impressions, new.clicks - old.clicks)
    return counted, reported


def _reference_run(arms: tuple[str, ...]) -> bool:
    """Whether the run compares the reference deployment's arms as it did (its +8.7 %)."""
    control, treatment = REFERENCE_ARMS
    return arms[0] == control and treatment in arms[1:]


def _machine_text() -> str:
    m = machine()
    return (
        f"{m['cpus']} CPUs ({m['cpu']}), {m['memory']} memory, Python {m['python']}, {m['system']}"
    )


def _report_command(args: list[str]) -> str:
    """The report's command line as run, without this machine's interpreter path."""
    return shlex.join(["python", *args[1:]])
