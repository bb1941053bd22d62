"""One benchmark per phase of the audit: import, tag, trace, rules (the whole run) and aggregate.

Run with ``python -m pytest benchmarks --benchmark-enable`` (the project's pytest options disable
benchmarks by default). Each benchmark also checks what the phase produced, so a phase that silently
does nothing cannot look fast.
"""
from __future__ import annotations

from pathlib import Path

from auditor.graph import build_graph, load_agencies
from auditor.importers import import_files
from auditor.measures import MEASURES
from auditor.rules import load_rules
from auditor.scan import FROM_SQL, KEY_SQL, RunParams, _write_traces, reason_classes, run_audit, tag_reasons
from auditor.schema import open_store
from auditor.trace import infer_beneficiaries
from benchmarks.conftest import SEARCHES


def test_import(benchmark, network_audit: Path, tmp_path: Path) -> None:
    stores = iter(range(100))

    def fresh_store():
        return (open_store(tmp_path / f"import-{next(stores)}.db", create=True),), {}

    def load(db):
        return import_files(db, [network_audit])

    accounts = benchmark.pedantic(load, setup=fresh_store, rounds=1, iterations=1)
    assert accounts[0].rows_imported == SEARCHES and accounts[0].rows_rejected == 0


def test_tag(benchmark, store) -> None:
    def tag():
        sets = tag_reasons(store)
        return sets, reason_classes(store, sets)

    tag_sets, classes = benchmark.pedantic(tag, rounds=3, iterations=1)
    assert len(tag_sets) == store.execute("SELECT COUNT(*) FROM reasons").fetchone()[0]
    assert len(classes) < len(tag_sets) / 10  # reasons collapse into far fewer tag classes


def test_trace(benchmark, store) -> None:
    params = RunParams()
    reason_classes(store, tag_reasons(store))  # the trace's GROUP BY joins the temp reason classes
    store.execute("DELETE FROM findings")  # findings point at traces; run_audit clears them first too

    def trace():
        infer_beneficiaries(store, relay_days=params.relay_days)
        agencies = load_agencies(store)
        graph = build_graph(store, agencies)
        combos = store.execute(f"SELECT {KEY_SQL}, COUNT(*) {FROM_SQL} GROUP BY 1,2,3,4,5,6,7,8,9,10",
                               {"mass": params.mass_networks}).fetchall()
        return combos, _write_traces(store, graph, agencies, {c[:4] for c in combos})

    combos, traces = benchmark.pedantic(trace, rounds=3, iterations=1)
    assert sum(c[-1] for c in combos) == SEARCHES
    assert traces and len(traces) == store.execute("SELECT COUNT(*) FROM traces").fetchone()[0]


def test_rules_full_run(benchmark, store) -> None:
    summary = benchmark.pedantic(lambda: run_audit(store), rounds=1, iterations=1)
    assert summary.searches == SEARCHES
    assert summary.findings_by_rule["ca.sb34.sharing"]["searches"] > 0  # out-of-state searchers of a CA owner


def test_aggregate(benchmark, store) -> None:
    aggregate_rules = [r for r in load_rules() if r.scope == "aggregate"]

    def measure_all():
        return {r.id: list(MEASURES[r.measure](store, r.params)) for r in aggregate_rules}

    candidates = benchmark.pedantic(measure_all, rounds=3, iterations=1)
    assert set(candidates) == {r.id for r in aggregate_rules}
    assert any(candidates.values())
