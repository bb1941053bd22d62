"""The simulator's Flock export, re-imported, gives the same searches and the same findings."""
from __future__ import annotations

import csv

import pytest

from auditor.importers import import_files
from auditor.scan import RunParams, run_audit
from auditor.schema import open_store
from simulator.export import export_owner_logs
from simulator.generate import simulate
from simulator.scenario import load_scenario


def _findings_by_uuid(db) -> set[tuple[str, str]]:
    return set(db.execute(
        """SELECT f.rule_id, s.uuid FROM findings f JOIN searches s ON s.id = f.search_id"""
    ).fetchall())


@pytest.fixture(scope="module")
def both_stores(tmp_path_factory):
    folder = tmp_path_factory.mktemp("roundtrip")
    simulate(load_scenario("el_cajon"), folder / "sim.db", seed=5, scale=0.05)
    sim = open_store(folder / "sim.db")
    logs = export_owner_logs(sim, folder / "logs")
    # What the simulator knows of 287(g) agreements, written the way ICE publishes its list.
    ice_list = folder / "ice-287g.csv"
    with open(ice_list, "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["state", "agency", "support_types"])
        out.writerows(sim.execute("SELECT state, name, support_287g FROM agencies WHERE is_287g = 1").fetchall())
    imported = open_store(folder / "imported.db", create=True)
    accounts = import_files(imported, logs)
    params = RunParams(ice_287g=str(ice_list))
    return sim, run_audit(sim, params), imported, run_audit(imported, params), accounts


def test_every_exported_row_is_imported(both_stores):
    sim, _, imported, _, accounts = both_stores
    assert all(a.balanced for a in accounts)
    assert sum(a.rows_rejected for a in accounts) == 0
    sim_uuids = {r[0] for r in sim.execute("SELECT uuid FROM searches JOIN search_owners ON search_id = id")}
    assert sim_uuids == {r[0] for r in imported.execute("SELECT uuid FROM searches")}


def test_reimported_searches_keep_their_fields(both_stores):
    sim, _, imported, _, _ = both_stores
    query = """SELECT s.uuid, s.time, a.name, r.text, s.networks, s.case_number, s.plate, s.search_type
               FROM searches s JOIN agencies a ON a.id = s.searcher_id LEFT JOIN reasons r ON r.id = s.reason_id
               ORDER BY s.uuid"""
    assert imported.execute(query).fetchall() == sim.execute(
        query.replace("ORDER BY", "WHERE s.id IN (SELECT search_id FROM search_owners) ORDER BY")).fetchall()


def test_the_same_findings_come_out(both_stores):
    sim, sim_summary, imported, imp_summary, _ = both_stores
    assert _findings_by_uuid(imported) == _findings_by_uuid(sim)
    for rule_id, counts in sim_summary.findings_by_rule.items():
        if rule_id == "exposure.dhs_reach":
            continue  # reads sharing *settings* (national lookup), which a sharing-list export does not carry
        assert imp_summary.findings_by_rule[rule_id]["searches"] == counts["searches"], rule_id


def test_marion_grove_exported_logs_say_on_whose_behalf_searches_were_done(tmp_path):
    """The nationwide path on the real-log route: an Illinois owner's exported Network Audit."""
    simulate(load_scenario("marion_grove"), tmp_path / "sim.db", seed=2, scale=0.4)
    logs = export_owner_logs(open_store(tmp_path / "sim.db"), tmp_path / "logs")
    db = open_store(tmp_path / "imported.db", create=True)
    import_files(db, logs)
    summary = run_audit(db)
    named = {name for (name,) in db.execute(
        "SELECT DISTINCT a.name FROM beneficiaries b JOIN agencies a ON a.id = b.beneficiary_id WHERE b.basis = 'reason'")}
    # The fusion center resolves through the registry and the state police by its abbreviation.
    assert {"Illinois Statewide Terrorism and Intelligence Center", "Illinois State Police"} <= named
    # The task force never searched, so the release does not know it: its name is kept as written.
    assert db.execute("SELECT COUNT(*) FROM beneficiary_names WHERE name = 'Prairie Area Drug Task Force'"
                      ).fetchone()[0] > 0
    assert summary.findings_by_rule["il.625_ilcs_5_2_130"]["searches"] > 0
    assert all(r["searches"] == 0 for rule, r in summary.findings_by_rule.items() if rule.startswith("ca."))
