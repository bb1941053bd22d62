"""Property: whatever number or date a user gives, a command exits 0 or 2 and never with a traceback.

Edge values (NaN, infinities, 64-bit limits and past them, tiny and huge floats, malformed text) go
to every numeric option of `audit` and `simulate` and to every numeric field and date of a
scenario. Simulations are kept tiny: the machine is told it has a few megabytes of disk and a few
hundred of memory, so any value that passes validation either runs in a blink or is refused by the
size estimate, which is itself part of the code under test.
"""
from __future__ import annotations

import collections
import math
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings, strategies as st

from auditor.cli import audit
from conftest import REPO, build_store
from simulator import budget
from simulator.cli import simulate

TINY = (REPO / "tests" / "fixtures" / "sim_tiny.toml").read_text()
EDGE_TEXT = ["0", "-0", "1", "-1", "nan", "-nan", "inf", "-inf", "1e308", "1e309", "-1e308", "5e-324", "1e-300",
             str(2**63 - 1), str(2**63), str(2**64), str(-(2**63) - 1), "9" * 400, "1_000", "0x10", "", " 7 ",
             "3.5", "1e3", "seven", "\x1b[2J"]
NUMBERS = st.one_of(
    st.sampled_from(EDGE_TEXT),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
FAST = settings(max_examples=12, deadline=None, database=None,  # no .hypothesis folder in the checkout
                suppress_health_check=[HealthCheck.function_scoped_fixture])
# Runs that may simulate (a second or less each) get fewer examples.
SIMULATING = settings(FAST, max_examples=8)


def toml_number(text: str) -> str:
    """The same edge value written as TOML (which spells inf and nan in lower case)."""
    try:
        value = float(text)
    except ValueError:
        return text or '""'
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return text if text.lstrip("-").isdigit() else repr(value)


def assert_clean_exit(result) -> None:
    assert result.exit_code in (0, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("prop") / "store.db"
    build_store(path, agencies=[{"name": "El Cajon CA PD", "state": "CA"}, {"name": "Dallas TX PD", "state": "TX"}],
                shares=[{"owner": "El Cajon CA PD", "scope": "national"}],
                searches=[{"searcher": "Dallas TX PD", "owners": ["El Cajon CA PD"], "reason": "ICE hold",
                           "plate": "ABC123", "user": "J Smith", "networks": 900, "repeat": 3},
                          {"searcher": "Dallas TX PD", "owners": ["El Cajon CA PD"], "reason": "inv"}]).conn.close()
    assert CliRunner().invoke(audit, ["run", "--db", str(path)]).exit_code == 0
    return path


@pytest.fixture
def small_machine(monkeypatch):
    """A machine with 3 MB of free disk and 300 MB of memory, as far as the size estimate knows."""
    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(budget.shutil, "disk_usage", lambda _path: usage(3 * 2**20, 0, 3 * 2**20))
    monkeypatch.setattr(budget, "available_memory", lambda: 300.0 * 2**20)


@FAST
@given(value=NUMBERS, option=st.sampled_from(["--mass-networks", "--relay-days"]))
def test_audit_run_options(store, value, option):
    assert_clean_exit(CliRunner().invoke(audit, ["run", "--db", str(store), option, value]))


@FAST
@given(value=NUMBERS)
def test_audit_explain_search_id(store, value):
    assert_clean_exit(CliRunner().invoke(audit, ["explain", "--db", str(store), "--", value]))


@FAST
@given(value=NUMBERS)
def test_audit_report_examples(store, tmp_path, value):
    assert_clean_exit(CliRunner().invoke(audit, ["report", "--db", str(store), "--out", "-", "--format", "json",
                                                 "--examples", value]))


@FAST
@given(value=NUMBERS, option=st.sampled_from(["--scale", "--seed"]))
def test_simulate_options(small_machine, tmp_path, value, option):
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(TINY)
    args = ["--scenario", str(scenario), "--out", str(tmp_path / "sim.db"), "--overwrite", "--scale", "0.01",
            option, value]
    assert_clean_exit(CliRunner().invoke(simulate, args))


@SIMULATING
@given(value=NUMBERS, option=st.sampled_from(["--items", "--scale", "--seed"]))
def test_simulate_exercise_options(small_machine, tmp_path, value, option):
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(TINY)
    args = ["exercise", "--scenario", str(scenario), "--out", str(tmp_path / "ex"), "--overwrite",
            "--scale", "0.05", "--items", "3", option, value]
    assert_clean_exit(CliRunner().invoke(simulate, args))


# Every number of the tiny scenario, by the text that sets it (first occurrence).
SCENARIO_FIELDS = ["lat = 37.0", "lon = -120.0", "CA = 3", "fixed = 6", "mobile = 1", "reads_per_day = 300",
                   "residents = 500", "searches_per_year = 1200", "vague_rate = 0.2", "rate = 0.5",
                   "commuter = 0.5", "stolen_vehicle = 0.6", "lookup = 0.8"]
DATES = st.sampled_from(["0001-01-01", "1969-12-31", "1970-01-01", "2025-02-29", "2199-12-31", "2200-01-01",
                         "9999-12-31", "2025-03-01", "2024-02-29"])


@SIMULATING
@given(value=NUMBERS, field=st.sampled_from(SCENARIO_FIELDS))
def test_scenario_numbers(small_machine, tmp_path, value, field):
    assert field in TINY
    key = field.split(" = ")[0]
    scenario = tmp_path / "edge.toml"
    scenario.write_text(TINY.replace(field, f"{key} = {toml_number(value)}", 1))
    result = CliRunner().invoke(simulate, ["--scenario", str(scenario), "--out", str(tmp_path / "s.db"),
                                           "--overwrite", "--scale", "0.05"])
    assert_clean_exit(result)


@SIMULATING
@given(start=DATES, end=DATES)
def test_scenario_dates(small_machine, tmp_path, start, end):
    scenario = tmp_path / "dates.toml"
    scenario.write_text(TINY.replace("start = 2025-03-01", f"start = {start}").replace("end = 2025-03-31", f"end = {end}"))
    result = CliRunner().invoke(simulate, ["--scenario", str(scenario), "--out", str(tmp_path / "s.db"),
                                           "--overwrite", "--scale", "0.02"])
    assert_clean_exit(result)
