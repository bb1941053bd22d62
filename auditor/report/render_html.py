"""The HTML report: one self-contained file (inline CSS and SVG, no scripts, nothing fetched).

Every string that can come from a log goes through :func:`_e` (``html.escape`` with quotes), in
text, attributes and SVG alike.
"""
from __future__ import annotations

from html import escape
from importlib import resources
from typing import Any, TextIO

from auditor.report.build import Report
from auditor.untrusted import visible
from auditor.report.svg import bar_chart, column_chart, door_legend, flow_diagram

_SEARCH_COLUMNS = (("search_id", "search"), ("time", "time (UTC)"), ("searcher", "searcher"), ("user", "user"),
                   ("reason", "reason"), ("trace", "trace"), ("source", "source (release, row)"),
                   ("citation", "citation"))
_AGGREGATE_COLUMNS = (("agency", "agency"), ("subject", "subject"), ("detail", "detail"), ("searches", "searches"))


def _e(value: Any) -> str:
    # Control characters (ESC, bidi overrides) are made visible before escaping: HTML escaping alone
    # leaves them in the text.
    return "" if value is None else escape(visible(str(value)), quote=True)


def _n(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else _e(value)


def _stylesheet() -> str:
    return resources.files("auditor.report").joinpath("report.css").read_text(encoding="utf-8")


def _table(headers: list[tuple[str, str]], rows: list[dict[str, Any]], numeric: set[str] = frozenset()) -> str:
    head = "".join(f'<th class="n">{_e(label)}</th>' if key in numeric else f"<th>{_e(label)}</th>"
                   for key, label in headers)
    body = []
    for row in rows:
        cells = []
        for key, _ in headers:
            value = row.get(key)
            if key in numeric:
                cells.append(f'<td class="n">{_n(value)}</td>')
            elif key == "door" and value:
                cells.append(f'<td class="door-{_e(value)}">{_e(value)}</td>')
            elif key == "severity":
                cells.append(f'<td class="sev-{_e(value)}">{_e(value)}</td>')
            else:
                cells.append(f'<td class="{_e(key)}">{_e(value)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _header(report: Report) -> str:
    run, c = report.run, report.counts
    params = ", ".join(f"{k} {v}" for k, v in sorted(run["params"].items()) if v is not None)
    facts = [
        ("store", report.store),
        ("run", f"#{run['id']}, {run['started_at']} to {run['finished_at']} (proxytrace {run['version']})"),
        ("rule set", f"hash {run['ruleset_hash']}" + (f"; parameters: {params}" if params else "")),
        ("searches", f"{c['searches']:,} searches (de-duplicated) from {c['release_rows']:,} release rows "
                     f"in {c['releases']:,} releases; {c['rejected_rows']:,} rows rejected at import"),
        ("agencies", f"{c['agencies']:,} agencies, {c['unresolved_agencies']:,} unresolved"),
        ("findings", f"{c['finding_rows']:,} finding rows; {c['searches_with_findings']:,} searches "
                     "with at least one per-search finding"),
    ]
    if c["truth_searches"]:
        facts.append(("simulator truth", f"{c['truth_searches']:,} searches carry ground truth"))
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in facts)
    return f"<h1>proxytrace audit report</h1><table class=\"facts\">{rows}</table>"


def _releases(report: Report) -> str:
    if not report.releases:
        return "<h2 id=\"releases\">Releases</h2><p class=\"muted\">No releases: simulated store.</p>"
    headers = [("file_name", "file"), ("format", "format"), ("audit_kind", "audit kind"), ("producer", "producer"),
               ("rows_read", "rows read"), ("rows_imported", "rows imported"), ("rows_rejected", "rows rejected"),
               ("sha256", "sha256")]
    return "<h2 id=\"releases\">Releases</h2>" + _table(headers, report.releases, {"rows_read", "rows_imported", "rows_rejected"})


def _rules(report: Report) -> str:
    head = ("<tr><th>rule</th><th>title</th><th>severity</th><th>citation</th>"
            "<th class=\"n\">finding rows</th><th class=\"n\">searches</th></tr>")
    body = []
    for r in report.rules:
        rule = _e(r["rule_id"])
        link = f'<a href="#rule-{rule}">{rule}</a>' if r["finding_rows"] else rule
        basis = ' <span class="muted">(sum, may overlap)</span>' if r["scope"] == "aggregate" else ""
        body.append(
            f"<tr><td>{link}</td><td>{_e(r['title'])}</td><td class=\"sev-{_e(r['severity'])}\">{_e(r['severity'])}</td>"
            f"<td>{_e(r['citation'])}</td><td class=\"n\">{r['finding_rows']:,}</td>"
            f"<td class=\"n\">{r['searches']:,}{basis}</td></tr>")
    return ("<h2 id=\"rules\">Findings by rule</h2><p class=\"note\">Finding rows count rows of the findings table (a search "
            "of several owners' data has one per owner); searches are de-duplicated searches.</p>"
            f"<table><thead>{head}</thead><tbody>{''.join(body)}</tbody></table>")


def _chart_note(chart: dict[str, Any], noun: str) -> str:
    parts = [f"Top {chart['shown']} of {chart['groups']} {noun}"] if chart["shown"] < chart["groups"] else []
    if chart.get("searches_not_shown"):
        parts.append(f"{chart['searches_not_shown']:,} searches in groups not shown")
    if chart.get("note"):
        parts.append(chart["note"])
    return f"<p class=\"note\">{_e('; '.join(parts))}.</p>" if parts else ""


def _charts(report: Report) -> str:
    out = ["<h2 id=\"charts\">Where the findings are</h2><p class=\"note\">Counts are distinct searches with at least one "
           "per-search finding.</p><div class=\"charts\">"]
    for key, noun in (("by_owner", "owners"), ("by_searcher_state", "states"), ("by_purpose", "tags")):
        chart = report.charts[key]
        out.append(f"<figure><figcaption><h3>{_e(chart['title'])}</h3></figcaption>"
                   f"{bar_chart(chart['title'], chart['bars'])}{_chart_note(chart, noun)}</figure>")
    month = report.charts["by_month"]
    out.append(f"<figure><figcaption><h3>{_e(month['title'])}</h3></figcaption>"
               f"{column_chart(month['title'], month['bars'])}</figure></div>")
    return "".join(out)


def _flows(report: Report) -> str:
    f = report.flows
    notes = [f"{f['shown']} of {f['distinct_flows']:,} flows between agencies: the largest by searches"
             + (f", with room kept for the {f['door_flows_shown']} largest through a door" if f["door_flows_shown"] else "")]
    if f["searches_not_shown"]:
        notes.append(f"{f['searches_not_shown']:,} searches in flows not shown")
    notes.append(f"{f['own_data_searches']:,} searches of the searcher's own data left out")
    doors = ", ".join(f"{door} door {n:,}" for door, n in f["door_searches"].items())
    if doors:
        notes.append(f"searches with findings through a door: {doors}")
    headers = [("owner", "owner"), ("scope", "sharing scope"), ("searcher", "searcher"), ("searcher_state", "state"),
               ("beneficiary", "acts for"), ("door", "door"), ("searches", "searches"),
               ("searches_with_findings", "searches with findings")]
    return ("<h2 id=\"flows\">Data flows: owner → searcher → beneficiary</h2>"
            f"<p class=\"note\">{_e('; '.join(notes))}.</p><p>{door_legend()}</p>"
            f"{flow_diagram(f['flows'])}"
            + _table(headers, f["flows"], {"searches", "searches_with_findings"}))


def _findings(report: Report) -> str:
    out = ["<h2 id=\"findings\">Findings and their sources</h2>"]
    for section in report.findings:
        rule = _e(section["rule_id"])
        shown = (f"showing the first {section['shown']:,} of {section['finding_rows']:,} finding rows (capped)"
                 if section["capped"] else f"{section['finding_rows']:,} finding rows")
        out.append(
            f"<h3 id=\"rule-{rule}\">{rule}: {_e(section['title'])} "
            f"<span class=\"sev-{_e(section['severity'])}\">[{_e(section['severity'])}]</span></h3>"
            f"<p class=\"note\">Cites {_e(section['citation'])}. {_e(shown)}.</p>")
        if section["scope"] == "aggregate":
            out.append(_table(list(_AGGREGATE_COLUMNS), section["rows"], {"searches"}))
        else:
            out.append(_table(list(_SEARCH_COLUMNS) + [("door", "door")], section["rows"], {"search_id"}))
    if len(out) == 1:
        out.append("<p class=\"muted\">No findings.</p>")
    return "".join(out)


def _score_cell(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}"
    return _n(value)


def _score(report: Report) -> str:
    score = report.score
    if not score:
        return ""
    scalars, tables = [], []
    for key, value in score.items():
        if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
            columns = list(dict.fromkeys(k for v in value.values() for k in v))
            head = f"<tr><th>{_e(key.replace('_', ' '))}</th>" + "".join(f"<th class=\"n\">{_e(c)}</th>" for c in columns)
            body = "".join(
                f"<tr><td>{_e(name)}</td>" + "".join(f"<td class=\"n\">{_score_cell(row.get(c))}</td>" for c in columns)
                + "</tr>" for name, row in value.items())
            tables.append(f"<h3>{_e(key.replace('_', ' '))}</h3><table><thead>{head}</tr></thead><tbody>{body}</tbody></table>")
        elif isinstance(value, dict):
            shown = ", ".join(f"{k} {_score_cell(v)}" for k, v in value.items())
            scalars.append(f"<tr><th>{_e(key.replace('_', ' '))}</th><td>{_e(shown) if shown else '(none)'}</td></tr>")
        else:
            scalars.append(f"<tr><th>{_e(key.replace('_', ' '))}</th><td>{_score_cell(value)}</td></tr>")
    return ("<h2 id=\"score\">Self-scoring against simulator truth</h2><p class=\"note\">Precision and recall of the audit "
            "against the simulator's ground truth; per-rule counts are traced (search, owner) pairs, per-purpose "
            f"counts are searches.</p><table>{''.join(scalars)}</table>{''.join(tables)}")


def _pct(count: int, share: float) -> str:
    return f"{count:,} ({share:.0%})"


def _accountability(report: Report) -> str:
    """Exposure by owner, misuse disclosed versus logged, record-keeping gaps: each table only when it has rows."""
    acc = report.accountability or {}
    out = []
    exposure = acc.get("exposure") or []
    if exposure:
        rows = [{
            "owner": e["owner"], "scopes": ", ".join(e["scopes"]) or "none", "cameras": e["cameras"],
            "could_reach": e["could_reach"],
            "levels": ", ".join(f"{k} {v:,}" for k, v in e["by_level"].items()),
            "out_of_state": e["out_of_state"],
            "states": ", ".join(f"{k} {v:,}" for k, v in list(e["by_state"].items())[:8])
                      + (" ..." if len(e["by_state"]) > 8 else ""),
            "dhs": ", ".join(e["dhs_components"]) or "none",
            "searches_by_others": e["searches_by_others"], "searchers": e["searchers"],
            "searches_of_read_plates": e["searches_of_read_plates"], "immigration_related": e["immigration_related"],
            "by_dhs": e["by_dhs"],
        } for e in exposure]
        headers = [("owner", "owner"), ("scopes", "sharing"), ("cameras", "cameras"),
                   ("could_reach", "agencies that could search"), ("levels", "by level"),
                   ("out_of_state", "out of state"), ("states", "by state"), ("dhs", "DHS immigration components"),
                   ("searches_by_others", "searches by others"), ("searchers", "agencies that searched"),
                   ("searches_of_read_plates", "searches of plates its cameras read"),
                   ("immigration_related", "immigration-related searches"), ("by_dhs", "searches by DHS")]
        numeric = {"cameras", "could_reach", "out_of_state", "searches_by_others", "searchers",
                   "searches_of_read_plates", "immigration_related", "by_dhs"}
        out.append("<h3 id=\"exposure\">Exposure: who could reach each owner's data</h3><p class=\"note\">From the "
                   "sharing settings: direct grantees; with statewide sharing every non-federal agency of the owner's "
                   "state; with national sharing every agency in the store (a vendor's real pool is larger). Searches "
                   "are de-duplicated searches by agencies other than the owner.</p>"
                   + _table(headers, rows, numeric))
    disclosures = acc.get("disclosures") or []
    if disclosures:
        rows = [{**d, "status": d["status"].replace("_", " "), "outcomes": ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in d["outcomes"].items() if v)
                 or None} for d in disclosures]
        totals = {k: sum(d[k] or 0 for d in disclosures)
                  for k in ("investigations", "confirmed", "pending", "log_cases", "beyond_disclosed")}
        headers = [("agency", "agency"), ("year", "year"), ("status", "disclosure"),
                   ("investigations", "investigations"), ("confirmed", "confirmed"), ("pending", "pending"),
                   ("outcomes", "outcomes"), ("system_searches", "searches in log"),
                   ("log_cases", "suspected misuse cases in log"), ("log_searches", "their searches"),
                   ("beyond_disclosed", "cases beyond disclosed")]
        out.append("<h3 id=\"disclosures\">Misuse disclosed versus the log</h3><p class=\"note\">"
                   + _e(f"Disclosed in total: {totals['investigations']:,} investigations, {totals['confirmed']:,} "
                        f"confirmed, {totals['pending']:,} pending. The log shows {totals['log_cases']:,} suspected "
                        f"misuse cases (officers), {totals['beyond_disclosed']:,} beyond what their agencies disclosed. "
                        "A suspected case is a lead, not a proven one.") + "</p>"
                   + _table(headers, rows, {"investigations", "confirmed", "pending", "system_searches", "log_cases",
                                            "log_searches", "beyond_disclosed"}))
    gaps = acc.get("record_gaps") or {}
    if gaps.get("agencies"):
        rows = [{**g, "no_user": _pct(g["no_user"], g["no_user_share"]),
                 "no_reason": _pct(g["no_reason"], g["no_reason_share"]),
                 "no_case": _pct(g["no_case"], g["no_case_share"])} for g in gaps["agencies"]]
        headers = [("agency", "agency"), ("searches", "searches"),
                   ("no_user", "cannot be attributed to an officer"), ("no_reason", "no reason"),
                   ("no_case", "no case number")]
        out.append("<h3 id=\"record-gaps\">What the missing records hide</h3><p class=\"note\">"
                   + _e(f"{gaps['agencies_total']:,} agencies logged searches with no user or no reason; "
                        f"the {len(rows)} with the most are shown.") + "</p>" + _table(headers, rows, {"searches"}))
        if gaps.get("officers"):
            rows = [{**g, "no_reason": _pct(g["no_reason"], g["no_reason_share"]),
                     "no_case": _pct(g["no_case"], g["no_case_share"])} for g in gaps["officers"]]
            out.append(f"<p class=\"note\">Officers with the highest share of searches without a reason "
                       f"({len(rows)} of {gaps['officers_total']:,}, at least 10 searches each).</p>"
                       + _table([("agency", "agency"), ("user", "officer"), ("searches", "searches"),
                                 ("no_reason", "no reason"), ("no_case", "no case number")], rows, {"searches"}))
    if not out:
        return ""
    return "<h2 id=\"accountability\">Exposure, disclosures and record-keeping</h2>" + "".join(out)


def render_html(report: Report) -> str:
    """The whole report as one HTML document."""
    notes = "".join(f"<li>{_e(n)}</li>" for n in report.notes)
    parts = [
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
        # No network: forbid every fetch even if a future edit slips one in.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "img-src data:\">",
        f"<title>proxytrace report: {_e(report.store)}</title><style>{_stylesheet()}</style></head><body>",
        _header(report),
        f"<ul class=\"note\">{notes}</ul>" if notes else "",
        _releases(report), _rules(report), _charts(report), _flows(report), _accountability(report), _findings(report),
        _score(report),
        f"<p class=\"muted\">Generated by proxytrace {_e(report.run['version'])} from run #{report.run['id']}.</p>",
        "</body></html>",
    ]
    return "\n".join(p for p in parts if p)


def write_html(report: Report, out: TextIO) -> None:
    """Write the HTML report to an open text stream."""
    out.write(render_html(report))
