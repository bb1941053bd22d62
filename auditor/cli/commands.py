"""Collects the `audit` verbs: every module in this package that defines `command` is one verb."""
from __future__ import annotations

import importlib
import pkgutil

import click

import auditor.cli as _package

_NOT_VERBS = {"common", "commands", "progress"}


def _discover() -> list[click.Command]:
    found = []
    for info in sorted(pkgutil.iter_modules(_package.__path__), key=lambda i: i.name):
        if info.name in _NOT_VERBS:
            continue
        module = importlib.import_module(f"auditor.cli.{info.name}")
        command = getattr(module, "command", None)
        if isinstance(command, click.Command):
            found.append(command)
    return found


ALL = _discover()
