"""Importing the real released logs in ../shared/realdata (skipped when that folder is absent)."""
from __future__ import annotations

from pathlib import Path

import pytest

from auditor.errors import InputError
from auditor.importers import ImportOptions, import_file
from auditor.schema import open_store

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "realdata"
pytestmark = pytest.mark.realdata


def real(relative: str) -> Path:
    path = REAL / relative
    if not path.exists():
        pytest.skip(f"{path} not present")
    return path


@pytest.fixture
def db(tmp_path):
    return open_store(tmp_path / "store.db", create=True)


def counts(db, release_id):
    return db.execute("SELECT min(time), max(time), min(networks), max(networks), min(devices), max(devices) "
                      "FROM searches s JOIN sightings si ON si.search_id = s.id WHERE si.release_id = ?",
                      [release_id]).fetchone()


def test_eugene_portal(db):
    [a] = import_file(db, real("eugene_or_portal/EPDSearchAuditLogs.csv"), ImportOptions(producer="Eugene OR PD"))
    assert (a.rows_read, a.rows_imported, a.rows_rejected) == (4294, 4294, 0)
    lo, hi, _, _, dlo, dhi = counts(db, a.release_id)
    assert "2025-06-18" <= lo and hi < "2026-01-01" and 0 <= dlo <= dhi and dhi > 0
    n = db.execute("SELECT count(*) FROM searches s JOIN reasons r ON r.id = s.reason_id "
                   "WHERE r.text = 'Daytime search for best result'").fetchone()[0]
    assert n == 182


def test_okaloosa_extracted_org_audit(db):
    [a] = import_file(db, real("okaloosa_fl_org_audit/11_1_2025-12_8_2025-Okaloosa_County_FL_SO-Audit_EXTRACTED.csv"))
    assert (a.rows_read, a.rows_imported, a.rows_rejected) == (7273, 7273, 0)
    assert a.producer == "Okaloosa County FL SO" and a.audit_kind == "organization"
    lo, hi, nlo, nhi, dlo, dhi = counts(db, a.release_id)
    assert "2025-11-01" <= lo and hi < "2025-12-10" and nhi == 6709 and dhi == 100034
    assert db.execute("SELECT count(*) FROM search_owners").fetchone()[0] == 0


@pytest.mark.parametrize("name,rows", [("search_audit.a871b2fc.csv", 91), ("search_audit.f5f2e2bb.csv", 36)])
def test_san_mateo_portal(db, name, rows):
    [a] = import_file(db, real(f"san_mateo_ca/{name}"), ImportOptions(producer="San Mateo CA PD"))
    assert (a.rows_read, a.rows_imported, a.rows_rejected) == (rows, rows, 0)
    # userId is `***` in every row; the portal has no case number or plate columns: all withheld.
    assert db.execute(
        "SELECT count(*) FROM searches WHERE user IS NULL AND redacted = 'user,case_number,plate'").fetchone()[0] == rows
    lo, hi, nlo, _, _, _ = counts(db, a.release_id)
    assert lo.startswith("2026-") and nlo >= 1


def test_irvine_workbook(db):
    accounts = import_file(db, real("irvine_ca/alpr-audits-irvine-police-department-181267_doc5.xlsx"),
                           ImportOptions(producer="Irvine CA PD"))
    by_sheet = {a.file_name.split("[sheet ")[1].rstrip("]"): a for a in accounts}
    assert set(by_sheet) == {"A1", "A2", "Audit"}
    audit = by_sheet["Audit"]
    assert (audit.rows_read, audit.rows_imported, audit.rows_rejected) == (44659, 44659, 0)
    # Every row is its own search: rows of one release with the same second and reason are two log
    # entries, never merged by the fallback key (before that rule the sheet read as 42,905 searches).
    assert audit.new_searches == 44659
    lo, hi, *_ = counts(db, audit.release_id)
    assert lo == "2021-12-14T08:49:47Z" and hi < "2025-03-01"
    a1 = by_sheet["A1"]
    # 408 blank rows after the list: padding, counted apart from rejects (before: 408 rejects)
    assert (a1.rows_read, a1.rows_imported, a1.rows_rejected, a1.rows_padding) == (724, 316, 0, 408)
    assert db.execute("SELECT count(*) FROM rejects").fetchone() == (0,)


def test_flock_event_log_is_refused(db):
    with pytest.raises(InputError, match="no search rows"):
        import_file(db, real("flock_event_log/flock-safety-and-alpr-data-and-policies-200784_doc0.dat.xlsx"))
