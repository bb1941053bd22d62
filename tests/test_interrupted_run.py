"""A killed `audit run` never blocks the report on the last complete run (issue 18)."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys

import pytest
from click.testing import CliRunner

from auditor.cli import audit
from auditor.report import FORMATS
from conftest import REPO, write_flock_csv

WHEN = "12/08/2025, 05:28:52 PM UTC"
FRAME = "12/01/2025, 05:28:52 PM UTC\n" + WHEN

# Runs `audit run` in this child and kills it with SIGKILL when the run reaches the named stage.
KILL_AT_STAGE = """
import os, signal, sys
from auditor.scan import run_audit
from auditor.schema import open_store
stage = sys.argv[2]
def progress(name, done, total):
    if name == stage:
        os.kill(os.getpid(), signal.SIGKILL)
run_audit(open_store(sys.argv[1]), progress=progress)
"""


def cli(*args):
    return CliRunner().invoke(audit, [str(a) for a in args])


def row(uuid: str, reason: str, searcher: str) -> list[str]:
    return [uuid, "Ofc Lee", searcher, "1", FRAME, "7ABC123", reason, "", "", WHEN, "search", "", ""]


@pytest.fixture
def audited(tmp_path):
    store = tmp_path / "s.db"
    write_flock_csv(tmp_path / "a.csv", [row("u1", "ICE request", "Houston TX PD"),
                                         row("u2", "immigration hold", "Dallas TX PD"),
                                         row("u3", "stolen vehicle", "San Diego CA PD")])
    assert cli("import", "--db", store, tmp_path / "a.csv", "--owner", "El Cajon CA PD").exit_code == 0
    assert cli("run", "--db", store).exit_code == 0
    return store


def findings(store) -> list[tuple]:
    with sqlite3.connect(store) as conn:
        return conn.execute("SELECT rule_id, search_id FROM findings ORDER BY rule_id, search_id").fetchall()


@pytest.mark.parametrize("stage", ["inferring beneficiaries", "keying searches"])
def test_a_run_killed_midway_leaves_the_last_complete_run_reported(audited, tmp_path, stage):
    before = findings(audited)
    assert before, "the store's first run found nothing: the test would prove nothing"
    child = subprocess.run([sys.executable, "-c", KILL_AT_STAGE, str(audited), stage], cwd=REPO,
                           capture_output=True, text=True, timeout=120)
    assert child.returncode == -signal.SIGKILL, child.stderr
    with sqlite3.connect(audited) as conn:  # the killed run is on record, unfinished
        assert conn.execute("SELECT id FROM runs WHERE finished_at IS NULL").fetchall() == [(2,)]
    assert findings(audited) == before

    for fmt in FORMATS:
        out = tmp_path / f"r.{fmt}"
        result = cli("report", "--db", audited, "--out", out)
        assert result.exit_code == 0, result.output + result.stderr
        assert "run 2" in result.stderr and "did not finish" in result.stderr
        if fmt != "csv":
            assert "the last complete run" in out.read_text()
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["run"]["id"] == 1 and report["counts"]["searches"] == 3
    assert any("run 2" in n and "did not finish" in n for n in report["notes"])
    assert len((tmp_path / "r.csv").read_text().splitlines()) == len(before) + 1

    explain = cli("explain", "--db", audited, str(before[0][1]))
    assert explain.exit_code == 0 and before[0][0] in explain.output, explain.output
    assert cli("verify", tmp_path / "r.html", "--db", audited).exit_code == 0
    whatif = cli("whatif", "--db", audited, "--policy", "ca-only")
    assert whatif.exit_code == 0 and "Traceback" not in whatif.output, whatif.output

    # The next run completes and the note goes away.
    assert cli("run", "--db", audited).exit_code == 0
    assert findings(audited) == before
    result = cli("report", "--db", audited, "--out", tmp_path / "again.md")
    assert result.exit_code == 0 and "did not finish" not in result.stderr
    assert "did not finish" not in (tmp_path / "again.md").read_text()


def test_a_failure_in_the_columnar_child_is_one_line_not_its_traceback():
    from auditor import isolated
    from auditor.errors import ResourceError

    with pytest.raises(ResourceError, match=r"^the columnar stage failed in its child process: MemoryError"):
        isolated.call(bytearray, 2 ** 62)  # the child cannot allocate it
    with pytest.raises(ResourceError, match=r"ended without an answer \(exit code -6\)"):
        isolated.call(os.abort)  # the child dies (as a library's allocation failure aborts it)
    assert isolated.call(len, "four") == 4  # a fresh child serves the next call
