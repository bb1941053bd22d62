"""Bulk loading of search rows: parsing, de-duplication and provenance, in batches.

Every search-log adapter (Flock audits, portal audits, reason sheets, generic CSV) describes *where*
each canonical field sits in its records (a :class:`Layout`); this module does the rest, the same
way for all of them, ~25k records at a time:

1. each record is parsed in Python into the final `searches` tuple: cells go through memo dicts
   keyed by their raw text (see :mod:`auditor.importers.cells`), times through a two-half cache;
   reasons and agency names are dictionary-encoded with in-memory dicts of their distinct values;
2. rows link to existing searches by UUID, else by the fallback key, with one set-based query per
   batch against the store's indexes (a JSON array of the batch's keys joined to the index), and
   to earlier rows with the same UUID through a dict bounded by the batch size. The fallback key
   only links a row to a search an *earlier* release listed, and not when officer, plate or reason
   differ: one release lists a search once, so two of its rows are two searches;
3. search ids are assigned in Python (max(id) + 1 ...), so new searches, sightings, search owners
   and rejects are written with ``executemany`` without reading ids back.

Memory is bounded by the batch size and the memo caps whatever the file's length. A load into a
store without searches drops the search indexes and builds once at the end (sorting is several
times faster than maintaining a B-tree row by row) only those an import links with; a UUID repeated
across batches is then merged by a set-based fix-up before the unique index is built. The indexes
only the scan reads are left to `audit run` (see :data:`SCAN_ONLY_INDEXES`).

The fallback key is stored as a 64-bit hash (:func:`fallback_hash`); rows are linked by it only
after the key's fields compare equal, so a hash collision cannot merge two searches.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass, field
from itertools import islice
from operator import itemgetter
from typing import Callable, Iterable

import sqlite_utils

import numpy as np

from auditor.importers.cells import (
    INVALID, MARKER_LEN, MARKERS, MISS, REDACTED, TimeParser, count_cell, is_padding, memoized, sql_quote, text_cell,
    whole_text,
)
from auditor.importers import versions
from auditor.importers.dates import ColumnTimes, problem as time_problem
from auditor.importers.keys import fallback_hash
from auditor.importers.provenance import (
    RepeatedUuids, SightingRuns, add_owner_rows, merge_repeated_uuids, next_search_id, uuid_hashes, write_owner_run,
)
from auditor.importers.source import CSV_ERROR, raw_record
from auditor.schema import create_indexes, ensure_agency, index_names

BATCH = 25_000  # records per batch: memory is bounded by this, not by the file

# Canonical fields an adapter can map.
FIELDS = (
    "uuid", "time", "searcher", "user", "reason", "case_number", "plate", "search_type",
    "networks", "devices", "time_frame", "time_frame_start", "time_frame_end",
    "filters", "text_prompt", "moderation",
)
# Fields the redaction list names (schema: searches.redacted), in the order it lists them.
_REDACTABLE = ("uuid", "searcher", "user", "reason", "case_number", "plate", "search_type", "networks",
               "devices", "filters", "text_prompt", "moderation", "time_frame")
# Fields whose absence from a release's columns is recorded as withheld (see _parse).
_WITHHELD_IF_ABSENT = ("user", "reason", "case_number", "plate")
# Label fields, converted together through one memo keyed by the tuple of their cells: in a Network
# Audit they are the same few combinations (`search`, blanks). User and plate differ from row to
# row, so a memo would only miss: they are trimmed inline.
_LABELS = ("search_type", "filters", "text_prompt", "moderation")

_INSERT_SEARCH = (
    "INSERT INTO searches (id, uuid, time, searcher_id, user, reason_id, case_number, plate, search_type, "
    "networks, devices, time_frame_start, time_frame_end, filters, text_prompt, moderation, redacted, dedup_key) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_UUID_INDEX = "CREATE UNIQUE INDEX IF NOT EXISTS idx_searches_uuid ON searches(uuid) WHERE uuid IS NOT NULL"
_KEY_INDEX = "CREATE INDEX IF NOT EXISTS idx_searches_dedup_key ON searches(dedup_key)"
# Tables whose indexes a bulk load drops rather than maintaining them row by row.
_BULK_TABLES = ("searches", "sighting_rows", "search_owner_rows", "rejects")
# Indexes an import itself relies on: linking by UUID and by fallback key, one sighting per release
# row, clearing an interrupted release's rejects.
LOAD_INDEXES = ("idx_searches_uuid", "idx_searches_dedup_key", "idx_sighting_rows_release_id_row_number",
                "idx_rejects_release_id")
# Every other index on those tables is read by the scan only. A load into a store without them leaves
# them to `audit run` (the scan calls `create_indexes` first): building them here would cost the
# import about as much as parsing. A store that already had them gets them rebuilt after a bulk load.
SCAN_ONLY_INDEXES = tuple(n for n in index_names(_BULK_TABLES) if n not in LOAD_INDEXES)
_KEY_COLUMNS = "searcher_id, time, networks, time_frame_start, time_frame_end, reason_id"


def full_key(searcher_id: int | None, time: str, networks: int | None, start: str | None, end: str | None,
             reason_id: int | None) -> tuple:
    """The fallback key's fields as a tuple (what equal hashes must also agree on)."""
    return searcher_id, time, networks, start, end, reason_id if networks is None and start is None else None


def _row_key(row: tuple) -> tuple:
    """:func:`full_key` of a parsed row (the `searches` tuple without its id)."""
    return full_key(row[2], row[1], row[8], row[10], row[11], row[4])


@dataclass
class Layout:
    """Where each canonical field sits: field name -> source column index (missing = absent)."""

    columns: dict[str, int]
    width: int  # columns in the header: a record with more non-blank cells is rejected
    labels: dict[str, str] = field(default_factory=dict)  # field -> header text, for reject reasons
    # Parses a trimmed time cell instead of the default (auditor.importers.dates); None when not a time.
    time_parser: Callable[[str], str | None] | None = None
    # The default reader's column format (day/month order, Excel serials), decided once per file.
    dates: ColumnTimes | None = None


@dataclass
class Account:
    """Rows read, imported and rejected, plus what the load learned on the way."""

    read: int = 0
    imported: int = 0
    rejected: int = 0
    new_searches: int = 0
    shares: int = 0  # sharing lists: shares written
    short_rows: int = 0
    padding: int = 0  # blank or counter-only records: read, neither imported nor rejected
    padding_rows: list[list[int]] = field(default_factory=list)  # [first, last] row ranges (first few)

    def add_padding(self, number: int) -> None:
        """Count a padding record, remembering where the first stretches of them are."""
        self.padding += 1
        ranges = self.padding_rows
        if ranges and ranges[-1][1] == number - 1:
            ranges[-1][1] = number
        elif len(ranges) < 20:
            ranges.append([number, number])

    @property
    def balanced(self) -> bool:
        return self.read == self.imported + self.rejected + self.padding


def _json(values: Iterable[str]) -> str:
    return json.dumps(list(values), ensure_ascii=False)


class SearchLoader:
    """Loads one release's search records into the store (call inside the release's transaction).

    ``size_hint`` (the file's bytes) lets a large release into a small store skip maintaining the
    scan's indexes row by row; they are rebuilt by :meth:`load` before it returns.
    """

    def __init__(
        self,
        db: sqlite_utils.Database,
        release_id: int,
        layout: Layout,
        *,
        owner_id: int | None,
        default_searcher_id: int | None,
        agency_cache: dict[str, int],
        size_hint: int = 0,
    ):
        self.db = db
        self.conn = db.conn
        self.release_id = release_id
        self.layout = layout
        self.owner_id = owner_id
        self.default_searcher_id = default_searcher_id
        self.agencies = agency_cache
        self.account = Account()
        conn = self.conn
        self.first_id = self.next_id = next_search_id(conn)
        total = conn.execute("SELECT count(*) FROM searches").fetchone()[0]
        with_uuid = conn.execute("SELECT count(*) FROM searches WHERE uuid IS NOT NULL").fetchone()[0]
        # A fresh store has nothing to link to: skip the per-batch UUID lookups and build the UUID
        # index once at the end. Otherwise every batch is checked against it.
        self.fresh = total == 0
        # Only a search stored before this release can be linked by fallback key (one release lists a
        # search once: two of its rows with one key are two log entries), so only then can a row
        # adopt a UUID-less search.
        self.has_uuidless = total > with_uuid
        # Searches stored before this release that it has already sighted, one bit per search id: a
        # second row of the release must not link to them by fallback key. A bitmap keeps memory
        # bounded by the store (an eighth of a byte per search), not by the file.
        self.sighted = bytearray((self.first_id >> 3) + 1)
        self.reasons: dict[str, int] = dict(conn.execute("SELECT text, id FROM reasons"))
        self.next_reason = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM reasons").fetchone()[0]
        self.time = TimeParser(layout.time_parser, flock=layout.time_parser is None, fmt=layout.dates)
        self.memo_searcher: dict[str, object] = {}
        self.memo_reason: dict[str, object] = {}
        self.memo_networks: dict[str, object] = {}
        self.memo_devices: dict[str, object] = {}
        self.memo_labels: dict[tuple, tuple] = {}
        self.new_reasons: list[tuple[int, str]] = []
        self.dropped: list[str] = []
        if self.fresh or size_hint // 150 >= total:  # ~150 bytes per record in a Flock export
            self._drop_indexes(keep_linking=not self.fresh)
        if not self.fresh:
            # A load into an empty store builds neither linking index (nothing to link to; the next
            # import builds them when it needs them): a load into a filled store needs both.
            conn.execute(_UUID_INDEX)
            conn.execute(_KEY_INDEX)
        self.key_index = True
        self.runs = SightingRuns(conn, release_id)
        self.repeats = RepeatedUuids() if self.fresh else None

    # -- indexes -----------------------------------------------------------------------------------
    def _drop_indexes(self, *, keep_linking: bool) -> None:
        """Drop indexes the load would maintain row by row; :meth:`_finish` rebuilds them."""
        tables = ", ".join(f"'{t}'" for t in _BULK_TABLES)
        names = [r[0] for r in self.conn.execute(
            f"SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN ({tables}) AND sql IS NOT NULL"
        )]
        for name in names:
            if keep_linking and name in ("idx_searches_uuid", "idx_searches_dedup_key"):
                continue
            self.conn.execute(f"DROP INDEX {name}")
            self.dropped.append(name)

    def _ensure_key_index(self) -> None:
        """Linking by fallback key across batches needs the key index: build it when first needed."""
        if not self.key_index:
            self.conn.execute(_KEY_INDEX)
            self.key_index = True

    def _finish(self) -> None:
        """Merge UUIDs repeated across batches of a fresh load, write the runs, rebuild dropped indexes."""
        self.runs.flush(final=True)
        write_owner_run(self.conn, self.owner_id, self.first_id, self.next_id)
        if self.repeats is not None:
            self.account.new_searches -= merge_repeated_uuids(self.conn, self.release_id, self.repeats.candidates())
        if getattr(self, "versioned", False) or self.repeats is not None:
            versions.settle(self.conn, self.release_id)  # after every row and reason of the release is in
        if self.dropped:
            # Restore what was dropped, and no more: scan-only indexes the store did not have are
            # left to `audit run`.
            create_indexes(self.db, skip=tuple(n for n in SCAN_ONLY_INDEXES if n not in self.dropped))

    # -- records -----------------------------------------------------------------------------------
    def _reshape(self, rec: list[str]) -> tuple[list[str], str | None, str | None]:
        """A record of the wrong width padded or cut to the header's; (cells, reject reason, raw)."""
        w = self.layout.width
        n = len(rec)
        if n and rec[0] is CSV_ERROR:
            return [""] * w, f"unreadable CSV record: {rec[1]}", rec[2] if n > 2 else ""
        if n < w:
            if n and not is_padding(rec):  # rows lacking trailing fields are a known export quirk: pad them
                self.account.short_rows += 1
            return rec + [""] * (w - n), None, None
        if any(x.strip() for x in rec[w:]):
            return rec[:w], f"{n} cells but the header has {w}: cells beyond the header hold data", raw_record(rec)
        return rec[:w], None, None  # trailing empty cells (a trailing comma) carry nothing

    def load(self, records: Iterable[list[str]], first_row: int,
             on_batch: Callable[[int], None] | None = None) -> Account:
        """Load every record; ``first_row`` is the row number of the first record. ``on_batch(rows_read)``
        is called after each batch is written (for progress)."""
        records = iter(records)
        row_number = first_row
        while True:
            batch = list(islice(records, BATCH))
            if not batch:
                break
            count = len(batch)
            rows, numbers, rejects = self._parse(batch, row_number)
            del batch  # the raw records are not needed while writing: halves the peak memory
            self.account.read += count
            self.account.rejected += len(rejects)
            self._write(rows, numbers)
            self.conn.executemany("INSERT INTO rejects (release_id, row_number, raw, why) VALUES (?, ?, ?, ?)",
                                  rejects)
            row_number += count
            if on_batch is not None:
                on_batch(self.account.read)
        self._finish()
        return self.account

    def _parse(self, records: list[list[str]], first: int, numbers_in: list[int] | None = None,
               ) -> tuple[list[tuple], list[int], list[tuple]]:
        """(search tuples without id, their row numbers, reject rows) for one batch of records.

        Records are numbered from ``first`` on, or by ``numbers_in`` (the columnar loader hands over
        only the rows it cannot take, with their own numbers).
        """
        layout = self.layout
        w = layout.width
        cols = layout.columns
        blank = w  # absent fields read this extra blank cell appended to every record
        i_uuid = cols.get("uuid", blank)
        i_time = cols["time"]
        i_searcher = cols.get("searcher", blank)
        i_reason = cols.get("reason", blank)
        i_case = cols.get("case_number", blank)
        i_networks = cols.get("networks", blank)
        i_devices = cols.get("devices", blank)
        one_cell_frame = cols.get("time_frame")
        i_start = cols.get("time_frame_start", blank)
        i_end = cols.get("time_frame_end", blank)
        i_user = cols.get("user", blank)
        i_plate = cols.get("plate", blank)
        label_cells = itemgetter(*[cols.get(f, blank) for f in _LABELS])
        days_get = self.time.days.get
        clocks_get = self.time.clocks.get
        parse_time = self.time.parse
        searcher_get = self.memo_searcher.get
        reason_get = self.memo_reason.get
        networks_get = self.memo_networks.get
        devices_get = self.memo_devices.get
        labels_get = self.memo_labels.get
        marker_len = MARKER_LEN
        key_hash = fallback_hash
        release_id = self.release_id
        markers = MARKERS
        # A column the release does not have is withheld, not blank: a log without a Name column
        # says nothing about whether officers were recorded. Listed like a redacted cell.
        absent = [f for f in _WITHHELD_IF_ABSENT if f not in cols] or None
        rows: list[tuple] = []
        numbers: list[int] = []
        rejects: list[tuple] = []
        add_row = rows.append
        add_number = numbers.append
        number = first - 1
        row_numbers = iter(numbers_in) if numbers_in is not None else None
        for rec in records:
            number = next(row_numbers) if row_numbers is not None else number + 1
            why = raw = None
            if len(rec) != w:
                rec, why, raw = self._reshape(rec)
                if why is not None:
                    rejects.append((release_id, number, raw, why))
                    continue
            rec.append("")
            red = None  # names of redacted fields, when any

            c = rec[i_time]
            day = days_get(c[:12])
            clock = clocks_get(c[12:])
            if day is not None and clock is not None:
                time = day + clock
            else:
                time = parse_time(c)
                if time is None:
                    if is_padding(rec):
                        self.account.add_padding(number)
                        continue
                    rejects.append((release_id, number, raw_record(rec[:w]), self._time_reject(c)))
                    continue

            # Counts and the time frame first: a row they reject must not add agencies or reasons.
            c = rec[i_networks]
            networks = networks_get(c, MISS)
            if networks is MISS:
                networks = memoized(self.memo_networks, c, count_cell)
            c = rec[i_devices]
            devices = devices_get(c, MISS)
            if devices is MISS:
                devices = memoized(self.memo_devices, c, count_cell)
            if networks is INVALID or devices is INVALID:
                f = "networks" if networks is INVALID else "devices"
                label = layout.labels.get(f, f)
                rejects.append((release_id, number, raw_record(rec[:w]),
                                f"{label} not a number: {sql_quote(rec[cols[f]].strip())}"))
                continue
            if networks is REDACTED:
                networks = None
                red = (red or []) + ["networks"]
            if devices is REDACTED:
                devices = None
                red = (red or []) + ["devices"]

            if one_cell_frame is not None:
                c = rec[one_cell_frame]
                j = c.find("\n")
                start = end = None
                if j >= 0:
                    a = c[:j]
                    b = c[j + 1:]
                    day = days_get(a[:12])
                    clock = clocks_get(a[12:])
                    start = day + clock if day is not None and clock is not None else parse_time(a)
                    day = days_get(b[:12])
                    clock = clocks_get(b[12:])
                    end = day + clock if day is not None and clock is not None else parse_time(b)
                if start is None or end is None:
                    start = end = None
                    v = c.strip()
                    if v.upper() in markers:
                        red = (red or []) + ["time_frame"]
                    elif v:
                        rejects.append((release_id, number, raw_record(rec[:w]), self._frame_reject(c)))
                        continue
            else:
                start, end, why = self._split_frame(rec[i_start], rec[i_end])
                if why is not None:
                    rejects.append((release_id, number, raw_record(rec[:w]), why))
                    continue
                if start is REDACTED:
                    start = end = None
                    red = (red or []) + ["time_frame"]

            c = rec[i_uuid].strip()
            if not c:
                uuid = None
            elif c.upper() in markers:
                uuid = None
                red = (red or []) + ["uuid"]
            else:
                uuid = c

            c = rec[i_searcher]
            searcher_id = searcher_get(c, MISS)
            if searcher_id is MISS:
                searcher_id = memoized(self.memo_searcher, c, self._searcher)
            if searcher_id is REDACTED:
                searcher_id = None
                red = (red or []) + ["searcher"]

            c = rec[i_reason]
            reason_id = reason_get(c, MISS)
            if reason_id is MISS:
                reason_id = memoized(self.memo_reason, c, self._reason)
            if reason_id is REDACTED:
                reason_id = None
                red = (red or []) + ["reason"]

            case = rec[i_case]
            if case:
                case = whole_text(case)
                if case is REDACTED:
                    case = None
                    red = (red or []) + ["case_number"]
            else:
                case = None

            # text_cell, inlined for the two columns that are distinct on nearly every row.
            user = rec[i_user].strip()
            if not user:
                user = None
            elif len(user) <= marker_len and user.upper() in markers:
                user = None
                red = (red or []) + ["user"]
            plate = rec[i_plate].strip()
            if not plate:
                plate = None
            elif len(plate) <= marker_len and plate.upper() in markers:
                plate = None
                red = (red or []) + ["plate"]

            cells = label_cells(rec)
            labels = labels_get(cells)
            if labels is None:
                labels = self._labels(cells)
            if labels[4]:
                red = (red or []) + labels[4]

            if absent is not None:
                red = absent + red if red is not None else absent
            if red is not None:
                red = ",".join(sorted(set(red), key=_REDACTABLE.index))
            key = key_hash(searcher_id, time, networks, start, end, reason_id)
            add_row((uuid, time, searcher_id, user, reason_id, case, plate, labels[0], networks, devices,
                     start, end, labels[1], labels[2], labels[3], red, key))
            add_number(number)
        return rows, numbers, rejects

    def _write_reasons(self) -> None:
        """Write the reasons first seen in this batch (before the searches that point at them)."""
        if self.new_reasons:
            self.conn.executemany("INSERT INTO reasons (id, text) VALUES (?, ?)", self.new_reasons)
            self.new_reasons.clear()

    # -- converters with store side effects (called once per distinct cell) ------------------------
    def _searcher(self, raw: str) -> object:
        name = text_cell(raw)
        if name is None:
            return self.default_searcher_id  # a row naming no organization: the producer's own search
        if name is REDACTED:
            return REDACTED
        return ensure_agency(self.db, name, self.agencies)

    def _reason(self, raw: str) -> object:
        value = raw.strip()
        if not value:
            return None
        if value.upper() in MARKERS:
            return REDACTED
        reason_id = self.reasons.get(raw)  # kept verbatim: surrounding spaces are part of the text
        if reason_id is None:
            reason_id = self.reasons[raw] = self.next_reason
            self.next_reason += 1
            self.new_reasons.append((reason_id, raw))  # written before the batch's searches
        return reason_id

    def _labels(self, cells: tuple[str, ...]) -> tuple:
        values = [text_cell(c) for c in cells]
        redacted = [f for f, v in zip(_LABELS, values) if v is REDACTED]
        out = tuple(None if v is REDACTED else v for v in values) + (redacted,)
        if len(self.memo_labels) < 10_000:  # beyond this the cells are free text (prompts), not labels
            self.memo_labels[cells] = out
        return out

    def _split_frame(self, a: str, b: str) -> tuple[object, object, str | None]:
        """(start, end, reject reason) from split Time Frame columns; (REDACTED, ..) when redacted."""
        out = []
        redacted = False
        for f, c in (("time_frame_start", a), ("time_frame_end", b)):
            v = c.strip()
            if not v:
                out.append(None)
            elif v.upper() in MARKERS:
                out.append(None)
                redacted = True
            else:
                t = self.time(c)
                if t is None:
                    problem = self._time_problem(v) or "not a time"
                    return None, None, f"{self.layout.labels.get(f, f)} {problem}: {sql_quote(v)}"
                out.append(t)
        if redacted:
            return REDACTED, None, None
        return out[0], out[1], None

    def _time_problem(self, v: str) -> str | None:
        """Why a trimmed time cell is not a time, or None when no more can be said than `not understood`."""
        if self.layout.time_parser is not None:
            return None  # the column map's own pattern: the cell does not match it
        found = time_problem(v, self.time.fmt)
        return None if found in (None, "not understood") else found

    def _time_reject(self, cell: str) -> str:
        label = self.layout.labels.get("time", "time")
        v = cell.strip()
        if not v:
            return f"no search time ({label} is blank)"
        if v.upper() in MARKERS:
            return f"search time redacted ({label})"
        problem = self._time_problem(v)
        if problem is not None:
            return f"{label} {problem}: {sql_quote(v)}"
        return f"search time not understood: {sql_quote(v)}"

    def _frame_reject(self, cell: str) -> str:
        """The reject reason for a one-cell Time Frame that is not two times on two lines."""
        label = self.layout.labels.get("time_frame", "time_frame")
        v = cell.strip()
        for half in v.split("\n"):
            problem = self._time_problem(half.strip())
            if problem is not None:
                return f"{label} {problem}: {sql_quote(half.strip())}"
        return f"{label} not two times on two lines: {sql_quote(v)}"

    # -- linking and writing -----------------------------------------------------------------------
    def _stored_keys(self, hashes: list[int], *, uuidless_only: bool) -> dict[tuple, list[tuple]]:
        """Searches stored before this release whose key hash is among ``hashes``.

        Answers full key -> [(search id, user, plate, reason id), ...] by ascending id. The hash only
        finds candidates; keying the answer by the key's fields means a row links to a stored search
        only when searcher, second, networks and time frame (and reason) all agree.
        """
        self._ensure_key_index()
        where = "uuid IS NULL AND " if uuidless_only else ""
        out: dict[tuple, list[tuple]] = {}
        # Hashes go in as text: the column's affinity converts them, so a store made before the key
        # was an INTEGER column (TEXT affinity, hashes stored as text) matches too.
        for sid, user, plate, reason_id, *fields in self.conn.execute(
            f"SELECT id, user, plate, reason_id, {_KEY_COLUMNS} FROM searches WHERE {where}id < ? AND dedup_key IN "
            "(SELECT value FROM json_each(?)) ORDER BY id", [self.first_id, _json(str(h) for h in set(hashes))]
        ):
            out.setdefault(full_key(*fields), []).append((sid, user, plate, reason_id))
        return out

    def _pick(self, candidates: list[tuple] | None, row: tuple) -> int | None:
        """The first stored search a row may link to by fallback key, or None (the row is a new search).

        A candidate this release already sighted is skipped (a release lists a search once), and so
        is one whose officer, plate or reason differs from the row's where both sides have one: equal
        keys are then two searches in the same second, and linking would lose the second's data.
        """
        if not candidates:
            return None
        sighted = self.sighted
        user, reason_id, plate = row[3], row[4], row[6]
        for sid, c_user, c_plate, c_reason in candidates:
            if sighted[sid >> 3] & (1 << (sid & 7)):
                continue
            if ((user is not None and c_user is not None and user != c_user)
                    or (plate is not None and c_plate is not None and plate != c_plate)
                    or (reason_id is not None and c_reason is not None and reason_id != c_reason)):
                continue
            return sid
        return None

    def _write(self, rows: list[tuple], numbers: list[int]) -> None:
        """Link each row to an existing or new search and write searches, sightings and owners.

        A row links by UUID to any search with it; without a UUID it links by fallback key only to a
        search stored before this release (see :meth:`_pick`), never to another row of its own release.
        """
        conn = self.conn
        first_id = self.first_id
        found: dict[str, int] = {}  # uuid -> search id, for UUIDs already in the store
        if not self.fresh:
            uuids = {r[0] for r in rows if r[0] is not None}
            if uuids:
                found = dict(conn.execute(
                    "SELECT uuid, id FROM searches WHERE uuid IN (SELECT value FROM json_each(?))", [_json(uuids)]))
        by_key: dict[tuple, list[tuple]] = {}  # fallback key -> earlier releases' searches, for rows without a UUID
        adoptable: dict[tuple, list[tuple]] = {}  # fallback key -> earlier releases' searches still without a UUID
        if first_id > 1:
            keyless = [r[16] for r in rows if r[0] is None]
            if keyless:
                by_key = self._stored_keys(keyless, uuidless_only=False)
            if self.has_uuidless:
                keys = [r[16] for r in rows if r[0] is not None and r[0] not in found]
                if keys:
                    adoptable = self._stored_keys(keys, uuidless_only=True)

        new: list[tuple] = []
        sightings: list[tuple] = []
        owners: list[int] = []  # existing searches this release also saw
        adopted: list[tuple[str, int]] = []
        linked_rows: list[tuple[int, int, tuple]] = []  # rows linked by UUID: their fields are compared
        sighted = self.sighted
        pick = self._pick
        # A fresh load links a UUID repeated inside the release at the end, whatever the batch
        # (merge_repeated_uuids), so ids never depend on where batches happen to fall; a load into
        # a filled store links it here, through the store's UUID index and this dict.
        seen = found if not self.fresh else {}
        next_id = self.next_id
        release_id = self.release_id
        for number, row in zip(numbers, rows):
            uuid = row[0]
            if uuid is not None:
                sid = seen.get(uuid)
                if sid is not None:
                    sightings.append((sid, release_id, number, "uuid"))
                    linked_rows.append((sid, number, row))
                    if sid < first_id:
                        owners.append(sid)
                        sighted[sid >> 3] |= 1 << (sid & 7)
                    continue
                if adoptable:
                    # A search an earlier release listed with its UUID redacted takes the UUID of this sighting.
                    sid = pick(adoptable.get(_row_key(row)), row)
                    if sid is not None:
                        adopted.append((uuid, sid))
                        owners.append(sid)
                        sighted[sid >> 3] |= 1 << (sid & 7)
                        seen[uuid] = sid
                        sightings.append((sid, release_id, number, "fallback_key"))
                        continue
                sid = next_id
                next_id += 1
                new.append((sid,) + row)
                if not self.fresh:
                    seen[uuid] = sid
                sightings.append((sid, release_id, number, "new"))
            else:
                if by_key:
                    sid = pick(by_key.get(_row_key(row)), row)
                    if sid is not None:
                        sightings.append((sid, release_id, number, "fallback_key"))
                        owners.append(sid)
                        sighted[sid >> 3] |= 1 << (sid & 7)
                        continue
                sid = next_id
                next_id += 1
                new.append((sid,) + row)
                sightings.append((sid, release_id, number, "new"))
        self.next_id = next_id

        self._write_reasons()
        if new:
            conn.executemany(_INSERT_SEARCH, new)
            if self.repeats is not None:
                with_uuid = [(r[0], r[1]) for r in new if r[1] is not None]
                if with_uuid:
                    self.repeats.add(uuid_hashes([u for _, u in with_uuid]),
                                     np.fromiter((i for i, _ in with_uuid), dtype=np.int64, count=len(with_uuid)))
        if adopted:
            conn.executemany("UPDATE searches SET uuid = ? WHERE id = ?", adopted)
        contradictions = versions.differences(conn, linked_rows)
        if contradictions:
            versions.record(conn, release_id, contradictions)
            self.versioned = True
        fresh_rows = [s for s in sightings if s[3] == "new"]
        self.runs.add(np.fromiter((s[0] for s in fresh_rows), dtype=np.int64, count=len(fresh_rows)),
                      np.fromiter((s[2] for s in fresh_rows), dtype=np.int64, count=len(fresh_rows)))
        linked = [s for s in sightings if s[3] != "new"]
        if linked:
            conn.executemany(
                "INSERT INTO sighting_rows (search_id, release_id, row_number, link_basis) VALUES (?, ?, ?, ?)", linked)
        add_owner_rows(conn, self.owner_id, owners)
        self.account.imported += len(sightings)
        self.account.new_searches += len(new)
