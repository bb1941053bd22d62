"""Accountability measures: broken record-keeping, repeat targets, and misuse disclosed versus logged.

Three questions an auditor of a small department or a statewide database asks (DOMAIN.md §3):

- **What do the missing records hide?** Per agency and per officer, how many searches have no user,
  no reason or no case number: a search with no user cannot be attributed to anyone (Calexico).
- **Who is being watched?** Plates (or CLETS subjects) that several officers of one agency keep
  searching with no case behind any search: council members and complainants, not suspects.
- **Does the agency disclose what its log shows?** Agencies must investigate CLETS misuse and report
  it every year to the CLETS Advisory Committee. The log's suspected misuse cases (see
  :func:`suspected_misuse`) are set beside the `disclosures` table, and agencies that never filed are
  named (LAPD filed nothing for seven years; every DHS component reported zero).

Every measure is SQL over integer keys; counts are de-duplicated searches unless they say cases. The
aggregate rules built on these answers are in :mod:`auditor.rules.measures.accountability`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlite_utils


OUTCOMES = ("resigned_fired", "misdemeanor", "felony", "no_action", "counseling", "other")
# Purpose tags that, on their own, make a search look like the officer's own business.
PERSONAL_TAGS = ("personal_use", "civil_matter")
# Search rules whose findings are misuse by definition (CLETS data used for immigration enforcement).
MISUSE_RULES = ("ca.clets.immigration",)

# A blank reason, not a redacted one: the release hid a redacted reason, the officer may not have.
# CASE, not AND: SQLite then reads `redacted` (outside the covering index) only for blank cells.
_BLANK_REASON = ("(CASE WHEN s.reason_id IS NULL THEN instr(',' || COALESCE(s.redacted, '') || ',', ',reason,') = 0 "
                 "ELSE 0 END)")
_BLANK_USER = ("(CASE WHEN s.user IS NULL THEN instr(',' || COALESCE(s.redacted, '') || ',', ',user,') = 0 "
               "ELSE 0 END)")


# --- record-keeping ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordGaps:
    """Missing records of one agency (``user`` None) or one officer: counts of searches."""

    agency_id: int
    agency: str
    user: str | None
    searches: int
    no_user: int
    no_reason: int
    no_case: int
    no_user_or_reason: int

    def share(self, count: int) -> float:
        """A count as a share of the searches."""
        return count / self.searches if self.searches else 0.0


def record_gaps(db: sqlite_utils.Database, *, by_user: bool = False, min_searches: int = 1) -> list[RecordGaps]:
    """Per agency (or per officer of each agency) the searches with no user, reason or case number.

    Per officer, the no-user column is zero by construction: the searches a missing user hides belong
    to nobody, which is why the agency rows are the ones that say "cannot be attributed".
    """
    user_col = "s.user" if by_user else "NULL"
    rows = db.execute(
        # Grouped first, named after: the agency join runs once per group, not once per search.
        f"""SELECT g.searcher_id, a.name, g.user, g.n, g.no_user, g.no_reason, g.no_case, g.gaps
            FROM (SELECT s.searcher_id, {user_col} AS user, COUNT(*) AS n,
                         SUM({_BLANK_USER}) AS no_user, SUM({_BLANK_REASON}) AS no_reason,
                         SUM(s.case_number IS NULL) AS no_case, SUM({_BLANK_USER} OR {_BLANK_REASON}) AS gaps
                  FROM searches s
                  WHERE s.searcher_id IS NOT NULL {'AND s.user IS NOT NULL' if by_user else ''}
                  GROUP BY s.searcher_id{', s.user' if by_user else ''}
                  HAVING n >= ?) g
            JOIN agencies a ON a.id = g.searcher_id
            ORDER BY g.gaps DESC, g.n DESC, a.name""",
        [min_searches],
    )
    return [RecordGaps(*r) for r in rows]


# --- repeat targets --------------------------------------------------------------------------------


# --- misuse: the log against the disclosures ------------------------------------------------------


@dataclass(frozen=True)
class MisuseCase:
    """One officer (or the agency's unattributed searches) whose searches look like misuse."""

    agency_id: int
    user: str | None
    searches: int
    why: str  # repeat_target, personal_purpose, clets_immigration (comma-joined)


def suspected_misuse(db: sqlite_utils.Database, *, system: str | None = None, min_repeats: int = 5) -> list[MisuseCase]:
    """Officers whose logged searches show misuse: one case per officer and agency.

    An officer is a case when they searched one subject at least ``min_repeats`` times without a case
    number, gave a personal or civil purpose (`my car`, `custody`), or ran a search the audit found to
    be CLETS data used for immigration. Searches with no user form one case per agency, since the log
    cannot tell their officers apart. Needs the tags and findings of an audit run.
    """
    where = "AND s.system = :system" if system else ""
    rules = ", ".join(f"'{r}'" for r in MISUSE_RULES)
    tags = ", ".join(f"'{t}'" for t in PERSONAL_TAGS)
    rows = db.execute(
        f"""WITH repeat_target AS (
                SELECT s.searcher_id, s.user, s.plate FROM searches s
                WHERE s.plate IS NOT NULL AND s.case_number IS NULL AND s.user IS NOT NULL
                  AND COALESCE(s.search_type, '') != 'lookup' {where}
                GROUP BY s.searcher_id, s.user, s.plate HAVING COUNT(*) >= :repeats),
            flagged AS (
                SELECT s.id, s.searcher_id, s.user, 'repeat_target' AS why FROM searches s
                JOIN repeat_target r ON r.searcher_id = s.searcher_id AND r.user = s.user AND r.plate = s.plate
                WHERE s.case_number IS NULL {where}
                UNION ALL
                SELECT s.id, s.searcher_id, s.user, 'personal_purpose' FROM searches s
                WHERE s.reason_id IN (SELECT reason_id FROM reason_tags WHERE tag IN ({tags})) {where}
                UNION ALL
                SELECT s.id, s.searcher_id, s.user, 'clets_immigration' FROM searches s
                WHERE s.id IN (SELECT search_id FROM findings WHERE rule_id IN ({rules})) {where})
            SELECT searcher_id, user, COUNT(DISTINCT id), group_concat(DISTINCT why)
            FROM flagged WHERE searcher_id IS NOT NULL
            GROUP BY searcher_id, user ORDER BY searcher_id, user""",
        {"system": system, "repeats": min_repeats},
    )
    return [MisuseCase(a, u, n, ",".join(sorted(w.split(",")))) for a, u, n, w in rows]


@dataclass(frozen=True)
class DisclosureComparison:
    """One agency's disclosed misuse beside the misuse its log shows."""

    agency_id: int
    agency: str
    year: int | None
    status: str  # filed, late, not_filed, or "no filing" when the agency has no row at all
    investigations: int | None
    confirmed: int | None
    pending: int | None
    outcomes: dict[str, int | None]
    log_cases: int  # suspected misuse cases in the log
    log_officers: int  # of them attributed to a named officer
    log_searches: int  # searches behind those cases
    system_searches: int  # all the agency's searches of the system

    @property
    def beyond_disclosed(self) -> int:
        """Suspected cases in the log beyond the investigations the agency disclosed."""
        return max(0, self.log_cases - (self.investigations or 0))


def compare_disclosures(db: sqlite_utils.Database, system: str = "clets", *, min_repeats: int = 5) -> list[DisclosureComparison]:
    """Every agency that disclosed, or searched the system while others disclosed, with its log's cases.

    Empty when the store holds no disclosures for the system: there is nothing to compare with.
    """
    rows = db.execute(
        # The worst status over the years (not_filed, then late, then filed): one good year must not
        # hide a missed one.
        f"""SELECT d.agency_id, MAX(d.year),
                   CASE MAX(CASE d.status WHEN 'not_filed' THEN 2 WHEN 'late' THEN 1 ELSE 0 END)
                        WHEN 2 THEN 'not_filed' WHEN 1 THEN 'late' ELSE 'filed' END,
                   SUM(d.investigations), SUM(d.confirmed), SUM(d.pending),
                   {', '.join(f'SUM(d.{o})' for o in OUTCOMES)}
            FROM disclosures d WHERE d.system = ? GROUP BY d.agency_id""",
        [system],
    ).fetchall()
    if not rows:
        return []
    filings = {r[0]: r for r in rows}
    per_agency_searches = dict(db.execute(
        "SELECT searcher_id, COUNT(*) FROM searches WHERE system = ? AND searcher_id IS NOT NULL GROUP BY searcher_id",
        [system]).fetchall())
    cases: dict[int, list[MisuseCase]] = {}
    for case in suspected_misuse(db, system=system, min_repeats=min_repeats):
        cases.setdefault(case.agency_id, []).append(case)
    names = dict(db.execute("SELECT id, name FROM agencies").fetchall())
    out = []
    for agency_id in sorted(set(filings) | set(per_agency_searches), key=lambda i: names.get(i, "")):
        filing = filings.get(agency_id)
        found = cases.get(agency_id, [])
        if filing is None:
            year = status = investigations = confirmed = pending = None
            outcomes: dict[str, int | None] = {o: None for o in OUTCOMES}
            status = "no filing"
        else:
            _, year, status, investigations, confirmed, pending, *counts = filing
            outcomes = dict(zip(OUTCOMES, counts))
        out.append(DisclosureComparison(
            agency_id, names.get(agency_id, f"agency {agency_id}"), year, status, investigations, confirmed, pending,
            outcomes, len(found), sum(1 for c in found if c.user is not None), sum(c.searches for c in found),
            per_agency_searches.get(agency_id, 0)))
    return out


