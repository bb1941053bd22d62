"""Hostile input, second round (issue 18): special files, xlsx bombs, column-map typos, PDF text,
long reasons, release versions, concurrent commands, pseudonymized spellings, `audit serve`.
One test per class of failure; each failed on the code before the fix."""
from __future__ import annotations

import os
import shutil
import sqlite3
import threading
import time
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import audit
from auditor.errors import InputError
from auditor.importers import ImportOptions, import_file
from auditor.schema import open_store
from conftest import REPO, write_flock_csv

MAP = REPO / "tests" / "fixtures" / "clets" / "clets_log_map.toml"
WHEN = "12/08/2025, 05:28:52 PM UTC"
FRAME = "12/01/2025, 05:28:52 PM UTC\n" + WHEN


def cli(*args, env=None):
    return CliRunner().invoke(audit, [str(a) for a in args], env=env)


def assert_one_line_error(result, *needles: str):
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    for needle in needles:
        assert needle in lines[0], lines[0]


def flock_row(uuid: str, reason: str, *, user: str = "Ofc Lee", plate: str = "7ABC123", case: str = "",
              when: str = WHEN, searcher: str = "El Cajon CA PD") -> list[str]:
    return [uuid, user, searcher, "1", FRAME, plate, reason, case, "", when, "search", "", ""]


# --- special files -------------------------------------------------------------------------------

@pytest.fixture
def fifo(tmp_path) -> Path:
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return path


def run_with_deadline(*args, seconds: float = 20):
    """A command run in a thread; fails the test instead of hanging when it blocks."""
    box = {}
    worker = threading.Thread(target=lambda: box.setdefault("result", cli(*args)), daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"audit {' '.join(map(str, args))} blocked for {seconds} s"
    return box["result"]


def test_a_fifo_as_store_is_refused_without_blocking(fifo):
    assert_one_line_error(run_with_deadline("report", "--db", fifo, "--out", fifo.parent / "r.md"), "named pipe")


def test_a_fifo_as_release_file_is_refused_and_the_next_file_imported(fifo, tmp_path):
    good = write_flock_csv(tmp_path / "12_1_2025-12_31_2025-El_Cajon_CA_PD-Network-Audit.csv",
                           [flock_row("u1", "stolen vehicle")])
    result = run_with_deadline("import", "--db", tmp_path / "s.db", fifo, good, "--owner", "El Cajon CA PD")
    assert result.exit_code == 2
    assert "refused: is a named pipe" in result.output and "rows read 1 = imported 1 + rejected 0" in result.output


@pytest.mark.parametrize("key", ["fifo", "/dev/zero"])
def test_a_key_file_that_never_ends_is_refused(fifo, tmp_path, key):
    store = tmp_path / "s.db"
    write_flock_csv(tmp_path / "a.csv", [flock_row("u1", "stolen vehicle")])
    assert cli("import", "--db", store, tmp_path / "a.csv", "--owner", "El Cajon CA PD").exit_code == 0
    assert cli("run", "--db", store).exit_code == 0
    result = run_with_deadline("report", "--db", store, "--out", tmp_path / "r.md",
                               "--key-file", fifo if key == "fifo" else key)
    assert_one_line_error(result, "not a pseudonymization key file" if key == "fifo" else "character device")


def test_an_oversized_key_or_column_map_is_refused(tmp_path):
    from auditor.pseudonym import load_key

    big = tmp_path / "key"
    big.write_bytes(b"k" * 100_000)
    with pytest.raises(InputError, match="too large"):
        load_key(big)
    huge_map = tmp_path / "map.toml"
    huge_map.write_text("[columns]\ntime = \"Time\"\n" + "# padding\n" * 200_000)
    write_flock_csv(tmp_path / "log.csv", [flock_row("u1", "stolen vehicle")])
    with pytest.raises(InputError, match="too large"):
        import_file(open_store(tmp_path / "s.db", create=True), tmp_path / "log.csv",
                    ImportOptions(format="generic", column_map=huge_map))


# --- xlsx ----------------------------------------------------------------------------------------

def xlsx_with_sheet(path: Path, sheet_data: str, dimension: str = "A1:B2") -> Path:
    """A workbook written by openpyxl whose sheet XML is replaced with ``sheet_data`` (hand-written
    rows, as a hostile or damaged workbook would carry them)."""
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.active.title = "Audit"
    book.active.append(["Reason", "DateTime"])
    book.save(path.with_suffix(".tmp"))
    with zipfile.ZipFile(path.with_suffix(".tmp")) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = ('<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                        f'<dimension ref="{dimension}"/><sheetData>{sheet_data}</sheetData></worksheet>').encode()
            out.writestr(item, data)
    path.with_suffix(".tmp").unlink()
    return path


def cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


HEADER_ROW = f'<row r="1">{cell("A1", "Reason")}{cell("B1", "DateTime")}</row>'
DATA_ROW = f'<row r="2">{cell("A2", "stolen vehicle")}<c r="B2"><v>44544.5</v></c></row>'


def test_a_cell_at_xfd1_and_a_row_at_the_last_row_are_refused_before_allocating(tmp_path):
    path = xlsx_with_sheet(tmp_path / "far.xlsx", f'<row r="1">{cell("A1", "Reason")}{cell("B1", "DateTime")}'
                           f'{cell("XFD1", "x")}</row>{DATA_ROW}<row r="1048576">{cell("A1048576", "y")}</row>')
    assert path.stat().st_size < 6000  # a few kilobytes
    with pytest.raises(InputError, match=r"spans 1,048,576 rows x 16,384 columns"):
        import_file(open_store(tmp_path / "s.db", create=True), path, ImportOptions(producer="Irvine CA PD"))


def test_a_wide_header_and_one_formatted_row_at_the_bottom_read_as_one_blank_record(tmp_path):
    path = xlsx_with_sheet(tmp_path / "wide.xlsx", f'<row r="1">{cell("A1", "Reason")}{cell("B1", "DateTime")}'
                           f'{cell("XFD1", "Notes")}</row>{DATA_ROW}<row r="1048576" s="1" customFormat="1"/>')
    [a] = import_file(open_store(tmp_path / "s.db", create=True), path, ImportOptions(producer="Irvine CA PD"))
    assert (a.rows_read, a.rows_imported, a.rows_rejected, a.rows_padding) == (2, 1, 0, 1)


def test_a_sheet_that_unpacks_past_the_cap_is_refused_before_calamine(tmp_path, monkeypatch):
    from auditor.importers import source

    rows = "".join(f'<row r="{r}">{cell(f"A{r}", "ICE request")}<c r="B{r}"><v>44544.5</v></c></row>'
                   for r in range(2, 3000))
    path = xlsx_with_sheet(tmp_path / "bomb.xlsx", HEADER_ROW + rows)
    monkeypatch.setattr(source, "SHEET_XML_CAP", 100_000)  # the real cap is 512 MB; the mechanism is the same
    with pytest.raises(InputError, match="unpacks to .* bytes of XML"):
        import_file(open_store(tmp_path / "s.db", create=True), path, ImportOptions(producer="Irvine CA PD"))


def test_a_dimension_claiming_the_whole_sheet_is_refused(tmp_path):
    path = xlsx_with_sheet(tmp_path / "dim.xlsx", HEADER_ROW + DATA_ROW, dimension="A1:XFD1048576")
    with pytest.raises(InputError, match="cells"):
        import_file(open_store(tmp_path / "s.db", create=True), path, ImportOptions(producer="Irvine CA PD"))


# --- column maps ---------------------------------------------------------------------------------

def clets_log(path: Path) -> Path:
    import csv

    with open(path, "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["Transaction Date", "Agency", "Operator", "Query", "Purpose", "Subject", "Case No"])
        out.writerow(["03/01/2019 14:05:09", "[Federal] ICE ERO Orange County", "sa.moore", "DMV DL", "removal order",
                      "B1234567", ""])
    return path


@pytest.mark.parametrize("old,new,message", [
    ('system = "clets"', 'sytem = "clets"', "unknown option(s) 'sytem'"),
    ('time_format = "%m/%d/%Y %H:%M:%S"', 'time_fromat = "%m/%d/%Y %H:%M:%S"', "unknown option(s) 'time_fromat'"),
    ("[options]", "options = 3\n[opts]", "unknown key(s) 'opts'"),
    ("[columns]", "columns = 7\n[cols]", "unknown key(s) 'cols'"),
])
def test_column_map_typos_are_refused_in_one_line(tmp_path, old, new, message):
    bad = tmp_path / "map.toml"
    bad.write_text(MAP.read_text().replace(old, new))
    result = cli("import", "--db", tmp_path / "s.db", clets_log(tmp_path / "clets.csv"), "--format", "generic",
                 "--column-map", bad)
    assert_one_line_error(result, message)


@pytest.mark.parametrize("table,value,message", [
    ("columns", "7", "`columns` must be a table"),
    ("columns", '"Transaction Date"', "`columns` must be a table"),
    ("query_types", "[1, 2]", "`query_types` must be a table"),
    ("options", "3.5", "`options` must be a table"),
])
def test_column_map_tables_of_the_wrong_type_are_refused_in_one_line(tmp_path, table, value, message):
    text = MAP.read_text()
    start = text.index(f"\n[{table}]") + 1
    end = text.find("\n[", start + 1)
    bad = tmp_path / "map.toml"
    bad.write_text(f"{table} = {value}\n" + text[:start] + (text[end + 1:] if end != -1 else ""))
    result = cli("import", "--db", tmp_path / "s.db", clets_log(tmp_path / "clets.csv"), "--format", "generic",
                 "--column-map", bad)
    assert_one_line_error(result, message)


def test_a_column_value_that_is_a_number_is_refused(tmp_path):
    bad = tmp_path / "map.toml"
    bad.write_text(MAP.read_text().replace('user = "Operator"', "user = 3"))
    result = cli("import", "--db", tmp_path / "s.db", clets_log(tmp_path / "clets.csv"), "--format", "generic",
                 "--column-map", bad)
    assert_one_line_error(result, "[columns] user must be a string")


def test_two_fields_mapped_to_one_column_are_noted(tmp_path):
    shared = tmp_path / "map.toml"
    shared.write_text(MAP.read_text().replace('case_number = "Case No"', 'case_number = "Subject"'))
    db = open_store(tmp_path / "s.db", create=True)
    [a] = import_file(db, clets_log(tmp_path / "clets.csv"), ImportOptions(format="generic", column_map=shared))
    assert a.rows_imported == 1
    assert any("column 'Subject' is mapped to 2 fields: plate, case_number" in n for n in a.notes), a.notes


# --- refused files leave nothing behind; PDF text ---------------------------------------------------

def test_a_refused_utf16_file_leaves_no_unfinished_import(tmp_path):
    good = write_flock_csv(tmp_path / "good.csv", [flock_row("u1", "stolen vehicle")])
    cut = tmp_path / "cut_utf16.csv"
    cut.write_bytes(good.read_text().encode("utf-16") + b"\x00\xd8")  # ends inside a surrogate pair
    result = cli("import", "--db", tmp_path / "s.db", cut, good, "--owner", "El Cajon CA PD")
    assert "refused: cannot decode as utf-16" in result.output and "imported 1" in result.output
    statuses = sqlite3.connect(tmp_path / "s.db").execute("SELECT file_name, status FROM releases").fetchall()
    assert statuses == [("good.csv", "complete")]


def test_an_emoji_in_a_pdf_text_layer_is_kept_and_the_next_file_imported(tmp_path):
    from pdfprint import print_table, write_pdf

    header = ["ID", "userId", "networkCount", "Search Time", "Reason"]
    rows = [["00000001-42eb-4f5c-9281-f5e8bf4864be", "***", "3", "12/06/2025, 04:01:53 AM UTC", "stolen \x81 car"],
            ["00000002-42eb-4f5c-9281-f5e8bf4864be", "***", "3", "12/06/2025, 04:02:53 AM UTC", "ICE request"]]
    pdf = write_pdf(tmp_path / "Test_CA_PD-Audit.pdf", print_table(header, rows, [20, 150, 200, 260, 360]),
                    to_unicode={"\x81": "\U0001F697"})
    after = write_flock_csv(tmp_path / "after.csv", [flock_row("u9", "stolen vehicle")])
    result = cli("import", "--db", tmp_path / "s.db", pdf, after, "--producer", "Test CA PD", "--owner", "Test CA PD")
    assert result.exit_code == 0, result.output
    con = sqlite3.connect(tmp_path / "s.db")
    reasons = {r for (r,) in con.execute("SELECT text FROM reasons")}
    assert "stolen \U0001F697 car" in reasons and "ICE request" in reasons
    assert con.execute("SELECT COUNT(*) FROM releases WHERE status = 'complete'").fetchone() == (2,)


# --- concurrent commands ---------------------------------------------------------------------------

@pytest.fixture
def audited_store(tmp_path) -> Path:
    store = tmp_path / "s.db"
    write_flock_csv(tmp_path / "a.csv", [flock_row("u1", "ICE request"), flock_row("u2", "stolen vehicle")])
    assert cli("import", "--db", store, tmp_path / "a.csv", "--owner", "El Cajon CA PD").exit_code == 0
    assert cli("run", "--db", store).exit_code == 0
    return store


def test_a_second_run_is_refused_in_one_line_and_the_report_still_reads_the_last_run(audited_store, tmp_path):
    from auditor.storelock import store_lock

    with store_lock(audited_store, "audit run"):
        assert_one_line_error(cli("run", "--db", audited_store), "the store is busy", "`audit run`")
    assert sqlite3.connect(audited_store).execute("SELECT COUNT(*) FROM runs WHERE finished_at IS NULL").fetchone() == (0,)
    assert cli("report", "--db", audited_store, "--out", tmp_path / "r.md").exit_code == 0


def test_import_during_a_run_reports_every_file(audited_store, tmp_path):
    from auditor.storelock import store_lock

    a = write_flock_csv(tmp_path / "A.csv", [flock_row("u3", "warrant")])
    b = write_flock_csv(tmp_path / "B.csv", [flock_row("u4", "warrant")])
    with store_lock(audited_store, "audit run"):
        result = cli("import", "--db", audited_store, a, b, "--owner", "El Cajon CA PD")
    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert lines[0] == "A.csv" and lines[2] == "B.csv", result.output
    assert lines[1].startswith("  refused: the store is busy: `audit run`") and lines[3].startswith("  refused: the store is busy")
    assert cli("import", "--db", audited_store, a, b, "--owner", "El Cajon CA PD").exit_code == 0


def test_two_real_runs_at_once_one_finishes_the_other_is_refused(audited_store, tmp_path):
    import subprocess
    import sys

    argv = [sys.executable, "-c", "from auditor.cli import main; main()", "run", "--db", str(audited_store)]
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert all("Traceback" not in err for _, err in outs), outs
    assert codes in ([0, 0], [0, 2]), outs  # the second waits its turn only if the first had finished
    assert sqlite3.connect(audited_store).execute("SELECT COUNT(*) FROM runs WHERE finished_at IS NULL").fetchone() == (0,)
    assert cli("report", "--db", audited_store, "--out", tmp_path / "r.md").exit_code == 0


def test_checking_a_store_keeps_the_locks_of_a_connection_this_process_holds(audited_store):
    """Closing any descriptor of a file drops the process's POSIX locks on it, SQLite's included: the
    store check read the header with `open()`, so another process closing the store took itself for
    the last connection and deleted the WAL and its index under this one (the cause of a rare
    "database disk image is malformed" after two runs in a test session)."""
    import subprocess
    import sys

    from auditor.schema import check_store, open_store

    held = open_store(audited_store)  # a connection this process keeps, as a test session or `audit serve` does
    held.execute("SELECT COUNT(*) FROM searches").fetchone()
    check_store(audited_store)
    open_store(audited_store).conn.close()
    other = f"import sqlite3; c = sqlite3.connect({str(audited_store)!r}); c.execute('CREATE TABLE t (x)'); c.commit(); c.close()"
    subprocess.run([sys.executable, "-c", other], check=True, timeout=60)
    wal = audited_store.with_name(audited_store.name + "-wal")
    assert wal.exists(), "another process deleted the WAL while this process had the store open"
    assert held.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    held.conn.close()


def test_a_case_number_alone_on_a_wrapped_reason_line_is_kept_and_page_numbers_still_skipped(tmp_path):
    from auditor.importers.pdf import read_table
    from pdfprint import print_table, write_pdf

    header = ["ID", "userId", "networkCount", "Search Time", "Reason"]
    rows = [[f"0000000{n}-42eb-4f5c-9281-f5e8bf4864be", "***", "3", f"12/06/2025, 04:0{n}:53 AM UTC",
             ["assist HSI", "250012345", "stolen vehicle"] if n in (1, 4) else "warrant"] for n in range(1, 6)]
    path = write_pdf(tmp_path / "Test_CA_PD-Audit.pdf",
                     print_table(header, rows, [20, 150, 200, 260, 360], rows_per_page=3, footer=True))
    table = read_table(path)
    records = list(table)
    wrapped = "assist HSI 250012345 stolen vehicle"
    assert [r[4] for r in records] == [wrapped, "warrant", "warrant", wrapped, "warrant"]
    assert "2 page-number lines skipped" in table.notes


# --- pseudonymization by normalized matching --------------------------------------------------------

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

PLATES = ["ABC1234", "XYZ9876"]
OFFICERS = [("Andre", "Dunn"), ("Maria", "Lopez")]
CASE = "25-0042"
RELEASE = "12_1_2025-12_31_2025-ABC1234_Dunn_Andre-Network-Audit.csv"


@pytest.fixture(scope="module")
def named_store(tmp_path_factory) -> Path:
    """An imported, audited store whose release file name and store name carry a plate and a name."""
    folder = tmp_path_factory.mktemp("named")
    release = write_flock_csv(folder / RELEASE, [
        flock_row("u1", "ICE request", user="Andre Dunn", plate="ABC1234", case=CASE),
        flock_row("u2", "HSI assist", user="Lopez, Maria", plate="XYZ9876",
                  when="12/08/2025, 06:28:52 PM UTC", searcher="Dallas TX PD"),
    ])
    store = folder / "XYZ9876_lopez.db"
    assert cli("import", "--db", store, release, "--owner", "El Cajon CA PD").exit_code == 0
    assert cli("run", "--db", store).exit_code == 0
    (folder / "key").write_text("a-key-of-thirty-two-characters!!")
    return store


def spelled(value: str, draw_case, draw_seps) -> str:
    """One spelling of an identifier: each character's case, and separators between characters."""
    out = []
    for i, ch in enumerate(value.replace("-", "")):
        if i and draw_seps[i % len(draw_seps)]:
            out.append(draw_seps[i % len(draw_seps)])
        out.append(ch.upper() if draw_case[i % len(draw_case)] else ch.lower())
    return "".join(out)


@st.composite
def spellings(draw) -> list[str]:
    case = draw(st.lists(st.booleans(), min_size=1, max_size=8))
    plate_seps = draw(st.lists(st.sampled_from(["", "", "", " ", "-"]), min_size=1, max_size=8))
    plate = spelled(draw(st.sampled_from(PLATES)), case, plate_seps)
    # A plate written with at most two separators, as people write them (`abc 1234`, `ABC-12-34`).
    while sum(not c.isalnum() for c in plate) > 2:
        plate = plate.replace(" ", "", 1).replace("-", "", 1)
    given_name, surname = draw(st.sampled_from(OFFICERS))
    officer = draw(st.sampled_from([f"{given_name} {surname}", f"{surname}, {given_name}", f"{surname} {given_name}",
                                    surname]))
    officer = officer.upper() if draw(st.booleans()) else officer.lower() if draw(st.booleans()) else officer
    case_number = draw(st.sampled_from(["25-0042", "250042", "25 0042", "#25-0042"]))
    glue = draw(st.sampled_from([" ", "/", "-", ", "]))
    return [plate, officer, case_number, plate + glue + "stolen"]


def word_in(spelling: str, text: str) -> bool:
    import re

    core = spelling.strip("#")
    return re.search(rf"(?<![^\W_]){re.escape(core.casefold())}(?![^\W_])", text.casefold()) is not None


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spellings())
def test_no_spelling_of_a_plate_officer_or_case_number_survives_in_any_format(named_store, tmp_path, written):
    con = sqlite3.connect(named_store)
    reason = f"ICE request for {' and '.join(written)}"
    reason_id = con.execute("INSERT OR IGNORE INTO reasons (text) VALUES (?)", [reason]).lastrowid or \
        con.execute("SELECT id FROM reasons WHERE text = ?", [reason]).fetchone()[0]
    con.execute("UPDATE searches SET reason_id = ?", [reason_id])
    con.commit()
    ids = [i for (i,) in con.execute("SELECT id FROM searches ORDER BY id")]
    con.close()
    assert ids
    key = named_store.parent / "key"
    outputs = {}
    for fmt in ("html", "md", "csv", "json"):
        out = tmp_path / f"r.{fmt}"
        result = cli("report", "--db", named_store, "--out", out, "--key-file", key)
        assert result.exit_code == 0, result.output
        outputs[fmt] = out.read_text(encoding="utf-8")
        plain = cli("report", "--db", named_store, "--out", tmp_path / f"plain.{fmt}")
        assert plain.exit_code == 0
        assert word_in(written[0], (tmp_path / f"plain.{fmt}").read_text(encoding="utf-8")) or fmt == "csv"
    for search_id in ids:
        explained = cli("explain", "--db", named_store, search_id, "--pseudonymize", "--key-file", key)
        assert explained.exit_code == 0, explained.output
        outputs[f"explain {search_id}"] = explained.output
    secrets = [*written, *PLATES, CASE, "Dunn", "Lopez", "Andre Dunn", "Maria Lopez", "ABC1234_Dunn_Andre"]
    for where, text in outputs.items():
        survived = [s for s in secrets if word_in(s, text.replace("white-space", ""))]
        assert survived == [], (where, survived)
    assert "<title>proxytrace report: " in outputs["html"] and "XYZ9876" not in outputs["html"]


def test_values_kept_only_as_a_release_version_are_pseudonymized_too(tmp_path):
    """Two releases disagree on a search's plate, officer and case number: the value that does not
    settle into `searches` lives only in `search_versions`, and `release.versions_differ` quotes it."""
    first = write_flock_csv(tmp_path / V1, [flock_row("4c1e-u1", "stolen vehicle", user="Maria Lopez",
                                                      plate="7ABC123", case="25-0017")])
    second = write_flock_csv(tmp_path / V2, [flock_row("4c1e-u1", "stolen vehicle", user="Andre Dunn",
                                                       plate="8XYZ987", case="25-0042")])
    store = tmp_path / "s.db"
    for path in (first, second):
        assert cli("import", "--db", store, path, "--owner", "El Cajon CA PD").exit_code == 0
    assert cli("run", "--db", store).exit_code == 0
    con = sqlite3.connect(store)
    versions = con.execute("SELECT field, value FROM search_versions ORDER BY field, value").fetchall()
    assert versions == [("case_number", "25-0017"), ("case_number", "25-0042"), ("plate", "7ABC123"),
                        ("plate", "8XYZ987"), ("user", "Andre Dunn"), ("user", "Maria Lopez")]
    [search_id] = [i for (i,) in con.execute("SELECT id FROM searches")]
    con.close()
    key = tmp_path / "key"
    key.write_text("a-key-of-thirty-two-characters!!")
    outputs = {}
    for fmt in ("html", "md", "csv", "json"):
        out = tmp_path / f"r.{fmt}"
        result = cli("report", "--db", store, "--out", out, "--key-file", key)
        assert result.exit_code == 0, result.output
        outputs[fmt] = out.read_text(encoding="utf-8")
    plain = tmp_path / "plain.md"
    assert cli("report", "--db", store, "--out", plain).exit_code == 0
    secrets = ["7ABC123", "8XYZ987", "Maria Lopez", "Andre Dunn", "Dunn", "Lopez", "25-0017", "25-0042"]
    assert [s for s in secrets if word_in(s, plain.read_text(encoding="utf-8"))], "the plain report quotes no version"
    explained = cli("explain", "--db", store, search_id, "--pseudonymize", "--key-file", key)
    assert explained.exit_code == 0, explained.output
    outputs["explain"] = explained.output
    for where, text in outputs.items():
        survived = [s for s in secrets if word_in(s, text.replace("white-space", ""))]
        assert survived == [], (where, survived)


def test_each_spelling_of_one_value_gets_the_value_token():
    from auditor.pseudonym import Pseudonymizer

    p = Pseudonymizer(b"sixteen-byte-key!", {"ABC1234": "plate", "Andre Dunn": "officer", "Lopez, Maria": "officer",
                                              "25-0042": "case"})
    plate, dunn, lopez, case = (p.token("plate", "ABC1234"), p.token("officer", "Andre Dunn"),
                                p.token("officer", "Maria Lopez"), p.token("case", "25-0042"))
    assert p.text("abc 1234, ABC-1234 and abc1234-stolen") == f"{plate}, {plate} and {plate}-stolen"
    assert p.text("ABC1234/XYZ9876 seen") == f"{plate}/XYZ9876 seen"  # XYZ9876 is not in this store
    assert p.text("Dunn; DUNN ANDRE; Lopez, Maria; maria lopez") == f"{dunn}; {dunn}; {lopez}; {lopez}"
    assert p.text("case #25 0042 / 250042") == f"case #{case} / {case}"
    assert p.field("user", "DUNN, ANDRE") == dunn and p.field("plate", "abc-1234") == plate


# --- release versions that differ in a field ---------------------------------------------------------

V1 = "12_1_2025-12_31_2025-El_Cajon_CA_PD-Network-Audit.csv"
V2 = "12_1_2025-12_31_2025-El_Cajon_CA_PD-Network-Audit-rerelease.csv"


def two_versions(folder: Path) -> tuple[Path, Path]:
    """One Network Audit released twice: the same searches (UUIDs), one reason changed."""
    later = "12/08/2025, 06:28:52 PM UTC"
    first = write_flock_csv(folder / V1, [flock_row("4c1e-u1", "stolen vehicle", searcher="Santa Ana CA PD"),
                                          flock_row("4c1e-u2", "warrant", searcher="Santa Ana CA PD", when=later)])
    second = write_flock_csv(folder / V2, [flock_row("4c1e-u1", "ICE request", searcher="Santa Ana CA PD"),
                                           flock_row("4c1e-u2", "warrant", searcher="Santa Ana CA PD", when=later)])
    return first, second


def findings_by_rule(store: Path) -> dict[str, int]:
    con = sqlite3.connect(store)
    return dict(con.execute("SELECT rule_id, COUNT(*) FROM findings GROUP BY rule_id"))


@pytest.mark.parametrize("careful", [True, False])
def test_a_reason_changed_between_versions_is_kept_found_and_order_free(tmp_path, careful, monkeypatch):
    from auditor.importers import columnar

    if not careful:
        monkeypatch.setattr(columnar, "FAST_PATH_BYTES", 0)  # the columnar path even for a small file
    first, second = two_versions(tmp_path)
    results = []
    for order in ((first, second), (second, first)):
        store = tmp_path / f"{order[0].stem[-10:]}.db"
        for path in order:
            args = ["import", "--db", store, path, "--owner", "El Cajon CA PD"] + (["--careful"] if careful else [])
            assert cli(*args).exit_code == 0
        assert cli("run", "--db", store).exit_code == 0
        con = sqlite3.connect(store)
        kept = sorted(con.execute("SELECT r.file_name, v.row_number, t.text FROM search_versions v "
                                  "JOIN releases r ON r.id = v.release_id JOIN reasons t ON t.id = v.value "
                                  "WHERE v.field = 'reason_id'"))
        assert kept == sorted([(V1, 2, "stolen vehicle"), (V2, 2, "ICE request")])
        detail = con.execute("SELECT subject, detail FROM aggregate_findings WHERE rule_id = 'release.versions_differ'"
                             ).fetchall()
        assert detail and "disagree on reason" in detail[0][0] and V1 in detail[0][0] and V2 in detail[0][0]
        assert "'stolen vehicle'" in detail[0][1] and "'ICE request'" in detail[0][1]
        results.append(findings_by_rule(store))
    assert results[0] == results[1]
    # The search's reason is both versions (`ICE request | stolen vehicle`): it names ICE, so the
    # side door is found, but it also states a crime, so SB 54's purpose element (a stated
    # immigration purpose, auditor.facts.immigration_stated) does not hold on it.
    assert results[0].get("door.side") == 1 and "ca.sb54.immigration" not in results[0]
    assert results[0].get("release.versions_differ") == 1


def test_a_finding_on_a_contested_reason_shows_every_version_beside_its_cited_row(tmp_path):
    """The settled reason `ICE request | stolen vehicle` is in no release; the side-door finding cites the
    first sighting, whose reason is `stolen vehicle`: every output says the reason is contested and
    shows both versions with their release and row."""
    import csv
    import json

    first, second = two_versions(tmp_path)
    store = tmp_path / "s.db"
    for path in (first, second):
        assert cli("import", "--db", store, path, "--owner", "El Cajon CA PD").exit_code == 0
    assert cli("run", "--db", store).exit_code == 0
    # Versions in file-name order, whatever the import order: V2's name sorts first (`-` before `.`).
    versions = f"'ICE request' ({V2}, row 2) against 'stolen vehicle' ({V1}, row 2)"
    assert cli("report", "--db", store, "--out", tmp_path / "r.json").exit_code == 0
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    [findings] = [s for s in report["sections"] if s["id"] == "findings"]
    # door.side: the reason names ICE (SB 54 is not cited: the settled reason also states a crime).
    [side] = [r for r in findings["rules"] if r["rule_id"] == "door.side"]
    [example] = side["rows"]
    assert example["reason"] == "ICE request | stolen vehicle" and example["source_release"] == V1
    assert "release.versions_differ" in example["contested"] and versions in example["contested"]
    assert versions in example["source"]
    assert cli("report", "--db", store, "--out", tmp_path / "r.md").exit_code == 0
    assert versions.replace("_", "\\_") in (tmp_path / "r.md").read_text(encoding="utf-8")  # Markdown-escaped
    assert cli("report", "--db", store, "--out", tmp_path / "r.csv").exit_code == 0
    with (tmp_path / "r.csv").open(encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["rule_id"] == "door.side"]
    assert rows and all(versions in r["contested"] for r in rows)
    search_id = example["search_id"]
    explained = cli("explain", "--db", store, search_id)
    assert explained.exit_code == 0
    note = [line for line in explained.output.splitlines() if line.strip().startswith("note ")]
    assert note and all(versions in line for line in note)
    other = sqlite3.connect(store).execute("SELECT id FROM searches WHERE id <> ?", [search_id]).fetchone()[0]
    assert "contested" not in cli("explain", "--db", store, other).output  # u2 agrees in both releases


@pytest.mark.parametrize("careful", [True, False])
def test_a_reason_differing_only_in_trailing_blanks_is_one_version(tmp_path, careful, monkeypatch):
    from auditor.importers import columnar

    if not careful:
        monkeypatch.setattr(columnar, "FAST_PATH_BYTES", 0)
    first = write_flock_csv(tmp_path / V1, [flock_row("4c1e-u1", "investigation", searcher="Santa Ana CA PD")])
    second = write_flock_csv(tmp_path / V2, [flock_row("4c1e-u1", "investigation ", searcher="Santa Ana CA PD"),
                                             flock_row("4c1e-u1", " investigation", searcher="Santa Ana CA PD")])
    store = tmp_path / "s.db"
    for path in (first, second):
        args = ["import", "--db", store, path, "--owner", "El Cajon CA PD"] + (["--careful"] if careful else [])
        assert cli(*args).exit_code == 0
    assert cli("run", "--db", store).exit_code == 0
    con = sqlite3.connect(store)
    assert con.execute("SELECT COUNT(*) FROM sightings").fetchone()[0] == 3
    assert con.execute("SELECT field, value FROM search_versions").fetchall() == []
    assert con.execute("SELECT r.text FROM searches s JOIN reasons r ON r.id = s.reason_id").fetchall() == \
        [("investigation",)]
    assert "release.versions_differ" not in findings_by_rule(store)


def test_a_uuid_repeated_inside_one_release_with_two_reasons_keeps_both(tmp_path):
    path = write_flock_csv(tmp_path / V1, [flock_row("4c1e-u1", "stolen vehicle"), flock_row("4c1e-u1", "ICE request")])
    db = open_store(tmp_path / "s.db", create=True)
    [a] = import_file(db, path, ImportOptions(owner="El Cajon CA PD"))
    assert (a.rows_read, a.rows_imported, a.new_searches) == (2, 2, 1)
    kept = db.execute("SELECT v.row_number, t.text FROM search_versions v JOIN reasons t ON t.id = v.value "
                      "ORDER BY v.row_number").fetchall()
    assert kept == [(2, "stolen vehicle"), (3, "ICE request")]
    assert db.execute("SELECT r.text FROM searches s JOIN reasons r ON r.id = s.reason_id").fetchall() == \
        [("ICE request | stolen vehicle",)]


# --- audit serve ------------------------------------------------------------------------------------

def start_serve(store: Path, *extra: str):
    import socket
    import subprocess
    import sys
    import urllib.request

    pytest.importorskip("datasette")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-c", "from auditor.cli import main; main()", "serve", "--db", str(store),
                             "--port", str(port), *extra], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{base}/-/versions.json", timeout=2).read()
            return proc, base
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"audit serve did not start: {proc.stderr.read().decode()[-500:]}")
            time.sleep(0.3)


def status_for_host(base: str, host: str) -> int:
    import http.client
    from urllib.parse import urlparse

    where = urlparse(base)
    con = http.client.HTTPConnection(where.hostname, where.port, timeout=10)
    con.request("GET", "/-/versions.json", headers={"Host": host})
    status = con.getresponse().status
    con.close()
    return status


def sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_serve_answers_local_names_only_and_leaves_the_store_bytes_unchanged(audited_store):
    con = sqlite3.connect(audited_store)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    before = sorted((p.name, sha256(p)) for p in audited_store.parent.iterdir() if p.name.startswith("s.db"))
    proc, base = start_serve(audited_store, "--allow-host", "audit.example.org")
    try:
        port = base.rsplit(":", 1)[1]
        assert status_for_host(base, f"localhost:{port}") == 200
        assert status_for_host(base, f"127.0.0.1:{port}") == 200
        assert status_for_host(base, f"audit.example.org:{port}") == 200
        assert status_for_host(base, f"attacker.example.com:{port}") == 421
        assert status_for_host(base, "localhost.attacker.example.com") == 421
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    after = sorted((p.name, sha256(p)) for p in audited_store.parent.iterdir() if p.name.startswith("s.db"))
    assert [name for name, _ in after if name == "s.db"] == ["s.db"]
    assert [d for d in after if d[0] == "s.db"] == [d for d in before if d[0] == "s.db"]


def test_serve_refuses_in_one_line_while_the_store_is_written(audited_store):
    from auditor.storelock import store_lock

    with store_lock(audited_store, "audit run"):
        assert_one_line_error(cli("serve", "--db", audited_store), "the store is busy", "`audit run`")


def test_host_names_are_read_without_their_port():
    from auditor.serve_app import host_name

    assert [host_name(h) for h in (b"LOCALHOST:8001", b"[::1]:8001", b"127.0.0.1", b"evil.com:80")] == \
        ["localhost", "[::1]", "127.0.0.1", "evil.com"]


@pytest.mark.parametrize("name", ["12_31_2025-12_1_2025-El_Cajon_CA_PD-Network-Audit.csv",
                                  "2_30_2025-3_31_2025-El_Cajon_CA_PD-Network-Audit.csv"])
def test_a_release_whose_name_states_an_impossible_period_gets_a_note(tmp_path, name):
    path = write_flock_csv(tmp_path / name, [flock_row("u1", "stolen vehicle")])
    [a] = import_file(open_store(tmp_path / "s.db", create=True), path, ImportOptions(owner="El Cajon CA PD"))
    assert a.rows_imported == 1
    assert any("inverted or impossible" in n and "period checks were not run" in n for n in a.notes), a.notes


# --- 1 MB reasons: every scan of reason text this code owns is linear -------------------------------

def _seconds(fn, text: str) -> float:
    best = float("inf")
    for _ in range(1 if len(text) > 1 << 19 else 2):
        variant = f"{text} {_}"  # a text not seen before: no cache answers for the scan
        start = time.perf_counter()
        fn(variant)
        best = min(best, time.perf_counter() - start)
    return best


def _scans():
    from auditor import untrusted
    from auditor.pseudonym import Pseudonymizer
    from auditor.purpose import default_classifier, for_matching
    from auditor.report.render_csv import safe_cell

    classifier = default_classifier()
    pseudonymizer = Pseudonymizer(b"sixteen-byte-key!", {"ABC1234": "plate", "Andre Dunn": "officer", "25-0042": "case"})
    return {"purpose tagging": classifier.classify, "normalizing for the patterns": for_matching,
            "pseudonymizing": pseudonymizer.text, "terminal output": untrusted.terminal,
            "csv cell": safe_cell, "json": untrusted.json_dumps}


def hostile_reason(n: int) -> str:
    """``n`` characters of what makes scanners backtrack: one long word after `ICE`, dotted letters,
    digits, separators and name-like words, each a sixth of the text."""
    part = n // 6
    pieces = ["ICE " + "a" * part, "I." * (part // 2), "1" * part, "ab-" * (part // 3),
              ("Dunn Andre abc 1234 " * part)[:part], ("ICE request " * part)[:part]]
    return " ".join(pieces)


def test_a_one_megabyte_reason_is_scanned_in_linear_time():
    for name, scan in _scans().items():
        small, large = _seconds(scan, hostile_reason(1 << 16)), _seconds(scan, hostile_reason(1 << 20))
        # Sixteen times the text: linear work takes about sixteen times as long, quadratic 256 times.
        # The wide gap keeps a loaded machine's noise (seen: 11x for 4x the text) from deciding.
        assert large < 64 * small + 0.05, f"{name}: {small:.3f} s for 64 KB, {large:.3f} s for 1 MB"
