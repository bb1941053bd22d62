"""The `simulate` command: run a scenario into a store, print its summary, optionally export vendor logs.

`simulate` is a click group invoked without a subcommand for the common case
(`simulate --scenario el_cajon`), so verbs such as `simulate exercise ...` can be added beside it.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from auditor.cli.common import AuditGroup, BoundedInt, FiniteFloat, echo, pseudonym_options, pseudonymizer_for
from auditor.pseudonym import load_key
from auditor.schema import open_store
from simulator.budget import MAX_SCALE, check_fits, estimate
from simulator.exercise import DEFAULT_ITEMS, DEFAULT_SCALE, make_exercise, write_exercise
from simulator.export import export_owner_logs
from simulator.generate import check_out_path, simulate as run_scenario
from simulator.scenario import list_scenarios, load_scenario
from simulator.summary import Summary


def _format_summary(name: str, out: Path, seed: int, scale: float, summary: Summary, seconds: float) -> str:
    lines = [f"scenario {name}, seed {seed}, scale {scale:g}: wrote {out} in {seconds:.1f} s", "", "rows:"]
    lines += [f"  {table:<14}{count:>12,}" for table, count in summary.rows.items()]
    lines += ["", "searches by searcher state:"]
    lines += [f"  {state:<14}{count:>12,}" for state, count in summary.by_state.items()]
    lines += ["", "searches by true purpose:"]
    lines += [f"  {purpose:<18}{count:>8,}" for purpose, count in summary.by_purpose.items()]
    lines += [
        "", "truth:",
        f"  immigration-related searches   {summary.immigration_related:>8,}",
        f"  disguised searches             {summary.disguised:>8,}",
        f"    of them immigration-related  {summary.disguised_immigration:>8,}",
        f"  searches done for another agency {summary.proxy:>6,}",
        f"    of them for DHS (side door)  {summary.side_door:>8,}",
        f"  searches by DHS components     {summary.federal:>8,}",
        f"  misuse searches                {summary.misuse:>8,}",
    ]
    return "\n".join(lines)


@click.group(cls=AuditGroup, invoke_without_command=True)
@click.option("--scenario", "scenario_name", metavar="NAME|FILE.toml",
              help="A shipped scenario's name (see --list) or a path to a scenario file.")
@click.option("--seed", type=BoundedInt(), default=1, show_default=True, help="Random seed; the same seed gives the same store.")
@click.option("--scale", type=FiniteFloat(0, MAX_SCALE, low_open=True), default=1.0, show_default=True,
              help="Multiply reads and searches (0.02 for a classroom example, 10 for a stress test). A run "
                   "whose estimated store or memory would not fit is refused with the estimate.")
@click.option("--out", "out", type=click.Path(), default=None,
              help="The store to write (SQLite). Default: <scenario>.db in the current folder.")
@click.option("--overwrite", is_flag=True, help="Replace the store if it already exists.")
@click.option("--export-dir", type=click.Path(file_okay=False), default=None,
              help="Also write each focal owner's Flock Network Audit CSV and sharing list here.")
@click.option("--list", "list_only", is_flag=True, help="List the shipped scenarios and exit.")
@pseudonym_options
@click.pass_context
def simulate(ctx: click.Context, scenario_name: str | None, seed: int, scale: float, out: str | None,
             overwrite: bool, export_dir: str | None, list_only: bool, pseudonymize: bool, key_file: str | None) -> None:
    """Generate a surveillance network, its searches and their ground truth from a scenario.

    Example: `simulate --scenario el_cajon --seed 7 --out el_cajon.db --export-dir logs/`, then
    audit the store (or import the exported logs) and score the audit against the truth.
    """
    if ctx.invoked_subcommand is not None:
        return
    if list_only:
        for listing in list_scenarios():
            echo(f"{listing.name:<16}{listing.description}")
        return
    if not scenario_name:
        raise click.UsageError("give --scenario NAME (see --list), or --list")
    scenario = load_scenario(scenario_name)
    out_path = Path(out) if out else Path(f"{scenario.name}.db")
    check_out_path(out_path, overwrite)
    if (pseudonymize or key_file) and not export_dir:
        raise click.UsageError("--pseudonymize applies to the --export-dir logs; give --export-dir")
    if pseudonymize or key_file:
        load_key(key_file)  # a missing or short key fails before the simulation runs
    size = estimate(scenario, scale, seed)
    check_fits(size, out_path, scale=scale)
    started = time.perf_counter()
    if sys.stdout.isatty():
        total = int(size.reads + size.searches)
        with click.progressbar(length=total, label=f"simulating {scenario.name}") as bar:
            summary = run_scenario(scenario, out_path, seed=seed, scale=scale, overwrite=overwrite,
                                   progress=bar.update)
    else:
        summary = run_scenario(scenario, out_path, seed=seed, scale=scale, overwrite=overwrite)
    seconds = time.perf_counter() - started
    echo(_format_summary(scenario.name, out_path, seed, scale, summary, seconds))
    if export_dir:
        db = open_store(out_path)
        for path in export_owner_logs(db, export_dir, pseudonymizer_for(db, pseudonymize, key_file)):
            echo(f"exported {path}")


@simulate.command("exercise")
@click.option("--scenario", "scenario_name", required=True, metavar="NAME|FILE.toml",
              help="The scenario to cut the exercise from (see `simulate --list`).")
@click.option("--items", type=BoundedInt(1, 10_000), default=DEFAULT_ITEMS, show_default=True,
              help="How many searches to put on the worksheet.")
@click.option("--seed", type=BoundedInt(), default=1, show_default=True,
              help="Random seed for the simulation and the choice of items; the same seed gives the same files.")
@click.option("--scale", type=FiniteFloat(0, MAX_SCALE, low_open=True), default=DEFAULT_SCALE, show_default=True,
              help="Scale of the simulation behind the exercise (small keeps it to seconds).")
@click.option("--out", "out_dir", type=click.Path(), default=None,
              help="Folder for worksheet.csv/.html and answer_key.json/.html. Default: <scenario>-exercise-<seed>.")
@click.option("--store", type=click.Path(dir_okay=False), default=None,
              help="Keep the simulated, audited store here (default: a temporary file), to `audit explain` items later.")
@click.option("--overwrite", is_flag=True, help="Replace an existing exercise (and --store) of the same names.")
def exercise(scenario_name: str, items: int, seed: int, scale: float, out_dir: str | None, store: str | None,
             overwrite: bool) -> None:
    """Write a training exercise: a worksheet of searches to judge, and a separate answer key.

    The worksheet (printable HTML and a CSV to fill in) mixes clear violations, disguised ones and
    legitimate searches; the key gives each item's answers with the reasoning and citations, from the
    simulator's truth and the audit's rules. Grade a filled worksheet with
    `audit grade worksheet.csv --key answer_key.json`.
    """
    started = time.perf_counter()
    built = make_exercise(scenario_name, items=items, seed=seed, scale=scale, store=store, overwrite=overwrite)
    out = Path(out_dir) if out_dir else Path(f"{built.scenario}-exercise-{seed}")
    paths = write_exercise(built, out, overwrite=overwrite)
    mix: dict[str, int] = {}
    for item in built.items:
        mix[item.category] = mix.get(item.category, 0) + 1
    echo(f"exercise {built.exercise}: {len(built.items)} items ("
               + ", ".join(f"{n} {c}" for c, n in sorted(mix.items()))
               + f") in {time.perf_counter() - started:.1f} s")
    for path in paths:
        echo(f"wrote {path}")
    if store:
        echo(f"store kept at {store}: `audit explain --db {store} SEARCH_ID` shows an item's trace")


@simulate.command("sweep")
@click.option("--scenario", "scenario_name", required=True, metavar="NAME|FILE.toml",
              help="The scenario to vary (see `simulate --list`).")
@click.option("--vary", "ranges", multiple=True, required=True, metavar="NAME=START:STOP:POINTS|NAME=V1,V2",
              help="A parameter and its values (once or twice): disguise, proxy_rate, national, case_number, "
                   "requester_field. E.g. `--vary disguise=0:0.9:10`, `--vary national=0,1`.")
@click.option("--scale", type=FiniteFloat(0, MAX_SCALE, low_open=True), default=0.05, show_default=True,
              help="Scale of each point's simulation (small keeps a point to seconds).")
@click.option("--seed", type=BoundedInt(), default=1, show_default=True,
              help="Random seed, the same at every point: points differ by the parameter, not by a new draw.")
@click.option("--jobs", type=BoundedInt(1, 256), default=None,
              help="Points simulated at once, in worker processes. Default: the cores there are.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Folder for sweep.csv and sweep.svg. Default: sweep-<scenario>-<parameters>.")
@click.option("--overwrite", is_flag=True, help="Replace sweep.csv and sweep.svg if they exist.")
def sweep(scenario_name: str, ranges: tuple[str, ...], scale: float, seed: int, jobs: int | None,
          out_dir: str | None, overwrite: bool) -> None:
    """Vary one or two scenario parameters; at each point simulate, audit and score.

    Writes sweep.csv (one row per point and measure: recall, precision and the counts behind them)
    and sweep.svg (recall solid, precision dashed, one colour per rule or inference, against the
    first parameter; one panel per value of a second). Parameters: disguise (share of proxy and
    misuse reasons that hide the truth), proxy_rate (share of searches run for another agency),
    national (National Lookup off 0 / on 1), case_number (share of searches with a case number; 1
    = required), requester_field (share of proxy searches whose log names the requester).
    """
    from simulator.sweep import chart, default_jobs, parse_range, run_sweep, write_csv

    parsed = [parse_range(r) for r in ranges]
    names = [name for name, _ in parsed]
    scenario = load_scenario(scenario_name)
    out = Path(out_dir) if out_dir else Path(f"sweep-{scenario.name}-{'-'.join(names)}")
    csv_path, svg_path = out / "sweep.csv", out / "sweep.svg"
    if not overwrite and (csv_path.exists() or svg_path.exists()):
        raise click.UsageError(f"{out} already holds a sweep; give --overwrite to replace it")
    out.mkdir(parents=True, exist_ok=True)
    points = 1
    for _, values in parsed:
        points *= len(values)
    workers = min(jobs or default_jobs(), points)
    started = time.perf_counter()
    if sys.stdout.isatty():
        with click.progressbar(length=points, label=f"sweeping {scenario.name}") as bar:
            results = run_sweep(scenario_name, parsed, scale=scale, seed=seed, jobs=workers, progress=bar.update)
    else:
        results = run_sweep(scenario_name, parsed, scale=scale, seed=seed, jobs=workers)
    seconds = time.perf_counter() - started
    write_csv(results, names, csv_path)
    svg_path.write_text(chart(results, names, scenario=scenario.name, scale=scale, seed=seed), encoding="utf-8")
    echo(f"swept {scenario.name} over {', '.join(names)}: {points} points at scale {scale:g} in {seconds:.1f} s "
         f"with {workers} worker(s)")
    for r in results:
        m = r["measures"]["immigration inference"]
        rec = "n/a" if m["recall"] is None else f"{m['recall']:.3f}"
        pre = "n/a" if m["precision"] is None else f"{m['precision']:.3f}"
        where = ", ".join(f"{k}={v:g}" for k, v in r["values"].items())
        echo(f"  {where}: immigration inference recall {rec}, precision {pre} "
             f"({m['tp']} of {m['truth']} truly immigration-related, non-DHS searchers)")
    echo(f"wrote {csv_path}")
    echo(f"wrote {svg_path}")


def main() -> None:
    """Console-script entry point."""
    simulate(prog_name="simulate")
