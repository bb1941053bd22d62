"""`audit report`: write the report of an audited store (HTML, Markdown, JSON or CSV)."""
from __future__ import annotations

import sys

import click

from auditor.cli.common import db_option
from auditor.report import EXAMPLES_PER_RULE, FORMATS, format_for, latest_run, write_report, write_report_to
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

    HTML is one self-contained file (inline CSS and SVG, no scripts, no network): a headline of
    what was found in plain sentences, charts of every search (purposes, searchers, states, months,
    search types, networks searched) with those with findings inside them, a tile map of the
    searchers' states per owner, immigration-related searches, the owner → searcher → beneficiary
    flows with doors, findings by rule with citations and example findings with their source
    release and row, and the rules that found nothing at the end. It reads what `audit run` stored. Markdown and JSON carry the same content; CSV lists every per-search
    finding (rule_id, severity, citation, search_id, time, searcher, owner, beneficiary, door,
    reason, source_release, source_row, trace). Text from the logs is escaped in every format.
    """
    fmt = fmt or format_for(out_path)
    db = open_store(db_path)
    if out_path == "-":
        latest_run(db, db_path)
        write_report_to(db, sys.stdout, fmt, store=db_path, examples_per_rule=examples)
        return
    result = write_report(db, out_path, fmt, store=db_path, examples_per_rule=examples)
    if fmt == "csv":
        click.echo(f"Wrote {out_path} (csv): {result:,} finding rows, one per per-search finding.")
    else:
        c = result.counts
        click.echo(f"Wrote {out_path} ({fmt}): {c['searches']:,} searches, {c['finding_rows']:,} finding rows, "
                   f"{c['searches_with_findings']:,} searches with findings.")
