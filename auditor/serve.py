"""Open a store in Datasette, read-only, on this machine only, with proxytrace's metadata.

    snapshot("store.db", tmp)                  # a copy with the views, the store left untouched
    datasette_metadata("store")                # table and column descriptions, facets, canned queries
    datasette_command("store.db", 8001, meta)  # the argv `audit serve` runs

Datasette is an optional extra (`pip install '.[serve]'`); nothing here imports it.
"""
from __future__ import annotations

import importlib.util
import json
import sqlite3
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


def snapshot(path: str | Path, folder: str | Path) -> Path:
    """Copy the store, as of one moment, into ``folder`` (same file name) and make it servable there.

    The copy is taken with SQLite's online backup from a read-only connection, under the store's
    lock (:mod:`auditor.storelock`): refused in one line while `audit run` or `audit import` is
    writing, and never a half-written state. The store itself is not written (its bytes, sha256
    included, are the same after a start); the views and the WAL checkpoint are made in the copy,
    which Datasette then opens immutable. InputError when the store was never audited.
    """
    from auditor.schema import check_store
    from auditor.storelock import store_lock

    check_store(path)
    copy = Path(folder) / Path(path).name
    with store_lock(path, "audit serve (taking its snapshot)"):
        source = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
        target = sqlite3.connect(copy)
        try:
            source.backup(target)
        except sqlite3.Error as e:
            raise InputError(f"{path}: cannot read the store for serving: {e}") from None
        finally:
            target.close()
            source.close()
    db = open_store(copy)
    try:
        latest_run(db, str(path))
        create_views(db)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.execute("PRAGMA journal_mode = DELETE")  # the copy is one file: nothing beside it to keep
    finally:
        db.conn.close()
    return copy


def datasette_command(path: str | Path, port: int, metadata_path: str | Path,
                      allow_hosts: tuple[str, ...] = ()) -> list[str]:
    """The server's command line: the snapshot immutable (read-only), bound to 127.0.0.1, answering
    only requests addressed to a local name or one of ``allow_hosts`` (auditor.serve_app)."""
    argv = [sys.executable, "-m", "auditor.serve_app", "--immutable", str(path), "--host", HOST,
            "--port", str(port), "--metadata", str(metadata_path)]
    for name in allow_hosts:
        argv += ["--allow-host", name]
    for key, value in SETTINGS:
        argv += ["--setting", key, value]
    return argv


def check_port(port: int) -> None:
    """InputError unless ``port`` is a usable TCP port number (0 lets the system pick one)."""
    if not 0 <= port <= 65535:
        raise InputError(f"--port {port}: not a TCP port (0-65535)")


if __name__ == "__main__":  # pragma: no cover - a debugging aid
    print(json.dumps(datasette_metadata(sys.argv[1]), indent=2))
