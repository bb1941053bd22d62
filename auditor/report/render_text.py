"""JSON and Markdown reports.

JSON is the report's plain data through ``json.dumps``. Markdown cells escape what Markdown would
act on (``|``, backticks, emphasis and link brackets) and HTML-escape ``<``, ``>`` and ``&``, since
most Markdown renderers pass raw HTML through.
"""
from __future__ import annotations

import json
import re
from html import escape
from typing import Any, Callable, TextIO

from auditor.report.build import Report
from auditor.untrusted import json_dumps, visible

_MD_SPECIAL = re.compile(r"([\\`|*_\[\]#])")


def write_json(report: Report, out: TextIO) -> None:
    """Write the report as one JSON document."""
    out.write(json_dumps(report.to_json(), indent=2))
    out.write("\n")


def md_cell(value: Any) -> str:
    """One Markdown table cell (or inline text): numbers with separators, log text neutralized."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.3f}"
    text = visible(" ".join(str(value).split()))  # a newline would end the table row; ESC would act
    return _MD_SPECIAL.sub(r"\\\1", escape(text, quote=False))


def _table(headers: list[tuple[str, str]], rows: list[dict[str, Any]]) -> list[str]:
    lines = ["| " + " | ".join(md_cell(label) for _, label in headers) + " |",
             "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(md_cell(row.get(key)) for key, _ in headers) + " |" for row in rows]
    return lines + [""]


def _generic(section: dict[str, Any]) -> list[str]:
    lines = []
    for p in section.get("paragraphs", []):
        lines += [md_cell(p), ""]
    for table in section.get("tables", []):
        if table.get("caption"):
            lines += [md_cell(table["caption"]), ""]
        lines += _table([tuple(c) for c in table["columns"]], table["rows"])
    return lines


def _headline(section: dict[str, Any]) -> list[str]:
    return [f"- [{md_cell(s['text'])}](#{s['section']})" for s in section["sentences"]] + [""]


def _bars_table(chart: dict[str, Any]) -> list[str]:
    lines = [f"### {md_cell(chart['title'])}", ""] + _table(
        [("label", ""), ("searches", "searches"), ("with_findings", "with findings")], chart["bars"])
    if chart["shown"] < chart["groups"]:
        lines += [f"Top {chart['shown']} of {chart['groups']:,}; {chart['searches_not_shown']:,} searches in "
                  "groups not shown.", ""]
    return lines


def _charts(section: dict[str, Any]) -> list[str]:
    lines = _generic({"paragraphs": section.get("paragraphs", [])})
    for chart in section["charts"]:
        lines += _bars_table(chart)
    return lines + _generic({"tables": section.get("tables", [])})


def _map(section: dict[str, Any]) -> list[str]:
    lines = _generic({"paragraphs": section.get("paragraphs", [])})
    if not section["maps"] and section.get("by_state"):  # no owners known: all searches by state
        rows = [{"state": k, **v} for k, v in section["by_state"].items()]
        return lines + _table([("state", "state"), ("searches", "searches"), ("with_findings", "with findings"),
                               ("immigration_related", "immigration-related")], rows)
    for m in section["maps"]:
        rows = [{"state": k, **v} for k, v in m["by_state"].items()]
        lines += [f"### Searches of {md_cell(m['owner'])}'s data ({md_cell(m['owner_state'] or 'state unknown')}), "
                  "by searcher's state", ""]
        lines += _table([("state", "state"), ("searches", "searches"), ("with_findings", "with findings"),
                         ("immigration_related", "immigration-related")], rows)
    return lines


def _flows(section: dict[str, Any]) -> list[str]:
    f = section
    lines = [f"{f['shown']} of {f['distinct_flows']:,} flows: the largest by searches, with room kept for the "
             f"{f['door_flows_shown']} largest through a door; {f['own_data_searches']:,} searches "
             "of the searcher's own data left out.", ""]
    return lines + _table([("owner", "owner"), ("scope", "scope"), ("searcher", "searcher"), ("searcher_state", "state"),
                           ("beneficiary", "acts for"), ("door", "door"), ("searches", "searches"),
                           ("with_findings", "searches with findings")], f["flows"])


def _findings(section: dict[str, Any]) -> list[str]:
    lines = _generic(section)
    for rule in section["rules"]:
        capped = (f"first {rule['shown']:,} of {rule['finding_rows']:,} finding rows (capped)"
                  if rule["capped"] else f"{rule['finding_rows']:,} finding rows")
        lines += [f"### {md_cell(rule['rule_id'])}: {md_cell(rule['title'])} [{md_cell(rule['severity'])}]",
                  "", f"Cites {md_cell(rule['citation'])}. {capped}.", ""]
        if rule["scope"] == "aggregate":
            lines += _table([("agency", "agency"), ("subject", "subject"), ("detail", "detail"),
                             ("searches", "searches")], rule["rows"])
        else:
            lines += _table([("search_id", "search"), ("finding", "finding"), ("time", "time (UTC)"),
                             ("searcher", "searcher"), ("reason", "reason"), ("trace", "trace"), ("door", "door"),
                             ("source", "source (release, row)")], rule["rows"])
    return lines


def _score(section: dict[str, Any]) -> list[str]:
    return _generic(section) + ["```json", json.dumps(section["score"], indent=2).replace("```", "'''"), "```", ""]


# How each kind of section is written; any other kind writes its paragraphs and tables.
RENDERERS: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "headline": _headline, "charts": _charts, "map": _map, "flows": _flows, "findings": _findings, "score": _score,
}


def render_markdown(report: Report) -> str:
    """The report as GitHub-flavoured Markdown (tables; charts and the map become their data tables)."""
    c = report.counts
    lines = ["# proxytrace audit report", "",
             f"{md_cell(report.store)}: {c['searches']:,} searches (de-duplicated) from {c['release_rows']:,} release "
             f"rows; run #{report.run['id']}.", ""]
    lines += [f"> {md_cell(note)}" for note in report.notes] + ([""] if report.notes else [])
    for section in report.sections:
        # An explicit anchor: the headline links to section ids, not to GitHub's heading slugs.
        lines += [f'<a id="{escape(section["id"], quote=True)}"></a>', "", f"## {md_cell(section['title'])}", ""]
        lines += RENDERERS.get(section.get("kind"), _generic)(section)
    return "\n".join(lines)


def write_markdown(report: Report, out: TextIO) -> None:
    """Write the Markdown report to an open text stream."""
    out.write(render_markdown(report))
