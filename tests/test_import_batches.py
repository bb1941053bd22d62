"""The bulk loader across batch boundaries: de-duplication, adoption, indexes and load settings.

A batch of two rows makes every file here span several batches, so links that cross a batch (and
the fix-up a fresh store's load runs before building its unique UUID index) are exercised on
small, readable files.
"""
from __future__ import annotations

import gc

import pytest

from conftest import write_flock_csv

import numpy as np

from auditor.importers import columnar, import_file, keys, searches
from auditor.schema import create_indexes, open_store

ONE = "aaaaaaaa-0000-4000-8000-000000000001"
TWO = "bbbbbbbb-0000-4000-8000-000000000002"


@pytest.fixture(autouse=True)
def two_row_batches(monkeypatch):
    monkeypatch.setattr(searches, "BATCH", 2)


@pytest.fixture
def db(tmp_path):
    return open_store(tmp_path / "store.db", create=True)


def row(uuid: str, org: str = "Raleigh NC PD", second: int = 52, reason: str = "ICE") -> list[str]:
    when = f"12/08/2025, 05:28:{second:02d} PM UTC"
    return [uuid, "", org, "5738.0", "12/01/2025, 05:28:52 PM UTC\n" + when, "", reason, "", "", when, "search", "", ""]


audit = write_flock_csv  # classic header, CRLF records


def q(db, sql, *args):
    return db.execute(sql, list(args)).fetchall()


def test_uuid_repeated_in_a_later_batch_of_a_fresh_load_is_one_search(db, tmp_path):
    f = audit(tmp_path / "x-El_Cajon_CA_PD-Network-Audit.csv",
              [row(ONE, second=1), row(TWO, second=2), row("", second=3), row(ONE, second=1)])
    [acc] = import_file(db, f)
    assert (acc.rows_read, acc.rows_imported, acc.new_searches) == (4, 4, 3)
    assert q(db, "SELECT count(*) FROM searches") == [(3,)]
    first = q(db, "SELECT id FROM searches WHERE uuid = ?", ONE)[0][0]
    assert q(db, "SELECT row_number, link_basis FROM sightings WHERE search_id = ? ORDER BY row_number", first) == [
        (2, "new"), (5, "uuid")]
    assert q(db, "SELECT count(*) FROM search_owners WHERE search_id = ?", first) == [(1,)]


def test_uuid_repeated_in_a_later_batch_of_a_second_release_links_by_uuid(db, tmp_path):
    import_file(db, audit(tmp_path / "x-Ukiah_CA_PD-Network-Audit.csv", [row(TWO, second=9)]))
    f = audit(tmp_path / "x-El_Cajon_CA_PD-Network-Audit.csv",
              [row(ONE, second=1), row(TWO, second=9), row("", second=3), row(ONE, second=1)])
    [acc] = import_file(db, f)
    assert acc.new_searches == 2
    bases = q(db, "SELECT link_basis FROM sightings si JOIN releases r ON r.id = si.release_id "
                  "WHERE r.file_name LIKE '%El_Cajon%' ORDER BY row_number")
    assert bases == [("new",), ("uuid",), ("new",), ("uuid",)]
    assert q(db, "SELECT count(*) FROM search_owners so JOIN searches s ON s.id = so.search_id WHERE s.uuid = ?",
             TWO) == [(2,)]


def test_rows_without_uuid_link_by_fallback_key_across_batches(db, tmp_path):
    import_file(db, audit(tmp_path / "x-Ukiah_CA_PD-Network-Audit.csv",
                          [row("", second=1), row("", second=2), row("", second=3)]))
    [acc] = import_file(db, audit(tmp_path / "x-El_Cajon_CA_PD-Network-Audit.csv",
                                  [row("", second=4), row("", second=2), row("***", second=3)]))
    assert acc.new_searches == 1
    assert q(db, "SELECT row_number, link_basis FROM sightings WHERE release_id = ? ORDER BY row_number",
             acc.release_id) == [(2, "new"), (3, "fallback_key"), (4, "fallback_key")]


def test_same_key_twice_in_one_release_across_batches_is_two_searches(db, tmp_path):
    # Rows 2 and 4 share searcher, second, networks and frame but sit in different batches of one
    # release: the log lists them as two entries, so they are two searches.
    f = audit(tmp_path / "x-El_Cajon_CA_PD-Network-Audit.csv",
              [row("", second=1), row("", second=2), row("***", second=1)])
    [acc] = import_file(db, f)
    assert acc.new_searches == 3
    assert q(db, "SELECT row_number, link_basis FROM sightings ORDER BY row_number") == [
        (2, "new"), (3, "new"), (4, "new")]


def test_two_rows_of_a_release_link_to_two_earlier_searches_not_one(db, tmp_path):
    import_file(db, audit(tmp_path / "x-Ukiah_CA_PD-Network-Audit.csv", [row(""), row("***")]))
    [acc] = import_file(db, audit(tmp_path / "x-El_Cajon_CA_PD-Network-Audit.csv", [row("REDACTED"), row("")]))
    assert acc.new_searches == 0
    linked = q(db, "SELECT search_id FROM sightings WHERE release_id = ? ORDER BY row_number", acc.release_id)
    assert linked == [(1,), (2,)]


def test_redacted_row_never_links_to_a_search_its_release_saw_by_uuid(db, tmp_path):
    import_file(db, audit(tmp_path / "x-Ukiah_CA_PD-Network-Audit.csv", [row(ONE)]))
    [acc] = import_file(db, audit(tmp_path / "x-El_Cajon_CA_PD-Network-Audit.csv", [row(ONE), row("***")]))
    assert acc.new_searches == 1
    assert q(db, "SELECT row_number, link_basis FROM sightings WHERE release_id = ? ORDER BY row_number",
             acc.release_id) == [(2, "uuid"), (3, "new")]


def test_row_with_uuid_does_not_adopt_a_redacted_row_of_its_own_release(db, tmp_path):
    [acc] = import_file(db, audit(tmp_path / "x-El_Cajon_CA_PD-Network-Audit.csv", [row("***"), row(ONE)]))
    assert acc.new_searches == 2
    assert q(db, "SELECT uuid, redacted FROM searches ORDER BY id") == [(None, "uuid"), (ONE, None)]


def test_row_with_uuid_adopts_the_search_first_seen_with_its_uuid_redacted(db, tmp_path):
    import_file(db, audit(tmp_path / "x-Ukiah_CA_PD-Network-Audit.csv", [row("(b)(6)", second=7)]))
    f = audit(tmp_path / "x-El_Cajon_CA_PD-Network-Audit.csv", [row(TWO, second=1), row(ONE, second=7)])
    [acc] = import_file(db, f)
    assert acc.new_searches == 1
    assert q(db, "SELECT id, uuid, redacted FROM searches ORDER BY id") == [(1, ONE, "uuid"), (2, TWO, None)]
    assert q(db, "SELECT link_basis FROM sightings WHERE search_id = 1 ORDER BY release_id") == [
        ("new",), ("fallback_key",)]


def indexes(db) -> set[str]:
    return {name for (name,) in q(db, "SELECT name FROM sqlite_master WHERE type = 'index'")}


def test_the_next_import_builds_the_indexes_it_links_with(db, tmp_path):
    # A load into an empty store has nothing to link to and builds neither linking index; the next
    # import into the filled store builds both before it links, and UUIDs stay unique.
    import_file(db, audit(tmp_path / "x-El_Cajon_CA_PD-Network-Audit.csv", [row(ONE), row(TWO, second=3)]))
    assert not {"idx_searches_uuid", "idx_searches_dedup_key"} & indexes(db)
    import_file(db, audit(tmp_path / "x-Ukiah_CA_PD-Network-Audit.csv", [row(ONE)]))
    assert {"idx_searches_uuid", "idx_searches_dedup_key", "idx_sighting_rows_release_id_row_number"} <= indexes(db)
    with pytest.raises(Exception, match="UNIQUE"):
        db.execute("INSERT INTO searches (uuid, time) VALUES (?, '2025-12-08T17:28:52Z')", [ONE])


def test_fresh_load_leaves_the_scan_only_indexes_to_audit_run(db, tmp_path):
    import_file(db, audit(tmp_path / "x-El_Cajon_CA_PD-Network-Audit.csv", [row(ONE), row(TWO, second=3)]))
    assert not set(searches.SCAN_ONLY_INDEXES) & indexes(db)
    create_indexes(db)  # what `audit run` does first
    assert set(searches.SCAN_ONLY_INDEXES) <= indexes(db)


def test_bulk_load_into_an_audited_store_restores_its_scan_indexes(db, tmp_path):
    import_file(db, audit(tmp_path / "x-El_Cajon_CA_PD-Network-Audit.csv", [row(ONE)]))
    create_indexes(db)
    # A release far larger than the store: the loader drops the scan indexes while it writes.
    [acc] = import_file(db, audit(tmp_path / "x-Ukiah_CA_PD-Network-Audit.csv",
                                  [row(ONE)] + [row(f"cccccccc-0000-4000-8000-{i:012d}", second=i) for i in range(40)]))
    assert acc.new_searches == 40
    assert set(searches.SCAN_ONLY_INDEXES) <= indexes(db)


def collide(monkeypatch) -> None:
    """Every fallback key hashes to 7, row by row and column by column."""
    monkeypatch.setattr(searches, "fallback_hash", lambda *fields: 7)
    monkeypatch.setattr(columnar, "fallback_hashes", lambda *cols: np.full(len(cols[0]), 7, dtype=np.int64))


def test_equal_key_hashes_alone_never_link_two_searches(db, tmp_path, monkeypatch):
    collide(monkeypatch)
    import_file(db, audit(tmp_path / "x-El_Cajon_CA_PD-Network-Audit.csv",
                          [row("", org="Raleigh NC PD", second=1), row("", org="Dallas TX PD", second=2)]))
    [acc] = import_file(db, audit(tmp_path / "x-Ukiah_CA_PD-Network-Audit.csv",
                                  [row("", org="Dallas TX PD", second=2), row("", org="Lowndes County GA SO", second=3)]))
    assert acc.new_searches == 1
    assert q(db, "SELECT count(*), count(DISTINCT dedup_key) FROM searches") == [(3, 1)]
    dallas = "SELECT s.id FROM searches s JOIN agencies a ON a.id = s.searcher_id WHERE a.name = 'Dallas TX PD'"
    assert q(db, f"SELECT count(*) FROM sightings WHERE search_id = ({dallas})") == [(2,)]


def test_colliding_keys_within_one_batch_stay_two_searches(db, tmp_path, monkeypatch):
    collide(monkeypatch)
    import_file(db, audit(tmp_path / "x-El_Cajon_CA_PD-Network-Audit.csv", [row("", org="Raleigh NC PD")]))
    [acc] = import_file(db, audit(tmp_path / "x-Ukiah_CA_PD-Network-Audit.csv",
                                  [row("", org="Dallas TX PD"), row("", org="Raleigh NC PD")]))
    assert (acc.new_searches, q(db, "SELECT count(*) FROM searches")) == (1, [(2,)])
    assert q(db, "SELECT link_basis FROM sightings WHERE release_id = ? ORDER BY row_number", acc.release_id) == [
        ("new",), ("fallback_key",)]


def test_stored_fallback_key_is_the_hash_of_searcher_second_networks_and_frame(db, tmp_path):
    import_file(db, audit(tmp_path / "x-El_Cajon_CA_PD-Network-Audit.csv", [row("(b)(6)", second=7)]))
    searcher, key = q(db, "SELECT searcher_id, dedup_key FROM searches")[0]
    assert key == keys.fallback_hash(searcher, "2025-12-08T17:28:07Z", 5738, "2025-12-01T17:28:52Z",
                                     "2025-12-08T17:28:07Z", 1)
    # The reason is not part of the key when networks or a time frame are there.
    assert key == keys.fallback_hash(searcher, "2025-12-08T17:28:07Z", 5738, "2025-12-01T17:28:52Z",
                                     "2025-12-08T17:28:07Z", 99)
    assert key != keys.fallback_hash(searcher, "2025-12-08T17:28:08Z", 5738, "2025-12-01T17:28:52Z",
                                     "2025-12-08T17:28:07Z", 1)
    assert isinstance(key, int) and -2**63 <= key < 2**63


def test_row_and_column_fallback_hashes_agree():
    fields = [(3, "2025-12-08T17:28:07Z", 5738, "2025-12-01T17:28:52Z", "2025-12-08T17:28:07Z", 1),
              (None, "1999-01-01T00:00:00Z", None, None, None, 12),
              (7, "2031-06-30T23:59:59Z", None, None, None, None),
              (2**40, "2025-01-01T00:00:00Z", 0, "2024-12-01T00:00:00Z", "2025-01-01T00:00:00Z", None)]
    cols = [np.array([keys.NO_COUNT if f[0] is None else f[0] for f in fields]),
            np.array([keys.epoch(f[1]) for f in fields]),
            np.array([keys.NO_COUNT if f[2] is None else f[2] for f in fields]),
            np.array([keys.epoch(f[3]) for f in fields]), np.array([keys.epoch(f[4]) for f in fields]),
            np.array([keys.NO_COUNT if f[5] is None else f[5] for f in fields])]
    assert keys.fallback_hashes(*cols).tolist() == [keys.fallback_hash(*f) for f in fields]


def test_load_settings_are_restored_afterwards(db, tmp_path):
    cache, temp = q(db, "PRAGMA cache_size")[0][0], q(db, "PRAGMA temp_store")[0][0]
    import_file(db, audit(tmp_path / "x-El_Cajon_CA_PD-Network-Audit.csv", [row(ONE)]))
    assert (q(db, "PRAGMA cache_size")[0][0], q(db, "PRAGMA temp_store")[0][0]) == (cache, temp)
    assert gc.isenabled()


def test_rejected_row_adds_no_reason_or_agency(db, tmp_path):
    bad = row(ONE, org="Nowhere TX PD", reason="only in a bad row")
    bad[3] = "lots"
    import_file(db, audit(tmp_path / "x-El_Cajon_CA_PD-Network-Audit.csv", [bad, row(TWO)]))
    assert q(db, "SELECT text FROM reasons") == [("ICE",)]
    assert q(db, "SELECT count(*) FROM agencies WHERE name = 'Nowhere TX PD'") == [(0,)]


def test_plate_and_user_cells_are_trimmed_and_redaction_markers_recorded(db, tmp_path):
    r = row(ONE)
    r[1], r[5] = "  Det. Jane Roe ", " (b)(6) "
    import_file(db, audit(tmp_path / "x-El_Cajon_CA_PD-Network-Audit.csv", [r]))
    assert q(db, "SELECT user, plate, redacted FROM searches") == [("Det. Jane Roe", None, "plate")]


def test_store_with_a_text_key_column_still_links_by_fallback_key(tmp_path):
    db = open_store(tmp_path / "old.db", create=True)
    db["searches"].transform(types={"dedup_key": str})  # how stores made before the hashed key declare it
    import_file(db, audit(tmp_path / "x-El_Cajon_CA_PD-Network-Audit.csv", [row("***")]))
    [acc] = import_file(db, audit(tmp_path / "x-Ukiah_CA_PD-Network-Audit.csv", [row("")]))
    assert (acc.new_searches, q(db, "SELECT count(*) FROM searches")) == (0, [(1,)])
