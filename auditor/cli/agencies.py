"""`audit agencies`: resolve a store's agencies (state, level, kind, DHS component, 287(g))."""
from __future__ import annotations

from pathlib import Path

import click

from auditor.agencies import Resolver, resolve_store
from auditor.cli.common import db_option, echo
from auditor.schema import check_store, open_store
from auditor.storelock import store_lock


@click.command(name="agencies")
@db_option
@click.option("--ice-287g", "ice_287g", type=click.Path(dir_okay=False, path_type=Path),
              help="ICE's 287(g) list as CSV (state,agency,support_types); sets is_287g.")
@click.option("--overrides", type=click.Path(dir_okay=False, path_type=Path),
              help="Your corrections as CSV (name,state,level,kind,dhs_component); they win over everything.")
def command(db_path: str, ice_287g: Path | None, overrides: Path | None) -> None:
    """Resolve every agency in the store from its name and print counts by method.

    Evidence order: the shipped registry, then name heuristics (`Raleigh NC PD`, `[Federal] HSI
    Houston`), then ICE's 287(g) list, then your override file. Agencies the rules cannot place
    (level unknown, or a non-federal agency's state unknown) are listed as unresolved so you can add
    them to an override file.
    """
    resolver = Resolver(ice_287g=ice_287g, overrides=overrides)  # reads the files before the store is touched
    check_store(db_path)  # a missing or foreign file is refused before any lock file is made
    with store_lock(db_path, "audit agencies"):
        db = open_store(db_path)
        report = resolve_store(db, resolver)
    total = sum(report.by_method.values())
    echo(f"agencies: {total}  resolved: {report.resolved}  unresolved: {len(report.unknown)}")
    for method, count in report.by_method.items():
        echo(f"  {method:<10} {count}")
    if resolver.checks_287g:
        echo(f"on ICE's 287(g) list: {report.matched_287g}")
        near = db.execute(
            """SELECT a.name, g.ice_name, g.similarity FROM agency_287g g JOIN agencies a ON a.id = g.agency_id
               WHERE g.how = 'near_miss' ORDER BY g.similarity DESC, a.name""").fetchall()
        if near:
            echo(f"near-misses left unmatched ({len(near)}; check them, add an override if one is the same agency):")
            for name, ice_name, similarity in near:
                echo(f"  {name}  ~  {ice_name} ({similarity:.2f})")
    if report.unknown:
        echo("unresolved agencies (add them to an override file):")
        for name in report.unknown:
            echo(f"  {name}")
