"""The `audit` command group. Each verb lives in its own module and is a thin layer over a library call."""
from __future__ import annotations

import click

from auditor import __version__
from auditor.cli.common import AuditGroup


@click.group(cls=AuditGroup)
@click.version_option(__version__, prog_name="proxytrace")
def audit() -> None:
    """Audit who searched surveillance data, for what, and on whose behalf.

    Typical use: `audit import --db store.db RELEASE.csv ...` (or a store written by `simulate`),
    then `audit run --db store.db` and `audit report --db store.db --out report.html`.
    """


def _register() -> None:
    from auditor.cli import commands

    for command in commands.ALL:
        audit.add_command(command)


_register()


def main() -> None:
    audit(prog_name="audit")
