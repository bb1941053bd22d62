"""The audit run: resolve, tag, trace and apply rules over a store, doing work per distinct value.

Named phases, in order (:func:`run_audit`; the benchmarks time the same functions):

    resolve       agencies: registry, heuristics, 287(g), overrides         -> agencies
    tag           each distinct reason once, reasons collapsed to classes   -> reason_tags, reason_classes
    beneficiaries who a search was for (reason, 287(g), plate relay)        -> beneficiaries
    keys          one bulk pass: each search's key (facts rules read)       -> search_keys (auditor.keypass)
    rules         trace each distinct path, verdicts per distinct key       -> traces, scan_keys, finding_groups
    examples      each search rule's first finding rows, for the report      -> rule_examples (auditor.examples)
    aggregate     aggregate rules as SQL GROUP BYs                          -> aggregate_findings

Search findings are stored per distinct key and rule (`finding_groups`) and expanded to searches by
the `findings` view. Memory holds only distinct values (reasons, agencies, keys), never rows.
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

import numpy as np

from auditor import __version__
from auditor import examples as example_rows
from auditor.agencies import Resolver, resolve_store
from auditor.facts import STORE_TIME_FORMAT, Judge, SearchKey, date_boundaries, fact_bounds
from auditor.graph import build_graph, load_agencies, path_text
from auditor.keypass import KEYING, KeyPass, assign_keys, assign_keys_local
from auditor.rules.measures import MEASURES
from auditor.overview import describe_run
from auditor.rules import Rule, load_rules, ruleset_hash
from auditor import isolated
from auditor.schema import create_indexes, create_schema, store_path
from auditor.progress import Progress, quiet
from auditor.trace import infer_beneficiaries


# Up to this many searches the key pass reads the store through the caller's sqlite3 connection: a
# child process with ADBC (see auditor.isolated) costs about a second to start, which the faster
# columnar read only pays back on larger stores.
LOCAL_KEY_PASS_MAX = 200_000
# Progress stages (see auditor.progress) that count; the others report only that they started.
TAGGING = "tagging distinct reasons"
TRACING = "tracing and judging distinct keys"
_TRACE_TICK = 10_000  # keys between progress calls: a call costs nothing beside 10,000 verdicts


# Indexes `audit run` builds on searches before the scan: those the beneficiary inference and the
# aggregate measures read (see schema._INDEXES); the key pass itself reads the table in id order.
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
    return datetime.now(timezone.utc).strftime(STORE_TIME_FORMAT)


def tag_reasons(db: sqlite_utils.Database, classifier: Any | None = None,
                progress: Progress | None = None) -> dict[int, tuple[str, ...]]:
    """Tag every distinct reason once; return reason_id -> sorted tag names. ``progress`` hears the
    reasons tagged after each batch written."""
    if classifier is None:
        from auditor.purpose import default_classifier

        classifier = default_classifier()
    db.execute("DELETE FROM reason_tags")
    tag_sets: dict[int, tuple[str, ...]] = {}
    batch: list[tuple] = []
    say = progress or quiet
    total = db.execute("SELECT COUNT(*) FROM reasons").fetchone()[0]
    say(TAGGING, 0, total)
    for reason_id, text in db.execute("SELECT id, text FROM reasons"):
        tags = classifier.classify(text)
        tag_sets[reason_id] = tuple(sorted({t.tag for t in tags}))
        batch.extend((reason_id, t.tag, t.value, t.evidence, t.confidence) for t in tags)
        if len(batch) >= 20000:
            db.conn.executemany(
                "INSERT INTO reason_tags (reason_id, tag, value, evidence, confidence) VALUES (?, ?, ?, ?, ?)", batch)
            batch.clear()
            say(TAGGING, len(tag_sets), total)
    db.conn.executemany(
        "INSERT INTO reason_tags (reason_id, tag, value, evidence, confidence) VALUES (?, ?, ?, ?, ?)", batch)
    say(TAGGING, len(tag_sets), total)
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
    db.execute("DELETE FROM reason_classes")
    db.conn.executemany("INSERT INTO reason_classes (reason_id, class_id) VALUES (?, ?)", rows)
    by_id = [()] * len(classes)
    for tags, class_id in classes.items():
        by_id[class_id] = tags
    return by_id


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
    progress: Progress | None = None,
) -> RunSummary:
    """Audit the store: writes reason_tags, beneficiaries, traces, findings, rules and a runs row.

    ``progress`` (see :mod:`auditor.progress`) hears each stage as it starts and, where a stage
    works in batches, its count after each batch: reasons tagged, searches keyed, distinct keys judged.
    """
    params = params or RunParams()
    # Everything that can fail on the user's input is read before the store is touched, so a bad
    # option leaves the last audit's findings in place.
    rules = list(rules) if rules is not None else load_rules()
    resolver = _resolver(params)
    db.conn.commit()  # start from a fresh snapshot: another process may have written since
    started = _now()
    run_id = db.execute(
        "INSERT INTO runs (started_at, version, ruleset_hash, params) VALUES (?, ?, ?, ?)",
        [started, __version__, ruleset_hash(rules), json.dumps(asdict(params))],
    ).lastrowid
    db.conn.commit()  # the attempt is on record even if it is killed: the report names it

    # The rest is one transaction: a run killed or failing midway leaves the last complete run's
    # results whole, and the report reads them (auditor.report.build.latest_run). The stages'
    # helpers commit through sqlite_utils; those commits are held until the end.
    real = db.conn
    real.execute("BEGIN")  # opened here, so sqlite_utils' execute() does not commit each statement
    db.conn = _HeldCommits(real)
    try:
        summary = _run_stages(db, run_id, params, rules, resolver, classifier, progress)
        real.commit()
    except BaseException:
        real.rollback()
        raise
    finally:
        db.conn = real
    return summary


class _HeldCommits:
    """A sqlite3 connection whose commits (and `with conn:` blocks) wait for the run's own commit."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.real = conn

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def commit(self) -> None:
        pass

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql.strip().upper() in ("COMMIT", "END"):  # sqlite_utils commits what it thinks it began
            sql = "SELECT 1"
        return self.real.execute(sql, *args)

    def __enter__(self) -> "_HeldCommits":
        return self

    def __exit__(self, *exc: Any) -> bool:
        return False  # an error propagates to run_audit, which rolls the whole run back


def _commit_now(db: sqlite_utils.Database) -> None:
    """Commit for real, through a held connection too (a child process is about to write), and
    open the next transaction, which the run's end commits."""
    real = getattr(db.conn, "real", db.conn)
    real.commit()
    if real is not db.conn:
        real.execute("BEGIN")


def _run_stages(db: sqlite_utils.Database, run_id: int, params: RunParams, rules: list[Rule], resolver: Resolver,
                classifier: Any | None, progress: Progress | None) -> RunSummary:
    say = progress or quiet
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[name] = round(now - clock, 3)
        clock = now

    # Whose results the finding tables hold: the report refuses a store whose tables a killed run
    # had already replaced (only a large store's key pass commits midway, see key_searches).
    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('results_run', ?)", [str(run_id)])
    # Findings point at traces, rules and tags of the previous run: clear them first (without
    # their indexes, which the scan rebuilds after its bulk insert anyway).
    # Dropping the table is instant where deleting millions of rows is not; create_schema remakes it.
    for table in ("rule_examples", "finding_groups", "aggregate_findings", "scan_keys", "search_keys"):
        db.execute(f"DROP TABLE IF EXISTS {table}")
    create_schema(db)
    say("resolving agencies", 0, None)
    unresolved = list(resolve_store(db, resolver).unknown)
    create_indexes(db)
    lap("resolve")

    tag_sets = tag_reasons(db, classifier, say)
    classes = reason_classes(db, tag_sets)
    lap("tag")

    say("inferring beneficiaries", 0, None)
    report = infer_beneficiaries(db, relay_days=params.relay_days)
    lap("beneficiaries")

    _write_rules(db, rules)
    search_rules = [r for r in rules if r.scope == "search"]
    keys = key_searches(db, search_rules, classes, params, say)
    lap("keys")
    by_rule = scan_searches(db, run_id, search_rules, classes, keys, say)
    lap("trace_and_rules")
    say("choosing example rows", 0, None)
    example_rows.choose_examples(db.conn, run_id, keys)
    del keys
    lap("examples")
    aggregate = [r for r in rules if r.scope == "aggregate"]
    for done, rule in enumerate(aggregate):
        say("applying aggregate rules", done, len(aggregate))
        _apply_aggregate_rule(db, run_id, rule)
    say("applying aggregate rules", len(aggregate), len(aggregate))
    lap("aggregate")
    say("summarizing", 0, None)

    summary = _summarize(db, run_id, unresolved, asdict(report), tag_sets, seconds, by_rule)
    stored = summary.to_json()
    stored["examples_per_rule"] = example_rows.EXAMPLES_STORED  # the report reads rule_examples up to this many
    db.execute("UPDATE runs SET finished_at = ?, summary = ? WHERE id = ?", [_now(), json.dumps(stored), run_id])
    return summary


def _resolver(params: RunParams) -> Resolver:
    """The agency resolver for this run; reads (and so validates) the user's files up front."""
    return Resolver(
        ice_287g=Path(params.ice_287g) if params.ice_287g else None,
        overrides=Path(params.overrides) if params.overrides else None,
    )


class _Tracer:
    """Writes a `traces` row for each distinct (owner, searcher, beneficiary, basis), once."""

    def __init__(self, db, judge: Judge) -> None:
        self.db, self.judge = db, judge
        self.ids: dict[tuple, int] = {}
        db.execute("DELETE FROM traces")

    def get(self, key: SearchKey) -> int:
        path = Judge.path(key)
        trace_id = self.ids.get(path)
        if trace_id is None:
            owner_id, searcher_id, beneficiary_id, basis = path
            facts = self.judge.trace(path)
            text = path_text(self.judge.agencies, owner_id, facts["scope"], searcher_id, beneficiary_id, basis)
            trace_id = self.ids[path] = self.db.execute(
                "INSERT INTO traces (owner_id, scope, searcher_id, beneficiary_id, door, path) VALUES (?, ?, ?, ?, ?, ?)",
                [owner_id, facts["scope"], searcher_id, beneficiary_id, facts["door"], text],
            ).lastrowid
        return trace_id


def key_searches(db: sqlite_utils.Database, rules: Sequence[Rule], classes: Sequence[tuple[str, ...]],
                 params: RunParams, progress: Progress | None = None) -> KeyPass:
    """Every search's key, written to `search_keys` in one bulk pass (see :mod:`auditor.keypass`)."""
    top = db.execute("SELECT coalesce(max(reason_id), -1) FROM reason_classes").fetchone()[0]
    lookup = np.full(top + 1, -1, dtype=np.int64)
    for reason_id, class_id in db.execute("SELECT reason_id, class_id FROM reason_classes"):
        lookup[reason_id] = class_id
    leaves = [leaf for r in rules for leaf in r.leaves()]
    boundaries = date_boundaries(leaves)
    frame_bounds = fact_bounds(leaves, "time_frame.days_back")
    db.execute("DELETE FROM meta WHERE key IN ('scan_date_boundaries', 'scan_frame_bounds')")
    db.execute("INSERT INTO meta (key, value) VALUES ('scan_date_boundaries', ?)", [json.dumps(boundaries)])
    db.execute("INSERT INTO meta (key, value) VALUES ('scan_frame_bounds', ?)", [json.dumps(frame_bounds)])
    searches = db.execute("SELECT COALESCE(MAX(id), 0) FROM searches").fetchone()[0]
    say = progress or quiet

    def keyed(stage: str, done: int, _total: int | None) -> None:
        say(stage, done, max(searches, done))  # the highest id: the count unless rows were removed

    keyed(KEYING, 0, None)
    if searches <= LOCAL_KEY_PASS_MAX:
        keys = assign_keys_local(db.conn, mass_networks=params.mass_networks, classes=lookup,
                                 boundaries=boundaries, frame_bounds=frame_bounds, progress=keyed)
    else:
        # The key pass writes from a child process (see auditor.isolated), which must see this run's
        # tables: commit now. A run killed from here on has replaced the last run's results.
        _commit_now(db)  # BEGINs only a deferred transaction: the child may write meanwhile
        keys = isolated.call(assign_keys, store_path(db), mass_networks=params.mass_networks, classes=lookup,
                             boundaries=boundaries, frame_bounds=frame_bounds,
                             progress=keyed if progress is not None else None)
    keys.boundaries, keys.frame_bounds = boundaries, frame_bounds
    return keys


def scan_searches(db: sqlite_utils.Database, run_id: int, rules: Sequence[Rule],
                  classes: Sequence[tuple[str, ...]], keys: KeyPass,
                  progress: Progress | None = None) -> dict[str, tuple[int, int]]:
    """Trace each distinct path and apply the search rules once per distinct key.

    Writes `traces`, `scan_keys` and `finding_groups`; returns per rule (de-duplicated searches,
    rows of the `findings` view).
    Rules see an agency through its attributes, not its id: verdicts are memoized per *signature*
    of the trace facts the rules read, so they stay few however many agencies searched.
    ``progress`` hears the distinct keys judged so far, every ``_TRACE_TICK`` keys.
    """
    agencies = load_agencies(db)
    judge = Judge(rules, build_graph(db, agencies), agencies, classes,
                  getattr(keys, "boundaries", []), getattr(keys, "frame_bounds", []))
    tracer = _Tracer(db, judge)
    severity_of = {r.id: r.severity for r in rules}
    key_rows, groups = [], []
    rules_of: dict[int, tuple[str, ...]] = {}
    per_rule = {r.id: 0 for r in rules}  # de-duplicated searches
    rows_of = {r.id: 0 for r in rules}  # rows of the findings view: a search with two owners has two
    say = progress or quiet
    total = len(keys.ids)
    say(TRACING, 0, total)
    for i, (key, key_id) in enumerate(keys.ids.items(), 1):
        trace_id = tracer.get(key)
        verdict = [(rule_id, severity_of[rule_id]) for rule_id in judge.verdict(key)]
        n = keys.searches.get(key_id, 0)
        if i % _TRACE_TICK == 0:
            say(TRACING, i, total)
        key_rows.append((key_id, run_id, *key, trace_id, n))
        rules_of[key_id] = tuple(rule_id for rule_id, _ in verdict)
        for rule_id, severity in verdict:
            groups.append((run_id, rule_id, severity, key_id))
            per_rule[rule_id] += n
            rows_of[rule_id] += n
    say(TRACING, total, total)
    # A search with several owners has a key per owner: count it once per rule.
    for key_ids in keys.several.values():
        seen: dict[str, int] = {}
        for key_id in key_ids:
            for rule_id in rules_of.get(key_id, ()):
                seen[rule_id] = seen.get(rule_id, 0) + 1
        for rule_id, times in seen.items():
            per_rule[rule_id] -= times - 1
    db.conn.executemany(
        f"INSERT INTO scan_keys (id, run_id, {', '.join(SearchKey._fields)}, trace_id, searches) "
        f"VALUES ({', '.join('?' * (len(SearchKey._fields) + 4))})", key_rows)
    db.conn.executemany("INSERT INTO finding_groups (run_id, rule_id, severity, key_id) VALUES (?, ?, ?, ?)", groups)
    create_indexes(db)
    return {rule_id: (per_rule[rule_id], rows_of[rule_id]) for rule_id in per_rule}


def _apply_aggregate_rule(db, run_id: int, rule: Rule) -> None:
    rows = [(run_id, rule.id, rule.severity, c.agency_id, c.subject, c.detail, c.searches)
            for c in MEASURES[rule.measure](db, rule.params)]
    db.conn.executemany(
        "INSERT INTO aggregate_findings (run_id, rule_id, severity, agency_id, subject, detail, searches) "
        "VALUES (?,?,?,?,?,?,?)",
        rows,
    )


def _summarize(db, run_id, unresolved, beneficiaries, tag_sets, seconds,
               by_rule: dict[str, tuple[int, int]]) -> RunSummary:
    searches = db.execute("SELECT COUNT(*) FROM searches").fetchone()[0]
    by_tag: dict[str, int] = {}
    for reason_id, n in db.execute("SELECT reason_id, COUNT(*) FROM searches GROUP BY reason_id"):
        for tag in tag_sets.get(reason_id, ("missing",) if reason_id is None else ()):
            by_tag[tag] = by_tag.get(tag, 0) + n
    findings_by_rule: dict[str, dict[str, Any]] = {}
    for rule_id, severity, title, citation, scope, groups, agg, agg_searches in db.execute(
        """SELECT r.rule_id, r.severity, r.title, r.citation, r.scope,
                  (SELECT COUNT(*) FROM finding_groups g WHERE g.rule_id = r.rule_id AND g.run_id = ?),
                  (SELECT COUNT(*) FROM aggregate_findings a WHERE a.rule_id = r.rule_id AND a.run_id = ?),
                  (SELECT COALESCE(SUM(a.searches), 0) FROM aggregate_findings a WHERE a.rule_id = r.rule_id AND a.run_id = ?)
           FROM rules r ORDER BY r.rule_id""",
        [run_id, run_id, run_id],
    ):
        if scope == "search":
            # A search rule's finding rows: one per search and owner; its searches: de-duplicated.
            n_searches, n_rows = by_rule.get(rule_id, (0, 0))
            findings_by_rule[rule_id] = {"severity": severity, "title": title, "citation": citation,
                                         "findings": n_rows, "searches": n_searches, "groups": groups, "scope": scope}
        else:
            findings_by_rule[rule_id] = {"severity": severity, "title": title, "citation": citation,
                                         "findings": agg, "searches": agg_searches, "scope": scope}
    return RunSummary(
        run_id=run_id,
        searches=searches,
        sightings=db.execute("SELECT COUNT(*) FROM sightings").fetchone()[0],
        releases=db.execute("SELECT COUNT(*) FROM releases").fetchone()[0],
        agencies=db.execute("SELECT COUNT(*) FROM agencies").fetchone()[0],
        unresolved_agencies=unresolved,
        beneficiaries=beneficiaries,
        searches_by_tag=dict(sorted(by_tag.items(), key=lambda kv: -kv[1])),
        findings_by_rule=findings_by_rule,
        seconds=seconds,
        overview=describe_run(db, run_id),
    )
