"""One search, explained: where it was seen, its traced paths, its tags and the rules it broke."""
from __future__ import annotations

from typing import Any

import sqlite_utils

from auditor.errors import InputError
from auditor.importers.versions import contested
from auditor.facts import (STORED_KEYS_SQL, dhs_linked_sql, judged_state_sql, search_immigration_sql,
                           search_immigration_stated_sql, sighting_order_sql)
from auditor.rules.citations import Citer
from auditor.rules.laws import law_states
from auditor.schema import replaced_results


def source_of(db: sqlite_utils.Database, search_id: int) -> list[dict[str, Any]]:
    """The releases and rows a search was seen in, the first (the row findings cite) first; a
    simulated search cites its own id."""
    rows = db.execute(
        f"""SELECT r.file_name, r.sha256, g.row_number, g.link_basis, r.audit_kind, p.name, rr.page, rr.line
           FROM sightings g JOIN releases r ON r.id = g.release_id
           LEFT JOIN agencies p ON p.id = r.producer_id
           LEFT JOIN release_rows rr ON rr.release_id = g.release_id AND rr.row_number = g.row_number
           WHERE g.search_id = ? ORDER BY {sighting_order_sql('g')}""",
        [search_id],
    ).fetchall()
    if not rows:
        return [{"release": None, "row": None, "cite": f"simulated search {search_id}"}]
    return [
        {"release": f, "sha256": h, "row": n, "linked_by": basis, "audit_kind": kind, "producer": producer,
         "page": page, "line": line, "cite": row_cite(f, n, page, line)}
        for f, h, n, basis, kind, producer, page, line in rows
    ]


def row_cite(file_name: str, row_number: int, page: int | None = None, line: int | None = None) -> str:
    """`file.csv, row 12`; for a PDF release also where the row is: `file.pdf, row 12 (page 2, line 7)`."""
    where = f" (page {page}, line {line})" if page is not None else ""
    return f"{file_name}, row {row_number}{where}"


def explain_search(db: sqlite_utils.Database, search_id: int) -> dict[str, Any]:
    """Everything the audit knows about one search, citable. Raises InputError for an unknown id."""
    row = db.execute(
        """SELECT s.id, s.uuid, s.time, a.name, s.user, r.text, s.case_number, s.plate, s.search_type,
                  s.networks, s.devices, s.system, s.query_type, s.redacted
           FROM searches s LEFT JOIN agencies a ON a.id = s.searcher_id
           LEFT JOIN reasons r ON r.id = s.reason_id WHERE s.id = ?""",
        [search_id],
    ).fetchone()
    if row is None:
        raise InputError(f"no search with id {search_id} in this store")
    if (replaced := replaced_results(db)) is not None:  # its findings would be a killed run's part
        raise InputError(replaced)
    keys = ("id", "uuid", "time", "searcher", "user", "reason", "case_number", "plate", "search_type",
            "networks", "devices", "system", "query_type", "redacted")
    search = dict(zip(keys, row))
    tags = [
        {"tag": t, "value": v, "evidence": e, "confidence": c, "basis": b}
        for t, v, e, c, b in db.execute(
            "SELECT tag, value, evidence, confidence, basis FROM tags WHERE search_id = ? ORDER BY tag", [search_id])
    ]
    beneficiary = db.execute(
        """SELECT a.name, b.basis, b.evidence FROM beneficiaries b JOIN agencies a ON a.id = b.beneficiary_id
           WHERE b.search_id = ?""",
        [search_id],
    ).fetchone()
    named = db.execute("SELECT name, evidence, confidence FROM beneficiary_names WHERE search_id = ?",
                       [search_id]).fetchone() if db["beneficiary_names"].exists() else None
    citer = Citer()
    # Fields releases disagree about: shown beside each finding, which rests on the settled value.
    disputed = contested(db, [search_id]).get(search_id)
    findings = []
    for rid, title, sev, stored, path, door, scope, state, has_owner, owner_name, searcher_name, for_name in db.execute(
        f"""SELECT f.rule_id, r.title, f.severity, r.citation, t.path, t.door, t.scope,
                  {judged_state_sql('t', 'oa', 'sa', 'f.rule_id', law_states())}, t.owner_id IS NOT NULL,
                  oa.name, sa.name, ba.name
           FROM findings f JOIN rules r ON r.rule_id = f.rule_id LEFT JOIN traces t ON t.id = f.trace_id
           LEFT JOIN agencies oa ON oa.id = t.owner_id LEFT JOIN agencies sa ON sa.id = t.searcher_id
           LEFT JOIN agencies ba ON ba.id = t.beneficiary_id AND t.beneficiary_id IS NOT t.searcher_id
           WHERE f.search_id = ? ORDER BY f.severity = 'high' DESC, f.rule_id""",
        [search_id],
    ):
        # A law's finding cites the law (every element held); a policy rule's finding cites the
        # practice it rests on, with the judged state's law on its grounds as related law only.
        cited = citer(rid, state, bool(has_owner), stored)
        findings.append({"rule_id": rid, "title": title, "severity": sev,
                         "finding": citer.statement(rid, {"owner": owner_name, "searcher": searcher_name,
                                                          "beneficiary": for_name}, title),
                         "citation": cited.text, "citation_jurisdiction": cited.jurisdiction,
                         "citation_sources": list(cited.sources), "related_law": list(cited.related),
                         "trace": path, "door": door, "scope": scope, "contested": disputed})
    owners = [r[0] for r in db.execute(
        """SELECT a.name FROM search_owners so JOIN agencies a ON a.id = so.owner_id
           WHERE so.search_id = ? ORDER BY a.name""", [search_id])]
    # The search's traces are those of the keys the last run stored for it (one per owner).
    traces = [
        {"path": path, "scope": scope, "door": door}
        for path, scope, door in db.execute(
            f"""SELECT DISTINCT t.path, t.scope, t.door {STORED_KEYS_SQL} JOIN traces t ON t.id = sk.trace_id
                WHERE k.search_id = ? ORDER BY t.path""",
            [search_id],
        )
    ] if db["scan_keys"].exists() else []
    immigration, stated, linked = db.execute(
        f"""SELECT {search_immigration_sql('s', 'b')}, {search_immigration_stated_sql('s', 'b')}, {dhs_linked_sql('sa', 'ba')}
            FROM searches s LEFT JOIN beneficiaries b ON b.search_id = s.id
            LEFT JOIN agencies sa ON sa.id = s.searcher_id LEFT JOIN agencies ba ON ba.id = b.beneficiary_id
            WHERE s.id = ?""", [search_id]).fetchone()
    truth = None
    if db["truth"].exists():
        t = db.execute(
            """SELECT t.purpose, a.name, t.disguised, t.misuse_kind, t.narrative FROM truth t
               LEFT JOIN agencies a ON a.id = t.beneficiary_id WHERE t.search_id = ?""", [search_id]).fetchone()
        if t:
            truth = dict(zip(("purpose", "beneficiary", "disguised", "misuse_kind", "narrative"), t))
    from auditor.importers import unfinished_releases

    return {
        "unfinished_releases": unfinished_releases(db),
        "search": search,
        "owners": owners,
        "traces": traces,
        # The one definition (auditor.facts): immigration-related is the purpose; dhs_linked says a
        # DHS immigration component (HSI included) ran it or was its beneficiary.
        "immigration_related": bool(immigration),
        # Narrower: an immigration purpose the search states itself, what a law's purpose element rests on.
        "immigration_stated": bool(stated),
        "dhs_linked": bool(linked),
        "beneficiary": dict(zip(("agency", "basis", "evidence"), beneficiary)) if beneficiary else None,
        # A requester the reason names that no agency matched: kept as written.
        "named_unresolved": dict(zip(("name", "evidence", "confidence"), named)) if named else None,
        "tags": tags,
        "findings": findings,
        "sources": source_of(db, search_id),
        "contested": disputed,
        "truth": truth,
    }
