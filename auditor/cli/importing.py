"""`audit import`: load released logs (CSV, xlsx, PDF) into a store, with a per-release row account."""
from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

import click

from auditor.cli.common import db_option, echo, echo_json
from auditor.cli.progress import meter_for, progress_option
from auditor.errors import InputError
from auditor.importers import FORMATS, ImportOptions, ReleaseAccount, import_files
from auditor.importers.release import REFUSED
from auditor.importers.release import ReleaseAccount
from auditor.schema import check_store, open_store
from auditor.storelock import StoreBusy, store_lock


@click.command("import")
@db_option
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="Force a format instead of detecting it from the header.")
@click.option("--owner", help="The agency whose Network Audit this is (the owner of every search in it).")
@click.option("--producer", help="The agency that released an Organization Audit, portal audit or sheet (the searcher).")
@click.option("--column-map", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="TOML or CSV mapping canonical fields to columns, for --format generic.")
@click.option("--date-order", type=click.Choice(["mdy", "dmy"]),
              help="Order of day and month in slash dates (1/9/2025), when a records-act sheet's column does not "
                   "prove it (no day above 12). Flock exports are month first.")
@click.option("--careful", is_flag=True,
              help="Read every row with the per-row careful path instead of the columnar fast path (same result, slower).")
@click.option("--json", "as_json", is_flag=True, help="Print the per-release row account as JSON.")
@progress_option
def command(db_path: str, files: tuple[str, ...], fmt: str | None, owner: str | None, producer: str | None,
            column_map: Path | None, date_order: str | None, careful: bool, as_json: bool,
            show_progress: bool | None) -> None:
    """Import released search logs and sharing lists into the store (created if missing).

    FILES are Flock Organization/Network Audit exports, transparency-portal search audits,
    `Reason, DateTime` sheets, sharing lists (CSV or xlsx), Flock exports printed to PDF (read from
    the text layer; each row's page and line are kept), or any CSV with --column-map (which can
    also set a statewide database's system and query types, for CLETS logs). Each file (each
    worksheet of a workbook) is one release; re-importing the same file changes nothing. Every
    release's rows read = rows imported + rows rejected (rejects are kept with the reason); a
    release that looks cut short (a row count at an export limit, a cut last record, rows stopping
    inside the period its file name states) is noted.
    Each file is its own transaction: a file that cannot be imported is reported as refused, with
    why, and the others are still imported; the exit code is 2 when any file was refused.
    On a terminal each file's rows read, rate and time left (estimated from bytes read against the
    file's size) are drawn on standard error; pipes and --json stay quiet unless --progress is given.
    """
    options = ImportOptions(format=fmt, owner=owner, producer=producer, column_map=column_map,
                            careful=careful, date_order=date_order)
    check_store(db_path, create=True)  # a foreign file is refused before any lock file is made
    try:
        with store_lock(db_path, "audit import"):
            db = open_store(db_path, create=True)
            meter = meter_for(show_progress, quiet=as_json)
            with meter or nullcontext():  # the meter's last line is finished before the account prints
                accounts = import_files(db, files, options, progress=meter)
    except StoreBusy as e:  # every file gets its outcome: none was tried
        why = str(e).split(": ", 1)[1] + "; nothing of this file was stored"
        accounts = [ReleaseAccount.refused(Path(f).name, why) for f in files]
    outcome = summarize(accounts)
    if len(files) == 1 and accounts[0].status == REFUSED:  # one file, one line
        raise InputError(f"{accounts[0].file_name}: {accounts[0].notes[0]}")
    if as_json:
        echo_json({"releases": [a.as_dict() for a in accounts], "totals": outcome})
    else:
        for a in accounts:
            echo(f"{a.file_name}")
            if a.status == REFUSED:
                why = a.notes[0] if len(a.notes[0]) <= 300 else a.notes[0][:297] + "..."  # a binary "header"
                echo(f"  refused: {why}")
                continue
            echo(f"  format {a.format}, producer {a.producer or '(unknown)'}, audit kind {a.audit_kind}, {a.status}")
            padding = f" + padding {a.rows_padding:,}" if a.rows_padding else ""
            echo(f"  rows read {a.rows_read:,} = imported {a.rows_imported:,} + rejected {a.rows_rejected:,}{padding}"
                 f" ({'balanced' if a.balanced else 'NOT BALANCED'})")
            if a.new_searches:
                echo(f"  new searches {a.new_searches:,}")
            if a.shares:
                echo(f"  shares {a.shares:,}")
            for note in a.notes:
                # A release that lost rows says so on its own line, with the reasons and counts.
                loud = note.startswith(("incomplete (", "possibly incomplete (", "release check ("))
                echo(f"  {'NOT COMPLETE: ' + note if note.startswith('incomplete (') else note}" if loud
                     else f"  note: {note}")
        echo(f"total: {outcome['imported_releases']} release(s) imported, {outcome['already_imported']} already "
             f"imported, {outcome['refused']} file(s) refused; rows read {outcome['rows_read']:,} = imported "
             f"{outcome['rows_imported']:,} + rejected {outcome['rows_rejected']:,} + padding "
             f"{outcome['rows_padding']:,} ({'balanced' if outcome['balanced'] else 'NOT BALANCED'})")
    refused = [a for a in accounts if a.status == REFUSED]
    if refused:
        names = ", ".join(a.file_name for a in refused[:5]) + (f" and {len(refused) - 5} more" if len(refused) > 5 else "")
        raise InputError(f"{len(refused)} of {len(files)} file(s) refused ({names}); the others were imported "
                         "as listed above")


def summarize(accounts: list[ReleaseAccount]) -> dict:
    """True totals of one import command: rows count only releases imported by it (a file already
    imported, or given twice, adds nothing), with how many were already there or refused."""
    new = [a for a in accounts if a.status == "complete"]
    totals = {k: sum(getattr(a, k) for a in new)
              for k in ("rows_read", "rows_imported", "rows_rejected", "rows_padding")}
    totals["balanced"] = totals["rows_read"] == totals["rows_imported"] + totals["rows_rejected"] + totals["rows_padding"]
    totals["imported_releases"] = len(new)
    totals["already_imported"] = sum(a.status == "already imported" for a in accounts)
    totals["refused"] = sum(a.status == REFUSED for a in accounts)
    return totals


