"""The report of whole stores: El Cajon (simulated) and each real release in ../shared/realdata.

Each report opens with the headline, describes every search and shows the map; in Chromium (when
installed) a reader sees all three and the page makes no request.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.importers import ImportOptions, import_file
from auditor.report import build_report, render_html
from auditor.scan import run_audit
from auditor.schema import open_store
from simulator.cli import simulate
from tests.browser import CHROMIUM, Browser
from tests.conftest import realdata

# (folder/file, producer when the file name does not say it)
RELEASES = [
    ("eugene_or_portal/EPDSearchAuditLogs.csv", "Eugene OR PD"),
    ("okaloosa_fl_org_audit/11_1_2025-12_8_2025-Okaloosa_County_FL_SO-Audit_EXTRACTED.csv", None),
    ("san_mateo_ca/search_audit.a871b2fc.csv", "San Mateo CA PD"),
    ("irvine_ca/alpr-audits-irvine-police-department-181267_doc5.xlsx", "Irvine CA PD"),
]


def _check(report, path: Path) -> None:
    assert report.sections[0]["id"] == "headline"
    assert report.sections[0]["sentences"][0]["text"].startswith(f"The store holds {report.counts['searches']:,}")
    charts = {c["id"]: c for c in report.section("searches")["charts"]}
    for key in ("chart-months", "chart-types", "chart-networks", "chart-states"):
        assert sum(b["searches"] for b in charts[key]["bars"]) == report.counts["searches"], key
    page = render_html(report)
    assert page.count('class="chart map"') >= 1
    path.write_text(page, encoding="utf-8")
    if CHROMIUM is None:
        return
    with Browser() as browser:
        shown = browser.open(path.as_uri())
        assert shown.evaluate("document.querySelector('h2').textContent") == "What this audit found"
        assert shown.evaluate("document.querySelectorAll('svg.map g.state').length") >= 52
        assert "Every search described" in shown.text
        assert [u for u in shown.requests if not u.startswith(("file:", "data:"))] == []


def test_the_el_cajon_report_opens_with_the_headline_describes_all_searches_and_maps_them(tmp_path):
    store = tmp_path / "ec.db"
    result = CliRunner().invoke(simulate, ["--scenario", "el_cajon", "--scale", "0.02", "--seed", "5",
                                           "--out", str(store)])
    assert result.exit_code == 0, result.output
    db = open_store(store)
    run_audit(db)
    report = build_report(db, store="ec.db")
    _check(report, tmp_path / "ec.html")
    [owner_map] = report.section("map")["maps"]
    assert owner_map["owner"] == "El Cajon CA PD" and owner_map["owner_state"] == "CA"
    assert owner_map["out_of_state"] > owner_map["searches"] / 2 and owner_map["immigration_related"] > 0
    assert {"TX", "VA", "FL"} <= set(owner_map["by_state"])


@pytest.mark.realdata
@pytest.mark.parametrize("relative,producer", RELEASES, ids=[r[0].split("/")[0] for r in RELEASES])
def test_a_real_release_report_opens_with_the_headline_describes_all_searches_and_maps_them(
        tmp_path, relative, producer):
    release = realdata(*relative.split("/"))
    db = open_store(tmp_path / "store.db", create=True)
    import_file(db, release, ImportOptions(producer=producer))
    run_audit(db)
    report = build_report(db, store=release.name)
    assert report.counts["release_rows"] > 0
    _check(report, tmp_path / "report.html")
