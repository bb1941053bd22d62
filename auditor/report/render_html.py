"""The HTML report: one self-contained file (inline CSS and SVG, no scripts, nothing fetched).

Every string that can come from a log goes through :func:`_e` (``html.escape`` with quotes), in
text, attributes and SVG alike.
"""
from __future__ import annotations

from html import escape
from importlib import resources
from typing import Any, Callable, TextIO

from auditor.report.build import Report
from auditor.report.svg import STATE_TILES, bar_chart, column_chart, door_legend, flow_diagram, stack_legend, state_map
from auditor.untrusted import visible

_SEARCH_COLUMNS = (("search_id", "search"), ("finding", "finding"), ("time", "time (UTC)"), ("searcher", "searcher"),
                   ("searcher_state", "state"), ("user", "user"),
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


def _generic(section: dict[str, Any]) -> str:
    """Paragraphs and tables: how every section renders unless its kind draws more."""
    out = [f"<p>{_e(p)}</p>" for p in section.get("paragraphs", [])]
    for table in section.get("tables", []):
        anchor = f' id="{_e(table["id"])}"' if table.get("id") else ""
        out.append(f"<p class=\"note\"{anchor}>{_e(table.get('caption', ''))}</p>"
                   + _table([tuple(c) for c in table["columns"]], table["rows"], set(table.get("numeric", ()))))
    return "".join(out)


def _headline(section: dict[str, Any]) -> str:
    items = []
    for s in section["sentences"]:
        evidence = ", ".join(f'<a href="{_e(ev["href"])}">{_e(ev["label"])}</a>' for ev in s["evidence"])
        items.append(f'<li><a class="sentence" href="#{_e(s["section"])}">{_e(s["text"])}</a>'
                     + (f'<span class="evidence">(evidence: {evidence})</span>' if evidence else "") + "</li>")
    return f'<ul class="headline">{"".join(items)}</ul>'


def _chart_note(chart: dict[str, Any], noun: str = "groups") -> str:
    parts = [f"Top {chart['shown']} of {chart['groups']:,} {noun}"] if chart["shown"] < chart["groups"] else []
    if chart.get("searches_not_shown"):
        parts.append(f"{chart['searches_not_shown']:,} searches in groups not shown")
    if chart.get("note"):
        parts.append(chart["note"])
    return f"<p class=\"note\">{_e('; '.join(parts))}.</p>" if parts else ""


def _charts(section: dict[str, Any]) -> str:
    out = [f"<p>{_e(p)}</p>" for p in section.get("paragraphs", [])]
    out.append(f"<p>{stack_legend()}</p><div class=\"charts\">")
    for chart in section["charts"]:
        draw = column_chart if chart.get("kind") == "columns" else bar_chart
        out.append(f"<figure id=\"{_e(chart['id'])}\"><figcaption><h3>{_e(chart['title'])}</h3></figcaption>"
                   f"{draw(chart['title'], chart['bars'])}{_chart_note(chart)}</figure>")
    out.append("</div>")
    return "".join(out) + _generic({"tables": section.get("tables", [])})


def _map(section: dict[str, Any]) -> str:
    out = [f"<p>{_e(p)}</p>" for p in section.get("paragraphs", [])]
    if not section["maps"] and section.get("by_state"):
        section = {**section, "maps": [{"owner": None, "owner_state": None, "by_state": section["by_state"],
                                        "searches": sum(v["searches"] for v in section["by_state"].values())}]}
    out.append('<div class="maps">')
    for m in section["maps"]:
        title = (f"Searches of {m['owner']}'s data, by searcher's state" if m["owner"]
                 else "All searches, by searcher's state")
        outside = {k: v for k, v in m["by_state"].items() if k not in STATE_TILES}
        extra = "; ".join(f"{k}: {v['searches']:,} searches, {v.get('immigration_related', 0):,} immigration-related"
                          for k, v in outside.items())
        summary = (f"{m['searches']:,} searches; {m.get('out_of_state', 0):,} by agencies outside "
                   f"{m['owner_state'] or 'its state'} or federal; {m.get('immigration_related', 0):,} immigration-related."
                   if m["owner"] else f"{m['searches']:,} searches.")
        out.append(f"<figure class=\"owner-map\"><figcaption><h3>{_e(title)}</h3></figcaption>"
                   f"{state_map(title, m['by_state'], home=m['owner_state'])}"
                   f"<p class=\"note\">{_e(summary)}{(' Not on the map: ' + _e(extra) + '.') if extra else ''}</p></figure>")
    out.append("</div>")
    return "".join(out)


def _flows(section: dict[str, Any]) -> str:
    f = section
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
               ("with_findings", "searches with findings"), ("immigration_related", "immigration-related")]
    return (f"<p class=\"note\">{_e('; '.join(notes))}.</p><p>{door_legend()}</p>"
            f"{flow_diagram(f['flows'])}"
            + _table(headers, f["flows"], {"searches", "with_findings", "immigration_related"}))


def _findings(section: dict[str, Any]) -> str:
    out = [f"<p class=\"note\">{_e(p)}</p>" for p in section.get("paragraphs", [])]
    for table in section.get("tables", []):
        body = "".join(
            f"<tr><td><a href=\"{_e(r['link'])}\">{_e(r['rule_id'])}</a></td><td>{_e(r['title'])}</td>"
            f"<td class=\"sev-{_e(r['severity'])}\">{_e(r['severity'])}</td><td>{_e(r['citation'])}</td>"
            f"<td class=\"n\">{r['finding_rows']:,}</td><td class=\"n\">{r['searches']:,}"
            + (' <span class="muted">(sum, may overlap)</span>' if r["scope"] == "aggregate" else "") + "</td></tr>"
            for r in table["rows"])
        head = "".join(f"<th>{_e(label)}</th>" for _, label in table["columns"])
        out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    for rule in section["rules"]:
        rid = _e(rule["rule_id"])
        shown = (f"showing the first {rule['shown']:,} of {rule['finding_rows']:,} finding rows (capped)"
                 if rule["capped"] else f"{rule['finding_rows']:,} finding rows")
        out.append(
            f"<h3 id=\"rule-{rid}\">{rid}: {_e(rule['title'])} "
            f"<span class=\"sev-{_e(rule['severity'])}\">[{_e(rule['severity'])}]</span></h3>"
            f"<p class=\"note\">Cites {_e(rule['citation'])}. {_e(shown)}.</p>")
        if rule["scope"] == "aggregate":
            out.append(_table(list(_AGGREGATE_COLUMNS), rule["rows"], {"searches"}))
        else:
            out.append(_table(list(_SEARCH_COLUMNS) + [("door", "door")], rule["rows"], {"search_id"}))
    if not section["rules"]:
        out.append("<p class=\"muted\">No findings.</p>")
    return "".join(out)


def _score_cell(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}"
    return _n(value)


def _score(section: dict[str, Any]) -> str:
    score = section["score"]
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
    return _generic({"paragraphs": section.get("paragraphs", [])}) + f"<table>{''.join(scalars)}</table>{''.join(tables)}"


# How each kind of section is drawn; any other kind renders its paragraphs and tables.
RENDERERS: dict[str, Callable[[dict[str, Any]], str]] = {
    "headline": _headline, "charts": _charts, "map": _map, "flows": _flows, "findings": _findings, "score": _score,
}


def render_section(section: dict[str, Any]) -> str:
    """One section as HTML: its heading (the anchor the headline links to) and its body."""
    body = RENDERERS.get(section.get("kind"), _generic)(section)
    return f"<section id=\"{_e(section['id'])}\"><h2>{_e(section['title'])}</h2>{body}</section>"


def render_html(report: Report) -> str:
    """The whole report as one HTML document."""
    c = report.counts
    notes = "".join(f"<li>{_e(n)}</li>" for n in report.notes)
    parts = [
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
        # No network: forbid every fetch even if a future edit slips one in.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "img-src data:\">",
        f"<title>proxytrace report: {_e(report.store)}</title><style>{_stylesheet()}</style></head><body>",
        f"<h1>proxytrace audit report</h1><p class=\"muted\">{_e(report.store)}: {c['searches']:,} searches "
        f"(de-duplicated) from {c['release_rows']:,} release rows; run #{report.run['id']} of "
        f"{_e(report.run['finished_at'])}.</p>",
        f"<ul class=\"note\">{notes}</ul>" if notes else "",
        *(render_section(s) for s in report.sections),
        f"<p class=\"muted\">Generated by proxytrace {_e(report.run['version'])} from run #{report.run['id']}.</p>",
        "</body></html>",
    ]
    return "\n".join(p for p in parts if p)


def write_html(report: Report, out: TextIO) -> None:
    """Write the HTML report to an open text stream."""
    out.write(render_html(report))
