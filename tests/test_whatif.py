"""`audit whatif`: every shipped policy's own examples, and policies applied to small stores."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from auditor.cli import audit
from auditor.errors import InputError
from auditor.scan import run_audit
from auditor.whatif import apply_policies, load_policy, rows_behind, shipped_policies
from auditor.whatif.policy import example_facts, parse_policy, shipped_policy_paths
from conftest import build_store

POLICIES = shipped_policies()
EXAMPLES = [(p.id, i, e) for p in POLICIES for i, e in enumerate(p.examples)]


def test_the_seven_policies_a_council_weighs_are_shipped():
    assert {p.id for p in POLICIES} == {"ca-only", "no-federal", "no-287g", "no-national", "case-number",
                                        "reach-30-days", "owner-list"}
    assert all(path.stem == load_policy(path.stem).id for path in shipped_policy_paths())


@pytest.mark.parametrize("policy_id,index,example", EXAMPLES, ids=[f"{p}[{i}]" for p, i, _ in EXAMPLES])
def test_each_policy_example_gets_its_expected_verdict(policy_id, index, example):
    verdict, why = load_policy(policy_id).judge(example_facts(example))
    assert verdict == example["expect"], (example["note"], why)
    assert bool(why) == (verdict != "allow")


def test_every_shipped_policy_blocks_one_example_and_lets_one_through():
    assert POLICIES
    for policy in POLICIES:
        assert {"block", "allow"} <= {e["expect"] for e in policy.examples}, policy.id


def test_a_law_policy_without_its_citation_is_refused():
    data = {"policy": {"id": "x", "title": "t", "description": "d", "basis": "law"}, "reach": {"states": ["CA"]},
            "examples": [{"expect": "block"}, {"expect": "allow"}]}
    with pytest.raises(InputError, match="citation"):
        parse_policy(data, "x.toml")


def test_a_misspelt_policy_key_is_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "mine.toml"
    bad.write_text('[policy]\nid="mine"\ntitle="t"\ndescription="d"\nbasis="practice"\n[reach]\ndeny_level=["federal"]\n')
    result = CliRunner().invoke(audit, ["whatif", "--db", str(tmp_path / "none.db"), "--policy", str(bad)])
    assert result.exit_code == 2 and "reach.deny_level: unknown key" in result.output


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    """El Cajon's data searched by itself, a California neighbour, a Texas 287(g) sheriff for ICE, and ICE.

    Built and audited once for the module: policies only read it."""
    db = build_store(tmp_path_factory.mktemp("whatif") / "el_cajon.db",
        agencies=[
            {"name": "El Cajon CA PD", "state": "CA", "level": "local", "kind": "police"},
            {"name": "Escondido CA PD", "state": "CA", "level": "local", "kind": "police"},
            {"name": "Harris County TX SO", "state": "TX", "level": "county", "kind": "sheriff", "is_287g": 1},
            {"name": "[Federal] ICE ERO San Diego", "level": "federal", "kind": "ICE", "dhs_component": "ERO"},
        ],
        shares=[{"owner": "El Cajon CA PD", "scope": "statewide"}, {"owner": "El Cajon CA PD", "scope": "national"}],
        searches=[
            {"searcher": "El Cajon CA PD", "owners": ["El Cajon CA PD"], "reason": "stolen vehicle",
             "case_number": "25-0101", "repeat": 4},
            {"searcher": "Escondido CA PD", "owners": ["El Cajon CA PD"], "reason": "investigation", "repeat": 3},
            {"searcher": "Harris County TX SO", "owners": ["El Cajon CA PD"], "reason": "per ICE ERO", "networks": 3000,
             "repeat": 2},
            {"searcher": "Harris County TX SO", "owners": ["El Cajon CA PD"], "reason": "stolen vehicle",
             "case_number": "TX-9", "networks": 3000},
            {"searcher": "[Federal] ICE ERO San Diego", "owners": ["El Cajon CA PD"], "reason": "inv", "networks": 5000},
        ],
    )
    run_audit(db)
    return db


def _owner(result):
    owners = [o for o in result.owners if o.owner == "El Cajon CA PD"]
    assert owners
    return owners[0]


def test_ca_only_blocks_out_of_state_and_federal_searches_and_counts_add_up(audited):
    (result,) = apply_policies(audited, [load_policy("ca-only")])
    owner = _owner(result)
    assert owner.total.counts == {"block": 4, "allow": 7, "unjudged": 0}
    assert sum(owner.total.counts.values()) == result.store_searches == 11
    states = {k: c.counts["block"] for k, c in owner.by["searcher_state"].items()}
    assert states == {"TX": 3, "federal": 1, "CA": 0}
    assert owner.by["immigration_related"]["yes"].counts["block"] == 3  # `per ICE ERO` twice, ICE's own lookup


def test_case_number_policy_blocks_the_owners_own_vague_searches_too(audited):
    (result,) = apply_policies(audited, [load_policy("case-number")])
    owner = _owner(result)
    assert owner.total.counts["block"] == 3 + 2 + 1
    assert owner.by["why"]["no case number"].counts["block"] == 6


def test_owner_list_is_not_judged_without_an_imported_sharing_list(audited):
    (result,) = apply_policies(audited, [load_policy("owner-list")])
    owner = _owner(result)
    assert owner.total.counts == {"block": 0, "allow": 4, "unjudged": 7}  # own searches are never sharing


def test_each_count_lists_the_search_ids_behind_it(audited):
    policy = load_policy("ca-only")
    (result,) = apply_policies(audited, [policy])
    owner = _owner(result)
    ids = list(rows_behind(audited, policy, "block/searcher_state/TX", str(owner.owner_id)))
    assert len(ids) == 3 == owner.by["searcher_state"]["TX"].counts["block"]
    searchers = {r[0] for r in audited.execute(
        f"SELECT a.name FROM searches s JOIN agencies a ON a.id = s.searcher_id WHERE s.id IN ({','.join(map(str, ids))})")}
    assert searchers == {"Harris County TX SO"}


def test_json_gives_every_count_with_its_rows_command(audited, tmp_path):
    path = audited.conn.execute("PRAGMA database_list").fetchone()[2]
    result = CliRunner().invoke(audit, ["whatif", "--db", path, "--policy", "no-287g", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["totals"] == {"block": 3, "allow": 8, "unjudged": 0}
    tx = next(c for c in data["owners"][0]["by"]["searcher_state"] if c["value"] == "TX")
    assert tx["searches"]["block"] == 3 and tx["example_search_ids"]["block"]
    listed = CliRunner().invoke(audit, ["whatif", "--db", path, "--policy", "no-287g", "--owner",
                                        str(data["owners"][0]["owner_id"]), "--rows", "block/searcher_state/TX"])
    ids = [int(x) for x in listed.output.split()]
    assert len(ids) == 3 and set(tx["example_search_ids"]["block"]) <= set(ids)


def test_owner_list_judges_by_the_owners_imported_sharing_list(store_builder):
    db = store_builder(
        agencies=[
            {"name": "El Cajon CA PD", "state": "CA", "level": "local", "kind": "police"},
            {"name": "Escondido CA PD", "state": "CA", "level": "local", "kind": "police"},
            {"name": "Harris County TX SO", "state": "TX", "level": "county", "kind": "sheriff"},
        ],
        releases=[{"file_name": "El_Cajon_CA_PD-Sharing-List.csv", "producer": "El Cajon CA PD",
                   "audit_kind": "sharing", "format": "sharing_list", "rows_read": 1}],
        shares=[{"owner": "El Cajon CA PD", "grantee": "Escondido CA PD", "release": "El_Cajon_CA_PD-Sharing-List.csv"},
                {"owner": "El Cajon CA PD", "scope": "national"}],
        searches=[
            {"searcher": "Escondido CA PD", "owners": ["El Cajon CA PD"], "reason": "stolen vehicle", "repeat": 2},
            {"searcher": "Harris County TX SO", "owners": ["El Cajon CA PD"], "reason": "warrant", "repeat": 3},
        ],
    )
    run_audit(db)
    (result,) = apply_policies(db, [load_policy("owner-list")])
    owner = _owner(result)
    assert owner.total.counts == {"block": 3, "allow": 2, "unjudged": 0}
    assert owner.by["why"]["searcher not on the owner's sharing list"].counts["block"] == 3


def test_the_report_compares_every_shipped_policy_per_owner(audited):
    from auditor.report.build import build_report

    section = build_report(audited).section("whatif")
    assert section is not None and section["tables"]
    rows = section["tables"][0]["rows"]
    assert len(rows) == len(POLICIES)
    assert all(r["blocked"] + r["allowed"] + r["unjudged"] == 11 for r in rows)
    ca_only = next(r for r in rows if r["policy"].startswith("California"))
    assert ca_only["blocked"] == 4 and "1798.90.55(b)" in ca_only["basis"]


def test_the_report_reads_the_comparison_the_run_stored_and_it_matches_audit_whatif(audited, monkeypatch):
    import auditor.whatif as whatif
    from auditor.report.build import build_report

    stored = json.loads(audited.execute("SELECT summary FROM runs ORDER BY id DESC LIMIT 1").fetchone()[0])["overview"]
    assert stored["whatif"]["owners"][0]["owner"] == "El Cajon CA PD"
    (ca_only,) = apply_policies(audited, [load_policy("ca-only")])
    row = next(r for r in stored["whatif"]["owners"][0]["rows"] if r["policy"].startswith("California"))
    assert [row["blocked"], row["allowed"]] == [_owner(ca_only).total.counts[v] for v in ("block", "allow")]

    def judged_again(*args, **kwargs):
        raise AssertionError("the report judged the searches again instead of reading the stored comparison")

    monkeypatch.setattr(whatif, "policy_comparison", judged_again)
    assert build_report(audited).section("whatif")["tables"]


def test_the_rows_command_is_quoted_for_a_shell(audited):
    import shlex

    (result,) = apply_policies(audited, [load_policy("ca-only")])
    data = result.to_json("my store.db")
    harris = next(c for c in data["owners"][0]["by"]["searcher"] if c["value"] == "Harris County TX SO")
    argv = shlex.split(harris["rows"]["block"])
    assert argv[argv.index("--db") + 1] == "my store.db"
    assert argv[argv.index("--rows") + 1] == "block/searcher/Harris County TX SO"


def test_a_search_whose_release_names_no_owner_is_not_judged(store_builder):
    db = store_builder(
        agencies=[{"name": "Harris County TX SO", "state": "TX", "level": "county", "kind": "sheriff"}],
        searches=[{"searcher": "Harris County TX SO", "reason": "warrant", "repeat": 2}],  # an own-search log
    )
    run_audit(db)
    (result,) = apply_policies(db, [load_policy("ca-only")])
    assert [(o.owner, o.total.counts) for o in result.owners] == [("(no owner named)", {"block": 0, "allow": 0,
                                                                                       "unjudged": 2})]


def sb34_searchers(db) -> set[str]:
    return {name for (name,) in db.execute(
        "SELECT DISTINCT a.name FROM findings f JOIN searches s ON s.id = f.search_id "
        "JOIN agencies a ON a.id = s.searcher_id WHERE f.rule_id = 'ca.sb34.sharing'")}


def test_a_searcher_whose_state_is_unknown_is_not_judged_by_a_clause_on_state(store_builder):
    """`audit run` leaves unresolved searchers unjudged by state law; a policy on state or level does too,
    while a clause that needs no place (a case number) still blocks."""
    db = store_builder(
        agencies=[{"name": "El Cajon CA PD", "state": "CA", "level": "local", "kind": "police"},
                  {"name": "Harris County TX SO", "state": "TX", "level": "county", "kind": "sheriff"}],
        shares=[{"owner": "El Cajon CA PD", "scope": "national"}],
        searches=[{"searcher": name, "owners": ["El Cajon CA PD"], "reason": "stolen vehicle", "case_number": "25-7"}
                  for name in ("Smithville PD", "Univ of Somewhere Police", "Acme Security LLC",
                               "Harris County TX SO")]
        + [{"searcher": "Smithville PD", "owners": ["El Cajon CA PD"], "reason": "warrant"}],
    )
    run_audit(db)
    unresolved = [name for (name,) in db.execute(
        "SELECT name FROM agencies WHERE COALESCE(level, 'unknown') = 'unknown' OR "
        "(level != 'federal' AND COALESCE(state, '') = '') ORDER BY name")]
    assert unresolved == ["Acme Security LLC", "Smithville PD", "Univ of Somewhere Police"]
    ca_only, no_federal, case_number = apply_policies(db, [load_policy(p) for p in ("ca-only", "no-federal",
                                                                                       "case-number")])
    owner = _owner(ca_only)
    # Smithville (twice) and the university police: local, state unknown, so not judged by a state clause.
    # Acme is a private company: its level alone keeps it out, as `ca.sb34.sharing` finds in `audit run`.
    assert owner.total.counts == {"block": 2, "allow": 0, "unjudged": 3}
    assert {k: c.counts["block"] for k, c in owner.by["searcher"].items() if c.counts["block"]} == \
        {"Harris County TX SO": 1, "Acme Security LLC": 1}
    assert owner.by["why"]["unresolved searcher"].counts["unjudged"] == 3
    assert "searcher's state not CA" not in {k for k, c in owner.by["why"].items() if c.counts["unjudged"]}
    assert sb34_searchers(db) == {"Harris County TX SO", "Acme Security LLC"}  # the same as `audit run` judges
    # No clause of no-federal needs the state: a local or private searcher is known not to be federal.
    assert _owner(no_federal).total.counts == {"block": 0, "allow": 5, "unjudged": 0}
    assert _owner(case_number).total.counts == {"block": 1, "allow": 4, "unjudged": 0}
    result = CliRunner().invoke(audit, ["whatif", "--db", str(db.conn.execute("PRAGMA database_list").fetchone()[2]),
                                        "--policy", "ca-only"])
    assert result.exit_code == 0, result.output
    assert "unresolved searcher" in result.output and "blocked 2 + let through 0 + not judged 3 = 5" in result.output
