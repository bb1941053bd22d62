"""A state law's finding is judged by the law's own state, whoever owns the data: Nebraska's
§ 60-3204 binds the agency that runs the query, so Omaha's blank-reason search of Illinois data is
judged by NE in every consumer (the finding_list view, the report and its CSV, `audit explain`)."""
from __future__ import annotations

import csv
import io

from click.testing import CliRunner

from auditor.cli import audit
from auditor.facts import judged_state
from auditor.report import build_report, write_csv
from auditor.schema import open_store

OWNER, OMAHA = "Marion Grove IL PD", "Omaha NE PD"
NE_LAW = "ne.60_3204.manual_query_reason"


def _store(tmp_path):
    from conftest import build_store

    path = tmp_path / "marion_grove.db"
    db = build_store(
        path,
        agencies=[{"name": OWNER, "state": "IL"}, {"name": OMAHA, "state": "NE"}],
        shares=[{"owner": OWNER, "scope": "national"}],
        searches=[{"searcher": OMAHA, "owners": [OWNER], "plate": "BX41207", "time": "2025-06-03T14:02:11Z"},
                  {"searcher": OMAHA, "owners": [OWNER], "reason": "stolen vehicle", "case_number": "25-1181",
                   "plate": "CK22019", "time": "2025-06-04T09:40:00Z"},
                  # a vague reason: a practice finding (purpose.vague), judged by the owner's state
                  {"searcher": OMAHA, "owners": [OWNER], "reason": "investigation", "plate": "DT90311",
                   "time": "2025-06-05T17:15:00Z"}],
    )
    db.conn.close()
    result = CliRunner().invoke(audit, ["run", "--db", str(path)])
    assert result.exit_code == 0, result.output
    return path


def test_the_python_definition_takes_the_laws_state():
    assert judged_state(True, "IL", "NE", "NE") == "NE"
    assert judged_state(True, "IL", "NE") == "IL" and judged_state(False, None, "NE") == "NE"


def test_a_searcher_bound_law_is_judged_by_the_searchers_state_everywhere(tmp_path):
    path = _store(tmp_path)
    db = open_store(path)
    listed = db.execute("SELECT rule_id, search_id, judged_state, owner_state FROM finding_list "
                        "WHERE search_id IS NOT NULL ORDER BY rule_id").fetchall()
    assert (NE_LAW, 1, "NE", "IL") in listed
    # Every other finding of these searches is judged by the owner's state.
    others = {(rule, search, state) for rule, search, state, _ in listed if rule != NE_LAW}
    assert ("purpose.vague", 3, "IL") in others and {state for _, _, state in others} == {"IL"}
    report = build_report(db, store="marion_grove.db")
    [section] = [s for s in report.sections if s["id"] == "jurisdictions"]
    states = {(row["role"].split(" ")[0], row["state"]) for row in section["figures"]}
    assert ("owner", "IL") in states and ("searcher", "NE") in states
    ne_row = next(r for r in section["figures"] if r["state"] == "NE")
    assert NE_LAW in ne_row["laws"] and ne_row["searches"] == 3
    assert "binds the agency that searched" in section["paragraphs"][0]
    [rule] = [r for r in report.section("findings")["rules"] if r["rule_id"] == NE_LAW]
    assert rule["rows"] and all(row["finding"].startswith(f"{OMAHA} queried") for row in rule["rows"])
    out = io.StringIO()
    write_csv(db, out)
    rows = [r for r in csv.DictReader(io.StringIO(out.getvalue())) if r["rule_id"] == NE_LAW]
    assert [(r["search_id"], r["citation_jurisdiction"]) for r in rows] == [("1", "ne")]
    explained = CliRunner().invoke(audit, ["explain", "--db", str(path), "1", "--json"])
    assert explained.exit_code == 0, explained.output
    assert f'"rule_id": "{NE_LAW}"' in explained.output and '"citation_jurisdiction": "ne"' in explained.output
