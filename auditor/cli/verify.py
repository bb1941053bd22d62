"""`audit verify`: does a report still match the store, rules, version and release files it was made from?"""
from __future__ import annotations

import sys
from pathlib import Path

import click

from auditor.cli.common import db_option, echo
from auditor.manifest import verify
from auditor.schema import open_store


@click.command("verify")
@click.argument("report", type=click.Path(dir_okay=False))
@db_option
@click.option("--releases", "release_dirs", multiple=True, type=click.Path(file_okay=False, exists=True),
              help="A folder holding the release files (repeatable): each release the manifest lists is "
                   "found there by name and its bytes hashed again.")
def command(report: str, db_path: str, release_dirs: tuple[str, ...]) -> None:
    """Check a report against its manifest (REPORT.manifest.json, written by `audit report`).

    Compares the report file's sha256, proxytrace's version, the rule set's hash, the store's schema
    version and searches, the audit run and its parameters, the releases in the store and, with
    --releases, the release files themselves. Exit 0 and `verified` when all match; exit 1 with one
    line naming what changed otherwise.
    """
    changed = verify(Path(report), open_store(db_path), [Path(d) for d in release_dirs])
    if changed:
        more = f" (and {len(changed) - 1} more: {'; '.join(changed[1:])})" if len(changed) > 1 else ""
        echo(f"changed: {changed[0]}{more}")
        sys.exit(1)
    checked = "report, version, rule set, schema, run, releases" + (", release files" if release_dirs else "")
    echo(f"verified: {report} matches its manifest ({checked})")
