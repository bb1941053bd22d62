"""`audit rules`: the rules in force, with their citations."""
from __future__ import annotations

import textwrap
from pathlib import Path

import click

from auditor.cli.common import echo, echo_json
from auditor.rules import load_rules


@click.command("rules")
@click.option("--rules-dir", type=click.Path(file_okay=False, exists=True), help="Load rule files from this folder instead.")
@click.option("--json", "as_json", is_flag=True, help="Print the rules as JSON.")
def command(rules_dir: str | None, as_json: bool) -> None:
    """List every rule and law: id, severity, title, where it applies and what it cites.

    Laws come from the jurisdiction files (one per state, and federal); a policy rule cites the law
    of the owner's state on the grounds it names where one is encoded, else the practice shown.
    """
    rules = load_rules(sorted(Path(rules_dir).glob("*.toml")) if rules_dir else None)
    if as_json:
        echo_json([_as_json(r) for r in rules])
        return
    for r in rules:
        echo(f"{r.id}  [{r.severity}, {r.scope}, applies in {_where(r)}]\n  {r.title}")
        cites = f"Cites: {r.citation}" + (f" (from {r.law.effective})" if r.law else "")
        if r.state_law:
            cites += f"; where the state has a law on {', '.join(r.state_law)} encoded, that law"
        echo(textwrap.indent(textwrap.fill(cites, 96), "  "))


def _where(rule) -> str:
    if rule.law is not None:
        return f"{rule.law.jurisdiction.upper()} ({' or '.join(rule.law.applies_to)}'s state)"
    return "every state" if rule.jurisdictions == ("*",) else ", ".join(j.upper() for j in rule.jurisdictions)


def _as_json(rule) -> dict:
    out = {"id": rule.id, "title": rule.title, "severity": rule.severity, "citation": rule.citation,
           "scope": rule.scope, "description": rule.description.strip(), "jurisdictions": list(rule.jurisdictions),
           "state_law": list(rule.state_law)}
    if rule.law is not None:
        out.update({"effective": rule.law.effective, "applies_to": list(rule.law.applies_to),
                    "grounds": list(rule.law.grounds),
                    "sources": [{"url": s.url, "read": s.read, "note": s.note} for s in rule.law.sources]})
    return out
