"""Gather what a report shows from an audited store, as plain data.

Every figure is an SQL aggregate (GROUP BY over integer keys); Python only sees distinct values
(rules, agencies, months, traced flows) and capped example rows, never one row per search. Each
count carries its unit in its name: ``searches`` are de-duplicated searches, ``rows`` are rows of a
release or of the findings table.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, is_dataclass
from typing import Any

import sqlite_utils

from auditor.errors import InputError

EXAMPLES_PER_RULE = 200
TOP_BARS = 15
TOP_FLOWS = 15
NO_OWNER = "(owner not in release)"
NO_TAG = "(no purpose tag)"


@dataclass
class Report:
    """Everything a report writer needs; plain dicts and lists so it serializes as JSON as is."""

    store: str
    run: dict[str, Any]
    counts: dict[str, int]
    releases: list[dict[str, Any]]
    rules: list[dict[str, Any]]
    charts: dict[str, dict[str, Any]]
    flows: dict[str, Any]
    findings: list[dict[str, Any]]
    score: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    # Exposure by owner, misuse disclosed versus logged, and record-keeping gaps (auditor.exposure,
    # auditor.disclosure); each list is empty when the store has nothing to say about it.
    accountability: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def latest_run(db: sqlite_utils.Database, store: str = "store") -> dict[str, Any]:
    """The last finished `audit run`; InputError when the store was never audited, or when a later
    run did not finish (its findings are incomplete: reporting an older run's counts would mislead)."""
    last = db.execute("SELECT id, finished_at FROM runs ORDER BY id DESC LIMIT 1").fetchone()
    if last is not None and last[1] is None:
        raise InputError(f"{store}: the last `audit run` (run {last[0]}) did not finish; "
                         f"run `audit run --db {store}` again before reporting")
    row = db.execute(
        """SELECT id, started_at, finished_at, version, ruleset_hash, params, summary FROM runs
           WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1"""
    ).fetchone()
    if row is None:
        raise InputError(f"{store}: this store has not been audited yet; run `audit run --db {store}` first")
    keys = ("id", "started_at", "finished_at", "version", "ruleset_hash", "params", "summary")
    run = dict(zip(keys, row))
    run["params"] = json.loads(run["params"]) if run["params"] else {}
    run["summary"] = json.loads(run["summary"]) if run["summary"] else {}
    # Findings of an older store beside today's counts would mislead: refuse a store changed since.
    audited = (run["summary"].get("searches"), run["summary"].get("releases"))
    now = (db.execute("SELECT COUNT(*) FROM searches").fetchone()[0],
           db.execute("SELECT COUNT(*) FROM releases").fetchone()[0])
    if audited[0] is not None and audited != now:
        raise InputError(f"{store}: the store changed since the last audit (run {run['id']} saw {audited[0]:,} "
                         f"searches in {audited[1]} releases, now {now[0]:,} in {now[1]}); "
                         f"run `audit run --db {store}` again")
    return run


def build_report(
    db: sqlite_utils.Database,
    *,
    store: str = "store",
    examples_per_rule: int = EXAMPLES_PER_RULE,
    top_bars: int = TOP_BARS,
    top_flows: int = TOP_FLOWS,
) -> Report:
    """Build the report of the store's latest audit run.

    ``examples_per_rule`` caps each rule's table of example findings (the report states the cap and
    the full count); ``top_bars`` and ``top_flows`` cap the charts and the flow picture likewise.
    """
    run = latest_run(db, store)
    run_id = run["id"]
    _mark_flagged(db, run_id)
    try:
        counts = _counts(db, run_id)
        report = Report(
            store=store,
            run={k: run[k] for k in ("id", "started_at", "finished_at", "version", "ruleset_hash", "params")},
            counts=counts,
            releases=_releases(db),
            rules=_rules(db, run_id),
            charts=_charts(db, run_id, top_bars),
            flows=_flows(db, top_flows),
            findings=_findings(db, run_id, examples_per_rule),
            score=_score(db),
            accountability=accountability(db),
        )
    finally:
        db.execute("DROP TABLE IF EXISTS temp.report_flagged")
    report.notes = _notes(report, examples_per_rule)
    return report


def _mark_flagged(db: sqlite_utils.Database, run_id: int) -> None:
    # The distinct searches with at least one per-search finding, keyed for joins; it lives in the
    # temp schema, so a report never writes to the store.
    db.execute("DROP TABLE IF EXISTS temp.report_flagged")
    db.execute("CREATE TEMP TABLE report_flagged (search_id INTEGER PRIMARY KEY)")
    db.execute(
        "INSERT INTO temp.report_flagged SELECT DISTINCT search_id FROM findings "
        "WHERE run_id = ? AND search_id IS NOT NULL",
        [run_id],
    )


def _scalar(db: sqlite_utils.Database, sql: str, params: list[Any] | None = None) -> int:
    return db.execute(sql, params or []).fetchone()[0] or 0


def _counts(db: sqlite_utils.Database, run_id: int) -> dict[str, int]:
    return {
        "searches": _scalar(db, "SELECT COUNT(*) FROM searches"),
        "release_rows": _scalar(db, "SELECT COUNT(*) FROM sightings"),
        "releases": _scalar(db, "SELECT COUNT(*) FROM releases"),
        "rejected_rows": _scalar(db, "SELECT COUNT(*) FROM rejects"),
        "agencies": _scalar(db, "SELECT COUNT(*) FROM agencies"),
        "unresolved_agencies": _scalar(db, "SELECT COUNT(*) FROM agencies WHERE level = 'unknown'"),
        "finding_rows": _scalar(db, "SELECT COUNT(*) FROM findings WHERE run_id = ?", [run_id]),
        "searches_with_findings": _scalar(db, "SELECT COUNT(*) FROM temp.report_flagged"),
        "truth_searches": _scalar(db, "SELECT COUNT(*) FROM truth"),
    }


def _releases(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    keys = ("id", "file_name", "format", "audit_kind", "producer", "rows_read", "rows_imported", "rows_rejected",
            "status", "sha256")
    rows = db.execute(
        """SELECT r.id, r.file_name, r.format, r.audit_kind, a.name, r.rows_read, r.rows_imported, r.rows_rejected,
                  r.status, r.sha256
           FROM releases r LEFT JOIN agencies a ON a.id = r.producer_id ORDER BY r.id"""
    )
    return [dict(zip(keys, row)) for row in rows]


def _rules(db: sqlite_utils.Database, run_id: int) -> list[dict[str, Any]]:
    # Per-search rules count distinct searches; an aggregate finding carries how many searches it
    # covers, and two findings of one aggregate rule can cover the same search (a user and a plate).
    rows = db.execute(
        """SELECT r.rule_id, r.title, r.severity, r.citation, r.scope, COUNT(f.id),
                  COUNT(DISTINCT f.search_id), COALESCE(SUM(CASE WHEN f.search_id IS NULL THEN f.searches END), 0)
           FROM rules r LEFT JOIN findings f ON f.rule_id = r.rule_id AND f.run_id = ?
           GROUP BY r.rule_id
           ORDER BY CASE r.severity WHEN 'high' THEN 0 WHEN 'medium' THEN 1 WHEN 'low' THEN 2 ELSE 3 END,
                    COUNT(f.id) = 0, r.rule_id""",
        [run_id],
    )
    out = []
    for rule_id, title, severity, citation, scope, n, distinct, covered in rows:
        aggregate = scope == "aggregate"
        out.append({
            "rule_id": rule_id, "title": title, "severity": severity, "citation": citation, "scope": scope,
            "finding_rows": n,
            "searches": covered if aggregate else distinct,
            "searches_basis": "sum over findings (may overlap)" if aggregate else "distinct searches",
        })
    return out


def _bars(rows: list[tuple[str, int]], top: int) -> dict[str, Any]:
    bars = [{"label": label, "searches": n} for label, n in rows]
    return {"bars": bars[:top], "groups": len(bars), "shown": min(top, len(bars)),
            "searches_not_shown": sum(b["searches"] for b in bars[top:])}


def _charts(db: sqlite_utils.Database, run_id: int, top: int) -> dict[str, dict[str, Any]]:
    by_owner = db.execute(
        f"""SELECT COALESCE(a.name, '{NO_OWNER}'), COUNT(DISTINCT f.search_id) AS n
            FROM findings f JOIN traces t ON t.id = f.trace_id LEFT JOIN agencies a ON a.id = t.owner_id
            WHERE f.run_id = ? AND f.search_id IS NOT NULL
            GROUP BY t.owner_id ORDER BY n DESC, 1""",
        [run_id],
    ).fetchall()
    by_state = db.execute(
        """SELECT COALESCE(a.state, 'unknown'), COUNT(*) AS n
           FROM temp.report_flagged fl JOIN searches s ON s.id = fl.search_id
           LEFT JOIN agencies a ON a.id = s.searcher_id
           GROUP BY 1 ORDER BY n DESC, 1"""
    ).fetchall()
    # Reason tags are counted per distinct reason (searches grouped by reason first); the few
    # inferred tags per search, only where the reason does not already carry the same tag.
    by_tag = db.execute(
        f"""WITH per_reason AS (
                SELECT s.reason_id, COUNT(*) AS n FROM temp.report_flagged fl JOIN searches s ON s.id = fl.search_id
                GROUP BY s.reason_id),
            reason_tag AS (SELECT DISTINCT reason_id, tag FROM reason_tags),
            inferred AS (
                SELECT DISTINCT st.search_id, st.tag, s.reason_id FROM temp.report_flagged fl
                JOIN search_tags st ON st.search_id = fl.search_id JOIN searches s ON s.id = st.search_id)
            SELECT tag, SUM(n) AS total FROM (
                SELECT rt.tag, pr.n FROM per_reason pr JOIN reason_tag rt ON rt.reason_id = pr.reason_id
                UNION ALL
                SELECT i.tag, 1 FROM inferred i
                WHERE NOT EXISTS (SELECT 1 FROM reason_tag rt WHERE rt.reason_id = i.reason_id AND rt.tag = i.tag)
                UNION ALL
                SELECT '{NO_TAG}', pr.n FROM per_reason pr
                WHERE NOT EXISTS (SELECT 1 FROM reason_tag rt WHERE rt.reason_id = pr.reason_id)
                UNION ALL  -- an untagged reason whose search got an inferred tag is not untagged
                SELECT '{NO_TAG}', -COUNT(DISTINCT i.search_id) FROM inferred i
                WHERE NOT EXISTS (SELECT 1 FROM reason_tag rt WHERE rt.reason_id = i.reason_id))
            GROUP BY tag HAVING total > 0 ORDER BY total DESC, tag"""
    ).fetchall()
    by_month = db.execute(
        """SELECT substr(s.time, 1, 7) AS month, COUNT(*) FROM temp.report_flagged fl
           JOIN searches s ON s.id = fl.search_id GROUP BY month ORDER BY month"""
    ).fetchall()
    charts = {
        "by_owner": {"title": "Searches with findings, by owner of the data searched", **_bars(by_owner, top)},
        "by_searcher_state": {"title": "Searches with findings, by searcher's state", **_bars(by_state, top)},
        "by_purpose": {"title": "Searches with findings, by purpose tag", **_bars(by_tag, top)},
        # Months are a time series: all of them, in order.
        "by_month": {"title": "Searches with findings, by month (UTC)", **_bars(by_month, len(by_month))},
    }
    charts["by_owner"]["note"] = "a search of several owners' data counts once for each owner"
    charts["by_purpose"]["note"] = "a search with several tags counts once for each tag"
    return charts


def _flows(db: sqlite_utils.Database, top: int) -> dict[str, Any]:
    # One GROUP BY over the searches gives every distinct owner -> searcher -> beneficiary flow;
    # their number is bounded by the traces table, so fetching them all is fetching distinct values.
    rows = db.execute(
        """SELECT so.owner_id, s.searcher_id, COALESCE(b.beneficiary_id, s.searcher_id), COUNT(*) AS n,
                  COUNT(fl.search_id)
           FROM searches s LEFT JOIN search_owners so ON so.search_id = s.id
           LEFT JOIN beneficiaries b ON b.search_id = s.id
           LEFT JOIN temp.report_flagged fl ON fl.search_id = s.id
           GROUP BY 1, 2, 3 ORDER BY n DESC"""
    ).fetchall()
    traced = {
        (o, s, b): (scope, door)
        for o, s, b, scope, door in db.execute(
            "SELECT owner_id, searcher_id, beneficiary_id, scope, door FROM traces")
    }
    own = [r for r in rows if r[0] is not None and r[0] == r[1]]
    shared = [r for r in rows if r[0] is None or r[0] != r[1]]
    # Door flows are usually small next to routine sharing, so up to half the picture is reserved
    # for the largest of them; the rest goes to the largest flows of any kind.
    through_door = [i for i, r in enumerate(shared) if traced.get(r[:3], (None, None))[1]][: top // 2]
    picked = set(through_door)
    picked.update(i for i in range(len(shared)) if i not in picked and len(picked) < top)
    shown = [shared[i] for i in sorted(picked)]
    ids = {i for r in shown for i in r[:3] if i is not None}
    agencies = {
        i: (name, state)
        for i, name, state in db.execute(
            f"SELECT id, name, state FROM agencies WHERE id IN ({','.join('?' * len(ids))})", sorted(ids))
    } if ids else {}

    def name(agency_id: int | None) -> str | None:
        return agencies[agency_id][0] if agency_id in agencies else None

    flows = []
    for owner_id, searcher_id, beneficiary_id, n, flagged in shown:
        scope, door = traced.get((owner_id, searcher_id, beneficiary_id), (None, None))
        flows.append({
            "owner": name(owner_id) or NO_OWNER,
            "scope": scope,
            "searcher": name(searcher_id) or "(unknown searcher)",
            "searcher_state": (agencies.get(searcher_id) or (None, None))[1],
            "beneficiary": name(beneficiary_id) if beneficiary_id != searcher_id else None,
            "door": door,
            "searches": n,
            "searches_with_findings": flagged,
        })
    return {
        "flows": flows,
        "distinct_flows": len(shared),
        "shown": len(flows),
        "searches_not_shown": sum(r[3] for r in shared) - sum(r[3] for r in shown),
        "door_flows_shown": len(through_door),
        "own_data_searches": sum(r[3] for r in own),
        "door_searches": _door_counts(db),
    }


def _door_counts(db: sqlite_utils.Database) -> dict[str, int]:
    return {
        door: n for door, n in db.execute(
            """SELECT t.door, COUNT(DISTINCT f.search_id) FROM findings f JOIN traces t ON t.id = f.trace_id
               WHERE t.door IS NOT NULL AND f.search_id IS NOT NULL GROUP BY t.door ORDER BY t.door""")
    }


_EXAMPLE_SQL = """
    SELECT f.search_id, s.time, sa.name, s.user, rs.text, s.redacted, s.plate, s.case_number, t.path, t.door,
           rel.file_name, g.row_number,
           (SELECT COUNT(*) FROM sightings g2 WHERE g2.search_id = f.search_id)
    FROM findings f
    JOIN searches s ON s.id = f.search_id
    LEFT JOIN agencies sa ON sa.id = s.searcher_id
    LEFT JOIN reasons rs ON rs.id = s.reason_id
    LEFT JOIN traces t ON t.id = f.trace_id
    LEFT JOIN sightings g ON g.id = (SELECT g1.id FROM sightings g1 WHERE g1.search_id = f.search_id
                                     ORDER BY g1.release_id, g1.row_number LIMIT 1)
    LEFT JOIN releases rel ON rel.id = g.release_id
    WHERE f.run_id = ? AND f.rule_id = ? AND f.search_id IS NOT NULL
    ORDER BY f.id LIMIT ?
"""


def source_cite(search_id: int, file_name: str | None, row_number: int | None, sightings: int = 1) -> str:
    """Where a finding's search was seen: `file.csv, row 12` (plus how many more rows), or the simulator."""
    if file_name is None:
        return f"simulated search {search_id}"
    more = f" (and {sightings - 1} more rows)" if sightings > 1 else ""
    return f"{file_name}, row {row_number}{more}"


def _reason_cell(text: str | None, redacted: str | None) -> str | None:
    if text is not None:
        return text
    return None if not redacted or "reason" not in redacted.split(",") else "(redacted)"


def _findings(db: sqlite_utils.Database, run_id: int, cap: int) -> list[dict[str, Any]]:
    sections = []
    for rule in _rules(db, run_id):
        if not rule["finding_rows"]:
            continue
        section = {k: rule[k] for k in ("rule_id", "title", "severity", "citation", "scope", "finding_rows")}
        if rule["scope"] == "aggregate":
            rows = db.execute(
                """SELECT a.name, f.subject, f.detail, f.searches FROM findings f
                   LEFT JOIN agencies a ON a.id = f.agency_id
                   WHERE f.run_id = ? AND f.rule_id = ? ORDER BY f.searches DESC, f.id LIMIT ?""",
                [run_id, rule["rule_id"], cap],
            )
            section["rows"] = [dict(zip(("agency", "subject", "detail", "searches"), r)) for r in rows]
        else:
            section["rows"] = [
                {"search_id": sid, "time": time, "searcher": searcher, "user": user,
                 "reason": _reason_cell(reason, redacted), "plate": plate, "case_number": case,
                 "trace": path, "door": door, "source": source_cite(sid, file_name, row, n_sightings),
                 "source_release": file_name, "source_row": row, "citation": rule["citation"]}
                for sid, time, searcher, user, reason, redacted, plate, case, path, door, file_name, row, n_sightings
                in db.execute(_EXAMPLE_SQL, [run_id, rule["rule_id"], cap])
            ]
        section["shown"] = len(section["rows"])
        section["capped"] = section["shown"] < rule["finding_rows"]
        sections.append(section)
    return sections


def _plain(value: Any) -> Any:
    if hasattr(value, "to_json"):
        return value.to_json()
    if is_dataclass(value):
        return asdict(value)
    return value


def _score(db: sqlite_utils.Database) -> dict[str, Any] | None:
    """The lead's self-scoring against simulator truth, when that module and truth rows exist."""
    if not db.execute("SELECT 1 FROM truth LIMIT 1").fetchone():
        return None
    try:
        from auditor.score import score_store
    except ImportError:
        return None
    return _plain(score_store(db))


def _notes(report: Report, cap: int) -> list[str]:
    from auditor.importers import unfinished_warning

    unfinished = [{"file_name": r["file_name"]} for r in report.releases if r["status"] != "complete"]
    notes = [unfinished_warning(unfinished, report.store)] if unfinished else []
    capped = [f"{s['rule_id']} ({s['shown']} of {s['finding_rows']} rows)" for s in report.findings if s["capped"]]
    if capped:
        notes.append(f"Example tables show at most {cap} findings per rule: " + ", ".join(capped)
                     + ". The CSV report lists every per-search finding.")
    if report.counts["unresolved_agencies"]:
        notes.append(f"{report.counts['unresolved_agencies']} agencies are unresolved (state and level unknown); "
                     "rules that depend on them cannot fire. Give `audit run --overrides`.")
    if report.counts["releases"] == 0:
        notes.append("No releases: the searches were written by the simulator, so findings cite "
                     "`simulated search <id>` instead of a release file and row.")
    return notes


def accountability(db: sqlite_utils.Database, top: int = TOP_BARS) -> dict[str, Any]:
    """Exposure per owner, disclosures beside the log, and the record-keeping gaps of the worst agencies."""
    from auditor.disclosure import compare_disclosures, record_gaps
    from auditor.exposure import exposure_table

    exposure = [asdict(e) for e in exposure_table(db)]
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
