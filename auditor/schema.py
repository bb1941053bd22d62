"""The canonical store: one SQLite schema shared by the simulator, the importers and the auditor.

Times are stored as UTC text in ISO 8601 with a `Z` and whole seconds: ``2025-06-18T00:02:04Z``
(see :func:`auditor.timefmt.iso_utc`). Text of that shape sorts in time order, which the plate-relay
window and the monthly charts rely on.

Tables are created here with explicit types and foreign keys. Indexes the scan needs are created by
:func:`create_indexes` *after* a bulk load, because building them on a filled table is several times
faster than maintaining them row by row.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils

from auditor.errors import InputError

SCHEMA_VERSION = 1

# Cell states: a value withheld from the release is not a blank value. Importers put the names of
# withheld fields (a redaction marker in the cell, or a column the release does not have at all),
# comma-joined, in `searches.redacted` and leave the field NULL.
REDACTION_MARKERS = ("***", "REDACTED", "(b)(6)", "(b)(7)(c)", "(b)(7)(C)")

LEVELS = ("local", "county", "state", "federal", "tribal", "private", "unknown")
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
    (
        "search_owners",
        {"search_id": int, "owner_id": int},
        {"pk": ("search_id", "owner_id"), "foreign_keys": [("search_id", "searches", "id"), ("owner_id", "agencies", "id")]},
    ),
    (
        "sightings",
        {"id": int, "search_id": int, "release_id": int, "row_number": int, "link_basis": str},
        {
            "pk": "id",
            "foreign_keys": [("search_id", "searches", "id"), ("release_id", "releases", "id")],
            "not_null": {"search_id", "release_id", "row_number", "link_basis"},
        },
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
        {"search_id": int, "beneficiary_id": int, "basis": str, "evidence": str},
        {"pk": "search_id", "foreign_keys": [("search_id", "searches", "id"), ("beneficiary_id", "agencies", "id")]},
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
    (
        "findings",
        {
            "id": int,
            "run_id": int,
            "rule_id": str,
            "severity": str,
            "search_id": int,  # per-search findings
            "trace_id": int,
            "agency_id": int,  # per-agency findings (rates, disclosures, shares)
            "subject": str,  # what an aggregate finding is about: a user, a plate, a share
            "detail": str,  # the measured figures behind an aggregate finding
            "searches": int,  # how many de-duplicated searches the finding covers
        },
        {
            "pk": "id",
            "foreign_keys": [
                ("run_id", "runs", "id"),
                ("rule_id", "rules", "rule_id"),
                ("search_id", "searches", "id"),
                ("trace_id", "traces", "id"),
                ("agency_id", "agencies", "id"),
            ],
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
    ("searches", ("dedup_key",), False),
    ("search_owners", ("owner_id",), False),
    ("sightings", ("search_id",), False),
    ("sightings", ("release_id", "row_number"), True),
    ("rejects", ("release_id",), False),
    ("releases", ("sha256",), True),
    ("reason_tags", ("reason_id", "tag"), False),
    ("reason_tags", ("tag",), False),
    ("findings", ("rule_id",), False),
    ("findings", ("search_id",), False),
]


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


def create_schema(db: sqlite_utils.Database) -> None:
    """Create every canonical table that does not exist yet and record the schema version."""
    for name, columns, options in _TABLES:
        if not db[name].exists():
            db[name].create(columns, **options)
    db.execute(
        "CREATE UNIQUE INDEX IF NOT EXISTS idx_searches_uuid ON searches(uuid) WHERE uuid IS NOT NULL"
    )
    db.execute(
        "CREATE VIEW IF NOT EXISTS tags AS "
        "SELECT s.id AS search_id, rt.tag, rt.value, rt.evidence, rt.confidence, 'reason' AS basis "
        "FROM searches s JOIN reason_tags rt ON rt.reason_id = s.reason_id "
        "UNION ALL SELECT search_id, tag, NULL, evidence, confidence, basis FROM search_tags"
    )
    db["meta"].upsert({"key": "schema_version", "value": str(SCHEMA_VERSION)}, pk="key")
    db["meta"].upsert({"key": "time_format", "value": "UTC ISO 8601, whole seconds: YYYY-MM-DDTHH:MM:SSZ"}, pk="key")


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
    if p.is_dir():
        raise InputError(f"{p}: is a folder, not a store file")
    if not p.exists():
        if not create:
            raise InputError(f"{p}: no such store (create one with `simulate --out` or `audit import --db`)")
        try:
            db = connect(p)
        except sqlite3.Error as e:
            raise InputError(f"{p}: cannot create store: {e}") from None
        create_schema(db)
        return db
    try:
        with open(p, "rb") as fh:
            head = fh.read(16)
    except OSError as e:
        raise InputError(f"{p}: cannot read store: {e.strerror}") from None
    if head and head != b"SQLite format 3\x00":
        raise InputError(f"{p}: not a SQLite database")
    empty = _inspect_read_only(p)
    if empty and not create:
        raise InputError(f"{p}: not a proxytrace store (no schema; expected tables meta, searches, ...)")
    try:
        db = connect(p)
    except sqlite3.Error as e:
        raise InputError(f"{p}: cannot open store: {e}") from None
    create_schema(db)  # a new store's tables, or auditor tables missing from an older writer of the same version
    return db


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
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
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
    if str(found).strip() != str(SCHEMA_VERSION):  # text, never int(): the value may be anything
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
