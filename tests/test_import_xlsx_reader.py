"""The xlsx reader (calamine) gives the cell text the importers always parsed: Excel serials, numbers
as Excel writes them, dates, and the rows a spreadsheet shows, formatted blank rows included."""
from __future__ import annotations

from datetime import datetime

import pytest

from auditor.importers import ImportOptions, import_file
from auditor.importers.source import workbook_sheets
from auditor.schema import open_store

openpyxl = pytest.importorskip("openpyxl")  # writes the fixtures


def test_cells_read_as_excel_writes_them(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Audit"
    sheet.append(["Reason", "DateTime", "Networks", "Share"])
    sheet.append([25013924, 44544.36790509259, 5738, 0.5])
    sheet.append(["24-12708", datetime(2021, 12, 14, 8, 49, 47), 1.0e20, -3])
    book.save(tmp_path / "w.xlsx")
    [s] = list(workbook_sheets(tmp_path / "w.xlsx"))
    assert s.header == ["Reason", "DateTime", "Networks", "Share"] and s.header_row == 1
    assert list(s.rows) == [["25013924", "44544.36790509259", "5738", "0.5"],
                            ["24-12708", "2021-12-14 08:49:47", "1e+20", "-3"]]


def test_an_excel_serial_time_imports_as_before(tmp_path):
    book = openpyxl.Workbook()
    book.active.title = "Audit"
    book.active.append(["Reason", "DateTime"])
    book.active.append(["24-12708", 44544.36790509259])
    book.save(tmp_path / "irvine.xlsx")
    db = open_store(tmp_path / "s.db", create=True)
    [a] = import_file(db, tmp_path / "irvine.xlsx", ImportOptions(producer="Irvine CA PD"))
    assert a.rows_imported == 1
    assert db.execute("SELECT time FROM searches").fetchone() == ("2021-12-14T08:49:47Z",)


def test_formatted_blank_rows_after_the_data_are_read_as_padding(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Audit"
    sheet.append(["Reason", "DateTime"])
    sheet.append(["stolen vehicle", 44544.5])
    for row in range(3, 8):  # five rows that only carry a format, as records-act spreadsheets do
        sheet.cell(row=row, column=1).number_format = "0.00"
    book.save(tmp_path / "padded.xlsx")
    db = open_store(tmp_path / "s.db", create=True)
    [a] = import_file(db, tmp_path / "padded.xlsx", ImportOptions(producer="Irvine CA PD"))
    assert (a.rows_read, a.rows_imported, a.rows_rejected, a.rows_padding) == (6, 1, 0, 5)
