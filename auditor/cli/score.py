"""`audit score`: compare an audited simulated store with its ground truth."""
from __future__ import annotations

import click

from auditor.cli.common import db_option, echo, echo_json
from auditor.schema import open_store
from auditor.score import format_score, score_store


@click.command("score")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON.")
def command(db_path: str, as_json: bool) -> None:
    """Score the audit against the simulator's truth: precision and recall per rule and purpose.

    Also reports how many truly immigration-related searches hid behind vague reasons and how many
    of those the plate-relay and 287(g) inferences still caught.
    """
    score = score_store(open_store(db_path))
    echo_json(score.to_json()) if as_json else echo(format_score(score))
