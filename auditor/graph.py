"""The agency graph: who shares with whom, who searched whose data, who acted for whom.

Nodes are agency ids (plus one node per sharing scope, e.g. ``scope:national``). Edges carry a
``relation``:

- ``share``: owner → grantee (direct) or owner → ``scope:statewide:CA`` / ``scope:national``;
- ``access``: owner → searcher, with ``searches`` counted by purpose (de-duplicated searches);
- ``acts_for``: searcher → beneficiary, with the evidence (reason text, 287(g), plate relay).

A search's trace is read off this graph: owner → [scope] → searcher → [acts for] → beneficiary.
"""
from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import sqlite_utils

from auditor.vocabulary import DHS_COMPONENTS as DHS_IMMIGRATION, IMMIGRATION_ENFORCERS  # noqa: F401 (re-exported)


@dataclass(frozen=True)
class Agency:
    id: int
    name: str
    state: str | None
    level: str
    kind: str
    dhs_component: str | None
    is_287g: int | None

    @property
    def is_dhs(self) -> bool:
        return self.dhs_component in DHS_IMMIGRATION


def load_agencies(db: sqlite_utils.Database) -> dict[int, Agency]:
    rows = db.execute("SELECT id, name, state, level, kind, dhs_component, is_287g FROM agencies")
    return {r[0]: Agency(*r) for r in rows}


def build_graph(db: sqlite_utils.Database, agencies: dict[int, Agency] | None = None, *,
                with_access: bool = False) -> nx.MultiDiGraph:
    """Build the graph: share and 287(g) edges; with ``with_access`` also access and acts-for edges
    counted from the traced store (a pass over every search, so the scan does not ask for it)."""
    agencies = agencies if agencies is not None else load_agencies(db)
    graph = nx.MultiDiGraph()
    for agency in agencies.values():
        graph.add_node(agency.id, name=agency.name, state=agency.state, level=agency.level,
                       kind=agency.kind, dhs_component=agency.dhs_component, is_287g=agency.is_287g)
    for share_id, owner_id, grantee_id, scope, source, release_id in db.execute(
        "SELECT id, owner_id, grantee_id, scope, source, release_id FROM shares"
    ):
        if scope == "direct" and grantee_id is not None:
            target = grantee_id
        elif scope == "statewide":
            target = f"scope:statewide:{agencies[owner_id].state}" if owner_id in agencies else "scope:statewide"
        else:
            target = "scope:national"
        graph.add_edge(owner_id, target, relation="share", scope=scope, share_id=share_id,
                       source=source, release_id=release_id)
    # 287(g) agreements are standing acts-for relations, whether or not a search shows them.
    ice = next((a.id for a in agencies.values() if a.dhs_component == "ICE" and a.level == "federal"), None)
    for agency in agencies.values():
        if agency.is_287g and ice is not None:
            graph.add_edge(agency.id, ice, relation="acts_for", basis="287g", searches=0,
                           evidence="listed in ICE's 287(g) agreements")
    if with_access:
        _add_traced_edges(db, graph)
    return graph


def _add_traced_edges(db: sqlite_utils.Database, graph: nx.MultiDiGraph) -> None:
    # Counts are of de-duplicated searches; a search with several tags counts once per tag.
    access = db.execute(
        """SELECT so.owner_id, s.searcher_id, COALESCE(rt.tag, 'untagged'), COUNT(*)
           FROM search_owners so JOIN searches s ON s.id = so.search_id
           LEFT JOIN reason_tags rt ON rt.reason_id = s.reason_id
           WHERE so.owner_id != s.searcher_id
           GROUP BY 1, 2, 3"""
    )
    counts: dict[tuple[int, int], dict[str, int]] = {}
    for owner_id, searcher_id, tag, n in access:
        counts.setdefault((owner_id, searcher_id), {})[tag] = n
    for (owner_id, searcher_id), by_purpose in counts.items():
        graph.add_edge(owner_id, searcher_id, relation="access", by_purpose=by_purpose)
    for searcher_id, beneficiary_id, basis, n in db.execute(
        """SELECT s.searcher_id, b.beneficiary_id, b.basis, COUNT(*) FROM beneficiaries b
           JOIN searches s ON s.id = b.search_id GROUP BY 1, 2, 3"""
    ):
        graph.add_edge(searcher_id, beneficiary_id, relation="acts_for", basis=basis, searches=n)


def scope_of(graph: nx.MultiDiGraph, agencies: dict[int, Agency], owner_id: int | None, searcher_id: int | None) -> str | None:
    """How the owner's data reached the searcher: own, direct, statewide, national or `none found`.

    None when the release does not say whose data was searched (an own-search log).
    """
    if owner_id is None:
        return None
    if owner_id == searcher_id:
        return "own"
    if not graph.has_node(owner_id):
        return "none found"
    shares = [d for _, target, d in graph.out_edges(owner_id, data=True) if d["relation"] == "share"
              and (d["scope"] != "direct" or target == searcher_id)]
    scopes = {d["scope"] for d in shares}
    if "direct" in scopes:
        return "direct"
    owner, searcher = agencies.get(owner_id), agencies.get(searcher_id)
    if "statewide" in scopes and owner and searcher and owner.state and owner.state == searcher.state:
        return "statewide"
    if "national" in scopes:
        return "national"
    return "none found"


def door_of(scope: str | None, searcher: Agency | None, beneficiary: Agency | None) -> str | None:
    """Front, back or side door (DOMAIN.md §2), read off one traced path."""
    if searcher is not None and searcher.is_dhs:
        if scope == "direct":
            return "front"
        if scope in ("statewide", "national", "none found"):
            return "back"
        return None
    if (beneficiary is not None and searcher is not None and beneficiary.id != searcher.id
            and beneficiary.is_dhs and searcher.level != "federal"):
        return "side"
    return None


def path_text(agencies: dict[int, Agency], owner_id: int | None, scope: str | None, searcher_id: int | None,
              beneficiary_id: int | None, basis: str | None) -> str:
    """The trace as a person reads it: `El Cajon CA PD →[national]→ Dallas TX PD →[acts for: reason]→ ICE`."""
    def name(agency_id: int | None) -> str:
        return agencies[agency_id].name if agency_id in agencies else "(unknown agency)"

    parts = [f"{name(owner_id)} →[{scope}]→ " if owner_id is not None else "(owner not in release) → "]
    parts.append(name(searcher_id))
    if beneficiary_id is not None and beneficiary_id != searcher_id:
        parts.append(f" →[acts for: {basis}]→ {name(beneficiary_id)}")
    return "".join(parts)
