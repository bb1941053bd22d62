"""Releases cut short: a row count at an export limit, a cut last record, rows stopping inside the
period the file name states. Flagged on import (notes, `release_checks`) and a finding at `audit run`."""
from __future__ import annotations

import csv
from datetime import datetime, timedelta, timezone

import pytest

from auditor.importers import import_file
from auditor.importers.completeness import check_release, limit_reached, period_from_name
from auditor.rules import load_rules
from auditor.scan import run_audit
from auditor.schema import open_store
from conftest import FLOCK_HEADER, write_flock_csv
from pdfprint import print_table, write_pdf

RULE = [r for r in load_rules() if r.id == "release.incomplete"]


def flock_rows(n: int, start: datetime = datetime(2025, 11, 1, tzinfo=timezone.utc), step: float = 600) -> list:
    """n Network Audit rows, one every ``step`` seconds from ``start``."""
    rows = []
    for i in range(n):
        t = start + timedelta(seconds=i * step)
        stamp = t.strftime("%m/%d/%Y, %I:%M:%S %p UTC")
        rows.append([f"{i:08x}-0000-4000-8000-000000000000", "", "Dallas TX PD", "5", f"{stamp}\n{stamp}", "",
                     "stolen vehicle", "", "", stamp, "search", "", ""])
    return rows


def checks(db) -> list[tuple[str, str]]:
    return db.execute("SELECT kind, detail FROM release_checks ORDER BY id").fetchall()


def findings(db) -> list[tuple[str, str]]:
    run_audit(db, rules=RULE)
    return db.execute("SELECT subject, detail FROM findings WHERE rule_id = 'release.incomplete'").fetchall()


@pytest.fixture
def db(tmp_path):
    return open_store(tmp_path / "store.db", create=True)


def fake_release(db, rows_read: int, name: str = "Example_CA_PD-Network-Audit.csv") -> int:
    """A release row as an import leaves it (its rows are not needed for the row-limit check)."""
    return db["releases"].insert({"file_name": name, "sha256": name, "format": "flock_audit", "audit_kind": "network",
                                  "rows_read": rows_read, "rows_imported": rows_read, "rows_rejected": 0,
                                  "status": "complete"}).last_pk


@pytest.mark.parametrize("rows_read,last_row,limit", [
    (1_048_575, 1_048_576, "1,048,576"),  # a full .xlsx sheet: header + 1,048,575 rows
    (1_048_576, 1_048_577, "1,048,576"),  # an export capped at 1,048,576 data rows
    (65_535, 65_536, "65,536"),           # a full .xls sheet
    (65_536, 65_537, "65,536"),
    (16_383, 16_384, "16,384"),           # an Excel 5/95 sheet
    (1_000_000, 1_000_001, "1,000,000"),  # a round query cap
    (999_999, 1_000_000, "1,000,000"),
    (100_000, 100_001, "100,000"),
])
def test_a_row_count_at_an_export_limit_is_flagged_with_what_is_missing(db, rows_read, last_row, limit):
    release = fake_release(db, rows_read)
    notes = check_release(db, release, "Example_CA_PD-Network-Audit", last_row=last_row)
    [(kind, detail)] = checks(db)
    assert kind == "row_limit" and limit in detail and "likely cut off" in detail
    assert notes and "possibly incomplete" in notes[0]
    [(subject, finding)] = findings(db)
    assert subject == "release Example_CA_PD-Network-Audit.csv (row limit)" and finding == detail


@pytest.mark.parametrize("rows_read", [7_273, 65_534, 1_048_574, 1_000_002, 99_999 + 2])
def test_a_row_count_off_every_limit_is_not_flagged(db, rows_read):
    assert limit_reached(rows_read, rows_read + 1) is None
    check_release(db, fake_release(db, rows_read), "Example_CA_PD-Network-Audit", last_row=rows_read + 1)
    assert checks(db) == [] and findings(db) == []


def test_a_csv_export_cut_at_the_xls_sheet_limit_is_flagged_on_import(db, tmp_path):
    path = write_flock_csv(tmp_path / "Example_CA_PD-Network-Audit.csv", flock_rows(65_535, step=30))
    [a] = import_file(db, path)
    assert a.rows_read == 65_535
    assert any("possibly incomplete (row_limit)" in n and "65,536" in n for n in a.notes)
    assert [k for k, _ in checks(db)] == ["row_limit"]
    assert len(findings(db)) == 1


def test_a_whole_export_is_not_flagged(db, tmp_path):
    path = write_flock_csv(tmp_path / "11_1_2025-11_7_2025-Example_CA_PD-Network-Audit.csv",
                           flock_rows(1_000, step=600))  # 10-minute steps: Nov 1 to Nov 7, 22:30
    [a] = import_file(db, path)
    assert not any("possibly incomplete" in n for n in a.notes)
    assert checks(db) == [] and findings(db) == []


def test_a_csv_whose_last_record_is_cut_is_flagged(db, tmp_path):
    path = write_flock_csv(tmp_path / "Example_CA_PD-Network-Audit.csv", flock_rows(20))
    data = path.read_bytes()
    path.write_bytes(data[: data.rstrip(b"\r\n").rfind(b"\r\n") + 40])  # the last record stops in its Time Frame
    [a] = import_file(db, path)
    assert a.rows_read == a.rows_imported + a.rows_rejected == 20
    [(kind, detail)] = checks(db)
    assert kind == "cut_record" and "row 21" in detail and "the rest of that record" in detail
    assert len(findings(db)) == 1


def test_a_complete_last_record_without_a_final_line_break_is_not_flagged(db, tmp_path):
    path = write_flock_csv(tmp_path / "Example_CA_PD-Network-Audit.csv", flock_rows(20))
    path.write_bytes(path.read_bytes().rstrip(b"\r\n"))
    import_file(db, path)
    assert checks(db) == []


def test_a_pdf_whose_last_row_lost_its_id_line_is_flagged(db, tmp_path):
    header = ["ID", "Org Name", "Time Frame", "Reason", "Search Time"]
    rows = [[f"{i:08x}-42eb-4f5c-9281-f5e8bf4864be", "Test FL SO",
             ["11/13/2025, 10:00:17 PM UTC", "11/14/2025, 10:00:17 AM UTC"], "bolo",
             f"11/14/2025, 09:{i:02d}:36 AM UTC"] for i in range(5)]
    pages = print_table(header, rows, [20, 150, 230, 350, 430])
    last_line = max(down for _, down, _ in pages[-1].items)
    pages[-1].items = [it for it in pages[-1].items if it[1] != last_line]  # the print stops inside row 5
    [a] = import_file(db, write_pdf(tmp_path / "Test_FL_SO-Audit.pdf", pages))
    assert a.rows_read == 5 and a.rows_rejected == 1
    assert [k for k, _ in checks(db)] == ["cut_record"]


def test_rows_that_stop_well_before_the_period_in_the_file_name_are_flagged(db, tmp_path):
    # The name says Nov 1-30; rows every 2 hours stop on Nov 20.
    path = write_flock_csv(tmp_path / "11_1_2025-11_30_2025-Example_CA_PD-Network-Audit.csv",
                           flock_rows(20 * 12, step=7200))
    import_file(db, path)
    [(kind, detail)] = checks(db)
    assert kind == "period_tail"
    assert "2025-11-01 to 2025-11-30" in detail and "10.1 days before the period ends" in detail
    assert "about 122 rows likely missing" in detail


def test_rows_that_start_well_after_the_period_begins_are_flagged(db, tmp_path):
    path = write_flock_csv(tmp_path / "11_1_2025-11_30_2025-Example_CA_PD-Network-Audit.csv",
                           flock_rows(10 * 12, start=datetime(2025, 11, 20, 12, tzinfo=timezone.utc), step=7200))
    import_file(db, path)
    assert [k for k, _ in checks(db)] == ["period_head"]


def test_the_period_comes_from_flock_file_names_only():
    assert period_from_name("11_1_2025-12_8_2025-Okaloosa_County_FL_SO-Audit") == (
        datetime(2025, 11, 1).date(), datetime(2025, 12, 8).date())
    assert period_from_name("search_audit.a871b2fc") is None
    assert period_from_name("13_1_2025-12_8_2025-X-Audit") is None  # month 13: not a date


def test_the_okaloosa_release_is_whole(tmp_path):
    from conftest import realdata

    db = open_store(tmp_path / "s.db", create=True)
    import_file(db, realdata("okaloosa_fl_org_audit/11_1_2025-12_8_2025-Okaloosa_County_FL_SO-Audit_EXTRACTED.csv"))
    assert checks(db) == []


def test_a_release_too_small_for_a_rate_gives_no_estimate_of_what_is_missing(db, tmp_path):
    path = write_flock_csv(tmp_path / "3_1_2025-3_31_2025-Example_CA_PD-Network-Audit.csv",
                           flock_rows(5, start=datetime(2025, 3, 1, 13, tzinfo=timezone.utc), step=60))
    import_file(db, path)
    [(kind, detail)] = checks(db)
    assert kind == "period_tail" and detail.endswith("rows are likely missing (too few rows to estimate how many)")
