"""`audit explain`: one search's trace, tags, findings, citations and sources."""
from __future__ import annotations

import click

from auditor.cli.common import BoundedInt, db_option, echo, echo_json, pseudonym_options, pseudonymizer_for
from auditor.importers import unfinished_warning
from auditor.pseudonym import NOTE as PSEUDONYM_NOTE
from auditor.explain import explain_search
from auditor.schema import open_store


def format_explanation(e: dict) -> str:
    s = e["search"]
    lines = [f"Note: {e['pseudonymized']}"] if e.get("pseudonymized") else []
    if e.get("unfinished_releases"):
        lines.append(f"Warning: {unfinished_warning(e['unfinished_releases'])}")
    lines += [f"Search {s['id']}" + (f" ({s['uuid']})" if s["uuid"] else ""),
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
    if e.get("contested"):
        lines.append(f"  {e['contested']}")
    lines.append("Trace:")
    lines += [f"  {t['path']}" + (f"  [{t['door']} door]" if t["door"] else "") for t in e["traces"]] or ["  (not traced yet: run `audit run`)"]
    lines.append("  immigration-related: " + ("yes" if e.get("immigration_related") else "no")
                 + ("; run by or for a DHS immigration component" if e.get("dhs_linked") else ""))
    lines.append("  immigration purpose stated (what a law can rest on): "
                 + ("yes" if e.get("immigration_stated") else "no"))
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
    lines += [f"  [{f['severity']}] {f['rule_id']}: {f['finding']}\n      cites {f['citation']}\n      path  {f['trace']}"
              + (f"\n      note  {f['contested']}" if f.get("contested") else "")
              for f in e["findings"]] or ["  (none)"]
    if e["truth"]:
        t = e["truth"]
        lines.append(f"Simulator truth: purpose {t['purpose']}, for {t['beneficiary']}, "
                     f"{'disguised' if t['disguised'] else 'stated'}" + (f", misuse {t['misuse_kind']}" if t["misuse_kind"] else ""))
    return "\n".join(lines)


@click.command("explain")
@db_option
@click.argument("search_id", type=BoundedInt(1))
@click.option("--json", "as_json", is_flag=True, help="Print the explanation as JSON.")
@pseudonym_options
def command(db_path: str, search_id: int, as_json: bool, pseudonymize: bool, key_file: str | None) -> None:
    """Explain one search: where it was seen, its traced path, tags, findings and citations."""
    db = open_store(db_path)
    pseudonymizer = pseudonymizer_for(db, pseudonymize, key_file)
    explanation = explain_search(db, search_id)
    if pseudonymizer is not None:
        explanation = {"pseudonymized": PSEUDONYM_NOTE, **pseudonymizer.walk(explanation)}
    echo_json(explanation) if as_json else echo(format_explanation(explanation))
