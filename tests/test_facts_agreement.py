"""One answer per fact, whoever is asked: the mixed store.

Two owners in two states (El Cajon CA, Omaha NE), a DHS searcher (ICE ERO) on a vague reason, HSI on
narcotics (a proxy for it, and HSI itself), a 287(g) partner stating immigration and the same
partner on a stolen car, an unresolved searcher (a university police whose level its name does not
say), and an own search. Every search is simulated (it has truth) and was seen in a release, so
every consumer has something to say about it: `audit run` (text and `--json`), the overview, the
report in every format, `audit explain`, `audit score`, the exercise answer key and the Datasette
views must give the one definition's answer (auditor.facts) for each fact.
"""
from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from auditor.cli import audit
from auditor.explain import explain_search
from auditor.facts import (STORED_KEY_COLUMNS, STORED_KEYS_SQL, Judge, Truth, dhs_linked, first_row_sql,
                           immigration_related, is_unresolved, judged_state, search_immigration_sql,
                           search_immigration_stated_sql, stored_bounds,
                           stored_classes, stored_key, truth_immigration_sql, unresolved_sql)
from auditor.graph import build_graph, load_agencies
from auditor.rules.laws import law_states
from auditor.rules.citations import Citer
from auditor.report import write_report_to
from auditor.rules import load_rules
from auditor.schema import open_store
from auditor.score import score_store
from auditor.views import create_views

CA_OWNER, NE_OWNER = "El Cajon CA PD", "Omaha NE PD"
ERO, HSI_OFFICE = "[Federal] ICE ERO San Diego", "[Federal] HSI San Diego"
HSI, ICE = "Homeland Security Investigations (HSI)", "U.S. Immigration and Customs Enforcement (ICE)"
CA_LOG, NE_LOG = "1_1_2025-12_31_2025-El_Cajon_CA_PD-Network-Audit.csv", "1_1_2025-12_31_2025-Omaha_NE_PD-Network-Audit.csv"

# Search ids follow the order below.
SEARCHES = [
    # 1. a DHS searcher on a vague reason: immigration-related by who it is (back door)
    {"searcher": ERO, "owners": [CA_OWNER], "reason": "investigation", "plate": "8ABC123", "seen_in": [CA_LOG],
     "truth": {"purpose": "immigration"}},
    # 2. a proxy for HSI on narcotics, of both owners' data: side door, not immigration-related
    {"searcher": "Dallas TX PD", "owners": [CA_OWNER, NE_OWNER], "reason": "HSI assist narcotics",
     "case_number": "25-0113", "seen_in": [NE_LOG, CA_LOG], "truth": {"purpose": "narcotics", "beneficiary": HSI}},
    # 3. HSI itself on narcotics: back door, not immigration-related
    {"searcher": HSI_OFFICE, "owners": [NE_OWNER], "reason": "narcotics trafficking", "case_number": "25-0200",
     "seen_in": [NE_LOG], "truth": {"purpose": "narcotics"}},
    # 4. a 287(g) partner stating immigration: immigration-related, done for ICE (basis 287g)
    {"searcher": "Lowndes County GA SO", "owners": [CA_OWNER], "reason": "immigration", "seen_in": [CA_LOG],
     "truth": {"purpose": "immigration", "beneficiary": ICE}},
    # 5. the same partner on a stolen car: not immigration-related
    {"searcher": "Lowndes County GA SO", "owners": [CA_OWNER], "reason": "stolen vehicle", "case_number": "25-0300",
     "seen_in": [CA_LOG], "truth": {"purpose": "stolen_vehicle"}},
    # 6. an unresolved searcher: a university police, public or private unknown
    {"searcher": "Duke University NC PD", "owners": [CA_OWNER], "reason": "inv", "seen_in": [CA_LOG],
     "truth": {"purpose": "theft"}},
    # 7. an own search
    {"searcher": NE_OWNER, "owners": [NE_OWNER], "reason": "stolen vehicle", "case_number": "25-0400",
     "seen_in": [NE_LOG], "truth": {"purpose": "stolen_vehicle"}},
]
IMMIGRATION_RELATED = {1, 4}
DHS_LINKED = {1, 2, 3, 4}
UNRESOLVED = ["Duke University NC PD"]


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    from conftest import build_store

    path = tmp_path_factory.mktemp("mixed") / "mixed.db"
    db = build_store(
        path,
        agencies=[
            {"name": CA_OWNER, "state": "CA"}, {"name": NE_OWNER, "state": "NE"}, {"name": "Dallas TX PD", "state": "TX"},
            {"name": "Lowndes County GA SO", "state": "GA", "level": "county", "kind": "sheriff", "is_287g": 1},
            {"name": ERO, "level": "federal", "kind": "ICE", "dhs_component": "ERO"},
            {"name": HSI_OFFICE, "level": "federal", "kind": "HSI", "dhs_component": "HSI"},
        ],
        releases=[{"file_name": CA_LOG, "producer": CA_OWNER, "rows_read": 6},
                  {"file_name": NE_LOG, "producer": NE_OWNER, "rows_read": 3}],
        shares=[{"owner": CA_OWNER, "scope": "national"}, {"owner": NE_OWNER, "scope": "national"}],
        searches=SEARCHES,
    )
    db.conn.close()
    run_text = CliRunner().invoke(audit, ["run", "--db", str(path)])
    assert run_text.exit_code == 0, run_text.output
    run_json = CliRunner().invoke(audit, ["run", "--db", str(path), "--json"])
    assert run_json.exit_code == 0, run_json.output
    db = open_store(path)
    return path, db, run_text.output, json.loads(run_json.output)


def _one_definition(db):
    """Per search, the facts as the one definition gives them: in Python off the stored keys, and
    in SQL; both must agree before any consumer is compared with them."""
    agencies = load_agencies(db)
    judge = Judge(load_rules(), build_graph(db, agencies), agencies, stored_classes(db), *stored_bounds(db))
    width = len(STORED_KEY_COLUMNS.split(","))
    python, truth, verdicts, stated = {}, {}, {}, {}
    for row in db.execute(
            f"""SELECT k.search_id, {STORED_KEY_COLUMNS}, t.purpose, t.misuse_kind,
                       COALESCE(t.beneficiary_id, s.searcher_id)
                {STORED_KEYS_SQL} JOIN searches s ON s.id = k.search_id JOIN truth t ON t.search_id = s.id"""):
        key, told = stored_key(row[1:width + 1]), Truth(*row[width + 1:])
        python.setdefault(row[0], set()).add(judge.facts(key)["immigration_related"])
        stated.setdefault(row[0], set()).add(judge.facts(key)["immigration_stated"])
        truth.setdefault(row[0], set()).add(judge.facts(key, told)["immigration_related"])
        verdicts.setdefault(row[0], set()).update(judge.verdict(key))
    sql = dict(db.execute(f"SELECT s.id, {search_immigration_sql('s', 'b')} FROM searches s "
                          "LEFT JOIN beneficiaries b ON b.search_id = s.id"))
    truth_sql = dict(db.execute(f"SELECT s.id, {truth_immigration_sql('t', 's')} FROM searches s "
                                "JOIN truth t ON t.search_id = s.id"))
    assert all(len(v) == 1 for v in python.values())  # a search's owners never change the answer
    python = {k: v.pop() for k, v in python.items()}
    truth = {k: v.pop() for k, v in truth.items()}
    assert python == {k: bool(v) for k, v in sql.items()}
    # The narrower fact a law's purpose element rests on: the same in Python and SQL, and within
    # immigration-related (the ERO searcher's own search and the 287(g) partner stating immigration).
    stated_sql = dict(db.execute(f"SELECT s.id, {search_immigration_stated_sql('s', 'b')} FROM searches s "
                                 "LEFT JOIN beneficiaries b ON b.search_id = s.id"))
    assert {k: v.pop() for k, v in stated.items()} == {k: bool(v) for k, v in stated_sql.items()}
    assert {k for k, v in stated_sql.items() if v} == IMMIGRATION_RELATED
    assert truth == {k: bool(v) for k, v in truth_sql.items()}
    return python, truth, verdicts


def _first_rows(db):
    return {sid: (f, row) for sid, f, row in db.execute(
        f"""SELECT s.id, r.file_name, {first_row_sql('s.id')} FROM searches s
            JOIN releases r ON r.id = (SELECT g.release_id FROM sightings g WHERE g.search_id = s.id
                                       ORDER BY g.release_id, g.row_number LIMIT 1)""")}


def test_the_definition_answers_hsi_and_287g_as_written():
    assert not immigration_related({"dhs_beneficiary", "crime:narcotics"}, "HSI")
    assert immigration_related({"immigration"}, "HSI") and immigration_related(set(), "ERO")
    assert dhs_linked(None, "HSI") and dhs_linked("HSI", None) and not dhs_linked(None, None)
    assert is_unresolved("unknown", "NC") and is_unresolved("local", None) and not is_unresolved("federal", None)


def test_python_and_sql_agree_and_say_what_the_store_was_built_to_show(mixed):
    _, db, _, _ = mixed
    logged, truth, _ = _one_definition(db)
    assert {s for s, v in logged.items() if v} == IMMIGRATION_RELATED
    # Told the truth, the same two (the HSI searches were narcotics cases).
    assert {s for s, v in truth.items() if v} == IMMIGRATION_RELATED
    unresolved = [r[0] for r in db.execute(f"SELECT name FROM agencies WHERE {unresolved_sql()} ORDER BY name")]
    assert unresolved == UNRESOLVED
    assert [a.name for a in load_agencies(db).values() if is_unresolved(a.level, a.state)] == UNRESOLVED


def test_audit_run_summary_text_and_json(mixed):
    _, db, text, data = mixed
    assert data["unresolved_agencies"] == UNRESOLVED
    assert f"{len(UNRESOLVED)} unresolved." in text and "Unresolved agencies: Duke University NC PD" in text
    assert data["overview"]["totals"]["immigration_related"] == len(IMMIGRATION_RELATED)
    assert data["overview"]["totals"]["unresolved_agencies"] == len(UNRESOLVED)
    assert f"Immigration-related searches: {len(IMMIGRATION_RELATED)}; 2 more were run by or for HSI (2) without being immigration-related" in text
    # Findings rest on the same verdicts the one step gives.
    _, _, verdicts = _one_definition(db)
    by_rule: dict[str, set[int]] = {}
    for search_id, rules in verdicts.items():
        for rule_id in rules:
            by_rule.setdefault(rule_id, set()).add(search_id)
    assert by_rule and {r: len(s) for r, s in by_rule.items()} == {
        r: v["searches"] for r, v in data["findings_by_rule"].items() if v["searches"] and r in by_rule}
    assert by_rule["door.side"] == {2, 4} and by_rule["door.back"] == {1, 3}


def test_the_overview_and_its_tables(mixed):
    _, db, _, data = mixed
    overview = data["overview"]
    imm = overview["immigration"]
    assert imm["searches"] == len(IMMIGRATION_RELATED)
    assert imm["dhs_linked_not_immigration"] == len(DHS_LINKED - IMMIGRATION_RELATED)
    assert imm["dhs_linked_not_immigration_by_component"] == {"HSI": 2}
    by_agency = {r["agency"]: r["immigration_related"] for r in overview["agencies"]}
    assert by_agency[ERO] == 1 and by_agency["Lowndes County GA SO"] == 1
    assert by_agency["Dallas TX PD"] == 0 and by_agency[HSI_OFFICE] == 0
    assert {o["owner"]: o["immigration_related"] for o in overview["owners"]} == {CA_OWNER: 2, NE_OWNER: 0}
    assert db.execute("SELECT SUM(immigration_related) FROM agency_summary").fetchone()[0] == 2
    assert db.execute("SELECT SUM(immigration_related) FROM state_summary").fetchone()[0] == 2
    assert dict(db.execute("SELECT owner, SUM(immigration_related) FROM month_summary GROUP BY owner")) == {
        CA_OWNER: 2, NE_OWNER: 0}


def _report(db, fmt):
    out = io.StringIO()
    write_report_to(db, out, fmt)
    return out.getvalue()


def test_every_report_format(mixed):
    _, db, _, _ = mixed
    report = json.loads(_report(db, "json"))
    assert report["counts"]["immigration_related"] == len(IMMIGRATION_RELATED)
    assert report["counts"]["unresolved_agencies"] == len(UNRESOLVED)
    headline = " ".join(s["text"] for s in next(x for x in report["sections"] if x["id"] == "headline")["sentences"])
    assert "2 searches (29%) were immigration-related" in headline
    assert "2 other searches were run by or on behalf of HSI (2) without being immigration-related" in headline
    for fmt in ("md", "html"):
        text = _report(db, fmt)
        assert "2 searches (29%) were immigration-related" in text, fmt
        assert "1 agencies are unresolved" in text, fmt
        assert "HSI (2) without being immigration-related" in text, fmt


def test_findings_cite_the_judging_state_and_the_first_release_row_in_csv_json_explain_and_views(mixed):
    _, db, _, _ = mixed
    citer, rules = Citer(), {r.id: r for r in load_rules()}
    first = _first_rows(db)
    # The one definition, per (rule, search, owner): the judging state and its citation.
    expected = {}
    for rule_id, search_id, has_owner, owner_state, searcher_state in db.execute(
            """SELECT f.rule_id, f.search_id, t.owner_id IS NOT NULL, oa.state, sa.state FROM findings f
               JOIN traces t ON t.id = f.trace_id LEFT JOIN agencies oa ON oa.id = t.owner_id
               LEFT JOIN agencies sa ON sa.id = t.searcher_id WHERE f.search_id IS NOT NULL"""):
        state = judged_state(bool(has_owner), owner_state, searcher_state, law_states().get(rule_id))
        expected.setdefault((rule_id, search_id), set()).add((state, citer(rule_id, state, bool(has_owner)).jurisdiction))
    assert len(expected) > 10 and {s for _, s in expected} == {1, 2, 3, 4, 5, 6}
    # Search 2 touched CA and NE data: judged by each owner's state.
    assert {s for s, _ in expected[("ca.sb34.sharing", 2)]} == {"CA"}
    assert {s for s, _ in expected[("door.side", 2)]} == {"CA", "NE"}

    rows = list(csv.DictReader(io.StringIO(_report(db, "csv"))))
    assert rows
    got = {}
    for r in rows:
        sid = int(r["search_id"])
        got.setdefault((r["rule_id"], sid), set()).add(r["citation_jurisdiction"])
        assert (r["source_release"], int(r["source_row"])) == first[sid]
    assert got == {k: {j for _, j in v} for k, v in expected.items()}

    report = json.loads(_report(db, "json"))
    examples = [(rule["rule_id"], row) for rule in next(s for s in report["sections"] if s["id"] == "findings")["rules"]
                if rule["scope"] == "search" for row in rule["rows"]]
    assert examples
    for rule_id, row in examples:
        assert (row["source_release"], row["source_row"]) == first[row["search_id"]]
        cited = {citer(rule_id, state, True).text for state, _ in expected[(rule_id, row["search_id"])]}
        assert row["citation"] in cited

    for search_id in range(1, 8):
        e = explain_search(db, search_id)
        assert e["immigration_related"] == (search_id in IMMIGRATION_RELATED)
        assert e["dhs_linked"] == (search_id in DHS_LINKED)
        assert (e["sources"][0]["release"], e["sources"][0]["row"]) == first[search_id]
        found = {}
        for f in e["findings"]:
            found.setdefault((f["rule_id"], search_id), set()).add(f["citation_jurisdiction"])
        assert found == {k: {j for _, j in v} for k, v in expected.items() if k[1] == search_id}
        assert bool(e["traces"]) and all(t["path"] for t in e["traces"])

    create_views(db)
    listed = {sid: bool(v) for sid, v in db.execute("SELECT search_id, immigration_related FROM search_list")}
    assert {s for s, v in listed.items() if v} == IMMIGRATION_RELATED and len(listed) == 7
    views = {}
    for rule_id, sid, state, file_name, row in db.execute(
            "SELECT rule_id, search_id, judged_state, release_file, release_row FROM finding_list "
            "WHERE search_id IS NOT NULL"):
        views.setdefault((rule_id, sid), set()).add(state)
        assert (file_name, row) == first[sid]
    assert views == {k: {s for s, _ in v} for k, v in expected.items()}


def test_audit_explain_text_says_the_same(mixed):
    path, _, _, _ = mixed
    for search_id, says in ((2, "immigration-related: no; run by or for a DHS immigration component"),
                            (4, "immigration-related: yes; run by or for a DHS immigration component"),
                            (7, "immigration-related: no\n")):
        result = CliRunner().invoke(audit, ["explain", "--db", str(path), str(search_id)])
        assert result.exit_code == 0 and says in result.output + "\n", result.output


def test_audit_score_and_the_simulator_summary(mixed):
    path, db, _, _ = mixed
    score = score_store(db)
    _, truth, _ = _one_definition(db)
    assert score.searches == 7 and score.immigration_related == sum(truth.values()) == len(IMMIGRATION_RELATED)
    result = CliRunner().invoke(audit, ["score", "--db", str(path), "--json"])
    assert result.exit_code == 0 and json.loads(result.output)["immigration_related"] == len(IMMIGRATION_RELATED)
    from simulator.summary import summarize

    assert summarize(db).immigration_related == len(IMMIGRATION_RELATED)


def test_the_exercise_answer_key(mixed):
    _, db, _, _ = mixed
    from simulator.exercise import build_exercise

    logged, truth, _ = _one_definition(db)
    agencies = load_agencies(db)
    judge = Judge(load_rules(), build_graph(db, agencies), agencies, stored_classes(db), *stored_bounds(db))
    width = len(STORED_KEY_COLUMNS.split(","))
    told = {}
    for row in db.execute(f"""SELECT k.search_id, {STORED_KEY_COLUMNS}, t.purpose, t.misuse_kind,
                                     COALESCE(t.beneficiary_id, s.searcher_id)
                              {STORED_KEYS_SQL} JOIN searches s ON s.id = k.search_id JOIN truth t ON t.search_id = s.id"""):
        told.setdefault(row[0], set()).update(judge.verdict(stored_key(row[1:width + 1]), Truth(*row[width + 1:])))
    exercise = build_exercise(db, items=7, seed=3)
    assert sorted(i.search_id for i in exercise.items) == list(range(1, 8))
    for item in exercise.items:
        assert item.key["immigration_related"] == truth[item.search_id]
        assert item.key["audit"]["immigration_related"] == logged[item.search_id]
        assert set(item.key["accepted_rules"]) <= told[item.search_id]
        assert item.key["violation"] == bool(told[item.search_id])


def test_a_report_with_only_hsi_searches_does_not_contradict_its_door_findings(store_builder):
    db = store_builder(
        agencies=[{"name": CA_OWNER, "state": "CA"}, {"name": "Dallas TX PD", "state": "TX"}],
        shares=[{"owner": CA_OWNER, "scope": "national"}],
        searches=[{"searcher": "Dallas TX PD", "owners": [CA_OWNER], "reason": "HSI assist narcotics"}])
    from auditor.scan import run_audit

    summary = run_audit(db)
    assert summary.findings_by_rule["door.side"]["searches"] == 1
    for fmt in ("md", "html", "json"):
        text = _report(db, fmt)
        assert "No search was immigration-related" in text
        assert "1 other search was run by or on behalf of HSI (1) without being immigration-related" in text
        assert "ICE&#x27;s investigative arm" in text or "ICE's investigative arm" in text
