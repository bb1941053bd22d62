"""`audit import`: load released logs (CSV, xlsx, PDF) into a store, with a per-release row account."""
from __future__ import annotations

import json
from pathlib import Path

import click

from auditor.cli.common import db_option
from auditor.importers import FORMATS, ImportOptions, import_files
from auditor.schema import open_store


@click.command("import")
@db_option
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="Force a format instead of detecting it from the header.")
@click.option("--owner", help="The agency whose Network Audit this is (the owner of every search in it).")
@click.option("--producer", help="The agency that released an Organization Audit, portal audit or sheet (the searcher).")
@click.option("--column-map", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="TOML or CSV mapping canonical fields to columns, for --format generic.")
@click.option("--careful", is_flag=True,
              help="Read every row with the per-row careful path instead of the columnar fast path (same result, slower).")
@click.option("--json", "as_json", is_flag=True, help="Print the per-release row account as JSON.")
def command(db_path: str, files: tuple[str, ...], fmt: str | None, owner: str | None, producer: str | None,
            column_map: Path | None, careful: bool, as_json: bool) -> None:
    """Import released search logs and sharing lists into the store (created if missing).

    FILES are Flock Organization/Network Audit exports, transparency-portal search audits,
    `Reason, DateTime` sheets, sharing lists (CSV or xlsx), Flock exports printed to PDF (read from
    the text layer; each row's page and line are kept), or any CSV with --column-map (which can
    also set a statewide database's system and query types, for CLETS logs). Each file (each
    worksheet of a workbook) is one release; re-importing the same file changes nothing. Every
    release's rows read = rows imported + rows rejected (rejects are kept with the reason); a
    release that looks cut short (a row count at an export limit, a cut last record, rows stopping
    inside the period its file name states) is noted.
    """
    db = open_store(db_path, create=True)
    options = ImportOptions(format=fmt, owner=owner, producer=producer, column_map=column_map,
                            careful=careful)
    accounts = import_files(db, files, options)
    totals = {k: sum(getattr(a, k) for a in accounts) for k in ("rows_read", "rows_imported", "rows_rejected")}
    totals["balanced"] = totals["rows_read"] == totals["rows_imported"] + totals["rows_rejected"]
    if as_json:
        click.echo(json.dumps({"releases": [a.as_dict() for a in accounts], "totals": totals}, indent=2))
        return
    for a in accounts:
        click.echo(f"{a.file_name}")
        click.echo(f"  format {a.format}, producer {a.producer or '(unknown)'}, audit kind {a.audit_kind}, {a.status}")
        click.echo(f"  rows read {a.rows_read:,} = imported {a.rows_imported:,} + rejected {a.rows_rejected:,}"
                   f" ({'balanced' if a.balanced else 'NOT BALANCED'})")
        if a.new_searches:
            click.echo(f"  new searches {a.new_searches:,}")
        if a.shares:
            click.echo(f"  shares {a.shares:,}")
        for note in a.notes:
            click.echo(f"  note: {note}")
    click.echo(f"total: {len(accounts)} release(s), rows read {totals['rows_read']:,} = imported "
               f"{totals['rows_imported']:,} + rejected {totals['rows_rejected']:,}"
               f" ({'balanced' if totals['balanced'] else 'NOT BALANCED'})")
