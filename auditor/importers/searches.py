"""Bulk loading of search rows: staging, set-based parsing, de-duplication and provenance.

Every search-log adapter (Flock audits, portal audits, reason sheets, generic CSV) describes *where*
each canonical field sits in its records (a :class:`Layout`); this module does the rest, the same
way for all of them:

1. records go, ~50k at a time and untouched, into a TEMP staging table (``executemany`` of the lists
   csv already made: no per-cell Python work);
2. one ``INSERT ... SELECT`` parses every cell in SQL: redaction markers, Excel floats, both Flock
   time shapes (the SQL mirrors :func:`auditor.timefmt.parse_flock_time`), the split or one-cell
   Time Frame, and the reason a row is rejected;
3. reasons and agency names are dictionary-encoded (distinct values only: few);
4. rows link to existing searches by UUID, else by the fallback key, and new searches, sightings,
   search owners and rejects are written with set-based SQL.

Memory is bounded by the batch size whatever the file's length.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import islice
from typing import Iterable, Iterator

import sqlite_utils

from auditor.importers.source import CSV_ERROR, raw_record
from auditor.schema import REDACTION_MARKERS, ensure_agency

BATCH = 50_000

# Canonical fields an adapter can map, in staging order after the source columns.
TEXT_FIELDS = ("user", "case_number", "plate", "search_type", "filters", "text_prompt", "moderation")
FIELDS = (
    "uuid", "time", "searcher", "user", "reason", "case_number", "plate", "search_type",
    "networks", "devices", "time_frame", "time_frame_start", "time_frame_end",
    "filters", "text_prompt", "moderation",
)
# Fields the redaction list names (schema: searches.redacted), by their store column names.
_REDACTABLE = ("uuid", "searcher", "user", "reason", "case_number", "plate", "search_type", "networks",
               "devices", "filters", "text_prompt", "moderation")


@dataclass
class Layout:
    """Where each canonical field sits: field name -> source column index (missing = absent)."""

    columns: dict[str, int]
    width: int  # columns in the header: a record with more non-blank cells is rejected
    labels: dict[str, str] = field(default_factory=dict)  # field -> header text, for reject reasons
    time_sql: str | None = None  # an SQL expression over `t` replacing the default time parsing


@dataclass
class Account:
    """Rows read, imported and rejected, plus what the load learned on the way."""

    read: int = 0
    imported: int = 0
    rejected: int = 0
    new_searches: int = 0
    shares: int = 0  # sharing lists: shares written
    short_rows: int = 0
    padding: int = 0


def _blank(c: str) -> str:
    return f"({c} = '')"


_MARKERS_SQL = ", ".join(f"'{m.upper()}'" for m in dict.fromkeys(REDACTION_MARKERS))


def _redacted(c: str) -> str:
    return f"(upper({c}) IN ({_MARKERS_SQL}))"


def _text(c: str) -> str:
    """A (pre-trimmed) text cell; blank and redacted cells are NULL (redaction is listed separately)."""
    return f"(CASE WHEN {_blank(c)} OR {_redacted(c)} THEN NULL ELSE {c} END)"


def _whole(t: str) -> str:
    """Excel writes whole numbers as floats (`25013924.0`): drop a `.0` tail from an all-digit cell."""
    return (
        f"(CASE WHEN {t} GLOB '[0-9]*.0' AND NOT substr({t}, 1, length({t}) - 2) GLOB '*[^0-9]*' "
        f"THEN substr({t}, 1, length({t}) - 2) ELSE {t} END)"
    )


def _number(c: str) -> str:
    """A count: digits, optionally with thousands commas or an Excel `.0` tail; else NULL."""
    t = f"replace({_whole(c)}, ',', '')"
    return f"(CASE WHEN {t} GLOB '[0-9]*' AND NOT {t} GLOB '*[^0-9]*' THEN CAST({t} AS INTEGER) END)"


def time_sql(t: str) -> str:
    """Store time from a trimmed cell holding `01/05/2026, 05:28:52 PM UTC` or an ISO time; else NULL.

    Mirrors :func:`auditor.timefmt.parse_flock_time` and :func:`auditor.timefmt.parse_iso_time`
    (the tests check they agree) but runs inside SQLite, where it costs a fraction of a Python call.
    """
    flock = (
        f"{t} GLOB '[01][0-9]/[0-3][0-9]/[0-9][0-9][0-9][0-9], [01][0-9]:[0-5][0-9]:[0-5][0-9] [AaPp][Mm]*' "
        f"AND substr({t}, 1, 2) BETWEEN '01' AND '12' AND substr({t}, 4, 2) BETWEEN '01' AND '31' "
        f"AND substr({t}, 13, 2) BETWEEN '01' AND '12'"
    )
    flock_value = (
        f"substr({t}, 7, 4) || '-' || substr({t}, 1, 2) || '-' || substr({t}, 4, 2) || 'T' || "
        f"printf('%02d', substr({t}, 13, 2) % 12 + (substr({t}, 22, 1) IN ('P', 'p')) * 12) || "
        f"substr({t}, 15, 6) || 'Z'"
    )
    iso = f"{t} GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][ T][0-9][0-9]:[0-9][0-9]:[0-9][0-9]*'"
    return f"(CASE WHEN {flock} THEN {flock_value} WHEN {iso} THEN strftime('%Y-%m-%dT%H:%M:%SZ', {t}) END)"


def _cells_select(layout: Layout) -> str:
    """Step 1: trimmed cells (and the two halves of a one-cell Time Frame) as plain columns.

    Materialising these keeps step 2's expressions small: SQLite does not share common
    sub-expressions, so parsing `trim(substr(...))` in place would repeat it dozens of times.
    """
    cols = [f"rowid AS _rowid", "_why", "_raw"]
    for f, i in layout.columns.items():
        if f == "time_frame":
            c = f"c{i}"
            nl = f"instr({c}, char(10))"
            cols.append(f"trim({c}) AS time_frame")
            cols.append(f"CASE WHEN {nl} > 0 THEN trim(replace(substr({c}, 1, {nl} - 1), char(13), '')) END AS time_frame_start")
            cols.append(f"CASE WHEN {nl} > 0 THEN trim(substr({c}, {nl} + 1)) END AS time_frame_end")
        else:
            cols.append(f"trim(c{i}) AS {f}")
    if "reason" in layout.columns:
        cols.append(f"c{layout.columns['reason']} AS reason_verbatim")
    all_blank = " AND ".join(f"trim(c{i}) = ''" for i in range(layout.width)) or "1"
    cols.append(f"({all_blank}) AS padding")
    return f"SELECT {', '.join(cols)} FROM _stage"


def _parse_select(layout: Layout, offset_param: str = ":offset") -> str:
    """Step 2: parsed rows from `_cells`, each with its reject reason or NULL."""
    c = {f: f for f in layout.columns}
    tsql = (lambda x: layout.time_sql.replace("{t}", x)) if layout.time_sql else time_sql
    exprs: dict[str, str] = {}
    exprs["uuid"] = _text("uuid") if "uuid" in c else "NULL"
    exprs["time"] = tsql("time") if "time" in c else "NULL"
    exprs["searcher"] = _text("searcher") if "searcher" in c else "NULL"
    exprs["reason"] = (
        "(CASE WHEN reason = '' OR " + _redacted("reason") + " THEN NULL ELSE reason_verbatim END)"
        if "reason" in c else "NULL"
    )
    for f in TEXT_FIELDS:
        exprs[f] = (_whole(f) if f == "case_number" else f) if f in c else "NULL"
        if f in c:
            exprs[f] = f"(CASE WHEN {_blank(f)} OR {_redacted(f)} THEN NULL ELSE {exprs[f]} END)"
    exprs["networks"] = _number("networks") if "networks" in c else "NULL"
    exprs["devices"] = _number("devices") if "devices" in c else "NULL"
    for f in ("time_frame_start", "time_frame_end"):
        exprs[f] = tsql(f) if (f in c or "time_frame" in c) else "NULL"
    redacted_parts = [f"CASE WHEN {_redacted(f)} THEN '{f},' ELSE '' END" for f in _REDACTABLE if f in c]
    if "time_frame" in c:
        redacted_parts.append(f"CASE WHEN {_redacted('time_frame')} THEN 'time_frame,' ELSE '' END")
    redacted = f"nullif(rtrim({' || '.join(redacted_parts)}, ','), '')" if redacted_parts else "NULL"

    label = lambda f: layout.labels.get(f, f).replace("'", "''")  # noqa: E731
    # Reject reasons test the parsed values (p_*) of a materialised CTE, so no time is parsed twice.
    checks = ["WHEN padding THEN 'empty padding record'"]
    if "time" in c:
        checks += [
            f"WHEN time = '' THEN 'no search time ({label('time')} is blank)'",
            f"WHEN {_redacted('time')} THEN 'search time redacted ({label('time')})'",
            "WHEN p_time IS NULL THEN 'search time not understood: ' || quote(time)",
        ]
    for f in ("networks", "devices"):
        if f in c:
            checks.append(
                f"WHEN {f} <> '' AND NOT {_redacted(f)} AND p_{f} IS NULL "
                f"THEN '{label(f)} not a number: ' || quote({f})"
            )
    if "time_frame" in c:
        checks.append(
            f"WHEN time_frame <> '' AND NOT {_redacted('time_frame')} AND "
            f"(p_time_frame_start IS NULL OR p_time_frame_end IS NULL) "
            f"THEN '{label('time_frame')} not two times on two lines: ' || quote(time_frame)"
        )
    else:
        for f in ("time_frame_start", "time_frame_end"):
            if f in c:
                checks.append(
                    f"WHEN {f} <> '' AND NOT {_redacted(f)} AND p_{f} IS NULL "
                    f"THEN '{label(f)} not a time: ' || quote({f})"
                )
    why = f"coalesce(_why, CASE {' '.join(checks)} END)"
    parsed = ", ".join(f"{exprs[f]} AS p_{f}" for f in FIELDS if f != "time_frame")
    searcher_redacted = _redacted("searcher") if "searcher" in c else "0"
    out = ", ".join(f"p_{f} AS {f}" for f in FIELDS if f != "time_frame")
    return (
        f"WITH p AS MATERIALIZED (SELECT *, {parsed}, {redacted} AS redacted, "
        f"{searcher_redacted} AS searcher_redacted FROM _cells) "
        f"SELECT _rowid + {offset_param} AS row_number, {why} AS why, _raw, {out}, redacted, searcher_redacted FROM p"
    )


class SearchLoader:
    """Loads one release's search records into the store (call inside the release's transaction)."""

    def __init__(
        self,
        db: sqlite_utils.Database,
        release_id: int,
        layout: Layout,
        *,
        owner_id: int | None,
        default_searcher_id: int | None,
        agency_cache: dict[str, int],
    ):
        self.db = db
        self.conn = db.conn
        self.release_id = release_id
        self.layout = layout
        self.owner_id = owner_id
        self.default_searcher_id = default_searcher_id
        self.agencies = agency_cache
        self.account = Account()
        w = layout.width
        self.conn.execute("DROP TABLE IF EXISTS temp._stage")
        self.conn.execute(
            f"CREATE TEMP TABLE _stage ({', '.join(f'c{i} TEXT' for i in range(w))}, _why TEXT, _raw TEXT)"
        )
        self.conn.execute("DROP TABLE IF EXISTS temp._agency")
        self.conn.execute("CREATE TEMP TABLE _agency (name TEXT PRIMARY KEY, id INTEGER) WITHOUT ROWID")
        self._insert_stage = f"INSERT INTO _stage VALUES ({', '.join('?' * (w + 2))})"
        self._cells = _cells_select(layout)
        self._parse = _parse_select(layout)

    # -- records -----------------------------------------------------------------------------------
    def _shaped(self, records: Iterable[list[str]]) -> Iterator[list]:
        """Records padded/trimmed to the header's width plus (_why, _raw); the common case is cheap."""
        w = self.layout.width
        tail = (None, None)
        account = self.account
        for rec in records:
            n = len(rec)
            if n == w:
                rec.extend(tail)
                yield rec
                continue
            if n and rec[0] is CSV_ERROR:
                yield [""] * w + [f"unreadable CSV record: {rec[1]}", rec[2] if n > 2 else ""]
                continue
            if n < w:
                if n:  # rows lacking trailing fields are a known export quirk: pad them
                    account.short_rows += 1
                yield rec + [""] * (w - n) + [None, None]
                continue
            extra = rec[w:]
            if any(x.strip() for x in extra):
                yield rec[:w] + [f"{n} cells but the header has {w}: cells beyond the header hold data", raw_record(rec)]
            else:  # trailing empty cells (a trailing comma) carry nothing
                yield rec[:w] + [None, None]

    def load(self, records: Iterable[list[str]], first_row: int) -> Account:
        """Stage and load every record; ``first_row`` is the row number of the first record."""
        shaped = self._shaped(records)
        offset = first_row - 1
        while True:
            batch = list(islice(shaped, BATCH))
            if not batch:
                break
            self.conn.execute("DELETE FROM _stage")
            self.conn.executemany(self._insert_stage, batch)
            del batch
            self._load_batch(offset)
            offset = first_row - 1 + self.account.read
        return self.account

    # -- one batch ---------------------------------------------------------------------------------
    def _load_batch(self, offset: int) -> None:
        conn = self.conn
        conn.execute("DROP TABLE IF EXISTS temp._parsed")
        conn.execute("DROP TABLE IF EXISTS temp._cells")
        conn.execute(f"CREATE TEMP TABLE _cells AS {self._cells}")
        # Padding rows are the commonest reject: their rowid restarts with each batch, hence offset.
        conn.execute(f"CREATE TEMP TABLE _parsed AS {self._parse}", {"offset": offset})
        read, rejected, padding = conn.execute(
            "SELECT count(*), count(why), sum(why = 'empty padding record') FROM _parsed"
        ).fetchone()
        self._write_rejects()
        self._encode_agencies()
        conn.execute(
            "INSERT OR IGNORE INTO reasons (text) SELECT DISTINCT reason FROM _parsed "
            "WHERE why IS NULL AND reason IS NOT NULL"
        )
        conn.execute("DROP TABLE IF EXISTS temp._rows")
        # The fallback key: searcher, time to the second, networks, time frame (see below for reason).
        conn.execute(
            """
            CREATE TEMP TABLE _rows AS
            SELECT *, coalesce(searcher_id, '') || '|' || time || '|' || coalesce(networks, '') || '|' ||
                      coalesce(time_frame_start, '') || '|' || coalesce(time_frame_end, '') ||
                      -- With neither networks nor a time frame (a `Reason, DateTime` sheet) two officers'
                      -- searches in one second would share a key: the reason tells them apart.
                      CASE WHEN networks IS NULL AND time_frame_start IS NULL
                           THEN '|r' || coalesce(reason_id, '') ELSE '' END AS dedup_key,
                      NULL AS search_id, NULL AS basis
            FROM (
                SELECT p.row_number, p.uuid, p.time,
                       CASE WHEN p.searcher IS NOT NULL THEN a.id WHEN p.searcher_redacted THEN NULL
                            ELSE :default END AS searcher_id,
                       p.user, r.id AS reason_id, p.case_number, p.plate, p.search_type, p.networks, p.devices,
                       p.time_frame_start, p.time_frame_end, p.filters, p.text_prompt, p.moderation, p.redacted
                FROM _parsed p
                LEFT JOIN _agency a ON a.name = p.searcher
                LEFT JOIN reasons r ON r.text = p.reason
                WHERE p.why IS NULL)
            """,
            {"default": self.default_searcher_id},
        )
        conn.execute("CREATE INDEX temp._rows_search ON _rows (search_id)")
        self._link()
        before = conn.execute("SELECT coalesce(max(id), 0) FROM searches").fetchone()[0]
        conn.execute(
            """
            INSERT INTO searches (uuid, time, searcher_id, user, reason_id, case_number, plate, search_type,
                                  networks, devices, time_frame_start, time_frame_end, filters, text_prompt,
                                  moderation, system, redacted, dedup_key)
            SELECT uuid, time, searcher_id, user, reason_id, case_number, plate, search_type, networks, devices,
                   time_frame_start, time_frame_end, filters, text_prompt, moderation, 'alpr', redacted, dedup_key
            FROM _rows
            WHERE search_id IS NULL AND row_number IN (
                SELECT min(row_number) FROM _rows WHERE search_id IS NULL
                GROUP BY CASE WHEN uuid IS NOT NULL THEN 'u' || uuid ELSE 'k' || dedup_key END)
            ORDER BY row_number
            """
        )
        self._link()
        # A row that created its search is that search's first sighting: basis `new`.
        conn.execute(
            """
            UPDATE _rows SET basis = 'new'
            WHERE search_id > :before AND row_number = (
                SELECT min(r2.row_number) FROM _rows r2 WHERE r2.search_id = _rows.search_id)
            """,
            {"before": before},
        )
        imported = conn.execute(
            "INSERT INTO sightings (search_id, release_id, row_number, link_basis) "
            "SELECT search_id, :release, row_number, basis FROM _rows",
            {"release": self.release_id},
        ).rowcount
        if self.owner_id is not None:
            conn.execute(
                "INSERT OR IGNORE INTO search_owners (search_id, owner_id) SELECT DISTINCT search_id, :owner FROM _rows",
                {"owner": self.owner_id},
            )
        a = self.account
        a.read += read
        a.rejected += rejected
        a.padding += padding or 0
        a.imported += imported
        a.new_searches += conn.execute("SELECT count(*) FROM searches WHERE id > ?", [before]).fetchone()[0]

    def _link(self) -> None:
        """Point unlinked rows at an existing search: by UUID, else by the fallback key."""
        conn = self.conn
        conn.execute(
            "UPDATE _rows SET search_id = s.id, basis = 'uuid' FROM searches s "
            "WHERE _rows.search_id IS NULL AND _rows.uuid IS NOT NULL AND s.uuid = _rows.uuid"
        )
        conn.execute(
            "UPDATE _rows SET search_id = (SELECT min(s.id) FROM searches s WHERE s.dedup_key = _rows.dedup_key), "
            "basis = 'fallback_key' WHERE search_id IS NULL AND uuid IS NULL"
        )
        # A row with a UUID may be a search first seen with its UUID redacted: adopt it, give it the UUID.
        conn.execute(
            "UPDATE _rows SET search_id = (SELECT min(s.id) FROM searches s "
            "WHERE s.dedup_key = _rows.dedup_key AND s.uuid IS NULL), basis = 'fallback_key' "
            "WHERE search_id IS NULL AND uuid IS NOT NULL"
        )
        conn.execute(
            "UPDATE searches SET uuid = (SELECT min(r.uuid) FROM _rows r WHERE r.search_id = searches.id "
            "AND r.uuid IS NOT NULL) WHERE uuid IS NULL AND id IN "
            "(SELECT search_id FROM _rows WHERE uuid IS NOT NULL AND basis = 'fallback_key')"
        )
        conn.execute("UPDATE _rows SET basis = NULL WHERE search_id IS NULL")

    def _encode_agencies(self) -> None:
        """Give each new searcher spelling an agency id (distinct names per batch are few)."""
        names = [r[0] for r in self.conn.execute(
            "SELECT DISTINCT searcher FROM _parsed WHERE why IS NULL AND searcher IS NOT NULL "
            "AND searcher NOT IN (SELECT name FROM _agency)"
        )]
        rows = [(name, ensure_agency(self.db, name, self.agencies)) for name in names]
        self.conn.executemany("INSERT INTO _agency (name, id) VALUES (?, ?)", rows)

    def _write_rejects(self) -> None:
        w = self.layout.width
        cells = ", ".join(f"s.c{i}" for i in range(w))
        rows = self.conn.execute(
            f"SELECT p.row_number, p.why, p._raw, {cells} FROM _parsed p JOIN _stage s "
            f"ON s.rowid = p.row_number - :offset WHERE p.why IS NOT NULL",
            {"offset": self._offset_of_batch()},
        )
        out = [(self.release_id, r[0], r[2] if r[2] is not None else raw_record(list(r[3:])), r[1]) for r in rows]
        self.conn.executemany("INSERT INTO rejects (release_id, row_number, raw, why) VALUES (?, ?, ?, ?)", out)

    def _offset_of_batch(self) -> int:
        return self.conn.execute("SELECT min(row_number) - 1 FROM _parsed").fetchone()[0] or 0


