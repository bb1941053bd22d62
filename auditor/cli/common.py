"""Shared CLI plumbing: one-line errors with exit code 2, store options, table printing."""
from __future__ import annotations

import sqlite3

import click

from auditor.errors import InputError


class InputFailure(click.ClickException):
    """A bad-input error as click shows it: `Error: <one line>`, exit code 2."""

    exit_code = 2


class AuditGroup(click.Group):
    """A group whose commands turn InputError (and unexpected SQLite errors) into one-line exits."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except InputError as e:
            raise InputFailure(str(e)) from None
        except sqlite3.DatabaseError as e:
            raise InputFailure(f"store error: {e}") from None


db_option = click.option(
    "--db",
    "db_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="The proxytrace store (SQLite) to read or write.",
)
