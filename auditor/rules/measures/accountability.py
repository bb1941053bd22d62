"""Accountability measures (aggregate rules): record gaps, repeat targets, misuse disclosed versus logged.

The questions and their SQL live in :mod:`auditor.disclosure`; these turn its answers into
candidate findings (agency, subject, searches, detail).
"""
from __future__ import annotations

from typing import Any, Iterator, Mapping

import sqlite_utils

from auditor.disclosure import compare_disclosures, record_gaps
from auditor.rules.measures.candidate import Candidate


def record_gap_measure(db: sqlite_utils.Database, params: Mapping[str, Any]) -> Iterator[Candidate]:
    """Agencies where a share of searches cannot be attributed to an officer or has no reason."""
    threshold = float(params.get("threshold", 0.1))
    min_searches = int(params.get("min_searches", 50))
    for g in record_gaps(db, min_searches=min_searches):
        if max(g.share(g.no_user), g.share(g.no_reason)) < threshold:
            continue
        yield Candidate(
            g.agency_id, "record-keeping", g.no_user_or_reason,
            f"{g.no_user:,} searches ({g.share(g.no_user):.0%}) cannot be attributed to an officer; "
            f"{g.no_reason:,} ({g.share(g.no_reason):.0%}) give no reason; {g.no_case:,} ({g.share(g.no_case):.0%}) "
            f"no case number; of {g.searches:,} searches (threshold {threshold:.0%})")


def repeat_target_officers(db: sqlite_utils.Database, params: Mapping[str, Any]) -> Iterator[Candidate]:
    """A plate that several officers of one agency searched again and again, never with a case number."""
    min_officers = int(params.get("min_officers", 2))
    min_searches = int(params.get("min_searches", 8))
    rows = db.execute(
        """SELECT s.searcher_id, s.plate, COUNT(*) AS n, COUNT(DISTINCT s.user) AS officers,
                  SUM(s.user IS NULL), MIN(s.time), MAX(s.time)
           FROM searches s
           WHERE s.plate IS NOT NULL
           GROUP BY s.plate, s.searcher_id  -- in the order of the (plate, searcher_id, ...) index
           HAVING officers >= ? AND n >= ? AND SUM(s.case_number IS NOT NULL) = 0
           ORDER BY n DESC""",
        [min_officers, min_searches],
    )
    for agency_id, plate, n, officers, anonymous, first, last in rows:
        hidden = f"; {anonymous} more with no user logged" if anonymous else ""
        yield Candidate(agency_id, f"plate {plate}", n,
                        f"{n} searches of plate {plate} by {officers} officers, none with a case number, "
                        f"{first} to {last}{hidden}")


def misuse_underreported(db: sqlite_utils.Database, params: Mapping[str, Any]) -> Iterator[Candidate]:
    """Agencies whose log shows more suspected misuse cases than the investigations they disclosed."""
    system = str(params.get("system", "clets"))
    for c in compare_disclosures(db, system, min_repeats=int(params.get("min_repeats", 5))):
        if c.beyond_disclosed == 0:
            continue
        if c.status in ("not_filed", "no filing"):
            disclosed = "filed no misuse disclosure"
        else:
            disclosed = (f"disclosed {c.investigations} investigations ({c.confirmed} confirmed, {c.pending} pending)"
                         + (" late" if c.status == "late" else ""))
        yield Candidate(
            c.agency_id, f"{system} misuse {c.year or ''}".strip(), c.log_searches,
            f"the log shows {c.log_cases} suspected misuse cases ({c.log_officers} named officers, "
            f"{c.log_searches:,} searches); the agency {disclosed}: {c.beyond_disclosed} cases beyond what was disclosed")


def disclosure_missing(db: sqlite_utils.Database, params: Mapping[str, Any]) -> Iterator[Candidate]:
    """Agencies that searched the system but filed no misuse disclosure, or filed it late."""
    system = str(params.get("system", "clets"))
    for c in compare_disclosures(db, system, min_repeats=int(params.get("min_repeats", 5))):
        if c.status == "filed" or c.system_searches == 0:
            continue
        years = dict(db.execute(
            """SELECT status, group_concat(year, ', ') FROM (SELECT status, year FROM disclosures
               WHERE agency_id = ? AND system = ? AND status != 'filed' ORDER BY year) GROUP BY status""",
            [c.agency_id, system]).fetchall())
        missed = [f"did not file its {years['not_filed']} misuse disclosure"] if "not_filed" in years else []
        missed += [f"filed its {years['late']} misuse disclosure late"] if "late" in years else []
        what = "; ".join(missed) or "has no misuse disclosure on record"
        yield Candidate(c.agency_id, f"{system} disclosure", c.system_searches,
                        f"{what}, while its users ran {c.system_searches:,} {system} searches "
                        f"({c.log_cases} suspected misuse cases in the log)")
