"""The simulator: scenario validation, the generated world and its truth, determinism, export.

Runs at small scales (the El Cajon year at --scale 0.02 is ~21,000 reads and ~2,300 searches).
"""
from __future__ import annotations

import csv
import hashlib
import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from auditor.timefmt import parse_flock_time
from simulator.cli import simulate as simulate_cli
from auditor.schema import open_store
from simulator.export import NETWORK_AUDIT_HEADER, export_owner_logs
from simulator.generate import simulate
from simulator.scenario import load_scenario
from simulator.traffic import plate_from_number

FIXTURES = Path(__file__).parent / "fixtures"
TINY = FIXTURES / "sim_tiny.toml"
SMALL = "0.02"


def run(*args: str) -> Result:
    return CliRunner().invoke(simulate_cli, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def el_cajon(tmp_path_factory) -> Path:
    """El Cajon at a classroom scale, with its exported logs."""
    folder = tmp_path_factory.mktemp("el_cajon")
    result = run("--scenario", "el_cajon", "--scale", SMALL, "--seed", "5", "--out", str(folder / "ec.db"),
                 "--export-dir", str(folder / "logs"))
    assert result.exit_code == 0, result.output
    return folder


@pytest.fixture(scope="module")
def db(el_cajon) -> sqlite3.Connection:
    conn = sqlite3.connect(el_cajon / "ec.db")
    yield conn
    conn.close()


def one(conn: sqlite3.Connection, sql: str, *params) -> int | float:
    return conn.execute(sql, params).fetchone()[0]


def table_digest(path: Path) -> str:
    """A hash of every simulator table, dumped in primary-key order."""
    conn = sqlite3.connect(path)
    digest = hashlib.sha256()
    for table in ("agencies", "devices", "reads", "shares", "reasons", "searches", "search_owners", "truth"):
        for row in conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2"):
            digest.update(repr(row).encode())
    conn.close()
    return digest.hexdigest()


# --- the store --------------------------------------------------------------------------------------


def test_every_canonical_input_table_is_filled(db):
    for table in ("agencies", "agency_names", "devices", "reads", "shares", "reasons", "searches",
                  "search_owners", "truth"):
        assert one(db, f"SELECT count(*) FROM {table}") > 0, table


def test_every_search_has_exactly_one_truth_row_and_consistent_keys(db):
    assert one(db, "SELECT count(*) FROM searches") == one(db, "SELECT count(*) FROM truth")
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []


def test_agencies_carry_vendor_names_and_are_resolved_by_the_scenario(db):
    names = {r[0] for r in db.execute("SELECT name FROM agencies")}
    assert {"El Cajon CA PD", "Raleigh NC PD", "Lowndes County GA SO", "Texas DPS",
            "[Federal] ICE ERO San Diego", "[Federal] HSI San Diego", "[Federal] US Border Patrol"} <= names
    assert one(db, "SELECT count(*) FROM agencies WHERE resolved_by != 'scenario' OR confidence != 1.0") == 0
    assert one(db, "SELECT count(*) FROM agencies WHERE level = 'federal' AND name NOT LIKE '[Federal] %'") == 0
    assert one(db, "SELECT dhs_component FROM agencies WHERE name = '[Federal] HSI San Diego'") == "HSI"
    assert one(db, "SELECT is_287g FROM agencies WHERE name = 'Lowndes County GA SO'") == 1


def test_el_cajon_shares_statewide_and_nationally_and_never_directly_with_federal_agencies(db):
    scopes = {r[0] for r in db.execute(
        "SELECT scope FROM shares JOIN agencies a ON a.id = owner_id WHERE a.name = 'El Cajon CA PD'")}
    assert scopes == {"statewide", "national"}


def test_the_same_plate_is_read_repeatedly_at_plausible_places(db):
    # Commuters and locals come back: the most-read plate is seen on many days, on more than one camera.
    plate, days, cams = db.execute(
        "SELECT plate, count(DISTINCT substr(time, 1, 10)), count(DISTINCT device_id) FROM reads "
        "GROUP BY plate ORDER BY count(*) DESC LIMIT 1").fetchone()
    assert days >= 5 and cams >= 2
    # Residents and most through traffic carry California plates like 8ABC123.
    assert one(db, "SELECT avg(plate GLOB '[1-9][A-Z][A-Z][A-Z][0-9][0-9][0-9]') FROM reads") > 0.9


def test_immigration_searches_name_plates_the_cameras_really_read(db):
    plated, read = db.execute(
        "SELECT count(*), sum(EXISTS (SELECT 1 FROM reads r WHERE r.plate = s.plate)) FROM searches s "
        "JOIN truth t ON t.search_id = s.id WHERE t.purpose = 'immigration' AND s.plate IS NOT NULL").fetchone()
    assert plated > 0 and read / plated > 0.9


def test_national_lookups_search_thousands_of_networks(db):
    assert one(db, "SELECT min(networks) FROM searches s JOIN agencies a ON a.id = s.searcher_id "
                   "WHERE a.state != 'CA' OR a.level = 'federal'") >= 1000
    assert one(db, "SELECT max(devices) FROM searches") > 50_000


# --- the promised shapes ------------------------------------------------------------------------------


def test_most_searches_of_el_cajon_data_come_from_outside_california(db):
    outside = one(db, "SELECT avg(a.state IS NOT 'CA') FROM searches s JOIN agencies a ON a.id = s.searcher_id")
    assert 0.5 < outside < 0.8


def test_legitimate_purposes_dominate(db):
    legit = one(db, "SELECT avg(purpose IN ('stolen_vehicle', 'warrant', 'missing_person', 'theft', 'burglary', "
                    "'robbery', 'assault', 'narcotics', 'homicide', 'traffic', 'fraud', 'kidnapping', "
                    "'human_trafficking', 'welfare_check')) FROM truth")
    assert legit > 0.95


def test_a_minority_of_proxy_searches_hide_who_they_are_for(db):
    proxies, disguised = db.execute(
        "SELECT count(*), sum(t.disguised) FROM truth t JOIN searches s ON s.id = t.search_id "
        "WHERE t.beneficiary_id != s.searcher_id").fetchone()
    assert proxies >= 2 and 0.15 <= disguised / proxies <= 0.7


def test_proxies_act_only_for_dhs_components(db):
    assert one(db, "SELECT count(*) FROM truth t JOIN searches s ON s.id = t.search_id "
                   "JOIN agencies b ON b.id = t.beneficiary_id "
                   "WHERE t.beneficiary_id != s.searcher_id AND b.dhs_component IS NULL") == 0


def test_disguised_immigration_searches_read_like_ordinary_police_work(db):
    reasons = [r[0] for r in db.execute(
        "SELECT r.text FROM truth t JOIN searches s ON s.id = t.search_id JOIN reasons r ON r.id = s.reason_id "
        "WHERE t.disguised = 1 AND t.purpose = 'immigration'")]
    assert reasons
    assert not any(word in text for text in reasons for word in ("ICE", "HSI", "immigra", "ERO", "CBP"))


def test_immigration_related_count_scales_with_scale(tmp_path):
    counts = []
    for scale in ("0.1", "0.3"):
        out = tmp_path / f"ec{scale}.db"
        assert run("--scenario", "el_cajon", "--scale", scale, "--out", str(out)).exit_code == 0
        conn = sqlite3.connect(out)
        counts.append(one(conn, "SELECT count(*) FROM truth t WHERE t.purpose = 'immigration' OR t.beneficiary_id "
                                "IN (SELECT id FROM agencies WHERE dhs_component IS NOT NULL)"))
        conn.close()
    # ~65 and ~195 at these scales (600-700 at scale 1); allow for sampling noise.
    assert 40 <= counts[0] <= 100
    assert 2.2 <= counts[1] / counts[0] <= 4.0


def test_plate_relay_federal_lookup_precedes_the_proxy_search_of_the_same_plate(tmp_path):
    out = tmp_path / "tiny.db"
    assert run("--scenario", str(TINY), "--out", str(out)).exit_code == 0
    conn = sqlite3.connect(out)
    relays = conn.execute(
        "SELECT s.plate, s.time, t.beneficiary_id FROM truth t JOIN searches s ON s.id = t.search_id "
        "WHERE t.narrative LIKE '%(plate relay)'").fetchall()
    assert relays
    for plate, when, beneficiary in relays:
        lead = conn.execute(
            "SELECT count(*) FROM searches WHERE searcher_id = ? AND plate = ? AND time <= ? "
            "AND julianday(?) - julianday(time) <= 4.1", (beneficiary, plate, when, when)).fetchone()[0]
        assert lead >= 1, plate
    assert one(conn, "SELECT min(disguised) FROM truth WHERE narrative LIKE '%(plate relay)'") == 1


def test_misuse_actor_returns_to_the_same_few_plates(tmp_path):
    out = tmp_path / "tiny.db"
    assert run("--scenario", str(TINY), "--out", str(out)).exit_code == 0
    conn = sqlite3.connect(out)
    searches, plates, officers = conn.execute(
        "SELECT count(*), count(DISTINCT s.plate), count(DISTINCT s.user) FROM truth t "
        "JOIN searches s ON s.id = t.search_id WHERE t.misuse_kind = 'stalking'").fetchone()
    assert searches > 20 and plates <= 2 and officers == 1


def test_store_meta_carries_the_expectations_at_the_run_scale(el_cajon, db):
    expect = {e["rule"]: e for e in json.loads(one(db, "SELECT value FROM meta WHERE key = 'scenario.expect'"))}
    assert {"ca.sb34.sharing", "door.side", "door.back", "immigration.mass_search", "purpose.vague"} <= set(expect)
    assert expect["ca.sb34.sharing"]["min_searches"] == int(50000 * float(SMALL))


# --- determinism --------------------------------------------------------------------------------------


def test_same_seed_gives_identical_tables_and_another_seed_does_not(tmp_path):
    paths = {}
    for name, seed in (("a", "11"), ("b", "11"), ("c", "12")):
        paths[name] = tmp_path / f"{name}.db"
        assert run("--scenario", str(TINY), "--seed", seed, "--out", str(paths[name])).exit_code == 0
    assert table_digest(paths["a"]) == table_digest(paths["b"])
    assert table_digest(paths["a"]) != table_digest(paths["c"])


def test_plates_are_distinct_per_resident():
    plates = {plate_from_number("9AAA000", n) for n in range(10_000)}
    assert len(plates) == 10_000


# --- export -------------------------------------------------------------------------------------------


def network_audit(el_cajon: Path) -> Path:
    return el_cajon / "logs" / "1_1_2025-12_31_2025-El_Cajon_CA_PD-Network-Audit.csv"


def test_network_audit_has_the_classic_layout_with_lf_inside_the_time_frame_and_crlf_records(el_cajon):
    raw = network_audit(el_cajon).read_bytes()
    header, rest = raw.split(b"\r\n", 1)
    assert header.decode().split(",") == list(NETWORK_AUDIT_HEADER)
    first_record = rest.split(b"\r\n", 1)[0]
    assert b' UTC\n' in first_record  # start and end of the window in one quoted cell, bare LF between


def test_network_audit_parsed_back_gives_the_stores_searches(el_cajon, db):
    with open(network_audit(el_cajon), newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    stored = db.execute(
        "SELECT s.uuid, a.name, r.text, s.time, s.networks, s.time_frame_start, s.time_frame_end "
        "FROM searches s JOIN agencies a ON a.id = s.searcher_id LEFT JOIN reasons r ON r.id = s.reason_id "
        "JOIN search_owners so ON so.search_id = s.id WHERE so.owner_id = "
        "(SELECT id FROM agencies WHERE name = 'El Cajon CA PD')").fetchall()
    assert len(rows) == len(stored)
    by_uuid = {r["ID"]: r for r in rows}
    for uid, org, reason, when, networks, fstart, fend in stored:
        row = by_uuid[uid]
        assert row["Org Name"] == org
        assert row["Reason"] == (reason or "")
        assert parse_flock_time(row["Search Time"]) == when
        assert int(row["Total Networks Searched"]) == networks
        start, end = row["Time Frame"].split("\n")
        assert (parse_flock_time(start), parse_flock_time(end)) == (fstart, fend)


def test_el_cajon_sharing_list_has_no_one_to_one_rows(el_cajon):
    # El Cajon shares through Statewide and National Lookup: settings, not rows of a sharing list.
    with open(el_cajon / "logs" / "El_Cajon_CA_PD-Sharing-List.csv", newline="", encoding="utf-8") as fh:
        assert list(csv.DictReader(fh)) == []


def test_sharing_list_rows_are_direct_shares_seen_from_the_owner(tmp_path):
    simulate(load_scenario(TINY), tmp_path / "tiny.db", seed=3, scale=0.5)
    db = open_store(tmp_path / "tiny.db")
    [path] = [p for p in export_owner_logs(db, tmp_path / "logs") if p.name.endswith("Sharing-List.csv")]
    owner, grantee = db.execute(
        """SELECT o.name, g.name FROM shares s JOIN agencies o ON o.id = s.owner_id
           JOIN agencies g ON g.id = s.grantee_id WHERE s.scope = 'direct'""").fetchone()
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["Organization Name"] for r in rows] == [grantee]
    assert owner in rows[0]["Networks I'm Sharing"] and rows[0]["Networks Shared With Me"] == ""


# --- the command line ---------------------------------------------------------------------------------


def test_list_shows_each_shipped_scenario_with_its_description():
    result = run("--list")
    assert result.exit_code == 0
    assert any(line.startswith("el_cajon") and "nationally" in line for line in result.output.splitlines())


def test_summary_reports_rows_states_purposes_and_truth(tmp_path):
    result = run("--scenario", str(TINY), "--out", str(tmp_path / "t.db"))
    assert result.exit_code == 0
    for words in ("reads", "searches by searcher state", "stolen_vehicle", "immigration-related", "disguised",
                  "done for another agency", "side door"):
        assert words in result.output


def test_unknown_scenario_name_is_one_line_and_exit_2(tmp_path):
    result = run("--scenario", "atlantis", "--out", str(tmp_path / "x.db"))
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [result.output.strip()]
    assert "unknown scenario 'atlantis'" in result.output and "el_cajon" in result.output


@pytest.mark.parametrize("out", ["no/such/folder/x.db", "."])
def test_unwritable_out_is_one_line_and_exit_2(tmp_path, out):
    target = tmp_path / out
    result = run("--scenario", str(TINY), "--out", str(target))
    assert result.exit_code == 2
    assert result.output.startswith("Error: ") and len(result.output.strip().splitlines()) == 1


def test_existing_store_is_kept_without_overwrite(tmp_path):
    out = tmp_path / "t.db"
    out.write_text("precious")
    result = run("--scenario", str(TINY), "--out", str(out))
    assert result.exit_code == 2 and "--overwrite" in result.output
    assert out.read_text() == "precious"


BROKEN = [
    # (what the edit does, old text, new text, expected key path, expected problem)
    ("unknown key", 'kind = "police"\nfocal = true', 'kind = "police"\nfocal = true\ncolour = "blue"',
     "agencies[0].colour", "unknown key"),
    ("missing field", 'reads_per_day = 300\n', "", "traffic[0].reads_per_day", "missing required field"),
    ("wrong type", "residents = 500", 'residents = "five hundred"', "traffic[0].residents", "expected a non-negative integer"),
    ("negative rate", "vague_rate = 0.2", "vague_rate = -0.2", "behaviour[0].vague_rate", "between 0 and 1"),
    ("shares over 1", "{ stolen_vehicle = 0.6, warrant = 0.4 }", "{ stolen_vehicle = 0.7, warrant = 0.4 }",
     "behaviour[0].purposes", "sum to 1.1"),
    ("unknown state", "states = { CA = 3 }", "states = { XZ = 3 }", "groups[0].states.XZ", "unknown state"),
    ("unknown agency", 'grantee = "reno"', 'grantee = "renno"', "shares[1].grantee", "unknown agency or group 'renno'"),
    ("unknown purpose", "purposes = { immigration = 1.0 }", "purposes = { immigrashun = 1.0 }",
     "behaviour[1].proxy.purposes.immigrashun", "unknown purpose"),
    ("end before start", "end = 2025-03-31", "end = 2025-02-01", "scenario.end", "before"),
    ("cameras on a group", 'owner = "tiny"\nfixed = 6', 'owner = "neighbours"\nfixed = 6', "cameras[0].owner",
     "is a group"),
    ("not toml", "[scenario]", "[scenario", "", "not valid TOML"),
]


@pytest.mark.parametrize("what, old, new, key_path, problem", BROKEN, ids=[b[0] for b in BROKEN])
def test_invalid_scenario_is_one_line_naming_file_and_key_and_exit_2(tmp_path, what, old, new, key_path, problem):
    text = TINY.read_text()
    assert old in text
    bad = tmp_path / "broken.toml"
    bad.write_text(text.replace(old, new, 1))
    result = run("--scenario", str(bad), "--out", str(tmp_path / "x.db"))
    assert result.exit_code == 2
    line = result.output.strip()
    assert len(line.splitlines()) == 1 and line.startswith("Error: broken.toml: ")
    assert key_path in line and problem in line
    assert not (tmp_path / "x.db").exists()


def test_shipped_scenario_is_valid_and_its_span_is_one_year():
    scenario = load_scenario("el_cajon")
    assert scenario.days == 365 and scenario.system == "alpr"
    assert {e["rule"] for e in scenario.expect} >= {"door.side", "door.back"}


def test_overwrite_replaces_an_existing_store(tmp_path):
    out = tmp_path / "t.db"
    assert run("--scenario", str(TINY), "--out", str(out)).exit_code == 0
    first = table_digest(out)
    assert run("--scenario", str(TINY), "--out", str(out), "--overwrite").exit_code == 0
    assert table_digest(out) == first


def test_a_clets_scenario_writes_statewide_queries_with_query_types(tmp_path):
    text = TINY.read_text().replace('system = "alpr"', 'system = "clets"').replace(
        "search_types = { lookup = 0.8, search = 0.2 }",
        "search_types = { query = 1.0 }\nquery_types = { registration = 0.5, driver_license = 0.5 }").replace(
        "search_types = { lookup = 1.0 }",
        "search_types = { query = 1.0 }\nquery_types = { registration = 0.7, criminal_history = 0.3 }")
    scenario = tmp_path / "clets.toml"
    scenario.write_text(text)
    out = tmp_path / "c.db"
    result = run("--scenario", str(scenario), "--out", str(out))
    assert result.exit_code == 0, result.output
    conn = sqlite3.connect(out)
    types = {r[0] for r in conn.execute("SELECT DISTINCT query_type FROM searches WHERE system = 'clets'")}
    assert {"registration", "driver_license", "criminal_history"} <= types
    assert one(conn, "SELECT count(*) FROM searches WHERE networks IS NOT NULL") == 0


@pytest.mark.parametrize("scale", ["nan", "inf", "-1", "0"])
def test_a_scale_that_is_not_a_positive_number_is_one_line_and_exit_2(tmp_path, scale):
    result = run("--scenario", str(TINY), "--scale", scale, "--out", str(tmp_path / "s.db"))
    assert result.exit_code == 2 and "--scale" in result.output and "Traceback" not in result.output


def test_overwrite_refuses_a_file_that_is_not_a_store(tmp_path):
    precious = tmp_path / "notes.txt"
    precious.write_text("not a store")
    result = run("--scenario", str(TINY), "--scale", "0.05", "--out", str(precious), "--overwrite")
    assert result.exit_code == 2 and "not a proxytrace store" in result.output
    assert precious.read_text() == "not a store"
