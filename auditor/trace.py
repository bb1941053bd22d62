"""Who each search was really for: the acts-for inferences behind a trace's beneficiary.

Four kinds of evidence, strongest first; a search keeps the first that applies:

1. ``reason``: the reason names a DHS immigration component (`HSI assist`, `per ICE ERO`);
2. ``reason``: the reason names any other agency as requester (`assist Springfield PD`,
   `per Greene County SO`, `STIC request`, `for LCSO`), resolved against the store's agencies and
   the registry in the searcher's state (:mod:`auditor.requesters`); a name nothing matches is
   kept as text in ``beneficiary_names`` with low confidence;
3. ``287g``: the searcher holds a 287(g) agreement with ICE and the reason states an immigration
   purpose without naming a component;
4. ``plate_relay``: a DHS component searched a plate (or someone searched it for one), and within
   the relay window another agency searched the same plate giving no meaningful purpose, or only
   an unnamed assist (`task force`, `federal assist`).

All are set-based: names are read once per distinct reason and resolved once per distinct
(reason, searcher), then joined back to searches in SQL; the relay join starts from the few
DHS-linked searches and uses the (plate, time) index, so its cost does not grow with the number
of unrelated rows.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

from auditor.agencies import Resolver
from auditor.facts import IMMIGRATION_TAG, STORE_TIME_FORMAT
from auditor.rules.measures.searches import NO_PURPOSE_SQL
from auditor.requesters import MentionResolver, RequesterReader, Resolution, StoreAgency, default_reader
from auditor.state_requesters import StateAgency
from auditor.schema import ensure_agency
from auditor.vocabulary import COMPONENT_AGENCIES, COMPONENT_KIND as _KIND

# Confidence of each basis, as stored in `beneficiaries.confidence` (named agencies carry their own).
CONFIDENCE = {"reason": 0.9, "287g": 0.7, "plate_relay": 0.5}


@dataclass(frozen=True)
class BeneficiaryReport:
    """Searches given a beneficiary, by evidence (de-duplicated searches)."""

    by_reason: int  # a DHS component named in the reason
    by_named_agency: int  # another agency named in the reason and resolved
    by_287g: int
    by_plate_relay: int
    named_unresolved: int  # an agency named but not resolved: kept as text in beneficiary_names


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


def infer_beneficiaries(db: sqlite_utils.Database, *, relay_days: float = 7.0,
                        reader: RequesterReader | None = None) -> BeneficiaryReport:
    """Fill `beneficiaries` (searches done for someone other than the searcher) and
    `beneficiary_names` (named requesters nothing resolves). Needs reason_tags."""
    if "confidence" not in db["beneficiaries"].columns_dict:
        db.execute("ALTER TABLE beneficiaries ADD COLUMN confidence FLOAT")  # a store from before the column
    components = ensure_component_agencies(db)
    db.execute("DELETE FROM beneficiaries")
    db.execute("DELETE FROM beneficiary_names")
    db.execute("DROP TABLE IF EXISTS temp.component_map")
    db.execute("CREATE TEMP TABLE component_map (component TEXT PRIMARY KEY, agency_id INTEGER)")
    db.conn.executemany("INSERT INTO temp.component_map VALUES (?, ?)", list(components.items()))

    # 1. The reason names a component. A DHS searcher naming its own agency acts for itself.
    db.execute(
        """INSERT OR IGNORE INTO beneficiaries (search_id, beneficiary_id, basis, evidence, confidence)
           SELECT s.id, cm.agency_id, 'reason', 'reason names ' || rt.value || ': "' || rt.evidence || '"', rt.confidence
           FROM reason_tags rt
           JOIN temp.component_map cm ON cm.component = rt.value
           JOIN searches s ON s.reason_id = rt.reason_id
           JOIN agencies a ON a.id = s.searcher_id
           WHERE rt.tag = 'dhs_beneficiary' AND a.dhs_component IS NULL
           ORDER BY s.id, CASE rt.value WHEN 'ERO' THEN 0 WHEN 'ICE' THEN 1 WHEN 'USBP' THEN 2
                               WHEN 'CBP' THEN 3 ELSE 4 END"""
    )
    by_reason = db.execute("SELECT COUNT(*) FROM beneficiaries").fetchone()[0]

    by_named, unresolved = _named_agencies(db, reader or default_reader())

    # 3. A 287(g) agency stating an immigration purpose acts under its agreement with ICE.
    db.execute(
        f"""INSERT OR IGNORE INTO beneficiaries (search_id, beneficiary_id, basis, evidence, confidence)
           SELECT s.id, ?, '287g',
                  'searcher holds a 287(g) agreement (' || COALESCE(a.support_287g, 'listed') || ') and states an immigration purpose',
                  {CONFIDENCE["287g"]}
           FROM reason_tags rt
           JOIN searches s ON s.reason_id = rt.reason_id
           JOIN agencies a ON a.id = s.searcher_id
           WHERE rt.tag = '{IMMIGRATION_TAG}' AND a.is_287g = 1 AND a.dhs_component IS NULL""",
        [components["ICE"]],
    )
    by_287g = db.execute("SELECT COUNT(*) FROM beneficiaries WHERE basis = '287g'").fetchone()[0]

    # 4. Plate relay: anchors are searches by a DHS component or already known to be for one.
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
        f"""INSERT OR IGNORE INTO beneficiaries (search_id, beneficiary_id, basis, evidence, confidence)
            SELECT s.id, r.dhs_id, 'plate_relay',
                   'plate ' || s.plate || ' searched by ' || ra.name || ' (search ' || r.search_id || ') at '
                   || r.time || ', within {relay_days:g} days', {CONFIDENCE["plate_relay"]}
            FROM relay_anchor r
            JOIN agencies ra ON ra.id = r.searcher_id
            JOIN searches s ON s.plate = r.plate
                 AND s.time BETWEEN strftime('{STORE_TIME_FORMAT}', r.time, '-{window}')
                                AND strftime('{STORE_TIME_FORMAT}', r.time, '+{window}')
            JOIN agencies a ON a.id = s.searcher_id
            WHERE s.searcher_id != r.searcher_id AND a.dhs_component IS NULL
              AND s.id NOT IN (SELECT search_id FROM relay_anchor)
              AND (({NO_PURPOSE_SQL}) OR s.reason_id IN (SELECT reason_id FROM temp.cover_reason))
            ORDER BY s.id, ABS(julianday(s.time) - julianday(r.time))"""
    )
    by_relay = db.execute("SELECT COUNT(*) FROM beneficiaries WHERE basis = 'plate_relay'").fetchone()[0]
    return BeneficiaryReport(by_reason, by_named, by_287g, by_relay, unresolved)


def _named_agencies(db: sqlite_utils.Database, reader: RequesterReader) -> tuple[int, int]:
    """Step 2: agencies a reason names as requester. Returns (searches resolved, searches unresolved).

    Names are read once per distinct reason; each distinct (reason, searcher) is resolved once in
    the searcher's state; the results are joined back to the searches in SQL.
    """
    mentions = {}
    for reason_id, text in db.execute("SELECT id, text FROM reasons"):
        found = reader.mentions(text)
        if found:
            mentions[reason_id] = found
    if not mentions:
        return 0, 0
    db.execute("DROP TABLE IF EXISTS temp.named_reason")
    db.execute("CREATE TEMP TABLE named_reason (reason_id INTEGER PRIMARY KEY)")
    db.conn.executemany("INSERT INTO temp.named_reason VALUES (?)", [(r,) for r in mentions])
    # Each search naming someone, with its owners' states (an acronym the searcher's state does not
    # decide is read in the owners' states): resolved once per distinct (reason, searcher, owner states).
    db.execute("DROP TABLE IF EXISTS temp.named_search")
    db.execute(
        """CREATE TEMP TABLE named_search AS
           SELECT s.id AS search_id, s.reason_id, s.searcher_id,
                  COALESCE((SELECT group_concat(st, ',') FROM (
                      SELECT DISTINCT oa.state AS st FROM search_owners so JOIN agencies oa ON oa.id = so.owner_id
                      WHERE so.search_id = s.id AND oa.state IS NOT NULL ORDER BY st)), '') AS owners
           FROM searches s JOIN temp.named_reason n ON n.reason_id = s.reason_id"""
    )
    pairs = db.execute(
        """SELECT DISTINCT ns.reason_id, ns.searcher_id, a.state, ns.owners FROM temp.named_search ns
           JOIN agencies a ON a.id = ns.searcher_id"""
    ).fetchall()
    agencies = [StoreAgency(*row) for row in db.execute("SELECT id, name, state, kind FROM agencies")]
    spellings = dict(db.execute("SELECT name, agency_id FROM agency_names").fetchall())
    registry = Resolver()
    resolver = MentionResolver(agencies, spellings, reader, registry)
    created: dict[str, int] = {}
    resolved_rows, unresolved_rows = [], []
    for reason_id, searcher_id, state, owners in pairs:
        owner_states = tuple(owners.split(",")) if owners else ()
        for mention in mentions[reason_id]:
            found = resolver.resolve(mention, state, searcher_id, owner_states)
            agency_id = found.agency_id
            if agency_id is None and found.how == "registry-new":
                agency_id = created.get(found.name) or _create_registry_agency(db, registry, found.name, found.state_agency)
                created[found.name] = agency_id
            if agency_id == searcher_id:
                continue  # the searcher names itself (`Springfield PD case`): its own work
            if agency_id is not None:
                how = found.note or ("registry" if found.how == "registry-new" else found.how)
                evidence = f'reason names {found.name} ({how}): "{mention.evidence}"'
                resolved_rows.append((reason_id, searcher_id, owners, agency_id, evidence,
                                      round(found.confidence * mention.confidence, 3)))
            else:
                unresolved_rows.append((reason_id, searcher_id, owners, found.name,
                                        f'reason names "{mention.evidence}"; ' + _why_unresolved(found, state, owner_states),
                                        found.confidence))
            break  # the first name a reason gives (resolved or not) is the requester
    db.execute("DROP TABLE IF EXISTS temp.named_beneficiary")
    db.execute("CREATE TEMP TABLE named_beneficiary (reason_id INTEGER, searcher_id INTEGER, owners TEXT, "
               "beneficiary_id INTEGER, evidence TEXT, confidence REAL, PRIMARY KEY (reason_id, searcher_id, owners))")
    db.conn.executemany("INSERT INTO temp.named_beneficiary VALUES (?, ?, ?, ?, ?, ?)", resolved_rows)
    before = db.execute("SELECT COUNT(*) FROM beneficiaries").fetchone()[0]
    db.execute(
        """INSERT OR IGNORE INTO beneficiaries (search_id, beneficiary_id, basis, evidence, confidence)
           SELECT s.search_id, nb.beneficiary_id, 'reason', nb.evidence, nb.confidence
           FROM temp.named_search s
           JOIN temp.named_beneficiary nb ON nb.reason_id = s.reason_id AND nb.searcher_id = s.searcher_id
                AND nb.owners = s.owners"""
    )
    by_named = db.execute("SELECT COUNT(*) FROM beneficiaries").fetchone()[0] - before
    db.execute("DROP TABLE IF EXISTS temp.named_unresolved")
    db.execute("CREATE TEMP TABLE named_unresolved (reason_id INTEGER, searcher_id INTEGER, owners TEXT, name TEXT, "
               "evidence TEXT, confidence REAL, PRIMARY KEY (reason_id, searcher_id, owners))")
    db.conn.executemany("INSERT INTO temp.named_unresolved VALUES (?, ?, ?, ?, ?, ?)", unresolved_rows)
    db.execute(
        """INSERT OR IGNORE INTO beneficiary_names (search_id, name, evidence, confidence)
           SELECT s.search_id, nu.name, nu.evidence, nu.confidence FROM temp.named_unresolved nu
           JOIN temp.named_search s ON s.reason_id = nu.reason_id AND s.searcher_id = nu.searcher_id
                AND s.owners = nu.owners
           WHERE s.search_id NOT IN (SELECT search_id FROM beneficiaries)"""
    )
    unresolved = db.execute("SELECT COUNT(*) FROM beneficiary_names").fetchone()[0]
    return by_named, unresolved


def _why_unresolved(found: Resolution, state: str | None, owner_states: tuple[str, ...]) -> str:
    """Why a named requester stays text: nothing matches, or an acronym the search's states do not decide."""
    if not found.candidates:
        return "no agency of the store or the registry matches"
    where = f"the searcher's state ({state or 'unknown'})"
    if owner_states:
        where += f" and the owners' ({', '.join(owner_states)})"
    return f"candidates: {'; '.join(found.candidates)}; {where} do not decide between them"


def _create_registry_agency(db: sqlite_utils.Database, registry: Resolver, name: str,
                            state_agency: StateAgency | None = None) -> int:
    """An agency a registry knows but the store lacks (the state's fusion center), as a row."""
    agency_id = ensure_agency(db, name)
    if state_agency is not None:  # from the state-level registry: a state body, or a multi-state HIDTA
        values = [state_agency.state, "state", state_agency.kind, None, "registry", 0.95]
    else:
        info = registry.resolve(name)
        values = [info.state, info.level, info.kind, info.dhs_component, info.resolved_by, info.confidence]
    db.execute(
        "UPDATE agencies SET state = ?, level = ?, kind = ?, dhs_component = ?, resolved_by = ?, confidence = ? "
        "WHERE id = ? AND (resolved_by IS NULL OR resolved_by = 'unknown')",
        values + [agency_id],
    )
    return agency_id
