"""Release-level measures: what the releases themselves show is missing or contradictory.

- `release_incomplete`: a release the import found cut short (`release_checks`: a row limit
  reached, a cut last record, rows rejected past a share or for one reason, rows stopping inside
  the period its file name states).
- `release_period_mismatch`: a release whose rows fall outside the period its file name states.
- `own_log_omissions`: searches by an agency that Network Audits list and its own log omits.
- `release_versions_differ`: two releases of one log for one period that list different searches.
- `sharing_list_unlisted_access` / `sharing_list_partners_unseen`: an owner's sharing list against
  observed access (searchers reaching it through a 1:1 share it does not list; partners it lists
  that never search).

Each measure yields :class:`auditor.rules.measures.candidate.Candidate` rows (agency, subject, searches, detail);
`searches` counts de-duplicated searches.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator, Mapping

import sqlite_utils

from auditor.importers.completeness import period_from_name
from auditor.rules.measures.candidate import Candidate


def release_incomplete(db: sqlite_utils.Database, params: Mapping[str, Any]) -> Iterator[Candidate]:
    """One candidate per completeness check that fired on import, against the release's producer."""
    sql = """
        SELECT r.producer_id, r.file_name, c.kind, c.detail,
               (SELECT COUNT(DISTINCT g.search_id) FROM sightings g WHERE g.release_id = r.id)
        FROM release_checks c JOIN releases r ON r.id = c.release_id
        WHERE r.status = 'complete' AND c.kind {op} 'period_mismatch'
        ORDER BY r.id, c.id
    """
    for producer_id, file_name, kind, detail, n in db.execute(sql.format(op="!=")):
        yield Candidate(producer_id, f"release {file_name} ({kind.replace('_', ' ')})", n, detail)


def release_period_mismatch(db: sqlite_utils.Database, params: Mapping[str, Any]) -> Iterator[Candidate]:
    """One candidate per release whose rows fall mostly outside the period its file name states."""
    sql = """
        SELECT r.producer_id, r.file_name, c.detail,
               (SELECT COUNT(DISTINCT g.search_id) FROM sightings g WHERE g.release_id = r.id)
        FROM release_checks c JOIN releases r ON r.id = c.release_id
        WHERE r.status = 'complete' AND c.kind = 'period_mismatch'
        ORDER BY r.id, c.id
    """
    for producer_id, file_name, detail, n in db.execute(sql):
        yield Candidate(producer_id, f"release {file_name} (period mismatch)", n, detail)


# --- releases that contradict each other ---------------------------------------------------------------

def _names(db: sqlite_utils.Database) -> dict[int, str]:
    return dict(db.execute("SELECT id, name FROM agencies"))


def _rows(db: sqlite_utils.Database, search_ids: list[int], release_ids: list[int], limit: int = 5) -> str:
    """`file.csv row 12, file.csv row 40, ...` for the first searches: where a person finds them."""
    if not search_ids or not release_ids:
        return ""
    marks = ",".join("?" * len(release_ids))
    cites = [f"{f} row {n}" for f, n in db.execute(
        f"""SELECT r.file_name, g.row_number FROM sightings g JOIN releases r ON r.id = g.release_id
            WHERE g.search_id IN ({','.join('?' * len(search_ids[:limit]))}) AND g.release_id IN ({marks})
            GROUP BY g.search_id ORDER BY g.search_id""", [*search_ids[:limit], *release_ids])]
    more = f" and {len(search_ids) - limit} more" if len(search_ids) > limit else ""
    return ", ".join(cites) + more


def own_log_omissions(db: sqlite_utils.Database, params: Mapping[str, Any]) -> Iterator[Candidate]:
    """Searches by an agency that other releases (Network Audits) list but its own-search log omits.

    An agency's Organization Audit lists every search its users ran; each owner's Network Audit lists
    every search that touched the owner's cameras. A search by the agency in a Network Audit, inside
    the time its own log covers, that no row of its own log matches (by UUID, else the fallback key:
    the import linked them) is missing from its own log. The reverse cannot be shown this way: an
    own-search log does not say whose cameras a search touched.
    """
    names = _names(db)
    logs = db.execute(
        """SELECT r.producer_id, group_concat(r.id), group_concat(r.file_name, '; ') FROM releases r
           WHERE r.audit_kind = 'organization' AND r.status = 'complete' AND r.producer_id IS NOT NULL
           GROUP BY r.producer_id""").fetchall()
    for agency_id, ids, files in logs:
        own = [int(i) for i in ids.split(",")]
        marks = ",".join("?" * len(own))
        first, last = db.execute(
            f"""SELECT min(s.time), max(s.time) FROM sightings g JOIN searches s ON s.id = g.search_id
                WHERE g.release_id IN ({marks})""", own).fetchone()
        if first is None:
            continue
        # A search without a UUID links across releases only by the fallback key (searcher, second,
        # networks, time frame): unless the own log shows it can match one (a row it added with a time
        # frame, or a row it linked by that key), such searches are left out rather than called omitted.
        framed = db.execute(
            f"""SELECT count(*) FROM sightings g JOIN searches s ON s.id = g.search_id
                WHERE g.release_id IN ({marks})
                  AND (g.link_basis = 'fallback_key' OR (g.link_basis = 'new' AND s.time_frame_start IS NOT NULL))""",
            own).fetchone()[0] > 0
        missing = db.execute(
            f"""SELECT s.id, group_concat(DISTINCT r.id) FROM searches s
                JOIN sightings g ON g.search_id = s.id JOIN releases r ON r.id = g.release_id
                WHERE s.searcher_id = ? AND r.audit_kind = 'network' AND r.status = 'complete'
                  AND s.time BETWEEN ? AND ? AND (s.uuid IS NOT NULL OR ?)
                  AND NOT EXISTS (SELECT 1 FROM sightings o WHERE o.search_id = s.id AND o.release_id IN ({marks}))
                GROUP BY s.id ORDER BY s.time, s.id""", [agency_id, first, last, framed, *own]).fetchall()
        if not missing:
            continue
        search_ids = [sid for sid, _ in missing]
        sources = sorted({int(r) for _, rs in missing for r in rs.split(",")})
        by_owner = db.execute(
            f"""SELECT r.producer_id, count(DISTINCT g.search_id) FROM sightings g JOIN releases r ON r.id = g.release_id
                WHERE g.release_id IN ({','.join('?' * len(sources))}) AND g.search_id IN (SELECT value FROM json_each(?))
                GROUP BY r.producer_id ORDER BY 2 DESC""", [*sources, json.dumps(search_ids)]).fetchall()
        owners = ", ".join(f"{names.get(o, '(owner not named)')} ({n})" for o, n in by_owner[:5])
        yield Candidate(agency_id, "own-search log omits searches other releases list", len(search_ids),
                        f"{len(search_ids)} searches by {names.get(agency_id)} between {first} and {last} are in "
                        f"the Network Audits of {owners} but not in its own log ({files}): "
                        f"{_rows(db, search_ids, sources)}")


def _period(db: sqlite_utils.Database, release_id: int, file_name: str) -> tuple[str, str] | None:
    """The period a release covers: the one its file name states, else its first and last day."""
    stem = Path(file_name.split(" [sheet ")[0]).stem
    stated = period_from_name(stem)
    if stated:
        return stated[0].isoformat(), stated[1].isoformat()
    first, last = db.execute(
        "SELECT min(s.time), max(s.time) FROM sightings g JOIN searches s ON s.id = g.search_id WHERE g.release_id = ?",
        [release_id]).fetchone()
    return (first[:10], last[:10]) if first else None


def release_versions_differ(db: sqlite_utils.Database, params: Mapping[str, Any]) -> Iterator[Candidate]:
    """Two releases of one log (same producer and kind) for the same period that list different searches."""
    releases = db.execute(
        """SELECT id, producer_id, audit_kind, file_name FROM releases
           WHERE status = 'complete' AND producer_id IS NOT NULL AND audit_kind IN ('network', 'organization')
           ORDER BY id""").fetchall()
    groups: dict[tuple, list[tuple[int, str]]] = {}
    for rid, producer, kind, file_name in releases:
        period = _period(db, rid, file_name)
        if period:
            groups.setdefault((producer, kind, period), []).append((rid, file_name))
    names = _names(db)
    for (producer, kind, period), members in groups.items():
        for i, (a, fa) in enumerate(members):
            for b, fb in members[i + 1:]:
                only_a = [r[0] for r in db.execute(
                    "SELECT search_id FROM sightings WHERE release_id = ? EXCEPT "
                    "SELECT search_id FROM sightings WHERE release_id = ? ORDER BY 1", [a, b])]
                only_b = [r[0] for r in db.execute(
                    "SELECT search_id FROM sightings WHERE release_id = ? EXCEPT "
                    "SELECT search_id FROM sightings WHERE release_id = ? ORDER BY 1", [b, a])]
                if not only_a and not only_b:
                    continue
                what = "Network Audit" if kind == "network" else "own-search log"
                parts = []
                if only_a:
                    parts.append(f"{len(only_a)} searches only in {fa} ({_rows(db, only_a, [a])})")
                if only_b:
                    parts.append(f"{len(only_b)} searches only in {fb} ({_rows(db, only_b, [b])})")
                yield Candidate(producer, f"releases {fa} and {fb}", len(only_a) + len(only_b),
                                f"two releases of {names.get(producer)}'s {what} for {period[0]} to {period[1]} "
                                f"differ: " + "; ".join(parts))
    yield from _field_contradictions(db, names)


def _shown(db: sqlite_utils.Database, column: str, value: Any, names: dict[int, str]) -> str:
    if column == "reason_id":
        row = db.execute("SELECT text FROM reasons WHERE id = ?", [value]).fetchone()
        value = row[0] if row else value
    elif column == "searcher_id":
        value = names.get(int(value), value)
    text = str(value)
    return repr(text if len(text) <= 80 else text[:77] + "...")


def _field_contradictions(db: sqlite_utils.Database, names: dict[int, str]) -> Iterator[Candidate]:
    """Two releases that list one search (by UUID) with different values of a field: one candidate
    per pair of releases and field, naming both releases, the field and each side's value and row
    (`search_versions`, written at import; the pair is ordered by file name, so import order is moot)."""
    if not db["search_versions"].exists():
        return
    pairs: dict[tuple[str, str, str], list[tuple[int, str, str]]] = {}
    producer_of: dict[str, int | None] = {}
    rows = db.execute(
        """SELECT a.search_id, a.field, ra.file_name, a.row_number, a.value, rb.file_name, b.row_number, b.value,
                  ra.producer_id, s.uuid
           FROM search_versions a JOIN search_versions b
             ON b.search_id = a.search_id AND b.field = a.field AND b.value IS NOT a.value
           JOIN releases ra ON ra.id = a.release_id JOIN releases rb ON rb.id = b.release_id
           JOIN searches s ON s.id = a.search_id
           WHERE (ra.file_name, a.row_number) < (rb.file_name, b.row_number)
             AND ra.status = 'complete' AND rb.status = 'complete'
           ORDER BY ra.file_name, rb.file_name, a.field, a.search_id""").fetchall()
    for sid, column, fa, na, va, fb, nb, vb, producer, uuid in rows:
        key = (fa, fb, column)
        producer_of.setdefault(fa, producer)
        pairs.setdefault(key, []).append(
            (sid, f"search {uuid or sid}: {_shown(db, column, va, names)} ({fa} row {na}) against "
                  f"{_shown(db, column, vb, names)} ({fb} row {nb})"))
    from auditor.importers.versions import field_name

    for (fa, fb, column), found in pairs.items():
        searches = sorted({sid for sid, _ in found})
        shown = "; ".join(text for _, text in found[:5]) + (f"; and {len(found) - 5} more" if len(found) > 5 else "")
        yield Candidate(producer_of.get(fa), f"releases {fa} and {fb} disagree on {field_name(column)}", len(searches),
                        f"{len(searches)} searches listed by both releases with a different {field_name(column)}: "
                        f"{shown}. Both versions are kept (search_versions); the audit judges each search by all "
                        "of its versions' reasons")


def sharing_list_unlisted_access(db: sqlite_utils.Database, params: Mapping[str, Any]) -> Iterator[Candidate]:
    """Searchers that reached an owner through a 1:1 share another record shows, missing from the
    owner's own sharing list."""
    names = _names(db)
    sql = """
        SELECT sh.owner_id, sh.grantee_id, group_concat(DISTINCT COALESCE(r.file_name, sh.source)),
               (SELECT count(DISTINCT so.search_id) FROM search_owners so JOIN searches s ON s.id = so.search_id
                 WHERE so.owner_id = sh.owner_id AND s.searcher_id = sh.grantee_id) AS n,
               (SELECT group_concat(file_name, '; ') FROM releases l
                 WHERE l.format = 'sharing_list' AND l.producer_id = sh.owner_id AND l.status = 'complete') AS lists
        FROM shares sh LEFT JOIN releases r ON r.id = sh.release_id
        WHERE sh.scope = 'direct' AND sh.grantee_id IS NOT NULL
          AND EXISTS (SELECT 1 FROM releases l WHERE l.format = 'sharing_list' AND l.producer_id = sh.owner_id
                      AND l.status = 'complete')
          AND (r.producer_id IS NULL OR r.producer_id <> sh.owner_id)
          AND NOT EXISTS (SELECT 1 FROM shares o JOIN releases l ON l.id = o.release_id
                          WHERE o.owner_id = sh.owner_id AND o.grantee_id = sh.grantee_id AND o.scope = 'direct'
                            AND l.producer_id = sh.owner_id)
        GROUP BY sh.owner_id, sh.grantee_id
        HAVING n > 0
    """
    for owner, grantee, sources, n, lists in db.execute(sql):
        yield Candidate(owner, f"share to {names.get(grantee)} not on the owner's list", n,
                        f"{names.get(grantee)} searched {names.get(owner)}'s cameras {n} times through a 1:1 share "
                        f"recorded in {sources}, but {names.get(owner)}'s own sharing list ({lists}) does not name it")


def sharing_list_partners_unseen(db: sqlite_utils.Database, params: Mapping[str, Any]) -> Iterator[Candidate]:
    """Partners an owner's own sharing list names that its Network Audits never show searching."""
    names = _names(db)
    owners = db.execute(
        """SELECT l.producer_id, group_concat(DISTINCT n.file_name) FROM releases l
           JOIN releases n ON n.producer_id = l.producer_id AND n.audit_kind = 'network' AND n.status = 'complete'
           WHERE l.format = 'sharing_list' AND l.status = 'complete' GROUP BY l.producer_id""").fetchall()
    for owner, audits in owners:
        unseen = [g for (g,) in db.execute(
            """SELECT DISTINCT sh.grantee_id FROM shares sh JOIN releases l ON l.id = sh.release_id
               WHERE sh.owner_id = ? AND l.producer_id = ? AND sh.scope = 'direct' AND sh.grantee_id IS NOT NULL
                 AND sh.grantee_id <> ?
                 AND NOT EXISTS (SELECT 1 FROM search_owners so JOIN searches s ON s.id = so.search_id
                                 WHERE so.owner_id = ? AND s.searcher_id = sh.grantee_id)
               ORDER BY sh.grantee_id""", [owner, owner, owner, owner])]
        if not unseen:
            continue
        shown = ", ".join(names.get(g, str(g)) for g in unseen[:10]) + (f" and {len(unseen) - 10} more" if len(unseen) > 10 else "")
        yield Candidate(owner, f"{len(unseen)} listed partners never seen searching", 0,
                        f"{names.get(owner)}'s sharing list names {len(unseen)} partners with 1:1 access that its "
                        f"Network Audits ({audits}) never show searching: {shown}")
