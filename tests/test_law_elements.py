"""Every encoded law as elements, with its table of cases run as tests, and the review copy for a lawyer."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from auditor.cli import audit
from auditor.facts import with_derived
from auditor.rules.citations import PRACTICE, Citer
from auditor.rules.laws import BINDS, CONDUCTS, case_table, example_facts, shipped
from auditor.rules.loader import load_rules
from auditor.rules.review import review_document

LAWS = [law for j in shipped().values() for law in j.laws]
RULES = {r.id: r for r in load_rules()}
CITER = Citer(RULES.values())


def test_laws_are_encoded():
    assert len(LAWS) >= 20


@pytest.mark.parametrize("law", LAWS, ids=lambda law: law.id)
def test_each_law_names_whom_it_binds_the_conduct_its_text_and_where_it_was_read(law):
    assert law.binds in BINDS and law.conduct in CONDUCTS
    assert len(law.quote) > 40 and law.quote_source in {s.url for s in law.sources}
    assert all(s.read >= "2026-12-01" for s in law.sources)
    # The operative sentence was read on the latest date any source was read.
    reads = {s.url: s.read for s in law.sources}
    assert reads[law.quote_source] == max(reads.values())
    # The finding's sentence names the party the law binds.
    assert any("{" + role + "}" in law.finding for role in BINDS[law.binds])


@pytest.mark.parametrize("law", LAWS, ids=lambda law: law.id)
def test_each_law_has_a_case_where_every_element_holds_and_one_per_element_that_fails(law):
    rows = case_table(law)
    cited = [r for r in rows if r["cited"]]
    assert cited, law.id
    for element in law.elements():
        assert [r for r in rows if r["fails"] == [element.name] and not r["cited"]], (law.id, element.name)
    # The table is the law's verdict: the compiled rule agrees with it on every case.
    rule = RULES[law.id]
    for example, row in zip(law.examples, rows):
        assert rule.matches(example_facts(example)) is row["cited"] is bool(example["expect"])
        if row["cited"]:
            assert CITER(law.id, None).law_ids == (law.id,)


def test_the_issue_cases_are_fixed_in_the_law_files():
    by_id = {law.id: law for law in LAWS}
    # Nebraska binds the agency that runs the query, and `investigation` documents a reason.
    ne = RULES["ne.60_3204.manual_query_reason"]
    texas_on_nebraska = {"searcher.state": "TX", "owner.state": "NE", "system": "alpr", "reason_state": "value",
                         "tags": frozenset({"vague"})}
    assert not ne.matches(texas_on_nebraska)
    omaha_on_el_cajon = {"searcher.state": "NE", "owner.state": "CA", "system": "alpr", "reason_state": "blank",
                         "tags": frozenset({"missing"})}
    assert ne.matches(omaha_on_el_cajon)
    assert "Nebraska plate data" not in ne.title and ne.finding.startswith("{searcher} queried {owner}'s")
    # § 1798.90.52: the operator, and only no purpose recorded.
    ca52 = RULES["ca.1798_90_52.purpose"]
    assert by_id["ca.1798_90_52.purpose"].binds == "owner"
    vague = {"owner.state": "CA", "searcher.state": "CA", "system": "alpr", "reason_state": "value",
             "tags": frozenset({"vague"})}
    assert not ca52.matches(vague) and ca52.matches({**vague, "reason_state": "blank", "tags": frozenset({"missing"})})
    # SB 54 (a)(1): HSI on `narco` states no immigration purpose, and 2017 is before the law. The
    # facts are derived as the scan derives them (auditor.facts.with_derived).
    sb54 = RULES["ca.sb54.immigration"]
    santa_ana = {"searcher.state": "CA", "searcher.level": "local", "owner.state": "CA", "beneficiary.basis": "reason"}
    hsi_narco = with_derived({**santa_ana, "tags": ["crime:narcotics", "dhs_beneficiary"],
                              "beneficiary.dhs_component": "HSI"})
    assert not sb54.matches(hsi_narco)
    ice_request = with_derived({**santa_ana, "tags": ["dhs_beneficiary", "immigration"],
                                "beneficiary.dhs_component": "ICE", "search.date": "2018-01-01"})
    assert sb54.matches(ice_request)
    assert not sb54.matches({**ice_request, "search.date": "2017-06-01"})
    # Illinois: an agency's own search shares nothing; 2023 is before the law.
    il = RULES["il.625_ilcs_5_2_130"]
    shared = {"owner.state": "IL", "scope": "national", "searcher.state": "TX", "searcher.level": "local",
              "immigration_stated": True, "tags": frozenset()}
    assert il.matches(shared) and not il.matches({**shared, "scope": "own", "searcher.state": "IL"})
    assert not il.matches({**shared, "search.date": "2023-12-31"})
    # Effective dates are the dates the laws took effect.
    assert {i: by_id[i].effective for i in ("ar.12_12_1804.retention", "ne.60_3204.retention",
                                             "or.ors_181a_826.owner", "ca.sb54.immigration",
                                             "il.625_ilcs_5_2_130")} == {
        "ar.12_12_1804.retention": "2013-08-16", "ne.60_3204.retention": "2018-07-19",
        "or.ors_181a_826.owner": "2021-07-19", "ca.sb54.immigration": "2018-01-01",
        "il.625_ilcs_5_2_130": "2024-01-01"}


def test_a_practice_finding_shows_related_law_in_words_that_say_it_was_not_broken():
    side = CITER("door.side", "CA")
    assert side.jurisdiction == PRACTICE and side.law_ids == ()
    practice, related = side.text.split(". Related law, not a finding that it was broken (CA): ")
    assert "7284.6" not in practice and "7284.6" in related and side.related == ("ca.sb54.immigration",)
    # No related law where the judged state has none on the rule's grounds.
    assert CITER("door.side", "TX").related == () and "Related law" not in CITER("door.side", "TX").text


def test_the_review_copy_lists_every_law_with_its_elements_quote_sources_and_cases():
    text = review_document(shipped())
    for law in LAWS:
        assert f"`{law.id}`" in text and law.quote in text and law.quote_source in text
        for element in law.elements():
            assert element.name in text
    assert "| case | facts | cited | fails |" in text
    assert "**Reviewed and not encoded:**" in text and "Vermont" in text


def test_audit_rules_review_writes_the_document_and_audit_rules_shows_elements(tmp_path):
    out = tmp_path / "laws-review.md"
    result = CliRunner().invoke(audit, ["rules", "--review", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith("# Laws encoded by proxytrace: review copy")
    shown = CliRunner().invoke(audit, ["rules"]).output
    assert "Elements:" in shown and "1. owner is an agency of CA" in shown
    assert "Binds the agency that ran the search; conduct: queries" in shown


def test_a_law_file_missing_an_element_case_is_refused_with_one_line_and_exit_2(tmp_path):
    laws = tmp_path / "laws"
    laws.mkdir()
    (laws / "zz.toml").write_text('''jurisdiction = "zz"
name = "Test"
reviewed = "2026-12-07"
[[laws]]
id = "zz.law"
citation = "Test Code § 1"
title = "t"
binds = "owner"
conduct = "shares"
finding = "{owner} shared with {searcher}"
summary = "s"
quote = { text = "No agency shall share.", source = "https://example.org/law" }
sources = [ { url = "https://example.org/law", read = "2026-12-07" } ]
effective = "2020-01-01"
severity = "high"
condition = { all = [ { fact = "scope", ne = "own" } ] }
[[laws.examples]]
facts = { "owner.state" = "ZZ", scope = "national" }
expect = true
''')
    result = CliRunner().invoke(audit, ["rules", "--review", str(tmp_path / "r.md"), "--laws-dir", str(laws)])
    assert result.exit_code == 2
    assert "only this element fails: owner is an agency of ZZ" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_on_el_cajon_a_statute_is_cited_only_where_its_elements_hold(tmp_path):
    import csv
    import io
    import sqlite3

    import sqlite_utils

    from auditor.report import write_csv
    from auditor.scan import run_audit
    from simulator.cli import simulate as simulate_cli

    store = tmp_path / "ec.db"
    result = CliRunner().invoke(simulate_cli, ["--scenario", "el_cajon", "--scale", "0.02", "--seed", "5",
                                               "--out", str(store)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    db = sqlite_utils.Database(sqlite3.connect(store))
    run_audit(db)
    out = io.StringIO()
    write_csv(db, out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert rows
    marker = "Related law, not a finding that it was broken"
    for row in rows:
        cited = row["citation"].split(marker)[0]
        # § 7284.6 is cited only by its own law, whose elements include the one immigration-related fact.
        if "7284.6" in cited:
            assert row["rule_id"] == "ca.sb54.immigration", row
        # § 1798.90.52 only where no purpose was recorded.
        if "1798.90.52" in cited:
            assert row["rule_id"] == "ca.1798_90_52.purpose" and row["reason"] == "", row
        assert "Nebraska plate data" not in row["finding"]
        if row["rule_id"].startswith("ne."):
            assert row["searcher"].endswith(" NE PD") or " NE " in row["searcher"], row
    by_rule = {r["rule_id"] for r in rows}
    assert {"ca.sb34.sharing", "purpose.vague"} <= by_rule
    sharing = next(r for r in rows if r["rule_id"] == "ca.sb34.sharing")
    assert sharing["finding"].startswith(f"{sharing['owner']} shared its ALPR data with {sharing['searcher']}")
    vague = next(r for r in rows if r["rule_id"] == "purpose.vague")
    assert vague["citation"].startswith("Audit practice") and f"{marker} (CA): Cal. Civ. Code § 1798.90.52" in vague["citation"]


def test_a_nebraska_agency_is_named_for_its_own_query_of_california_data(store_builder):
    from auditor.explain import explain_search
    from auditor.scan import run_audit

    db = store_builder(
        agencies=[{"name": "El Cajon CA PD", "state": "CA"}, {"name": "Omaha NE PD", "state": "NE"},
                  {"name": "Dallas TX PD", "state": "TX"}, {"name": "Lincoln NE PD", "state": "NE"}],
        shares=[{"owner": "El Cajon CA PD", "scope": "national"}, {"owner": "Lincoln NE PD", "scope": "national"}],
        searches=[{"searcher": "Omaha NE PD", "owners": ["El Cajon CA PD"], "reason": "", "user": "a"},
                  {"searcher": "Dallas TX PD", "owners": ["Lincoln NE PD"], "reason": "investigation", "user": "b"}])
    run_audit(db)
    by_searcher = {}
    for (search_id, searcher) in db.execute(
            "SELECT s.id, a.name FROM searches s JOIN agencies a ON a.id = s.searcher_id"):
        by_searcher[searcher] = {f["rule_id"]: f for f in explain_search(db, search_id)["findings"]}
    omaha = by_searcher["Omaha NE PD"]["ne.60_3204.manual_query_reason"]
    assert omaha["finding"] == "Omaha NE PD queried El Cajon CA PD's plate data without documenting a reason for the query"
    assert omaha["citation"].startswith("Neb. Rev. Stat. § 60-3204(3)(a)")
    # A Texas agency's documented (if vague) reason on Nebraska data is no Nebraska finding.
    assert not [r for r in by_searcher["Dallas TX PD"] if r.startswith("ne.")]


def test_every_aggregate_measure_is_a_function_of_the_measures_package():
    from auditor.rules.measures import MEASURES

    aggregate = {r.measure for r in RULES.values() if r.scope == "aggregate"}
    assert aggregate and aggregate <= set(MEASURES)
    for name, measure in MEASURES.items():
        # Registered by import, not by a module-name string resolved at call time.
        assert measure.__module__.startswith("auditor.rules.measures."), name
