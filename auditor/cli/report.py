"""`audit report`: write the report of an audited store (HTML, Markdown, JSON or CSV)."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from auditor.cli.common import BoundedInt, db_option, echo, pseudonym_options, pseudonymizer_for
from auditor.manifest import write_manifest
from auditor.outputs import check_target, store_files
from auditor.report import (
    EXAMPLES_PER_RULE, FORMATS, format_for, is_report_file, latest_run, write_report, write_report_to,
)
from auditor.schema import open_store


@click.command("report")
@db_option
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="File to write (`-` for standard output). Never the store, and never an existing file "
                   "other than an earlier report.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="Report format; default from the --out extension (.html .csv .json .md), else html.")
@click.option("--examples", type=BoundedInt(0, 100_000), default=EXAMPLES_PER_RULE, show_default=True,
              help="Example findings listed per rule in html/md/json (CSV always lists every finding); "
                   "up to 200 come from those `audit run` stored, more are read off the findings (slower).")
@pseudonym_options
def command(db_path: str, out_path: str, fmt: str | None, examples: int, pseudonymize: bool,
            key_file: str | None) -> None:
    """Write the report of the store's latest `audit run`.

    HTML is one self-contained file (inline CSS and SVG, no scripts, no network): a headline of
    what was found in plain sentences, charts of every search (purposes, searchers, states, months,
    search types, networks searched) with those with findings inside them, a tile map of the
    searchers' states per owner, immigration-related searches, the owner → searcher → beneficiary
    flows with doors, findings by rule with citations and example findings with their source
    release and row, and the rules that found nothing at the end. It reads what `audit run` stored. Markdown and JSON carry the same content; CSV lists every per-search
    finding (rule_id, severity, citation, search_id, time, searcher, owner, beneficiary, door,
    reason, source_release, source_row, trace). Text from the logs is escaped in every format, and
    control characters are made visible. `--pseudonymize` replaces plates, officer names and case
    numbers with keyed tokens. The report is written beside --out and renamed over it at the end.
    Beside it, REPORT.manifest.json records the sha256 of every release, the store's schema version,
    the rule set's hash, proxytrace's version and the run's and report's parameters (`audit verify`).
    """
    fmt = fmt or format_for(out_path)
    target = None if out_path == "-" else Path(out_path)
    if target is not None:  # before the store is opened: a refused --out must not touch anything
        inputs = store_files(db_path) + ([Path(key_file)] if key_file else [])
        check_target(target, inputs=inputs, what="report", replaceable=is_report_file)
    db = open_store(db_path)
    run = latest_run(db, db_path)  # fail before creating the output file
    if run["unfinished"]:  # said in every format, the CSV included, and on stderr
        from auditor.report.build import interrupted_note

        echo(f"Warning: {interrupted_note(run)}", err=True)
    pseudonymizer = pseudonymizer_for(db, pseudonymize, key_file)
    if target is None:
        write_report_to(db, sys.stdout, fmt, store=db_path, examples_per_rule=examples, pseudonymizer=pseudonymizer)
        return
    result = write_report(db, target, fmt, store=db_path, examples_per_rule=examples, pseudonymizer=pseudonymizer)
    # The record beside the report: release hashes, schema, rule set, version, parameters (`audit verify`).
    manifest = write_manifest(db, target, db_path, {"format": fmt, "examples": examples,
                                                    "pseudonymized": pseudonymizer is not None})
    shown = " (pseudonymized)" if pseudonymizer is not None else ""
    if fmt == "csv":
        echo(f"Wrote {target} (csv{shown}): {result:,} finding rows, one per per-search finding.")
        echo(f"Wrote {manifest} (what the report was made from; check it with `audit verify {target} --db {db_path}`).")
        return
    c = result.counts
    echo(f"Wrote {target} ({fmt}{shown}): {c['searches']:,} searches, {c['finding_rows']:,} finding rows, "
         f"{c['searches_with_findings']:,} searches with findings.")
    echo(f"Wrote {manifest} (what the report was made from; check it with `audit verify {target} --db {db_path}`).")
