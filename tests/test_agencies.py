"""Agency resolution: vendor org names to state, level, kind, DHS component and 287(g) status."""
from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.agencies import AgencyInfo, Resolver, agency_key, is_dhs_immigration, resolve_store
from auditor.cli import audit
from auditor.errors import InputError
from auditor.schema import ensure_agency, open_store
from tests.conftest import realdata

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "agencies"
ICE_SMALL = FIXTURES / "ice_287g_small.csv"
OVERRIDES = FIXTURES / "overrides.csv"


@pytest.fixture(scope="module")
def resolver() -> Resolver:
    return Resolver()


@pytest.fixture(scope="module")
def resolver_287g() -> Resolver:
    return Resolver(ice_287g=ICE_SMALL)


def shape(info: AgencyInfo) -> tuple:
    return (info.state, info.level, info.kind, info.dhs_component)


# --- names from real logs -----------------------------------------------------------------------------

@pytest.mark.parametrize(
    "name, expected",
    [
        ("Raleigh NC PD", ("NC", "local", "police", None)),
        ("Lowndes County GA SO", ("GA", "county", "sheriff", None)),
        ("Texas DPS", ("TX", "state", "state police", None)),
        ("[Federal] ICE ERO Dallas", (None, "federal", "ICE", "ERO")),
        ("[Federal] HSI Houston", (None, "federal", "HSI", "HSI")),
        ("US Border Patrol", (None, "federal", "USBP", "USBP")),
        ("Ukiah Fire CA FD", ("CA", "local", "fire", None)),
        ("Okaloosa County FL SO", ("FL", "county", "sheriff", None)),
        ("El Cajon CA PD", ("CA", "local", "police", None)),
        ("North Texas Fusion Center", ("TX", "county", "fusion center", None)),
    ],
)
def test_vendor_org_names_resolve(resolver, name, expected):
    info = resolver.resolve(name)
    assert shape(info) == expected
    assert info.resolved_by in ("registry", "heuristic")
    assert info.confidence >= 0.8


def test_flock_pattern_is_resolved_by_heuristic_with_high_confidence(resolver):
    info = resolver.resolve("Nolensville TN PD")
    assert (info.resolved_by, info.confidence) == ("heuristic", 0.9)


def test_federal_component_in_registry_matches_with_field_office_suffix(resolver):
    assert resolver.resolve("[Federal] HSI Houston").resolved_by == "registry"


# --- tricky names --------------------------------------------------------------------------------------

def test_indiana_state_police_is_indiana_not_the_word_in(resolver):
    assert shape(resolver.resolve("Indiana State Police")) == ("IN", "state", "state police", None)


@pytest.mark.parametrize("name, state", [("Portland OR PD", "OR"), ("Portland ME PD", "ME"), ("Lake In The Hills IL PD", "IL")])
def test_ambiguous_state_codes_count_only_in_the_flock_position(resolver, name, state):
    assert resolver.resolve(name).state == state


def test_all_caps_word_in_is_not_indiana(resolver):
    # Sharing lists are often upper case; "IN" here is a word, not the state before the type.
    assert resolver.resolve("LAKE IN THE HILLS POLICE DEPARTMENT").state is None


def test_washington_county_in_oregon_is_not_washington_state(resolver):
    assert shape(resolver.resolve("Washington County OR SO")) == ("OR", "county", "sheriff", None)


def test_washington_county_without_a_code_has_no_state(resolver):
    info = resolver.resolve("Washington County Sheriff's Office")
    assert (info.state, info.kind) == (None, "sheriff")


def test_virginia_beach_is_a_city_police_department(resolver):
    assert shape(resolver.resolve("Virginia Beach VA PD")) == ("VA", "local", "police", None)


def test_fairfax_county_police_is_county_level(resolver):
    assert shape(resolver.resolve("Fairfax County VA PD")) == ("VA", "county", "police", None)


def test_dhs_hsi_is_the_immigration_investigations_component(resolver):
    info = resolver.resolve("[Federal] DHS HSI")
    assert shape(info) == (None, "federal", "HSI", "HSI")
    assert is_dhs_immigration(info)


def test_department_of_human_services_is_not_dhs_immigration(resolver):
    info = resolver.resolve("Department of Human Services")
    assert info.level != "federal"
    assert info.dhs_component is None
    assert not is_dhs_immigration(info)


def test_a_state_dhs_is_human_services(resolver):
    info = resolver.resolve("Oregon DHS")
    assert shape(info) == ("OR", "state", "other", None)


def test_bp_security_is_private_not_border_patrol(resolver):
    info = resolver.resolve("BP Security")
    assert (info.level, info.kind, info.dhs_component) == ("private", "private", None)


def test_company_named_ice_is_private(resolver):
    assert resolver.resolve("ICE Cream Distributors LLC").level == "private"


def test_sunnyvale_public_safety_is_city_police_but_texas_dps_is_state(resolver):
    assert (resolver.resolve("Sunnyvale CA DPS").level, resolver.resolve("Texas DPS").level) == ("local", "state")


def test_garbage_name_stays_unknown(resolver):
    assert resolver.resolve("xq7 zzkw ---") == AgencyInfo(None, "unknown", "unknown", None, None, None, "unknown", 0.0)


def test_unrecognized_federal_user_is_federal_without_a_component(resolver):
    info = resolver.resolve("[Federal] Regional Office 4")
    assert (info.level, info.kind, info.dhs_component) == ("federal", "other federal", None)


@pytest.mark.parametrize(
    "name, kind", [("Katy TX ISD PD", "school"), ("Bucks County PA DA", "prosecutor"),
                   ("Harris County TX Constable Pct 4", "police"), ("Yuba County CA Probation", "probation")],
)
def test_type_suffixes_set_the_kind(resolver, name, kind):
    assert resolver.resolve(name).kind == kind


def test_tribal_police_is_tribal_level(resolver):
    assert resolver.resolve("Navajo Nation AZ PD").level == "tribal"


@pytest.mark.parametrize(
    "row, expected",
    [({"dhs_component": "ERO", "kind": "ICE"}, True), ({"dhs_component": None, "kind": "USBP"}, True),
     ({"dhs_component": None, "kind": "other federal"}, False), ({"dhs_component": None, "kind": "other"}, False)],
)
def test_is_dhs_immigration_reads_store_rows(row, expected):
    assert is_dhs_immigration(row) is expected


# --- 287(g) --------------------------------------------------------------------------------------------

def test_ice_and_flock_spellings_share_one_key():
    assert agency_key("Autauga County Sheriff's Office", "AL") == agency_key("Autauga County AL SO", "AL")
    assert agency_key("Kodiak Police Department", "AK") == agency_key("Kodiak AK PD", "AK")


@pytest.mark.parametrize(
    "name, support",
    [("Kodiak AK PD", "Warrant Service Officer"),
     ("Autauga County AL SO", "Jail Enforcement Model; Task Force Model; Warrant Service Officer"),
     ("Autauga AL SO", "Jail Enforcement Model; Task Force Model; Warrant Service Officer"),
     ("Knox County TN SO", "Jail Enforcement Model"),  # ICE writes Sheriff’s with a curly apostrophe
     ("Reno County KS SO", "Warrant Service Officer"),
     ("Miami FL PD", "Task Force Model"),  # ICE: "City of Miami Police Department"
     ("Missouri State Highway Patrol", "Task Force Model"),
     ("Texas DPS", "Task Force Model"),  # ICE: "Texas Department of Public Safety - Texas Highway Patrol"
     ("Cut N Shoot TX PD", "Task Force Model"),
     ("Indiana Department of Homeland Security", "Task Force Model")],
)
def test_vendor_names_match_the_287g_list(resolver_287g, name, support):
    info = resolver_287g.resolve(name)
    assert (info.is_287g, info.support_287g) == (1, support)


def test_same_city_name_in_another_state_is_not_on_the_list(resolver_287g):
    # Dallas GA PD has an agreement; Dallas TX PD does not.
    assert resolver_287g.resolve("Dallas GA PD").is_287g == 1
    assert resolver_287g.resolve("Dallas TX PD").is_287g == 0


def test_federal_agencies_are_never_287g(resolver_287g):
    assert resolver_287g.resolve("[Federal] ICE ERO Dallas").is_287g == 0


def test_without_a_287g_list_status_is_not_checked(resolver):
    assert resolver.resolve("Kodiak AK PD").is_287g is None


def test_unknown_name_is_not_marked_off_the_list(resolver_287g):
    assert resolver_287g.resolve("xq7 zzkw").is_287g is None


def test_ice_spelling_without_state_is_not_given_a_state(resolver_287g):
    # ICE lists Arcadia PD in Florida; California has an Arcadia PD too, so the state stays unknown.
    info = resolver_287g.resolve("Arcadia Police Department")
    assert (info.state, info.kind, info.is_287g) == (None, "police", None)


def test_list_vouches_for_a_name_heuristics_only_place(resolver_287g):
    info = resolver_287g.resolve("Okmulgee County Criminal Justice Authority (OK)")
    assert (info.state, info.is_287g, info.resolved_by) == ("OK", 1, "287g")


def test_real_287g_list_matches_vendor_style_spellings():
    path = realdata("ice_287g", "ice-287g-deduped.csv")
    resolver = Resolver(ice_287g=path)
    built = []
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            m = re.fullmatch(r"(.+) (Police Department|Sheriff[’']s Office)", row["agency"])
            if m and len(row["state"]) == 2:
                built.append(f"{m.group(1)} {row['state']} {'PD' if m.group(2).startswith('Police') else 'SO'}")
    assert len(built) > 1200
    matched = sum(resolver.resolve(name).is_287g == 1 for name in built)
    assert matched / len(built) > 0.97
    # Moved to a state the agency is not in, almost none should match.
    moved = [re.sub(r" ([A-Z]{2}) (PD|SO)$", r" RI \2", name) for name in built]
    assert sum(resolver.resolve(name).is_287g == 1 for name in moved) < 10


# --- overrides -----------------------------------------------------------------------------------------

def test_override_resolves_an_unknown_name():
    info = Resolver(overrides=OVERRIDES).resolve("Metro Gang Unit")
    assert shape(info) == ("CO", "county", "task force", None)
    assert (info.resolved_by, info.confidence) == ("override", 1.0)


def test_override_wins_over_the_registry():
    assert Resolver(overrides=OVERRIDES).resolve("North Texas Fusion Center").level == "state"


def test_blank_override_cells_keep_the_resolved_values():
    info = Resolver(overrides=OVERRIDES).resolve("[Federal] ICE ERO Dallas")
    assert shape(info) == ("TX", "federal", "ICE", "ERO")


# --- bad files -----------------------------------------------------------------------------------------

def test_missing_287g_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no such 287"):
        Resolver(ice_287g=tmp_path / "nope.csv")


def test_287g_file_without_agency_column_names_the_column(tmp_path):
    bad = tmp_path / "ice.csv"
    bad.write_text("state,name,support_types\nAK,Kodiak Police Department,Warrant Service Officer\n")
    with pytest.raises(InputError, match=r"ice\.csv.*`agency`"):
        Resolver(ice_287g=bad)


def test_287g_row_with_an_unreadable_state_names_the_line(tmp_path):
    bad = tmp_path / "ice.csv"
    bad.write_text("state,agency,support_types\nAK,Kodiak Police Department,x\nZZ,Somewhere PD,x\n")
    with pytest.raises(InputError, match="line 3"):
        Resolver(ice_287g=bad)


def test_binary_287g_file_is_an_input_error(tmp_path):
    bad = tmp_path / "ice.csv"
    bad.write_bytes(b"\xff\xfe\x00\x81garbage")
    with pytest.raises(InputError, match="ice.csv"):
        Resolver(ice_287g=bad)


def test_override_with_unknown_level_names_file_and_line(tmp_path):
    bad = tmp_path / "overrides.csv"
    bad.write_text("name,level\nRaleigh NC PD,city\n")
    with pytest.raises(InputError, match=r"overrides\.csv: line 2: unknown level 'city'"):
        Resolver(overrides=bad)


def test_override_with_misspelled_column_is_rejected(tmp_path):
    bad = tmp_path / "overrides.csv"
    bad.write_text("name,sate\nRaleigh NC PD,NC\n")
    with pytest.raises(InputError, match="unknown column `sate`"):
        Resolver(overrides=bad)


# --- the store -----------------------------------------------------------------------------------------

@pytest.fixture
def store(tmp_path):
    db = open_store(tmp_path / "store.db", create=True)
    for name in ("Raleigh NC PD", "Kodiak AK PD", "[Federal] HSI Houston", "xq7 zzkw", "Metro Gang Unit"):
        ensure_agency(db, name)
    # The simulator's own agency: its attributes are ground truth and must survive resolution.
    db.execute("INSERT INTO agencies (name, state, level, kind, resolved_by, confidence) "
               "VALUES ('Autauga County AL SO', 'AL', 'county', 'task force', 'scenario', 1.0)")
    db.conn.commit()
    return db


def _row(db, name: str) -> dict:
    return next(db["agencies"].rows_where("name = ?", [name]))


def test_resolve_store_fills_unresolved_agencies(store):
    report = resolve_store(store, Resolver())
    assert _row(store, "Raleigh NC PD")["state"] == "NC"
    assert _row(store, "[Federal] HSI Houston")["dhs_component"] == "HSI"
    assert report.by_method == {"heuristic": 2, "registry": 1, "scenario": 1, "unknown": 2}
    assert report.unknown == ["Metro Gang Unit", "xq7 zzkw"]
    assert report.resolved == 4


def test_resolve_store_keeps_scenario_attributes_but_checks_287g(store):
    report = resolve_store(store, Resolver(ice_287g=ICE_SMALL))
    row = _row(store, "Autauga County AL SO")
    assert (row["kind"], row["resolved_by"], row["is_287g"]) == ("task force", "scenario", 1)
    assert report.matched_287g == 2  # Autauga and Kodiak


def test_resolve_store_applies_overrides(store):
    report = resolve_store(store, Resolver(overrides=OVERRIDES))
    assert _row(store, "Metro Gang Unit")["resolved_by"] == "override"
    assert report.unknown == ["xq7 zzkw"]


def test_resolve_store_keeps_an_earlier_override_when_no_file_names_it(store):
    store.execute("UPDATE agencies SET state = 'NV', resolved_by = 'override' WHERE name = 'xq7 zzkw'")
    resolve_store(store, Resolver())
    assert _row(store, "xq7 zzkw")["state"] == "NV"


def test_resolve_store_uses_another_spelling_when_the_name_is_unknown(store):
    agency_id = _row(store, "xq7 zzkw")["id"]
    store.execute("INSERT INTO agency_names (name, agency_id) VALUES ('Reno NV PD', ?)", [agency_id])
    resolve_store(store, Resolver())
    assert _row(store, "xq7 zzkw")["state"] == "NV"


# --- the CLI -------------------------------------------------------------------------------------------

def test_cli_prints_counts_and_unresolved_names(store, tmp_path):
    store.conn.close()
    result = CliRunner().invoke(audit, ["agencies", "--db", str(tmp_path / "store.db"), "--ice-287g", str(ICE_SMALL)])
    assert result.exit_code == 0, result.output
    assert "unresolved: 2" in result.output
    assert "on ICE's 287(g) list: 2" in result.output
    assert "  xq7 zzkw" in result.output


def test_cli_bad_override_file_is_one_line_exit_2(store, tmp_path):
    bad = tmp_path / "o.csv"
    bad.write_text("agency,state\nX,TX\n")
    result = CliRunner().invoke(audit, ["agencies", "--db", str(tmp_path / "store.db"), "--overrides", str(bad)])
    assert result.exit_code == 2
    assert "Error:" in result.output and "`name`" in result.output
    assert "Traceback" not in result.output


# --- sharing-list spellings ----------------------------------------------------------------------------

@pytest.mark.parametrize(
    "name, expected",
    [
        ("AZ - BENSON PD", ("AZ", "local", "police", None)),
        ("ALAMEDA COUNTY SHERIFFS OFFICE (CA)", ("CA", "county", "sheriff", None)),
        ("ARROYO GRANDE POLICE DEPARTMENT-CA", ("CA", "local", "police", None)),
        ("CARSON CITY SO NV (FLEX)", ("NV", "county", "sheriff", None)),
        ("ALACHUA FL PD (FLEX)", ("FL", "local", "police", None)),
        ("LASD CA - SAN DIMAS STATION", ("CA", "county", "sheriff", None)),
        ("REEVE COUNTY SHERRIFFS OFFICE", (None, "county", "sheriff", None)),
        ("SAN DIEGO SECTOR BORDER PATROL (CA)", ("CA", "federal", "USBP", "USBP")),
        ("HSI MASTER", (None, "federal", "HSI", "HSI")),
    ],
)
def test_sharing_list_labels_are_read(resolver, name, expected):
    assert shape(resolver.resolve(name)) == expected


def test_real_sharing_list_names_mostly_resolve():
    path = realdata("irvine_ca", "alpr-audits-irvine-police-department-181267_doc5.xlsx")
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.load_workbook(path, read_only=True)
    names = {str(row[0]).strip() for sheet in ("A1", "A2", "A3", "A4")
             for row in book[sheet].iter_rows(min_row=2, values_only=True) if row and row[0]}
    book.close()
    resolver = Resolver()
    infos = {name: resolver.resolve(name) for name in names}
    unknown = [name for name, info in infos.items() if info.resolved_by == "unknown"]
    assert len(names) > 1800
    assert len(unknown) / len(names) < 0.03
    assert sum(info.state is not None for info in infos.values()) / len(names) > 0.85
    assert {info.kind for info in infos.values() if info.level == "federal"} >= {"HSI", "USBP"}


def test_state_university_police_is_state_level_but_a_bare_university_is_not_guessed(resolver):
    assert resolver.resolve("University of Florida Police Department").level == "state"
    assert resolver.resolve("Duke University NC PD").level == "unknown"


# --- state codes that are also type words, leading codes, placeholders, local units ---------------------

@pytest.mark.parametrize("name", ["LOS ANGELES COUNTY CA SD", "Orange County CA SD", "San Diego County CA SD"])
def test_sd_after_a_state_code_is_the_sheriffs_department(resolver, name):
    assert shape(resolver.resolve(name)) == ("CA", "county", "sheriff", None)


def test_sd_before_a_type_word_is_still_south_dakota(resolver):
    assert shape(resolver.resolve("Pennington County SD SO")) == ("SD", "county", "sheriff", None)


@pytest.mark.parametrize("name, state", [
    ("TX DPS", "TX"), ("ME DPS", "ME"), ("LA DPS", "LA"), ("OR DPS", "OR"), ("WA DPS", "WA"), ("IN DPS", "IN"),
])
def test_leading_state_code_before_dps_is_that_states_police(resolver, name, state):
    assert shape(resolver.resolve(name)) == (state, "state", "state police", None)


@pytest.mark.parametrize("name, state", [
    ("ME State Police", "ME"), ("IN State Police", "IN"), ("WA State Patrol", "WA"),
    ("NV Highway Patrol", "NV"), ("CA Highway Patrol", "CA"), ("TX State Troopers", "TX"),
    ("OK State Bureau of Investigation", "OK"),
])
def test_leading_state_code_before_a_state_agency_name_gives_the_state(resolver, name, state):
    info = resolver.resolve(name)
    assert (info.state, info.level) == (state, "state")


def test_leading_la_before_county_is_not_louisiana(resolver):
    assert resolver.resolve("LA County Sheriff").state != "LA"


@pytest.mark.parametrize("name", ["[producer of flock_hsi_pd_audit_2024]", "[producer of raleigh_pd]"])
def test_placeholder_producer_stays_unknown_whatever_its_stem_says(resolver, name):
    info = resolver.resolve(name)
    assert shape(info) == (None, "unknown", "unknown", None)
    assert info.resolved_by == "unknown"


def test_sheriffs_task_force_naming_hsi_stays_the_sheriffs(resolver):
    info = resolver.resolve("Maricopa County AZ SO HSI Task Force")
    assert (info.state, info.level, info.dhs_component) == ("AZ", "county", None)
    assert info.kind in ("task force", "sheriff")
    assert not is_dhs_immigration(info)


def test_hsi_before_any_local_word_is_still_hsi(resolver):
    assert shape(resolver.resolve("HSI Phoenix Task Force")) == (None, "federal", "HSI", "HSI")


def test_university_city_is_a_city_police_department(resolver):
    assert shape(resolver.resolve("UNIVERSITY CITY MO PD")) == ("MO", "local", "police", None)
