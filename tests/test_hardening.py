"""Hostile use: no store destroyed, no traceback, no control byte or look-alike letter gets through,
and outputs that can be pseudonymized. One test per class of failure found by probing (issue 12)."""
from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import audit
from auditor.errors import InputError
from auditor.grade import read_worksheet
from auditor.pseudonym import KEY_ENV, Pseudonymizer, leaked
from auditor.purpose import default_classifier
from auditor.schema import open_store
from conftest import REPO, write_flock_csv
from simulator.cli import simulate

TINY = REPO / "tests" / "fixtures" / "sim_tiny.toml"
FIXTURES = REPO / "tests" / "fixtures" / "releases"
EL_CAJON = FIXTURES / "12_1_2025-12_31_2025-El_Cajon_CA_PD-Network-Audit.csv"
OKALOOSA = FIXTURES / "11_1_2025-12_8_2025-Okaloosa_County_FL_SO-Audit_EXTRACTED.csv"
# Any character a terminal, a Markdown viewer or a spreadsheet would act on (line feeds and tabs
# are checked apart: CSV and text outputs use them as structure).
RAW_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
WHEN = "12/08/2025, 05:28:52 PM UTC"
FRAME = "12/01/2025, 05:28:52 PM UTC\n" + WHEN


def cli(*args, env=None):
    return CliRunner().invoke(audit, [str(a) for a in args], env=env)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_one_line_error(result):
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)
    assert len(result.output.strip().splitlines()) == 1 and result.output.startswith("Error: ")


@pytest.fixture(scope="module")
def audited(tmp_path_factory) -> Path:
    """A small simulated store with plates, officers and case numbers, audited."""
    folder = tmp_path_factory.mktemp("audited")
    scenario = folder / "tiny.toml"
    scenario.write_text(TINY.read_text().replace("vague_rate = 0.2", "vague_rate = 0.2\ncase_number_rate = 0.6"))
    store = folder / "tiny.db"
    assert CliRunner().invoke(simulate, ["--scenario", str(scenario), "--out", str(store)]).exit_code == 0
    assert cli("run", "--db", store).exit_code == 0
    con = sqlite3.connect(store)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # so that copying the file copies the audit
    con.close()
    return store


@pytest.fixture
def store(audited, tmp_path) -> Path:
    copy = tmp_path / "store.db"
    copy.write_bytes(audited.read_bytes())
    return copy


@pytest.fixture
def key_file(tmp_path) -> Path:
    path = tmp_path / "pseudonym.key"
    path.write_text("a-test-key-of-thirty-two-bytes!!\n")
    return path


# --- 1. outputs never clobber inputs ------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["same", "relative", "symlink", "hardlink", "wal"])
def test_report_never_writes_over_its_store(store, spelling, monkeypatch):
    before = digest(store)
    out = {"same": store, "relative": Path("..") / store.parent.name / store.name,
           "symlink": store.with_name("link.html"), "hardlink": store.with_name("hard.html"),
           "wal": store.with_name(store.name + "-wal")}[spelling]
    if spelling == "symlink":
        out.symlink_to(store)
    if spelling == "hardlink":
        os.link(store, out)
    monkeypatch.chdir(store.parent)
    result = cli("report", "--db", store, "--out", out)
    assert_one_line_error(result)
    assert "is an input of this command" in result.output
    assert digest(store) == before


def test_report_refuses_an_existing_file_it_did_not_write(store, tmp_path):
    notes = tmp_path / "notes.md"
    notes.write_text("my own notes\n")
    result = cli("report", "--db", store, "--out", notes)
    assert_one_line_error(result)
    assert notes.read_text() == "my own notes\n"
    assert not list(tmp_path.glob(".notes.md.*"))  # nothing left beside it


@pytest.mark.parametrize("name", ["r.html", "r.md", "r.json", "r.csv"])
def test_report_replaces_an_earlier_report_of_its_own(store, tmp_path, name):
    out = tmp_path / name
    assert cli("report", "--db", store, "--out", out).exit_code == 0
    assert cli("report", "--db", store, "--out", out).exit_code == 0
    plain = tmp_path / "plain.txt"
    plain.write_text("")
    assert out.stat().st_mode == plain.stat().st_mode  # as readable as any file the user writes
    assert not list(tmp_path.glob(".*.partial"))


def test_export_never_overwrites_an_existing_release(audited, tmp_path):
    db = open_store(audited)
    from simulator.export import export_owner_logs

    logs = tmp_path / "logs"
    first = export_owner_logs(db, logs)
    kept = {p: digest(p) for p in first}
    with pytest.raises(Exception, match="already exists"):
        export_owner_logs(db, logs)
    assert {p: digest(p) for p in first} == kept


# --- 2. every number and date a user gives is bounded ------------------------------------------


def test_non_integer_schema_version_is_one_line(tmp_path):
    path = tmp_path / "odd.db"
    con = sqlite3.connect(path)
    con.executescript("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT); CREATE TABLE searches (id INTEGER);"
                      "INSERT INTO meta VALUES ('schema_version', 'one');")
    con.commit()
    con.close()
    result = cli("run", "--db", path)
    assert_one_line_error(result)
    assert "schema version one" in result.output


@pytest.mark.parametrize("args", [
    ["explain", "--db", "{db}", str(2**64)],
    ["report", "--db", "{db}", "--out", "{tmp}/r.md", "--examples", str(2**64)],
    ["run", "--db", "{db}", "--mass-networks", str(2**64)],
    ["run", "--db", "{db}", "--relay-days", "nan"],
    ["run", "--db", "{db}", "--relay-days", "inf"],
    ["run", "--db", "{db}", "--relay-days", "1e308"],
])
def test_numbers_past_their_range_are_one_line_errors(store, tmp_path, args):
    result = cli(*[a.format(db=store, tmp=tmp_path) for a in args])
    assert_one_line_error(result)


@pytest.mark.parametrize("scale", ["1e308", "nan", "inf", "-1", "0", "1e9"])
def test_absurd_scales_are_refused_before_anything_runs(tmp_path, scale):
    result = CliRunner().invoke(simulate, ["--scenario", str(TINY), "--scale", scale, "--out", str(tmp_path / "s.db")])
    assert_one_line_error(result)
    assert not (tmp_path / "s.db").exists()


def test_a_scale_that_would_not_fit_is_refused_with_the_estimate(tmp_path):
    result = CliRunner().invoke(simulate, ["--scenario", "el_cajon", "--scale", "9000", "--out", str(tmp_path / "s.db")])
    assert_one_line_error(result)
    assert "would write about" in result.output and "reads" in result.output and "GB" in result.output
    assert not (tmp_path / "s.db").exists()


@pytest.mark.parametrize("old,new,where", [
    ("end = 2025-03-31", "end = 9999-12-31", "scenario.end"),
    ("searches_per_year = 1200\npurposes = { stolen_vehicle = 1.0 }", "searches_per_year = 1e300\npurposes = { stolen_vehicle = 1.0 }",
     "searches_per_year"),
    ("searches_per_year = 1200\npurposes = { stolen_vehicle = 0.6",
     "searches_per_year = inf\npurposes = { stolen_vehicle = 0.6", "searches_per_year"),
    ("residents = 500", "residents = 9223372036854775807", "residents"),
    ("states = { CA = 3 }", "states = { CA = 90000000 }", "states.CA"),
])
def test_scenario_values_out_of_range_are_one_line_errors(tmp_path, old, new, where):
    scenario = tmp_path / "bad.toml"
    text = TINY.read_text()
    assert old in text
    scenario.write_text(text.replace(old, new, 1))
    result = CliRunner().invoke(simulate, ["--scenario", str(scenario), "--out", str(tmp_path / "s.db")])
    assert_one_line_error(result)
    assert where in result.output


# --- 3. foreign files are opened read-only until they are known to be stores ----------------------


def test_another_applications_sqlite_file_is_refused_unchanged(tmp_path):
    path = tmp_path / "photos.db"
    con = sqlite3.connect(path)
    con.executescript("CREATE TABLE albums (id INTEGER, title TEXT); INSERT INTO albums VALUES (1, 'summer');")
    con.commit()
    con.close()
    before = digest(path)
    for args in (["run", "--db", path], ["import", "--db", path, EL_CAJON]):
        assert_one_line_error(cli(*args))
    assert digest(path) == before
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photos.db"]


# --- 4. one import command, one clear outcome -----------------------------------------------------


def test_a_refused_file_does_not_stop_the_others(tmp_path):
    binary = tmp_path / "binary.csv"
    binary.write_bytes(bytes(range(256)) * 8)
    result = cli("import", "--db", tmp_path / "s.db", "--json", EL_CAJON, binary, OKALOOSA)
    assert result.exit_code == 2
    data = json.loads(result.output.split("\nError:")[0])
    assert [r["status"] for r in data["releases"]] == ["complete", "refused", "complete"]
    assert data["totals"]["refused"] == 1 and data["totals"]["imported_releases"] == 2
    assert "1 of 3 file(s) refused (binary.csv)" in result.output
    assert open_store(tmp_path / "s.db").execute("SELECT COUNT(*) FROM releases").fetchone()[0] == 2


def test_the_same_file_twice_in_one_command_counts_once(tmp_path):
    once = json.loads(cli("import", "--db", tmp_path / "a.db", "--json", EL_CAJON).output)["totals"]
    twice = cli("import", "--db", tmp_path / "b.db", "--json", EL_CAJON, EL_CAJON)
    assert twice.exit_code == 0
    totals = json.loads(twice.output)["totals"]
    assert totals["rows_read"] == once["rows_read"] and totals["already_imported"] == 1


def test_an_unfinished_release_is_reported_by_run_report_and_explain(store, tmp_path):
    db = open_store(store)
    db.execute("INSERT INTO releases (file_name, sha256, format, audit_kind, rows_read, rows_imported, rows_rejected,"
               " status, imported_at) VALUES ('killed.csv', 'abc', 'flock_audit', 'network', 0, 0, 0, 'importing',"
               " '2026-01-01T00:00:00Z')")
    db.conn.commit()
    run = cli("run", "--db", store)
    assert run.exit_code == 0 and "Unfinished import" in run.output and "killed.csv" in run.output
    report = cli("report", "--db", store, "--out", tmp_path / "r.md")
    assert report.exit_code == 0 and "killed.csv" in (tmp_path / "r.md").read_text()
    explain = cli("explain", "--db", store, "1")
    assert explain.exit_code == 0 and "Unfinished import" in explain.output


# --- 5. text from a log is made safe for every sink ---------------------------------------------


HOSTILE = ["\x1b]0;pwned\x07ICE hold\x1b[2J", "stolen\u202e rac", "warrant\x9b31m", "assist\rcleared"]


@pytest.fixture
def hostile_store(tmp_path) -> Path:
    rows = [[f"00000000-0000-0000-0000-00000000000{i}", "Ofc \x1b[5mDoe", "Dallas TX PD", "12", FRAME, "ABC123",
             reason, "", "", WHEN, "search", "", ""] for i, reason in enumerate(HOSTILE)]
    release = write_flock_csv(tmp_path / "12_1_2025-12_31_2025-El_Cajon_CA_PD-Network-Audit.csv", rows)
    store = tmp_path / "hostile.db"
    assert cli("import", "--db", store, release).exit_code == 0
    assert cli("run", "--db", store).exit_code == 0
    return store


def assert_no_raw_control(text: str):
    assert not RAW_CONTROL.search(text.replace("\r\n", "\n")), repr(RAW_CONTROL.findall(text))


@pytest.mark.parametrize("fmt", ["md", "csv", "json", "html"])
def test_reports_carry_no_raw_control_character(hostile_store, tmp_path, fmt):
    out = tmp_path / f"r.{fmt}"
    assert cli("report", "--db", hostile_store, "--out", out).exit_code == 0
    text = out.read_text(encoding="utf-8")
    assert_no_raw_control(text)
    assert "pwned" in text  # the text is kept, made visible


def test_terminal_outputs_carry_no_raw_control_character(hostile_store):
    for args in (["explain", "--db", hostile_store, "1"], ["explain", "--db", hostile_store, "1", "--json"],
                 ["report", "--db", hostile_store, "--out", "-", "--format", "md"], ["classify", *HOSTILE],
                 ["classify", "--json", *HOSTILE]):
        result = cli(*args)
        assert result.exit_code == 0, result.output
        assert_no_raw_control(result.output)


# --- 6. text is normalized before it is tagged --------------------------------------------------


@pytest.mark.parametrize("reason", ["I.C.E. request", "I\u200bCE request", "I\u00adCE request", "ＩＣＥ request",
                                    "\u0406\u0421\u0415 request", "I\x1bCE request", "\u202eICE request"])
def test_unicode_forms_do_not_evade_the_immigration_patterns_and_evidence_quotes_the_original(reason):
    tags = {t.tag: t for t in default_classifier().classify(reason)}
    assert "immigration" in tags and "dhs_beneficiary" in tags
    assert tags["immigration"].evidence in reason


# --- 7. worksheets are validated ----------------------------------------------------------------


HEADER = "exercise,item,violation,rule,beneficiary"


@pytest.mark.parametrize("text,message", [
    (f"{HEADER},violation\nex1,1,yes,ca.sb34.sharing,,no\n", "violation appear more than once"),
    (f"{HEADER},colour\nex1,1,yes,ca.sb34.sharing,,red\n", "unknown column(s) colour"),
    (f"{HEADER}\nex1,1,yes\n", "line 2 has 3 field(s), the header has 5"),
    (f"{HEADER}\nex1,1,yes,ca.sb34.sharing,,extra\n", "line 2 has 6 field(s)"),
    ("exercise,item,rule,beneficiary\nex1,1,none,\n", "missing column(s) violation"),
])
def test_malformed_worksheets_are_one_line_errors(tmp_path, text, message):
    sheet = tmp_path / "filled.csv"
    sheet.write_text(text)
    with pytest.raises(InputError) as raised:
        read_worksheet(sheet)
    assert message in str(raised.value) and "\n" not in str(raised.value)


# --- 8. pseudonymization ------------------------------------------------------------------------


def identifiers(store: Path) -> dict[str, set[str]]:
    con = sqlite3.connect(store)
    return {column: {v for (v,) in con.execute(f"SELECT DISTINCT {column} FROM searches WHERE {column} IS NOT NULL")}
            for column in ("plate", "user", "case_number")}


@pytest.mark.parametrize("fmt", ["html", "md", "json", "csv"])
def test_pseudonymized_reports_carry_no_plate_officer_or_case_number(store, tmp_path, key_file, fmt):
    values = identifiers(store)
    assert all(values.values())
    # A reason that names an officer, a plate and a case number, on a search every format shows.
    con = sqlite3.connect(store)
    search_id, user, plate = con.execute(
        "SELECT s.id, s.user, s.plate FROM findings f JOIN searches s ON s.id = f.search_id "
        "WHERE s.user IS NOT NULL AND s.plate IS NOT NULL ORDER BY f.id LIMIT 1").fetchone()
    case = sorted(values["case_number"])[0]
    reason_id = con.execute("INSERT INTO reasons (text) VALUES (?)", [f"assist {user} re {plate} case {case}"]).lastrowid
    con.execute("UPDATE searches SET reason_id = ? WHERE id = ?", [reason_id, search_id])
    con.commit()
    con.close()
    plain, masked = tmp_path / f"plain.{fmt}", tmp_path / f"masked.{fmt}"
    assert cli("report", "--db", store, "--out", plain).exit_code == 0
    result = cli("report", "--db", store, "--out", masked, "--key-file", key_file)
    assert result.exit_code == 0 and "pseudonymized" in result.output
    text = masked.read_text(encoding="utf-8")
    for column, found in values.items():
        assert leaked(text, found) == [], column
    assert len(leaked(plain.read_text(encoding="utf-8"), {user, plate, case})) == 3  # the test can fail
    if fmt != "csv":
        assert "Pseudonymized" in text


def test_pseudonymized_explain_and_export(store, tmp_path, key_file):
    values = set().union(*identifiers(store).values())
    ids = [r[0] for r in sqlite3.connect(store).execute(
        "SELECT id FROM searches WHERE user IS NOT NULL AND plate IS NOT NULL AND case_number IS NOT NULL LIMIT 3")]
    assert ids
    for search_id in ids:
        by_env = cli("explain", "--db", store, search_id, "--pseudonymize", env={KEY_ENV: key_file.read_text().strip()})
        by_file = cli("explain", "--db", store, search_id, "--key-file", key_file, "--json")
        for result in (by_env, by_file):
            assert result.exit_code == 0 and "OFFICER-" in result.output and not leaked(result.output, values)
    from simulator.export import export_owner_logs

    db = open_store(store)
    paths = export_owner_logs(db, tmp_path / "logs", Pseudonymizer.from_store(db, key_file.read_bytes().strip()))
    for path in paths:
        assert not leaked(path.read_text(encoding="utf-8"), values)


def test_one_value_has_one_token_so_repeat_targets_still_count(store, tmp_path, key_file):
    out = tmp_path / "masked.json"
    assert cli("report", "--db", store, "--out", out, "--key-file", key_file).exit_code == 0
    report = json.loads(out.read_text())
    findings = next(s for s in report["sections"] if s["id"] == "findings")
    rows = [r for s in findings["rules"] if s["scope"] != "aggregate" for r in s["rows"] if r["user"]]
    con = sqlite3.connect(store)
    key = key_file.read_bytes().strip()
    p = Pseudonymizer(key)
    for row in rows[:50]:
        user = con.execute("SELECT user FROM searches WHERE id = ?", [row["search_id"]]).fetchone()[0]
        assert row["user"] == p.token("officer", user)
    assert Pseudonymizer(b"another-key-sixteen+").token("plate", "ABC123") != p.token("plate", "ABC123")


def test_pseudonymizing_without_a_key_is_a_one_line_error(store, tmp_path, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    assert_one_line_error(cli("report", "--db", store, "--out", tmp_path / "r.html", "--pseudonymize"))
    short = tmp_path / "short.key"
    short.write_text("tiny")
    assert_one_line_error(cli("report", "--db", store, "--out", tmp_path / "r.html", "--key-file", short))
    assert not (tmp_path / "r.html").exists()
