"""The canonical store: tables, types, keys, indexes and the recorded schema version."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from auditor.errors import InputError
from auditor.schema import SCHEMA_VERSION, create_indexes, ensure_agency, ensure_reason, open_store
from auditor.timefmt import parse_excel_serial, parse_flock_time, parse_iso_time

CANONICAL = {"agencies", "agency_names", "devices", "reads", "shares", "searches", "search_owners",
             "releases", "sightings", "rejects", "truth"}


@pytest.fixture
def db(tmp_path):
    store = open_store(tmp_path / "store.db", create=True)
    create_indexes(store)
    return store


def test_every_canonical_table_exists_with_explicit_types(db):
    assert CANONICAL <= set(db.table_names()) | set(db.view_names())
    columns = {c.name: c.type for c in db["searches"].columns}
    assert columns["id"] == "INTEGER" and columns["time"] == "TEXT" and columns["networks"] == "INTEGER"
    assert columns["dedup_key"] == "INTEGER"


def test_foreign_keys_tie_searches_to_agencies_reasons_and_sightings_to_releases(db):
    def targets(table):
        return {(fk.column, fk.other_table) for fk in db[table].foreign_keys}

    assert {("searcher_id", "agencies"), ("reason_id", "reasons")} <= targets("searches")
    assert {("search_id", "searches"), ("release_id", "releases")} <= targets("sighting_rows")
    assert {("search_id", "searches"), ("owner_id", "agencies")} <= targets("search_owner_rows")
    assert {("release_id", "releases")} <= targets("sighting_runs")
    assert {("owner_id", "agencies")} <= targets("owner_runs")


def test_foreign_keys_are_enforced(db):
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO searches (time, searcher_id) VALUES ('2025-01-01T00:00:00Z', 999)")


def test_one_search_per_vendor_uuid(db):
    db.execute("INSERT INTO searches (uuid, time) VALUES ('5869ce7e-98f2-47e7-a3c2-5e6bff4def4a', '2025-06-18T00:02:04Z')")
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO searches (uuid, time) VALUES ('5869ce7e-98f2-47e7-a3c2-5e6bff4def4a', '2025-06-18T00:02:04Z')")


def test_the_indexes_the_scan_uses_exist(db):
    names = {i.name for i in db["searches"].indexes}
    assert {"idx_searches_uuid", "idx_searches_reason_id"} <= names


def test_schema_version_and_time_format_are_recorded(db):
    meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
    assert meta["schema_version"] == str(SCHEMA_VERSION)
    assert "UTC" in meta["time_format"]


def test_spellings_of_one_agency_share_one_row_and_reasons_are_stored_once(db):
    first = ensure_agency(db, "El Cajon CA PD")
    assert ensure_agency(db, "  El Cajon   CA PD ") == first
    assert ensure_reason(db, "investigation") == ensure_reason(db, "investigation")
    assert ensure_reason(db, " investigation") != ensure_reason(db, "investigation")  # verbatim text


@pytest.mark.parametrize("raw,stored", [
    ("01/05/2026, 05:28:52 PM UTC", "2026-01-05T17:28:52Z"),
    ("11/13/2025, 12:00:14 AM UTC", "2025-11-13T00:00:14Z"),
    ("2025-06-18 00:02:04.789", "2025-06-18T00:02:04Z"),
    ("2026-03-10T05:17:06.087Z", "2026-03-10T05:17:06Z"),
])
def test_vendor_times_are_stored_as_utc_iso_seconds(raw, stored):
    assert (parse_flock_time(raw) or parse_iso_time(raw)) == stored


def test_excel_serial_days_become_utc_text():
    assert parse_excel_serial(44544.3679) == "2021-12-14T08:49:47Z"


def test_a_store_of_another_schema_version_is_refused(tmp_path):
    store = open_store(tmp_path / "old.db", create=True)
    store.execute("UPDATE meta SET value = '0' WHERE key = 'schema_version'")
    store.conn.commit()
    with pytest.raises(InputError, match="schema version 0"):
        open_store(tmp_path / "old.db")


def test_a_version_1_store_is_migrated_when_opened(tmp_path):
    # Written by proxytrace before schema 2 (bfc5ff1) from two fixture releases, then audited.
    import shutil

    from auditor.importers import keys
    from auditor.scan import run_audit

    path = tmp_path / "v1.db"
    shutil.copy(Path(__file__).parent / "fixtures" / "stores" / "v1_store.db", path)
    db = open_store(path)
    assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == str(SCHEMA_VERSION)
    assert {"sightings", "search_owners", "findings"} <= set(db.view_names())
    assert db.execute("SELECT count(*) FROM sightings").fetchone()[0] == 5
    assert db.execute("SELECT count(*) FROM search_owners").fetchone()[0] == 3
    for sid, *fields, key in db.execute("SELECT id, searcher_id, time, networks, time_frame_start, time_frame_end, "
                                        "reason_id, dedup_key FROM searches WHERE dedup_key IS NOT NULL"):
        assert key == keys.fallback_hash(*fields), sid  # re-hashed with the vectorizable key
    summary = run_audit(db)  # the old findings were dropped with the migration; a run writes them again
    assert summary.searches == 5 and summary.findings_by_rule["ca.sb34.sharing"]["searches"] == 2


def test_the_columnar_child_starts_when_the_main_script_comes_from_stdin(tmp_path):
    import subprocess
    import sys

    script = (f"from auditor.schema import open_store\nfrom auditor.scan import run_audit\n"
              f"db = open_store({str(tmp_path / 's.db')!r}, create=True)\nprint(run_audit(db).searches)\n")
    done = subprocess.run([sys.executable, "-"], input=script, text=True, capture_output=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-500:]
    assert done.stdout.strip() == "0"
