"""What a reader sees in a real browser: the HTML report and a Datasette page, in headless Chromium.

Skipped when Chromium is not installed (`apt-get install chromium`). Each test also checks that no
request left the page: the report asks for nothing at all, Datasette only for its own local server.
"""
from __future__ import annotations

import pytest

from auditor.report import build_report, render_html
from auditor.scan import run_audit
from tests.browser import CHROMIUM, Browser
from tests.test_report import AGENCIES, SEARCHES
from tests.test_serve import served, store  # noqa: F401  (fixtures used below)

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")


@pytest.fixture(scope="module")
def browser():
    with Browser() as b:
        yield b


@pytest.fixture
def report_page(store_builder, tmp_path, browser):
    db = store_builder(agencies=AGENCIES, shares=[{"owner": "El Cajon CA PD", "scope": "national"}],
                       searches=SEARCHES)
    run_audit(db)
    out = tmp_path / "report.html"
    out.write_text(render_html(build_report(db, store="el_cajon.db")), encoding="utf-8")
    return browser.open(out.as_uri())


def test_the_reader_first_sees_the_headline(report_page):
    first_heading = report_page.evaluate("document.querySelector('h2').textContent")
    assert first_heading == "What this audit found"
    text = report_page.text
    assert text.index("What this audit found") < text.index("Every search described") < text.index("Findings by rule")
    assert "4 searches (10%) were immigration-related" in text


def test_the_map_shows_every_state_with_a_hover_title(report_page):
    maps = report_page.evaluate("[...document.querySelectorAll('svg.map')].map(m => m.querySelectorAll('g.state').length)")
    assert maps == [52, 52]  # one map per owner: El Cajon's, Escondido's
    tx = report_page.evaluate("document.querySelector('svg.map g.state[data-state=TX] title').textContent")
    assert tx == "TX: 5 searches, 5 with findings, 3 immigration-related"
    shown = report_page.evaluate("document.querySelector('svg.map').getBoundingClientRect().width")
    assert shown > 300  # drawn, not collapsed


def test_a_finding_row_shows_its_citation_and_source(report_page):
    row = report_page.evaluate(
        "[...document.querySelectorAll('#rule-door\\\\.side + p + table tbody tr')].map(r => r.innerText)[0]")
    assert "Dallas TX PD" in row and "ICE+ERO" in row
    assert "University of Washington Center for Human Rights (2025)" in row and "simulated search" in row


def test_log_text_stays_text_and_no_request_leaves_the_report(report_page):
    assert report_page.evaluate("document.scripts.length") == 0
    assert "<script>alert(1)</script>" in report_page.text  # shown, escaped, not run
    assert [u for u in report_page.requests if not u.startswith(("file:", "data:"))] == []


def test_a_datasette_page_shows_the_readable_findings_and_stays_local(served, browser):  # noqa: F811 (fixture)
    base, path = served
    from auditor.serve import database_name

    page = browser.open(f"{base}/{database_name(path)}/finding_list?rule_id=door.side")
    text = page.text
    assert "Every finding of the last audit run" in text
    assert "Dallas TX PD" in text and "University of Washington Center for Human Rights (2025)" in text
    assert page.requests and all(u.startswith(base) for u in page.requests), page.requests
