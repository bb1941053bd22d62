"""On whose behalf: the searches done for another agency, aggregated per beneficiary.

Reads what `audit run` stored (`beneficiaries`, `beneficiary_names`); nothing is inferred here.
Counts are de-duplicated searches.
"""
from __future__ import annotations

from typing import Any

import sqlite_utils

# How each basis is said in a report.
BASIS_WORDS = {
    "reason": "named in the reason",
    "287g": "287(g) agreement and an immigration purpose",
    "plate_relay": "plate relay (a DHS component searched the same plate within days)",
}


def on_whose_behalf(db: sqlite_utils.Database, top: int = 30) -> dict[str, Any]:
    """Searches done for others, per beneficiary and basis, and the named requesters left unresolved."""
    total = db.execute("SELECT COUNT(*) FROM searches").fetchone()[0]
    for_others = db.execute("SELECT COUNT(*) FROM beneficiaries").fetchone()[0]
    unresolved_total = db.execute("SELECT COUNT(*) FROM beneficiary_names").fetchone()[0]
    by_basis = {basis: n for basis, n in db.execute(
        "SELECT basis, COUNT(*) FROM beneficiaries GROUP BY basis ORDER BY COUNT(*) DESC")}
    rows = db.execute(
        """SELECT a.name, a.state, a.level, a.kind, a.dhs_component, b.basis, COUNT(*) AS n,
                  COUNT(DISTINCT s.searcher_id), MIN(b.confidence), MAX(b.confidence), MIN(b.evidence)
           FROM beneficiaries b JOIN searches s ON s.id = b.search_id JOIN agencies a ON a.id = b.beneficiary_id
           GROUP BY b.beneficiary_id, b.basis ORDER BY n DESC, a.name"""
    ).fetchall()
    beneficiaries = [{
        "beneficiary": name, "state": state, "level": level, "kind": kind, "dhs_component": component,
        "basis": basis, "basis_words": BASIS_WORDS.get(basis, basis), "searches": n, "searchers": searchers,
        "confidence": _range(lo, hi), "example": example,
    } for name, state, level, kind, component, basis, n, searchers, lo, hi, example in rows]
    unresolved = [{
        "name": name, "searches": n, "searchers": searchers, "confidence": _range(conf, conf), "example": example,
    } for name, n, searchers, conf, example in db.execute(
        """SELECT bn.name, COUNT(*) AS n, COUNT(DISTINCT s.searcher_id), MIN(bn.confidence), MIN(bn.evidence)
           FROM beneficiary_names bn JOIN searches s ON s.id = bn.search_id
           GROUP BY bn.name ORDER BY n DESC, bn.name""")]
    by_level = {level: n for level, n in db.execute(
        """SELECT a.level, COUNT(*) FROM beneficiaries b JOIN agencies a ON a.id = b.beneficiary_id
           GROUP BY a.level ORDER BY COUNT(*) DESC""")}
    return {
        "searches": total,
        "for_others": for_others,
        "named_unresolved": unresolved_total,
        "for_themselves": total - for_others - unresolved_total,
        "by_basis": by_basis,
        "by_level": by_level,
        "beneficiaries": beneficiaries[:top],
        "beneficiaries_total": len(beneficiaries),
        "unresolved": unresolved[:top],
        "unresolved_total": len(unresolved),
    }


def _range(lo: float | None, hi: float | None) -> str | None:
    if lo is None:
        return None
    return f"{lo:.2f}" if hi is None or abs(hi - lo) < 0.005 else f"{lo:.2f}-{hi:.2f}"
