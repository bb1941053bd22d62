"""An ADBC connection to the store, shaped like the sqlite3 connection the loaders were written for.

The columnar loader writes Arrow batches with ``adbc_ingest`` (bound to SQLite in C) and does the
rest of a release's work (new agencies and reasons, rejects, runs, links) through the same
connection, so the release is one transaction on one connection. Only what the loaders call is
offered: ``execute`` (returning rows, ``lastrowid``), ``executemany``, ``ingest``, commit, rollback.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import pyarrow as pa


class _Result:
    def __init__(self, rows: list[tuple], lastrowid: int | None) -> None:
        self.rows, self.lastrowid = rows, lastrowid

    def fetchone(self) -> tuple | None:
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[tuple]:
        return self.rows

    def __iter__(self) -> Iterator[tuple]:
        return iter(self.rows)


class AdbcStore:
    """One write transaction on the store through adbc-driver-sqlite (``begin=False``: a reader)."""

    def __init__(self, path: str | Path, *, cache_kib: int = 32 * 1024, begin: bool = True) -> None:
        import adbc_driver_sqlite.dbapi as dbapi

        # Autocommit at the driver, with the transaction opened and closed here in SQL: the pragmas
        # must run outside one, and BEGIN IMMEDIATE takes the write lock up front.
        self.raw = dbapi.connect(str(path), autocommit=True)
        self.conn = self  # the loaders use `db.conn` and `db` alike
        for pragma in ("busy_timeout = 5000", "synchronous = NORMAL", "temp_store = FILE", f"cache_size = -{cache_kib}"):
            self.execute(f"PRAGMA {pragma}")
        self.in_transaction = False
        if begin:
            self.execute("BEGIN IMMEDIATE")
            self.in_transaction = True

    def execute(self, sql: str, params: Sequence[Any] | dict | None = None) -> _Result:
        cur = self.raw.cursor()
        try:
            cur.execute(sql, list(params) if isinstance(params, (list, tuple)) else params)
            rows = [tuple(r) for r in cur.fetchall()] if cur.description else []
            lastrowid = None
            if sql.lstrip()[:6].upper() == "INSERT":
                cur.execute("SELECT last_insert_rowid()")
                lastrowid = cur.fetchone()[0]
        finally:
            cur.close()
        return _Result(rows, lastrowid)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = [tuple(r) for r in rows]
        if not rows:
            return
        cur = self.raw.cursor()
        try:
            # Bind column by column: ADBC builds an Arrow batch of the parameters, so give every
            # column one type (ints stay ints, None stays null).
            columns = list(zip(*rows))
            batch = pa.record_batch([pa.array(list(c)) for c in columns], names=[f"p{i}" for i in range(len(columns))])
            cur.executemany(sql, batch)
        finally:
            cur.close()

    def ingest(self, table: str, data: pa.Table) -> None:
        """Append an Arrow table to ``table`` (columns by name)."""
        cur = self.raw.cursor()
        try:
            cur.adbc_ingest(table, data, mode="append")
        finally:
            cur.close()

    def commit(self) -> None:
        if self.in_transaction:
            self.execute("COMMIT")
            self.in_transaction = False

    def rollback(self) -> None:
        if self.in_transaction:
            self.execute("ROLLBACK")
            self.in_transaction = False

    def close(self) -> None:
        self.raw.close()
