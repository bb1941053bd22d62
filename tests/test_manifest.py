"""`audit report` writes a manifest beside the report; `audit verify` says whether it still matches."""
from __future__ import annotations

import json

from click.testing import CliRunner

from auditor.cli import audit
from conftest import write_flock_csv


def _rows():
    return [
        ["c0a8e1f2-0001-4c1e-9a11-000000000001", "Officer A", "Dallas TX PD", "5738.0", "06/01/2025, 12:00:00 AM UTC\n06/08/2025, 09:14:02 AM UTC",
         "ABC1234", "ICE", "", "", "06/08/2025, 09:14:02 AM UTC", "search", "", "allow"],
        ["c0a8e1f2-0001-4c1e-9a11-000000000002", "Officer B", "El Cajon CA PD", "3.0", "06/07/2025, 10:01:44 AM UTC\n06/08/2025, 10:01:44 AM UTC",
         "7XYZ123", "stolen vehicle", "25-01234", "", "06/08/2025, 10:01:44 AM UTC", "search", "", "allow"],
    ]


def _audited(tmp_path):
    releases = tmp_path / "releases"
    releases.mkdir()
    csv = write_flock_csv(releases / "1_1_2025-12_31_2025-El_Cajon_CA_PD-Network-Audit.csv", _rows())
    store = str(tmp_path / "store.db")
    runner = CliRunner()
    imported = runner.invoke(audit, ["import", "--db", store, str(csv)])
    assert imported.exit_code == 0 and "imported 2 + rejected 0" in imported.output, imported.output
    assert runner.invoke(audit, ["run", "--db", store]).exit_code == 0
    report = tmp_path / "report.html"
    result = runner.invoke(audit, ["report", "--db", store, "--out", str(report)])
    assert result.exit_code == 0, result.output
    return store, report, releases, csv


def test_report_writes_a_manifest_of_what_it_read(tmp_path):
    store, report, _releases, csv = _audited(tmp_path)
    manifest = json.loads((tmp_path / "report.html.manifest.json").read_text())
    assert [r["file_name"] for r in manifest["releases"]] == [csv.name]
    import hashlib
    assert manifest["releases"][0]["sha256"] == hashlib.sha256(csv.read_bytes()).hexdigest()
    assert manifest["store"] == {"file": "store.db", "schema_version": "2", "searches": 2}
    assert manifest["ruleset_hash"] and manifest["proxytrace_version"] and manifest["run"]["params"]
    assert manifest["report"]["sha256"] == hashlib.sha256(report.read_bytes()).hexdigest()


def test_verify_passes_on_unchanged_inputs(tmp_path):
    store, report, releases, _csv = _audited(tmp_path)
    result = CliRunner().invoke(audit, ["verify", str(report), "--db", store, "--releases", str(releases)])
    assert result.exit_code == 0 and result.output.startswith("verified:"), result.output


def test_verify_fails_after_a_release_file_changes_by_one_byte(tmp_path):
    store, report, releases, csv = _audited(tmp_path)
    data = bytearray(csv.read_bytes())
    data[data.index(b"ABC1234")] = ord("X")  # one byte of a plate
    csv.write_bytes(bytes(data))
    result = CliRunner().invoke(audit, ["verify", str(report), "--db", store, "--releases", str(releases)])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and result.output.startswith("changed: release file") and csv.name in result.output


def test_verify_fails_when_the_report_or_the_run_changed(tmp_path):
    store, report, _releases, _csv = _audited(tmp_path)
    runner = CliRunner()
    assert runner.invoke(audit, ["run", "--db", store, "--mass-networks", "100"]).exit_code == 0
    result = runner.invoke(audit, ["verify", str(report), "--db", store])
    assert result.exit_code == 1 and "audit run (run 1 -> 2, parameters differ)" in result.output
    report.write_text(report.read_text() + " ")
    result = runner.invoke(audit, ["verify", str(report), "--db", store])
    assert result.exit_code == 1 and result.output.startswith("changed: report file")
