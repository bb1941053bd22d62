"""Progress on long work: stages, counts, rate and time left on standard error, never on standard output."""
from __future__ import annotations

import io
import json
import sys
from pathlib import Path

from click.testing import CliRunner
from conftest import write_flock_csv

from auditor.cli import audit
from auditor.cli.progress import Meter
from auditor.importers import ImportOptions, import_files
from auditor.progress import estimate_total
from auditor.scan import run_audit
from auditor.schema import open_store

FIXTURES = Path(__file__).parent / "fixtures" / "releases"
EL_CAJON = FIXTURES / "12_1_2025-12_31_2025-El_Cajon_CA_PD-Network-Audit.csv"
SHARING = FIXTURES / "El_Cajon_CA_PD-Sharing-List.csv"
RUN_STAGES = ["resolving agencies", "tagging distinct reasons", "inferring beneficiaries", "keying searches",
              "tracing and judging distinct keys", "choosing example rows", "applying aggregate rules",
              "summarizing", "creating views"]


def invoke(*args: object):
    return CliRunner().invoke(audit, [str(a) for a in args], catch_exceptions=False)


def network_audit(path: Path, n: int) -> Path:
    """A Network Audit of ``n`` searches by agencies in three states, as Flock writes it."""
    orgs = ["Raleigh NC PD", "Dallas TX PD", "Escondido CA PD"]
    rows = []
    for i in range(n):
        when = f"12/{1 + i % 28:02d}/2025, 0{1 + i % 9}:28:52 PM UTC"
        rows.append([f"7f1c2d3e-0000-4000-8000-{i:012d}", "***", orgs[i % 3], "5738.0",
                     "12/01/2025, 05:28:52 PM UTC\n" + when, "", ["ICE", "stolen vehicle", "25-0113 burglary"][i % 3],
                     "", "", when, "search", "", ""])
    return write_flock_csv(path, rows)


# --- the command line ---------------------------------------------------------------------------------

def test_forced_progress_shows_each_import_stage_with_its_rows_on_stderr_only(tmp_path):
    plain = invoke("import", "--db", tmp_path / "a.db", EL_CAJON, SHARING)
    shown = invoke("import", "--db", tmp_path / "b.db", "--progress", EL_CAJON, SHARING)
    assert plain.exit_code == shown.exit_code == 0
    assert shown.stdout == plain.stdout  # standard output is the same bytes with or without progress
    lines = shown.stderr.splitlines()
    assert lines, "no progress drawn"
    assert f"importing rows of {EL_CAJON.name}: 6 / 6 (100%)" in shown.stderr  # 6 rows read, the whole file
    assert f"indexing {EL_CAJON.name}" in shown.stderr
    assert f"importing rows of {SHARING.name}" in shown.stderr
    assert "importing" not in shown.stdout


def test_forced_progress_shows_every_run_stage_with_counts(tmp_path):
    invoke("import", "--db", tmp_path / "s.db", EL_CAJON, SHARING)
    plain = invoke("run", "--db", tmp_path / "s.db")
    shown = invoke("run", "--db", tmp_path / "s.db", "--progress")
    assert plain.exit_code == shown.exit_code == 0
    stages = [line.split(":")[0] for line in shown.stderr.splitlines()]
    assert [s for s in dict.fromkeys(stages)] == RUN_STAGES  # every stage, in the order the run takes them
    assert "keying searches: 3 / 3 (100%)" in shown.stderr  # the store's 3 searches
    assert "tagging distinct reasons: 3 / 3 (100%)" in shown.stderr
    # The summary is the same text (only the run's number and seconds differ).
    first = lambda out: [l for l in out.splitlines() if not l.startswith("Run ")]  # noqa: E731
    assert first(shown.stdout) == first(plain.stdout) and first(plain.stdout)


def test_no_terminal_and_no_flag_draws_nothing(tmp_path):
    # CliRunner's standard error is not a terminal: the default is quiet.
    imported = invoke("import", "--db", tmp_path / "s.db", EL_CAJON)
    run = invoke("run", "--db", tmp_path / "s.db")
    assert imported.exit_code == run.exit_code == 0
    assert imported.stderr == "" and run.stderr == ""
    assert "elapsed" not in imported.stdout + run.stdout and "Audited 3 searches" in run.stdout


def test_json_is_unchanged_by_progress_and_quiet_by_default(tmp_path):
    plain = invoke("import", "--db", tmp_path / "a.db", "--json", EL_CAJON)
    shown = invoke("import", "--db", tmp_path / "b.db", "--json", "--progress", EL_CAJON)
    assert plain.stderr == "" and "importing rows of" in shown.stderr
    assert shown.stdout == plain.stdout and json.loads(plain.stdout)["totals"]["rows_read"] == 6
    run = invoke("run", "--db", tmp_path / "a.db", "--json")
    assert run.stderr == "" and json.loads(run.stdout)["searches"] == 3


def test_no_progress_wins_over_a_terminal(tmp_path, monkeypatch):
    import auditor.cli.progress as cli_progress
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stderr", Terminal())
    assert cli_progress.meter_for(None) is not None  # a terminal: drawn
    assert cli_progress.meter_for(None, quiet=True) is None  # --json on a terminal: quiet
    assert cli_progress.meter_for(False) is None  # --no-progress
    assert cli_progress.meter_for(True, quiet=True) is not None  # --progress with --json: drawn on stderr


# --- the meter -----------------------------------------------------------------------------------------

def test_meter_shows_rate_and_time_left_from_the_total():
    clock = [0.0]
    out = io.StringIO()
    meter = Meter(out, now=lambda: clock[0])
    meter("importing rows of big.csv", 0, None)
    clock[0] = 2.0
    meter("importing rows of big.csv", 200_000, 1_000_000)
    assert out.getvalue().splitlines()[-1] == (
        "importing rows of big.csv: 200,000 / 1,000,000 (20%), 100,000/s, 0:08 left, 0:02 elapsed")


def test_meter_gives_no_estimate_without_a_total_and_finishes_a_stage_when_the_next_starts():
    clock = [0.0]
    out = io.StringIO()
    with Meter(out, now=lambda: clock[0]) as meter:
        meter("choosing example rows", 0, None)
        clock[0] = 3.0
        meter("summarizing", 0, None)
    lines = out.getvalue().splitlines()
    assert lines == ["choosing example rows: 0:00 elapsed", "choosing example rows: 0:03 elapsed",
                     "summarizing: 0:00 elapsed"]
    assert not any("left" in line for line in lines)


def test_meter_redraws_one_line_in_place_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    clock = [0.0]
    out = Terminal()
    with Meter(out, now=lambda: clock[0]) as meter:
        meter("keying searches", 0, 100_000)
        for done in (25_000, 50_000, 75_000):
            clock[0] += 1.0
            meter("keying searches", done, 100_000)
    text = out.getvalue()
    assert text.count("\r\x1b[K") >= 3 and text.count("\n") == 1  # one finished line for the stage
    assert "keying searches: 75,000 / 100,000 (75%), 25,000/s, 0:01 left" in text


def test_meter_keeps_log_values_in_stage_names_harmless():
    out = io.StringIO()
    Meter(out)("importing rows of evil\x1b[2J.csv", 1, None)
    assert "\x1b" not in out.getvalue()


def test_estimated_rows_come_from_bytes_read_and_are_exact_at_the_end():
    assert estimate_total(0, 0, 1000) is None
    assert estimate_total(250, 400, 1000) == 625
    assert estimate_total(600, 1000, 1000) == 600


# --- the library: batch boundaries, and the columnar child's progress over its pipe -----------------------

def test_the_fast_path_in_its_child_process_reports_rows_over_the_pipe(tmp_path):
    path = network_audit(tmp_path / "12_1_2025-12_31_2025-El_Cajon_CA_PD-Network-Audit.csv", 300)
    calls: list[tuple] = []
    db = open_store(tmp_path / "s.db", create=True)
    [account] = import_files(db, [path], ImportOptions(fast=True), progress=lambda *c: calls.append(c))
    assert "read by the columnar fast path" in account.notes and account.rows_read == 300
    reads = [c for c in calls if c[0] == f"importing rows of {path.name}"]
    assert reads[0] == (f"importing rows of {path.name}", 0, None)  # the stage starts before its first batch
    assert reads[-1] == (f"importing rows of {path.name}", 300, 300)  # the whole file: the estimate is exact
    assert calls[-1] == (f"indexing {path.name}", 0, None)


def test_the_careful_path_reports_rows_per_batch(tmp_path):
    path = network_audit(tmp_path / "12_1_2025-12_31_2025-El_Cajon_CA_PD-Network-Audit.csv", 60_000)
    calls: list[tuple] = []
    db = open_store(tmp_path / "s.db", create=True)
    [account] = import_files(db, [path], ImportOptions(careful=True), progress=lambda *c: calls.append(c))
    reads = [c[1:] for c in calls if c[0].startswith("importing rows of")]
    assert account.rows_read == 60_000
    assert [done for done, _ in reads] == [0, 25_000, 50_000, 60_000]  # one call per batch of 25,000, not per row
    assert all(total is not None and total >= done for done, total in reads[1:]) and reads[-1] == (60_000, 60_000)


def test_the_key_pass_in_its_child_process_reports_searches_over_the_pipe(tmp_path, monkeypatch):
    from auditor import scan

    db = open_store(tmp_path / "s.db", create=True)
    import_files(db, [EL_CAJON, SHARING])
    monkeypatch.setattr(scan, "LOCAL_KEY_PASS_MAX", -1)  # the child process, as for a large store
    calls: list[tuple] = []
    run_audit(db, progress=lambda *c: calls.append(c))
    keying = [c[1:] for c in calls if c[0] == "keying searches"]
    assert keying[0] == (0, 3) and keying[-1] == (3, 3)


def test_meter_shortens_a_long_file_name_to_keep_the_counts_on_one_terminal_line():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    clock = [0.0]
    out = Terminal()
    meter = Meter(out, now=lambda: clock[0])
    meter.width = 60
    meter("importing rows of 1_1_2025-12_31_2025-El_Cajon_CA_PD-Network-Audit.csv", 0, 400)
    clock[0] = 1.0
    meter("importing rows of 1_1_2025-12_31_2025-El_Cajon_CA_PD-Network-Audit.csv", 100, 400)
    last = out.getvalue().split("\r\x1b[K")[-1]
    assert len(last) < 60 and last.startswith("importing") and "…" in last
    assert last.endswith(": 100 / 400 (25%), 100/s, 0:03 left, 0:01 elapsed")
