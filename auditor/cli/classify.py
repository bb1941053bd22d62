"""`audit classify`: tag reason strings with purposes, beneficiaries and text defects."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from auditor.cli.common import echo
from auditor.purpose import Classifier, Tag, default_classifier
from auditor.untrusted import json_dumps, visible


def _tsv_cell(text: str) -> str:
    """Keep one reason on one TSV line: tabs and line breaks inside it are written escaped, and
    every other control character (ESC, C1, bidi overrides) as a visible escape."""
    text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\r", "\\r").replace("\n", "\\n")
    return visible(text)


def _tsv_line(reason: str, tags: list[Tag]) -> str:
    names = ",".join(t.tag for t in tags)
    evidence = " | ".join(f"{t.tag}={t.evidence}" + (f" ({t.value})" if t.value else "") for t in tags)
    return "\t".join((_tsv_cell(reason), names, _tsv_cell(evidence)))


def _json_line(reason: str, tags: list[Tag]) -> str:
    return json_dumps(
        {
            "reason": reason,
            "tags": [
                {"tag": t.tag, "evidence": t.evidence, "confidence": t.confidence, "value": t.value}
                for t in tags
            ],
        },
    )


@click.command(name="classify")
@click.argument("reasons", nargs=-1, metavar="[TEXT ...]")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line: reason and tags (tag, evidence, confidence, value).")
@click.option(
    "--patterns",
    "extra",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="An extra purpose pattern file (TOML) to load beside the shipped ones; repeatable.",
)
def command(reasons: tuple[str, ...], as_json: bool, extra: tuple[Path, ...]) -> None:
    """Tag search reasons: from the arguments, or one per line from stdin.

    Default output is TSV: the reason, its tags comma-joined, then tag=evidence pairs.
    A blank reason is tagged `missing`; a reason no pattern recognizes gets no tags.

    \b
    Examples:
      audit classify "ICE+ERO" "ice sales" "HSI assist"
      cut -d, -f5 searches.csv | audit classify --json
    """
    if extra:
        classifier = Classifier.load([*sorted(_shipped_files()), *extra])
    else:
        classifier = default_classifier()
    lines = reasons if reasons else (line.rstrip("\r\n") for line in sys.stdin)
    for reason in lines:
        tags = classifier.classify(reason)
        echo(_json_line(reason, tags) if as_json else _tsv_line(reason, tags))


def _shipped_files() -> list[Path]:
    folder = Path(__file__).resolve().parent.parent / "data" / "purposes"
    return list(folder.glob("*.toml"))
