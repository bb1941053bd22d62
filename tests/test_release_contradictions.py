"""Releases that contradict each other: an own-search log against other owners' Network Audits, two
releases of one log for one period, a sharing list against observed access."""
from __future__ import annotations

import csv

import pytest

from auditor.importers import ImportOptions, import_file, import_files
from auditor.rules import load_rules
from auditor.scan import run_audit
from auditor.schema import open_store
from auditor.timefmt import flock_time, parse_store_time
from conftest import write_flock_csv
from simulator.export import NETWORK_AUDIT_HEADER, export_network_audit, focal_owners
from simulator.generate import simulate
from simulator.scenario import load_scenario

RELEASE_RULES = [r for r in load_rules() if r.id.startswith(("release.", "share.unlisted", "share.listed"))]


def findings(db, rule_id: str) -> list[tuple]:
    return db.execute("SELECT a.name, f.subject, f.searches, f.detail FROM findings f "
                      "LEFT JOIN agencies a ON a.id = f.agency_id WHERE f.rule_id = ? ORDER BY f.id", [rule_id]).fetchall()


def row(uuid: str, org: str, when: str, reason: str = "stolen vehicle") -> list[str]:
    return [uuid, "", org, "12", f"{when}\n{when}", "", reason, "", "", when, "search", "", ""]


def t(minute: int) -> str:
    """A Flock time ``minute`` minutes after 1 PM UTC on March 1, 2025 (up to 10 hours)."""
    return f"03/01/2025, {1 + minute // 60:02d}:{minute % 60:02d}:00 PM UTC"


@pytest.fixture
def db(tmp_path):
    return open_store(tmp_path / "store.db", create=True)


# --- own-search log against Network Audits: the simulator's exports ----------------------------------

@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """El Cajon's Network Audit from a simulated store, and the busiest searcher in it."""
    folder = tmp_path_factory.mktemp("sim")
    simulate(load_scenario("el_cajon"), folder / "sim.db", seed=4, scale=0.02)
    sim = open_store(folder / "sim.db")
    owner = focal_owners(sim)[0]
    audit = export_network_audit(sim, owner, folder)
    searcher, name = sim.execute(
        "SELECT s.searcher_id, a.name FROM search_owners so JOIN searches s ON s.id = so.search_id "
        "JOIN agencies a ON a.id = s.searcher_id WHERE so.owner_id = ? AND s.searcher_id <> ? "
        "GROUP BY s.searcher_id ORDER BY count(*) DESC LIMIT 1", [owner, owner]).fetchone()
    return sim, folder, audit, searcher, name


def own_log(sim, folder, searcher: int, name: str, drop: set[str]) -> str:
    """The searcher's Organization Audit (every search it ran), less the searches whose UUID is in ``drop``."""
    path = folder / f"1_1_2025-12_31_2025-{name.replace(' ', '_')}-Audit.csv"
    rows = sim.execute(
        "SELECT s.uuid, s.user, a.name, s.networks, s.time_frame_start, s.time_frame_end, s.plate, r.text, "
        "s.case_number, s.time, s.search_type FROM searches s JOIN agencies a ON a.id = s.searcher_id "
        "LEFT JOIN reasons r ON r.id = s.reason_id WHERE s.searcher_id = ? ORDER BY s.time", [searcher]).fetchall()
    f = lambda v: flock_time(parse_store_time(v)) if v else ""  # noqa: E731
    with open(path, "w", newline="") as fh:
        out = csv.writer(fh, lineterminator="\r\n")
        out.writerow(NETWORK_AUDIT_HEADER)
        for uid, user, org, nets, a, b, plate, reason, case, when, stype in rows:
            if uid not in drop:
                out.writerow([uid, user or "", org, nets, f"{f(a)}\n{f(b)}" if a else "", plate or "", reason or "",
                              case or "", "", f(when), stype or "", "", ""])
    return path


def test_searches_an_own_log_omits_are_found_in_the_owners_network_audit(exported, tmp_path):
    sim, folder, audit, searcher, name = exported
    touched = [u for (u,) in sim.execute(
        "SELECT s.uuid FROM search_owners so JOIN searches s ON s.id = so.search_id WHERE s.searcher_id = ? "
        "ORDER BY s.time", [searcher])]
    assert len(touched) > 20
    drop = set(touched[5:12])  # seven searches from the middle of the log
    db = open_store(tmp_path / "s.db", create=True)
    import_files(db, [audit, own_log(sim, tmp_path, searcher, name, drop)])
    run_audit(db, rules=RELEASE_RULES)
    [(agency, subject, n, detail)] = findings(db, "release.own_log_omits")
    assert agency == name and n == 7
    assert "Network Audits of El Cajon CA PD (7)" in detail and audit.name in detail and "-Audit.csv" in detail
    dropped_rows = {r for (r,) in db.execute(
        "SELECT g.row_number FROM sightings g JOIN searches s ON s.id = g.search_id JOIN releases r ON r.id = g.release_id "
        "WHERE r.audit_kind = 'network' AND s.uuid IN (SELECT value FROM json_each(?))", [__import__('json').dumps(sorted(drop))])}
    assert f"{audit.name} row {min(dropped_rows)}" in detail


def test_an_own_log_that_lists_every_search_has_no_omission(exported, tmp_path):
    sim, folder, audit, searcher, name = exported
    db = open_store(tmp_path / "s.db", create=True)
    import_files(db, [audit, own_log(sim, tmp_path, searcher, name, set())])
    run_audit(db, rules=RELEASE_RULES)
    assert findings(db, "release.own_log_omits") == []


def test_searches_outside_the_time_the_own_log_covers_are_not_omissions(db, tmp_path):
    network = write_flock_csv(tmp_path / "Owner_CA_PD-Network-Audit.csv", [
        row("u1", "Dallas TX PD", t(0)), row("u2", "Dallas TX PD", t(10)), row("u3", "Dallas TX PD", t(100))])
    own = write_flock_csv(tmp_path / "Dallas_TX_PD-Audit.csv", [row("u1", "Dallas TX PD", t(0)),
                                                               row("u2", "Dallas TX PD", t(10))])
    import_files(db, [network, own])
    run_audit(db, rules=RELEASE_RULES)
    assert findings(db, "release.own_log_omits") == []


def test_searches_without_a_uuid_are_not_called_omitted_when_the_own_log_cannot_match_them(db, tmp_path):
    network = write_flock_csv(tmp_path / "Owner_CA_PD-Network-Audit.csv", [
        row("u1", "Dallas TX PD", t(0)), row("", "Dallas TX PD", t(5)), row("u3", "Dallas TX PD", t(10))])
    own = tmp_path / "portal.csv"  # a portal log: no Time Frame to match a UUID-less row by
    own.write_text('id,userId,searchDate,networkCount,reason\n'
                   'u1,***,2025-03-01T13:00:00Z,12,stolen vehicle\nu3,***,2025-03-01T13:10:00Z,12,stolen vehicle\n')
    import_files(db, [network])
    import_file(db, own, ImportOptions(producer="Dallas TX PD"))
    run_audit(db, rules=RELEASE_RULES)
    assert findings(db, "release.own_log_omits") == []


# --- two releases of one log for one period ---------------------------------------------------------

def test_two_releases_of_one_network_audit_for_one_period_that_differ(db, tmp_path):
    rows = [row(f"v{i}", "Dallas TX PD", t(i * 10)) for i in range(6)]
    first = write_flock_csv(tmp_path / "3_1_2025-3_31_2025-Owner_CA_PD-Network-Audit.csv", rows)
    second = write_flock_csv(tmp_path / "3_1_2025-3_31_2025-Owner_CA_PD-Network-Audit (released again).csv",
                             rows[:2] + rows[3:] + [row("v9", "Raleigh NC PD", t(70), "ICE")])
    import_files(db, [first, second])
    run_audit(db, rules=RELEASE_RULES)
    [(agency, subject, n, detail)] = findings(db, "release.versions_differ")
    assert agency == "Owner CA PD" and n == 2
    assert f"1 searches only in {first.name} ({first.name} row 4)" in detail
    assert f"1 searches only in {second.name} ({second.name} row 7)" in detail


def test_a_re_release_with_the_same_searches_is_not_a_contradiction(db, tmp_path):
    rows = [row(f"v{i}", "Dallas TX PD", t(i * 10)) for i in range(4)]
    first = write_flock_csv(tmp_path / "3_1_2025-3_31_2025-Owner_CA_PD-Network-Audit.csv", rows)
    second = write_flock_csv(tmp_path / "3_1_2025-3_31_2025-Owner_CA_PD-Network-Audit-2.csv",
                             list(reversed(rows)) + [[""] * 13])  # re-ordered and padded
    import_files(db, [first, second])
    run_audit(db, rules=RELEASE_RULES)
    assert findings(db, "release.versions_differ") == []


def test_the_okaloosa_pdf_and_its_extracted_csv_are_one_log_without_contradiction(db):
    from conftest import realdata

    base = "okaloosa_fl_org_audit/11_1_2025-12_8_2025-Okaloosa_County_FL_SO-Audit"
    import_files(db, [realdata(base + ".pdf"), realdata(base + "_EXTRACTED.csv")])
    run_audit(db, rules=RELEASE_RULES)
    assert db.execute("SELECT count(*) FROM searches").fetchone() == (7273,)
    assert db.execute("SELECT count(*) FROM findings").fetchone() == (0,)


# --- a sharing list against observed access ---------------------------------------------------------

def sharing_list(path, rows):
    with open(path, "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["Organization Name", "Networks Shared With Me", "Networks I'm Sharing"])
        out.writerows(rows)
    return path


def test_a_sharing_list_against_the_searches_its_network_audit_shows(db, tmp_path):
    audit = write_flock_csv(tmp_path / "Owner_CA_PD-Network-Audit.csv", [
        row("w1", "Alpha CA PD", t(0)), row("w2", "Beta CA PD", t(10)), row("w3", "Alpha CA PD", t(20))])
    owner_list = sharing_list(tmp_path / "Owner_CA_PD-Sharing-List.csv",
                              [["Beta CA PD", "", "Owner CA PD"], ["Gamma CA PD", "", "Owner CA PD (Flex)"]])
    alpha_list = sharing_list(tmp_path / "Alpha_CA_PD-Sharing-List.csv", [["Owner CA PD", "Owner CA PD", ""]])
    import_files(db, [audit, owner_list, alpha_list])
    run_audit(db, rules=RELEASE_RULES)
    [(owner, subject, n, detail)] = findings(db, "share.unlisted_access")
    assert owner == "Owner CA PD" and n == 2 and "Alpha CA PD" in subject
    assert alpha_list.name in detail and owner_list.name in detail
    [(owner, subject, n, detail)] = findings(db, "share.listed_unused")
    assert owner == "Owner CA PD" and subject == "1 listed partners never seen searching" and detail.endswith("Gamma CA PD")


def test_a_sharing_list_whose_partners_all_search_is_not_flagged(db, tmp_path):
    audit = write_flock_csv(tmp_path / "Owner_CA_PD-Network-Audit.csv", [row("w1", "Beta CA PD", t(0))])
    owner_list = sharing_list(tmp_path / "Owner_CA_PD-Sharing-List.csv", [["Beta CA PD", "", "Owner CA PD"]])
    import_files(db, [audit, owner_list])
    run_audit(db, rules=RELEASE_RULES)
    assert findings(db, "share.unlisted_access") == [] and findings(db, "share.listed_unused") == []
