"""Exposure: which agencies could reach an owner's data, and what they did with it.

A city deciding whether to join a vendor's national pool (Culver City and Vigilant, 2018) asks who
could then see where its residents drive. For each owner of cameras the answer follows from its
sharing settings alone: direct grantees; with Statewide Lookup every non-federal agency of its
state; with National Lookup every agency in the pool, federal immigration components included.
Beside that potential reach, the log says how much was used: searches by others, searches of plates
the owner's own cameras read (its residents and visitors), and immigration-related ones.

Agencies counted are those in the store; a vendor's real pool is larger (Vigilant: 3,000+
departments), which the report says.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable

import sqlite_utils

from auditor.facts import agency_place, search_immigration_sql

LEVEL_ORDER = ("local", "county", "state", "federal", "tribal", "private", "unknown")


@dataclass
class Exposure:
    """One owner's exposure: who could reach its data and what the log shows they did."""

    owner_id: int
    owner: str
    state: str | None
    scopes: list[str]
    cameras: int
    could_reach: int  # agencies other than the owner that could search its data
    by_level: dict[str, int]
    out_of_state: int
    by_state: dict[str, int]
    dhs_components: list[str]  # DHS immigration components among them (ICE, ERO, HSI, CBP, USBP)
    searches_by_others: int
    searchers: int  # distinct other agencies that did search
    searches_of_read_plates: int  # searches by others of plates the owner's cameras read
    immigration_related: int  # searches by others that are immigration-related (auditor.facts)
    by_dhs: int  # searches by DHS immigration components themselves
    extra: dict[str, Any] = field(default_factory=dict)


def _reachers(db: sqlite_utils.Database, owner_id: int, state: str | None) -> list[tuple]:
    """(id, name, state, level, dhs_component) of every other agency the owner's shares let in.

    Statewide and national scopes reach the pool's participants: agencies that searched, own data or
    share it. An agency known only as someone's beneficiary (`ICE` in a reason) is not a subscriber.
    """
    return db.execute(
        """WITH participants AS (
               SELECT searcher_id AS id FROM searches WHERE searcher_id IS NOT NULL
               UNION SELECT owner_id FROM shares UNION SELECT grantee_id FROM shares WHERE grantee_id IS NOT NULL
               UNION SELECT owner_id FROM devices)
           SELECT a.id, a.name, a.state, a.level, a.dhs_component FROM agencies a
           WHERE a.id != :owner AND a.id IN (SELECT id FROM participants) AND EXISTS (
               SELECT 1 FROM shares sh WHERE sh.owner_id = :owner AND (
                   (sh.scope = 'direct' AND sh.grantee_id = a.id)
                   OR (sh.scope = 'statewide' AND a.level != 'federal' AND a.state IS NOT NULL AND a.state = :state)
                   OR sh.scope = 'national'))
           ORDER BY a.name""",
        {"owner": owner_id, "state": state},
    ).fetchall()


def exposure_table(db: sqlite_utils.Database, owner_ids: Iterable[int] | None = None) -> list[Exposure]:
    """One row per owner of cameras (or with shares): potential reach and logged use by others.

    The immigration-related count uses the tags and beneficiaries of the latest audit run.
    ``owner_ids`` limits the table to those owners (a sharing list can name thousands).
    """
    owners = db.execute(
        """SELECT a.id, a.name, a.state,
                  (SELECT COUNT(*) FROM devices d WHERE d.owner_id = a.id)
           FROM agencies a
           WHERE EXISTS (SELECT 1 FROM devices d WHERE d.owner_id = a.id)
              OR EXISTS (SELECT 1 FROM shares sh WHERE sh.owner_id = a.id)
           ORDER BY a.name"""
    ).fetchall()
    if owner_ids is not None:
        wanted = set(owner_ids)
        owners = [o for o in owners if o[0] in wanted]
    out = []
    for owner_id, name, state, cameras in owners:
        scopes = [r[0] for r in db.execute(
            "SELECT DISTINCT scope FROM shares WHERE owner_id = ? ORDER BY scope", [owner_id])]
        reach = _reachers(db, owner_id, state)
        levels = Counter(r[3] or "unknown" for r in reach)
        states = Counter(agency_place(r[3], r[2]) for r in reach)
        # IN (subquery) is evaluated once and probed per row; CASE keeps the reads lookup lazy.
        used = db.execute(
            f"""SELECT COUNT(*), COUNT(DISTINCT s.searcher_id),
                       SUM(CASE WHEN s.plate IS NULL THEN 0 ELSE EXISTS (
                           SELECT 1 FROM reads r JOIN devices d ON d.id = r.device_id
                           WHERE r.plate = s.plate AND d.owner_id = so.owner_id) END),
                       SUM({search_immigration_sql('s', 'b')}),
                       SUM(s.searcher_id IN (SELECT id FROM agencies WHERE dhs_component IS NOT NULL))
                FROM search_owners so JOIN searches s ON s.id = so.search_id
                LEFT JOIN beneficiaries b ON b.search_id = s.id
                WHERE so.owner_id = ? AND s.searcher_id != so.owner_id""",
            [owner_id],
        ).fetchone()
        n, searchers, read_plates, immigration, by_dhs = (v or 0 for v in used)
        out.append(Exposure(
            owner_id, name, state, scopes, cameras, len(reach),
            {lvl: levels[lvl] for lvl in LEVEL_ORDER if levels[lvl]},
            sum(1 for r in reach if r[3] != "federal" and r[2] != state),
            dict(sorted(states.items(), key=lambda kv: (-kv[1], kv[0]))),
            sorted(r[1] for r in reach if r[4]),
            n, searchers, read_plates, immigration, by_dhs,
        ))
    return out
