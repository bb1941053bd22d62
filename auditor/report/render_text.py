"""JSON and Markdown reports.

JSON is the report's plain data through ``json.dumps``. Markdown cells escape what Markdown would
act on (``|``, backticks, emphasis and link brackets) and HTML-escape ``<``, ``>`` and ``&``, since
most Markdown renderers pass raw HTML through.
"""
from __future__ import annotations

import json
import re
from html import escape
from typing import Any, TextIO

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


def render_markdown(report: Report) -> str:
    """The report as GitHub-flavoured Markdown (tables; charts become their data tables)."""
    run, c = report.run, report.counts
    lines = [
        "# proxytrace audit report", "",
        f"- store: {md_cell(report.store)}",
        f"- run: #{run['id']}, {md_cell(run['started_at'])} to {md_cell(run['finished_at'])} "
        f"(proxytrace {md_cell(run['version'])}), rule-set hash {md_cell(run['ruleset_hash'])}",
        f"- searches: {c['searches']:,} searches (de-duplicated) from {c['release_rows']:,} release rows in "
        f"{c['releases']:,} releases; {c['rejected_rows']:,} rows rejected at import",
        f"- agencies: {c['agencies']:,}, {c['unresolved_agencies']:,} unresolved",
        f"- findings: {c['finding_rows']:,} finding rows; {c['searches_with_findings']:,} searches with at least "
        "one per-search finding", "",
    ]
    lines += [f"> {md_cell(note)}" for note in report.notes] + ([""] if report.notes else [])
    if report.releases:
        lines += ["## Releases", ""] + _table(
            [("file_name", "file"), ("format", "format"), ("audit_kind", "audit kind"), ("producer", "producer"),
             ("rows_read", "rows read"), ("rows_imported", "rows imported"), ("rows_rejected", "rows rejected")],
            report.releases)
    lines += ["## Findings by rule", ""] + _table(
        [("rule_id", "rule"), ("title", "title"), ("severity", "severity"), ("citation", "citation"),
         ("finding_rows", "finding rows"), ("searches", "searches"), ("searches_basis", "searches counted as")],
        report.rules)
    for chart in report.charts.values():
        lines += [f"## {md_cell(chart['title'])}", ""] + _table([("label", ""), ("searches", "searches")], chart["bars"])
        if chart["shown"] < chart["groups"]:
            lines += [f"Top {chart['shown']} of {chart['groups']}; {chart['searches_not_shown']:,} searches in "
                      "groups not shown.", ""]
    f = report.flows
    lines += ["## Data flows: owner → searcher → beneficiary", "",
              f"{f['shown']} of {f['distinct_flows']:,} flows: the largest by searches, with room kept for the "
              f"{f['door_flows_shown']} largest through a door; {f['own_data_searches']:,} searches "
              "of the searcher's own data left out.", ""]
    lines += _table([("owner", "owner"), ("scope", "scope"), ("searcher", "searcher"), ("searcher_state", "state"),
                     ("beneficiary", "acts for"), ("door", "door"), ("searches", "searches"),
                     ("searches_with_findings", "searches with findings")], f["flows"])
    lines += _accountability_md(report)
    lines += ["## Findings and their sources", ""]
    for section in report.findings:
        capped = (f"first {section['shown']:,} of {section['finding_rows']:,} finding rows (capped)"
                  if section["capped"] else f"{section['finding_rows']:,} finding rows")
        lines += [f"### {md_cell(section['rule_id'])}: {md_cell(section['title'])} [{md_cell(section['severity'])}]",
                  "", f"Cites {md_cell(section['citation'])}. {capped}.", ""]
        if section["scope"] == "aggregate":
            lines += _table([("agency", "agency"), ("subject", "subject"), ("detail", "detail"),
                             ("searches", "searches")], section["rows"])
        else:
            lines += _table([("search_id", "search"), ("time", "time (UTC)"), ("searcher", "searcher"),
                             ("reason", "reason"), ("trace", "trace"), ("door", "door"),
                             ("source", "source (release, row)")], section["rows"])
    if report.score:
        lines += ["## Self-scoring against simulator truth", "", "```json",
                  json.dumps(report.score, indent=2).replace("```", "'''"), "```", ""]
    return "\n".join(lines)


def _accountability_md(report: Report) -> list[str]:
    acc = report.accountability or {}
    lines: list[str] = []
    if acc.get("exposure"):
        rows = [{**e, "scopes": ", ".join(e["scopes"]) or "none", "dhs": ", ".join(e["dhs_components"]) or "none",
                 "levels": ", ".join(f"{k} {v:,}" for k, v in e["by_level"].items())} for e in acc["exposure"]]
        lines += ["### Exposure: who could reach each owner's data", ""] + _table(
            [("owner", "owner"), ("scopes", "sharing"), ("could_reach", "agencies that could search"),
             ("levels", "by level"), ("out_of_state", "out of state"), ("dhs", "DHS immigration components"),
             ("searches_by_others", "searches by others"), ("searches_of_read_plates", "searches of plates its cameras read"),
             ("immigration_related", "immigration-related searches")], rows)
    if acc.get("disclosures"):
        lines += ["### Misuse disclosed versus the log", ""] + _table(
            [("agency", "agency"), ("year", "year"), ("status", "disclosure"), ("investigations", "investigations"),
             ("confirmed", "confirmed"), ("pending", "pending"), ("log_cases", "suspected misuse cases in log"),
             ("log_searches", "their searches"), ("beyond_disclosed", "cases beyond disclosed")],
            [{**d, "year": str(d["year"] or ""), "status": d["status"].replace("_", " ")} for d in acc["disclosures"]])
    gaps = acc.get("record_gaps") or {}
    if gaps.get("agencies"):
        lines += ["### What the missing records hide", ""] + _table(
            [("agency", "agency"), ("searches", "searches"), ("no_user", "cannot be attributed to an officer"),
             ("no_user_share", "share"), ("no_reason", "no reason"), ("no_reason_share", "share"),
             ("no_case", "no case number")], gaps["agencies"])
    return (["## Exposure, disclosures and record-keeping", ""] + lines) if lines else []


def write_markdown(report: Report, out: TextIO) -> None:
    """Write the Markdown report to an open text stream."""
    out.write(render_markdown(report))
