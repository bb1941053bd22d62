"""Release-level measures: what the releases themselves show is missing or contradictory.

- `release_incomplete`: a release the import found cut short (`release_checks`: a row limit
  reached, a cut last record, rows stopping inside the period its file name states).

Each measure yields :class:`auditor.measures.Candidate` rows (agency, subject, searches, detail);
`searches` counts de-duplicated searches.
"""
from __future__ import annotations

from typing import Any, Iterator, Mapping

import sqlite_utils

from auditor.measures import Candidate


def release_incomplete(db: sqlite_utils.Database, params: Mapping[str, Any]) -> Iterator[Candidate]:
    """One candidate per completeness check that fired on import, against the release's producer."""
    sql = """
        SELECT r.producer_id, r.file_name, c.kind, c.detail,
               (SELECT COUNT(DISTINCT g.search_id) FROM sightings g WHERE g.release_id = r.id)
        FROM release_checks c JOIN releases r ON r.id = c.release_id
        WHERE r.status = 'complete'
        ORDER BY r.id, c.id
    """
    for producer_id, file_name, kind, detail, n in db.execute(sql):
        yield Candidate(producer_id, f"release {file_name} ({kind.replace('_', ' ')})", n, detail)
