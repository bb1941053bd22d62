"""The audit run: resolve, tag, trace and apply rules over a store, doing work per distinct value.

    tag each distinct reason once            -> reason_tags, and a small reason -> tag-class map
    infer beneficiaries (few searches)       -> beneficiaries
    one GROUP BY pass over the searches      -> distinct (owner, searcher, beneficiary, tag class, flags)
    trace each distinct path once            -> traces (scope, door, readable path)
    evaluate every search rule once per distinct combination of facts
    one INSERT ... SELECT pass               -> findings, joined back to searches by integer keys
    aggregate rules as SQL GROUP BYs         -> findings about users, agencies, plates, shares

Memory holds only distinct values (reasons, agencies, combinations), never rows.
"""
from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Sequence

import sqlite_utils

from auditor import __version__
from auditor.agencies import Resolver, resolve_store
from auditor.graph import IMMIGRATION_ENFORCERS, Agency, build_graph, door_of, load_agencies, path_text, scope_of
from auditor.measures import MEASURES
from auditor.overview import describe_run
from auditor.rules import Rule, load_rules, ruleset_hash
from auditor.schema import create_indexes, create_schema
from auditor.trace import infer_beneficiaries

NO_PURPOSE_TAGS = ("vague", "case_number_only", "missing")
_FINDINGS_INDEXES = ("idx_findings_rule_id", "idx_findings_search_id")
_REASON_STATE_SQL = (
    "CASE WHEN s.reason_id IS NOT NULL THEN 'value' "
    "WHEN instr(',' || COALESCE(s.redacted, '') || ',', ',reason,') > 0 THEN 'redacted' ELSE 'blank' END"
)
# The per-search key every search rule's facts depend on. -1 stands for "none" so keys join by `=`.
KEY_SQL = f"""
    COALESCE(so.owner_id, -1), COALESCE(s.searcher_id, -1), COALESCE(b.beneficiary_id, -1),
    COALESCE(b.basis, ''), COALESCE(rc.class_id, -1), s.system, COALESCE(s.query_type, ''),
    COALESCE(s.networks, 0) >= :mass, s.case_number IS NOT NULL, {_REASON_STATE_SQL}
"""
FROM_SQL = """
    FROM searches s
    LEFT JOIN search_owners so ON so.search_id = s.id
    LEFT JOIN beneficiaries b ON b.search_id = s.id
    LEFT JOIN temp.reason_class rc ON rc.reason_id = s.reason_id
"""


@dataclass
class RunParams:
    mass_networks: int = 500
    relay_days: float = 7.0
    ice_287g: str | None = None
    overrides: str | None = None


@dataclass
class RunSummary:
    run_id: int
    searches: int  # de-duplicated searches in the store
    sightings: int  # rows of releases linked to those searches
    releases: int
    agencies: int
    unresolved_agencies: list[str]
    beneficiaries: dict[str, int]
    searches_by_tag: dict[str, int]
    findings_by_rule: dict[str, dict[str, Any]]
    seconds: dict[str, float] = field(default_factory=dict)
    # What the report and the summary views read instead of recomputing (auditor.overview).
    overview: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def tag_reasons(db: sqlite_utils.Database, classifier: Any | None = None) -> dict[int, tuple[str, ...]]:
    """Tag every distinct reason once; return reason_id -> sorted tag names."""
    if classifier is None:
        from auditor.purpose import default_classifier

        classifier = default_classifier()
    db.execute("DELETE FROM reason_tags")
    tag_sets: dict[int, tuple[str, ...]] = {}
    batch: list[tuple] = []
    for reason_id, text in db.execute("SELECT id, text FROM reasons"):
        tags = classifier.classify(text)
        tag_sets[reason_id] = tuple(sorted({t.tag for t in tags}))
        batch.extend((reason_id, t.tag, t.value, t.evidence, t.confidence) for t in tags)
        if len(batch) >= 20000:
            db.conn.executemany(
                "INSERT INTO reason_tags (reason_id, tag, value, evidence, confidence) VALUES (?, ?, ?, ?, ?)", batch)
            batch.clear()
    db.conn.executemany(
        "INSERT INTO reason_tags (reason_id, tag, value, evidence, confidence) VALUES (?, ?, ?, ?, ?)", batch)
    return tag_sets


def stored_tag_sets(db: sqlite_utils.Database) -> dict[int, tuple[str, ...]]:
    """reason_id -> sorted tag names, from the last run's reason_tags."""
    sets: dict[int, set[str]] = {r[0]: set() for r in db.execute("SELECT id FROM reasons")}
    for reason_id, tag in db.execute("SELECT reason_id, tag FROM reason_tags"):
        sets.setdefault(reason_id, set()).add(tag)
    return {k: tuple(sorted(v)) for k, v in sets.items()}


def reason_classes(db: sqlite_utils.Database, tag_sets: dict[int, tuple[str, ...]]) -> list[tuple[str, ...]]:
    """Collapse reasons to classes of equal tag sets (20k reasons -> a few hundred classes)."""
    classes: dict[tuple[str, ...], int] = {}
    rows = [(reason_id, classes.setdefault(tags, len(classes))) for reason_id, tags in tag_sets.items()]
    db.execute("DROP TABLE IF EXISTS temp.reason_class")
    db.execute("CREATE TEMP TABLE reason_class (reason_id INTEGER PRIMARY KEY, class_id INTEGER NOT NULL)")
    db.conn.executemany("INSERT INTO temp.reason_class VALUES (?, ?)", rows)
    by_id = [()] * len(classes)
    for tags, class_id in classes.items():
        by_id[class_id] = tags
    return by_id


def _agency_facts(prefix: str, agency: Agency | None) -> dict[str, Any]:
    if agency is None:
        return {f"{prefix}.{k}": None for k in ("state", "level", "kind", "dhs_component", "is_287g", "name")}
    return {
        f"{prefix}.state": agency.state, f"{prefix}.level": agency.level, f"{prefix}.kind": agency.kind,
        f"{prefix}.dhs_component": agency.dhs_component, f"{prefix}.is_287g": agency.is_287g,
        f"{prefix}.name": agency.name,
    }


def _write_rules(db: sqlite_utils.Database, rules: Sequence[Rule]) -> None:
    db.execute("DELETE FROM rules")
    db["rules"].insert_all(
        [{"rule_id": r.id, "title": r.title, "severity": r.severity, "citation": r.citation,
          "scope": r.scope, "description": r.description.strip()} for r in rules],
        pk="rule_id",
    )


def run_audit(
    db: sqlite_utils.Database,
    params: RunParams | None = None,
    *,
    rules: Sequence[Rule] | None = None,
    classifier: Any | None = None,
    progress: Callable[[str], None] | None = None,
) -> RunSummary:
    """Audit the store: writes reason_tags, beneficiaries, traces, findings, rules and a runs row."""
    params = params or RunParams()
    # Everything that can fail on the user's input is read before the store is touched, so a bad
    # option leaves the last audit's findings in place.
    rules = list(rules) if rules is not None else load_rules()
    resolver = _resolver(params)
    say = progress or (lambda _msg: None)
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[name] = round(now - clock, 3)
        clock = now

    db.conn.commit()  # start from a fresh snapshot: another process may have written since
    started = _now()
    run_id = db.execute(
        "INSERT INTO runs (started_at, version, ruleset_hash, params) VALUES (?, ?, ?, ?)",
        [started, __version__, ruleset_hash(rules), json.dumps(asdict(params))],
    ).lastrowid

    # Findings point at traces, rules and tags of the previous run: clear them first (without
    # their indexes, which the scan rebuilds after its bulk insert anyway).
    # Dropping the table is instant where deleting millions of rows is not; create_schema remakes it.
    db.execute("DROP TABLE IF EXISTS findings")
    create_schema(db)
    say("resolving agencies")
    unresolved = list(resolve_store(db, resolver).unknown)
    create_indexes(db, skip=_FINDINGS_INDEXES)
    lap("resolve")

    say("tagging distinct reasons")
    tag_sets = tag_reasons(db, classifier)
    classes = reason_classes(db, tag_sets)
    lap("tag")

    say("inferring beneficiaries")
    report = infer_beneficiaries(db, relay_days=params.relay_days)
    lap("beneficiaries")

    say("tracing and applying rules")
    _write_rules(db, rules)
    scan_searches(db, run_id, [r for r in rules if r.scope == "search"], classes, params)
    lap("trace_and_rules")
    for rule in (r for r in rules if r.scope == "aggregate"):
        _apply_aggregate_rule(db, run_id, rule)
    lap("aggregate")

    summary = _summarize(db, run_id, unresolved, asdict(report), tag_sets, seconds)
    db.execute("UPDATE runs SET finished_at = ?, summary = ? WHERE id = ?",
               [_now(), json.dumps(summary.to_json()), run_id])
    db.conn.commit()
    return summary


def _resolver(params: RunParams) -> Resolver:
    """The agency resolver for this run; reads (and so validates) the user's files up front."""
    return Resolver(
        ice_287g=Path(params.ice_287g) if params.ice_287g else None,
        overrides=Path(params.overrides) if params.overrides else None,
    )


class _Tracer:
    """Traces each distinct (owner, searcher, beneficiary, basis) once, writing a traces row."""

    def __init__(self, db, graph, agencies: dict[int, Agency]) -> None:
        self.db, self.graph, self.agencies = db, graph, agencies
        self.traces: dict[tuple, tuple[int, dict[str, Any]]] = {}
        db.execute("DELETE FROM traces")

    def get(self, owner_k: int, searcher_k: int, benef_k: int, basis: str) -> tuple[int, dict[str, Any]]:
        key = (owner_k, searcher_k, benef_k, basis)
        found = self.traces.get(key)
        if found is None:
            owner_id = None if owner_k == -1 else owner_k
            searcher_id = None if searcher_k == -1 else searcher_k
            beneficiary_id = searcher_id if benef_k == -1 else benef_k
            facts = trace_facts(self.graph, self.agencies, owner_id, searcher_id, beneficiary_id, basis)
            path = path_text(self.agencies, owner_id, facts["scope"], searcher_id, beneficiary_id, basis or None)
            trace_id = self.db.execute(
                "INSERT INTO traces (owner_id, scope, searcher_id, beneficiary_id, door, path) VALUES (?, ?, ?, ?, ?, ?)",
                [owner_id, facts["scope"], searcher_id, beneficiary_id, facts["door"], path],
            ).lastrowid
            found = self.traces[key] = (trace_id, facts)
        return found


def search_facts(trace_facts: dict[str, Any], tags: frozenset[str], system: str, qtype: str, mass: int,
                 has_case: int, rstate: str) -> dict[str, Any]:
    """The facts a search rule sees: its trace's, its reason's tags, and the search's own flags."""
    facts = dict(trace_facts)
    facts.update({
        "system": system, "query_type": qtype or None, "mass_search": bool(mass),
        "has_case_number": bool(has_case), "reason_state": rstate, "tags": tags,
        "immigration_related": "immigration" in tags or facts["beneficiary.dhs_component"] in IMMIGRATION_ENFORCERS,
    })
    return facts


def trace_facts(graph, agencies: dict[int, Agency], owner_id: int | None, searcher_id: int | None,
                beneficiary_id: int | None, basis: str | None) -> dict[str, Any]:
    """Facts of one traced path owner -> scope -> searcher -> beneficiary."""
    scope = scope_of(graph, agencies, owner_id, searcher_id)
    searcher, beneficiary = agencies.get(searcher_id), agencies.get(beneficiary_id)
    facts = {"scope": scope, "door": door_of(scope, searcher, beneficiary), "beneficiary.basis": basis or "self",
             "beneficiary.is_other": beneficiary_id is not None and beneficiary_id != searcher_id}
    facts.update(_agency_facts("owner", agencies.get(owner_id)))
    facts.update(_agency_facts("searcher", searcher))
    facts.update(_agency_facts("beneficiary", beneficiary))
    return facts


def scan_searches(db: sqlite_utils.Database, run_id: int, rules: Sequence[Rule],
                  classes: Sequence[tuple[str, ...]], params: RunParams) -> None:
    """Trace every search and apply the search rules in one streaming pass, writing findings.

    Each row's key is looked up in memos, so traces are computed once per distinct path and rules
    once per distinct combination of facts; findings are written in batches. Needs the temp
    reason classes of :func:`reason_classes`, and the `rules` table rows of this run's rules.
    Memory holds the memos (distinct values), never rows.
    """
    agencies = load_agencies(db)
    tracer = _Tracer(db, build_graph(db, agencies), agencies)
    # Rules see an agency through its attributes, not its id: two searchers of the same state,
    # level and kind lead to the same verdicts. So verdicts are memoized per *signature* of the
    # trace facts the rules read, and traces per distinct path: both stay small however many rows.
    signature_facts = sorted(_trace_facts_used(rules) | {"beneficiary.dhs_component"})
    traces: dict[tuple, tuple[int, dict[str, Any], tuple]] = {}
    verdicts: dict[tuple, tuple[tuple[str, str], ...]] = {}
    insert = "INSERT INTO findings (run_id, rule_id, severity, search_id, trace_id, searches) VALUES (?, ?, ?, ?, ?, 1)"
    # A second connection reads while this one writes findings and traces.
    reader = sqlite3.connect(db.conn.execute("PRAGMA database_list").fetchone()[2])
    reader.execute("PRAGMA cache_size = -64000")
    db.conn.commit()
    reader.execute("ATTACH ':memory:' AS scratch")
    reader.execute("CREATE TABLE scratch.reason_class (reason_id INTEGER PRIMARY KEY, class_id INTEGER NOT NULL)")
    reader.executemany("INSERT INTO scratch.reason_class VALUES (?, ?)",
                       db.execute("SELECT reason_id, class_id FROM temp.reason_class").fetchall())
    rows = reader.execute(
        f"SELECT s.id, {KEY_SQL} {FROM_SQL.replace('temp.reason_class', 'scratch.reason_class')}",
        {"mass": params.mass_networks},
    )
    out: list[tuple] = []
    while True:
        batch = rows.fetchmany(50_000)
        if not batch:
            break
        for row in batch:
            path = row[1:5]
            trace = traces.get(path)
            if trace is None:
                trace_id, tfacts = tracer.get(*path)
                trace = traces[path] = (trace_id, tfacts, tuple(tfacts[f] for f in signature_facts))
            verdict_key = (trace[2], *row[5:])
            verdict = verdicts.get(verdict_key)
            if verdict is None:
                class_k, system, qtype, mass, has_case, rstate = row[5:]
                tags = frozenset(classes[class_k]) if class_k != -1 else frozenset()
                facts = search_facts(trace[1], tags, system, qtype, mass, has_case, rstate)
                verdict = verdicts[verdict_key] = tuple((r.id, r.severity) for r in rules if r.matches(facts))
            if verdict:
                search_id, trace_id = row[0], trace[0]
                out.extend((run_id, rule_id, severity, search_id, trace_id) for rule_id, severity in verdict)
        if len(out) >= 100_000:
            db.conn.executemany(insert, out)
            out.clear()
    db.conn.executemany(insert, out)
    reader.close()
    create_indexes(db)


def _trace_facts_used(rules: Sequence[Rule]) -> set[str]:
    """The owner/searcher/beneficiary/scope/door facts the rules' conditions read."""
    used = {leaf["fact"] for rule in rules for leaf in rule.leaves()}
    return {f for f in used if f.split(".")[0] in ("owner", "searcher", "beneficiary") or f in ("scope", "door")}


def _apply_aggregate_rule(db, run_id: int, rule: Rule) -> None:
    rows = [(run_id, rule.id, rule.severity, c.agency_id, c.subject, c.detail, c.searches)
            for c in MEASURES[rule.measure](db, rule.params)]
    db.conn.executemany(
        "INSERT INTO findings (run_id, rule_id, severity, agency_id, subject, detail, searches) VALUES (?,?,?,?,?,?,?)",
        rows,
    )


def _summarize(db, run_id, unresolved, beneficiaries, tag_sets, seconds) -> RunSummary:
    searches = db.execute("SELECT COUNT(*) FROM searches").fetchone()[0]
    by_tag: dict[str, int] = {}
    for reason_id, n in db.execute("SELECT reason_id, COUNT(*) FROM searches GROUP BY reason_id"):
        for tag in tag_sets.get(reason_id, ("missing",) if reason_id is None else ()):
            by_tag[tag] = by_tag.get(tag, 0) + n
    by_rule: dict[str, dict[str, Any]] = {}
    for rule_id, severity, title, citation, n, n_searches in db.execute(
        """SELECT r.rule_id, r.severity, r.title, r.citation, COUNT(f.id),
                  COALESCE(COUNT(DISTINCT f.search_id), 0) + COALESCE(SUM(CASE WHEN f.search_id IS NULL THEN f.searches END), 0)
           FROM rules r LEFT JOIN findings f ON f.rule_id = r.rule_id AND f.run_id = ?
           GROUP BY r.rule_id ORDER BY r.rule_id""",
        [run_id],
    ):
        by_rule[rule_id] = {"severity": severity, "title": title, "citation": citation,
                            "findings": n, "searches": n_searches}
    return RunSummary(
        run_id=run_id,
        searches=searches,
        sightings=db.execute("SELECT COUNT(*) FROM sightings").fetchone()[0],
        releases=db.execute("SELECT COUNT(*) FROM releases").fetchone()[0],
        agencies=db.execute("SELECT COUNT(*) FROM agencies").fetchone()[0],
        unresolved_agencies=unresolved,
        beneficiaries=beneficiaries,
        searches_by_tag=dict(sorted(by_tag.items(), key=lambda kv: -kv[1])),
        findings_by_rule=by_rule,
        seconds=seconds,
        overview=describe_run(db, run_id),
    )
