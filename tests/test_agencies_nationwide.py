"""Agency names from releases outside California, ICE's spellings of state agencies, one vocabulary."""
from __future__ import annotations

from pathlib import Path

import pytest

from auditor import agencies, graph, vocabulary
from auditor.agencies import Resolver, resolve_store, unresolved_count
from auditor.report import build_report
from auditor.scan import run_audit
from simulator import scenario

ICE_STATES = Path(__file__).resolve().parent / "fixtures" / "agencies" / "ice_287g_state_agencies.csv"


@pytest.fixture(scope="module")
def resolver() -> Resolver:
    return Resolver(ice_287g=ICE_STATES)


@pytest.mark.parametrize("name,state,level,kind", [
    ("Windsor- IL- PD", "IL", "local", "police"),
    ("Ocala-FL-PD", "FL", "local", "police"),
    ("Lake County IN Prosector", "IN", "county", "prosecutor"),
    ("Allegheny County PA DA's Office", "PA", "county", "prosecutor"),
    ("Allegheny County PA DA’s Office", "PA", "county", "prosecutor"),
    ("Winston-Salem NC PD", "NC", "local", "police"),
])
def test_names_seen_in_releases_outside_california_resolve(resolver, name, state, level, kind):
    info = resolver.resolve(name)
    assert (info.state, info.level, info.kind) == (state, level, kind)


def test_a_leading_state_label_and_a_trailing_unit_keep_their_dashes(resolver):
    assert resolver.resolve("AZ - BENSON PD").state == "AZ"


@pytest.mark.parametrize("name,support", [
    ("Alaska DOC", "Warrant Service Officer"),  # ICE: Department of Correction (singular)
    ("Florida Fish and Wildlife Conservation Commission", "Task Force Model"),  # ICE writes `&`
    ("Iowa Division of Criminal Investigation", "Task Force Model"),
    ("IA DCI", "Task Force Model"),  # the vendor's abbreviation of the same division
    ("Florida FWC", "Task Force Model"),
    ("Hendricks County IN Prosecutor", "Task Force Model"),
    ("Knox County TN SO", "Jail Enforcement Model"),  # ICE writes a curly apostrophe
    ("Jefferson Co TX SO", "Jail Enforcement Model"),
])
def test_ice_spellings_of_state_and_county_agencies_match(resolver, name, support):
    info = resolver.resolve(name)
    assert (info.is_287g, info.support_287g) == (1, support)


def test_matches_keep_ices_spelling_and_near_misses_are_listed_not_matched(store_builder):
    db = store_builder(agencies=[
        {"name": "Knox County TN SO", "state": "TN", "level": "county", "kind": "sheriff"},
        {"name": "Las Vegas Metro NV PD", "state": "NV", "kind": "police"},
        {"name": "Henderson NV PD", "state": "NV", "kind": "police"},
    ])
    report = resolve_store(db, Resolver(ice_287g=ICE_STATES))
    rows = set(db.execute("SELECT a.name, g.ice_name, g.how FROM agency_287g g JOIN agencies a ON a.id = g.agency_id"))
    assert ("Knox County TN SO", "Knox County Sheriff’s Office", "key") in rows
    assert ("Las Vegas Metro NV PD", "Las Vegas Metropolitan Police Department", "near_miss") in rows
    assert not any(name == "Henderson NV PD" for name, _, _ in rows)
    assert report.near_misses_287g == 1
    assert db.execute("SELECT is_287g FROM agencies WHERE name = 'Las Vegas Metro NV PD'").fetchone()[0] == 0


def test_audit_run_and_the_report_count_the_same_unresolved_agencies(store_builder):
    db = store_builder(searches=[
        {"searcher": "Georgia Information Sharing and Analysis Center", "owners": ["Windsor- IL- PD"], "reason": "x"},
        {"searcher": "zq7 xk", "owners": ["Windsor- IL- PD"], "reason": "x"},
    ])
    summary = run_audit(db)
    assert len(summary.unresolved_agencies) == unresolved_count(db) == 1
    assert build_report(db).counts["unresolved_agencies"] == 1


def test_levels_kinds_and_dhs_components_are_defined_once():
    assert agencies.KINDS is vocabulary.KINDS and scenario.KINDS is vocabulary.KINDS
    assert agencies.DHS_IMMIGRATION is vocabulary.DHS_COMPONENTS is scenario.DHS_COMPONENTS
    assert graph.IMMIGRATION_ENFORCERS is vocabulary.IMMIGRATION_ENFORCERS
    from auditor import schema

    assert schema.LEVELS is vocabulary.LEVELS and scenario.LEVELS is vocabulary.LEVELS


def test_audit_run_prints_one_informational_287g_line(store_builder, tmp_path):
    from click.testing import CliRunner

    from auditor.cli import audit

    db = store_builder(agencies=[{"name": "Knox County TN SO", "state": "TN", "level": "county", "kind": "sheriff"},
                                 {"name": "Oak Ridge TN PD", "state": "TN", "kind": "police"}],
                       searches=[{"searcher": "Knox County TN SO", "owners": ["Oak Ridge TN PD"], "reason": "warrant"}])
    path = db.execute("PRAGMA database_list").fetchone()[2]
    plain = CliRunner().invoke(audit, ["run", "--db", path])
    assert plain.exit_code == 0 and "287(g): not checked" in plain.output
    listed = CliRunner().invoke(audit, ["run", "--db", path, "--ice-287g", str(ICE_STATES)])
    assert listed.exit_code == 0, listed.output
    line = next(line for line in listed.output.splitlines() if line.startswith("287(g):"))
    assert "1 searchers (1 searches, reaching 1 owners' data)" in line and "Informational" in line
