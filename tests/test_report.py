"""`audit report`: every format writes, log text is escaped, counts match the store, sources are cited."""
from __future__ import annotations

import csv
import io
import json
import re

import pytest
from click.testing import CliRunner

from auditor.cli import audit
from auditor.report import build_report, format_for, md_cell, render_html, safe_cell, write_csv
from auditor.scan import run_audit

SCRIPT_REASON = "<script>alert(1)</script>"
HOSTILE_AGENCY = 'Springfield "&<> VA PD'
FORMULA_REASON = '=HYPERLINK("http://x","y")'

AGENCIES = [
    {"name": "El Cajon CA PD", "state": "CA"},
    {"name": "Dallas TX PD", "state": "TX"},
    {"name": HOSTILE_AGENCY, "state": "VA"},
    {"name": "Escondido CA PD", "state": "CA"},
    {"name": "U.S. Immigration and Customs Enforcement (ICE)", "level": "federal", "kind": "ICE",
     "dhs_component": "ICE"},
]
SEARCHES = [
    {"searcher": "Dallas TX PD", "owners": ["El Cajon CA PD"], "reason": "ICE+ERO", "user": "jsmith",
     "plate": "8ABC123", "repeat": 3},
    {"searcher": "Dallas TX PD", "owners": ["El Cajon CA PD"], "reason": "HSI assist", "user": "jsmith", "repeat": 2},
    {"searcher": HOSTILE_AGENCY, "owners": ["El Cajon CA PD"], "reason": SCRIPT_REASON, "user": "kdoe", "repeat": 2},
    {"searcher": HOSTILE_AGENCY, "owners": ["El Cajon CA PD"], "reason": FORMULA_REASON, "user": "kdoe"},
    {"searcher": HOSTILE_AGENCY, "owners": ["El Cajon CA PD"], "reason": "+1 stolen vehicle", "user": "kdoe"},
    {"searcher": HOSTILE_AGENCY, "owners": ["El Cajon CA PD"], "reason": "@dispatch req", "user": "kdoe"},
    {"searcher": "Escondido CA PD", "owners": ["El Cajon CA PD"], "reason": "investigation | `inv`",
     "user": "pw", "time": "2025-04-02T09:00:00Z", "repeat": 3},
    {"searcher": "El Cajon CA PD", "owners": ["El Cajon CA PD"], "reason": "investigation", "user": "o1", "repeat": 25},
    {"searcher": "U.S. Immigration and Customs Enforcement (ICE)", "owners": ["El Cajon CA PD", "Escondido CA PD"],
     "reason": "removal order", "time": "2025-05-10T17:30:00Z"},
]


@pytest.fixture
def audited(store_builder):
    """A small audited store: out-of-state, proxy and federal searches of a California owner's data."""
    db = store_builder(agencies=AGENCIES, shares=[{"owner": "El Cajon CA PD", "scope": "national"}],
                       searches=SEARCHES)
    run_audit(db)
    return db


def _store_path(db) -> str:
    return db.execute("PRAGMA database_list").fetchone()[2]


def _report_cli(*args: str):
    return CliRunner().invoke(audit, ["report", *args])


def _html(db) -> str:
    return render_html(build_report(db, store=_store_path(db)))


def test_html_escapes_reason_text_and_never_emits_it_raw(audited):
    page = _html(audited)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script" not in page.lower()


def test_html_escapes_agency_name_in_tables_and_svg_labels(audited):
    page = _html(audited)
    escaped = "Springfield &quot;&amp;&lt;&gt; VA PD"
    assert HOSTILE_AGENCY not in page
    tables = page.split("<table")
    svgs = re.findall(r"<svg.*?</svg>", page, flags=re.S)
    assert any(escaped in t for t in tables)
    assert any(escaped in s for s in svgs), "the flow picture labels the hostile agency, escaped"


def test_html_is_self_contained_with_no_external_references(audited):
    page = _html(audited)
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, flags=re.I)
    assert "@import" not in page
    assert not re.search(r"url\(\s*['\"]?\s*(?:https?:)?//", page, flags=re.I)
    assert "<link" not in page.lower()
    assert "@font-face" not in page


def test_html_shows_the_header_counts_with_their_units(audited):
    page = _html(audited)
    searches = audited.execute("SELECT COUNT(*) FROM searches").fetchone()[0]
    assert f"The store holds {searches:,} searches (de-duplicated), written by the simulator" in page
    ruleset = audited.execute("SELECT ruleset_hash FROM runs ORDER BY id DESC").fetchone()[0]
    assert ruleset in page


def test_csv_neutralizes_cells_a_spreadsheet_would_run(audited):
    out = io.StringIO()
    write_csv(audited, out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    cells = [cell for row in rows[1:] for cell in row]
    assert "'" + FORMULA_REASON in cells
    assert "'+1 stolen vehicle" in cells and "'@dispatch req" in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]


def test_csv_keeps_numbers_numeric(audited):
    out = io.StringIO()
    write_csv(audited, out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert rows and all(r["search_id"].isdigit() for r in rows)


def test_safe_cell_leaves_numbers_and_plain_text_alone():
    assert safe_cell(-3) == -3 and safe_cell(2.5) == 2.5 and safe_cell(None) is None
    assert safe_cell("stolen vehicle") == "stolen vehicle"
    assert safe_cell("-x") == "'-x" and safe_cell("@SUM(A1)") == "'@SUM(A1)"


def test_csv_lists_every_per_search_finding_with_the_contract_columns(audited):
    out = io.StringIO()
    written = write_csv(audited, out, store="s.db")
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == ["rule_id", "severity", "citation", "search_id", "time", "searcher", "owner", "beneficiary",
                       "door", "reason", "source_release", "source_row", "trace", "citation_jurisdiction",
                       "source_page", "source_line", "finding", "contested"]
    expected = audited.execute("SELECT COUNT(*) FROM findings WHERE search_id IS NOT NULL").fetchone()[0]
    assert written == expected == len(rows) - 1


def test_csv_names_the_beneficiary_and_door_of_a_proxy_search(audited):
    out = io.StringIO()
    write_csv(audited, out)
    side = [r for r in csv.DictReader(io.StringIO(out.getvalue())) if r["rule_id"] == "door.side"]
    assert side and {r["door"] for r in side} == {"side"}
    assert {r["searcher"] for r in side} == {"Dallas TX PD"}
    assert all(r["beneficiary"] and r["owner"] == "El Cajon CA PD" for r in side)


@pytest.mark.parametrize("suffix,fmt", [("html", "html"), ("csv", "csv"), ("json", "json"), ("md", "md")])
def test_every_format_writes_from_its_extension(audited, tmp_path, suffix, fmt):
    out = tmp_path / f"report.{suffix}"
    result = _report_cli("--db", _store_path(audited), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert f"({fmt})" in result.output
    text = out.read_text(encoding="utf-8")
    assert {"html": "<!DOCTYPE html>", "csv": "rule_id,severity", "json": '"counts"',
            "md": "# proxytrace audit report"}[fmt] in text


def test_format_option_wins_over_extension_and_unknown_extension_means_html(audited, tmp_path):
    out = tmp_path / "report.txt"
    assert _report_cli("--db", _store_path(audited), "--out", str(out)).exit_code == 0
    assert out.read_text().startswith("<!DOCTYPE html>")
    assert _report_cli("--db", _store_path(audited), "--out", str(out), "--format", "json").exit_code == 0
    json.loads(out.read_text())
    assert format_for("R.MARKDOWN") == "md" and format_for("r.htm") == "html"


def test_json_counts_equal_sql_counts(audited, tmp_path):
    out = tmp_path / "r.json"
    assert _report_cli("--db", _store_path(audited), "--out", str(out)).exit_code == 0
    report = json.loads(out.read_text())
    sql = audited.execute
    assert report["counts"]["searches"] == sql("SELECT COUNT(*) FROM searches").fetchone()[0]
    assert report["counts"]["finding_rows"] == sql("SELECT COUNT(*) FROM findings").fetchone()[0]
    assert report["counts"]["searches_with_findings"] == sql(
        "SELECT COUNT(DISTINCT search_id) FROM findings").fetchone()[0]
    for rule in report["rules"]:
        rows, distinct = sql("SELECT COUNT(*), COUNT(DISTINCT search_id) FROM findings WHERE rule_id = ?",
                             [rule["rule_id"]]).fetchone()
        assert rule["finding_rows"] == rows
        if rule["scope"] == "search":
            assert rule["searches"] == distinct


def test_a_search_of_two_owners_counts_once_per_owner_on_the_map_and_once_in_the_months(audited):
    report = build_report(audited)
    maps = {m["owner"]: m for m in report.section("map")["maps"]}
    assert maps["Escondido CA PD"]["searches"] == 1  # only the ICE search touched Escondido's data
    assert maps["Escondido CA PD"]["by_state"] == {"federal": {"searches": 1, "immigration_related": 1,
                                                               "with_findings": 1}}
    charts = {c["id"]: c for c in report.section("searches")["charts"]}
    months = {b["label"]: b["searches"] for b in charts["chart-months"]["bars"]}
    assert months["2025-05"] == 1 and list(months) == sorted(months)
    assert sum(months.values()) == report.counts["searches"]


def test_flows_show_the_side_door_and_leave_out_own_data_searches(audited):
    flows = build_report(audited).section("flows")
    side = [f for f in flows["flows"] if f["door"] == "side"]
    # `ICE+ERO` and `HSI assist` name two different beneficiaries: two flows through the side door.
    assert sorted((f["owner"], f["searcher"], f["searches"]) for f in side) == [
        ("El Cajon CA PD", "Dallas TX PD", 2), ("El Cajon CA PD", "Dallas TX PD", 3)]
    assert len({f["beneficiary"] for f in side}) == 2
    assert flows["own_data_searches"] == 25
    assert all(f["owner"] != f["searcher"] for f in flows["flows"])


def test_example_tables_are_capped_and_say_so(audited):
    report = build_report(audited, examples_per_rule=2)
    sb34 = next(s for s in report.section("findings")["rules"] if s["rule_id"] == "ca.sb34.sharing")
    assert sb34["shown"] == 2 and sb34["capped"] and sb34["finding_rows"] > 2
    assert any("at most 2 findings per rule" in n for n in report.notes)
    assert f"showing the first 2 of {sb34['finding_rows']:,} finding rows (capped)" in render_html(report)


def test_a_simulated_search_cites_itself(audited):
    report = build_report(audited)
    rows = [r for s in report.section("findings")["rules"] if s["scope"] == "search" for r in s["rows"]]
    assert rows and all(r["source"] == f"simulated search {r['search_id']}" for r in rows)


def test_an_imported_search_cites_its_release_file_and_row(audited):
    search_id = audited.execute("SELECT search_id FROM findings WHERE rule_id = 'door.side' LIMIT 1").fetchone()[0]
    release_id = audited.execute(
        """INSERT INTO releases (file_name, sha256, format, audit_kind, rows_read, rows_imported, rows_rejected)
           VALUES ('ElCajon_NetworkAudit_2025.csv', 'ab12', 'flock_network_audit', 'network', 40, 40, 0)""").lastrowid
    for row in (17, 4):
        audited.execute("INSERT INTO sightings (search_id, release_id, row_number, link_basis) VALUES (?, ?, ?, 'uuid')",
                        [search_id, release_id, row])
    run_audit(audited)  # a report describes the store as audited: audit again after adding a release
    report = build_report(audited)
    side = next(s for s in report.section("findings")["rules"] if s["rule_id"] == "door.side")
    cited = next(r for r in side["rows"] if r["search_id"] == search_id)
    assert cited["source"] == "ElCajon_NetworkAudit_2025.csv, row 4 (and 1 more rows)"
    out = io.StringIO()
    write_csv(audited, out)
    row = next(r for r in csv.DictReader(io.StringIO(out.getvalue()))
               if r["search_id"] == str(search_id) and r["rule_id"] == "door.side")
    assert (row["source_release"], row["source_row"]) == ("ElCajon_NetworkAudit_2025.csv", "4")
    assert report.section("releases")["releases"][0]["rows_read"] == 40


def test_markdown_escapes_pipes_backticks_and_html():
    cell = md_cell("investigation | `inv` <b>x</b>")
    assert cell == r"investigation \| \`inv\` &lt;b&gt;x&lt;/b&gt;"
    assert md_cell(1234) == "1,234"


def test_markdown_table_rows_keep_their_column_count(audited):
    from auditor.report import render_markdown

    text = render_markdown(build_report(audited))
    header = "| search | finding | time (UTC) | searcher | reason | trace | door | source (release, row) |"
    assert header in text
    rows = [line for line in text.splitlines()
            if "investigation" in line and "simulated search" in line and line.startswith("| ")]
    unescaped_pipes = [len(re.findall(r"(?<!\\)\|", line)) for line in rows]
    assert rows and set(unescaped_pipes) == {header.count("|")}


def test_store_without_a_run_exits_2_with_one_line(store_builder, tmp_path):
    db = store_builder(agencies=AGENCIES[:1], searches=SEARCHES[-2:-1])
    out = tmp_path / "r.html"
    result = _report_cli("--db", _store_path(db), "--out", str(out))
    assert result.exit_code == 2
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1
    assert "audit run" in result.output and not out.exists()


def test_missing_store_exits_2_with_one_line(tmp_path):
    result = _report_cli("--db", str(tmp_path / "nope.db"), "--out", str(tmp_path / "r.html"))
    assert result.exit_code == 2
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1


def test_unwritable_output_exits_2_with_one_line(audited, tmp_path):
    result = _report_cli("--db", _store_path(audited), "--out", str(tmp_path / "no" / "such" / "r.html"))
    assert result.exit_code == 2 and result.output.count("\n") == 1


def test_self_scoring_is_stored_by_the_run_and_shown_when_the_store_has_truth(audited):
    ids = [r[0] for r in audited.execute("SELECT id FROM searches ORDER BY id LIMIT 5")]
    for search_id in ids:
        audited.execute("INSERT INTO truth (search_id, purpose, disguised) VALUES (?, 'immigration', 0)", [search_id])
    run_audit(audited)  # the run scores itself; the report only reads what it stored
    report = build_report(audited)
    assert report.section("score")["score"]["searches"] == 5 and report.counts["truth_searches"] == 5
    assert "Self-scoring against simulator truth" in render_html(report)


def test_no_truth_means_no_score_section(audited):
    report = build_report(audited)
    assert report.section("score") is None
    assert "Self-scoring" not in render_html(report)


@pytest.mark.realdata
def test_findings_from_a_real_release_cite_its_file_and_row(tmp_path):
    from auditor.importers.release import import_files
    from auditor.schema import open_store
    from tests.conftest import realdata

    release = realdata("okaloosa_fl_org_audit", "11_1_2025-12_8_2025-Okaloosa_County_FL_SO-Audit_EXTRACTED.csv")
    db = open_store(tmp_path / "okaloosa.db", create=True)
    import_files(db, [release])
    run_audit(db)
    out = io.StringIO()
    write_csv(db, out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert rows and {r["source_release"] for r in rows} == {release.name}
    for r in rows:  # the cited row is the one the search was imported from
        cited = db.execute("SELECT row_number FROM sightings WHERE search_id = ?", [int(r["search_id"])]).fetchone()
        assert r["source_row"] == str(cited[0])
    report = build_report(db)
    assert report.counts["release_rows"] == report.section("releases")["releases"][0]["rows_imported"] == 7273


def test_report_refuses_a_store_changed_since_its_audit(store_builder, tmp_path):
    from click.testing import CliRunner

    from auditor.cli import audit
    from auditor.scan import run_audit

    db = store_builder(agencies=[{"name": "El Cajon CA PD", "state": "CA"}],
                       searches=[{"searcher": "Dallas TX PD", "owners": ["El Cajon CA PD"], "reason": "stolen vehicle"}])
    run_audit(db)
    db.execute("INSERT INTO searches (time, system) VALUES ('2025-04-01T00:00:00Z', 'alpr')")
    db.conn.commit()
    path = db.conn.execute("PRAGMA database_list").fetchone()[2]
    result = CliRunner().invoke(audit, ["report", "--db", path, "--out", str(tmp_path / "r.html")])
    assert result.exit_code == 2 and "changed since the last audit" in result.output


# --- the reader's view: headline first, every search described, the map ---------------------------

def test_the_report_opens_with_the_headline_and_ends_with_the_rules_that_found_nothing(audited):
    report = build_report(audited)
    ids = [s["id"] for s in report.sections]
    assert ids[0] == "headline" and ids[-1] == "rules"
    silent = report.section("rules")["silent_rules"]
    assert silent and "wa.rcw_43_17_425.owner" in silent
    page = render_html(report)
    assert page.index('id="headline"') < page.index('id="searches"') < page.index('id="findings"') \
        < page.index('id="rules"')


def test_headline_sentences_say_the_key_counts_and_link_to_sections_and_evidence(audited):
    headline = build_report(audited).section("headline")
    text = " ".join(s["text"] for s in headline["sentences"])
    searches = audited.execute("SELECT COUNT(*) FROM searches").fetchone()[0]
    assert f"The store holds {searches:,} searches (de-duplicated)" in text
    assert "the data of 2 owners: El Cajon CA PD (39), Escondido CA PD (1)" in text
    # ICE+ERO x3 and removal order; `HSI assist` names a beneficiary, not an immigration purpose.
    assert "4 searches (10%) were immigration-related" in text
    assert "1 federal agency made 1 search." in text
    assert "on behalf of" in text and "Cal. Civ. Code § 1798.90.55(b) (SB 34)" in text
    sb34 = next(s for s in headline["sentences"] if "SB 34" in s["text"])
    assert sb34["section"] == "findings" and sb34["evidence"][0]["href"] == "#rule-ca.sb34.sharing"
    page = _html(audited)
    assert '<a href="#rule-ca.sb34.sharing">rule ca.sb34.sharing</a>' in page


def test_charts_count_every_search_with_the_searches_with_findings_inside(audited):
    searches = audited.execute("SELECT COUNT(*) FROM searches").fetchone()[0]
    flagged = audited.execute("SELECT COUNT(DISTINCT search_id) FROM findings").fetchone()[0]
    charts = {c["id"]: c for c in build_report(audited).section("searches")["charts"]}
    assert {"chart-purposes", "chart-searchers", "chart-states", "chart-months", "chart-types",
            "chart-networks"} <= set(charts)
    for key in ("chart-states", "chart-months", "chart-types", "chart-networks"):
        bars = charts[key]["bars"]
        assert sum(b["searches"] for b in bars) == searches, key
        assert sum(b["with_findings"] for b in bars) == flagged, key
    own = next(b for b in charts["chart-searchers"]["bars"] if b["label"].startswith("El Cajon CA PD"))
    assert own["searches"] == 25 and own["with_findings"] == 25  # all `investigation`: no meaningful purpose


def test_the_map_marks_the_owner_state_and_titles_every_state_with_its_figures(audited):
    from auditor.report.svg import STATE_TILES

    page = _html(audited)
    svg = re.search(r'<svg[^>]*class="chart map".*?</svg>', page, flags=re.S).group(0)
    titles = dict(re.findall(r'<g class="state" data-state="(\w\w)"><title>([^<]*)</title>', svg))
    assert set(titles) == set(STATE_TILES)
    assert titles["TX"] == "TX: 5 searches, 5 with findings, 3 immigration-related"
    assert titles["CA"].endswith("(the owner&#x27;s state)")  # escaped like every label
    assert titles["WY"] == "WY: 0 searches"
    assert 'data-state="CA"><title>' in svg and 'stroke="#c0392b"' in svg
    assert "federal: 1 searches, 1 immigration-related" in page


def test_the_report_reads_the_stored_run_instead_of_recomputing(audited):
    summary = json.loads(audited.execute("SELECT summary FROM runs ORDER BY id DESC LIMIT 1").fetchone()[0])
    summary["overview"]["immigration"]["searches"] = 4242
    summary["findings_by_rule"]["ca.sb34.sharing"]["searches"] = 777
    audited.execute("UPDATE runs SET summary = ? WHERE id = (SELECT MAX(id) FROM runs)", [json.dumps(summary)])
    text = " ".join(s["text"] for s in build_report(audited).section("headline")["sentences"])
    assert "4,242 searches" in text and "777 searches: A California public agency shared its ALPR data" in text


def test_a_run_from_before_the_overview_asks_for_a_new_run(audited, tmp_path):
    audited.execute("UPDATE runs SET summary = '{}'")
    audited.conn.commit()
    result = _report_cli("--db", _store_path(audited), "--out", str(tmp_path / "r.html"))
    assert result.exit_code == 2 and "run `audit run" in result.output


def test_write_report_replaces_the_file_atomically_and_leaves_no_partial(audited, tmp_path):
    from auditor.report import write_report

    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "r.html"
    out.write_text("old report")
    report = write_report(audited, out, store="s.db")
    assert out.read_text().startswith("<!DOCTYPE html>") and report.counts["searches"] == 39
    assert [p.name for p in folder.iterdir()] == ["r.html"]


def test_tables_are_capped_and_say_where_the_full_data_is(audited):
    report = build_report(audited, examples_per_rule=1)
    findings = report.section("findings")
    assert all(r["shown"] <= 1 for r in findings["rules"])
    assert "`finding_list`" in findings["paragraphs"][0] and "audit serve" in findings["paragraphs"][0]
    caption = report.section("searches")["tables"][0]["caption"]
    assert "agency_summary" in caption


def test_markdown_headline_links_land_on_section_anchors(audited):
    from auditor.report import render_markdown

    text = render_markdown(build_report(audited))
    targets = set(re.findall(r"\]\(#([\w.-]+)\)", text))
    anchors = set(re.findall(r'<a id="([\w.-]+)"></a>', text))
    assert targets and targets <= anchors


def test_json_report_lists_the_sections_in_reading_order(audited, tmp_path):
    out = tmp_path / "r.json"
    assert _report_cli("--db", _store_path(audited), "--out", str(out)).exit_code == 0
    sections = [s["id"] for s in json.loads(out.read_text())["sections"]]
    assert sections[:3] == ["headline", "searches", "map"] and sections[-1] == "rules"
