"""Readable views and summary tables: what a reporter sees in Datasette (or any SQLite tool)."""
from __future__ import annotations

import json
import re

import pytest

from auditor.scan import run_audit
from auditor.serve import datasette_metadata
from auditor.views import create_views, views

AGENCIES = [
    {"name": "El Cajon CA PD", "state": "CA"},
    {"name": "Dallas TX PD", "state": "TX"},
    {"name": "Escondido CA PD", "state": "CA"},
    {"name": "U.S. Immigration and Customs Enforcement (ICE)", "level": "federal", "kind": "ICE",
     "dhs_component": "ICE"},
]
SEARCHES = [
    {"searcher": "Dallas TX PD", "owners": ["El Cajon CA PD"], "reason": "ICE+ERO", "user": "jsmith",
     "time": "2025-03-04T10:00:00Z", "repeat": 3},
    {"searcher": "Dallas TX PD", "owners": ["El Cajon CA PD"], "reason": "stolen vehicle", "user": "jsmith",
     "time": "2025-04-04T10:00:00Z"},
    {"searcher": "Escondido CA PD", "owners": ["El Cajon CA PD"], "reason": "inv", "user": "pw", "repeat": 2},
    {"searcher": "U.S. Immigration and Customs Enforcement (ICE)", "owners": ["El Cajon CA PD"],
     "reason": "removal order", "time": "2025-04-10T17:30:00Z"},
]


@pytest.fixture
def audited(store_builder):
    db = store_builder(agencies=AGENCIES, shares=[{"owner": "El Cajon CA PD", "scope": "national"}],
                       searches=SEARCHES)
    # One search cited from a real-looking release, so the view has a file and row to show.
    release_id = db.execute(
        """INSERT INTO releases (file_name, sha256, format, audit_kind, rows_read, rows_imported, rows_rejected)
           VALUES ('ElCajon_NetworkAudit_2025.csv', 'ab12', 'flock_network_audit', 'network', 7, 7, 0)""").lastrowid
    for search_id, row in db.execute("SELECT id, id + 1 FROM searches").fetchall():
        db.execute("INSERT INTO sightings (search_id, release_id, row_number, link_basis) VALUES (?, ?, ?, 'uuid')",
                   [search_id, release_id, row])
    run_audit(db)
    create_views(db)
    return db


def _rows(db, sql, params=()):
    cursor = db.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r)) for r in cursor.fetchall()]


def test_finding_list_reads_like_a_finding_with_its_law_and_source_row(audited):
    [row] = _rows(audited, "SELECT * FROM finding_list WHERE rule_id = 'ca.sb34.sharing' AND reason = 'stolen vehicle'")
    assert row["rule_title"] == "A California public agency shared its ALPR data with a searcher that is not a California public agency"
    assert row["severity"] == "high" and row["citation"].startswith("Cal. Civ. Code § 1798.90.55(b) (SB 34)")
    assert (row["search_time"], row["searcher"], row["searcher_state"]) == ("2025-04-04T10:00:00Z", "Dallas TX PD", "TX")
    assert row["owner"] == "El Cajon CA PD" and row["sharing_scope"] == "national"
    assert row["release_file"] == "ElCajon_NetworkAudit_2025.csv" and row["release_row"] == row["search_id"] + 1
    assert row["trace"] == "El Cajon CA PD →[national]→ Dallas TX PD"


def test_finding_list_names_the_beneficiary_of_a_side_door_search(audited):
    rows = _rows(audited, "SELECT * FROM finding_list WHERE rule_id = 'door.side'")
    assert len(rows) == 3 and {r["beneficiary"] for r in rows} == {"U.S. Immigration and Customs Enforcement (ICE)"}
    assert {r["beneficiary_basis"] for r in rows} == {"reason"} and {r["door"] for r in rows} == {"side"}


def test_aggregate_findings_carry_agency_subject_and_detail(audited):
    rows = _rows(audited, "SELECT * FROM finding_list WHERE rule_scope = 'aggregate'")
    assert rows and all(r["search_id"] is None and r["detail"] for r in rows)


def test_finding_list_has_one_row_per_finding(audited):
    assert audited.execute("SELECT COUNT(*) FROM finding_list").fetchone()[0] == \
        audited.execute("SELECT COUNT(*) FROM findings").fetchone()[0]


def test_search_list_names_agencies_and_flags_immigration_related_searches(audited):
    rows = {r["reason"]: r for r in _rows(audited, "SELECT * FROM search_list")}
    assert rows["ICE+ERO"]["searcher"] == "Dallas TX PD" and rows["ICE+ERO"]["owners"] == "El Cajon CA PD"
    assert rows["ICE+ERO"]["immigration_related"] == 1 and rows["stolen vehicle"]["immigration_related"] == 0
    assert rows["removal order"]["immigration_related"] == 1 and rows["removal order"]["searcher_level"] == "federal"
    assert rows["ICE+ERO"]["beneficiary"] == "U.S. Immigration and Customs Enforcement (ICE)"
    assert rows["ICE+ERO"]["findings"] >= 2 and rows["ICE+ERO"]["month"] == "2025-03"
    assert audited.execute("SELECT COUNT(*) FROM search_list").fetchone()[0] == 7


def test_summary_tables_count_searches_per_agency_state_and_month(audited):
    dallas = _rows(audited, "SELECT * FROM agency_summary WHERE agency = 'Dallas TX PD'")[0]
    assert (dallas["searches"], dallas["immigration_related"], dallas["for_another_agency"]) == (4, 3, 3)
    owner = _rows(audited, "SELECT * FROM agency_summary WHERE agency = 'El Cajon CA PD'")[0]
    assert owner["searches_of_its_data_by_others"] == 7 and owner["immigration_related_of_its_data"] == 4
    states = {r["state"]: r["searches"] for r in _rows(audited, "SELECT * FROM state_summary")}
    assert states == {"TX": 4, "CA": 2, "federal": 1}
    months = {r["month"]: r["out_of_state"] for r in _rows(audited, "SELECT * FROM month_summary")}
    assert months == {"2025-03": 3, "2025-04": 2}


def test_create_views_is_idempotent(audited):
    create_views(audited)
    create_views(audited)
    names = {r[0] for r in audited.execute("SELECT name FROM sqlite_master WHERE type = 'view'")}
    assert set(views()) <= names


def test_views_never_use_findings_id():
    for sql in views().values():
        assert not re.search(r"\bf\.id\b", sql)


def test_every_column_the_metadata_describes_exists(audited):
    meta = datasette_metadata("store")["databases"]["store"]
    for table, spec in meta["tables"].items():
        columns = {r[1] for r in audited.execute(f"PRAGMA table_info({table})")}
        assert columns, f"{table} does not exist"
        assert set(spec.get("columns", {})) <= columns, table
        assert set(spec.get("facets", [])) <= columns, table


def test_canned_queries_answer_the_common_questions(audited):
    queries = datasette_metadata("store")["databases"]["store"]["queries"]
    assert set(queries) == {"immigration_by_searcher", "searches_for_another_agency", "out_of_state_by_month"}
    by_searcher = _rows(audited, queries["immigration_by_searcher"]["sql"])
    assert [(r["searcher"], r["immigration_related"]) for r in by_searcher] == [
        ("Dallas TX PD", 3), ("U.S. Immigration and Customs Enforcement (ICE)", 1)]
    proxies = _rows(audited, queries["searches_for_another_agency"]["sql"])
    assert len(proxies) == 3 and {r["evidence"] for r in proxies}
    by_month = _rows(audited, queries["out_of_state_by_month"]["sql"])
    assert [(r["month"], r["out_of_state"], r["searches"]) for r in by_month] == [("2025-03", 3, 5), ("2025-04", 2, 2)]


def test_the_shipped_metadata_is_valid_json_keyed_to_the_database_name():
    meta = datasette_metadata("el_cajon")
    assert list(meta["databases"]) == ["el_cajon"]
    json.dumps(meta)
