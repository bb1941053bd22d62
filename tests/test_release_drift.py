"""One agency's monthly files as they drift: layouts, xlsx quirks, producer and period read from file
names, padding rows, and releases that lost rows saying so on import, at `audit run` and in the report."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import FLOCK_HEADER, write_flock_csv

from auditor.cli import audit
from auditor.importers import ImportOptions, import_file
from auditor.importers.completeness import CLUSTER_ROWS, REJECT_SHARE
from auditor.report import build_report
from auditor.rules import load_rules
from auditor.scan import run_audit
from auditor.schema import open_store

openpyxl = pytest.importorskip("openpyxl")
AGENCY = "Springfield IL PD"
JANUARY = f"{AGENCY.replace(' ', '_')}_Organization_Audit_1_1_2025-1_31_2025"
RELEASE_RULES = [r for r in load_rules() if r.id.startswith("release.")]


@pytest.fixture
def db(tmp_path):
    return open_store(tmp_path / "store.db", create=True)


def q(db, sql, *args):
    return db.execute(sql, list(args)).fetchall()


def when(day: int, i: int, month: int = 1) -> str:
    """An older monthly file's search time: no zero padding."""
    hour = 1 + i % 12
    return f"{month}/{day}/2025, {hour}:{i % 60:02d}:{(7 * i) % 60:02d} {'AM' if i % 2 else 'PM'} UTC"


def org_rows(n: int, month: int = 1, first: int = 0) -> list[list[str]]:
    """n Organization Audit rows spread over a month (classic 13 columns)."""
    rows = []
    days = 28 if month == 2 else 31
    for i in range(first, first + n):
        t = when(1 + i % days, i, month)
        rows.append([f"eeeeeeee-0000-4000-8000-{i:012d}", f"Ofc. {i % 7}", AGENCY, "96", "", "", "burglary",
                     f"25-{i:05d}", "", t, "search", "", ""])
    return rows


# --- producer and period from the file name ---------------------------------------------------------

def test_producer_is_read_without_leaking_organization_or_audit(db, tmp_path):
    [acc] = import_file(db, write_flock_csv(tmp_path / f"{JANUARY}.csv", org_rows(30)))
    assert acc.producer == AGENCY and acc.audit_kind == "organization"
    names = [n for (n,) in q(db, "SELECT name FROM agencies")]
    assert names == [AGENCY]  # never a second agency `Springfield IL PD Organization`


def test_period_at_the_end_of_a_renamed_file_is_checked_like_flocks_own(db, tmp_path):
    # Rows stop on January 10 in a file named for the whole of January.
    rows = [r for r in org_rows(310) if int(r[9].split("/")[1]) <= 10]
    import_file(db, write_flock_csv(tmp_path / f"{JANUARY}.csv", rows))
    assert [k for (k,) in q(db, "SELECT kind FROM release_checks")] == ["period_tail"]


def test_rows_of_another_month_make_a_period_mismatch_not_a_gap(db, tmp_path):
    [acc] = import_file(db, write_flock_csv(tmp_path / f"{JANUARY}.csv", org_rows(40, month=3)))
    [(kind, detail)] = q(db, "SELECT kind, detail FROM release_checks")
    assert kind == "period_mismatch"
    assert "states 2025-01-01 to 2025-01-31 but 40 of its 40 rows fall outside it" in detail
    assert "2025-03-01" in detail and "the period is read from the rows" in detail
    assert any(n.startswith("release check (period_mismatch)") for n in acc.notes)
    run_audit(db, rules=RELEASE_RULES)
    found = q(db, "SELECT rule_id, subject FROM findings")
    assert found == [("release.period_mismatch", f"release {JANUARY}.csv (period mismatch)")]


# --- layouts that drift --------------------------------------------------------------------------------

def test_an_older_month_without_org_name_and_id_is_read_with_the_columns_it_has(db, tmp_path):
    header = ["Name", "Total Networks Searched", "Time Frame", "License Plate", "Reason", "Case #", "Search Time"]
    rows = [[r[1], r[3], r[4], r[5], r[6], r[7], r[9]] for r in org_rows(12)]
    f = tmp_path / f"{JANUARY}.csv"
    with open(f, "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\r\n")
        w.writerow(header)
        w.writerows(rows)
    newer = write_flock_csv(tmp_path / f"{AGENCY.replace(' ', '_')}_Organization_Audit_2_1_2025-2_28_2025.csv",
                            org_rows(12, month=2, first=100))
    accounts = import_file(db, f) + import_file(db, newer)
    assert [(a.rows_read, a.rows_imported, a.rows_rejected) for a in accounts] == [(12, 12, 0), (12, 12, 0)]
    # The older month's searches are the producer's own (no Org Name column), with no UUID to link by.
    assert q(db, """SELECT count(*), count(DISTINCT s.searcher_id), min(a.name) FROM searches s
                    JOIN agencies a ON a.id = s.searcher_id WHERE s.uuid IS NULL""") == [(12, 1, AGENCY)]
    assert q(db, "SELECT count(*) FROM agencies") == [(1,)]


def test_a_workbook_with_blank_and_numeric_headers_and_an_empty_second_sheet(db, tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Sheet1"
    sheet.append(["", 1, "Name", "Total Networks Searched", "Reason", "Search Time"])
    for i, r in enumerate(org_rows(8), start=1):
        sheet.append([None, i, r[1], 96, r[6], r[9]])
    sheet.append([None, 9])                     # a row that holds only the counter
    book.create_sheet("Sheet2")                 # empty, as the agency's template left it
    book.save(tmp_path / f"{JANUARY}.xlsx")
    accounts = import_file(db, tmp_path / f"{JANUARY}.xlsx")
    assert len(accounts) == 1
    [acc] = accounts
    assert (acc.rows_read, acc.rows_imported, acc.rows_rejected, acc.rows_padding) == (9, 8, 0, 1)
    assert acc.producer == AGENCY
    assert any("columns not imported: (blank header in column 1), '1'" in n for n in acc.notes)
    # Absent columns are withheld as before; the blank and numeric columns are noted, not read.
    assert q(db, "SELECT DISTINCT redacted FROM searches") == [("case_number,plate",)]


# --- padding ------------------------------------------------------------------------------------------

def test_blank_and_counter_only_rows_are_padding_apart_from_rejects(db, tmp_path):
    rows = org_rows(6)
    rows.insert(3, ["4", "", "", "", "", "", "", "", "", "", "", "", ""])   # only a row counter
    rows += [[""] * 13, ["12.0"] + [""] * 12, ["", "", ""]]                    # blank, Excel counter, short blank
    rows.append(org_rows(1, first=50)[0][:9] + ["yesterday", "search", "", ""])  # a real reject
    [acc] = import_file(db, write_flock_csv(tmp_path / f"{JANUARY}.csv", rows))
    assert (acc.rows_read, acc.rows_imported, acc.rows_rejected, acc.rows_padding) == (11, 6, 1, 4)
    assert acc.balanced
    assert q(db, "SELECT row_number, why FROM rejects") == [(12, "search time not understood: 'yesterday'")]
    assert q(db, "SELECT rows_read, rows_imported, rows_rejected, rows_padding FROM releases") == [(11, 6, 1, 4)]
    assert any(n.startswith("4 padding records") and "rows 5, 9-11" in n for n in acc.notes)


# --- a release that lost rows says so everywhere -----------------------------------------------------

def lossy(tmp_path: Path, n: int, bad: int, why: str = "IST") -> Path:
    rows = org_rows(n)
    for r in rows[:bad]:
        r[9] = r[9].replace(" UTC", f" {why}")
    return write_flock_csv(tmp_path / f"{JANUARY}.csv", rows)


def test_a_release_above_the_reject_share_is_not_complete_on_import(db, tmp_path):
    [acc] = import_file(db, lossy(tmp_path, 40, 8))
    [(kind, detail)] = q(db, "SELECT kind, detail FROM release_checks")
    assert kind == "rejected_rows"
    assert detail.startswith("8 of 40 rows (20.0%) were rejected at import (more than 1% of its rows)")
    assert detail.endswith("Search Time zone 'IST' is not one with a single known offset "
                           "(give times in UTC or with an offset) 8")
    assert any(n.startswith("incomplete (rejected_rows): 8 of 40 rows") for n in acc.notes)


def test_rejects_clustered_in_one_reason_are_flagged_below_the_share(db, tmp_path):
    n = 1500
    assert CLUSTER_ROWS / n < REJECT_SHARE
    import_file(db, lossy(tmp_path, n, CLUSTER_ROWS))
    [(kind, detail)] = q(db, "SELECT kind, detail FROM release_checks")
    assert kind == "rejected_rows" and f"({CLUSTER_ROWS} or more rows for one reason)" in detail


def test_a_few_scattered_rejects_leave_a_release_complete(db, tmp_path):
    rows = org_rows(1500)
    rows[3][9] = "yesterday"
    rows[9][3] = "lots"
    import_file(db, write_flock_csv(tmp_path / f"{JANUARY}.csv", rows))
    assert q(db, "SELECT kind FROM release_checks") == []


def test_import_line_run_and_report_say_how_many_rows_of_which_release_are_missing(tmp_path):
    store = tmp_path / "store.db"
    f = lossy(tmp_path, 40, 8)
    runner = CliRunner()
    result = runner.invoke(audit, ["import", "--db", str(store), str(f)])
    assert result.exit_code == 0, result.output
    [line] = [x for x in result.output.splitlines() if "NOT COMPLETE" in x]
    assert line.strip().startswith("NOT COMPLETE: incomplete (rejected_rows): 8 of 40 rows (20.0%)")
    result = runner.invoke(audit, ["run", "--db", str(store)])
    assert result.exit_code == 0, result.output
    assert f"Release {f.name} is not complete (rejected rows): 8 of 40 rows (20.0%)" in result.output
    assert "release.incomplete" in result.output
    db = open_store(store)
    assert q(db, "SELECT count(*) FROM findings WHERE rule_id = 'release.incomplete'") == [(1,)]
    headline = build_report(db, store=str(store)).section("headline")["sentences"]
    said = [s["text"] for s in headline if s["text"].startswith(f"Release {f.name} is not complete")]
    assert said and "8 of 40 rows (20.0%)" in said[0] and "Search Time zone 'IST'" in said[0]
    assert headline.index(next(s for s in headline if s["text"] == said[0])) == 1  # right after the totals


def test_formatted_blank_rows_down_to_the_sheet_limit_are_no_cut(db, tmp_path):
    from auditor.importers.completeness import check_release
    [acc] = import_file(db, write_flock_csv(tmp_path / "Springfield_IL_PD-Organization-Audit.csv",
                                            org_rows(5) + [[""] * 13] * 3))
    assert acc.rows_padding == 3
    # As a sheet formatted down to its last row leaves it: 1,048,575 records, all but five padding.
    db.execute("UPDATE releases SET rows_read = 1048575, rows_padding = 1048570 WHERE id = ?", [acc.release_id])
    assert check_release(db, acc.release_id, "Springfield_IL_PD-Organization-Audit", last_row=1_048_576) == []
    db.execute("UPDATE releases SET rows_padding = 0 WHERE id = ?", [acc.release_id])
    [note] = check_release(db, acc.release_id, "Springfield_IL_PD-Organization-Audit", last_row=1_048_576)
    assert note.startswith("possibly incomplete (row_limit): the last row is row 1,048,576")


def test_an_inverted_period_in_the_file_name_is_noted(db, tmp_path):
    name = f"{AGENCY.replace(' ', '_')}_Organization_Audit_1_31_2025-1_1_2025.csv"
    [acc] = import_file(db, write_flock_csv(tmp_path / name, org_rows(10)))
    assert any("the file name's period '1_31_2025-1_1_2025' is not a range of real days" in n for n in acc.notes)
