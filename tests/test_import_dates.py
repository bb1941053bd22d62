"""Search times as real exports write them: every form, one format per column, rejects only when unreadable."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import write_flock_csv

from auditor.errors import InputError
from auditor.importers import ImportOptions, import_file
from auditor.importers.dates import ColumnTimes, Unreadable, decide_column, problem, read_time
from auditor.schema import open_store


@pytest.fixture
def db(tmp_path):
    return open_store(tmp_path / "store.db", create=True)


def q(db, sql, *args):
    return db.execute(sql, list(args)).fetchall()


def org_row(i: int, when: str, frame: str = "") -> list[str]:
    """An Organization Audit row (Flock's 13 columns) with the given Search Time."""
    return [f"dddddddd-0000-4000-8000-{i:012d}", "Ofc. Lee", "", "12", frame, "", "stolen vehicle", "", "",
            when, "search", "", ""]


# --- every form, one cell at a time ------------------------------------------------------------------

@pytest.mark.parametrize("text,expected", [
    ("01/09/2025, 02:05:31 PM UTC", "2025-01-09T14:05:31Z"),    # Flock's own
    ("1/9/2025, 2:05:31 PM UTC", "2025-01-09T14:05:31Z"),       # older monthly files: no zero padding
    ("1/9/2025 2:05 PM", "2025-01-09T14:05:00Z"),               # 12-hour, no seconds, no zone
    ("1/9/2025 14:05", "2025-01-09T14:05:00Z"),                 # 24-hour, no seconds
    ("01/09/2025 14:05:31", "2025-01-09T14:05:31Z"),            # 24-hour with seconds
    ("10/07/2021 - 16:30:51", "2021-10-07T16:30:51Z"),          # Seattle's ` - `
    ("12/31/2025, 12:00:00 AM UTC", "2025-12-31T00:00:00Z"),    # midnight
    ("1/9/2025, 2:05:31 pm utc", "2025-01-09T14:05:31Z"),       # lower case
    ("2025-06-18 00:02:04.789", "2025-06-18T00:02:04Z"),        # the portal's ISO, no zone
    ("2025-06-18 00:02", "2025-06-18T00:02:00Z"),               # ISO without seconds
    ("2026-03-10T05:17:06.087Z", "2026-03-10T05:17:06Z"),       # ISO with Z
    ("2025-06-18T00:02:04-07:00", "2025-06-18T07:02:04Z"),      # ISO with an offset
    ("2025-06-18T00:02:04+0530", "2025-06-17T18:32:04Z"),       # offset without a colon
    ("1/9/2025, 2:05:31 PM PST", "2025-01-09T22:05:31Z"),       # US zone: its one offset
    ("7/9/2025, 2:05:31 PM PDT", "2025-07-09T21:05:31Z"),
    ("1/9/2025 14:05:31 America/Chicago", "2025-01-09T20:05:31Z"),  # IANA name: its rules (CST in January)
    ("7/9/2025 14:05:31 America/Chicago", "2025-07-09T19:05:31Z"),  # ... and CDT in July
    ("1/9/2025 14:05:31 UTC+2", "2025-01-09T12:05:31Z"),
])
def test_each_date_form_is_read(text, expected):
    assert read_time(text) == expected


def test_excel_serials_only_where_the_column_has_them():
    assert read_time("44544.3679", ColumnTimes(serial=True)) == "2021-12-14T08:49:47Z"
    assert read_time("44544.3679") is None  # in a CSV a bare number is not a date


def test_day_first_order_reads_the_other_way():
    assert read_time("02/01/2025 10:00", ColumnTimes("dmy")) == "2025-01-02T10:00:00Z"
    assert read_time("02/01/2025 10:00", ColumnTimes("mdy")) == "2025-02-01T10:00:00Z"


@pytest.mark.parametrize("text,why", [
    ("02/31/2025, 01:00:00 PM UTC", "not a calendar date"),
    ("13/01/2025, 01:00:00 AM UTC", "not a calendar date"),        # month 13 in a month-first column
    ("01/05/2026, 13:28:52 PM UTC", "not a time of day"),          # 13 o'clock PM
    ("01/05/2026, 05:28:52 PM IST", "zone 'IST' is not one with a single known offset"),
    ("01/05/2026 05:28:52 Mars/Olympus", "zone 'Mars/Olympus' is not a known time zone"),
    ("0001-01-01T00:30:00+01:00", "out of the range of dates"),     # year 1, east of UTC: before day one
    ("yesterday", "not understood"),
    ("1" * 400, "not understood"),                                  # a 400-digit cell: no overflow
])
def test_unreadable_cells_say_why(text, why):
    assert problem(text, ColumnTimes(serial=True)).startswith(why)


def test_excel_serial_out_of_range_is_a_reason_not_an_overflow():
    assert problem("9" * 7 + ".5", ColumnTimes(serial=True)) == "an Excel serial day out of range"
    with pytest.raises(Unreadable):
        read_time("0", ColumnTimes(serial=True))


# --- a whole release ------------------------------------------------------------------------------------

def test_unpadded_flock_times_import_instead_of_being_rejected(db, tmp_path):
    # As the older monthly Organization Audits write them: 47% of one agency's release was rejected.
    rows = [org_row(1, "01/09/2025, 02:05:31 PM UTC"), org_row(2, "1/9/2025, 2:05:31 PM UTC"),
            org_row(3, "1/10/2025, 11:59:00 AM UTC", "1/3/2025, 11:59:00 AM UTC\n1/10/2025, 11:59:00 AM UTC")]
    f = write_flock_csv(tmp_path / "Springfield_IL_PD_Organization_Audit_1_1_2025-1_31_2025.csv", rows)
    [acc] = import_file(db, f)
    assert (acc.rows_read, acc.rows_imported, acc.rows_rejected) == (3, 3, 0)
    assert q(db, "SELECT time, time_frame_start FROM searches ORDER BY id") == [
        ("2025-01-09T14:05:31Z", None), ("2025-01-09T14:05:31Z", None),
        ("2025-01-10T11:59:00Z", "2025-01-03T11:59:00Z")]


def sheet_csv(path: Path, times: list[str]) -> Path:
    """A records-act `Reason, DateTime` sheet saved as CSV."""
    path.write_text("Reason,DateTime\n" + "".join(f"stolen vehicle,{t}\n" for t in times))
    return path


def test_day_first_column_is_proved_by_one_day_above_12(db, tmp_path):
    f = sheet_csv(tmp_path / "audit.csv", ["02/01/2025 10:00", "13/01/2025 09:30", "05/02/2025 14:00"])
    [acc] = import_file(db, f, ImportOptions(producer="Example CA PD"))
    assert acc.rows_imported == 3
    # One format for the column: 02/01 is 2 January, not guessed per row as February 1.
    assert q(db, "SELECT time FROM searches ORDER BY id") == [
        ("2025-01-02T10:00:00Z",), ("2025-01-13T09:30:00Z",), ("2025-02-05T14:00:00Z",)]
    assert any("day/month/year, proved by '13/01/2025 09:30'" in n for n in acc.notes)


def test_month_first_column_is_proved_the_same_way(db, tmp_path):
    f = sheet_csv(tmp_path / "audit.csv", ["02/01/2025 10:00", "01/13/2025 09:30"])
    [acc] = import_file(db, f, ImportOptions(producer="Example CA PD"))
    assert q(db, "SELECT time FROM searches ORDER BY id") == [("2025-02-01T10:00:00Z",), ("2025-01-13T09:30:00Z",)]


def test_an_ambiguous_column_is_refused_with_the_reason(db, tmp_path):
    f = sheet_csv(tmp_path / "audit.csv", ["02/01/2025 10:00", "03/01/2025 09:30"])
    with pytest.raises(InputError, match="day/month order is ambiguous.*--date-order"):
        import_file(db, f, ImportOptions(producer="Example CA PD"))
    assert q(db, "SELECT count(*) FROM releases") == [(0,)]


def test_the_user_can_name_the_order_of_an_ambiguous_column(db, tmp_path):
    f = sheet_csv(tmp_path / "audit.csv", ["02/01/2025 10:00", "03/01/2025 09:30"])
    [acc] = import_file(db, f, ImportOptions(producer="Example CA PD", date_order="dmy"))
    assert q(db, "SELECT time FROM searches ORDER BY id") == [("2025-01-02T10:00:00Z",), ("2025-01-03T09:30:00Z",)]


def test_a_column_mixing_both_orders_is_refused(db, tmp_path):
    f = sheet_csv(tmp_path / "audit.csv", ["13/01/2025 10:00", "01/13/2025 09:30"])
    with pytest.raises(InputError, match="mixes day-first and month-first"):
        import_file(db, f, ImportOptions(producer="Example CA PD"))


def test_the_decision_reads_the_whole_column_not_the_first_rows():
    cells = ["02/01/2025 10:00"] * 30_000 + ["25/12/2025 10:00"]
    assert decide_column(cells, "DateTime").order == "dmy"


def test_flock_exports_keep_the_vendors_month_first_order(db, tmp_path):
    # A hand-edited day-first cell in a Flock export is rejected, never read as another day.
    rows = [org_row(1, "1/9/2025, 2:05:31 PM UTC"), org_row(2, "13/01/2025, 2:05:31 PM UTC")]
    [acc] = import_file(db, write_flock_csv(tmp_path / "Springfield_IL_PD-Audit.csv", rows))
    assert (acc.rows_imported, acc.rows_rejected) == (1, 1)
    assert q(db, "SELECT why FROM rejects") == [("Search Time not a calendar date: '13/01/2025, 2:05:31 PM UTC'",)]


def test_excel_serial_search_times_in_an_xlsx_flock_export(db, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["ID", "Name", "Org Name", "Reason", "Search Time"])
    sheet.append(["dddddddd-0000-4000-8000-000000000001", "Ofc. Lee", "Springfield IL PD", "theft", 45666.5870486111])
    sheet.append(["dddddddd-0000-4000-8000-000000000002", "Ofc. Lee", "Springfield IL PD", "theft",
                  "1/9/2025, 2:05:31 PM UTC"])
    sheet.append(["dddddddd-0000-4000-8000-000000000003", "Ofc. Lee", "Springfield IL PD", "theft", "1" * 400])
    book.save(tmp_path / "Springfield_IL_PD-Audit.xlsx")
    [acc] = import_file(db, tmp_path / "Springfield_IL_PD-Audit.xlsx")
    assert (acc.rows_read, acc.rows_imported, acc.rows_rejected) == (3, 2, 1)
    assert q(db, "SELECT time FROM searches ORDER BY id") == [("2025-01-09T14:05:21Z",), ("2025-01-09T14:05:31Z",)]
    [(why,)] = q(db, "SELECT why FROM rejects")
    assert why.startswith("search time not understood: '1111")


def test_a_year_one_time_under_a_column_map_offset_pattern_is_a_reject(db, tmp_path):
    cmap = tmp_path / "map.toml"
    cmap.write_text('[columns]\ntime = "When"\nreason = "Why"\n[options]\ntime_format = "%Y-%m-%d %H:%M %z"\n'
                    'audit_kind = "organization"\nproducer = "Example CA PD"\n')
    f = tmp_path / "log.csv"
    f.write_text("When,Why\n2025-01-09 14:05 +0100,theft\n0001-01-01 00:30 +0100,theft\n")
    [acc] = import_file(db, f, ImportOptions(format="generic", column_map=cmap))
    assert (acc.rows_imported, acc.rows_rejected) == (1, 1)
    assert q(db, "SELECT time FROM searches") == [("2025-01-09T13:05:00Z",)]
    assert q(db, "SELECT why FROM rejects") == [("search time not understood: '0001-01-01 00:30 +0100'",)]


def test_a_column_map_that_says_flock_keeps_the_vendors_order(db, tmp_path):
    cmap = tmp_path / "map.toml"
    cmap.write_text('[columns]\ntime = "When"\nreason = "Why"\n[options]\ntime_format = "flock"\n'
                    'audit_kind = "organization"\nproducer = "Example CA PD"\n')
    f = tmp_path / "log.csv"
    f.write_text("When,Why\n\"1/9/2025, 2:05:31 PM UTC\",theft\n\"1/10/2025, 2:05:31 PM UTC\",theft\n")
    [acc] = import_file(db, f, ImportOptions(format="generic", column_map=cmap))
    assert q(db, "SELECT time FROM searches ORDER BY id") == [("2025-01-09T14:05:31Z",), ("2025-01-10T14:05:31Z",)]
