"""Who each search was really for: the acts-for inferences behind a trace's beneficiary.

Three kinds of evidence, strongest first; a search keeps the first that applies:

1. ``reason``: the reason names a DHS immigration component (`HSI assist`, `per ICE ERO`);
2. ``287g``: the searcher holds a 287(g) agreement with ICE and the reason states an immigration
   purpose without naming a component;
3. ``plate_relay``: a DHS component searched a plate (or someone searched it for one), and within
   the relay window another agency searched the same plate giving no meaningful purpose, or only
   an unnamed assist (`task force`, `federal assist`).

All three are set-based SQL over the store; the relay join starts from the few DHS-linked searches
and uses the (plate, time) index, so its cost does not grow with the number of unrelated rows.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

from auditor.measures import NO_PURPOSE_SQL

# The agencies a reason can name, as rows the trace can point at.
COMPONENT_AGENCIES = {
    "ICE": "U.S. Immigration and Customs Enforcement (ICE)",
    "ERO": "ICE Enforcement and Removal Operations (ERO)",
    "HSI": "Homeland Security Investigations (HSI)",
    "CBP": "U.S. Customs and Border Protection (CBP)",
    "USBP": "U.S. Border Patrol (USBP)",
}
_KIND = {"ICE": "ICE", "ERO": "ICE", "HSI": "HSI", "CBP": "CBP", "USBP": "USBP"}


@dataclass(frozen=True)
class BeneficiaryReport:
    by_reason: int
    by_287g: int
    by_plate_relay: int


def ensure_component_agencies(db: sqlite_utils.Database) -> dict[str, int]:
    """Make sure each DHS immigration component has an agency row; return component -> id."""
    ids = {}
    for component, name in COMPONENT_AGENCIES.items():
        row = db.execute("SELECT id FROM agencies WHERE name = ?", [name]).fetchone()
        if row is None:
            agency_id = db.execute(
                "INSERT INTO agencies (name, state, level, kind, dhs_component, resolved_by, confidence) "
                "VALUES (?, NULL, 'federal', ?, ?, 'registry', 1.0)",
                [name, _KIND[component], component],
            ).lastrowid
            db.execute("INSERT OR IGNORE INTO agency_names (name, agency_id) VALUES (?, ?)", [name, agency_id])
        else:
            agency_id = row[0]
            db.execute(
                "UPDATE agencies SET level = 'federal', kind = ?, dhs_component = ? WHERE id = ?",
                [_KIND[component], component, agency_id],
            )
        ids[component] = agency_id
    return ids


def infer_beneficiaries(db: sqlite_utils.Database, *, relay_days: float = 7.0) -> BeneficiaryReport:
    """Fill `beneficiaries` (searches done for someone other than the searcher). Needs reason_tags."""
    components = ensure_component_agencies(db)
    db.execute("DELETE FROM beneficiaries")
    db.execute("DROP TABLE IF EXISTS temp.component_map")
    db.execute("CREATE TEMP TABLE component_map (component TEXT PRIMARY KEY, agency_id INTEGER)")
    db.conn.executemany("INSERT INTO temp.component_map VALUES (?, ?)", list(components.items()))

    # 1. The reason names a component. A DHS searcher naming its own agency acts for itself.
    db.execute(
        """INSERT OR IGNORE INTO beneficiaries (search_id, beneficiary_id, basis, evidence)
           SELECT s.id, cm.agency_id, 'reason', 'reason names ' || rt.value || ': "' || rt.evidence || '"'
           FROM reason_tags rt
           JOIN temp.component_map cm ON cm.component = rt.value
           JOIN searches s ON s.reason_id = rt.reason_id
           JOIN agencies a ON a.id = s.searcher_id
           WHERE rt.tag = 'dhs_beneficiary' AND a.dhs_component IS NULL
           ORDER BY s.id, CASE rt.value WHEN 'ERO' THEN 0 WHEN 'ICE' THEN 1 WHEN 'USBP' THEN 2
                               WHEN 'CBP' THEN 3 ELSE 4 END"""
    )
    by_reason = db.execute("SELECT COUNT(*) FROM beneficiaries").fetchone()[0]

    # 2. A 287(g) agency stating an immigration purpose acts under its agreement with ICE.
    db.execute(
        """INSERT OR IGNORE INTO beneficiaries (search_id, beneficiary_id, basis, evidence)
           SELECT s.id, ?, '287g',
                  'searcher holds a 287(g) agreement (' || COALESCE(a.support_287g, 'listed') || ') and states an immigration purpose'
           FROM reason_tags rt
           JOIN searches s ON s.reason_id = rt.reason_id
           JOIN agencies a ON a.id = s.searcher_id
           WHERE rt.tag = 'immigration' AND a.is_287g = 1 AND a.dhs_component IS NULL""",
        [components["ICE"]],
    )
    by_287g = db.execute("SELECT COUNT(*) FROM beneficiaries WHERE basis = '287g'").fetchone()[0]

    # 3. Plate relay: anchors are searches by a DHS component or already known to be for one.
    db.execute("DROP TABLE IF EXISTS temp.relay_anchor")
    db.execute(
        """CREATE TEMP TABLE relay_anchor AS
           SELECT s.id AS search_id, s.plate, s.time, s.searcher_id,
                  COALESCE(b.beneficiary_id, s.searcher_id) AS dhs_id
           FROM searches s
           JOIN agencies a ON a.id = s.searcher_id
           LEFT JOIN beneficiaries b ON b.search_id = s.id
           LEFT JOIN agencies ba ON ba.id = b.beneficiary_id
           WHERE s.plate IS NOT NULL AND (a.dhs_component IS NOT NULL OR ba.dhs_component IS NOT NULL)"""
    )
    # Besides reasons that say nothing, a cover story that only says another agency was helped
    # (`task force`, `federal assist`) without naming it can hide the request.
    db.execute("DROP TABLE IF EXISTS temp.cover_reason")
    db.execute(
        """CREATE TEMP TABLE cover_reason AS SELECT reason_id FROM reason_tags GROUP BY reason_id
           HAVING MIN(tag IN ('assist_other_agency', 'federal_other', 'vague', 'case_number_only')) = 1
              AND MAX(tag IN ('assist_other_agency', 'federal_other')) = 1"""
    )
    window = f"{relay_days * 86400:.0f} seconds"
    db.execute(
        f"""INSERT OR IGNORE INTO beneficiaries (search_id, beneficiary_id, basis, evidence)
            SELECT s.id, r.dhs_id, 'plate_relay',
                   'plate ' || s.plate || ' searched by ' || ra.name || ' (search ' || r.search_id || ') at '
                   || r.time || ', within {relay_days:g} days'
            FROM relay_anchor r
            JOIN agencies ra ON ra.id = r.searcher_id
            JOIN searches s ON s.plate = r.plate
                 AND s.time BETWEEN strftime('%Y-%m-%dT%H:%M:%SZ', r.time, '-{window}')
                                AND strftime('%Y-%m-%dT%H:%M:%SZ', r.time, '+{window}')
            JOIN agencies a ON a.id = s.searcher_id
            WHERE s.searcher_id != r.searcher_id AND a.dhs_component IS NULL
              AND s.id NOT IN (SELECT search_id FROM relay_anchor)
              AND (({NO_PURPOSE_SQL}) OR s.reason_id IN (SELECT reason_id FROM temp.cover_reason))
            ORDER BY s.id, ABS(julianday(s.time) - julianday(r.time))"""
    )
    by_relay = db.execute("SELECT COUNT(*) FROM beneficiaries WHERE basis = 'plate_relay'").fetchone()[0]
    return BeneficiaryReport(by_reason, by_287g, by_relay)
