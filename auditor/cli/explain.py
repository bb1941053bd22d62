"""`audit explain`: one search's trace, tags, findings, citations and sources."""
from __future__ import annotations

import json

import click

from auditor.cli.common import db_option
from auditor.explain import explain_search
from auditor.schema import open_store


def format_explanation(e: dict) -> str:
    s = e["search"]
    lines = [f"Search {s['id']}" + (f" ({s['uuid']})" if s["uuid"] else ""),
             f"  time      {s['time']}",
             f"  searcher  {s['searcher']}" + (f", user {s['user']}" if s["user"] else ""),
             f"  reason    {s['reason']!r}" if s["reason"] is not None else
             f"  reason    ({'redacted' if s['redacted'] and 'reason' in s['redacted'] else 'blank'})"]
    for key in ("case_number", "plate", "search_type", "networks", "devices", "system", "query_type"):
        if s[key] is not None:
            lines.append(f"  {key.replace('_', ' '):<9} {s[key]}")
    lines.append("Seen in:")
    lines += [f"  {src['cite']}" + (f" (linked by {src['linked_by']})" if src.get("linked_by") else "")
              for src in e["sources"]]
    lines.append("Trace:")
    lines += [f"  {t['path']}" + (f"  [{t['door']} door]" if t["door"] else "") for t in e["traces"]] or ["  (not traced yet: run `audit run`)"]
    if e["beneficiary"]:
        b = e["beneficiary"]
        lines.append(f"  acts for {b['agency']} ({b['basis']}): {b['evidence']}")
    elif e.get("named_unresolved"):
        n = e["named_unresolved"]
        lines.append(f"  names {n['name']!r} as requester, unresolved (confidence {n['confidence']:.2f}): {n['evidence']}")
    lines.append("Tags:")
    lines += [f"  {t['tag']}" + (f"={t['value']}" if t["value"] else "") + f"  evidence {t['evidence']!r} ({t['basis']}, {t['confidence']:.2f})"
              for t in e["tags"]] or ["  (none)"]
    lines.append("Findings:")
    lines += [f"  [{f['severity']}] {f['rule_id']}: {f['title']}\n      cites {f['citation']}\n      path  {f['trace']}"
              for f in e["findings"]] or ["  (none)"]
    if e["truth"]:
        t = e["truth"]
        lines.append(f"Simulator truth: purpose {t['purpose']}, for {t['beneficiary']}, "
                     f"{'disguised' if t['disguised'] else 'stated'}" + (f", misuse {t['misuse_kind']}" if t["misuse_kind"] else ""))
    return "\n".join(lines)


@click.command("explain")
@db_option
@click.argument("search_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the explanation as JSON.")
def command(db_path: str, search_id: int, as_json: bool) -> None:
    """Explain one search: where it was seen, its traced path, tags, findings and citations."""
    explanation = explain_search(open_store(db_path), search_id)
    click.echo(json.dumps(explanation, indent=2) if as_json else format_explanation(explanation))
