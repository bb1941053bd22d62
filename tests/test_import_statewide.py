"""Statewide-database (CLETS-like) logs imported through a column map that sets system and query type."""
from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import pytest

from auditor.errors import InputError
from auditor.importers import ImportOptions, import_file
from auditor.rules import load_rules
from auditor.scan import RunParams, run_audit
from auditor.schema import ensure_agency, open_store
from simulator.generate import simulate
from simulator.scenario import load_scenario

MAP = Path(__file__).parent / "fixtures" / "clets" / "clets_log_map.toml"
HEADER = ["Transaction Date", "Agency", "Operator", "Query", "Purpose", "Subject", "Case No"]
LABELS = {"driver_license": "DMV DL", "registration": "DMV REG", "criminal_history": "CRIM HIST",
          "restraining_order": "RESTR ORDER", "wanted_person": "WANTED"}
CLETS_RULES = [r for r in load_rules() if r.id.startswith(("ca.clets", "clets."))]


def write_log(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(HEADER)
        out.writerows(rows)
    return path


@pytest.fixture
def db(tmp_path):
    return open_store(tmp_path / "store.db", create=True)


def test_a_clets_log_imports_with_its_system_and_query_types(db, tmp_path):
    path = write_log(tmp_path / "clets_2019.csv", [
        ["03/01/2019 14:05:09", "[Federal] ICE ERO Orange County", "sa.moore", "DMV DL", "removal order", "B1234567", ""],
        ["03/01/2019 14:06:10", "[Federal] ICE ERO Orange County", "sa.moore", "CRIM HIST", "ICE", "B1234567", ""],
        ["03/01/2019 15:00:00", "San Diego CA PD", "ofc.lee", "Registration", "stolen vehicle", "7ABC123", "19-0042"],
    ])
    [a] = import_file(db, path, ImportOptions(column_map=MAP))
    assert (a.rows_read, a.rows_imported, a.rows_rejected) == (3, 3, 0)
    rows = db.execute("SELECT system, query_type, user FROM searches ORDER BY time").fetchall()
    assert rows == [("clets", "driver_license", "sa.moore"), ("clets", "criminal_history", "sa.moore"),
                    ("clets", "registration", "ofc.lee")]
    assert any("every row is a query of clets" in n for n in a.notes)


def test_a_query_label_the_map_does_not_know_stays_unknown_and_is_noted(db, tmp_path):
    path = write_log(tmp_path / "clets.csv", [
        ["03/01/2019 14:05:09", "Santee CA PD", "a", "SNOWMOBILE REG", "investigation", "X1", ""],
        ["03/01/2019 14:05:10", "Santee CA PD", "a", "DMV DL", "investigation", "X2", ""],
    ])
    [a] = import_file(db, path, ImportOptions(column_map=MAP))
    assert a.rows_imported == 2
    assert db.execute("SELECT query_type FROM searches ORDER BY time").fetchall() == [(None,), ("driver_license",)]
    assert any("query type not understood in 1 rows ('SNOWMOBILE REG' (1))" in n for n in a.notes)


def test_a_map_with_a_query_type_column_but_no_system_is_refused(db, tmp_path):
    bad = tmp_path / "map.toml"
    bad.write_text('[columns]\ntime = "Transaction Date"\nquery_type = "Query"\n')
    path = write_log(tmp_path / "clets.csv", [["03/01/2019 14:05:09", "Santee CA PD", "a", "DMV DL", "x", "X1", ""]])
    with pytest.raises(InputError, match="must set the option system"):
        import_file(db, path, ImportOptions(column_map=bad))


def test_a_query_type_outside_the_vocabulary_is_refused(db, tmp_path):
    bad = tmp_path / "map.toml"
    bad.write_text('[columns]\ntime = "Transaction Date"\nquery_type = "Query"\n[options]\nsystem = "clets"\n'
                   '[query_types]\n"DMV DL" = "dmv"\n')
    path = write_log(tmp_path / "clets.csv", [["03/01/2019 14:05:09", "Santee CA PD", "a", "DMV DL", "x", "X1", ""]])
    with pytest.raises(InputError, match=r"\[query_types\] 'DMV DL' = 'dmv' is not one of"):
        import_file(db, path, ImportOptions(column_map=bad))


# --- the same searches simulated and imported give the same CLETS findings ----------------------------

def _clets_findings(db) -> set[tuple]:
    """Per-search CLETS findings by what the log shows of the search; aggregate ones by agency and subject."""
    per_search = db.execute(
        """SELECT f.rule_id, s.time, a.name, s.user, s.plate, s.query_type FROM findings f
           JOIN searches s ON s.id = f.search_id JOIN agencies a ON a.id = s.searcher_id
           WHERE f.rule_id LIKE '%clets%'""").fetchall()
    aggregate = db.execute(
        """SELECT f.rule_id, a.name, f.subject, f.searches FROM findings f JOIN agencies a ON a.id = f.agency_id
           WHERE f.search_id IS NULL AND f.rule_id LIKE '%clets%'""").fetchall()
    return set(per_search) | set(aggregate)


@pytest.fixture(scope="module")
def simulated_and_imported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clets")
    simulate(load_scenario("ice_clets"), folder / "sim.db", seed=3, scale=0.05)
    sim = open_store(folder / "sim.db")
    rows = sim.execute(
        """SELECT s.time, a.name, s.user, s.query_type, r.text, s.plate, s.case_number FROM searches s
           JOIN agencies a ON a.id = s.searcher_id LEFT JOIN reasons r ON r.id = s.reason_id
           WHERE s.system = 'clets' ORDER BY s.id""").fetchall()
    log = write_log(folder / "clets_2019.csv", [
        [datetime.strptime(t, "%Y-%m-%dT%H:%M:%SZ").strftime("%m/%d/%Y %H:%M:%S"), agency, user or "",
         LABELS[qtype], reason or "", plate or "", case or ""]
        for t, agency, user, qtype, reason, plate, case in rows])
    # The agencies as the scenario defines them, given as overrides (resolution is not under test here).
    overrides = folder / "agencies.csv"
    with open(overrides, "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["name", "state", "level", "kind", "dhs_component"])
        out.writerows(sim.execute("SELECT name, state, level, kind, dhs_component FROM agencies").fetchall())
    imported = open_store(folder / "imported.db", create=True)
    [account] = import_file(imported, log, ImportOptions(column_map=MAP))
    # The misuse disclosures the scenario files (no importer reads disclosure forms): copied by agency name.
    cache: dict[str, int] = {}
    for row in sim.execute("SELECT a.name, d.* FROM disclosures d JOIN agencies a ON a.id = d.agency_id"
                           ).fetchall():
        name, _, _, *rest = row
        cols = [c for c in imported["disclosures"].columns_dict if c not in ("id", "agency_id")]
        imported["disclosures"].insert({"agency_id": ensure_agency(imported, name, cache), **dict(zip(cols, rest))})
    imported.conn.commit()
    params = RunParams(overrides=str(overrides))
    run_audit(sim, params, rules=CLETS_RULES)
    run_audit(imported, params, rules=CLETS_RULES)
    return sim, imported, account, len(rows)


def test_every_simulated_clets_query_is_imported_with_its_query_type(simulated_and_imported):
    sim, imported, account, n = simulated_and_imported
    assert n > 500 and (account.rows_read, account.rows_imported, account.rows_rejected) == (n, n, 0)
    sql = "SELECT system, query_type, count(*) FROM searches GROUP BY 1, 2 ORDER BY 1, 2"
    assert imported.execute(sql).fetchall() == sim.execute(sql).fetchall()


def test_the_clets_findings_of_the_imported_log_match_the_simulated_ones(simulated_and_imported):
    sim, imported, _, _ = simulated_and_imported
    expected = _clets_findings(sim)
    assert {f[0] for f in expected} >= {"ca.clets.immigration"}
    assert _clets_findings(imported) == expected
