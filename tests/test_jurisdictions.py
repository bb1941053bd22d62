"""Laws as data per jurisdiction, and findings that cite only the law of the state they are judged by."""
from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import pytest

from auditor.errors import InputError
from auditor.facts import with_derived
from auditor.explain import explain_search
from auditor.rules.buckets import fact_thresholds
from auditor.rules.citations import PRACTICE, Citer, applied, cite
from auditor.rules.laws import load_jurisdictions, load_laws, shipped
from auditor.report import build_report, render_html, render_markdown, write_csv
from auditor.rules import load_rules
from auditor.scan import run_audit

JURISDICTIONS = shipped()
LAWS = load_laws()
RULES = load_rules()
# A statute named in a citation: a code section sign, or the way the encoded states cite their codes.
STATUTE = re.compile(r"§|\bILCS\b|Rev\. Code|Rev\. Stat|Civ\. Code|Gov\. Code|Ark\. Code|Va\. Code|U\.S\.C\.")


def _true_examples():
    return [pytest.param(rule, example, id=f"{rule.id}[{i}]")
            for rule in LAWS for i, example in enumerate(rule.examples) if example["expect"]]


def _facts(example):
    facts = with_derived(example["facts"])
    return facts


def test_the_states_verified_so_far_have_files_and_federal_law_has_one():
    assert {"ca", "wa", "il", "or", "ar", "va", "nh", "nc", "ga", "ut", "md", "nj", "ne", "mt", "tn", "us"} <= set(JURISDICTIONS)


def test_every_law_has_a_citation_a_source_read_on_a_date_and_an_effective_date():
    for j in JURISDICTIONS.values():
        for law in j.laws:
            assert law.citation and law.summary and law.id.startswith(j.code + ".")
            assert law.sources and all(s.url.startswith("http") and date.fromisoformat(s.read) for s in law.sources)
            assert date.fromisoformat(law.effective)
            assert {bool(e["expect"]) for e in law.examples} == {True, False}


def test_the_rules_that_were_california_washington_illinois_oregon_files_are_laws_now():
    law_ids = {r.id for r in LAWS}
    assert {"ca.sb34.sharing", "ca.sb54.immigration", "ca.1798_90_52.purpose", "il.625_ilcs_5_2_130",
            "or.ors_181a_826.owner", "wa.rcw_43_17_425.owner"} <= law_ids
    # Rule files keep only what is not a state's statute, and each says where it applies.
    assert all(r.jurisdictions for r in RULES)


@pytest.mark.parametrize("rule,example", _true_examples())
def test_a_law_judges_searches_from_its_effective_date_and_not_the_day_before(rule, example):
    effective = rule.law.effective
    day_before = (date.fromisoformat(effective) - timedelta(days=1)).isoformat()
    assert rule.matches({**_facts(example), "search.date": effective})
    assert not rule.matches({**_facts(example), "search.date": day_before})


@pytest.mark.parametrize("rule,example", _true_examples())
def test_a_law_never_judges_a_search_where_no_role_it_binds_is_in_its_state(rule, example):
    elsewhere = {k: ("ZZ" if k.endswith(".state") else v) for k, v in _facts(example).items()}
    assert not rule.matches(elsewhere)


def test_fact_thresholds_name_the_effective_dates_a_scan_must_tell_apart():
    dates = fact_thresholds(LAWS, "search.date")
    # `not (date <= day before)` is how a law's effective date reads in its compiled condition.
    assert "2015-12-31" in dates and dates == sorted(dates)
    # Retention limits: CHP 60 days; NC, MT, TN 90 days; AR 150; NE 180; UT nine months; GA 30 months.
    assert fact_thresholds(LAWS, "time_frame.days_back") == [61, 91, 151, 181, 277, 916]


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


GOOD_LAW = '''
[[laws]]
id = "zz.test_law"
citation = "Test Code § 1"
title = "t"
binds = "searcher"
conduct = "queries"
finding = "{searcher} searched {owner}'s data for immigration enforcement"
summary = "s"
quote = { text = "No agency shall use its personnel for immigration enforcement.", source = "https://example.org/law" }
sources = [ { url = "https://example.org/law", read = "2026-12-01" } ]
effective = "2020-01-01"
severity = "high"
condition = { all = [ { fact = "searcher.level", in = ["local", "county"] }, { fact = "immigration_related", eq = true } ] }
[[laws.examples]]
name = "every element holds"
facts = { "searcher.state" = "ZZ", "searcher.level" = "local", immigration_related = true, "search.date" = "2021-05-01" }
expect = true
[[laws.examples]]
name = "another state's searcher"
facts = { "searcher.state" = "CA", "searcher.level" = "local", immigration_related = true }
expect = false
[[laws.examples]]
name = "before the law"
facts = { "searcher.state" = "ZZ", "searcher.level" = "local", immigration_related = true, "search.date" = "2019-12-31" }
expect = false
[[laws.examples]]
name = "a federal searcher"
facts = { "searcher.state" = "ZZ", "searcher.level" = "federal", immigration_related = true }
expect = false
[[laws.examples]]
name = "not immigration-related"
facts = { "searcher.state" = "ZZ", "searcher.level" = "local", immigration_related = false }
expect = false
'''
HEAD = 'jurisdiction = "zz"\nname = "Test"\nreviewed = "2026-12-01"\n'


def test_a_well_formed_jurisdiction_file_compiles_to_a_rule_bound_to_its_state(tmp_path):
    [rule] = load_laws([_write(tmp_path, "zz.toml", HEAD + GOOD_LAW)])
    facts = {"searcher.state": "ZZ", "searcher.level": "county", "immigration_related": True, "tags": frozenset()}
    assert rule.matches(facts)
    assert not rule.matches({**facts, "searcher.state": "CA"})
    # The law binds the searcher: an owner in its state is not enough.
    assert not rule.matches({**facts, "searcher.state": "CA", "owner.state": "ZZ"})
    law = rule.law
    assert law.binds == "searcher" and law.conduct == "queries" and law.quote.startswith("No agency")
    assert [e.name for e in law.elements()] == [
        "searcher is an agency of ZZ", "the search was made on or after 2020-01-01 (unknown dates count as in force)",
        "searcher.level is one of local, county", "immigration_related is true"]


def _without(key_line):
    return HEAD + GOOD_LAW.replace(key_line + "\n", "")


@pytest.mark.parametrize("name,text,problem", [
    ("zz.toml", _without('sources = [ { url = "https://example.org/law", read = "2026-12-01" } ]'), "sources"),
    ("zz.toml", _without('effective = "2020-01-01"'), "effective"),
    ("zz.toml", HEAD + GOOD_LAW.replace('read = "2026-12-01"', 'read = "last week"'), "read date"),
    ("zz.toml", HEAD + GOOD_LAW.replace('id = "zz.test_law"', 'id = "ca.test_law"'), "starts with its jurisdiction"),
    ("zz.toml", _without('binds = "searcher"'), "binds"),
    ("zz.toml", HEAD + GOOD_LAW.replace('binds = "searcher"', 'binds = "planet"'), "binds"),
    ("zz.toml", _without('conduct = "queries"'), "conduct"),
    ("zz.toml", HEAD + GOOD_LAW.replace('conduct = "queries"', 'conduct = "dislikes"'), "conduct"),
    ("zz.toml", HEAD + GOOD_LAW.replace(
        'quote = { text = "No agency shall use its personnel for immigration enforcement.", source = "https://example.org/law" }\n', ""),
     "quote"),
    ("zz.toml", HEAD + GOOD_LAW.replace('source = "https://example.org/law" }', 'source = "https://example.org/other" }'),
     "quote's `source`"),
    ("zz.toml", _without('finding = "{searcher} searched {owner}\'s data for immigration enforcement"'), "finding"),
    ("zz.toml", HEAD + GOOD_LAW.replace('finding = "{searcher} searched', 'finding = "{owner} shared'), "party the law binds"),
    ("zz.toml", HEAD + GOOD_LAW.replace('{ fact = "searcher.level", in = ["local", "county"] }, ', ""),
     "expects no finding"),
    ("zz.toml", HEAD + GOOD_LAW.replace("name = \"a federal searcher\"", "name = \"x\"").replace(
        'facts = { "searcher.state" = "ZZ", "searcher.level" = "federal", immigration_related = true }',
        'facts = { "searcher.state" = "ZZ", "searcher.level" = "federal", immigration_related = false }'),
     "only this element fails: searcher.level is one of local, county"),
    ("zz.toml", HEAD + GOOD_LAW.replace('condition = { all = [', 'condition = { any = ['), "lists the law's elements"),
    ("xx.toml", HEAD + GOOD_LAW, "does not match the file name"),
    ("zz.toml", HEAD + GOOD_LAW.replace('"immigration_related", eq', '"owner.planet", eq'), "unknown fact"),
])
def test_a_malformed_jurisdiction_file_is_a_one_line_error_naming_it(tmp_path, name, text, problem):
    path = _write(tmp_path, name, text)
    with pytest.raises(InputError) as err:
        load_jurisdictions([path])
    message = str(err.value)
    assert name in message and problem in message and "\n" not in message


def test_no_rule_cites_a_statute_as_the_practice_it_rests_on_outside_its_own_state():
    for rule in RULES:
        if rule.law is None and rule.jurisdictions == ("*",):
            assert not STATUTE.search(rule.citation), rule.id


@pytest.mark.parametrize("state", ["CA", "TX", "MN", "IL", "VA", "WA", None])
def test_every_citation_belongs_to_the_state_it_is_judged_by(state):
    for rule in RULES:
        for role in ("owner", "searcher"):
            c = cite(rule, state, role)
            if rule.law is not None:
                assert c.jurisdiction == rule.law.jurisdiction
            elif c.jurisdiction != PRACTICE:
                assert c.jurisdiction in rule.jurisdictions or c.jurisdiction == (state or "").lower()
            if state != "CA" and rule.jurisdictions == ("*",):
                assert "Cal." not in c.text, (rule.id, state, role)


def test_the_vague_rate_of_an_officer_outside_california_carries_no_california_citation(store_builder):
    db = store_builder(
        agencies=[{"name": "Mankato MN PD", "state": "MN"}, {"name": "Irvine CA PD", "state": "CA"}],
        searches=[{"searcher": "Mankato MN PD", "user": "u17", "reason": "inv", "repeat": 25},
                  {"searcher": "Irvine CA PD", "user": "u18", "reason": "inv", "repeat": 25}])
    run_audit(db)
    report = build_report(db, store="s.db")
    [section] = [s for s in report.section("findings")["rules"] if s["rule_id"] == "user.vague_rate"]
    by_agency = {row["agency"]: row["citation"] for row in section["rows"]}
    assert "Cal." not in by_agency["Mankato MN PD"] and "Audit practice" in by_agency["Mankato MN PD"]
    assert "1798.90.52" in by_agency["Irvine CA PD"]


def test_a_california_law_finding_on_a_texas_owners_data_never_happens(store_builder):
    db = store_builder(
        agencies=[{"name": "Dallas TX PD", "state": "TX"}, {"name": "Norfolk VA PD", "state": "VA"}],
        shares=[{"owner": "Dallas TX PD", "scope": "national"}],
        searches=[{"searcher": "Norfolk VA PD", "owners": ["Dallas TX PD"], "reason": "ICE", "user": "a", "repeat": 3}])
    run_audit(db)
    rules = {r for (r,) in db.execute("SELECT DISTINCT rule_id FROM findings")}
    assert not {r for r in rules if r.startswith("ca.")}
    out = io.StringIO()
    write_csv(db, out)
    for row in csv.DictReader(io.StringIO(out.getvalue())):
        # Texas has no law encoded; Virginia's binds its own searcher; California's never applies.
        assert "Cal." not in row["citation"] and row["citation_jurisdiction"] in (PRACTICE, "tx", "va")


def test_csv_and_explain_cite_the_owners_state_law_for_an_out_of_state_search(store_builder):
    db = store_builder(
        agencies=[{"name": "El Cajon CA PD", "state": "CA"}, {"name": "Dallas TX PD", "state": "TX"}],
        shares=[{"owner": "El Cajon CA PD", "scope": "national"}],
        searches=[{"searcher": "Dallas TX PD", "owners": ["El Cajon CA PD"], "reason": "investigation", "user": "a"}])
    run_audit(db)
    out = io.StringIO()
    write_csv(db, out)
    rows = {r["rule_id"]: r for r in csv.DictReader(io.StringIO(out.getvalue()))}
    assert rows["ca.sb34.sharing"]["citation_jurisdiction"] == "ca"
    assert "1798.90.55(b)" in rows["ca.sb34.sharing"]["citation"]
    # The finding names the party whose conduct it describes: the owner shared.
    assert rows["ca.sb34.sharing"]["finding"] == "El Cajon CA PD shared its ALPR data with Dallas TX PD, which is not a California public agency"
    [search_id] = [r[0] for r in db.execute("SELECT id FROM searches")]
    findings = {f["rule_id"]: f for f in explain_search(db, search_id)["findings"]}
    assert findings["ca.sb34.sharing"]["citation_jurisdiction"] == "ca" and findings["ca.sb34.sharing"]["citation_sources"]
    # `investigation` is a recorded purpose: § 1798.90.52 is not cited; the practice is, with the
    # statute beside it as related law in words that say it was not broken.
    assert "ca.1798_90_52.purpose" not in findings
    vague = findings["purpose.vague"]
    assert vague["citation_jurisdiction"] == PRACTICE and vague["related_law"] == ["ca.1798_90_52.purpose"]
    assert "Related law, not a finding that it was broken (CA): Cal. Civ. Code § 1798.90.52" in vague["citation"]


def test_report_lists_per_owner_whose_laws_applied_and_says_when_none_is_encoded(store_builder):
    db = store_builder(
        agencies=[{"name": "El Cajon CA PD", "state": "CA"}, {"name": "Dallas TX PD", "state": "TX"},
                  {"name": "Okaloosa County FL SO", "state": "FL", "level": "county", "kind": "sheriff"}],
        searches=[{"searcher": "Dallas TX PD", "owners": ["El Cajon CA PD"], "reason": "stolen vehicle"},
                  {"searcher": "El Cajon CA PD", "owners": ["Dallas TX PD"], "reason": "stolen vehicle"},
                  {"searcher": "Okaloosa County FL SO", "reason": "warrant", "repeat": 2}])
    run_audit(db)
    report = build_report(db, store="s.db")
    rows = {(j["agency"], j["role"]): j for j in report.section("jurisdictions")["figures"]}
    ca = rows[("El Cajon CA PD", "owner")]
    assert ca["jurisdiction"] == "ca" and "ca.sb34.sharing" in ca["laws"]
    tx = rows[("Dallas TX PD", "owner")]
    assert tx["jurisdiction"] is None and tx["laws"] == [] and "no law encoded for TX" in tx["note"]
    fl = rows[("Okaloosa County FL SO", "searcher (no owner in release)")]
    assert fl["searches"] == 2 and "no law encoded for FL" in fl["note"]
    assert "Jurisdictions applied" in render_markdown(report) and "no law encoded for TX" in render_html(report)


def test_an_agency_whose_state_is_unknown_is_judged_by_no_states_law():
    assert applied(None)["laws"] == [] and "state unknown" in applied(None)["note"]
    assert Citer()("user.vague_rate", None, False).jurisdiction == PRACTICE


@pytest.mark.parametrize("fact,values", [
    ("search.date", ["2010-05-01", "2015-12-31", "2016-01-01", "2019-05-20", "2019-05-21", "2023-12-31",
                     "2024-01-01", "2025-06-30", "2026-06-30", "2026-07-01", "2027-01-01"]),
    ("time_frame.days_back", [0, 1, 30, 90, 91, 150, 151, 152, 180, 181, 276, 277, 400, 915, 916, 2000]),
])
def test_a_bucketed_fact_gives_every_law_the_verdict_of_the_value_itself(fact, values):
    import sqlite3

    from auditor.rules.buckets import bucket_bounds, bucket_sql, bucket_value

    bounds = bucket_bounds(RULES, fact)
    db = sqlite3.connect(":memory:")
    for value in values:
        bucket = bucket_value(value, bounds)
        assert db.execute(f"SELECT {bucket_sql(':v', bounds)}", {'v': value}).fetchone()[0] == bucket
        for rule in LAWS:
            for example in rule.examples:
                facts = _facts(example)
                assert rule.matches({**facts, fact: value}) == rule.matches({**facts, fact: bucket}), (rule.id, value)
    assert bucket_value(None, bounds) is None
