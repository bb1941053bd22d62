"""A law's immigration-purpose element rests on what a search states (auditor.facts.immigration_stated),
never on a plate-relay inference or on a DHS component working a criminal case."""
from __future__ import annotations

from click.testing import CliRunner

from auditor.cli import audit
from auditor.facts import immigration_stated, search_immigration_stated_sql
from auditor.schema import open_store

SANTA_ANA, ERO = "Santa Ana CA PD", "[Federal] ICE ERO Los Angeles"

# Search ids follow this order.
SEARCHES = [
    # 1. an `investigation` search two days before ICE ERO searched the same plate (plate relay only)
    {"searcher": SANTA_ANA, "owners": [SANTA_ANA], "reason": "investigation", "plate": "7ZZZ999",
     "time": "2025-12-08T10:00:00Z"},
    # 2. ICE ERO's own search of the plate
    {"searcher": ERO, "owners": [SANTA_ANA], "reason": "investigation", "plate": "7ZZZ999",
     "time": "2025-12-10T09:00:00Z"},
    # 3. a trafficking case for ERO: a criminal purpose
    {"searcher": SANTA_ANA, "owners": [SANTA_ANA], "reason": "ERO - HT investigation", "plate": "6AAA111",
     "time": "2025-12-11T10:00:00Z"},
    # 4. a narcotics case for CBP
    {"searcher": SANTA_ANA, "owners": [SANTA_ANA], "reason": "CBP assist - narcotics", "plate": "6BBB222",
     "time": "2025-12-11T11:00:00Z"},
    # 5. a request from ICE stating no crime: an immigration purpose by its own words
    {"searcher": SANTA_ANA, "owners": [SANTA_ANA], "reason": "ICE request", "plate": "6CCC333",
     "time": "2025-12-12T10:00:00Z"},
]


def _store(tmp_path):
    from conftest import build_store

    path = tmp_path / "santa_ana.db"
    db = build_store(
        path,
        agencies=[{"name": SANTA_ANA, "state": "CA"},
                  {"name": ERO, "level": "federal", "kind": "ICE", "dhs_component": "ERO"}],
        shares=[{"owner": SANTA_ANA, "scope": "national"}],
        searches=SEARCHES,
    )
    db.conn.close()
    result = CliRunner().invoke(audit, ["run", "--db", str(path)])
    assert result.exit_code == 0, result.output
    return path


def test_the_definition_excludes_inference_and_crime():
    assert immigration_stated({"dhs_beneficiary", "immigration"}, "ICE", "reason")
    assert not immigration_stated({"vague"}, "ERO", "plate_relay")
    assert not immigration_stated({"crime:human_trafficking", "dhs_beneficiary", "immigration"}, "ERO", "reason")
    assert not immigration_stated({"crime:narcotics", "dhs_beneficiary"}, "CBP", "reason")
    assert not immigration_stated({"dhs_beneficiary"}, "HSI", "reason")
    # An enforcer's own search states its work; a 287(g) inference does not, its stated reason does.
    assert immigration_stated({"vague"}, "ERO", "self") and immigration_stated({"vague"}, "ERO", None)
    assert not immigration_stated(set(), "ICE", "287g") and immigration_stated({"immigration"}, "ICE", "287g")


def test_sb54_is_cited_only_on_the_search_that_states_an_immigration_purpose(tmp_path):
    path = _store(tmp_path)
    db = open_store(path)
    bases = dict(db.execute("SELECT search_id, basis FROM beneficiaries"))
    assert bases.get(1) == "plate_relay" and bases.get(3) == "reason" and bases.get(5) == "reason"
    cited = [r[0] for r in db.execute(
        "SELECT search_id FROM findings WHERE rule_id = 'ca.sb54.immigration' ORDER BY search_id")]
    assert cited == [5]
    # The practice rule still reports the proxy searches (door.side), which cite no law as broken.
    side = {r[0] for r in db.execute("SELECT search_id FROM findings WHERE rule_id = 'door.side'")}
    assert {1, 3, 5} <= side
    # SQL and Python give the same answer per search.
    sql = dict(db.execute(f"SELECT s.id, {search_immigration_stated_sql('s', 'b')} FROM searches s "
                          "LEFT JOIN beneficiaries b ON b.search_id = s.id"))
    assert {k: bool(v) for k, v in sql.items()} == {1: False, 2: True, 3: False, 4: False, 5: True}
    listed = dict(db.execute("SELECT search_id, immigration_stated FROM search_list"))
    assert listed == sql


def test_explain_says_the_relayed_search_states_no_immigration_purpose(tmp_path):
    path = _store(tmp_path)
    out = CliRunner().invoke(audit, ["explain", "--db", str(path), "1"])
    assert out.exit_code == 0, out.output
    assert "immigration purpose stated (what a law can rest on): no" in out.output
    assert "door.side" in out.output and "] ca.sb54.immigration:" not in out.output
    asked = CliRunner().invoke(audit, ["explain", "--db", str(path), "5"])
    assert "immigration purpose stated (what a law can rest on): yes" in asked.output
    assert "[high] ca.sb54.immigration:" in asked.output


def test_a_search_for_hsi_names_a_dhs_component_without_calling_it_immigration_work(tmp_path):
    from conftest import build_store

    path = tmp_path / "hsi.db"
    db = build_store(
        path,
        agencies=[{"name": "El Cajon CA PD", "state": "CA"}, {"name": "Harris County TX SO", "state": "TX",
                                                              "level": "county", "kind": "sheriff"}],
        shares=[{"owner": "El Cajon CA PD", "scope": "national"}],
        searches=[{"searcher": "Harris County TX SO", "owners": ["El Cajon CA PD"], "reason": "HSI request",
                   "plate": "8KLM204", "time": "2025-07-14T16:20:05Z"}],
    )
    db.conn.close()
    assert CliRunner().invoke(audit, ["run", "--db", str(path)]).exit_code == 0
    out = CliRunner().invoke(audit, ["explain", "--db", str(path), "1"]).output
    assert "immigration-related: no" in out and "door.side" in out
    assert "on behalf of a DHS component, Homeland Security Investigations (HSI)" in out
    [side] = [line for line in out.splitlines() if "] door.side:" in line]
    assert "immigration" not in side


def test_score_does_not_count_an_ice_inference_for_an_hsi_search_as_a_hit(tmp_path):
    """A search the truth says was for HSI on a narcotics case, inferred by plate relay to be for
    ICE: HSI is not ICE's family in the score (HSI works criminal cases), so it is a miss."""
    from conftest import build_store

    from auditor.score import score_store

    hsi, ice = "Homeland Security Investigations (HSI)", "[Federal] ICE ERO Houston"
    path = tmp_path / "score.db"
    db = build_store(
        path,
        agencies=[{"name": "El Cajon CA PD", "state": "CA"}, {"name": "Harris County TX SO", "state": "TX",
                                                              "level": "county", "kind": "sheriff"},
                  {"name": ice, "level": "federal", "kind": "ICE", "dhs_component": "ERO"},
                  {"name": hsi, "level": "federal", "kind": "HSI", "dhs_component": "HSI"}],
        shares=[{"owner": "El Cajon CA PD", "scope": "national"}],
        searches=[{"searcher": "Harris County TX SO", "owners": ["El Cajon CA PD"], "reason": "investigation",
                   "plate": "8KLM204", "time": "2025-07-14T16:20:05Z",
                   "truth": {"purpose": "narcotics", "beneficiary": hsi}},
                  {"searcher": ice, "owners": ["El Cajon CA PD"], "reason": "investigation", "plate": "8KLM204",
                   "time": "2025-07-15T10:00:00Z", "truth": {"purpose": "immigration"}}],
    )
    db.conn.close()
    assert CliRunner().invoke(audit, ["run", "--db", str(path)]).exit_code == 0
    db = open_store(path)
    assert dict(db.execute("SELECT search_id, basis FROM beneficiaries")) == {1: "plate_relay"}
    relay = score_store(db).beneficiary_by_basis["plate_relay"]
    assert (relay.tp, relay.fp) == (0, 1)
