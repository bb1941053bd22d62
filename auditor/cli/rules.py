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
    """List every rule: id, severity, title and the statute or policy it cites."""
    rules = load_rules(sorted(Path(rules_dir).glob("*.toml")) if rules_dir else None)
    if as_json:
        echo_json([{"id": r.id, "title": r.title, "severity": r.severity, "citation": r.citation,
                                "scope": r.scope, "description": r.description.strip()} for r in rules])
        return
    for r in rules:
        echo(f"{r.id}  [{r.severity}, {r.scope}]\n  {r.title}")
        echo(textwrap.indent(textwrap.fill(f"Cites: {r.citation}", 96), "  "))
