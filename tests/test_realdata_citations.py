"""Every real release in ../shared/realdata, audited: no finding cites another jurisdiction's law.

Skipped when the folder is absent. Every file there is offered to the importer (those that are no
search log are refused with a one-line error); the searches are audited with ICE's 287(g) list; then
each finding's citation, as the report, CSV and explain resolve it, must belong to a jurisdiction its
rule applies to and, if it is a state's law, to the state the finding is judged by.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from auditor.errors import InputError
from auditor.importers import ImportOptions, import_file
from auditor.facts import finding_role
from auditor.rules.citations import PRACTICE, Citer
from auditor.rules.laws import FEDERAL
from auditor.report import write_csv
from auditor.report.build import jurisdictions_applied
from auditor.rules import load_rules
from auditor.scan import RunParams, run_audit
from auditor.schema import open_store

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "realdata"
pytestmark = pytest.mark.realdata
# Releases whose file does not name the agency that produced them (as tests/test_import_realdata.py).
PRODUCERS = {"eugene_or_portal": "Eugene OR PD", "san_mateo_ca": "San Mateo CA PD", "irvine_ca": "Irvine CA PD"}


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    if not REAL.is_dir():
        pytest.skip(f"{REAL} not present")
    db = open_store(tmp_path_factory.mktemp("real") / "store.db", create=True)
    imported, refused = [], []
    for path in sorted(p for p in REAL.glob("*/*") if p.is_file() and p.suffix != ".md"):
        try:
            accounts = import_file(db, path, ImportOptions(producer=PRODUCERS.get(path.parent.name)))
        except InputError as e:
            assert "\n" not in str(e)
            refused.append(path.name)
            continue
        assert all(a.balanced for a in accounts)
        imported.append(path.name)
    if not imported:
        pytest.skip("no search release in ../shared/realdata")
    list_287g = REAL / "ice_287g" / "ice-287g-deduped.csv"
    run_audit(db, RunParams(ice_287g=str(list_287g) if list_287g.exists() else None))
    return db, imported


def _findings_by_subject(db):
    """(rule_id, owner state, searcher state, agency state, has owner) -> finding rows, for the last run."""
    return db.execute(
        """SELECT f.rule_id, oa.state, sa.state, ga.state, t.owner_id IS NOT NULL, COUNT(*)
           FROM findings f
           LEFT JOIN traces t ON t.id = f.trace_id
           LEFT JOIN agencies oa ON oa.id = t.owner_id
           LEFT JOIN agencies sa ON sa.id = t.searcher_id
           LEFT JOIN agencies ga ON ga.id = f.agency_id
           WHERE f.run_id = (SELECT MAX(id) FROM runs) GROUP BY 1, 2, 3, 4, 5"""
    ).fetchall()


def test_no_finding_cites_a_law_of_a_jurisdiction_its_rule_does_not_apply_to(audited):
    db, imported = audited
    rules = {r.id: r for r in load_rules()}
    citer = Citer(rules.values())
    checked = 0
    for rule_id, owner_state, searcher_state, agency_state, has_owner, n in _findings_by_subject(db):
        rule = rules[rule_id]
        role = finding_role(rule, bool(has_owner))
        state = agency_state if rule.scope == "aggregate" else (owner_state if has_owner else searcher_state)
        cited = citer(rule_id, state, bool(has_owner))
        if rule.law is not None:
            # A law fires only where a role it binds is in its state.
            states = {"owner": owner_state, "searcher": searcher_state}
            assert rule.law.jurisdiction == FEDERAL or rule.law.jurisdiction.upper() in {
                states[r] for r in rule.law.applies_to}, (rule_id, owner_state, searcher_state)
            assert cited.jurisdiction == rule.law.jurisdiction
        elif cited.jurisdiction != PRACTICE:
            assert cited.jurisdiction in rule.jurisdictions or cited.jurisdiction == (state or "").lower(), (
                rule_id, state, role, cited.jurisdiction)
        if (state or "").upper() != "CA" and rule.jurisdictions == ("*",):
            assert "Cal." not in cited.text, (rule_id, state, cited.text)
        checked += n
    assert checked == db.execute("SELECT COUNT(*) FROM findings").fetchone()[0] > 0


def test_the_report_says_which_jurisdictions_laws_were_applied_to_each_release(audited):
    db, _ = audited
    # (jurisdictions_applied is the report's section; the full report also tabulates exposure,
    # which takes long on Irvine's sharing sheets and is not what this test is about.)
    by_agency = {j["agency"]: j for j in jurisdictions_applied(db)}
    # Own-search logs name no owner: the searcher's state decides, and Florida has no law encoded.
    assert "no law encoded for FL" in by_agency["Okaloosa County FL SO"]["note"]
    assert by_agency["Irvine CA PD"]["jurisdiction"] == "ca"
    assert by_agency["Eugene OR PD"]["jurisdiction"] == "or"


def test_no_csv_row_of_an_agency_outside_california_cites_california_law(audited):
    db, _ = audited
    out = io.StringIO()
    write_csv(db, out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert rows
    for row in rows:
        if " CA " not in f" {row['owner'] or row['searcher']} ":
            assert "Cal." not in row["citation"] and row["citation_jurisdiction"] != "ca", row
