"""What a simulated store holds: row counts, searches by searcher state and true purpose, truth counts."""
from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

from auditor.facts import agency_place_sql, truth_immigration_sql

TABLES = ("agencies", "agency_names", "devices", "reads", "shares", "reasons", "searches", "search_owners", "truth")

# Immigration-related told the truth, by the auditor's one definition (auditor.facts): the true
# purpose is immigration, or the search was run by or for ICE, ERO, CBP or USBP (HSI alone is not).
IMMIGRATION_RELATED = truth_immigration_sql("t", "s")


@dataclass
class Summary:
    """Counts a trainer checks after a run (all counts are searches, de-duplicated by construction)."""

    rows: dict[str, int]
    by_state: dict[str, int]  # searcher state ('federal' for [Federal] users)
    by_purpose: dict[str, int]
    immigration_related: int
    disguised: int
    disguised_immigration: int
    proxy: int  # searches run for another agency (a neighbour, a fusion center, a DHS component)
    side_door: int  # of those, run for a DHS immigration component by a non-federal searcher
    federal: int  # searches by DHS components themselves (back door where no direct share)
    misuse: int


def summarize(db: sqlite_utils.Database) -> Summary:
    """Count the store's rows and its ground truth."""
    q = db.conn.execute
    rows = {t: q(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    by_state = dict(q(
        f"SELECT {agency_place_sql('a')} AS st, count(*) AS n "
        "FROM searches s JOIN agencies a ON a.id = s.searcher_id GROUP BY st ORDER BY n DESC, st"
    ).fetchall())
    by_purpose = dict(q("SELECT purpose, count(*) AS n FROM truth GROUP BY purpose ORDER BY n DESC, purpose").fetchall())
    one = lambda sql: q(sql).fetchone()[0]  # noqa: E731 - a local shorthand for scalar queries
    return Summary(
        rows=rows,
        by_state=by_state,
        by_purpose=by_purpose,
        immigration_related=one(f"SELECT count(*) FROM truth t JOIN searches s ON s.id = t.search_id "
                                f"WHERE {IMMIGRATION_RELATED}"),
        disguised=one("SELECT count(*) FROM truth WHERE disguised = 1"),
        disguised_immigration=one(f"SELECT count(*) FROM truth t JOIN searches s ON s.id = t.search_id "
                                  f"WHERE disguised = 1 AND ({IMMIGRATION_RELATED})"),
        proxy=one("SELECT count(*) FROM truth t JOIN searches s ON s.id = t.search_id "
                  "WHERE t.beneficiary_id != s.searcher_id"),
        side_door=one("SELECT count(*) FROM truth t JOIN searches s ON s.id = t.search_id "
                      "JOIN agencies b ON b.id = t.beneficiary_id JOIN agencies a ON a.id = s.searcher_id "
                      "WHERE t.beneficiary_id != s.searcher_id AND b.dhs_component IS NOT NULL "
                      "AND a.level != 'federal'"),
        federal=one("SELECT count(*) FROM searches s JOIN agencies a ON a.id = s.searcher_id "
                    "WHERE a.dhs_component IS NOT NULL"),
        misuse=one("SELECT count(*) FROM truth WHERE misuse_kind IS NOT NULL"),
    )
