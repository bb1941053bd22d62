"""`audit rules`: the rules and laws in force, each law with its elements; `--review` writes the review copy."""
from __future__ import annotations

import textwrap
from pathlib import Path

import click

from auditor.cli.common import echo, echo_json
from auditor.outputs import write_beside
from auditor.rules.laws import BINDS_WORDS, load_jurisdictions, shipped_jurisdiction_paths
from auditor.rules.loader import load_rules
from auditor.rules.review import review_document


@click.command("rules")
@click.option("--rules-dir", type=click.Path(file_okay=False, exists=True), help="Load rule files from this folder instead.")
@click.option("--laws-dir", type=click.Path(file_okay=False, exists=True),
              help="With --review: read jurisdiction files from this folder instead of the shipped ones.")
@click.option("--json", "as_json", is_flag=True, help="Print the rules as JSON (laws with their elements, quote and sources).")
@click.option("--review", "review", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the review copy of every encoded law to this Markdown file: whom it binds, the conduct, "
                   "each element, the quoted operative sentence, the sources and dates read, and the cases that do "
                   "and do not meet it (the law files' own examples).")
def command(rules_dir: str | None, laws_dir: str | None, as_json: bool, review: Path | None) -> None:
    """List every rule and law: id, severity, title, where it applies and what it cites.

    A law (from the jurisdiction files, one per state, and federal) is shown with whom it binds, the
    conduct and every element a search must meet for a finding to cite it. A policy rule cites the
    practice it rests on; the judged state's laws on the grounds it names are shown beside its
    findings only as related law, not as a finding that they were broken.

    Example: `audit rules --review laws-review.md` for a lawyer's review of the whole encoding.
    """
    if review is not None:
        paths = sorted(Path(laws_dir).glob("*.toml")) if laws_dir else shipped_jurisdiction_paths()
        text = review_document(load_jurisdictions(paths))
        write_beside(review, lambda out: out.write(text), what="review copy")
        echo(f"wrote the review copy of the encoded laws to {review}")
        return
    rules = load_rules(sorted(Path(rules_dir).glob("*.toml")) if rules_dir else None)
    if as_json:
        echo_json([_as_json(r) for r in rules])
        return
    for r in rules:
        echo(f"{r.id}  [{r.severity}, {r.scope}, applies in {_where(r)}]\n  {r.title}")
        if r.law is not None:
            law = r.law
            echo(textwrap.indent(textwrap.fill(f"Cites: {r.citation}", 96), "  "))
            echo(f"  Binds {BINDS_WORDS[law.binds]}; conduct: {law.conduct}; in force from {law.effective}.")
            echo("  Elements:")
            for i, element in enumerate(law.elements(), 1):
                echo(textwrap.indent(textwrap.fill(f"{i}. {element.name}", 92), "    "))
            echo(textwrap.indent(textwrap.fill(f"Text: \u201c{law.quote}\u201d", 96), "  "))
            echo("  Read: " + "; ".join(f"{s.url} ({s.read})" for s in law.sources))
        else:
            cites = f"Cites: {r.citation}"
            if r.state_law:
                cites += (f" (the judged state's laws on {', '.join(r.state_law)} are shown beside its findings as "
                          "related law, not as a finding that they were broken)")
            echo(textwrap.indent(textwrap.fill(cites, 96), "  "))


def _where(rule) -> str:
    if rule.law is not None:
        return f"{rule.law.jurisdiction.upper()} (binds the {rule.law.binds.replace('_', ' ')})"
    return "every state" if rule.jurisdictions == ("*",) else ", ".join(j.upper() for j in rule.jurisdictions)


def _as_json(rule) -> dict:
    out = {"id": rule.id, "title": rule.title, "severity": rule.severity, "citation": rule.citation,
           "scope": rule.scope, "description": rule.description.strip(), "jurisdictions": list(rule.jurisdictions),
           "state_law": list(rule.state_law), "finding": rule.finding}
    if rule.law is not None:
        law = rule.law
        out.update({"effective": law.effective, "binds": law.binds, "applies_to": list(law.applies_to),
                    "conduct": law.conduct, "grounds": list(law.grounds),
                    "elements": [e.name for e in law.elements()],
                    "quote": {"text": law.quote, "source": law.quote_source},
                    "sources": [{"url": s.url, "read": s.read, "note": s.note} for s in law.sources]})
    return out
