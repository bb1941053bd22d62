"""287(g) in the open: sharing partners and searchers that hold 287(g) agreements with ICE.

Section 287(g) of the Immigration and Nationality Act (8 U.S.C. 1357(g)(1), added by Pub. L.
104-208 section 133, 110 Stat. 3009-563) lets ICE delegate immigration-officer functions to state
and local officers by written agreement; ICE publishes the list of agencies that hold one, with the
agreement type (Jail Enforcement Model, Task Force Model, Warrant Service Officer).

This module reads what `audit run` stored (`agencies.is_287g` and `support_287g`, `agency_287g`
with the matches and near-misses against ICE's list) and counts de-duplicated searches. It is an
informational view: no law of an owner's state that forbids sharing with a 287(g) agency as such
has been read for this project, so reaching one is reported, not judged; the state rules on
immigration-related use (`audit rules`) still apply to each search.
"""
from __future__ import annotations

from typing import Any

import sqlite_utils

from auditor.facts import search_immigration_sql

SOURCE = ("8 U.S.C. 1357(g)(1) (INA section 287(g), Pub. L. 104-208 section 133, 110 Stat. 3009-563), read "
          "2026-12-01 at https://en.wikisource.org/wiki/Page:United_States_Statutes_at_Large_Volume_110_Part_4.djvu/726")
NO_LAW_NOTE = ("Informational: no law of an owner's state forbidding sharing with a 287(g) agency as such is encoded; "
               "immigration-related searches are judged by the owner's state rules.")


def agreements_287g(db: sqlite_utils.Database, top: int = 50) -> dict[str, Any]:
    """Who holds a 287(g) agreement among sharing partners and searchers, and whose data reached them."""
    checked = db.execute("SELECT COUNT(*) FROM agencies WHERE is_287g IS NOT NULL").fetchone()[0]
    listed = db.execute("SELECT COUNT(*) FROM agencies WHERE is_287g = 1").fetchone()[0]
    partners = [{"agency": name, "state": state, "kind": kind, "agreement": support or "listed", "shares": n}
                for name, state, kind, support, n in db.execute(
        """WITH sharing_producers AS (SELECT producer_id AS id FROM releases WHERE audit_kind = 'sharing'),
                sides AS (
                  SELECT grantee_id AS agency_id, id FROM shares WHERE scope = 'direct' AND grantee_id IS NOT NULL
                  UNION ALL
                  SELECT owner_id, id FROM shares WHERE scope = 'direct' AND grantee_id IN (SELECT id FROM sharing_producers))
           SELECT a.name, a.state, a.kind, a.support_287g, COUNT(DISTINCT sides.id) FROM sides
           JOIN agencies a ON a.id = sides.agency_id WHERE a.is_287g = 1
           GROUP BY a.id ORDER BY a.state, a.name""")]
    partners_total = db.execute(
        """SELECT COUNT(DISTINCT agency_id) FROM (
             SELECT grantee_id AS agency_id FROM shares WHERE scope = 'direct' AND grantee_id IS NOT NULL
             UNION SELECT owner_id FROM shares WHERE scope = 'direct'
                   AND grantee_id IN (SELECT producer_id FROM releases WHERE audit_kind = 'sharing'))""").fetchone()[0]
    searchers = [{"agency": name, "state": state, "kind": kind, "agreement": support or "listed", "searches": n,
                  "of_others_data": others, "immigration_related": imm, "owners_reached": owners}
                 for name, state, kind, support, n, others, imm, owners in db.execute(
        f"""SELECT a.name, a.state, a.kind, a.support_287g, COUNT(DISTINCT s.id),
                  COUNT(DISTINCT CASE WHEN so.owner_id != s.searcher_id THEN s.id END),
                  COUNT(DISTINCT CASE WHEN {search_immigration_sql('s', 'b')} THEN s.id END),
                  COUNT(DISTINCT CASE WHEN so.owner_id != s.searcher_id THEN so.owner_id END)
           FROM searches s JOIN agencies a ON a.id = s.searcher_id
           LEFT JOIN search_owners so ON so.search_id = s.id
           LEFT JOIN beneficiaries b ON b.search_id = s.id
           WHERE a.is_287g = 1 GROUP BY a.id ORDER BY COUNT(DISTINCT s.id) DESC, a.name""")]
    owners = [{"owner": name, "state": state, "searches": n, "agencies_287g": agencies_n, "note": NO_LAW_NOTE}
              for name, state, n, agencies_n in db.execute(
        """SELECT o.name, o.state, COUNT(DISTINCT s.id), COUNT(DISTINCT a.id)
           FROM search_owners so JOIN searches s ON s.id = so.search_id
           JOIN agencies o ON o.id = so.owner_id JOIN agencies a ON a.id = s.searcher_id
           WHERE a.is_287g = 1 AND so.owner_id != s.searcher_id
           GROUP BY o.id ORDER BY COUNT(DISTINCT s.id) DESC, o.name""")]
    by_type: dict[str, int] = {}
    for (support,) in db.execute("SELECT support_287g FROM agencies WHERE is_287g = 1"):
        for part in (support or "listed").split("; "):
            by_type[part] = by_type.get(part, 0) + 1
    matches = {how: n for how, n in db.execute("SELECT how, COUNT(*) FROM agency_287g GROUP BY how")}
    near = [{"agency": name, "state": state, "ice_name": ice_name, "agreement": support, "similarity": sim}
            for name, state, ice_name, support, sim in db.execute(
        """SELECT a.name, a.state, g.ice_name, g.support, g.similarity FROM agency_287g g
           JOIN agencies a ON a.id = g.agency_id WHERE g.how = 'near_miss' ORDER BY g.similarity DESC, a.name""")]
    return {
        "checked": checked > 0,
        "agencies_287g": listed,
        "by_agreement_type": dict(sorted(by_type.items())),
        "partners": partners[:top], "partners_287g": len(partners), "partners_total": partners_total,
        "searchers": searchers[:top], "searchers_287g": len(searchers),
        "searches_by_287g": sum(s["searches"] for s in searchers),
        "owners": owners,
        "matched_by_key": matches.get("key", 0), "matched_by_name": matches.get("name", 0),
        "near_misses": near[:top], "near_misses_total": len(near),
        "source": SOURCE, "note": NO_LAW_NOTE,
    }


def summary_line(view: dict[str, Any]) -> str:
    """One informational line for `audit run`: how many 287(g) agencies searched, and whose data."""
    if not view["checked"]:
        return "287(g): not checked (give --ice-287g with ICE's list)."
    owners = len(view["owners"])
    return (f"287(g): {view['agencies_287g']:,} agencies hold agreements; {view['partners_287g']:,} of "
            f"{view['partners_total']:,} sharing partners and {view['searchers_287g']:,} searchers "
            f"({view['searches_by_287g']:,} searches, reaching {owners:,} owners' data). {view['note']}")
