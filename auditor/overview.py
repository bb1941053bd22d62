"""Describe every search of an audited store, once, at the end of `audit run`.

The report and the Datasette views read what this stage stored instead of recomputing it:

    describe_run(db, run_id)   -> plain dict, stored in runs.summary["overview"]

Three passes over the searches, each counting distinct values only (``collections.Counter`` over
the cursor, or a GROUP BY that follows an index), never holding rows:

    who/when  (owner, searcher, beneficiary, basis, month, immigration-related, has findings)
              -> the map, flows, searchers, states, months, agencies, month_summary
    how       (search type, networks-searched band, has findings)
    why       (reason, has findings), grouped along the reason index      -> purposes

Every count is of de-duplicated searches; a search of several owners' data counts once per owner in
the owner-keyed figures (they say so). Agency-keyed lists are stored whole in the summary tables
(agency_summary, state_summary, month_summary) and capped (STORED_ROWS) in the run summary.
It also stores the accountability tables and, for simulated stores, the self-score, which a report
used to recompute on every write.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, is_dataclass
from typing import Any

import sqlite_utils

from auditor.agreements import agreements_287g
from auditor.behalf import on_whose_behalf
from auditor.facts import agency_place, dhs_linked, is_unresolved, month_sql, search_immigration_sql

NO_TAG = "(no purpose tag)"
STORED_ROWS = 200  # rows kept per agency-keyed list in the run summary; the full lists are tables
# Bands of "Total Networks Searched": one network is usually the searcher's own; hundreds or
# thousands are a statewide or national lookup (a mass search starts at 500 by default).
NETWORK_BANDS = ((1, 1, "1"), (2, 10, "2-10"), (11, 100, "11-100"), (101, 499, "101-499"),
                 (500, 999, "500-999"), (1000, 4999, "1,000-4,999"), (5000, None, "5,000 or more"))


# Searches whose release gives no network count: a portal audit counts the cameras searched
# (`cameraCount`, stored as devices) instead, which is not "not logged".
_UNBANDED = {-2: "(cameras counted, not networks)", -1: "(not logged)"}


def _band_sql() -> str:
    whens = " ".join(
        f"WHEN s.networks >= {lo}" + (f" AND s.networks <= {hi}" if hi else "") + f" THEN {i}"
        for i, (lo, hi, _) in enumerate(NETWORK_BANDS))
    # -2: the release counts cameras instead (a portal's cameraCount), -1: it logs neither.
    return f"CASE {whens} WHEN s.devices IS NOT NULL THEN -2 ELSE -1 END"


def describe_run(db: sqlite_utils.Database, run_id: int) -> dict[str, Any]:
    """Everything the report and the summary views need about the searches of this run."""
    agencies = {
        row[0]: {"name": row[1], "state": row[2], "level": row[3], "kind": row[4], "dhs_component": row[5],
                 "is_287g": row[6]}
        for row in db.execute("SELECT id, name, state, level, kind, dhs_component, is_287g FROM agencies")
    }
    _mark(db, run_id)
    try:
        who, when, owner_months = _who_and_when(db)
        how, why = _how_and_why(db)
    finally:
        db.execute("DROP TABLE IF EXISTS temp.overview_flagged")
    # A search has one key per owner (auditor.keypass), so searches of several owners' data are the
    # searches with several keys; search_keys is in search order, so this groups without sorting.
    multi_owner = db.execute(
        "SELECT COUNT(*) FROM (SELECT search_id FROM search_keys GROUP BY search_id HAVING COUNT(*) > 1)"
    ).fetchone()[0]
    agency_rows, state_rows = _agencies(who, when, agencies), _states(when, agencies)
    write_summary_tables(db, run_id, agency_rows, state_rows, _owner_months(owner_months, agencies))
    overview = {
        "totals": _totals(db, run_id, when, who, agencies, multi_owner),
        "owners": _owners(who, agencies),
        "agencies": agency_rows[:STORED_ROWS],
        "agencies_total": len(agency_rows),
        "states": state_rows,
        "months": _series(((m, imm, fl, n) for _, _, m, imm, fl, n in when), key_label=lambda m: m or "(no time)"),
        "search_types": _series(((t, None, fl, n) for (t, _, fl), n in how.items()), by_size=True),
        "networks": _series(((NETWORK_BANDS[b][2] if b >= 0 else _UNBANDED[b], None, fl, n)
                             for (_, b, fl), n in how.items()),
                            order=[b[2] for b in NETWORK_BANDS] + list(_UNBANDED.values())),
        "purposes": _purposes(db, run_id, why),
        "flows": _flows(db, who, agencies),
        "immigration": _immigration(when, agencies),
        "on_behalf": _on_behalf(who, agencies),
    }
    overview["accountability"] = _accountability(db, [o["owner_id"] for o in overview["owners"]])
    overview["score"] = _score(db, run_id)
    from auditor.report.build import citation_groups  # the report owns what its citations read

    # What the report's sections on beneficiaries, 287(g) and jurisdictions show, so a report reads it
    # here instead of grouping the searches again.
    overview["jurisdictions"] = _jurisdictions(who, agencies)
    overview["behalf"] = on_whose_behalf(db)
    overview["agreements_287g"] = agreements_287g(db)
    overview["citation_groups"] = citation_groups(db, run_id)
    from auditor.whatif import policy_comparison  # whatif reads the keys this run stored

    overview["whatif"] = policy_comparison(db, during_run=True)
    return overview


def _jurisdictions(who, agencies) -> list[dict[str, Any]]:
    """Searches per owner, and per searcher of the searches no release names an owner for.

    The report adds the laws applied to each (auditor.jurisdictions.applied) when it is written.
    """
    owners: Counter = Counter()
    ownerless: Counter = Counter()
    for owner_id, searcher_id, _, _, _imm, _flagged, n in who:
        if owner_id is None:
            ownerless[searcher_id] += n
        else:
            owners[owner_id] += n
    none = {"name": None, "state": None}
    rows = [{"agency": agencies[a]["name"], "role": "owner", "state": agencies[a]["state"], "searches": n}
            for a, n in sorted(owners.items(), key=lambda kv: (-kv[1], agencies[kv[0]]["name"] or ""))]
    searchers = [(agencies.get(a, none)["name"] or "(unknown searcher)", agencies.get(a, none)["state"], n)
                 for a, n in ownerless.items() if n]
    rows += [{"agency": name, "role": "searcher (no owner in release)", "state": state, "searches": n}
             for name, state, n in sorted(searchers, key=lambda r: (-r[2], r[0]))]
    return rows


def _mark(db: sqlite_utils.Database, run_id: int) -> None:
    # A small keyed set in the temp schema (a report never writes it to the store): searches with a
    # per-search finding (streamed in order off the findings index).
    db.execute("DROP TABLE IF EXISTS temp.overview_flagged")
    db.execute("CREATE TEMP TABLE overview_flagged (search_id INTEGER PRIMARY KEY)")
    # Read off the grouped findings (search_keys is in search order), not the expanded `findings`
    # view: the same searches, without a row per search and rule.
    db.execute("INSERT INTO temp.overview_flagged SELECT DISTINCT k.search_id FROM search_keys k "
               "WHERE k.key_id IN (SELECT key_id FROM finding_groups WHERE run_id = ?) ORDER BY k.search_id",
               [run_id])


# Immigration-related is the one definition's SQL (auditor.facts), computed per search.
_SEARCH_FACTS = f"""
    s.searcher_id, COALESCE(b.beneficiary_id, s.searcher_id), b.basis, {month_sql('s.time')},
    {search_immigration_sql('s', 'b')},
    s.id IN (SELECT search_id FROM temp.overview_flagged)
"""


def _who_and_when(db: sqlite_utils.Database) -> tuple[list[tuple], list[tuple], Counter]:
    """One pass over searches x owners, counted in C (collections.Counter over the cursor).

    who:  (owner, searcher, beneficiary, basis, immigration-related, has findings, searches)
    when: (searcher, beneficiary, month, immigration-related, has findings, searches), each search once
    months: (owner, searcher, month, immigration-related, has findings) -> searches, per owner
    """
    cube = Counter(db.execute(
        f"""SELECT so.owner_id, {_SEARCH_FACTS} FROM searches s
            LEFT JOIN search_owners so ON so.search_id = s.id LEFT JOIN beneficiaries b ON b.search_id = s.id"""))
    # A search of several owners' data is one row per owner above: take its extra rows back out of
    # the per-search counts (a small pass: only those searches).
    extra = db.execute(
        f"""SELECT {_SEARCH_FACTS}, m.extra FROM
                (SELECT search_id, COUNT(*) - 1 AS extra FROM search_owners GROUP BY search_id HAVING COUNT(*) > 1) m
            JOIN searches s ON s.id = m.search_id LEFT JOIN beneficiaries b ON b.search_id = s.id""").fetchall()
    who: Counter = Counter()
    when: Counter = Counter()
    months: Counter = Counter()
    for (owner, searcher, beneficiary, basis, month, imm, flagged), n in cube.items():
        imm = bool(imm)
        who[(owner, searcher, beneficiary, basis, imm, bool(flagged))] += n
        when[(searcher, beneficiary, month, imm, bool(flagged))] += n
        months[(owner, searcher, month, imm, bool(flagged))] += n
    for searcher, beneficiary, basis, month, imm, flagged, n in extra:
        when[(searcher, beneficiary, month, bool(imm), bool(flagged))] -= n
    return [(*k, n) for k, n in who.items()], [(*k, n) for k, n in when.items() if n], months


def _how_and_why(db: sqlite_utils.Database) -> tuple[Counter, list[tuple]]:
    """(search type, networks band, has findings) counts, and per reason (reason, has findings) counts."""
    how: Counter = Counter()
    for (search_type, band, flagged), n in Counter(db.execute(
            f"""SELECT COALESCE(s.search_type, '(not logged)'), {_band_sql()},
                       s.id IN (SELECT search_id FROM temp.overview_flagged) FROM searches s""")).items():
        how[(search_type, band, bool(flagged))] += n
    # Grouped by reason alone, the GROUP BY follows the reason index: no sort.
    why = []
    for reason_id, n, flagged in db.execute(
            """SELECT s.reason_id, COUNT(*), SUM(s.id IN (SELECT search_id FROM temp.overview_flagged))
               FROM searches s GROUP BY s.reason_id"""):
        why += [(reason_id, True, flagged)] if flagged else []
        why += [(reason_id, False, n - flagged)] if n - flagged else []
    return how, why


def _add(counts: dict[str, int], imm: Any, flagged: Any, n: int) -> None:
    counts["searches"] = counts.get("searches", 0) + n
    counts["immigration_related"] = counts.get("immigration_related", 0) + (n if imm else 0)
    counts["with_findings"] = counts.get("with_findings", 0) + (n if flagged else 0)


def _totals(db, run_id, when, who, agencies, multi_owner) -> dict[str, Any]:
    # Zeros first: a store with no searches (its only import was killed) still has every total.
    totals: dict[str, Any] = {"searches": 0, "immigration_related": 0, "with_findings": 0}
    for _, _, _, imm, flagged, n in when:
        _add(totals, imm, flagged, n)
    scalar = lambda sql, *p: db.execute(sql, list(p)).fetchone()[0] or 0  # noqa: E731
    searchers = {s for s, *_ in when if s is not None}
    totals.update({
        "release_rows": scalar("SELECT COUNT(*) FROM sightings"),
        "releases": scalar("SELECT COUNT(*) FROM releases"),
        "rejected_rows": scalar("SELECT COUNT(*) FROM rejects"),
        "padding_rows": scalar("SELECT SUM(rows_padding) FROM releases"),
        "agencies": len(agencies),
        "unresolved_agencies": sum(1 for a in agencies.values() if is_unresolved(a["level"], a["state"])),
        # Rows of the `findings` view, counted from the groups: a key's searches per rule it broke.
        "finding_rows": scalar("SELECT COALESCE(SUM(sk.searches), 0) FROM finding_groups g "
                               "JOIN scan_keys sk ON sk.id = g.key_id WHERE g.run_id = ?", run_id)
        + scalar("SELECT COUNT(*) FROM aggregate_findings WHERE run_id = ?", run_id),
        "truth_searches": scalar("SELECT COUNT(*) FROM truth"),
        "owners": len({o for o, *_ in who if o is not None}),
        "searchers": len(searchers),
        "searcher_states": len({agencies[s]["state"] for s in searchers if agencies[s]["state"]}),
        "searches_without_owner": sum(r[-1] for r in who if r[0] is None),
        "searches_of_several_owners": multi_owner,
        "for_another_agency": sum(n for s, b, _, _, _, n in when if b is not None and b != s),
    })
    return totals


def _owners(who, agencies) -> list[dict[str, Any]]:
    """Per owner: its searches by searcher state (the map), own searches and out-of-state ones."""
    owners: dict[int, dict[str, Any]] = {}
    for owner_id, searcher_id, _, _, imm, flagged, n in who:
        if owner_id is None:
            continue
        o = owners.setdefault(owner_id, {"owner_id": owner_id, "owner": agencies[owner_id]["name"],
                                         "state": agencies[owner_id]["state"], "by_state": {}, "searchers": set()})
        _add(o, imm, flagged, n)
        searcher = agencies.get(searcher_id) or {}
        if searcher_id == owner_id:
            o["own_searches"] = o.get("own_searches", 0) + n
        state = agency_place(searcher.get("level"), searcher.get("state"))
        _add(o["by_state"].setdefault(state, {}), imm, flagged, n)
        if searcher_id is not None:
            o["searchers"].add(searcher_id)
        if state not in (o["state"], "unknown"):
            o["out_of_state"] = o.get("out_of_state", 0) + n
    out = []
    for o in sorted(owners.values(), key=lambda o: (-o["searches"], o["owner"])):
        o["searchers"] = len(o["searchers"])
        o.setdefault("own_searches", 0)
        o.setdefault("out_of_state", 0)
        o["by_state"] = dict(sorted(o["by_state"].items(), key=lambda kv: (-kv[1]["searches"], kv[0])))
        out.append(o)
    return out


def _agencies(who, when, agencies) -> list[dict[str, Any]]:
    """Per agency: searches it made (and for whom), and searches others made of its data."""
    rows: dict[int, dict[str, Any]] = defaultdict(dict)
    for searcher_id, beneficiary_id, _, imm, flagged, n in when:
        if searcher_id is None:
            continue
        r = rows[searcher_id]
        _add(r, imm, flagged, n)
        if beneficiary_id is not None and beneficiary_id != searcher_id:
            r["for_another_agency"] = r.get("for_another_agency", 0) + n
            b = rows[beneficiary_id]
            b["done_for_it"] = b.get("done_for_it", 0) + n
    for owner_id, searcher_id, _, _, imm, _, n in who:
        if owner_id is not None and searcher_id != owner_id:
            o = rows[owner_id]
            o["searches_of_its_data_by_others"] = o.get("searches_of_its_data_by_others", 0) + n
            o["immigration_related_of_its_data"] = o.get("immigration_related_of_its_data", 0) + (n if imm else 0)
    out = []
    for agency_id, r in rows.items():
        a = agencies[agency_id]
        out.append({"agency_id": agency_id, "agency": a["name"], "state": a["state"], "level": a["level"],
                    "kind": a["kind"], "dhs_component": a["dhs_component"], "is_287g": a["is_287g"],
                    "searches": r.get("searches", 0), "with_findings": r.get("with_findings", 0),
                    "immigration_related": r.get("immigration_related", 0),
                    "for_another_agency": r.get("for_another_agency", 0), "done_for_it": r.get("done_for_it", 0),
                    "searches_of_its_data_by_others": r.get("searches_of_its_data_by_others", 0),
                    "immigration_related_of_its_data": r.get("immigration_related_of_its_data", 0)})
    out.sort(key=lambda r: (-r["searches"], -r["searches_of_its_data_by_others"], r["agency"]))
    return out


def _state_of(agency: dict[str, Any] | None) -> str:
    return agency_place((agency or {}).get("level"), (agency or {}).get("state"))


def _states(when, agencies) -> list[dict[str, Any]]:
    """Per searcher state (federal agencies as `federal`): searches and searchers."""
    states: dict[str, dict[str, Any]] = {}
    for searcher_id, beneficiary_id, _, imm, flagged, n in when:
        s = states.setdefault(_state_of(agencies.get(searcher_id)), {"searchers": set()})
        _add(s, imm, flagged, n)
        if searcher_id is not None:
            s["searchers"].add(searcher_id)
        if beneficiary_id is not None and beneficiary_id != searcher_id:
            s["for_another_agency"] = s.get("for_another_agency", 0) + n
    return [{"state": k, **{**v, "searchers": len(v["searchers"])}, "for_another_agency": v.get("for_another_agency", 0)}
            for k, v in sorted(states.items(), key=lambda kv: (-kv[1]["searches"], kv[0]))]


def _series(rows, *, key_label=lambda k: k, by_size: bool = False, order: list[str] | None = None) -> list[dict]:
    groups: dict[Any, dict[str, int]] = {}
    for key, imm, flagged, n in rows:
        _add(groups.setdefault(key_label(key), {}), imm, flagged, n)
    if order is not None:
        keys = [k for k in order if k in groups]
    elif by_size:
        keys = sorted(groups, key=lambda k: (-groups[k]["searches"], str(k)))
    else:
        keys = sorted(groups, key=str)
    return [{"label": k, **groups[k]} for k in keys]


def _purposes(db, run_id, why) -> list[dict[str, Any]]:
    """Searches per purpose tag over all searches (a search with several tags counts for each)."""
    tags_of: dict[int, set[str]] = defaultdict(set)
    for reason_id, tag in db.execute("SELECT DISTINCT reason_id, tag FROM reason_tags"):
        tags_of[reason_id].add(tag)
    groups: dict[str, dict[str, int]] = {}
    for reason_id, flagged, n in why:
        for tag in tags_of.get(reason_id) or ({"missing"} if reason_id is None else {NO_TAG}):
            _add(groups.setdefault(tag, {}), False, flagged, n)
    # Tags inferred per search (287(g) status, plate relay) where the reason does not carry them.
    for tag, n, flagged in db.execute(
        """SELECT st.tag, COUNT(*), SUM(st.search_id IN (
                  SELECT k.search_id FROM search_keys k
                  WHERE k.key_id IN (SELECT key_id FROM finding_groups WHERE run_id = :run)))
           FROM search_tags st JOIN searches s ON s.id = st.search_id
           WHERE NOT EXISTS (SELECT 1 FROM reason_tags rt WHERE rt.reason_id = s.reason_id AND rt.tag = st.tag)
           GROUP BY st.tag""", {"run": run_id}):
        g = groups.setdefault(tag, {})
        g["searches"] = g.get("searches", 0) + n
        g["with_findings"] = g.get("with_findings", 0) + (flagged or 0)
        g["inferred"] = g.get("inferred", 0) + n
    out = [{"label": k, "searches": v["searches"], "with_findings": v.get("with_findings", 0),
            "inferred": v.get("inferred", 0)} for k, v in groups.items()]
    return sorted(out, key=lambda r: (-r["searches"], r["label"]))


def _flows(db, who, agencies) -> dict[str, Any]:
    """Every distinct owner -> searcher -> beneficiary flow of another agency's data, with its door."""
    traced = {(o, s, b): (scope, door) for o, s, b, scope, door in
              db.execute("SELECT owner_id, searcher_id, beneficiary_id, scope, door FROM traces")}
    flows: dict[tuple, dict[str, Any]] = {}
    own = 0
    for owner_id, searcher_id, beneficiary_id, _, imm, flagged, n in who:
        if owner_id is not None and owner_id == searcher_id:
            own += n
            continue
        key = (owner_id, searcher_id, beneficiary_id)
        f = flows.setdefault(key, {})
        _add(f, imm, flagged, n)
    name = lambda i: agencies[i]["name"] if i in agencies else None  # noqa: E731
    out = []
    for (owner_id, searcher_id, beneficiary_id), f in flows.items():
        scope, door = traced.get((owner_id, searcher_id, beneficiary_id), (None, None))
        out.append({"owner": name(owner_id), "scope": scope, "searcher": name(searcher_id),
                    "searcher_state": (agencies.get(searcher_id) or {}).get("state"),
                    "beneficiary": name(beneficiary_id) if beneficiary_id != searcher_id else None,
                    "door": door, **f})
    out.sort(key=lambda f: (-f["searches"], str(f["owner"]), str(f["searcher"]), str(f["beneficiary"])))
    # Stored: the largest flows and the largest through a door (the report draws a few of each).
    doors = [f for f in out if f["door"]]
    kept = {id(f) for f in out[:STORED_ROWS]} | {id(f) for f in doors[:STORED_ROWS]}
    return {"flows": [f for f in out if id(f) in kept], "distinct_flows": len(out), "own_data_searches": own,
            "door_flows": len(doors), "searches": sum(f["searches"] for f in out)}


def _immigration(when, agencies) -> dict[str, Any]:
    """Immigration-related searches: by whom, for whom, from which states; and beside them the
    searches run by or for a DHS immigration component that are not immigration-related (HSI on a
    criminal case: a federal beneficiary, not an immigration purpose; see auditor.facts)."""
    by_searcher: dict[int, int] = defaultdict(int)
    by_beneficiary: dict[str, int] = defaultdict(int)
    by_state: dict[str, int] = defaultdict(int)
    linked: dict[str, int] = defaultdict(int)  # component -> searches run by or for it, not immigration-related
    dhs_itself = for_dhs = other = 0
    for searcher_id, beneficiary_id, _, imm, _, n in when:
        searcher = agencies.get(searcher_id) or {}
        beneficiary = agencies.get(beneficiary_id) or {}
        if not imm:
            if dhs_linked(searcher.get("dhs_component"), beneficiary.get("dhs_component")):
                linked[searcher.get("dhs_component") or beneficiary["dhs_component"]] += n
            continue
        by_searcher[searcher_id] += n
        by_state[_state_of(searcher or None)] += n
        if searcher.get("dhs_component"):
            dhs_itself += n
        elif beneficiary_id != searcher_id and beneficiary.get("dhs_component"):
            for_dhs += n
            by_beneficiary[beneficiary["name"]] += n
        else:
            other += n
    top = sorted(by_searcher.items(), key=lambda kv: (-kv[1], str((agencies.get(kv[0]) or {}).get("name"))))
    return {
        "searches": sum(by_searcher.values()),
        "by_dhs_itself": dhs_itself, "for_dhs_by_others": for_dhs, "stated_by_others": other,
        "searchers": len(by_searcher),
        "by_searcher": [{"agency": (agencies.get(s) or {}).get("name") or "(unknown searcher)",
                         "state": _state_of(agencies.get(s)), "searches": n} for s, n in top],
        "by_beneficiary": [{"agency": k, "searches": v} for k, v in
                           sorted(by_beneficiary.items(), key=lambda kv: (-kv[1], kv[0]))],
        "by_state": [{"state": k, "searches": v} for k, v in sorted(by_state.items(), key=lambda kv: (-kv[1], kv[0]))],
        "dhs_linked_not_immigration": sum(linked.values()),
        "dhs_linked_not_immigration_by_component": dict(sorted(linked.items(), key=lambda kv: (-kv[1], kv[0]))),
    }


def _on_behalf(who, agencies) -> dict[str, Any]:
    """Searches done for another agency, by beneficiary and by how that was inferred (basis)."""
    by_beneficiary: dict[int, int] = defaultdict(int)
    by_basis: dict[str, int] = defaultdict(int)
    for owner_id, searcher_id, beneficiary_id, basis, _, _, n in who:
        if beneficiary_id is None or beneficiary_id == searcher_id:
            continue
        by_beneficiary[beneficiary_id] += n
        by_basis[basis or "unknown"] += n
    return {
        "by_beneficiary": [{"agency": agencies[b]["name"], "dhs_component": agencies[b]["dhs_component"],
                            "searches": n} for b, n in sorted(by_beneficiary.items(),
                                                              key=lambda kv: (-kv[1], agencies[kv[0]]["name"]))],
        "by_basis": dict(sorted(by_basis.items(), key=lambda kv: -kv[1])),
        "note": "counted per owner whose data was searched",
    }


def _plain(value: Any) -> Any:
    if hasattr(value, "to_json"):
        return value.to_json()
    if is_dataclass(value):
        return asdict(value)
    return value


def _accountability(db: sqlite_utils.Database, owner_ids: list[int], top: int = 15) -> dict[str, Any]:
    """Exposure of the owners whose data was searched (the largest first), disclosures beside the log,
    and the record-keeping gaps of the worst agencies."""
    from auditor.disclosure import compare_disclosures, record_gaps
    from auditor.exposure import exposure_table

    order = {owner_id: i for i, owner_id in enumerate(owner_ids[:STORED_ROWS])}
    exposure = sorted((asdict(e) for e in exposure_table(db, order)), key=lambda e: order[e["owner_id"]])
    disclosures = []
    for c in compare_disclosures(db):
        row = asdict(c)
        row["beyond_disclosed"] = c.beyond_disclosed
        disclosures.append(row)
    agencies = [g for g in record_gaps(db) if g.no_user or g.no_reason]
    officers = [g for g in record_gaps(db, by_user=True, min_searches=10) if g.no_reason]
    officers.sort(key=lambda g: (-g.share(g.no_reason), -g.searches, g.agency, g.user or ""))

    def gap_row(g: Any) -> dict[str, Any]:
        return {**asdict(g), "no_user_share": round(g.share(g.no_user), 3),
                "no_reason_share": round(g.share(g.no_reason), 3), "no_case_share": round(g.share(g.no_case), 3)}

    return {
        "exposure": exposure,
        "disclosures": disclosures,
        "record_gaps": {"agencies": [gap_row(g) for g in agencies[:top]], "agencies_total": len(agencies),
                        "officers": [gap_row(g) for g in officers[:top]], "officers_total": len(officers)},
    }


def _score(db: sqlite_utils.Database, run_id: int) -> dict[str, Any] | None:
    """The self-score against simulator truth (simulated stores only), of the keys this run stored."""
    if not db.execute("SELECT 1 FROM truth LIMIT 1").fetchone():
        return None
    from auditor.score import score_store

    return _plain(score_store(db))


SUMMARY_TABLES = ("agency_summary", "state_summary", "month_summary")


def _owner_months(cube: Counter, agencies: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    """Per owner and month: searches of its data, and those by out-of-state or federal agencies."""
    rows: dict[tuple, dict[str, Any]] = {}
    for (owner_id, searcher_id, month, imm, flagged), n in cube.items():
        owner = agencies.get(owner_id) or {}
        r = rows.setdefault((owner_id, month), {
            "owner_id": owner_id, "owner": owner.get("name"), "owner_state": owner.get("state"), "month": month,
            "searches": 0, "out_of_state": 0, "immigration_related": 0, "with_findings": 0, "own_searches": 0})
        r["searches"] += n
        r["immigration_related"] += n if imm else 0
        r["with_findings"] += n if flagged else 0
        state = _state_of(agencies.get(searcher_id))
        if searcher_id is not None and searcher_id == owner_id:
            r["own_searches"] += n
        elif owner_id is not None and state not in (owner.get("state"), "unknown"):
            r["out_of_state"] += n
    return sorted(rows.values(), key=lambda r: (str(r["owner"]), str(r["month"])))


def write_summary_tables(db: sqlite_utils.Database, run_id: int, agency_rows: list[dict[str, Any]],
                         state_rows: list[dict[str, Any]], month_rows: list[dict[str, Any]]) -> None:
    """Replace the per-agency and per-state summary tables with this run's figures.

    Materialized rather than views: a view would group every search on each page a reader opens.
    """
    for name in SUMMARY_TABLES:
        db.execute(f"DROP TABLE IF EXISTS {name}")
    db["agency_summary"].create({
        "agency_id": int, "agency": str, "state": str, "level": str, "kind": str, "dhs_component": str,
        "is_287g": int, "searches": int, "with_findings": int, "immigration_related": int,
        "for_another_agency": int, "done_for_it": int, "searches_of_its_data_by_others": int,
        "immigration_related_of_its_data": int, "run_id": int}, pk="agency_id")
    db["agency_summary"].insert_all(({**r, "run_id": run_id} for r in agency_rows), batch_size=5000)
    db["state_summary"].create({
        "state": str, "searchers": int, "searches": int, "with_findings": int, "immigration_related": int,
        "for_another_agency": int, "run_id": int}, pk="state")
    db["state_summary"].insert_all(({**r, "run_id": run_id} for r in state_rows), batch_size=5000)
    db["month_summary"].create({
        "owner_id": int, "owner": str, "owner_state": str, "month": str, "searches": int, "out_of_state": int,
        "immigration_related": int, "with_findings": int, "own_searches": int, "run_id": int})
    db["month_summary"].insert_all(({**r, "run_id": run_id} for r in month_rows), batch_size=5000)
