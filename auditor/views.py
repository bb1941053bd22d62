"""Readable views over an audited store, for a reporter exploring it in Datasette (or any SQLite tool).

    create_views(db)    # idempotent; `audit run` and `audit serve` call it

`findings` and `searches` hold integer ids; these views put names, states, reasons, citations and
the release file and row beside them:

- ``finding_list``: one row per finding with its rule's title, severity and citation, the search's
  time, searcher and state, owner, beneficiary, reason, traced path, and the release file and row
  it was first seen in (aggregate findings carry agency, subject and detail instead).
- ``search_list``: one row per de-duplicated search with agency names, owners, beneficiary,
  whether it is immigration-related and whether it states an immigration purpose (what a law can
  rest on), how many findings it has, and its first release row.

The views use only the columns of ``findings`` the contract keeps (never ``findings.id``), and
every per-row lookup follows an index (sightings by search, search_owners by search, findings by
search), so a page of a view costs the same on a 10M-search store as on a small one. Per-agency,
per-state and per-month figures are the tables :mod:`auditor.overview` writes at run time
(``agency_summary``, ``state_summary``, ``month_summary``): a view would group every search on
every page.
"""
from __future__ import annotations

from functools import lru_cache

import sqlite_utils

from auditor.facts import (finding_judged_state_sql, first_release_sql, first_row_sql, month_sql,
                           search_immigration_sql, search_immigration_stated_sql)
from auditor.rules.laws import law_states

# The first sighting (auditor.facts.first_row_sql) is the cited source, as in the CSV report.

@lru_cache(maxsize=1)
def views() -> dict[str, str]:
    """The readable views' SQL, by name (built once: the judged state reads the shipped laws' states)."""
    return {
    "finding_list": f"""
        SELECT f.rule_id, r.title AS rule_title, f.severity, r.citation, r.scope AS rule_scope,
               f.search_id, s.time AS search_time, sa.name AS searcher, sa.state AS searcher_state,
               sa.level AS searcher_level, s.user, rs.text AS reason, s.case_number, s.plate,
               oa.name AS owner, oa.state AS owner_state, {finding_judged_state_sql(law_states=law_states())} AS judged_state,
               t.scope AS sharing_scope,
               ba.name AS beneficiary, b.basis AS beneficiary_basis, t.door, t.path AS trace,
               rel.file_name AS release_file, {first_row_sql("f.search_id")} AS release_row,
               aa.name AS agency, f.subject, f.detail, f.searches, f.run_id
        FROM findings f
        JOIN rules r ON r.rule_id = f.rule_id
        LEFT JOIN searches s ON s.id = f.search_id
        LEFT JOIN agencies sa ON sa.id = s.searcher_id
        LEFT JOIN reasons rs ON rs.id = s.reason_id
        LEFT JOIN traces t ON t.id = f.trace_id
        LEFT JOIN agencies oa ON oa.id = t.owner_id
        LEFT JOIN agencies ba ON ba.id = t.beneficiary_id AND t.beneficiary_id IS NOT t.searcher_id
        LEFT JOIN beneficiaries b ON b.search_id = f.search_id
        LEFT JOIN releases rel ON rel.id = {first_release_sql("f.search_id")}
        LEFT JOIN agencies aa ON aa.id = f.agency_id""",
    "search_list": f"""
        SELECT s.id AS search_id, s.time, {month_sql('s.time')} AS month,
               sa.name AS searcher, sa.state AS searcher_state, sa.level AS searcher_level, sa.kind AS searcher_kind,
               (SELECT group_concat(oa.name, '; ') FROM search_owners so JOIN agencies oa ON oa.id = so.owner_id
                WHERE so.search_id = s.id) AS owners,
               s.user, rs.text AS reason, s.case_number, s.plate, s.search_type, s.networks, s.devices,
               s.system, s.query_type, s.redacted AS withheld_fields,
               ba.name AS beneficiary, b.basis AS beneficiary_basis, b.evidence AS beneficiary_evidence,
               {search_immigration_sql('s', 'b')} AS immigration_related,
               {search_immigration_stated_sql('s', 'b')} AS immigration_stated,
               (SELECT COUNT(*) FROM findings f WHERE f.search_id = s.id) AS findings,
               rel.file_name AS release_file, {first_row_sql("s.id")} AS release_row
        FROM searches s
        LEFT JOIN agencies sa ON sa.id = s.searcher_id
        LEFT JOIN reasons rs ON rs.id = s.reason_id
        LEFT JOIN beneficiaries b ON b.search_id = s.id
        LEFT JOIN agencies ba ON ba.id = b.beneficiary_id
        LEFT JOIN releases rel ON rel.id = {first_release_sql("s.id")}""",
    }


def create_views(db: sqlite_utils.Database) -> None:
    """(Re)create the readable views; cheap and idempotent (a view is only its SQL)."""
    for name, sql in views().items():
        db.execute(f"DROP VIEW IF EXISTS {name}")
        db.execute(f"CREATE VIEW {name} AS {sql}")
    db.conn.commit()
