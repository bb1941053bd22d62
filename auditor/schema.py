"""The canonical store: one SQLite schema shared by the simulator, the importers and the auditor.

Times are stored as UTC text in ISO 8601 with a `Z` and whole seconds: ``2025-06-18T00:02:04Z``
(see :func:`auditor.timefmt.iso_utc`). Text of that shape sorts in time order, which the plate-relay
window and the monthly charts rely on.

Tables are created here with explicit types and foreign keys. Indexes the scan needs are created by
:func:`create_indexes` *after* a bulk load, because building them on a filled table is several times
faster than maintaining them row by row.
"""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import sqlite_utils

from auditor.errors import InputError
from auditor.files import require_regular
from auditor.facts import STORE_TIME_DESCRIPTION
from auditor.vocabulary import LEVELS  # noqa: F401  (defined in the vocabulary; importable from here too)

# 2: provenance as runs (sighting_runs, owner_runs) behind the `sightings` and `search_owners` views,
#    a vectorizable fallback-key hash, grouped findings behind the `findings` view.
SCHEMA_VERSION = 2

# Cell states: a value withheld from the release is not a blank value. Importers put the names of
# withheld fields (a redaction marker in the cell, or a column the release does not have at all),
# comma-joined, in `searches.redacted` and leave the field NULL.
REDACTION_MARKERS = ("***", "REDACTED", "(b)(6)", "(b)(7)(c)", "(b)(7)(C)")

SCOPES = ("own", "direct", "statewide", "national", "none found")

_TABLES: list[tuple[str, dict, dict]] = [
    # name, columns, options
    ("meta", {"key": str, "value": str}, {"pk": "key"}),
    (
        "agencies",
        {
            "id": int,
            "name": str,  # the canonical spelling, usually the vendor's org name
            "state": str,  # two-letter postal code, NULL when unknown
            "level": str,  # one of LEVELS
            "kind": str,  # police, sheriff, state police, ICE, HSI, CBP, USBP, other federal, ...
            "dhs_component": str,  # ICE, ERO, HSI, CBP, USBP for DHS immigration components
            "is_287g": int,  # 1 listed in ICE's 287(g) list, 0 not listed, NULL not checked
            "support_287g": str,  # ICE's support types, e.g. "Task Force Model"
            "resolved_by": str,  # scenario, registry, heuristic, 287g, override, unknown
            "confidence": float,
        },
        {"pk": "id", "not_null": {"name", "level", "kind"}, "defaults": {"level": "unknown", "kind": "unknown"}},
    ),
    (
        "agency_names",
        {"name": str, "agency_id": int},
        {"pk": "name", "foreign_keys": [("agency_id", "agencies", "id")], "not_null": {"agency_id"}},
    ),
    (
        "devices",
        {"id": int, "owner_id": int, "name": str, "kind": str, "network": str, "lat": float, "lon": float},
        {"pk": "id", "foreign_keys": [("owner_id", "agencies", "id")], "not_null": {"owner_id"}},
    ),
    (
        "reads",
        {"id": int, "device_id": int, "plate": str, "time": str},
        {"pk": "id", "foreign_keys": [("device_id", "devices", "id")], "not_null": {"device_id", "plate", "time"}},
    ),
    (
        "releases",
        {
            "id": int,
            "file_name": str,
            "sha256": str,
            "format": str,  # flock_network_audit, flock_org_audit, portal_audit, reason_sheet, sharing_list, generic
            "producer_id": int,  # the agency that released it
            "audit_kind": str,  # network (producer = owner), organization (producer = searcher), sharing
            "rows_read": int,
            "rows_imported": int,
            "rows_rejected": int,
            "rows_padding": int,  # blank or counter-only records: rows_read = imported + rejected + padding
            "status": str,  # importing, complete
            "imported_at": str,
            "notes": str,
        },
        {"pk": "id", "foreign_keys": [("producer_id", "agencies", "id")], "not_null": {"file_name", "sha256", "format"}},
    ),
    (
        "shares",
        {
            "id": int,
            "owner_id": int,
            "grantee_id": int,  # NULL for statewide and national scopes
            "scope": str,  # direct, statewide, national
            "network": str,  # the shared network's name where the source gives it
            "source": str,  # scenario or release
            "release_id": int,
            "valid_from": str,
            "valid_to": str,
        },
        {
            "pk": "id",
            "foreign_keys": [("owner_id", "agencies", "id"), ("grantee_id", "agencies", "id"), ("release_id", "releases", "id")],
            "not_null": {"owner_id", "scope"},
        },
    ),
    # Dictionary encoding: each distinct reason text is stored once and tagged once.
    ("reasons", {"id": int, "text": str}, {"pk": "id", "not_null": {"text"}}),
    (
        "searches",
        {
            "id": int,
            "uuid": str,  # the vendor's search id (Flock's UUID), NULL when blank or redacted
            "time": str,  # UTC, see module docstring
            "searcher_id": int,  # the organization whose user ran the search
            "user": str,
            "reason_id": int,  # NULL when the reason cell was blank or redacted
            "case_number": str,
            "plate": str,
            "search_type": str,  # lookup, search, freeform, visual, multiGeo, convoy
            "networks": int,  # networks searched
            "devices": int,  # devices (cameras) searched
            "time_frame_start": str,
            "time_frame_end": str,
            "filters": str,
            "text_prompt": str,
            "moderation": str,
            "system": str,  # alpr or clets
            "query_type": str,  # CLETS: registration, driver_license, criminal_history, restraining_order, wanted_person
            "redacted": str,  # comma-joined names of fields withheld: a redaction marker, or no such column in the release
            # fallback key (searcher, second, networks, time frame; + reason when neither networks nor
            # frame), stored as a signed 64-bit hash of its text: equal hashes are only candidates,
            # the importer compares those fields before linking (auditor.importers.searches)
            "dedup_key": int,
        },
        {
            "pk": "id",
            "foreign_keys": [("searcher_id", "agencies", "id"), ("reason_id", "reasons", "id")],
            "not_null": {"time", "system"},
            "defaults": {"system": "alpr"},
        },
    ),
    # Provenance, stored compactly. `sightings` and `search_owners` are views (see _VIEWS): a run
    # says "rows row_first.. of a release are searches search_first.." and covers the common case of
    # a release's new searches, one row per contiguous stretch instead of one per row; the `_rows`
    # tables hold every sighting or owner that is not part of a run (links to earlier searches).
    (
        "search_owner_rows",
        {"search_id": int, "owner_id": int},
        {"pk": ("search_id", "owner_id"), "foreign_keys": [("search_id", "searches", "id"), ("owner_id", "agencies", "id")]},
    ),
    (
        "owner_runs",
        {"owner_id": int, "search_first": int, "searches": int},
        {"pk": ("owner_id", "search_first"), "foreign_keys": [("owner_id", "agencies", "id")],
         "not_null": {"searches"}},
    ),
    (
        "sighting_rows",
        {"id": int, "search_id": int, "release_id": int, "row_number": int, "link_basis": str},
        {
            "pk": "id",
            "foreign_keys": [("search_id", "searches", "id"), ("release_id", "releases", "id")],
            "not_null": {"search_id", "release_id", "row_number", "link_basis"},
        },
    ),
    # Two releases that list one search (by UUID) with different values of a field: every version,
    # with the release and row that gives it (the first release's included). `value` is the field's
    # stored form (reason and searcher as ids). The search keeps the version of the release whose
    # sha256 sorts first, and as its reason all versions' texts joined by ` | `, so neither the
    # findings nor the stored search depend on the order the releases were imported in.
    (
        "search_versions",
        {"search_id": int, "release_id": int, "row_number": int, "field": str, "value": str},
        {"pk": ("search_id", "field", "release_id", "row_number"),
         "foreign_keys": [("search_id", "searches", "id"), ("release_id", "releases", "id")]},
    ),
    # Where each row of a PDF release is on the page (a PDF has no row numbers a person can find).
    (
        "release_rows",
        {"release_id": int, "row_number": int, "page": int, "line": int},
        {"pk": ("release_id", "row_number"), "foreign_keys": [("release_id", "releases", "id")]},
    ),
    # What the import found missing from a release (a row limit reached, a cut last record, rows
    # stopping inside the period its name states): auditor.importers.completeness.
    (
        "release_checks",
        {"id": int, "release_id": int, "kind": str, "detail": str},
        {"pk": "id", "foreign_keys": [("release_id", "releases", "id")], "not_null": {"release_id", "kind"}},
    ),
    (
        "sighting_runs",
        {"release_id": int, "row_first": int, "search_first": int, "rows": int, "link_basis": str},
        {"pk": ("release_id", "row_first"), "foreign_keys": [("release_id", "releases", "id")],
         "not_null": {"search_first", "rows", "link_basis"}},
    ),
    (
        "rejects",
        {"id": int, "release_id": int, "row_number": int, "raw": str, "why": str},
        {"pk": "id", "foreign_keys": [("release_id", "releases", "id")], "not_null": {"release_id", "row_number", "why"}},
    ),
    (
        "truth",
        {
            "search_id": int,
            "purpose": str,  # immigration, stolen_vehicle, stalking, ...
            "beneficiary_id": int,
            "disguised": int,  # 1 when the reason hides the true purpose or beneficiary
            "misuse_kind": str,  # NULL for legitimate use
            "narrative": str,
        },
        {"pk": "search_id", "foreign_keys": [("search_id", "searches", "id"), ("beneficiary_id", "agencies", "id")]},
    ),
    # What an agency disclosed about misuse of a system in a year (the CLETS Advisory Committee's
    # annual misuse form). status: filed, late, not_filed; figures are NULL when nothing was filed.
    (
        "disclosures",
        {
            "id": int,
            "agency_id": int,
            "system": str,  # clets
            "year": int,
            "status": str,
            "investigations": int,
            "confirmed": int,
            "pending": int,
            "resigned_fired": int,
            "misdemeanor": int,
            "felony": int,
            "no_action": int,
            "counseling": int,
            "other": int,
            "filed_on": str,
            "source": str,  # scenario, or the release it was read from
            "note": str,
        },
        {"pk": "id", "foreign_keys": [("agency_id", "agencies", "id")], "not_null": {"agency_id", "year", "status"}},
    ),
    # --- auditor output -------------------------------------------------------------------------
    # How each agency met ICE's 287(g) list in the last run that was given one: `key` and `name` are
    # matches (ICE's spelling kept), `near_miss` an entry of the same state that resembles an
    # agency left unmatched, for a person to check.
    (
        "agency_287g",
        {"agency_id": int, "ice_name": str, "support": str, "how": str, "similarity": float},
        {"foreign_keys": [("agency_id", "agencies", "id")], "not_null": {"agency_id", "how"}},
    ),
    (
        "runs",
        {"id": int, "started_at": str, "finished_at": str, "version": str, "ruleset_hash": str, "params": str, "summary": str},
        {"pk": "id"},
    ),
    (
        "rules",
        {"rule_id": str, "title": str, "severity": str, "citation": str, "scope": str, "description": str},
        {"pk": "rule_id"},
    ),
    (
        "reason_tags",
        {"id": int, "reason_id": int, "tag": str, "value": str, "evidence": str, "confidence": float},
        {"pk": "id", "foreign_keys": [("reason_id", "reasons", "id")], "not_null": {"reason_id", "tag"}},
    ),
    # Tags inferred from more than the reason text (287(g) status, plate relay).
    (
        "search_tags",
        {"search_id": int, "tag": str, "evidence": str, "confidence": float, "basis": str},
        {"pk": ("search_id", "tag"), "foreign_keys": [("search_id", "searches", "id")]},
    ),
    # Who a search was really for, where that is not the searcher itself.
    (
        "beneficiaries",
        {"search_id": int, "beneficiary_id": int, "basis": str, "evidence": str, "confidence": float},
        {"pk": "search_id", "foreign_keys": [("search_id", "searches", "id"), ("beneficiary_id", "agencies", "id")]},
    ),
    # An agency a reason names as requester that no agency of the store or the registry matches:
    # kept as the text written, with low confidence, and counted (the search stays traced to itself).
    (
        "beneficiary_names",
        {"search_id": int, "name": str, "evidence": str, "confidence": float},
        {"pk": "search_id", "foreign_keys": [("search_id", "searches", "id")]},
    ),
    # One row per distinct owner -> scope -> searcher -> beneficiary path.
    (
        "traces",
        {"id": int, "owner_id": int, "scope": str, "searcher_id": int, "beneficiary_id": int, "door": str, "path": str},
        {
            "pk": "id",
            "foreign_keys": [("owner_id", "agencies", "id"), ("searcher_id", "agencies", "id"), ("beneficiary_id", "agencies", "id")],
        },
    ),
    # Search findings are stored per distinct *scan key* (the facts every search rule reads: owner,
    # searcher, beneficiary and basis, reason class, system, query type, flags, date epoch) and
    # expanded to searches on read by the `findings` view: search_keys gives each search its keys.
    (
        "reason_classes",
        {"reason_id": int, "class_id": int},
        {"pk": "reason_id", "foreign_keys": [("reason_id", "reasons", "id")], "not_null": {"class_id"}},
    ),
    (
        "scan_keys",
        {
            "id": int, "run_id": int, "owner_id": int, "searcher_id": int, "beneficiary_id": int,
            "basis": str, "class_id": int, "system": str, "query_type": str, "mass_search": int,
            "has_case_number": int, "reason_state": str, "epoch": int, "frame_bucket": int, "trace_id": int,
            "searches": int,  # searches with this key (a search with two owners has two keys)
        },
        {"pk": "id", "foreign_keys": [("run_id", "runs", "id"), ("trace_id", "traces", "id")]},
    ),
    (
        "finding_groups",
        {"id": int, "run_id": int, "rule_id": str, "severity": str, "key_id": int},
        {
            "pk": "id",
            "foreign_keys": [("run_id", "runs", "id"), ("rule_id", "rules", "rule_id"), ("key_id", "scan_keys", "id")],
            "not_null": {"run_id", "rule_id", "severity", "key_id"},
        },
    ),
    # Each search rule's example findings, chosen by `audit run` (auditor.examples): the report reads
    # these instead of the findings, so its time does not grow with the store.
    (
        "rule_examples",
        {"run_id": int, "rule_id": str, "rank": int, "search_id": int, "key_id": int},
        {"pk": ("rule_id", "rank"), "not_null": {"run_id", "search_id", "key_id"}},
    ),
    (
        "aggregate_findings",
        {
            "id": int,
            "run_id": int,
            "rule_id": str,
            "severity": str,
            "agency_id": int,  # per-agency findings (rates, disclosures, shares)
            "subject": str,  # what an aggregate finding is about: a user, a plate, a share
            "detail": str,  # the measured figures behind an aggregate finding
            "searches": int,  # how many de-duplicated searches the finding covers
        },
        {
            "pk": "id",
            "foreign_keys": [("run_id", "runs", "id"), ("rule_id", "rules", "rule_id"), ("agency_id", "agencies", "id")],
            "not_null": {"run_id", "rule_id", "severity"},
        },
    ),
]

# (table, columns, unique, where) -- the partial unique index keeps one search per vendor UUID.
_INDEXES: list[tuple[str, tuple[str, ...], bool]] = [
    ("agencies", ("name",), True),
    ("reasons", ("text",), True),
    ("agency_names", ("agency_id",), False),
    ("devices", ("owner_id",), False),
    ("reads", ("plate", "time"), False),
    ("shares", ("owner_id",), False),
    ("searches", ("reason_id",), False),
    # Covering indexes: the aggregate measures stream through them in GROUP BY order, no sort.
    ("searches", ("searcher_id", "user", "reason_id", "case_number"), False),
    ("searches", ("plate", "searcher_id", "user", "case_number", "search_type", "time"), False),
    ("search_owner_rows", ("owner_id",), False),
    ("sighting_rows", ("search_id",), False),
    ("sighting_rows", ("release_id", "row_number"), True),
    ("rejects", ("release_id",), False),
    ("releases", ("sha256",), True),
    ("reason_tags", ("reason_id", "tag"), False),
    ("reason_tags", ("tag",), False),
    ("finding_groups", ("key_id",), False),
    ("aggregate_findings", ("rule_id",), False),
]


# The provenance and findings views: what readers query, whatever the compact form underneath.
_VIEWS = (
    """CREATE VIEW IF NOT EXISTS sightings AS
    SELECT search_id, release_id, row_number, link_basis FROM sighting_rows
    UNION ALL
    SELECT s.id, r.release_id, r.row_first + (s.id - r.search_first), r.link_basis
    FROM sighting_runs r JOIN searches s ON s.id >= r.search_first AND s.id < r.search_first + r.rows""",
    """CREATE TRIGGER IF NOT EXISTS sightings_insert INSTEAD OF INSERT ON sightings BEGIN
    INSERT INTO sighting_rows (search_id, release_id, row_number, link_basis)
    VALUES (NEW.search_id, NEW.release_id, NEW.row_number, NEW.link_basis); END""",
    """CREATE VIEW IF NOT EXISTS search_owners AS
    SELECT search_id, owner_id FROM search_owner_rows
    UNION ALL
    SELECT s.id, r.owner_id
    FROM owner_runs r JOIN searches s ON s.id >= r.search_first AND s.id < r.search_first + r.searches""",
    """CREATE TRIGGER IF NOT EXISTS search_owners_insert INSTEAD OF INSERT ON search_owners BEGIN
    INSERT INTO search_owner_rows (search_id, owner_id) VALUES (NEW.search_id, NEW.owner_id); END""",
    # id: the search's id for a search finding, minus the finding's number for an aggregate one
    # (unique per aggregate finding, not a key across runs).
    """CREATE VIEW IF NOT EXISTS findings AS
    SELECT k.search_id AS id, g.run_id, g.rule_id, g.severity, k.search_id, sk.trace_id, NULL AS agency_id,
           NULL AS subject, NULL AS detail, 1 AS searches
    FROM finding_groups g JOIN scan_keys sk ON sk.id = g.key_id JOIN search_keys k ON k.key_id = g.key_id
    UNION ALL
    SELECT -id, run_id, rule_id, severity, NULL, NULL, agency_id, subject, detail, searches FROM aggregate_findings""",
)


def index_names(tables: tuple[str, ...] | None = None) -> list[str]:
    """Names of the indexes :func:`create_indexes` makes (only those on ``tables`` when given)."""
    return [f"idx_{t}_{'_'.join(cols)}" for t, cols, _ in _INDEXES if tables is None or t in tables]


def connect(path: str | Path) -> sqlite_utils.Database:
    """Open (or create) a store with the pragmas a bulk-loading, single-writer tool wants."""
    db = sqlite_utils.Database(str(path))
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    # Sorts for index builds and GROUP BYs spill to temp files past the page cache: in memory they
    # would grow with the number of rows.
    db.execute("PRAGMA temp_store = FILE")
    db.execute("PRAGMA cache_size = -64000")  # 64 MB page cache, bounded whatever the row count
    return db


def store_path(db: sqlite_utils.Database) -> str:
    """The file a store's connection has open."""
    return db.conn.execute("PRAGMA database_list").fetchone()[2]


def create_schema(db: sqlite_utils.Database) -> None:
    """Create every canonical table that does not exist yet and record the schema version."""
    for name, columns, options in _TABLES:
        if not db[name].exists():
            db[name].create(columns, **options)
    if "rows_padding" not in db["releases"].columns_dict:
        # A store written before padding was counted apart: its padding rows are among its rejects.
        db.execute("ALTER TABLE releases ADD COLUMN rows_padding INTEGER NOT NULL DEFAULT 0")
    # One search per vendor UUID. Built here only while the table is empty (free); a load into an
    # empty store drops it and the next import, which links by UUID, builds it again.
    if db.execute("SELECT 1 FROM searches LIMIT 1").fetchone() is None:
        db.execute("CREATE UNIQUE INDEX IF NOT EXISTS idx_searches_uuid ON searches(uuid) WHERE uuid IS NOT NULL")
    # One row per (search, scan key), in search order: WITHOUT ROWID keeps it one B-tree, appended to.
    db.execute("CREATE TABLE IF NOT EXISTS search_keys (search_id INTEGER NOT NULL, key_id INTEGER NOT NULL, "
               "PRIMARY KEY (search_id, key_id)) WITHOUT ROWID")
    for sql in _VIEWS:
        db.execute(sql)
    db.execute(
        "CREATE VIEW IF NOT EXISTS tags AS "
        "SELECT s.id AS search_id, rt.tag, rt.value, rt.evidence, rt.confidence, 'reason' AS basis "
        "FROM searches s JOIN reason_tags rt ON rt.reason_id = s.reason_id "
        "UNION ALL SELECT search_id, tag, NULL, evidence, confidence, basis FROM search_tags"
    )
    db["meta"].upsert({"key": "schema_version", "value": str(SCHEMA_VERSION)}, pk="key")
    db["meta"].upsert({"key": "time_format", "value": STORE_TIME_DESCRIPTION}, pk="key")


def create_indexes(db: sqlite_utils.Database, skip: tuple[str, ...] = ()) -> None:
    """Create the indexes the auditor needs (idempotent). Call after bulk loads."""
    for table, cols, unique in _INDEXES:
        name = f"idx_{table}_{'_'.join(cols)}"
        if name in skip:
            continue
        db.execute(
            f"CREATE {'UNIQUE ' if unique else ''}INDEX IF NOT EXISTS {name} ON {table}({', '.join(cols)})"
        )


def open_store(path: str | Path, *, create: bool = False) -> sqlite_utils.Database:
    """Open an existing store, checking it is SQLite and carries this schema.

    Raises :class:`InputError` (a one-line message, exit code 2 at the CLI) when the file is missing,
    is not SQLite, or lacks the schema. With ``create=True`` a missing file (or an empty SQLite file)
    is created. A file is inspected read-only first: nothing in a file that is refused is changed
    (the store pragmas, WAL mode among them, are set only once it is known to be a store).
    """
    p = Path(path)
    if not require_regular(p, "store file", missing_ok=True):
        if not create:
            raise InputError(f"{p}: no such store (create one with `simulate --out` or `audit import --db`)")
        try:
            db = connect(p)
        except sqlite3.Error as e:
            raise InputError(f"{p}: cannot create store: {e}") from None
        create_schema(db)
        return db
    _check_readable_sqlite(p)
    empty = _inspect_read_only(p)
    if empty and not create:
        raise InputError(f"{p}: not a proxytrace store (no schema; expected tables meta, searches, ...)")
    try:
        db = connect(p)
    except sqlite3.Error as e:
        raise InputError(f"{p}: cannot open store: {e}") from None
    if _schema_version(db) == "1":
        migrate_v1(db)
    create_schema(db)  # a new store's tables, or auditor tables missing from an older writer of the same version
    return db


def check_store(path: str | Path, *, create: bool = False) -> None:
    """The checks :func:`open_store` makes before writing, alone and read-only: InputError for a
    missing store (unless ``create``), a file that is not SQLite or not a proxytrace store. Commands
    call it before taking the store's lock, so a refused file gets no lock file beside it."""
    p = Path(path)
    if not require_regular(p, "store file", missing_ok=True):
        if not create:
            raise InputError(f"{p}: no such store (create one with `simulate --out` or `audit import --db`)")
        return
    _check_readable_sqlite(p)
    if _inspect_read_only(p) and not create:
        raise InputError(f"{p}: not a proxytrace store (no schema; expected tables meta, searches, ...)")


def _schema_version(db: sqlite_utils.Database) -> str | None:
    row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() if db["meta"].exists() else None
    return None if row is None else str(row[0]).strip()


def migrate_v1(db: sqlite_utils.Database) -> None:
    """Bring a version-1 store to this schema, in one transaction.

    Sightings and search owners become the `_rows` tables behind their views, the fallback keys
    are re-hashed with the vectorizable hash (:mod:`auditor.importers.keys`), and the last audit's
    per-search findings are dropped: `audit run` writes them again in the grouped form.
    """
    from auditor.importers.keys import fallback_hash

    conn = db.conn
    conn.commit()
    with conn:
        conn.execute("ALTER TABLE sightings RENAME TO sighting_rows")
        conn.execute("ALTER TABLE search_owners RENAME TO search_owner_rows")
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND "
                                    "(name LIKE 'idx_sightings_%' OR name LIKE 'idx_search_owners_%' "
                                    "OR name LIKE 'idx_findings_%')").fetchall():
            conn.execute(f"DROP INDEX {name}")
        conn.execute("DROP TABLE IF EXISTS findings")
        keys = [
            (fallback_hash(searcher, time, networks, start, end, reason), sid)
            for sid, searcher, time, networks, start, end, reason in conn.execute(
                "SELECT id, searcher_id, time, networks, time_frame_start, time_frame_end, reason_id FROM searches "
                "WHERE dedup_key IS NOT NULL").fetchall()
        ]
        conn.executemany("UPDATE searches SET dedup_key = ? WHERE id = ?", keys)
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION)])
        conn.execute("UPDATE runs SET finished_at = NULL, summary = NULL")  # findings gone: re-run the audit


def _check_readable_sqlite(p: Path) -> None:
    """InputError for a store file this process cannot read, or one too short to be SQLite, without
    opening the file outside SQLite.

    Closing any descriptor of a file drops every POSIX lock this process holds on it, SQLite's
    included (https://www.sqlite.org/howtocorrupt.html, section 2.2): a connection to the store
    still open in the process (a test session, `audit serve`) would be left without its shared
    lock, so another process closing the store would take itself for the last one and delete the
    WAL and its index under it ("database disk image is malformed"). SQLite's own descriptors keep
    their locks, so the SQLite magic is checked by SQLite (:func:`_inspect_read_only`).
    """
    if not os.access(p, os.R_OK):
        raise InputError(f"{p}: cannot read store: permission denied")
    if 0 < p.stat().st_size < 512:  # the smallest SQLite database with a header is one 512-byte page
        raise InputError(f"{p}: not a SQLite database")


def _inspect_read_only(p: Path) -> bool:
    """Check a file's schema without writing to it; True when it is an empty SQLite database.

    Raises InputError for a SQLite file that is not a proxytrace store of this schema version.
    """
    if p.stat().st_size == 0:
        return True
    try:
        con = sqlite3.connect(f"{p.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as e:
        raise InputError(f"{p}: cannot open store: {e}") from None
    try:
        try:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError as e:
            if "not a database" in str(e):  # SQLITE_NOTADB: the file does not start with the SQLite magic
                raise InputError(f"{p}: not a SQLite database") from None
            raise
        if not tables:
            return True
        if "meta" not in tables or "searches" not in tables:
            raise InputError(f"{p}: not a proxytrace store (no schema; expected tables meta, searches, ...)")
        row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.Error as e:
        raise InputError(f"{p}: cannot open store: {e}") from None
    finally:
        con.close()
    found = "none" if row is None else row[0]
    if str(found).strip() not in (str(SCHEMA_VERSION), "1"):  # text, never int(); version 1 is migrated
        shown = found if isinstance(found, (int, float)) or (isinstance(found, str) and len(found) <= 20) else "unreadable"
        raise InputError(f"{p}: store schema version {shown!s}, this proxytrace reads version {SCHEMA_VERSION}")
    return False


def ensure_agency(db: sqlite_utils.Database, name: str, cache: dict[str, int] | None = None) -> int:
    """Return the agency id for a spelling, creating an unresolved agency for a new one.

    Spellings are matched after folding whitespace; every spelling seen is kept in `agency_names`.
    """
    spelling = " ".join(name.split())
    if cache is not None and spelling in cache:
        return cache[spelling]
    row = db.execute("SELECT agency_id FROM agency_names WHERE name = ?", [spelling]).fetchone()
    if row:
        agency_id = row[0]
    else:
        row = db.execute("SELECT id FROM agencies WHERE name = ?", [spelling]).fetchone()
        if row:
            agency_id = row[0]
        else:
            agency_id = db.execute(
                "INSERT INTO agencies (name, level, kind, resolved_by) VALUES (?, 'unknown', 'unknown', NULL)",
                [spelling],
            ).lastrowid
        db.execute("INSERT OR IGNORE INTO agency_names (name, agency_id) VALUES (?, ?)", [spelling, agency_id])
    if cache is not None:
        cache[spelling] = agency_id
    return agency_id


def ensure_reason(db: sqlite_utils.Database, text: str, cache: dict[str, int] | None = None) -> int:
    """Return the id of a distinct reason text, adding it on first sight (text kept verbatim)."""
    if cache is not None and text in cache:
        return cache[text]
    row = db.execute("SELECT id FROM reasons WHERE text = ?", [text]).fetchone()
    reason_id = row[0] if row else db.execute("INSERT INTO reasons (text) VALUES (?)", [text]).lastrowid
    if cache is not None:
        cache[text] = reason_id
    return reason_id


def replaced_results(db: sqlite_utils.Database, store: str = "store") -> str | None:
    """Why the finding tables cannot be read, when a killed `audit run` had replaced the last complete
    run's results (meta `results_run`, see auditor.scan); None when they hold that run's results."""
    held = db.execute("SELECT value FROM meta WHERE key = 'results_run'").fetchone()
    last = db.execute("SELECT max(id) FROM runs WHERE finished_at IS NOT NULL").fetchone()
    if held is None or last is None or last[0] is None or held[0] == str(last[0]):
        return None
    return (f"{store}: `audit run` (run {held[0]}) was interrupted after it had replaced the findings of run "
            f"{last[0]}; run `audit run --db {store}` again")
