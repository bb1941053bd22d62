"""The benchmark file generator: a small synthetic Network Audit the importer reads back whole."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from auditor.importers import import_files
from auditor.purpose import default_classifier
from auditor.schema import open_store
from simulator.bulk import FILE_NAME, reason_pools, write_network_audit

ROWS = 2_000


@pytest.fixture(scope="module")
def audit_file(tmp_path_factory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("bulk")
    counts = write_network_audit(folder, ROWS, seed=3)
    return Path(counts["path"]), counts


@pytest.fixture(scope="module")
def store(audit_file, tmp_path_factory):
    path, _counts = audit_file
    db = open_store(tmp_path_factory.mktemp("store") / "bulk.db", create=True)
    accounts = import_files(db, [path])
    return db, accounts


def test_file_takes_flock_name_so_the_importer_finds_the_owner(audit_file, store):
    path, _counts = audit_file
    db, accounts = store
    assert path.name == FILE_NAME
    assert accounts[0].producer == "El Cajon CA PD"
    assert accounts[0].audit_kind == "network"


def test_every_row_is_imported_and_the_account_balances(audit_file, store):
    _path, counts = audit_file
    db, accounts = store
    assert counts["rows"] == ROWS
    assert (accounts[0].rows_read, accounts[0].rows_imported, accounts[0].rows_rejected) == (ROWS, ROWS, 0)
    assert db.execute("SELECT COUNT(*) FROM searches").fetchone()[0] == ROWS


def test_reported_distinct_reasons_match_the_store(audit_file, store):
    _path, counts = audit_file
    db, _accounts = store
    assert db.execute("SELECT COUNT(*) FROM reasons").fetchone()[0] == counts["distinct_reasons"]


def test_investigation_is_the_most_common_reason(store):
    db, _accounts = store
    top = db.execute(
        "SELECT r.text FROM searches s JOIN reasons r ON r.id = s.reason_id "
        "GROUP BY r.text ORDER BY COUNT(*) DESC LIMIT 1").fetchone()[0]
    assert top == "investigation"


def test_about_half_a_percent_of_rows_are_immigration_related(audit_file, store):
    _path, counts = audit_file
    db, _accounts = store
    # 0.5% of 2,000 is 10 rows; allow the binomial spread of a small sample.
    assert 2 <= counts["immigration_rows"] <= 25
    classifier = default_classifier()
    tagged = sum(
        n for text, n in db.execute(
            "SELECT r.text, COUNT(*) FROM searches s JOIN reasons r ON r.id = s.reason_id GROUP BY r.text")
        if {t.tag for t in classifier.classify(text)} & {"immigration", "dhs_beneficiary"})
    # The immigration pool is built to keep its signal, and everyday reasons never gain one.
    assert tagged == counts["immigration_rows"]


def test_same_seed_gives_the_same_file_and_another_seed_does_not(tmp_path):
    def digest(seed: int, name: str) -> str:
        counts = write_network_audit(tmp_path / name, 500, seed=seed)
        return hashlib.sha256(Path(counts["path"]).read_bytes()).hexdigest()

    assert digest(11, "a.csv") == digest(11, "b.csv")
    assert digest(11, "a.csv") != digest(12, "c.csv")


def test_reason_pool_holds_twenty_thousand_texts_with_the_traps():
    everyday, immigration = reason_pools(seed=0)
    assert len(everyday) + len(immigration) == 20_000
    assert not set(everyday) & set(immigration)
    for trap in ("ICE SALES", "ICE impersonation", "DHS welfare check", "BP gas drive off", "HSIN bulletin"):
        assert trap in everyday
    for signal in ("ICE", "HSI assist", "imigration", "ICE+ERO", "287(g)"):
        assert signal in immigration
    assert any(text.startswith(("A-0", "A# 0")) for text in immigration)  # A-numbers


def test_traps_are_not_immigration_for_the_classifier_but_look_like_it_to_a_regex():
    import re

    classifier = default_classifier()
    regexes = classifier.patterns_for("immigration") + classifier.patterns_for("dhs_beneficiary")
    for trap in ("ICE impersonation", "ICE SALES"):
        assert any(re.search(r, trap) for r in regexes)  # what a context-free baseline counts
        assert not {t.tag for t in classifier.classify(trap)} & {"immigration", "dhs_beneficiary"}


def test_zero_searches_is_an_input_error(tmp_path):
    from auditor.errors import InputError

    with pytest.raises(InputError):
        write_network_audit(tmp_path, 0)
