"""Shared test fixtures: small stores built from readable descriptions of agencies and searches."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import pytest

from auditor.schema import create_indexes, ensure_agency, ensure_reason, open_store

REPO = Path(__file__).resolve().parent.parent
# The classic 13-column Flock Network/Organization Audit header (../shared/realdata/README.md).
FLOCK_HEADER = ["ID", "Name", "Org Name", "Total Networks Searched", "Time Frame", "License Plate", "Reason",
                "Case #", "Filters", "Search Time", "Search Type", "Text Prompt", "Moderation"]
REALDATA = REPO.parent / "shared" / "realdata"


def realdata(*parts: str) -> Path:
    """A path under ../shared/realdata, skipping the test when the release is not there."""
    path = REALDATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not available: {path}")
    return path


def write_flock_csv(path: Path, rows: list[list[str]]) -> Path:
    """A Flock export as the vendor writes it: classic header, CRLF records (LF inside Time Frame)."""
    import csv

    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(FLOCK_HEADER)
        writer.writerows(rows)
    return path


def build_store(
    path: Path,
    *,
    agencies: Iterable[dict[str, Any]] = (),
    shares: Iterable[dict[str, Any]] = (),
    searches: Iterable[dict[str, Any]] = (),
    disclosures: Iterable[dict[str, Any]] = (),
    releases: Iterable[dict[str, Any]] = (),
):
    """Write a store from plain dicts.

    agencies: {name, state, level, kind, dhs_component, is_287g}; given attributes are kept by the
    resolver (resolved_by='override'). Agencies only named in shares/searches are left unresolved.
    shares: {owner, grantee?, scope, release?}. searches: {searcher, owners: [..], reason, user, plate,
    case_number, time, networks, system, query_type, redacted, repeat, seen_in: [release file names],
    truth: {purpose, beneficiary?, disguised?, misuse_kind?}} (truth makes it a simulated store).
    releases: {file_name, producer, audit_kind, rows_read, checks: [{kind, detail}]}. disclosures: {agency, year,
    status, investigations, confirmed, pending, <outcome>, filed_on} (misuse disclosures, system clets).
    """
    db = open_store(path, create=True)
    cache: dict[str, int] = {}
    release_ids: dict[str, int] = {}
    for r in releases:
        release_ids[r["file_name"]] = db["releases"].insert({
            "file_name": r["file_name"], "sha256": r.get("sha256", r["file_name"]), "format": r.get("format", "flock_audit"),
            "producer_id": ensure_agency(db, r["producer"], cache) if r.get("producer") else None,
            "audit_kind": r.get("audit_kind", "network"), "rows_read": r.get("rows_read", 0),
            "rows_imported": r.get("rows_read", 0), "rows_rejected": 0, "status": "complete",
        }).last_pk
        for c in r.get("checks", []):
            db["release_checks"].insert({"release_id": release_ids[r["file_name"]], "kind": c["kind"],
                                         "detail": c.get("detail", "")})
    for a in agencies:
        agency_id = ensure_agency(db, a["name"], cache)
        db["agencies"].update(agency_id, {
            "state": a.get("state"), "level": a.get("level", "local"), "kind": a.get("kind", "police"),
            "dhs_component": a.get("dhs_component"), "is_287g": a.get("is_287g"),
            "resolved_by": "override", "confidence": 1.0,
        })
    for sh in shares:
        db["shares"].insert({
            "owner_id": ensure_agency(db, sh["owner"], cache),
            "grantee_id": ensure_agency(db, sh["grantee"], cache) if sh.get("grantee") else None,
            "scope": sh.get("scope", "direct"), "source": "release" if sh.get("release") else "test",
            "release_id": release_ids[sh["release"]] if sh.get("release") else None,
        })
    reasons: dict[str, int] = {}
    n = 0
    for s in searches:
        for _ in range(s.get("repeat", 1)):
            n += 1
            reason = s.get("reason")
            search_id = db.execute(
                """INSERT INTO searches (uuid, time, searcher_id, user, reason_id, case_number, plate,
                   search_type, networks, system, query_type, redacted)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                [s.get("uuid"), s.get("time", f"2025-03-01T12:{n // 60 % 60:02d}:{n % 60:02d}Z"),
                 ensure_agency(db, s.get("searcher", "Test CA PD"), cache), s.get("user"),
                 ensure_reason(db, reason, reasons) if reason else None, s.get("case_number"),
                 s.get("plate"), s.get("search_type", "search"), s.get("networks", 1),
                 s.get("system", "alpr"), s.get("query_type"), s.get("redacted")],
            ).lastrowid
            if s.get("truth"):
                t = s["truth"]
                db.execute(
                    "INSERT INTO truth (search_id, purpose, beneficiary_id, disguised, misuse_kind, narrative) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    [search_id, t.get("purpose"), ensure_agency(db, t.get("beneficiary") or s.get("searcher", "Test CA PD"), cache),
                     int(t.get("disguised", False)), t.get("misuse_kind"), t.get("narrative", "test")])
            for owner in s.get("owners", []):
                db.execute("INSERT INTO search_owners (search_id, owner_id) VALUES (?, ?)",
                           [search_id, ensure_agency(db, owner, cache)])
            for k, file_name in enumerate(s.get("seen_in", [])):  # sightings: one row per release named
                row = db.execute("SELECT coalesce(max(row_number), 1) + 1 FROM sightings WHERE release_id = ?",
                                 [release_ids[file_name]]).fetchone()[0]
                db.execute("INSERT INTO sightings (search_id, release_id, row_number, link_basis) VALUES (?, ?, ?, ?)",
                           [search_id, release_ids[file_name], row, "new" if k == 0 else "uuid"])
    for d in disclosures:
        filed = d.get("status", "filed") != "not_filed"
        db["disclosures"].insert({
            "agency_id": ensure_agency(db, d["agency"], cache), "system": d.get("system", "clets"),
            "year": d["year"], "status": d.get("status", "filed"), "filed_on": d.get("filed_on"), "source": "test",
            **{k: d.get(k, 0) if filed else None for k in (
                "investigations", "confirmed", "pending", "resigned_fired", "misdemeanor", "felony", "no_action",
                "counseling", "other")},
        })
    create_indexes(db)
    db.conn.commit()
    return db


@pytest.fixture
def store_builder(tmp_path):
    counter = iter(range(10_000))

    def make(**kwargs):
        return build_store(tmp_path / f"store{next(counter)}.db", **kwargs)

    return make
