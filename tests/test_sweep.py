"""`simulate sweep`: scenario parameters varied, each point simulated, audited and scored."""
from __future__ import annotations

import csv

import pytest
from click.testing import CliRunner

from auditor.errors import InputError
from simulator.cli import simulate
from simulator.generate import simulate as run_scenario
from simulator.scenario import load_scenario
from simulator.sweep import PARAMETERS, parse_range


def test_a_range_gives_evenly_spaced_points_and_a_list_gives_its_values():
    assert parse_range("disguise=0:0.9:10") == ("disguise", [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
    assert parse_range("national=0,1") == ("national", [0.0, 1.0])
    for bad in ("disguise=0:2:3", "speed=0:1:3", "disguise", "disguise=a:b:3", "disguise=0:1:1"):
        with pytest.raises(InputError):
            parse_range(bad)


def test_parameters_change_the_scenario_as_named():
    el_cajon = load_scenario("el_cajon")
    disguised = PARAMETERS["disguise"].apply(el_cajon, 0.8)
    assert [b.proxy.disguise_rate for b in disguised.behaviour if b.proxy] == [0.8] * 7
    assert not any(s["scope"] == "national" for s in PARAMETERS["national"].apply(el_cajon, 0).shares)
    assert any(s["scope"] == "national" for s in PARAMETERS["national"].apply(el_cajon, 1).shares)
    assert {b.case_number_rate for b in PARAMETERS["case_number"].apply(el_cajon, 1).behaviour} == {1.0}


def test_a_requester_field_names_who_asked_in_the_log(tmp_path):
    scenario = PARAMETERS["requester_field"].apply(load_scenario("el_cajon"), 1.0)
    path = tmp_path / "ec.db"
    run_scenario(scenario, path, seed=2, scale=0.05)
    import sqlite3

    rows = sqlite3.connect(path).execute(
        """SELECT r.text, t.disguised FROM searches s JOIN truth t ON t.search_id = s.id JOIN reasons r ON r.id = s.reason_id
           WHERE t.beneficiary_id != s.searcher_id AND t.narrative LIKE '%requester field%'""").fetchall()
    assert rows and all(" | requested by " in text and not disguised for text, disguised in rows)
    # Only the reasons it names change: the world's draws (how many searches, for what) stay the same.
    plain = tmp_path / "plain.db"
    run_scenario(load_scenario("el_cajon"), plain, seed=2, scale=0.05)
    purposes = "SELECT purpose, COUNT(*) FROM truth GROUP BY 1 ORDER BY 1"
    assert sqlite3.connect(path).execute(purposes).fetchall() == sqlite3.connect(plain).execute(purposes).fetchall()


def test_sweep_writes_a_csv_and_a_chart_with_axes_and_legend(tmp_path):
    result = CliRunner().invoke(simulate, ["sweep", "--scenario", "el_cajon", "--vary", "disguise=0,0.9",
                                           "--scale", "0.03", "--jobs", "1", "--out", str(tmp_path / "s")])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(open(tmp_path / "s" / "sweep.csv")))
    inference = {float(r["disguise"]): float(r["recall"]) for r in rows if r["measure"] == "immigration inference"}
    assert sorted(inference) == [0.0, 0.9]
    assert inference[0.9] < inference[0.0]  # hiding more reasons costs the audit recall
    assert {"door.side", "immigration.mass_search"} <= {r["measure"] for r in rows}
    svg = (tmp_path / "s" / "sweep.svg").read_text()
    assert svg.startswith("<svg xmlns=") and "disguise: share of proxy and misuse" in svg
    assert "solid line = recall" in svg and svg.count("<polyline") >= 4
