"""Measures over one agency's or officer's searches: vague-reason rates, repeat plates, direct DHS shares.

Each measure is one SQL query over the store (after tagging) that yields candidate findings:
(agency_id, subject, searches, detail). All counts are of de-duplicated searches.
"""
from __future__ import annotations

from typing import Any, Iterator, Mapping

import sqlite_utils

from auditor.rules.measures.candidate import Candidate

# A search "has no meaningful purpose" when its reason is blank, vague or only a case number.
# Redacted reasons are not counted as vague: the release hid them, the officer may not have.
# CASE, not AND/OR: SQLite then reads `redacted` (outside the covering indexes) only for blank reasons.
NO_PURPOSE_SQL = """
    CASE WHEN s.reason_id IS NULL THEN instr(',' || COALESCE(s.redacted, '') || ',', ',reason,') = 0
         ELSE s.reason_id IN (SELECT reason_id FROM reason_tags WHERE tag IN ('vague', 'case_number_only', 'missing'))
    END
"""


def _vague_rate(db: sqlite_utils.Database, group: str, params: Mapping[str, Any]) -> Iterator[Candidate]:
    threshold = float(params.get("threshold", 0.5))
    min_searches = int(params.get("min_searches", 20))
    by_user = group == "user"
    key = "s.searcher_id, s.user" if by_user else "s.searcher_id"
    sql = f"""
        SELECT s.searcher_id, {'s.user' if by_user else 'NULL'}, COUNT(*) AS n,
               SUM(CASE WHEN {NO_PURPOSE_SQL} THEN 1 ELSE 0 END) AS vague
        FROM searches s
        WHERE s.searcher_id IS NOT NULL {'AND s.user IS NOT NULL' if by_user else ''}
        GROUP BY {key}
        HAVING n >= ? AND CAST(vague AS REAL) / n >= ?
    """
    for agency_id, user, n, vague in db.execute(sql, [min_searches, threshold]):
        subject = f"user {user}" if by_user else "agency"
        yield Candidate(agency_id, subject, n,
                        f"{vague} of {n} searches ({vague / n:.0%}) logged no meaningful purpose "
                        f"(threshold {threshold:.0%}, at least {min_searches} searches)")


def vague_rate_by_user(db: sqlite_utils.Database, params: Mapping[str, Any]) -> Iterator[Candidate]:
    return _vague_rate(db, "user", params)


def vague_rate_by_agency(db: sqlite_utils.Database, params: Mapping[str, Any]) -> Iterator[Candidate]:
    return _vague_rate(db, "agency", params)


def repeat_plate_no_case(db: sqlite_utils.Database, params: Mapping[str, Any]) -> Iterator[Candidate]:
    """One user searching one plate again and again without ever logging a case number."""
    min_repeats = int(params.get("min_repeats", 5))
    # Hotlist automation runs as `lookup` searches; a person typing a plate is what matters here.
    sql = """
        SELECT s.searcher_id, s.user, s.plate, COUNT(*) AS n, MIN(s.time), MAX(s.time)
        FROM searches s
        WHERE s.plate IS NOT NULL AND s.user IS NOT NULL AND s.case_number IS NULL
          AND COALESCE(s.search_type, '') != 'lookup'
        GROUP BY s.plate, s.searcher_id, s.user  -- plate first: follows the (plate, ...) index
        HAVING n >= ?
    """
    for agency_id, user, plate, n, first, last in db.execute(sql, [min_repeats]):
        yield Candidate(agency_id, f"user {user} / plate {plate}", n,
                        f"{n} searches of plate {plate} by user {user} with no case number, {first} to {last}")


def dhs_direct_share(db: sqlite_utils.Database, params: Mapping[str, Any]) -> Iterator[Candidate]:
    """Front door at the share level: an owner shares 1:1 with a DHS immigration component."""
    sql = """
        SELECT sh.owner_id, g.name, g.dhs_component, sh.source, sh.release_id,
               (SELECT COUNT(DISTINCT so.search_id) FROM search_owners so JOIN searches s ON s.id = so.search_id
                WHERE so.owner_id = sh.owner_id AND s.searcher_id = sh.grantee_id)
        FROM shares sh JOIN agencies g ON g.id = sh.grantee_id
        WHERE sh.scope = 'direct' AND g.dhs_component IS NOT NULL
    """
    for owner_id, grantee, component, source, release_id, n in db.execute(sql):
        where = f"release {release_id}" if release_id else source
        yield Candidate(owner_id, f"share to {grantee}", n,
                        f"direct share to {grantee} ({component}), from {where}; {n} searches by it seen")
