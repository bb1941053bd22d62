"""Every rule file's own examples are run; a malformed rule file is a one-line error."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from auditor.cli import audit
from auditor.facts import with_derived
from auditor.errors import InputError
from auditor.rules.citations import Citer
from auditor.rules.laws import load_laws
from auditor.rules import load_rules, shipped_rule_paths
from auditor.scan import run_audit

RULES = load_rules()
CITER = Citer(RULES)
SEARCH_EXAMPLES = [
    pytest.param(rule, example, id=f"{rule.id}[{i}]")
    for rule in RULES if rule.scope == "search" for i, example in enumerate(rule.examples)
]
AGGREGATE_EXAMPLES = [
    pytest.param(rule, example, id=f"{rule.id}[{i}]")
    for rule in RULES if rule.scope == "aggregate" for i, example in enumerate(rule.examples)
]


def test_the_rules_the_issue_names_are_shipped():
    ids = {r.id for r in RULES}
    assert {
        "ca.sb34.sharing", "ca.1798_90_52.purpose", "ca.sb54.immigration", "ca.clets.immigration",
        "wa.rcw_43_17_425.searcher", "il.625_ilcs_5_2_130", "or.ors_181a_826.owner", "door.front", "door.back", "door.side",
        "immigration.mass_search", "purpose.sensitive", "user.repeat_plate", "user.vague_rate",
        "agency.vague_rate",
    } <= ids


def test_every_rule_cites_a_statute_or_policy_and_has_both_kinds_of_example():
    for rule in RULES:
        assert rule.citation.strip()
        if rule.scope == "search":
            outcomes = {bool(e["expect"]) for e in rule.examples}
        else:
            outcomes = {e["expect_findings"] > 0 for e in rule.examples}
        assert outcomes == {True, False}, f"{rule.id} needs examples that must and must not match"


@pytest.mark.parametrize("rule,example", SEARCH_EXAMPLES)
def test_search_rule_example(rule, example):
    facts = with_derived(example["facts"])
    assert rule.matches(facts) is bool(example["expect"]), example.get("name", example["facts"])
    if "expect_cites" in example:
        # Whose law the finding cites: the owner's state where the search names an owner, else the searcher's.
        has_owner = "owner.state" in facts
        state = facts.get("owner.state") if has_owner else facts.get("searcher.state")
        cited = CITER(rule.id, state, has_owner)
        assert cited.jurisdiction == example["expect_cites"], example.get("name")
        # A law of the judged state may be shown beside a practice finding, never as what it cites.
        related = {law_id.split(".")[0] for law_id in cited.related}
        assert related == ({example["expect_related"]} if "expect_related" in example else set()), example.get("name")
        if related:
            assert "Related law, not a finding that it was broken" in cited.text and not cited.law_ids


@pytest.mark.parametrize("rule,example", AGGREGATE_EXAMPLES)
def test_aggregate_rule_example(rule, example, store_builder):
    searches = [
        {"searcher": "Example CA PD", "owners": ["Example CA PD"], **s} for s in example.get("searches", [])
    ]
    db = store_builder(
        agencies=[{"name": "Example CA PD", "state": "CA"}, *example.get("agencies", [])],
        shares=example.get("shares", []),
        searches=searches,
        disclosures=example.get("disclosures", []),
        releases=example.get("releases", []),
    )
    run_audit(db, rules=[rule])
    found = db.execute("SELECT COUNT(*) FROM findings WHERE rule_id = ?", [rule.id]).fetchone()[0]
    assert found == example["expect_findings"]
    if "expect_cites" in example:
        # Each finding cites the law of its agency's state where one is encoded, else the practice.
        for (state,) in db.execute("SELECT a.state FROM findings f JOIN agencies a ON a.id = f.agency_id "
                                   "WHERE f.rule_id = ?", [rule.id]):
            cited = CITER(rule.id, state)
            assert cited.jurisdiction == example["expect_cites"], example.get("name")
            if "expect_related" in example:
                assert {law_id.split(".")[0] for law_id in cited.related} == {example["expect_related"]}


@pytest.mark.parametrize(
    "text,problem",
    [
        ('id = "x"\ntitle = "t"\nseverity = "dire"\ncitation = "c"\nscope = "search"\n', "severity"),
        ('id = "x"\ntitle = "t"\nseverity = "high"\nciation = "c"\nscope = "search"\n', "unknown key"),
        ('id = "x"\ntitle = "t"\nseverity = "high"\ncitation = "c"\nscope = "search"\n'
         '[condition]\nall = [ { fact = "owner.planet", eq = "Mars" } ]\n[[examples]]\nfacts = {}\nexpect = false\n',
         "unknown fact"),
        ('id = "x"\ntitle = "t"\nseverity = "high"\ncitation = "c"\nscope = "search"\n'
         '[condition]\nall = [ { fact = "owner.state", eq = "CA" } ]\n', "examples"),
        ("id = ", "invalid value"),
        ('id = "x"\ntitle = "t"\nseverity = "high"\ncitation = "c"\nscope = "search"\n'
         '[condition]\nall = [ { fact = "owner.state", eq = "CA" } ]\n[[examples]]\nfacts = {}\nexpect = false\n',
         "jurisdictions"),
    ],
)
def test_malformed_rule_file_is_one_line_error_naming_file(tmp_path, text, problem):
    path = tmp_path / "bad_rule.toml"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        load_rules([path])
    message = str(err.value)
    assert "bad_rule.toml" in message and problem.lower() in message.lower() and "\n" not in message


def test_audit_rules_lists_every_rule_with_its_citation():
    result = CliRunner().invoke(audit, ["rules"])
    assert result.exit_code == 0
    for rule in RULES:
        assert rule.id in result.output
    assert "1798.90.55(b)" in result.output and "7284.6" in result.output


def test_shipped_rule_files_and_laws_are_found():
    assert len(shipped_rule_paths()) + len(load_laws()) == len(RULES) >= 20
