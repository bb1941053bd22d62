"""Beneficiaries beyond DHS: reasons that name the agency a search was done for, resolved in the store."""
from __future__ import annotations

import pytest

from auditor.errors import InputError
from auditor.requesters import RequesterReader, default_reader, initials
from auditor.scan import run_audit
from auditor.trace import infer_beneficiaries


def test_every_example_of_the_requesters_file_reads_as_promised():
    reader = default_reader()
    assert len(reader.examples) >= 15
    for example in reader.examples:
        assert [m.text for m in reader.mentions(example["text"])] == example["mentions"], example["text"]


def test_a_requesters_file_with_an_unknown_key_is_refused():
    with pytest.raises(InputError, match="unknown key"):
        RequesterReader({"patterns": []})


def test_flock_names_give_the_acronyms_officers_write():
    assert initials("Lake County IL SO", "IL") == "LCSO"
    assert initials("Lake IL SO", "IL") == "LCSO"
    assert initials("Springfield IL PD", "IL") == "SPD"
    assert initials("Illinois State Police", "IL") is None


def _beneficiary(db, reason):
    return db.execute(
        """SELECT a.name, b.basis, b.evidence, b.confidence FROM beneficiaries b
           JOIN agencies a ON a.id = b.beneficiary_id JOIN searches s ON s.id = b.search_id
           JOIN reasons r ON r.id = s.reason_id WHERE r.text = ?""", [reason]).fetchone()


def _store(store_builder, reasons, searcher="Decatur IL PD", agencies=()):
    base = [
        {"name": "Decatur IL PD", "state": "IL", "kind": "police"},
        {"name": "Springfield IL PD", "state": "IL", "kind": "police"},
        {"name": "Springfield MO PD", "state": "MO", "kind": "police"},
        {"name": "Macon County IL SO", "state": "IL", "level": "county", "kind": "sheriff"},
        {"name": "Marion County IL SO", "state": "IL", "level": "county", "kind": "sheriff"},
        {"name": "Morgan County IL SO", "state": "IL", "level": "county", "kind": "sheriff"},
    ]
    db = store_builder(agencies=base + list(agencies),
                       searches=[{"searcher": searcher, "owners": ["Decatur IL PD"], "reason": r} for r in reasons])
    run_audit(db)
    return db


def test_a_town_named_without_its_state_is_read_in_the_searchers_state(store_builder):
    db = _store(store_builder, ["assist Springfield PD"])
    name, basis, evidence, confidence = _beneficiary(db, "assist Springfield PD")
    assert (name, basis) == ("Springfield IL PD", "reason")
    assert '"assist Springfield PD"' in evidence and 0 < confidence < 1


def test_an_acronym_resolves_only_when_one_agency_of_the_state_has_it(store_builder):
    db = _store(store_builder, ["per MCSO", "SPD request"])
    # Macon, Marion and Morgan County all read MCSO: named, not guessed.
    assert _beneficiary(db, "per MCSO") is None
    assert db.execute("SELECT name, confidence FROM beneficiary_names").fetchone() == ("MCSO", 0.3)
    # Springfield IL PD is the only SPD of Illinois.
    assert _beneficiary(db, "SPD request")[0] == "Springfield IL PD"


def test_the_state_fusion_center_is_found_through_the_registry(store_builder):
    db = _store(store_builder, ["request from the fusion center", "on behalf of STIC"])
    for reason in ("request from the fusion center", "on behalf of STIC"):
        assert _beneficiary(db, reason)[0] == "Illinois Statewide Terrorism and Intelligence Center"
    row = db.execute("SELECT state, level, kind, resolved_by FROM agencies WHERE name = "
                     "'Illinois Statewide Terrorism and Intelligence Center'").fetchone()
    assert row == ("IL", "state", "fusion center", "registry")


def test_an_abbreviation_means_the_searchers_own_states_agency(store_builder):
    db = _store(store_builder, ["assist ISP"], searcher="Gary IN PD",
                agencies=[{"name": "Gary IN PD", "state": "IN", "kind": "police"}])
    assert _beneficiary(db, "assist ISP")[0] == "Indiana State Police"


def test_a_name_nothing_matches_stays_text_with_low_confidence_and_is_counted(store_builder):
    db = _store(store_builder, ["assist Hooterville PD"] * 3)
    assert db.execute("SELECT COUNT(*), MIN(name), MAX(confidence) FROM beneficiary_names").fetchone() == (
        3, "Hooterville PD", 0.3)
    assert db.execute("SELECT COUNT(*) FROM beneficiaries").fetchone()[0] == 0


def test_a_searcher_naming_itself_acts_for_itself(store_builder):
    db = _store(store_builder, ["Decatur PD case 25-1234"])
    assert _beneficiary(db, "Decatur PD case 25-1234") is None
    assert db.execute("SELECT COUNT(*) FROM beneficiary_names").fetchone()[0] == 0


def test_a_named_dhs_component_wins_over_a_named_local_agency(store_builder):
    db = _store(store_builder, ["per HSI - assist Springfield PD"])
    assert _beneficiary(db, "per HSI - assist Springfield PD")[0] == "Homeland Security Investigations (HSI)"


def test_inference_is_per_distinct_reason_and_searcher_and_reports_its_counts(store_builder):
    db = _store(store_builder, ["assist Springfield PD"] * 5 + ["assist Hooterville PD"] * 2)
    report = infer_beneficiaries(db)
    assert (report.by_named_agency, report.named_unresolved) == (5, 2)
    assert db.execute("SELECT COUNT(*) FROM temp.named_beneficiary").fetchone()[0] == 1


def test_the_trace_names_the_agency_the_search_was_done_for(store_builder):
    db = _store(store_builder, ["assist Springfield PD"])
    path, = db.execute("SELECT path FROM traces WHERE beneficiary_id != searcher_id").fetchone()
    assert path == "Decatur IL PD →[own]→ Decatur IL PD →[acts for: reason]→ Springfield IL PD"


@pytest.mark.realdata
def test_irvine_reasons_name_the_agencies_they_were_done_for(tmp_path):
    from auditor.agencies import Resolver, resolve_store
    from auditor.importers import ImportOptions, import_file
    from auditor.scan import tag_reasons
    from auditor.schema import create_indexes, open_store
    from tests.conftest import realdata

    db = open_store(tmp_path / "irvine.db", create=True)
    import_file(db, realdata("irvine_ca", "alpr-audits-irvine-police-department-181267_doc5.xlsx"),
                ImportOptions(producer="Irvine CA PD"))
    # The stages up to the inference only: the aggregate rules are not what this test is about.
    resolve_store(db, Resolver())
    create_indexes(db)
    tag_reasons(db)
    report = infer_beneficiaries(db)
    named = dict(db.execute(
        """SELECT r.text, a.name FROM beneficiaries b JOIN searches s ON s.id = b.search_id
           JOIN reasons r ON r.id = s.reason_id JOIN agencies a ON a.id = b.beneficiary_id"""))
    # Irvine's sharing list (sheet A2) names its neighbours, so `Tustin PD` is Tustin CA PD.
    assert named["Request from Tustin PD "] == "TUSTIN CA PD"
    assert report.by_named_agency >= 15
    # `OCSD` is two agencies of the sharing list (the sheriff under two spellings): kept as text.
    assert db.execute("SELECT COUNT(*) FROM beneficiary_names WHERE name = 'OCSD'").fetchone()[0] >= 40


def test_the_report_lists_beneficiaries_and_unresolved_names_escaped(store_builder):
    from auditor.report import build_report, render_html, render_markdown

    db = _store(store_builder, ["assist Springfield PD", "assist O'Hare&Co PD"])
    report = build_report(db)
    figures = report.section("behalf")["figures"]
    assert figures["for_others"] == 1 and figures["named_unresolved"] == 1
    row = figures["beneficiaries"][0]
    assert (row["beneficiary"], row["basis"], row["searches"]) == ("Springfield IL PD", "reason", 1)
    html = render_html(report)
    assert "O&#x27;Hare&amp;Co PD" in html and "O'Hare&Co" not in html
    assert "## On whose behalf" in render_markdown(report)


def test_explain_shows_who_a_search_was_for_or_the_name_it_gives(store_builder):
    from click.testing import CliRunner

    from auditor.cli import audit

    db = _store(store_builder, ["assist Springfield PD", "assist Hooterville PD"])
    path = db.execute("PRAGMA database_list").fetchone()[2]
    ids = dict(db.execute("SELECT r.text, s.id FROM searches s JOIN reasons r ON r.id = s.reason_id"))
    named = CliRunner().invoke(audit, ["explain", "--db", path, str(ids["assist Springfield PD"])])
    assert "acts for Springfield IL PD (reason)" in named.output
    unresolved = CliRunner().invoke(audit, ["explain", "--db", path, str(ids["assist Hooterville PD"])])
    assert "names 'Hooterville PD' as requester, unresolved (confidence 0.30)" in unresolved.output
