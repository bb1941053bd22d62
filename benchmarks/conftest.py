"""Shared inputs of the phase benchmarks: one synthetic Network Audit and one audited store per session.

    python -m pytest benchmarks --benchmark-enable            # 200k searches, under a minute
    PROXYTRACE_BENCH_SEARCHES=1000000 python -m pytest benchmarks --benchmark-enable

The file is generated once per (searches, seed) under ``benchmarks/.data/`` and reused; the store is
rebuilt each session, because the importer it measures changes.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from auditor.importers import import_files
from auditor.scan import run_audit
from auditor.schema import open_store
from benchmarks.compare import dataset

SEARCHES = int(os.environ.get("PROXYTRACE_BENCH_SEARCHES", "200000"))
SEED = 0


@pytest.fixture(scope="session")
def network_audit() -> Path:
    """El Cajon's synthetic Network Audit (simulator.bulk) with SEARCHES rows."""
    path, _counts = dataset(SEARCHES, SEED)
    return path


@pytest.fixture(scope="session")
def audited_store(network_audit: Path, tmp_path_factory) -> Path:
    """A store holding the file, audited once, so each phase can be re-run on its own."""
    path = tmp_path_factory.mktemp("bench") / "audited.db"
    db = open_store(path, create=True)
    import_files(db, [network_audit])
    run_audit(db)
    db.conn.close()
    return path


@pytest.fixture()
def store(audited_store: Path, tmp_path: Path):
    """A private copy of the audited store, open, for a benchmark that writes to it."""
    copy = tmp_path / "store.db"
    shutil.copyfile(audited_store, copy)
    db = open_store(copy)
    yield db
    db.conn.close()
