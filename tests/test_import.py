"""Importing released logs: formats, quirks, provenance, de-duplication, re-import, interruption."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import write_flock_csv
from click.testing import CliRunner

from auditor.cli import audit
from auditor.errors import InputError
from auditor.importers import ImportOptions, import_file
from auditor.schema import open_store

FIXTURES = Path(__file__).parent / "fixtures" / "releases"
EL_CAJON = FIXTURES / "12_1_2025-12_31_2025-El_Cajon_CA_PD-Network-Audit.csv"
OKALOOSA = FIXTURES / "11_1_2025-12_8_2025-Okaloosa_County_FL_SO-Audit_EXTRACTED.csv"


@pytest.fixture
def db(tmp_path):
    return open_store(tmp_path / "store.db", create=True)


write_network_audit = write_flock_csv  # classic header, CRLF records


def search_row(uuid: str, org: str, when: str = "12/08/2025, 05:28:52 PM UTC", reason: str = "investigation") -> list[str]:
    frame = "12/01/2025, 05:28:52 PM UTC\n" + when
    return [uuid, "", org, "120", frame, "", reason, "", "", when, "search", "", ""]


def q(db, sql, *args):
    return db.execute(sql, list(args)).fetchall()


# --- one Network Audit with every quirk -------------------------------------------------------------

def test_network_audit_account_balances_with_padding_and_bad_rows_rejected(db):
    [acc] = import_file(db, EL_CAJON)
    assert (acc.rows_read, acc.rows_imported, acc.rows_rejected, acc.rows_padding) == (6, 3, 2, 1)
    assert acc.balanced and acc.format == "flock_audit" and acc.audit_kind == "network"
    assert acc.producer == "El Cajon CA PD"
    why = dict(q(db, "SELECT row_number, why FROM rejects"))
    assert 4 not in why  # the empty record is padding, counted apart from rejects
    assert q(db, "SELECT rows_padding FROM releases") == [(1,)]
    assert any(n.startswith("1 padding records") and "rows 4" in n for n in acc.notes)
    assert why[7] == "search time not understood: 'yesterday'"


def test_non_numeric_networks_is_rejected_with_the_column_named(db):
    import_file(db, EL_CAJON)
    [(why,)] = q(db, "SELECT why FROM rejects WHERE row_number = 6")
    assert why == "Total Networks Searched not a number: 'abc'"


def test_excel_floats_become_whole_numbers_and_case_numbers(db):
    import_file(db, EL_CAJON)
    [(networks, case)] = q(db, "SELECT networks, case_number FROM searches WHERE uuid LIKE '%0001'")
    assert networks == 5738 and case == "25013924"


def test_one_cell_time_frame_with_lf_inside_crlf_records_is_split(db):
    import_file(db, EL_CAJON)
    [row] = q(db, "SELECT time, time_frame_start, time_frame_end FROM searches WHERE uuid LIKE '%0001'")
    assert row == ("2025-12-08T17:28:52Z", "2025-12-01T17:28:52Z", "2025-12-08T17:28:52Z")


def test_redaction_markers_are_null_and_listed_apart_from_blanks(db):
    import_file(db, EL_CAJON)
    rows = dict(q(db, "SELECT substr(uuid, -1), redacted FROM searches"))
    assert rows["1"] == "user"  # *** user; the blank plate is not redacted
    assert rows["2"] == "plate"  # REDACTED
    assert rows["3"] == "user,plate"  # (b)(6) and ' REDACTED' with a leading space


def test_short_row_is_padded_and_imported(db):
    [acc] = import_file(db, EL_CAJON)
    [(row_number, basis)] = q(db, "SELECT si.row_number, si.link_basis FROM sightings si JOIN searches s "
                                  "ON s.id = si.search_id WHERE s.uuid LIKE '%0003'")
    assert row_number == 5 and basis == "new"
    assert any("lacked trailing fields" in n for n in acc.notes)


def test_dropdown_reason_kept_verbatim(db):
    import_file(db, EL_CAJON)
    texts = {t for (t,) in q(db, "SELECT text FROM reasons")}
    assert "Trespass, Motor Vehicle Theft/Stolen" in texts
    assert "Immigration (civil/administrative) - assist" in texts


def test_network_audit_producer_owns_every_search(db):
    import_file(db, EL_CAJON)
    owners = q(db, "SELECT DISTINCT a.name FROM search_owners so JOIN agencies a ON a.id = so.owner_id")
    assert owners == [("El Cajon CA PD",)]
    assert q(db, "SELECT count(*) FROM search_owners") == [(3,)]


# --- Organization Audit ---------------------------------------------------------------------------

def test_org_audit_with_underscore_headers_and_split_frame(db):
    [acc] = import_file(db, OKALOOSA)
    assert acc.audit_kind == "organization" and acc.producer == "Okaloosa County FL SO"
    assert q(db, "SELECT count(*) FROM search_owners") == [(0,)]
    [row] = q(db, "SELECT networks, devices, time_frame_start, time_frame_end FROM searches WHERE uuid LIKE '23d5%'")
    assert row == (840, 17652, "2025-11-13T22:00:17Z", "2025-11-14T10:00:17Z")


def test_org_audit_row_without_org_name_is_the_producers_search(db):
    import_file(db, OKALOOSA)
    [(name,)] = q(db, "SELECT a.name FROM searches s JOIN agencies a ON a.id = s.searcher_id WHERE uuid LIKE '0c8a%'")
    assert name == "Okaloosa County FL SO"


def test_a_column_the_release_lacks_is_withheld_not_blank(db):
    import_file(db, OKALOOSA)  # the extracted Organization Audit has no Name or License Plate column
    [(redacted,)] = q(db, "SELECT DISTINCT redacted FROM searches")
    assert redacted.split(",") == ["user", "case_number", "plate"]


# --- portal, sharing --------------------------------------------------------------------------------

def test_portal_audit_redacted_user_and_url_debris_reason(db):
    [acc] = import_file(db, FIXTURES / "portal_search_audit.csv", ImportOptions(producer="San Mateo CA PD"))
    assert acc.format == "portal_audit" and acc.rows_imported == 2
    rows = q(db, "SELECT s.time, s.user, s.redacted, r.text FROM searches s JOIN reasons r ON r.id = s.reason_id ORDER BY s.time")
    # user: the cell says `***`; case number and plate: the portal export has no such columns.
    assert rows[0] == ("2026-03-10T04:31:52Z", None, "user,case_number,plate", "person+crime")
    assert rows[1][0] == "2026-03-10T12:41:15Z"


def test_portal_without_producer_stops_and_asks_for_it(db):
    # Before: the searcher became a placeholder agency `[producer of search_audit]`, mapped and judged.
    with pytest.raises(InputError, match="does not name its agency: give --producer NAME"):
        import_file(db, FIXTURES / "portal_search_audit.csv")
    assert q(db, "SELECT count(*) FROM releases") == [(0,)] and q(db, "SELECT count(*) FROM agencies") == [(0,)]


def test_portal_without_producer_is_one_line_and_exit_2_at_the_cli(tmp_path):
    result = run_cli("--db", tmp_path / "s.db", FIXTURES / "portal_search_audit.csv")
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "Error: portal_search_audit.csv: a portal search audit does not name its agency: give --producer NAME "
        "(the agency whose transparency portal published it)"]


SHARING_LIST = FIXTURES / "El_Cajon_CA_PD-Sharing-List.csv"


def test_sharing_list_is_read_from_its_holders_side(db):
    # The holder (El Cajon, from the file name) lists other organizations: their networks shared
    # with it, and its own networks it shares with them.
    [acc] = import_file(db, SHARING_LIST)
    pairs = set(q(db, "SELECT o.name, g.name FROM shares s JOIN agencies o ON o.id = s.owner_id "
                      "JOIN agencies g ON g.id = s.grantee_id"))
    assert pairs == {
        ("Alachua FL PD", "El Cajon CA PD"), ("San Diego CA SO", "El Cajon CA PD"),
        ("El Cajon CA PD", "San Diego CA SO"), ("El Cajon CA PD", "Raleigh NC PD"),
        ("El Cajon CA PD", "Ocala FL PD"), ("El Cajon CA PD", "[Federal] US Border Patrol Blaine"),
    }
    assert acc.producer == "El Cajon CA PD" and acc.shares == 7 and acc.balanced


def test_sharing_list_without_a_holder_says_so(db, tmp_path):
    unnamed = tmp_path / "sharing.csv"
    unnamed.write_bytes(SHARING_LIST.read_bytes())
    [acc] = import_file(db, unnamed)
    assert acc.producer.startswith("[producer of") and any("does not name its holder" in n for n in acc.notes)


def test_a_one_to_one_share_with_border_patrol_is_a_front_door(db, tmp_path):
    from auditor.scan import run_audit

    import_file(db, SHARING_LIST)
    audit = write_network_audit(tmp_path / "1_1_2025-12_31_2025-El_Cajon_CA_PD-Network-Audit.csv",
                                [search_row("cccccccc-0000-4000-8000-000000000003", "[Federal] US Border Patrol Blaine")])
    import_file(db, audit)
    summary = run_audit(db)
    assert summary.findings_by_rule["door.front"]["searches"] == 1
    assert summary.findings_by_rule["door.back"]["searches"] == 0
    assert summary.findings_by_rule["share.dhs_direct"]["findings"] == 1


# --- de-duplication, re-import ---------------------------------------------------------------------

def test_same_uuid_in_two_owners_network_audits_is_one_search_two_owners(db, tmp_path):
    rows = [search_row("aaaaaaaa-0000-4000-8000-000000000001", "Raleigh NC PD")]
    a = write_network_audit(tmp_path / "x-El_Cajon_CA_PD-Network-Audit.csv", rows)
    # The other owner's file also holds a search El Cajon's does not (different bytes, different release).
    other = search_row("bbbbbbbb-0000-4000-8000-000000000002", "Dallas TX PD")
    b = write_network_audit(tmp_path / "x-Ukiah_CA_PD-Network-Audit.csv", rows + [other])
    import_file(db, a)
    [acc] = import_file(db, b)
    assert acc.new_searches == 1
    shared = "SELECT id FROM searches WHERE uuid LIKE 'aaaa%'"
    assert q(db, f"SELECT count(*) FROM search_owners WHERE search_id = ({shared})") == [(2,)]
    assert sorted(q(db, f"SELECT link_basis FROM sightings WHERE search_id = ({shared})")) == [("new",), ("uuid",)]


def test_redacted_uuid_links_by_fallback_key(db, tmp_path):
    a = write_network_audit(tmp_path / "x-El_Cajon_CA_PD-Network-Audit.csv", [search_row("***", "Raleigh NC PD")])
    b = write_network_audit(tmp_path / "x-Ukiah_CA_PD-Network-Audit.csv", [search_row("", "Raleigh NC PD")])
    import_file(db, a)
    import_file(db, b)
    assert q(db, "SELECT count(*), count(dedup_key) FROM searches") == [(1, 1)]
    assert sorted(q(db, "SELECT link_basis FROM sightings")) == [("fallback_key",), ("new",)]


def test_different_second_is_a_different_search(db, tmp_path):
    a = write_network_audit(tmp_path / "x-El_Cajon_CA_PD-Network-Audit.csv", [
        search_row("", "Raleigh NC PD", "12/08/2025, 05:28:52 PM UTC"),
        search_row("", "Raleigh NC PD", "12/08/2025, 05:28:53 PM UTC")])
    import_file(db, a)
    assert q(db, "SELECT count(*) FROM searches") == [(2,)]


def officer_row(uuid: str, user: str, plate: str, reason: str) -> list[str]:
    """A Dallas TX PD search at 05:28:52 PM over 120 networks, by the given officer, plate and reason."""
    when = "01/05/2026, 05:28:52 PM UTC"
    return [uuid, user, "Dallas TX PD", "120", "12/29/2025, 05:28:52 PM UTC\n" + when, plate, reason, "", "",
            when, "search", "", ""]


def test_two_redacted_rows_of_one_release_in_the_same_second_stay_two_searches(db, tmp_path):
    f = write_network_audit(tmp_path / "x-El_Cajon_CA_PD-Network-Audit.csv", [
        officer_row("REDACTED", "ofc.a", "AAA111", "stolen vehicle"),
        officer_row("REDACTED", "ofc.b", "BBB222", "ICE")])
    [acc] = import_file(db, f)
    assert acc.new_searches == 2
    assert q(db, "SELECT s.user, s.plate, r.text FROM searches s JOIN reasons r ON r.id = s.reason_id ORDER BY s.id") == [
        ("ofc.a", "AAA111", "stolen vehicle"), ("ofc.b", "BBB222", "ICE")]


def test_identical_redacted_rows_of_one_release_are_two_log_entries(db, tmp_path):
    same = officer_row("***", "ofc.a", "AAA111", "stolen vehicle")
    [acc] = import_file(db, write_network_audit(tmp_path / "x-El_Cajon_CA_PD-Network-Audit.csv", [same, same]))
    assert acc.new_searches == 2


@pytest.mark.parametrize("field, other", [(1, "ofc.b"), (5, "BBB222"), (6, "ICE")],
                         ids=["officer", "plate", "reason"])
def test_fallback_key_link_is_refused_when_officer_plate_or_reason_differ(db, tmp_path, field, other):
    first = officer_row("***", "ofc.a", "AAA111", "stolen vehicle")
    second = list(first)
    second[0], second[field] = "", other
    import_file(db, write_network_audit(tmp_path / "x-El_Cajon_CA_PD-Network-Audit.csv", [first]))
    [acc] = import_file(db, write_network_audit(tmp_path / "x-Ukiah_CA_PD-Network-Audit.csv", [second]))
    assert acc.new_searches == 1
    assert q(db, "SELECT link_basis FROM sightings WHERE release_id = ?", acc.release_id) == [("new",)]


def test_fallback_key_links_when_the_later_release_withholds_officer_and_plate(db, tmp_path):
    # From December 2025 Flock strips officer names and plates from Network Audits: blank is not a conflict.
    import_file(db, write_network_audit(tmp_path / "x-El_Cajon_CA_PD-Network-Audit.csv",
                                        [officer_row("***", "ofc.a", "AAA111", "stolen vehicle")]))
    [acc] = import_file(db, write_network_audit(tmp_path / "x-Ukiah_CA_PD-Network-Audit.csv",
                                                [officer_row("", "", "", "stolen vehicle")]))
    assert acc.new_searches == 0
    assert q(db, "SELECT link_basis FROM sightings WHERE release_id = ?", acc.release_id) == [("fallback_key",)]


def test_row_with_uuid_does_not_adopt_a_redacted_search_of_another_officer(db, tmp_path):
    import_file(db, write_network_audit(tmp_path / "x-El_Cajon_CA_PD-Network-Audit.csv",
                                        [officer_row("***", "ofc.a", "AAA111", "stolen vehicle")]))
    uuid = "cccccccc-0000-4000-8000-000000000003"
    [acc] = import_file(db, write_network_audit(tmp_path / "x-Ukiah_CA_PD-Network-Audit.csv",
                                                [officer_row(uuid, "ofc.b", "BBB222", "ICE")]))
    assert acc.new_searches == 1
    assert q(db, "SELECT uuid FROM searches ORDER BY id") == [(None,), (uuid,)]


def test_reimport_same_file_changes_nothing(db):
    import_file(db, EL_CAJON)
    before = [q(db, f"SELECT count(*) FROM {t}") for t in ("searches", "sightings", "rejects", "releases")]
    [acc] = import_file(db, EL_CAJON)
    assert acc.status == "already imported"
    assert [q(db, f"SELECT count(*) FROM {t}") for t in ("searches", "sightings", "rejects", "releases")] == before


# --- bad input --------------------------------------------------------------------------------------

def run_cli(*args):
    return CliRunner().invoke(audit, ["import", *map(str, args)])


def test_unknown_layout_is_one_line_error_exit_2(tmp_path):
    f = tmp_path / "odd.csv"
    f.write_text("Plate,When\nABC123,today\n")
    result = run_cli("--db", tmp_path / "s.db", f)
    assert result.exit_code == 2
    assert result.output.startswith("Error: odd.csv: unknown layout") and "'Plate', 'When'" in result.output
    assert result.output.count("\n") == 1


def test_empty_file_is_one_line_error(tmp_path):
    f = tmp_path / "empty.csv"
    f.write_bytes(b"")
    result = run_cli("--db", tmp_path / "s.db", f)
    assert result.exit_code == 2 and "empty file" in result.output


def test_flock_event_log_xlsx_says_it_has_no_search_rows(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.active.append(["Timestamp", "User", "Event Type", "Entity Type", "Entity Details"])
    book.active.append([45888.5, "Lopez, F", "create", "Custom Hotlist Entry", "Hotlist Name: X\n"])
    book.save(tmp_path / "events.xlsx")
    result = run_cli("--db", tmp_path / "s.db", tmp_path / "events.xlsx")
    assert result.exit_code == 2 and "no search rows" in result.output


def test_latin1_file_imports_and_notes_the_encoding(db, tmp_path):
    f = tmp_path / "x-El_Cajon_CA_PD-Network-Audit.csv"
    write_network_audit(f, [search_row("", "Raleigh NC PD", reason="investigaci\u00f3n")])
    f.write_bytes(f.read_text().encode("latin-1"))
    [acc] = import_file(db, f)
    assert acc.rows_imported == 1 and any("cp1252" in n for n in acc.notes)
    assert q(db, "SELECT text FROM reasons") == [("investigaci\u00f3n",)]


def test_json_account_balances(tmp_path):
    import json
    result = run_cli("--db", tmp_path / "s.db", "--json", EL_CAJON, OKALOOSA)
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["totals"] == {"rows_read": 8, "rows_imported": 5, "rows_rejected": 2, "rows_padding": 1, "balanced": True,
                              "imported_releases": 2, "already_imported": 0, "refused": 0}


# --- the loader's cached time parser agrees with auditor.timefmt ----------------------------------------

@pytest.mark.parametrize("text", [
    "01/05/2026, 05:28:52 PM UTC", "12/31/2025, 12:00:00 AM UTC", "12/31/2025, 12:59:59 PM UTC",
    "13/01/2025, 01:00:00 AM UTC", "01/05/2026, 00:28:52 PM UTC", "01/05/2026, 05:61:52 PM UTC",
    "2025-06-18 00:02:04.789", "2026-03-10T05:17:06.087Z", "garbage", "",
    "01/05/2026, 05:28:52 PM PST", "01/05/2026, 05:28:52 PM", "01/05/2026, 05:28:52 PM utc",
    "02/31/2025, 01:00:00 PM UTC", "02/29/2024, 01:00:00 PM UTC", "02/29/2025, 01:00:00 PM UTC",
    "01/05/2026, 05:28:52 PM UTC+8", "2025-02-31 01:00:00", "2026-03-10T05:17:06+08:00",
])
def test_cached_time_parser_agrees_with_timefmt(text):
    from auditor.importers.cells import TimeParser
    from auditor.importers.dates import Unreadable, read_time
    from auditor.timefmt import parse_flock_time
    parser = TimeParser()
    try:
        expected = read_time(text.strip())
    except Unreadable:
        expected = None
    if text.endswith(" UTC") and "/" in text:  # the vendor's own form: the cache agrees with timefmt too
        assert expected == parse_flock_time(text)
    assert parser(text) == expected
    assert parser(text) == expected  # the second call is answered from the cached halves


def test_cached_halves_combine_into_other_valid_times():
    from auditor.importers.cells import TimeParser
    parser = TimeParser()
    parser("01/05/2026, 05:28:52 PM UTC")
    parser("12/31/2025, 11:00:00 AM UTC")
    assert parser("12/31/2025, 05:28:52 PM UTC") == "2025-12-31T17:28:52Z"
    assert parser("01/05/2026, 11:00:00 AM UTC") == "2026-01-05T11:00:00Z"
    assert parser(" 01/05/2026, 11:00:00 AM UTC") == "2026-01-05T11:00:00Z"  # leading space: slow path


def test_cached_day_half_is_not_reused_for_a_clock_in_another_zone():
    from auditor.importers.cells import TimeParser
    parser = TimeParser()
    assert parser("01/05/2026, 05:28:52 PM UTC") == "2026-01-05T17:28:52Z"
    # the day is cached; a clock in another zone never is: PST is read with its offset, IST refused
    assert parser("01/05/2026, 05:28:52 PM PST") == "2026-01-06T01:28:52Z"
    assert parser("01/05/2026, 05:28:52 PM IST") is None
    assert parser("01/05/2026, 05:28:52 PM IST") is None


# --- times that must not be stored ------------------------------------------------------------------

def one_row_audit(tmp_path: Path, when: str, frame_end: str | None = None) -> Path:
    row = search_row("", "Dallas TX PD")
    row[9] = when
    if frame_end is not None:
        row[4] = "12/01/2025, 05:28:52 PM UTC\n" + frame_end
    return write_network_audit(tmp_path / "x-El_Cajon_CA_PD-Network-Audit.csv", [row])


def test_search_time_in_a_us_zone_is_converted_with_its_offset(db, tmp_path):
    [acc] = import_file(db, one_row_audit(tmp_path, "01/05/2026, 05:28:52 PM PST"))
    assert (acc.rows_imported, acc.rows_rejected) == (1, 0)
    assert q(db, "SELECT time FROM searches") == [("2026-01-06T01:28:52Z",)]


def test_search_time_in_a_zone_without_one_offset_is_rejected_not_shifted(db, tmp_path):
    [acc] = import_file(db, one_row_audit(tmp_path, "01/05/2026, 05:28:52 PM IST"))
    assert (acc.rows_imported, acc.rows_rejected) == (0, 1)
    [(why,)] = q(db, "SELECT why FROM rejects")
    assert why.startswith("Search Time zone 'IST' is not one with a single known offset")
    assert q(db, "SELECT count(*) FROM searches") == [(0,)]


def test_search_time_on_an_impossible_date_is_rejected(db, tmp_path):
    [acc] = import_file(db, one_row_audit(tmp_path, "02/31/2025, 01:00:00 PM UTC"))
    assert (acc.rows_imported, acc.rows_rejected) == (0, 1)
    assert q(db, "SELECT why FROM rejects") == [("Search Time not a calendar date: '02/31/2025, 01:00:00 PM UTC'",)]


def test_leap_day_is_a_real_date(db, tmp_path):
    [acc] = import_file(db, one_row_audit(tmp_path, "02/29/2024, 01:00:00 PM UTC", "02/29/2024, 01:00:00 PM UTC"))
    assert acc.rows_imported == 1
    assert q(db, "SELECT time FROM searches") == [("2024-02-29T13:00:00Z",)]


def test_time_frame_end_in_a_local_zone_is_rejected_with_the_column_named(db, tmp_path):
    [acc] = import_file(db, one_row_audit(tmp_path, "12/08/2025, 05:28:52 PM UTC", "12/08/2025, 05:28:52 PM IST"))
    assert acc.rows_rejected == 1
    [(why,)] = q(db, "SELECT why FROM rejects")
    assert why.startswith("Time Frame zone 'IST' is not one with a single known offset") and why.endswith(
        ": '12/08/2025, 05:28:52 PM IST'")


def test_good_rows_after_a_bad_zone_on_the_same_day_still_import(db, tmp_path):
    rows = [search_row("", "Dallas TX PD", "12/08/2025, 05:28:52 PM UTC"),
            search_row("", "Dallas TX PD", "12/08/2025, 05:28:53 PM BST"),
            search_row("", "Dallas TX PD", "12/08/2025, 05:28:54 PM UTC")]
    [acc] = import_file(db, write_network_audit(tmp_path / "x-El_Cajon_CA_PD-Network-Audit.csv", rows))
    assert (acc.rows_imported, acc.rows_rejected) == (2, 1)
    assert q(db, "SELECT time FROM searches ORDER BY time") == [("2025-12-08T17:28:52Z",), ("2025-12-08T17:28:54Z",)]


def test_portal_iso_time_on_an_impossible_date_is_rejected(db, tmp_path):
    f = tmp_path / "eugene-portal-audit.csv"
    f.write_text('"id","userId","searchDate","cameraCount","reason"\n'
                 '"1","***","2025-06-18 00:02:04.789","12","theft"\n'
                 '"2","***","2025-02-31 00:02:04.789","12","theft"\n')
    [acc] = import_file(db, f, ImportOptions(producer="Eugene OR PD"))
    assert (acc.rows_imported, acc.rows_rejected) == (1, 1)
    assert q(db, "SELECT why FROM rejects") == [("searchDate not a calendar date: '2025-02-31 00:02:04.789'",)]


# --- interruption ------------------------------------------------------------------------------------

def test_killed_import_leaves_store_usable_and_retry_completes(tmp_path):
    big = tmp_path / "x-El_Cajon_CA_PD-Network-Audit.csv"
    subprocess.run([sys.executable, str(Path(__file__).parents[1] / "benchmarks" / "gen_network_audit.py"),
                    "120000", str(big)], check=True)
    store = tmp_path / "s.db"
    proc = subprocess.Popen([sys.executable, "-c", "from auditor.cli import main; main()",
                             "import", "--db", str(store), str(big)], stdout=subprocess.DEVNULL)
    deadline = time.time() + 30
    while time.time() < deadline:  # kill once the release is marked `importing`, i.e. mid-load
        try:
            if sqlite3.connect(store).execute("SELECT count(*) FROM releases WHERE status='importing'").fetchone()[0]:
                break
        except sqlite3.Error:
            pass
        time.sleep(0.05)
    time.sleep(0.5)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    db = open_store(store)
    assert q(db, "SELECT status FROM releases") in ([("importing",)], [])
    [acc] = import_file(db, big)
    assert acc.status == "complete" and acc.rows_imported == 120000
    assert q(db, "SELECT count(*) FROM sightings") == [(120000,)]
    assert q(db, "SELECT count(*), min(status) FROM releases") == [(1, "complete")]


def test_run_and_report_complete_on_a_store_whose_only_import_was_killed(tmp_path):
    big = tmp_path / "x-El_Cajon_CA_PD-Network-Audit.csv"
    subprocess.run([sys.executable, str(Path(__file__).parents[1] / "benchmarks" / "gen_network_audit.py"),
                    "60000", str(big)], check=True)
    store = tmp_path / "s.db"
    cli = [sys.executable, "-c", "from auditor.cli import main; main()"]
    proc = subprocess.Popen(cli + ["import", "--db", str(store), str(big)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 30
    while time.time() < deadline:  # stop it once the release is marked `importing`, i.e. mid-load
        try:
            if sqlite3.connect(store).execute("SELECT count(*) FROM releases WHERE status='importing'").fetchone()[0]:
                break
        except sqlite3.Error:
            pass
        time.sleep(0.05)
    time.sleep(0.3)
    proc.terminate()  # SIGTERM, as a timeout or a closed terminal sends it
    _, err = proc.communicate()
    time.sleep(0.5)  # a resource tracker would print its warnings after the parent died
    assert "leaked semaphore" not in err
    db = open_store(store)
    if q(db, "SELECT status FROM releases") != [("importing",)]:
        pytest.skip("the import finished before it could be stopped on this machine")
    run = subprocess.run(cli + ["run", "--db", str(store)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "Unfinished import: 1 release(s) (x-El_Cajon_CA_PD-Network-Audit.csv)" in run.stdout
    assert "leaked semaphore" not in run.stderr
    for fmt in ("html", "md", "json", "csv"):
        out = tmp_path / f"report.{fmt}"
        done = subprocess.run(cli + ["report", "--db", str(store), "--out", str(out)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        text = out.read_text()
        assert str(tmp_path) not in text  # the store is named by its file name, never its folders
    html = (tmp_path / "report.html").read_text()
    assert "<title>proxytrace report: s.db</title>" in html and "did not finish importing" in html
