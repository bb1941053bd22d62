"""`audit serve`: the store in Datasette, read-only, on localhost, with the views and canned queries."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from click.testing import CliRunner

from auditor import serve
from auditor.cli import audit
from auditor.scan import run_audit

AGENCIES = [{"name": "El Cajon CA PD", "state": "CA"}, {"name": "Dallas TX PD", "state": "TX"}]
SEARCHES = [{"searcher": "Dallas TX PD", "owners": ["El Cajon CA PD"], "reason": "ICE+ERO", "repeat": 2},
            {"searcher": "Dallas TX PD", "owners": ["El Cajon CA PD"], "reason": "stolen vehicle"}]


@pytest.fixture
def store(store_builder):
    db = store_builder(agencies=AGENCIES, shares=[{"owner": "El Cajon CA PD", "scope": "national"}],
                       searches=SEARCHES)
    run_audit(db)
    path = db.execute("PRAGMA database_list").fetchone()[2]
    db.conn.close()
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_without_datasette_says_how_to_install_it(store, monkeypatch):
    monkeypatch.setattr("auditor.cli.serve.datasette_available", lambda: False)
    result = CliRunner().invoke(audit, ["serve", "--db", store])
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert "pip install 'proxytrace[serve]'" in result.output


def test_serve_refuses_a_store_never_audited(store_builder, monkeypatch):
    monkeypatch.setattr("auditor.cli.serve.subprocess.Popen", lambda *a, **k: pytest.fail("must not start"))
    db = store_builder(agencies=AGENCIES, searches=SEARCHES)
    path = db.execute("PRAGMA database_list").fetchone()[2]
    result = CliRunner().invoke(audit, ["serve", "--db", path])
    assert result.exit_code == 2 and "audit run" in result.output


def test_the_command_binds_localhost_read_only_with_the_metadata(tmp_path):
    argv = serve.datasette_command("s.db", 8123, tmp_path / "m.json")
    assert argv[argv.index("--host") + 1] == "127.0.0.1" and "--immutable" in argv
    assert argv[argv.index("--metadata") + 1] == str(tmp_path / "m.json")


@pytest.fixture
def served(store):
    """`audit serve` running on a free local port; yields its base URL and stops it after."""
    pytest.importorskip("datasette")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", "from auditor.cli import main; main()", "serve", "--db", store,
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{base}/-/versions.json", timeout=2).read()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"audit serve did not start: {proc.stderr.read().decode()[-500:]}")
            time.sleep(0.3)
    yield base, store
    proc.terminate()
    proc.wait(timeout=20)


def _json(url: str):
    return json.loads(urllib.request.urlopen(url, timeout=10).read())


def test_serve_serves_the_finding_list_view_as_json_and_stops(served):
    base, store = served
    name = serve.database_name(store)
    rows = _json(f"{base}/{name}/finding_list.json?_shape=array&rule_id=door.side")
    assert len(rows) == 2 and rows[0]["searcher"] == "Dallas TX PD" and rows[0]["citation"]
    assert rows[0]["beneficiary"] == "U.S. Immigration and Customs Enforcement (ICE)"


def test_serve_serves_the_canned_queries_and_descriptions(served):
    base, store = served
    name = serve.database_name(store)
    rows = _json(f"{base}/{name}/immigration_by_searcher.json?_shape=array")
    assert rows == [{"searcher": "Dallas TX PD", "state": "TX", "level": "local", "kind": "police",
                     "immigration_related": 2, "searches": 3, "for_another_agency": 2}]
    page = urllib.request.urlopen(f"{base}/{name}/finding_list", timeout=10).read().decode()
    assert "Every finding of the last audit run" in page


def test_serve_is_read_only(served):
    base, store = served
    name = serve.database_name(store)
    request = urllib.request.Request(f"{base}/{name}/-/query.json?sql=" + urllib.parse.quote("DELETE FROM findings"))
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(request, timeout=10)
    import sqlite3

    assert sqlite3.connect(store).execute("SELECT COUNT(*) FROM findings").fetchone()[0] > 0
