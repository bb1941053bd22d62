"""`audit report`: write the report of an audited store (HTML, Markdown, JSON or CSV)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from auditor.cli.common import db_option
from auditor.errors import InputError
from auditor.report import EXAMPLES_PER_RULE, FORMATS, format_for, latest_run, write_report
from auditor.schema import open_store


@click.command("report")
@db_option
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="File to write (`-` for standard output).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="Report format; default from the --out extension (.html .csv .json .md), else html.")
@click.option("--examples", type=click.IntRange(min=0), default=EXAMPLES_PER_RULE, show_default=True,
              help="Example findings listed per rule in html/md/json (CSV always lists every finding).")
def command(db_path: str, out_path: str, fmt: str | None, examples: int) -> None:
    """Write the report of the store's latest `audit run`.

    HTML is one self-contained file (inline CSS and SVG charts, no scripts, no network): the run and
    its releases, findings by rule with citations, charts by owner, searcher state, purpose and
    month, the owner → searcher → beneficiary flows with doors, and example findings with their
    source release and row. Markdown and JSON carry the same content; CSV lists every per-search
    finding (rule_id, severity, citation, search_id, time, searcher, owner, beneficiary, door,
    reason, source_release, source_row, trace). Text from the logs is escaped in every format.
    """
    fmt = fmt or format_for(out_path)
    db = open_store(db_path)
    latest_run(db, db_path)  # fail before creating the output file
    if out_path == "-":
        write_report(db, sys.stdout, fmt, store=db_path, examples_per_rule=examples)
        return
    target = Path(out_path)
    partial = target.with_name(f".{target.name}.partial")
    try:
        with open(partial, "w", encoding="utf-8", newline="" if fmt == "csv" else None) as out:
            result = write_report(db, out, fmt, store=db_path, examples_per_rule=examples)
        os.replace(partial, target)
    except OSError as e:
        partial.unlink(missing_ok=True)
        raise InputError(f"{out_path}: cannot write report: {e.strerror or e}") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    if fmt == "csv":
        click.echo(f"Wrote {target} (csv): {result:,} finding rows, one per per-search finding.")
    else:
        c = result.counts
        click.echo(f"Wrote {target} ({fmt}): {c['searches']:,} searches, {c['finding_rows']:,} finding rows, "
                   f"{c['searches_with_findings']:,} searches with findings.")
