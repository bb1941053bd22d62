"""Every command has help and is documented; the README's commands are the ones CI runs."""
from __future__ import annotations

import re

import click
import pytest
from click.testing import CliRunner

from auditor.cli import audit
from conftest import REPO
from simulator.cli import simulate

README = (REPO / "README.md").read_text(encoding="utf-8")
AUDIT_VERBS = sorted(audit.commands)


def _commands_in_readme() -> list[str]:
    return re.findall(r"```sh\n(python3 -m venv[^\n]+)\n```", README)


def test_readme_gives_exactly_two_copy_paste_commands():
    main, tests = _commands_in_readme()
    assert "simulate --scenario el_cajon" in main and "audit run" in main
    assert "pytest" in tests and "[test]" in tests


def test_ci_runs_the_readme_test_command():
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert _commands_in_readme()[1] in ci


@pytest.mark.parametrize("verb", AUDIT_VERBS)
def test_every_audit_verb_has_help_and_is_in_the_readme(verb):
    result = CliRunner().invoke(audit, [verb, "--help"])
    assert result.exit_code == 0 and len(audit.commands[verb].help or "") > 20
    assert f"audit {verb}" in README


def test_simulate_has_help_and_its_options_are_in_the_readme():
    result = CliRunner().invoke(simulate, ["--help"])
    assert result.exit_code == 0
    for param in simulate.params:
        if isinstance(param, click.Option) and param.name not in ("help", "overwrite"):
            assert param.opts[0] in README or param.opts[0] in (REPO / "scenarios" / "README.md").read_text(), param.opts[0]
    for name in getattr(simulate, "commands", {}):
        assert f"simulate {name}" in README
