"""`audit serve`: explore an audited store in Datasette, read-only, on localhost."""
from __future__ import annotations

import json
import signal
import subprocess
import tempfile
from pathlib import Path

import click

from auditor.cli.common import db_option
from auditor.errors import InputError
from auditor.serve import (HOST, INSTALL_HINT, check_port, database_name, datasette_available, datasette_command,
                           datasette_metadata, snapshot)


@click.command("serve")
@db_option
@click.option("--port", type=int, default=8001, show_default=True, help="Local port to listen on (0: any free port).")
@click.option("--allow-host", "allow_hosts", multiple=True, metavar="NAME",
              help="Also answer requests whose Host header is NAME (by default only localhost, 127.0.0.1 "
                   "and [::1]: a page on another site cannot reach the store through DNS rebinding); repeatable.")
def command(db_path: str, port: int, allow_hosts: tuple[str, ...]) -> None:
    """Open the store in Datasette: readable views, descriptions, facets and canned queries.

    A snapshot of the store (taken under its lock: refused while `audit run` or `audit import` is
    writing) is served immutable (read-only) on 127.0.0.1 only, answering only requests addressed
    to localhost (see --allow-host); the store's own bytes are left unchanged. Start with the views
    finding_list (every finding with rule, citation, searcher, reason and release row) and
    search_list, the agency_summary, state_summary and month_summary tables, and the canned
    queries: immigration-related searches by searcher, searches made for another agency,
    out-of-state searches by month. Needs the optional extra: pip install 'proxytrace[serve]'.
    """
    check_port(port)
    if not datasette_available():
        raise InputError(INSTALL_HINT)
    with tempfile.TemporaryDirectory(prefix="proxytrace-serve-") as tmp:
        copy = snapshot(db_path, tmp)
        metadata = Path(tmp) / "metadata.json"
        metadata.write_text(json.dumps(datasette_metadata(database_name(db_path))), encoding="utf-8")
        click.echo(f"Serving a snapshot of {db_path} read-only on http://{HOST}:{port}/ (Ctrl-C stops)", err=True)
        server = subprocess.Popen(datasette_command(copy, port, metadata, allow_hosts))
        # Stopping `audit serve` (Ctrl-C, or a TERM from a supervisor) stops Datasette with it.
        signal.signal(signal.SIGTERM, lambda *_: server.terminate())
        try:
            code = server.wait()
        except KeyboardInterrupt:
            server.terminate()
            server.wait()
            return
    if code not in (0, -signal.SIGTERM, -signal.SIGINT):
        raise InputError(f"Datasette stopped with exit code {code}")
