"""`audit grade`: score a trainee's filled worksheet against the exercise's answer key."""
from __future__ import annotations

import click

from auditor.cli.common import echo, echo_json
from auditor.grade import format_grade, grade_files


@click.command("grade")
@click.argument("worksheet", type=click.Path(dir_okay=True))
@click.option("--key", "key_path", required=True, type=click.Path(), help="The exercise's answer_key.json.")
@click.option("--json", "as_json", is_flag=True, help="Print the grade as JSON.")
def command(worksheet: str, key_path: str, as_json: bool) -> None:
    """Grade a filled worksheet (from `simulate exercise`) against its answer key.

    Each item scores a point for the violation answer, one for the rule and, when the key names one,
    one for the beneficiary. Prints the total and, for every miss, the key's reasoning and citation.
    """
    result = grade_files(worksheet, key_path)
    echo_json(result.to_json()) if as_json else echo(format_grade(result))
