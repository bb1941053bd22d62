"""State-level requesters named by acronym: read in the searcher's state, then the owners', never guessed."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from auditor.agencies import STATE_NAMES
from auditor.errors import InputError
from auditor.scan import run_audit
from auditor.state_requesters import StateRegistry, default_registry

FIFTY = set(STATE_NAMES) - {"DC", "PR", "VI", "GU", "AS", "MP"}

# (searcher's state, reason, the agency it names). The same letters name different agencies in
# different states: MSP, ISP, DCI, SBI, BCI, CSP, VSP, WSP, MIAC, KIFC, IIFC, MHP, NC HIDTA.
REQUESTS = [
    ("ME", "MSP request", "Maine State Police"),
    ("MD", "for MSP", "Maryland State Police"),
    ("MA", "MSP case 25-0412", "Massachusetts State Police"),
    ("MI", "per MSP", "Michigan State Police"),
    ("MN", "assist MSP", "Minnesota State Patrol"),
    ("IL", "ISP request", "Illinois State Police"),
    ("IN", "per ISP - stolen vehicle", "Indiana State Police"),
    ("ID", "for ISP", "Idaho State Police"),
    ("IA", "ISP case", "Iowa State Patrol"),
    ("IA", "DCI request", "Iowa Division of Criminal Investigation"),
    ("WI", "per DCI", "Wisconsin Division of Criminal Investigation"),
    ("WY", "assist DCI", "Wyoming Division of Criminal Investigation"),
    ("NC", "SBI case 24-33", "North Carolina State Bureau of Investigation"),
    ("UT", "for SBI", "Utah State Bureau of Investigation"),
    ("ND", "BCI request", "North Dakota Bureau of Criminal Investigation"),
    ("OH", "per BCI", "Ohio Bureau of Criminal Investigation"),
    ("CO", "CSP request", "Colorado State Patrol"),
    ("CT", "CSP request", "Connecticut State Police"),
    ("VT", "VSP case", "Vermont State Police"),
    ("VA", "VSP case", "Virginia State Police"),
    ("WA", "WSP request", "Washington State Patrol"),
    ("WI", "WSP request", "Wisconsin State Patrol"),
    ("ME", "MIAC request", "Maine Information and Analysis Center"),
    ("MO", "MIAC request", "Missouri Information Analysis Center"),
    ("KS", "for KIFC", "Kansas Intelligence Fusion Center"),
    ("KY", "for KIFC", "Kentucky Intelligence Fusion Center"),
    ("IN", "IIFC request", "Indiana Intelligence Fusion Center"),
    ("IA", "IIFC request", "Iowa Intelligence Fusion Center"),
    ("MS", "MHP request", "Mississippi Highway Patrol"),
    ("MT", "MHP request", "Montana Highway Patrol"),
    ("CA", "per NC HIDTA", "Northern California HIDTA"),
    ("MN", "per NC HIDTA", "North Central HIDTA"),
    ("GA", "GBI", "Georgia Bureau of Investigation"),
    ("TN", "TBI case 25-118", "Tennessee Bureau of Investigation"),
    ("SC", "SLED request", "South Carolina Law Enforcement Division"),
    ("ME", "MDEA request", "Maine Drug Enforcement Agency"),
    ("MA", "for CFC", "Commonwealth Fusion Center"),
    ("MA", "NE HIDTA case", "New England HIDTA"),
    ("NY", "per NY/NJ HIDTA", "New York/New Jersey HIDTA"),
    ("OK", "OSBI request", "Oklahoma State Bureau of Investigation"),
    ("MN", "BCA case", "Minnesota Bureau of Criminal Apprehension"),
    ("IL", "STIC", "Illinois Statewide Terrorism and Intelligence Center"),
]


def _searcher(state: str) -> str:
    return f"Springfield {state} PD"


def _run(store_builder, searches, agencies=()):
    states = {s["searcher_state"] for s in searches} | {o for s in searches for o in s.get("owner_states", [])}
    base = [{"name": _searcher(st), "state": st, "kind": "police"} for st in sorted(states)]
    base += [{"name": f"Riverside {st} PD", "state": st, "kind": "police"} for st in sorted(states)]
    db = store_builder(agencies=base + list(agencies), searches=[{
        "searcher": _searcher(s["searcher_state"]),
        "owners": [f"Riverside {o} PD" for o in s.get("owner_states", [s["searcher_state"]])],
        "reason": s["reason"],
    } for s in searches])
    run_audit(db)
    return db


def _named(db):
    """(searcher, reason) -> (beneficiary, its state, evidence) for every search given one."""
    return {(searcher, reason): (name, state, evidence) for searcher, reason, name, state, evidence in db.execute(
        """SELECT sa.name, r.text, a.name, a.state, b.evidence FROM beneficiaries b
           JOIN searches s ON s.id = b.search_id JOIN reasons r ON r.id = s.reason_id
           JOIN agencies sa ON sa.id = s.searcher_id JOIN agencies a ON a.id = b.beneficiary_id""")}


def test_the_registry_covers_all_fifty_states_each_with_its_source():
    registry = default_registry()
    assert registry.states() >= FIFTY
    for state in sorted(FIFTY):
        kinds = {a.kind for a in registry.agencies if state in a.covers}
        assert {"state police", "fusion center"} <= kinds, state
        assert registry.primary("fusion center", state) is not None, state
    assert all(a.source.startswith("https://") for a in registry.agencies)
    assert len(registry.agencies) >= 150


def test_a_registry_entry_without_a_known_source_or_state_is_refused():
    sources = {"s": {"url": "https://example.org/list"}}
    with pytest.raises(InputError, match="source"):
        StateRegistry({"sources": sources, "agencies": [
            {"state": "ME", "name": "Maine State Police", "kind": "state police", "acronyms": ["MSP"], "source": "x"}]})
    with pytest.raises(InputError, match="state"):
        StateRegistry({"sources": sources, "agencies": [
            {"state": "ZZ", "name": "Nowhere Patrol", "kind": "state police", "acronyms": ["NP"], "source": "s"}]})


def test_synthetic_requests_name_state_level_requesters_in_each_searchers_state(store_builder):
    db = _run(store_builder, [{"searcher_state": st, "reason": reason} for st, reason, _ in REQUESTS])
    named = _named(db)
    expected = {(_searcher(st), reason): agency for st, reason, agency in REQUESTS}
    assert len(set(expected.values())) >= 30 and len({st for st, _, _ in REQUESTS}) >= 10
    got = {key: named.get(key, (None,))[0] for key in expected}
    assert got == expected
    # Each is the right state's agency, created from the registry with its state and kind.
    for (searcher, reason), (name, state, evidence) in named.items():
        assert evidence.split('"')[1] in reason and "state acronym" in evidence
        if "HIDTA" not in name or name == "Northern California HIDTA":
            assert state == searcher.split()[1], (name, state)
    assert db.execute("SELECT COUNT(*) FROM beneficiary_names").fetchone()[0] == 0


def test_the_owners_state_decides_when_the_searchers_state_has_no_such_acronym(store_builder):
    # A New Hampshire searcher on Massachusetts cameras: New Hampshire has no MSP.
    db = _run(store_builder, [{"searcher_state": "NH", "owner_states": ["MA"], "reason": "MSP request"},
                              {"searcher_state": "ME", "owner_states": ["MA"], "reason": "MSP request"}])
    named = _named(db)
    assert named[(_searcher("NH"), "MSP request")][:2] == ("Massachusetts State Police", "MA")
    # The searcher's own state comes first: a Maine officer's MSP is Maine's.
    assert named[(_searcher("ME"), "MSP request")][:2] == ("Maine State Police", "ME")


def test_an_acronym_the_search_states_do_not_decide_stays_text_with_its_candidates(store_builder):
    # New Hampshire searcher, one search over Maine and Massachusetts cameras: which MSP?
    db = _run(store_builder, [{"searcher_state": "NH", "owner_states": ["ME", "MA"], "reason": "per MSP"},
                              {"searcher_state": "TX", "owner_states": ["TX"], "reason": "for DCI"}])
    assert _named(db) == {}
    rows = dict(db.execute("SELECT name, evidence FROM beneficiary_names").fetchall())
    assert set(rows) == {"MSP", "DCI"}
    assert "Maine State Police (ME)" in rows["MSP"] and "Massachusetts State Police (MA)" in rows["MSP"]
    assert "Michigan State Police" not in rows["MSP"]  # only the candidates of the search's states
    assert "Iowa Division of Criminal Investigation (IA)" in rows["DCI"]


def test_a_bare_acronym_names_a_requester_only_where_the_vocabulary_says_so(store_builder):
    db = _run(store_builder, [{"searcher_state": "VT", "reason": "NEHIDTA 25-1234"},
                              {"searcher_state": "AR", "reason": "ASP baton"},
                              {"searcher_state": "TX", "reason": "CHP"}])
    named = _named(db)
    assert named[(_searcher("VT"), "NEHIDTA 25-1234")][0] == "New England HIDTA"
    assert named[(_searcher("TX"), "CHP")][:2] == ("California Highway Patrol", "CA")  # unique nationwide
    assert (_searcher("AR"), "ASP baton") not in named  # `ASP` alone is also a baton


def test_the_generic_fusion_center_is_the_states_primary_one(store_builder):
    db = _run(store_builder, [{"searcher_state": "CA", "reason": "request from the fusion center"}])
    assert _named(db)[(_searcher("CA"), "request from the fusion center")][0] == "California State Threat Assessment Center"


def test_reading_a_megabyte_reason_takes_linear_time():
    # Each of these took minutes with the quadratic reader (`ICE ` + 100,000 letters: 85 s).
    # The child's timeout is what fails on a hang; the assertions check what was read.
    script = textwrap.dedent("""
        from auditor.requesters import default_reader
        r = default_reader()
        texts = {
            "letters": "ICE " + "a" * 1_000_000,
            "words": "assist " + "a " * 500_000,
            "long_word": "a" * 1_000_000 + " PD request",
            "spaces": "assist" + " " * 1_000_000 + "PD",
            "cues": "request " * 125_000,
            "names": "Peoria PD request MSP case " * 40_000,
            "bare": "x " * 500_000 + "STIC",
        }
        for key, text in texts.items():
            print(key, [m.text for m in r.mentions(text)][:2])
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True).stdout
    lines = dict(line.split(" ", 1) for line in out.splitlines())
    assert lines == {"letters": "[]", "words": "[]", "long_word": "[]", "spaces": "[]", "cues": "[]",
                     "names": "['Peoria PD', 'MSP']", "bare": "['STIC']"}


def test_tagging_a_megabyte_reason_finishes_with_the_right_tags():
    # The patterns added or rewritten for issue 17 keep no `\s*` beside another and whole-reason
    # patterns are anchored in the prefilter: `a` + a million spaces took minutes in the A-number and
    # case-number patterns. The child's timeout is what fails on a hang.
    script = textwrap.dedent("""
        from auditor.purpose import default_classifier
        c = default_classifier()
        texts = {
            "spaces": "a" + " " * 1_000_000 + "b",
            "a_number": " " * 1_000_000 + "ice a240881069",
            "case": "case" + " " * 1_000_000 + "24-12708",
            "street": "johnson " * 125_000 + "way",
        }
        for key, text in texts.items():
            print(key, ",".join(t.tag for t in c.classify(text)))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=240, check=True).stdout
    lines = dict((line.split(" ", 1) + [""])[:2] for line in out.splitlines())
    assert lines == {"spaces": "", "a_number": "immigration", "case": "case_number_only,vague", "street": ""}
