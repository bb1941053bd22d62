"""One benchmark per phase of the audit: import, tag, keys and rules, the whole run, aggregate.

Run with ``python -m pytest benchmarks --benchmark-enable`` (the project's pytest options disable
benchmarks by default). Each benchmark also checks what the phase produced, so a phase that silently
does nothing cannot look fast.
"""
from __future__ import annotations

from pathlib import Path

from auditor.importers import import_files
from auditor.rules.measures import MEASURES
from auditor.rules import load_rules
from auditor.scan import RunParams, _write_rules, key_searches, reason_classes, run_audit, scan_searches, tag_reasons
from auditor.schema import create_schema, open_store
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


def test_keys_and_rules(benchmark, store) -> None:
    params = RunParams()
    rules = load_rules()
    search_rules = [r for r in rules if r.scope == "search"]
    classes = reason_classes(store, tag_reasons(store))
    infer_beneficiaries(store, relay_days=params.relay_days)
    run_id = store.execute("INSERT INTO runs (started_at) VALUES ('bench')").lastrowid

    def keys_and_rules():
        for table in ("finding_groups", "scan_keys", "search_keys"):
            store.execute(f"DROP TABLE IF EXISTS {table}")
        create_schema(store)  # recreates them, as run_audit does
        _write_rules(store, rules)
        keys = key_searches(store, search_rules, classes, params)
        return scan_searches(store, run_id, search_rules, classes, keys)

    per_rule = benchmark.pedantic(keys_and_rules, rounds=3, iterations=1)
    traces = store.execute("SELECT COUNT(*) FROM traces").fetchone()[0]
    assert 0 < traces < SEARCHES  # one trace per distinct path, far fewer than searches
    assert store.execute("SELECT COUNT(*) FROM search_keys").fetchone()[0] >= SEARCHES
    assert per_rule["ca.sb34.sharing"][0] > 0  # (searches, finding rows)


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
