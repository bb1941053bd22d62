"""Open a store in Datasette, read-only, on this machine only, with proxytrace's metadata.

    prepare_store("store.db")                  # views present, WAL folded in: safe to open immutable
    datasette_metadata("store")                # table and column descriptions, facets, canned queries
    datasette_command("store.db", 8001, meta)  # the argv `audit serve` runs

Datasette is an optional extra (`pip install '.[serve]'`); nothing here imports it.
"""
from __future__ import annotations

import importlib.util
import json
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from auditor.errors import InputError
from auditor.report.build import latest_run
from auditor.schema import open_store
from auditor.views import create_views

HOST = "127.0.0.1"  # never another interface: the store holds personal data
INSTALL_HINT = "Datasette is not installed; install it with: pip install 'proxytrace[serve]' (or pip install datasette)"
# Generous limits for one reader on a local store; a slow query still stops with Datasette's message.
SETTINGS = (("sql_time_limit_ms", "5000"), ("facet_time_limit_ms", "1000"), ("max_returned_rows", "2000"))


def datasette_available() -> bool:
    """Whether the optional Datasette extra is installed."""
    return importlib.util.find_spec("datasette") is not None


def database_name(path: str | Path) -> str:
    """The name Datasette gives a database file: its file name without the extension."""
    return Path(path).stem


def datasette_metadata(name: str) -> dict[str, Any]:
    """The shipped Datasette metadata (auditor/data/datasette.json), keyed to the database ``name``."""
    text = resources.files("auditor").joinpath("data/datasette.json").read_text(encoding="utf-8")
    meta = json.loads(text)
    meta["databases"] = {name: meta["databases"]["STORE"]}
    return meta


def prepare_store(path: str | Path) -> None:
    """Check the store was audited, (re)create the readable views, and fold the WAL into the file.

    After this the file alone holds the store, so Datasette can open it immutable (read-only,
    no locks) and still see the last run.
    """
    db = open_store(path)
    try:
        latest_run(db, str(path))
        create_views(db)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.conn.close()


def datasette_command(path: str | Path, port: int, metadata_path: str | Path) -> list[str]:
    """The Datasette command line: immutable (read-only) store, localhost only, with the metadata."""
    argv = [sys.executable, "-m", "datasette", "serve", "--immutable", str(path), "--host", HOST,
            "--port", str(port), "--metadata", str(metadata_path)]
    for key, value in SETTINGS:
        argv += ["--setting", key, value]
    return argv


def check_port(port: int) -> None:
    """InputError unless ``port`` is a usable TCP port number (0 lets the system pick one)."""
    if not 0 <= port <= 65535:
        raise InputError(f"--port {port}: not a TCP port (0-65535)")


if __name__ == "__main__":  # pragma: no cover - a debugging aid
    print(json.dumps(datasette_metadata(sys.argv[1]), indent=2))
