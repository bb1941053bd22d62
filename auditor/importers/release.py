"""Importing release files: one release per file (or per worksheet), with provenance and an account.

Each release is loaded in one transaction. Its `releases` row is first committed on its own with
status `importing`; the data and the status `complete` commit together. A killed import therefore
leaves a release marked `importing` and none of its rows; the next import of the same file removes
that marker and loads it again. A release already `complete` (same sha256) is not loaded twice.
"""
from __future__ import annotations

import gc
import hashlib
import itertools
import re
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Iterator

import sqlite_utils

from auditor.errors import InputError
from auditor.facts import STORE_TIME_FORMAT
from auditor.importers import completeness, flock_audit, generic, pdf, portal, reason_sheet, sharing
from auditor.importers.dates import ORDERS, decide_column, vendor_order
from auditor.importers.headers import FORMATS, detect, fold
from auditor.importers.plan import Plan, placeholder_producer
from auditor.importers.searches import SCAN_ONLY_INDEXES, Account, SearchLoader
from auditor import isolated
from auditor.progress import Progress, estimate_total
from auditor.importers import columnar
from auditor.importers.adbc import AdbcStore
from auditor.importers.columnar import ColumnarLoader, Irregular, arrow_batches, fast_path_problem
from auditor.importers.statewide import QueryTypeTap
from auditor.importers.source import CSV_ERROR, CsvRecords, FileFacts, Sheet, read_facts, is_xlsx, workbook_sheets
from auditor.schema import create_indexes, ensure_agency, store_path

# Indexes the load itself probes (the UUID index is part of the schema); the rest come afterwards.
_LOAD_INDEXES = (
    "CREATE UNIQUE INDEX IF NOT EXISTS idx_reasons_text ON reasons(text)",
    "CREATE UNIQUE INDEX IF NOT EXISTS idx_releases_sha256 ON releases(sha256)",
)


REFUSED = "refused"


@dataclass
class ReleaseAccount:
    """What one release contributed: rows read = rows imported + rows rejected, always."""

    file_name: str
    sha256: str
    format: str
    producer: str | None
    audit_kind: str
    rows_read: int
    rows_imported: int
    rows_rejected: int
    status: str  # complete; `already imported` when the same sha256 was loaded before; `refused` (see notes)
    release_id: int
    new_searches: int = 0
    shares: int = 0
    notes: list[str] = field(default_factory=list)
    rows_padding: int = 0  # blank or counter-only records: read, never a search, not a reject

    @property
    def balanced(self) -> bool:
        """True when every row read is imported, rejected with a reason, or padding."""
        return self.rows_read == self.rows_imported + self.rows_rejected + self.rows_padding

    @classmethod
    def refused(cls, file_name: str, why: str) -> "ReleaseAccount":
        """The account of a file that was not imported at all (nothing of it is in the store)."""
        return cls(file_name, "", "unknown", None, "unknown", 0, 0, 0, REFUSED, 0, notes=[why])

    def as_dict(self) -> dict:
        """A JSON-ready dict, with the balance check spelled out."""
        d = dict(self.__dict__)
        d["balanced"] = self.balanced
        return d


@dataclass
class ImportOptions:
    """What the user told us about the files: a forced format, the owner or producer, a column map."""

    format: str | None = None
    owner: str | None = None
    producer: str | None = None
    column_map: Path | None = None
    careful: bool = False  # every row through the per-row path (the fast path's reference)
    date_order: str | None = None  # `mdy` or `dmy` when the user names slash dates' order
    fast: bool = False  # the columnar path even for a small file (tests compare the two paths)


def import_files(db: sqlite_utils.Database, paths: Iterable[str | Path], options: ImportOptions | None = None,
                 progress: Progress | None = None) -> list[ReleaseAccount]:
    """Import each file in turn, each in its own transaction; returns one account per release (a
    workbook can hold several). A file that cannot be imported does not stop the others: it gets an
    account with status ``refused`` and the reason in its notes, and nothing of it is stored.
    ``progress`` (see :mod:`auditor.progress`) hears each release's rows read, batch by batch."""
    options = options or ImportOptions()
    if options.format is not None and options.format not in FORMATS:
        raise InputError(f"unknown format {options.format!r}; choose one of {', '.join(FORMATS)}")
    if options.format == "generic" and options.column_map is None:
        raise InputError("--format generic needs --column-map FILE")
    if options.date_order is not None and options.date_order not in ORDERS:
        raise InputError(f"unknown date order {options.date_order!r}; choose one of {', '.join(ORDERS)}")
    accounts: list[ReleaseAccount] = []
    for path in paths:
        try:
            accounts.extend(import_file(db, Path(path), options, progress))
        except sqlite3.OperationalError as e:
            if db.conn.in_transaction:
                db.conn.rollback()
            why = ("the store is busy: another command (an `audit run`?) is writing it; nothing of this file "
                   "was stored: import it again when that command has finished"
                   if "locked" in str(e) or "busy" in str(e) else f"store error: {e}")
            accounts.append(ReleaseAccount.refused(Path(path).name, why))
        except (InputError, UnicodeError, ValueError) as e:
            # UnicodeError and ValueError: text a release carries that no check caught; the file is
            # refused with why, and the next file is still imported.
            reason = str(e) if isinstance(e, InputError) else f"unreadable content ({type(e).__name__}: {e})"
            reason = reason.splitlines()[0] if reason else reason
            name = Path(path).name
            for prefix in (f"{path}: ", f"{name}: "):
                reason = reason[len(prefix):] if reason.startswith(prefix) else reason
            accounts.append(ReleaseAccount.refused(name, reason))
    return accounts


def unfinished_releases(db: sqlite_utils.Database) -> list[dict]:
    """Releases whose import never finished (killed or crashed mid-load): their rows are not in the
    store. Each has the id, file name and when it started; `audit import` of the file completes it."""
    if not db["releases"].exists():
        return []
    return [{"release_id": rid, "file_name": name, "started_at": when}
            for rid, name, when in db.execute(
                "SELECT id, file_name, imported_at FROM releases WHERE status IS NOT 'complete' ORDER BY id")]


def unfinished_warning(releases: list[dict], store: str = "STORE") -> str | None:
    """One sentence naming the unfinished releases, or None when every release is complete."""
    if not releases:
        return None
    names = ", ".join(r["file_name"] for r in releases[:3]) + (f" and {len(releases) - 3} more" if len(releases) > 3 else "")
    return (f"Unfinished import: {len(releases)} release(s) ({names}) did not finish importing, so their rows "
            f"are missing from this audit; run `audit import --db {store} FILE` again for each to complete it.")


def import_file(db: sqlite_utils.Database, path: Path, options: ImportOptions | None = None,
                progress: Progress | None = None) -> list[ReleaseAccount]:
    """Import one CSV or xlsx release file (format detected from its header unless forced)."""
    options = options or ImportOptions()
    facts = read_facts(path)
    _prepare(db)
    if is_xlsx(path):
        return _import_workbook(db, path, facts.sha256, options, progress)
    if pdf.is_pdf(path):
        return [_import_pdf(db, path, facts.sha256, options, progress)]
    done = _finished(db, facts.sha256)
    if done:
        return [done]
    try:
        records = CsvRecords(facts)
    except InputError as e:
        raise InputError(f"{path.name}: {e}" if not str(e).startswith(path.name) else str(e)) from None
    try:
        plan = _plan(records.header, path, options)
        plan.notes[:0] = facts.notes
        _decide_times(plan, options, lambda: _csv_records(facts), sheet=False)
        rows = _Tail(_nul_checked(records) if facts.has_nul else iter(records))
        fast = None if options.careful or fast_path_problem(facts, records.header_row, plan.layout) else facts
        if facts.size < columnar.FAST_PATH_BYTES and not options.fast:
            fast = None  # a small file: starting the columnar child would cost more than it saves
        account = _load_release(db, path.name, facts.sha256, plan, records.header, rows, records.header_row + 1,
                                size_hint=facts.size, fast=fast, progress=progress, bytes_read=records.bytes_read)
        if rows.count == 0 and account.rows_read:
            # Read by the columnar path: every record had the header's width (or the careful path
            # would have read the file), so only a rejected last record can show a cut.
            rows.count, rows.last = account.rows_read, [""] * len(records.header)
        _check(db, account, path.stem, records.header_row + rows.count,
               _cut_csv(db, account, path, len(records.header), rows, records.header_row + rows.count))
        return [account]
    except InputError as e:
        raise InputError(str(e) if str(e).startswith(path.name) else f"{path.name}: {e}") from None
    except UnicodeDecodeError as e:
        raise InputError(f"{path.name}: cannot decode as {facts.encoding}: {e.reason}") from None
    finally:
        records.close()


def _prepare(db: sqlite_utils.Database) -> None:
    for sql in _LOAD_INDEXES:
        db.execute(sql)
    db.conn.commit()


def _plan(header: list[str], path: Path, options: ImportOptions) -> Plan:
    fmt = options.format or ("generic" if options.column_map else detect(header))
    stem = path.stem
    kw = {"owner": options.owner, "producer": options.producer}
    if fmt == "flock_audit":
        plan = flock_audit.plan(header, stem, **kw)
    elif fmt == "portal_audit":
        plan = portal.plan(header, stem, **kw)
    elif fmt == "reason_sheet":
        plan = reason_sheet.plan(header, stem, **kw)
    elif fmt == "generic":
        if options.column_map is None:
            raise InputError("--format generic needs --column-map FILE")
        plan = generic.plan(header, stem, options.column_map, **kw)
    else:  # sharing_list: the holder is named by the user or by the file name
        holder = options.producer or options.owner or sharing.holder_from_file_name(stem)
        plan = Plan("sharing_list", "sharing", holder or placeholder_producer(stem))
        if holder is None:
            plan.notes.append("the sharing list does not name its holder: shares with it recorded for "
                              f"{plan.producer!r} (give --producer NAME)")
    if plan.layout is not None and "time" not in plan.layout.columns:
        found = ", ".join(repr(h.strip()) for h in header[:12])
        raise InputError(f"no search-time column for format {fmt}; found {found}")
    return plan


def _csv_records(facts: FileFacts) -> Iterator[list[str]]:
    """The CSV's records read again from the start (a column's format is decided from all its cells)."""
    records = CsvRecords(facts)
    try:
        yield from records
    finally:
        records.close()


# Formats whose slash dates are the vendor's, month first (Flock is a US vendor; every export seen).
_VENDOR_ORDER = ("flock_audit", "portal_audit")


def _decide_times(plan: Plan, options: ImportOptions, records: Callable[[], Iterable[list[str]]] | None,
                  *, sheet: bool) -> None:
    """Decide how the release's time columns are read, once for the file (see :mod:`auditor.importers.dates`).

    A vendor layout keeps the vendor's month-first order; another layout (a records-act sheet, a
    column map) takes the order its whole time column proves, or is refused with the reason. Bare
    numbers are Excel serial days in a spreadsheet, or where a column map says `excel`.
    """
    layout = plan.layout
    if layout is None or layout.time_parser is not None:
        return  # a sharing list, or a column map's own strftime pattern
    label = layout.labels.get("time", "time")
    serial = sheet or plan.serial_times
    if plan.format in _VENDOR_ORDER or plan.date_order or records is None:
        layout.dates = vendor_order(label, options.date_order, serial=serial)
    else:
        i = layout.columns["time"]
        cells = (r[i] for r in records() if len(r) > i and r[0] is not CSV_ERROR)
        layout.dates = decide_column(cells, label, given=options.date_order, serial=serial)
    if layout.dates.why:
        plan.notes.append(f"times read as {layout.dates.why}")


def _nul_checked(records: Iterable[list[str]]) -> Iterator[list[str]]:
    """Records with a NUL byte are rejected whole: NUL is never part of a real cell."""
    for rec in records:
        if rec and rec[0] is not CSV_ERROR and any("\x00" in c for c in rec):
            raw = ",".join(rec).replace("\x00", "\\x00")
            yield [CSV_ERROR, "record contains NUL bytes", raw]
        else:
            yield rec


def _finished(db: sqlite_utils.Database, sha: str) -> ReleaseAccount | None:
    """The account of a completed release with this checksum; a half-done one is cleared for a retry."""
    row = db.execute(
        "SELECT r.id, r.file_name, r.format, a.name, r.audit_kind, r.rows_read, r.rows_imported, r.rows_rejected, "
        "r.status, r.notes, coalesce(r.rows_padding, 0) FROM releases r LEFT JOIN agencies a ON a.id = r.producer_id "
        "WHERE r.sha256 = ?",
        [sha],
    ).fetchone()
    if row is None:
        return None
    if row[8] != "complete":
        _discard(db, row[0])
        return None
    notes = ["already imported: same sha256 as release %d; nothing changed" % row[0]]
    return ReleaseAccount(row[1], sha, row[2], row[3], row[4], row[5], row[6], row[7], "already imported", row[0],
                          notes=notes, rows_padding=row[10])


def _discard(db: sqlite_utils.Database, release_id: int) -> None:
    """Remove an interrupted release (its data transaction never committed, so only stragglers)."""
    conn = db.conn
    with conn:
        for table in ("sighting_rows", "sighting_runs", "rejects", "shares", "release_rows", "release_checks"):
            conn.execute(f"DELETE FROM {table} WHERE release_id = ?", [release_id])
        conn.execute("DELETE FROM releases WHERE id = ?", [release_id])


def _discard_quietly(db: sqlite_utils.Database, release_id: int) -> None:
    """:func:`_discard` while another error is on its way out: if the store cannot be written now
    (busy), the marker stays and the next import of the file clears it."""
    try:
        if db.conn.in_transaction:
            db.conn.rollback()
        _discard(db, release_id)
    except sqlite3.Error:
        pass


def _begin(db: sqlite_utils.Database, file_name: str, sha: str, plan: Plan, agencies: dict[str, int]) -> int:
    """Commit the release's `importing` marker so an interrupted load is recognisable."""
    conn = db.conn
    if conn.in_transaction:
        conn.commit()
    conn.execute("BEGIN IMMEDIATE")
    try:
        producer_id = ensure_agency(db, plan.producer, agencies) if plan.producer else None
        release_id = conn.execute(
            "INSERT INTO releases (file_name, sha256, format, producer_id, audit_kind, rows_read, rows_imported, "
            "rows_rejected, rows_padding, status, imported_at, notes) VALUES (?, ?, ?, ?, ?, 0, 0, 0, 0, 'importing', ?, ?)",
            [file_name, sha, plan.format, producer_id, plan.audit_kind,
             datetime.now(timezone.utc).strftime(STORE_TIME_FORMAT), "; ".join(plan.notes)],
        ).lastrowid
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    return release_id


def _load_release(
    db: sqlite_utils.Database,
    file_name: str,
    sha: str,
    plan: Plan,
    header: list[str],
    records: Iterable[list[str]],
    first_row: int,
    *,
    direction: str | None = None,
    size_hint: int = 0,
    fast: FileFacts | None = None,
    after: Callable[[sqlite3.Connection, int], list[str]] | None = None,
    progress: Progress | None = None,
    bytes_read: Callable[[], int] | None = None,
) -> ReleaseAccount:
    """Load one release in its transaction; ``after(conn, release_id)`` runs inside it once the rows
    are in (a PDF's row places) and returns notes. ``progress`` hears the rows read after each batch,
    out of a total estimated from ``bytes_read()`` against ``size_hint`` when both are given."""
    agencies: dict[str, int] = {}
    release_id = _begin(db, file_name, sha, plan, agencies)
    if fast is not None and after is None and plan.statewide is None:  # hooks need this connection
        done = _load_data_fast(db, release_id, file_name, sha, plan, fast, agencies, size_hint=size_hint,
                               progress=progress)
        if done is not None:
            if progress is not None:
                progress(f"indexing {file_name}", 0, None)
            create_indexes(db, skip=SCAN_ONLY_INDEXES)
            db.conn.commit()
            return done
        agencies.clear()  # ids cached during the rolled-back attempt are gone
    conn = db.conn
    afters = [after] if after is not None else []
    if plan.statewide is not None:  # a CLETS-like log: each row's query type is set after the load
        tap = QueryTypeTap(records, plan.statewide, first_row)
        records = tap
        afters.append(tap.apply)
    try:
        with _bulk_load(conn):
            return _load_data(db, release_id, file_name, sha, plan, header, records, first_row, agencies,
                              direction=direction, size_hint=size_hint, afters=afters,
                              on_batch=_rows_meter(progress, file_name, size_hint, bytes_read))
    except BaseException:
        # Refused or failed (a decode error deep in a UTF-16 file, a busy store): its data rolled
        # back, so its marker goes too; only a killed process leaves one, for the next import.
        _discard_quietly(db, release_id)
        raise


def _load_data_fast(db: sqlite_utils.Database, release_id: int, file_name: str, sha: str, plan: Plan,
                    facts: FileFacts, agencies: dict[str, int], *, size_hint: int,
                    progress: Progress | None = None) -> ReleaseAccount | None:
    """Load a CSV release through the columnar path, in one transaction on an ADBC connection.

    Returns None, with nothing written, when the file's structure needs the careful path.
    """
    db.conn.commit()  # the child process writes; this connection stays idle meanwhile
    try:
        done = isolated.call(_load_data_adbc, store_path(db), release_id, file_name, sha, plan, facts,
                             dict(agencies), size_hint=size_hint, block_bytes=columnar.BLOCK_BYTES,
                             progress=progress)
    except BaseException:
        _discard_quietly(db, release_id)  # refused: the child rolled its data back, so the marker goes too
        raise
    if isinstance(done, str):
        plan.notes.append(f"read by the careful path: {done}")
        return None
    return done


def _load_data_adbc(path: str, release_id: int, file_name: str, sha: str, plan: Plan, facts: FileFacts,
                    agencies: dict[str, int], *, size_hint: int, block_bytes: int,
                    progress: Progress | None = None) -> ReleaseAccount | str:
    """The fast path's transaction, run in a child process (see :mod:`auditor.isolated`).

    Returns the account, or why the file needs the careful path (nothing written then). ``progress``
    hears the rows read after each batch; a batch is one read block, so bytes read ≈ blocks × block size.
    """
    store = AdbcStore(path, cache_kib=_LOAD_CACHE_KIB)
    try:
        owner_id = ensure_agency(store, plan.owner, agencies) if plan.owner else None
        default_id = ensure_agency(store, plan.default_searcher, agencies) if plan.default_searcher else None
        loader = ColumnarLoader(store, release_id, plan.layout, owner_id=owner_id, default_searcher_id=default_id,
                                agency_cache=agencies, size_hint=size_hint)
        batches = itertools.count(1)  # pyarrow cuts one batch per read block: batch k ends near byte k × block
        on_batch = _rows_meter(progress, file_name, facts.size, lambda: next(batches) * block_bytes)
        account = loader.load_batches(arrow_batches(facts, plan.layout.width, block_bytes), 2, on_batch)
        notes = plan.notes + ["read by the columnar fast path"] + _account_notes(account)
        store.execute(
            "UPDATE releases SET rows_read = ?, rows_imported = ?, rows_rejected = ?, rows_padding = ?, "
            "status = 'complete', notes = ? WHERE id = ?",
            [account.read, account.imported, account.rejected, account.padding, "; ".join(notes), release_id],
        )
        store.commit()
    except Irregular as e:
        store.rollback()
        return str(e)
    except BaseException:
        store.rollback()
        raise
    finally:
        store.close()
    return ReleaseAccount(
        file_name, sha, plan.format, plan.producer, plan.audit_kind, account.read, account.imported,
        account.rejected, "complete", release_id, account.new_searches, account.shares, notes,
        rows_padding=account.padding,
    )


# The page cache while loading: big enough for the index pages a batch touches, small enough that
# memory does not grow with the file (the store's default is 200 MB).
_LOAD_CACHE_KIB = 32 * 1024


@contextmanager
def _bulk_load(conn: sqlite3.Connection) -> Iterator[None]:
    """Settings for one release's load, restored afterwards.

    A bounded page cache, and index sorts spilling to temporary files rather than RAM (the store's
    `temp_store = MEMORY` would hold a whole index build in memory). Python's cyclic garbage
    collector is paused: the load allocates millions of tuples and creates no cycles, and each
    collection would walk every batch still alive.
    """
    cache = conn.execute("PRAGMA cache_size").fetchone()[0]
    temp = conn.execute("PRAGMA temp_store").fetchone()[0]
    collecting = gc.isenabled()
    conn.execute(f"PRAGMA cache_size = -{_LOAD_CACHE_KIB}")
    conn.execute("PRAGMA temp_store = FILE")
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
        conn.execute(f"PRAGMA cache_size = {cache}")
        conn.execute(f"PRAGMA temp_store = {temp}")


def _load_data(
    db: sqlite_utils.Database,
    release_id: int,
    file_name: str,
    sha: str,
    plan: Plan,
    header: list[str],
    records: Iterable[list[str]],
    first_row: int,
    agencies: dict[str, int],
    *,
    direction: str | None,
    size_hint: int,
    afters: list[Callable[[sqlite3.Connection, int], list[str]]] = (),
    on_batch: Callable[[int], None] | None = None,
) -> ReleaseAccount:
    conn = db.conn
    conn.execute("BEGIN IMMEDIATE")
    try:
        if plan.layout is None:
            account = sharing.load(db, release_id, header, records, first_row, agencies,
                                   producer=plan.producer, direction=direction)
        else:
            owner_id = ensure_agency(db, plan.owner, agencies) if plan.owner else None
            default_id = ensure_agency(db, plan.default_searcher, agencies) if plan.default_searcher else None
            loader = SearchLoader(db, release_id, plan.layout, owner_id=owner_id,
                                  default_searcher_id=default_id, agency_cache=agencies, size_hint=size_hint)
            account = loader.load(records, first_row, on_batch)
        for after in afters:
            plan.notes.extend(after(conn, release_id))
        notes = plan.notes + _account_notes(account)
        conn.execute(
            "UPDATE releases SET rows_read = ?, rows_imported = ?, rows_rejected = ?, rows_padding = ?, "
            "status = 'complete', notes = ? WHERE id = ?",
            [account.read, account.imported, account.rejected, account.padding, "; ".join(notes), release_id],
        )
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.execute("DROP TABLE IF EXISTS temp._repeats")
    # The indexes the next import links with (and the small tables' ones); the scan-only indexes a
    # store lacks are built by `audit run`, which needs them, not by every import.
    if on_batch is not None:
        on_batch(-1)  # the rows are in: the index build starts
    create_indexes(db, skip=SCAN_ONLY_INDEXES)
    db.conn.commit()
    return ReleaseAccount(
        file_name, sha, plan.format, plan.producer, plan.audit_kind, account.read, account.imported,
        account.rejected, "complete", release_id, account.new_searches, account.shares, notes,
        rows_padding=account.padding,
    )


def _rows_meter(progress: Progress | None, file_name: str, size: int,
               bytes_read: Callable[[], int] | None) -> Callable[[int], None] | None:
    """A loader's ``on_batch(rows_read)`` that tells ``progress`` the rows read out of an estimate
    from bytes read against the file's size (no estimate without both); ``on_batch(-1)`` after the
    last batch reports the index build that follows. ``bytes_read()`` is called once per batch."""
    if progress is None:
        return None
    stage, index_stage = f"importing rows of {file_name}", f"indexing {file_name}"

    def on_batch(done: int) -> None:
        if done < 0:
            progress(index_stage, 0, None)
            return
        total = estimate_total(done, bytes_read(), size) if bytes_read is not None and size else None
        progress(stage, done, total)

    progress(stage, 0, None)  # the stage's clock starts before its first batch
    return on_batch


def _account_notes(account: Account) -> list[str]:
    notes = []
    if account.padding:
        where = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in account.padding_rows)
        more = " ..." if sum(b - a + 1 for a, b in account.padding_rows) < account.padding else ""
        notes.append(f"{account.padding} padding records (blank, or only a row counter) counted apart from "
                     f"rejects: rows {where}{more}")
    if account.short_rows:
        notes.append(f"{account.short_rows} rows lacked trailing fields (padded as blank)")
    balance = "balances" if account.balanced else "DOES NOT BALANCE"
    notes.append(f"rows read {account.read} = imported {account.imported} + rejected {account.rejected} + "
                 f"padding {account.padding}: {balance}")
    return notes


# --- completeness --------------------------------------------------------------------------------

class _Tail:
    """Passes records through, remembering how many there were and the last one."""

    def __init__(self, records: Iterable[list[str]]):
        self._records = records
        self.count = 0
        self.last: list[str] | None = None

    def __iter__(self) -> Iterator[list[str]]:
        for rec in self._records:
            self.count += 1
            self.last = rec
            yield rec


def _cut_csv(db: sqlite_utils.Database, account: ReleaseAccount, path: Path, width: int, tail: _Tail,
             last_row: int) -> str | None:
    """What shows a CSV's last record was cut: no line break at the end of the file, and that record
    short of fields or unreadable (a complete record without a final line break is only a habit)."""
    if tail.last is None or account.status != "complete":
        return None
    with open(path, "rb") as fh:
        fh.seek(-1, 2)
        if fh.read(1) in (b"\n", b"\r"):
            return None
    last = tail.last
    if last and last[0] is CSV_ERROR:
        return f"the last record (row {last_row}) ends the file unreadable: {last[1]}"
    if 0 < len(last) < width:
        return f"the last record (row {last_row}) ends the file without a line break, with {len(last)} of {width} fields"
    rejected = db.execute("SELECT why FROM rejects WHERE release_id = ? AND row_number = ?",
                          [account.release_id, last_row]).fetchone()
    if rejected:
        return f"the last record (row {last_row}) ends the file without a line break and was rejected: {rejected[0]}"
    return None


def _check(db: sqlite_utils.Database, account: ReleaseAccount, stem: str, last_row: int, cut: str | None,
           unread: str | None = None) -> None:
    """Run the completeness checks on a release just loaded; their notes join its account."""
    if account.status == "complete" and account.format != "sharing_list":
        account.notes.extend(completeness.check_release(db, account.release_id, stem, last_row=last_row,
                                                        cut_record=cut, unread=unread))


# --- PDF prints ------------------------------------------------------------------------------------

def _import_pdf(db: sqlite_utils.Database, path: Path, sha: str, options: ImportOptions,
                progress: Progress | None = None) -> ReleaseAccount:
    """A PDF print of an export: its text layer read as records, each row's page and line kept."""
    done = _finished(db, sha)
    if done:
        return done
    try:
        table = pdf.read_table(path)
        plan = _plan(table.header, path, options)
    except InputError as e:
        raise InputError(str(e) if str(e).startswith(path.name) else f"{path.name}: {e}") from None
    plan.notes[:0] = table.notes
    _decide_times(plan, options, None, sheet=False)  # a print is streamed: the vendor's order
    table.notes = plan.notes  # what the reading learns (repeated headers, a cut last row) joins the plan's notes
    def places(conn: sqlite3.Connection, release_id: int) -> list[str]:
        conn.executemany("INSERT INTO release_rows (release_id, row_number, page, line) VALUES (?, ?, ?, ?)",
                         [(release_id, n, page, line) for n, (page, line) in enumerate(table.places, start=2)])
        return []

    account = _load_release(db, path.name, sha, plan, table.header, table, 2, size_hint=path.stat().st_size,
                            after=places, progress=progress)
    cut = "the PDF's last row has no ID or search-time line" if table.cut_final_record else None
    unread = None
    if table.textless_pages:
        unread = (f"{len(table.textless_pages)} pages have no text layer (pages "
                  f"{', '.join(map(str, table.textless_pages[:10]))})")
    _check(db, account, path.stem, 1 + len(table.places), cut, unread)
    return account


# --- workbooks ------------------------------------------------------------------------------------

_REQUEST_CODE = re.compile(r"^[A-Z]\d+$")


def _import_workbook(db: sqlite_utils.Database, path: Path, file_sha: str, options: ImportOptions,
                     progress: Progress | None = None) -> list[ReleaseAccount]:
    """Each sheet with search rows or a sharing list is its own release; other sheets are noted."""
    accounts: list[ReleaseAccount] = []
    skipped: list[str] = []
    request_items: dict[str, str] = {}
    first_error: InputError | None = None
    for sheet in workbook_sheets(path):
        name = f"{path.name} [sheet {sheet.title}]"
        # A sheet's release id is the file's checksum qualified by the sheet title (one file, many releases).
        sha = hashlib.sha256(f"{file_sha}:{sheet.title}".encode()).hexdigest()
        folded = [fold(h) for h in sheet.header if h.strip()]
        rows = list(sheet.rows) if _REQUEST_CODE.match(sheet.header[0].strip() or "-") else None
        if rows is not None:
            # A records-request index (`A1 | The names of agencies ... with which the Agency shares ALPR data`).
            for r in [sheet.header, *rows]:
                if len(r) > 1 and _REQUEST_CODE.match(r[0].strip()):
                    request_items[r[0].strip()] = r[1]
            skipped.append(f"{sheet.title} (records-request index)")
            continue
        direction = None
        if folded == ["organization name"]:
            item = request_items.get(sheet.title.strip())
            direction = sharing.request_direction(item) if item else None
            if direction is None:
                why = "hot-list sharing, not ALPR data" if item and "hot list" in item.lower() else "direction unknown"
                skipped.append(f"{sheet.title} (list of organizations: {why})")
                continue
        try:
            if direction:
                plan = Plan("sharing_list", "sharing", options.producer or options.owner or f"[producer of {path.stem}]")
                plan.notes.append(f"sheet {sheet.title}: {request_items[sheet.title.strip()].strip()}")
                if not (options.producer or options.owner):
                    plan.notes.append(f"the list's agency is not named: recorded as {plan.producer!r} (give --producer NAME)")
            else:
                plan = _plan(sheet.header, path, options)
        except InputError as e:
            first_error = first_error or e
            skipped.append(f"{sheet.title} ({str(e).split(';')[0]})")
            continue
        done = _finished(db, sha)
        if done:
            accounts.append(done)
            for _ in sheet.rows:
                pass
            continue
        plan.notes.insert(0, f"sheet {sheet.title!r}; file sha256 {file_sha}; row numbers are spreadsheet rows")
        cached: list[list[str]] = []

        def whole_sheet(sheet: Sheet = sheet, cached: list = cached) -> list[list[str]]:
            # Read only when a column's order must be proved (not for a vendor layout); calamine
            # holds the sheet in memory already.
            cached.extend(sheet.rows)
            return cached

        if plan.layout is not None:
            try:
                _decide_times(plan, options, whole_sheet, sheet=True)
            except InputError as e:  # this sheet is refused with the reason; the others still import
                first_error = first_error or e
                skipped.append(f"{sheet.title} ({e})")
                continue
        rows = _Tail(cached if cached else sheet.rows)
        account = _load_release(db, name, sha, plan, sheet.header, rows, sheet.header_row + 1, direction=direction,
                                progress=progress)
        if plan.layout is not None:
            _check(db, account, path.stem, sheet.header_row + rows.count, None)
        accounts.append(account)
    if not accounts:
        if first_error is not None and "Event Log" in str(first_error):
            raise InputError(f"{path.name}: {first_error}")
        raise InputError(f"{path.name}: no sheet with search rows or a sharing list; sheets: {'; '.join(skipped) or 'none'}")
    if skipped:
        accounts[0].notes.append("sheets not imported: " + "; ".join(skipped))
    return accounts
