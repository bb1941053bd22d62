"""Importing Flock exports printed to PDF, from the PDF's text layer (fixtures written by tests/pdfprint.py)."""
from __future__ import annotations

import csv
import time

import pytest
from click.testing import CliRunner

from auditor.cli import audit as main
from auditor.errors import InputError
from auditor.importers import ImportOptions, import_file
from auditor.importers.pdf import read_table
from auditor.schema import open_store
from conftest import realdata
from pdfprint import Page, print_table, write_pdf

ORG_HEADER = ["ID", "Org Name", "Total Networks Searched", "Total Devices Searched", "Time Frame", "Reason",
              "Search Time", "Search Type", "Moderation"]
ORG_STARTS = [20, 150, 230, 315, 395, 445, 530, 630, 680]
OWN_HEADER = ["ID", "userId", "networkCount", "Search Time", "Reason"]
OWN_STARTS = [20, 150, 200, 260, 360]


def uuid(n: int) -> str:
    return f"{n:08x}-42eb-4f5c-9281-f5e8bf4864be"


def org_row(n: int, reason: str | list[str] = "bolo", networks: str = "840") -> list:
    """An Organization Audit row as Okaloosa's print has it: the Time Frame wrapped over six lines."""
    day = 10 + n % 9
    return [uuid(n), "Okaloosa County FL SO", networks, "17652",
            [f"11/{day}/2025, ", "10:00:17 PM ", "UTC", f"11/{day + 1}/2025, ", "10:00:17 AM ", "UTC "],
            reason, f"11/{day + 1}/2025, 09:{n % 60:02d}:36 AM UTC", "lookup", ""]


def own_row(n: int, reason: str | list[str] = "investigation") -> list:
    return [uuid(n), "***", str(n % 700), f"12/06/2025, 04:{n % 60:02d}:53 AM UTC", reason]


@pytest.fixture
def db(tmp_path):
    return open_store(tmp_path / "store.db", create=True)


def org_pdf(tmp_path, rows, name="11_1_2025-12_8_2025-Test_County_FL_SO-Audit.pdf", **kw):
    return write_pdf(tmp_path / name, print_table(ORG_HEADER, rows, ORG_STARTS, right_aligned=(2, 3), **kw),
                     rotate=90)


def searches(db):
    return db.execute(
        "SELECT s.uuid, s.time, s.time_frame_start, s.time_frame_end, r.text, s.networks, s.devices, s.search_type "
        "FROM searches s LEFT JOIN reasons r ON r.id = s.reason_id ORDER BY s.id").fetchall()


def test_rotated_org_audit_print_imports_every_row_with_its_wrapped_time_frame(db, tmp_path):
    path = org_pdf(tmp_path, [org_row(i) for i in range(12)])
    [a] = import_file(db, path)
    assert (a.rows_read, a.rows_imported, a.rows_rejected) == (12, 12, 0)
    assert a.producer == "Test County FL SO" and a.audit_kind == "organization"
    first = searches(db)[0]
    assert first == (uuid(0), "2025-11-11T09:00:36Z", "2025-11-10T22:00:17Z", "2025-11-11T10:00:17Z", "bolo",
                     840, 17652, "lookup")


def test_a_reason_wrapped_over_lines_is_joined_with_the_space_it_wrapped_at(db, tmp_path):
    path = org_pdf(tmp_path, [org_row(1, ["Walmart orc  black ", "malibu stolen"])])
    import_file(db, path)
    assert searches(db)[0][4] == "Walmart orc  black malibu stolen"


def test_rows_split_across_pages_and_repeated_headers_are_one_row_each(db, tmp_path):
    rows = [org_row(i) for i in range(9)]
    path = org_pdf(tmp_path, rows, rows_per_page=4, repeat_header=True, split_row=6, footer=True)
    table = read_table(path)
    records = list(table)
    assert len(records) == 9 and [r[0] for r in records] == [uuid(i) for i in range(9)]
    assert records[6][4].split("\n")[0].startswith("11/16/2025")
    assert any("header row repeated" in n for n in table.notes)
    assert any("page-number lines skipped" in n for n in table.notes)


def test_a_top_aligned_print_puts_wrapped_lines_with_the_row_above(db, tmp_path):
    rows = [org_row(i, ["stolen", "vehicle"] if i == 1 else "bolo") for i in range(4)]
    path = org_pdf(tmp_path, rows, top_aligned=True)
    [a] = import_file(db, path)
    assert (a.rows_read, a.rows_imported, a.rows_rejected) == (4, 4, 0)
    assert [r[4] for r in searches(db)] == ["bolo", "stolen vehicle", "bolo", "bolo"]
    assert searches(db)[1][2:4] == ("2025-11-11T22:00:17Z", "2025-11-12T10:00:17Z")


def test_each_row_cites_the_page_and_line_a_person_finds_it_on(db, tmp_path):
    path = org_pdf(tmp_path, [org_row(i) for i in range(10)], rows_per_page=4, repeat_header=True)
    [a] = import_file(db, path)
    places = db.execute("SELECT row_number, page, line FROM release_rows WHERE release_id = ? ORDER BY row_number",
                        [a.release_id]).fetchall()
    # Row 2 is the first record; each row starts 6 lines after the previous (the wrapped Time Frame).
    assert places[:5] == [(2, 1, 2), (3, 1, 8), (4, 1, 14), (5, 1, 20), (6, 2, 2)]
    result = CliRunner().invoke(main, ["explain", "--db", str(tmp_path / "store.db"), "5"])
    assert "row 6 (page 2, line 2)" in result.output


def test_own_search_log_print_with_redacted_users_and_network_counts(db, tmp_path):
    pages = print_table(OWN_HEADER, [own_row(i) for i in range(30)], OWN_STARTS, right_aligned=(2,),
                        lines_per_page=20)
    path = write_pdf(tmp_path / "12_1_2025-12_31_2025-Test_CA_PD_Audit.pdf", pages)
    [a] = import_file(db, path)
    assert (a.rows_read, a.rows_imported, a.rows_rejected) == (30, 30, 0)
    assert a.producer == "Test CA PD"
    row = db.execute("SELECT user, networks, redacted FROM searches WHERE uuid = ?", [uuid(29)]).fetchone()
    assert row == (None, 29, "user,case_number,plate")


def test_a_title_above_the_table_is_not_taken_for_the_header(db, tmp_path):
    pages = print_table(OWN_HEADER, [own_row(i) for i in range(3)], OWN_STARTS)
    pages[0].items.insert(0, (20, 30, "San Mateo Police Department - Flock search audit, December 2025"))
    [a] = import_file(db, write_pdf(tmp_path / "Test_CA_PD-Audit.pdf", pages))
    assert (a.rows_read, a.rows_imported, a.rows_rejected) == (3, 3, 0)


def test_a_row_the_loader_cannot_read_is_rejected_and_the_account_balances(db, tmp_path):
    rows = [own_row(1), own_row(2)[:3] + ["12/06/2025, 25:99:00 AM UTC", "bad time"], own_row(3)]
    path = write_pdf(tmp_path / "Test_CA_PD-Audit.pdf", print_table(OWN_HEADER, rows, OWN_STARTS))
    [a] = import_file(db, path)
    assert (a.rows_read, a.rows_imported, a.rows_rejected) == (3, 2, 1)
    assert db.execute("SELECT row_number FROM rejects").fetchone() == (3,)


def test_a_pdf_without_a_text_layer_says_ocr_is_needed(db, tmp_path):
    path = write_pdf(tmp_path / "scan.pdf", [Page()])
    with pytest.raises(InputError, match="no text layer.*OCR is needed"):
        import_file(db, path)


def test_cli_refuses_a_scanned_pdf_with_one_line_and_exit_2(tmp_path):
    path = write_pdf(tmp_path / "scan.pdf", [Page(), Page()])
    result = CliRunner().invoke(main, ["import", "--db", str(tmp_path / "s.db"), str(path)])
    assert result.exit_code == 2
    assert result.output.strip().startswith("Error: scan.pdf: the PDF has no text layer")
    assert len(result.output.strip().splitlines()) == 1


def test_a_scanned_page_inside_a_text_pdf_is_flagged_not_silently_skipped(db, tmp_path):
    pages = print_table(OWN_HEADER, [own_row(i) for i in range(30)], OWN_STARTS, lines_per_page=10)
    pages.insert(2, Page())  # page 3 is an image: no text layer
    [a] = import_file(db, write_pdf(tmp_path / "Test_CA_PD-Audit.pdf", pages))
    assert a.rows_read == 30
    assert any("1 pages have no text layer (pages 3)" in n for n in a.notes)
    assert db.execute("SELECT kind FROM release_checks").fetchall() == [("unread_pages",)]


def test_glyphs_stay_aligned_when_the_range_text_is_shorter_than_the_glyph_count(tmp_path, monkeypatch):
    # A character outside the BMP (an emoji in a reason) makes pdfium's range text one unit longer or
    # shorter than its glyph count; the reader then reads the glyphs one by one.
    import pypdfium2 as pdfium

    pages = print_table(OWN_HEADER, [own_row(i) for i in range(3)], OWN_STARTS)
    path = write_pdf(tmp_path / "Test_CA_PD-Audit.pdf", pages)
    expected = list(read_table(path))
    real = pdfium.PdfTextPage.get_text_range
    monkeypatch.setattr(pdfium.PdfTextPage, "get_text_range", lambda self, *a, **k: real(self, *a, **k)[1:])
    assert list(read_table(path)) == expected


def test_a_damaged_pdf_is_a_one_line_error(db, tmp_path):
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.4\nnot really a pdf")
    with pytest.raises(InputError, match="broken.pdf: cannot open as a PDF"):
        import_file(db, path)


def test_importing_the_same_pdf_twice_changes_nothing(db, tmp_path):
    path = org_pdf(tmp_path, [org_row(i) for i in range(3)])
    import_file(db, path)
    [again] = import_file(db, path)
    assert again.status == "already imported"
    assert db.execute("SELECT count(*) FROM release_rows").fetchone()[0] == 3


# --- the real releases ------------------------------------------------------------------------------

OKALOOSA = "okaloosa_fl_org_audit/11_1_2025-12_8_2025-Okaloosa_County_FL_SO-Audit"


@pytest.fixture(scope="module")
def okaloosa(tmp_path_factory):
    """The Okaloosa PDF imported once for the tests below: (store, account, seconds the import took)."""
    store = open_store(tmp_path_factory.mktemp("okaloosa") / "pdf.db", create=True)
    started = time.perf_counter()
    [account] = import_file(store, realdata(OKALOOSA + ".pdf"))
    return store, account, time.perf_counter() - started


@pytest.mark.realdata
def test_okaloosa_pdf_imports_the_same_searches_as_its_extracted_csv(okaloosa, tmp_path):
    pdf_db, a, seconds = okaloosa
    csv_db = open_store(tmp_path / "csv.db", create=True)
    import_file(csv_db, realdata(OKALOOSA + "_EXTRACTED.csv"))
    assert (a.rows_read, a.rows_imported, a.rows_rejected) == (7273, 7273, 0)
    sql = ("SELECT s.uuid, s.time, r.text, s.networks, s.time_frame_start, s.time_frame_end, s.search_type "
           "FROM searches s LEFT JOIN reasons r ON r.id = s.reason_id ORDER BY s.uuid")
    assert pdf_db.execute(sql).fetchall() == csv_db.execute(sql).fetchall()
    assert seconds < 30


@pytest.mark.realdata
def test_okaloosa_pdf_devices_are_what_the_pdf_prints_where_the_extracted_csv_dropped_digits(okaloosa):
    # The third party's CSV lost trailing digits of 51 device counts (page 62 prints 95511, the CSV 955).
    pdf_db = okaloosa[0]
    with open(realdata(OKALOOSA + "_EXTRACTED.csv"), newline="") as fh:
        extracted = {r["ID"]: r["Total_Devices_Searched"] for r in csv.DictReader(fh)}
    differ = [(u, d, extracted[u]) for u, d in pdf_db.execute("SELECT uuid, devices FROM searches")
              if str(d) != extracted[u]]
    assert len(differ) == 51 and all(str(d).startswith(e) and len(str(d)) > len(e) for _, d, e in differ)
    assert pdf_db.execute("SELECT devices FROM searches WHERE uuid = '991fea62-3b5b-4316-b489-ff840e472357'"
                          ).fetchone() == (95511,)


@pytest.mark.realdata
def test_san_mateo_pdf_imports_every_row_and_matches_its_text_layer(tmp_path):
    path = realdata("san_mateo_ca/12_1_2025-12_31_2025-San_Mateo_CA_PD_Audit.pdf")
    text = realdata("san_mateo_ca/12_1_2025-12_31_2025-San_Mateo_CA_PD_Audit.pdf.1282c169.txt").read_text()
    db = open_store(tmp_path / "s.db", create=True)
    [a] = import_file(db, path)
    assert (a.rows_read, a.rows_imported, a.rows_rejected) == (4103, 4103, 0)
    assert a.producer == "San Mateo CA PD"
    # The published text layer lists each row as ID / userId / `networks time` / reason lines.
    lines = text.split("\n")
    expected = {lines[i].strip(): lines[i + 3].strip() for i in range(len(lines) - 3)
                if len(lines[i].strip()) == 36 and lines[i].count("-") == 4}
    got = dict(db.execute("SELECT s.uuid, r.text FROM searches s JOIN reasons r ON r.id = s.reason_id"))
    assert len(expected) == 4103 and got == expected


@pytest.mark.realdata
@pytest.mark.parametrize("relative", [OKALOOSA + ".pdf", "san_mateo_ca/12_1_2025-12_31_2025-San_Mateo_CA_PD_Audit.pdf"])
def test_run_and_report_complete_on_the_real_pdfs(tmp_path, relative):
    store = str(tmp_path / "s.db")
    runner = CliRunner()
    assert runner.invoke(main, ["import", "--db", store, str(realdata(relative))]).exit_code == 0
    assert runner.invoke(main, ["run", "--db", store]).exit_code == 0
    result = runner.invoke(main, ["report", "--db", store, "--out", str(tmp_path / "r.html")])
    assert result.exit_code == 0, result.output
    assert "(page " in (tmp_path / "r.html").read_text()
