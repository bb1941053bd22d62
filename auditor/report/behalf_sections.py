"""Two report sections: on whose behalf searches were done, and 287(g) agreements.

Each builder reads the stored results through :mod:`auditor.behalf` and :mod:`auditor.agreements`
and returns a plain section: ``{"id", "title", "kind": "tables", "paragraphs", "tables", "figures"}``,
where each table is ``{"id", "caption", "columns", "rows", "numeric"}`` and ``figures`` is the view
it was built from (for JSON readers and tests). Renderers only lay the tables out.
"""
from __future__ import annotations

from typing import Any

import sqlite_utils

from auditor.agreements import agreements_287g
from auditor.behalf import on_whose_behalf


def _table(table_id: str, caption: str, columns: list[tuple[str, str]], rows: list[dict[str, Any]],
           numeric: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"id": table_id, "caption": caption, "columns": [list(c) for c in columns], "rows": rows,
            "numeric": list(numeric)}


def behalf_section(db: sqlite_utils.Database, figures: dict[str, Any] | None = None) -> dict[str, Any]:
    """Who the searches were done for: each beneficiary with its evidence, and names left unresolved.

    ``figures`` are :func:`auditor.behalf.on_whose_behalf`'s, as `audit run` stored them; computed
    from the store when not given (a run made before they were stored).
    """
    b = figures if figures is not None else on_whose_behalf(db)
    basis = ", ".join(f"{k} {v:,}" for k, v in b["by_basis"].items()) or "none"
    paragraphs = [
        f"Of {b['searches']:,} searches, {b['for_others']:,} were done for another agency (by evidence: {basis}); "
        f"{b['named_unresolved']:,} name a requester no agency of the store or the registry matches (kept as "
        f"written, low confidence); the other {b['for_themselves']:,} show no one but the searcher."]
    tables = []
    if b["beneficiaries"]:
        shown = len(b["beneficiaries"])
        more = f" The {shown} largest of {b['beneficiaries_total']:,} are shown." if b["beneficiaries_total"] > shown else ""
        tables.append(_table(
            "beneficiaries", "Searches done for another agency, per beneficiary and evidence (de-duplicated searches)."
            + more,
            [("beneficiary", "on behalf of"), ("state", "state"), ("level", "level"), ("kind", "kind"),
             ("basis_words", "evidence"), ("searches", "searches"), ("searchers", "searchers"),
             ("confidence", "confidence"), ("example", "example")],
            b["beneficiaries"], ("searches", "searchers")))
    if b["unresolved"]:
        names = f"{b['unresolved_total']:,} name" + ("" if b["unresolved_total"] == 1 else "s")
        tables.append(_table(
            "named-unresolved", f"Named but not resolved ({names}): the requester as the reason writes it.",
            [("name", "name as written"), ("searches", "searches"), ("searchers", "searchers"),
             ("confidence", "confidence"), ("example", "evidence")],
            b["unresolved"], ("searches", "searchers")))
    return {"id": "behalf", "title": "On whose behalf", "kind": "tables", "paragraphs": paragraphs,
            "tables": tables, "figures": b}


def agreements_section(db: sqlite_utils.Database, figures: dict[str, Any] | None = None) -> dict[str, Any]:
    """287(g): partners and searchers holding agreements, owners reached, how ICE's list matched.

    ``figures`` are :func:`auditor.agreements.agreements_287g`'s as `audit run` stored them, or None.
    """
    g = figures if figures is not None else agreements_287g(db)
    if not g["checked"]:
        return {"id": "agreements-287g", "title": "287(g) agreements", "kind": "tables", "tables": [], "figures": g,
                "paragraphs": ["Not checked: run `audit run --ice-287g FILE` with ICE's published list."]}
    types = ", ".join(f"{k} {v:,}" for k, v in g["by_agreement_type"].items())
    paragraphs = [
        f"{g['agencies_287g']:,} agencies in the store hold a 287(g) agreement with ICE ({types}): "
        f"{g['partners_287g']:,} of {g['partners_total']:,} sharing partners and {g['searchers_287g']:,} searchers "
        f"({g['searches_by_287g']:,} searches). {g['note']} Source: {g['source']}.",
        f"ICE's list matched {g['matched_by_key']:,} agencies by place and type and {g['matched_by_name']:,} by "
        f"name; {g['near_misses_total']:,} near-misses were left unmatched for a person to check."]
    tables = []
    if g["partners"]:
        tables.append(_table("partners-287g", "Sharing partners with 287(g) agreements.",
                             [("agency", "agency"), ("state", "state"), ("kind", "kind"),
                              ("agreement", "agreement type"), ("shares", "shares")], g["partners"], ("shares",)))
    if g["searchers"]:
        tables.append(_table(
            "searchers-287g", "Searchers with 287(g) agreements (de-duplicated searches).",
            [("agency", "agency"), ("state", "state"), ("kind", "kind"), ("agreement", "agreement type"),
             ("searches", "searches"), ("of_others_data", "of others' data"),
             ("immigration_related", "immigration-related"), ("owners_reached", "owners reached")],
            g["searchers"], ("searches", "of_others_data", "immigration_related", "owners_reached")))
    if g["owners"]:
        tables.append(_table("owners-287g", "Owners whose data reached a 287(g) agency.",
                             [("owner", "owner"), ("state", "state"), ("searches", "searches"),
                              ("agencies_287g", "287(g) agencies"), ("note", "law")],
                             g["owners"], ("searches", "agencies_287g")))
    if g["near_misses"]:
        tables.append(_table("near-misses-287g", "Near-misses: ICE entries that resemble an agency left unmatched.",
                             [("agency", "agency in the store"), ("state", "state"), ("ice_name", "ICE's entry"),
                              ("agreement", "agreement type"), ("similarity", "similarity")], g["near_misses"]))
    return {"id": "agreements-287g", "title": "287(g) agreements", "kind": "tables", "paragraphs": paragraphs,
            "tables": tables, "figures": g}
