"""Gather what a report shows from an audited store, as plain data: a list of sections.

The report reads what `audit run` stored (``runs.summary``: counts, findings by rule, the
overview of every search from :mod:`auditor.overview`, accountability tables and the self-score)
and queries the store only for capped example rows. It recomputes nothing, so writing the report of
a 10M-search store takes seconds and its size is bounded by the caps.

A section is a dict ``{"id", "title", "kind", ...}``. ``paragraphs`` (plain sentences) and
``tables`` (``{"caption", "columns": [[key, label], ...], "rows", "numeric": [key, ...]}``) are
rendered by every format as they are; a renderer may also draw a kind of its own (charts, the map,
the flows). A new section is one builder function added to :data:`SECTIONS`.
Every count carries its unit in its name: ``searches`` are de-duplicated searches, ``rows`` rows
of a release or of the findings table.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any, Callable

import sqlite_utils

from auditor.errors import InputError
from auditor.facts import first_release_sql, first_row_sql, judged_state_sql, sightings_count_sql
from auditor.importers.completeness import incomplete_releases
from auditor.importers.versions import contested
from auditor.rules.citations import PRACTICE, Citer, applied
from auditor.rules.laws import law_states
from auditor.report.behalf_sections import agreements_section, behalf_section
from auditor.schema import replaced_results

EXAMPLES_PER_RULE = 200
TOP_BARS = 15
TOP_FLOWS = 15
TOP_TABLE = 50  # rows of an agency-by-agency table; the full list is in the store
MAPS = 6  # owners drawn on the map, largest first
NO_OWNER = "(owner not in release)"
SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}
FULL_DATA = ("the full lists are in the store: the `agency_summary`, `state_summary`, `finding_list` and "
             "`search_list` tables and views (`audit serve --db STORE` opens them in Datasette), and the CSV "
             "report lists every per-search finding")


@dataclass
class Report:
    """Everything a report writer needs; plain dicts and lists so it serializes as JSON as is."""

    store: str
    run: dict[str, Any]
    counts: dict[str, int]
    rules: list[dict[str, Any]] = field(default_factory=list)  # every rule with the run's counts
    sections: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def section(self, section_id: str) -> dict[str, Any] | None:
        """The section with this id, or None when the store had nothing for it."""
        return next((s for s in self.sections if s["id"] == section_id), None)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Context:
    """What section builders read: the store (for capped examples) and the last run's stored results."""

    db: sqlite_utils.Database
    store: str
    run: dict[str, Any]
    overview: dict[str, Any]
    rules: list[dict[str, Any]]
    examples_per_rule: int = EXAMPLES_PER_RULE
    top_bars: int = TOP_BARS
    top_flows: int = TOP_FLOWS


def latest_run(db: sqlite_utils.Database, store: str = "store") -> dict[str, Any]:
    """The last complete `audit run`, with ``unfinished``: the later runs that did not finish.

    A run killed or refused midway rolls back to the last complete run's results (auditor.scan),
    so those are reported, with a note naming the unfinished run. InputError when the store was
    never audited, or when a killed run had already replaced the results (meta `results_run`)."""
    row = db.execute(
        """SELECT id, started_at, finished_at, version, ruleset_hash, params, summary FROM runs
           WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1"""
    ).fetchone()
    if row is None:
        raise InputError(f"{store}: this store has not been audited yet; run `audit run --db {store}` first")
    if (replaced := replaced_results(db, store)) is not None:
        raise InputError(replaced)
    unfinished = [{"id": i, "started_at": t} for i, t in db.execute(
        "SELECT id, started_at FROM runs WHERE finished_at IS NULL AND id > ? ORDER BY id", [row[0]])]
    keys = ("id", "started_at", "finished_at", "version", "ruleset_hash", "params", "summary")
    run = dict(zip(keys, row))
    run["params"] = json.loads(run["params"]) if run["params"] else {}
    run["summary"] = json.loads(run["summary"]) if run["summary"] else {}
    run["unfinished"] = unfinished
    # Findings of an older store beside today's counts would mislead: refuse a store changed since.
    audited = (run["summary"].get("searches"), run["summary"].get("releases"))
    now = (db.execute("SELECT COUNT(*) FROM searches").fetchone()[0],
           db.execute("SELECT COUNT(*) FROM releases").fetchone()[0])
    if audited[0] is not None and audited != now:
        raise InputError(f"{store}: the store changed since the last audit (run {run['id']} saw {audited[0]:,} "
                         f"searches in {audited[1]} releases, now {now[0]:,} in {now[1]}); "
                         f"run `audit run --db {store}` again")
    if not run["summary"].get("overview"):
        raise InputError(f"{store}: run {run['id']} was made by an older proxytrace that stored no overview; "
                         f"run `audit run --db {store}` again")
    return run


def interrupted_note(run: dict[str, Any]) -> str:
    """The note on later runs that did not finish (killed, refused, or still running)."""
    later = ", ".join(f"run {u['id']} (started {u['started_at']})" for u in run["unfinished"])
    return (f"A later `audit run` did not finish: {later}; it was interrupted or is still running. "
            f"This report shows run {run['id']}, the last complete run.")


def build_report(
    db: sqlite_utils.Database,
    *,
    store: str = "store",
    examples_per_rule: int = EXAMPLES_PER_RULE,
    top_bars: int = TOP_BARS,
    top_flows: int = TOP_FLOWS,
) -> Report:
    """Build the report of the store's latest audit run from what that run stored.

    ``examples_per_rule`` caps each rule's table of example findings (the report states the cap and
    the full count); ``top_bars`` and ``top_flows`` cap the charts and the flow picture likewise.
    """
    run = latest_run(db, store)
    overview = run["summary"]["overview"]
    ctx = Context(db, store, run, overview, _rules(db, run), examples_per_rule, top_bars, top_flows)
    counts = dict(overview["totals"])
    counts["searches_with_findings"] = counts.pop("with_findings")
    report = Report(
        store=store,
        run={k: run[k] for k in ("id", "started_at", "finished_at", "version", "ruleset_hash", "params")},
        counts=counts,
        rules=ctx.rules,
    )
    for builder in SECTIONS:
        section = builder(ctx)
        if section:
            report.sections.append(section)
    report.notes = _notes(report, ctx)
    return report


# The state a finding is judged by (auditor.facts.judged_state): a state law's own state, else the
# owner's for a search finding that names one, else the searcher's; an aggregate finding's agency
# (auditor.rules.citations.Citer resolves the citation).
@lru_cache(maxsize=1)
def _group_citations_sql() -> str:
    return f"""
    SELECT g.rule_id, {judged_state_sql('t', 'oa', 'sa', 'g.rule_id', law_states())}, t.owner_id IS NOT NULL,
           SUM(k.searches)
    FROM finding_groups g JOIN scan_keys k ON k.id = g.key_id JOIN traces t ON t.id = k.trace_id
    LEFT JOIN agencies oa ON oa.id = t.owner_id LEFT JOIN agencies sa ON sa.id = t.searcher_id
    WHERE g.run_id = ? GROUP BY 1, 2, 3
    UNION ALL
    SELECT f.rule_id, ga.state, 1, COUNT(*) FROM aggregate_findings f LEFT JOIN agencies ga ON ga.id = f.agency_id
    WHERE f.run_id = ? GROUP BY 1, 2
"""


def citation_groups(db: sqlite_utils.Database, run_id: int) -> list[list[Any]]:
    """[rule id, judging state, has an owner, finding rows] of a run: what its citations depend on.

    Read from the grouped findings (a key's search count), so it costs the distinct keys, not rows;
    `audit run` stores it in the overview, so a report does not group again.
    """
    return [list(r) for r in db.execute(_group_citations_sql(), [run_id, run_id])]


def _rule_citations(db: sqlite_utils.Database, run_id: int, citer: Citer, stored: dict[str, str],
                    groups: list[list[Any]] | None = None) -> dict[str, list[dict[str, Any]]]:
    """rule id -> the citations its findings carry (one per jurisdiction), with finding rows each."""
    out: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
    for rule_id, state, has_owner, n in (groups if groups is not None else citation_groups(db, run_id)):
        c = citer(rule_id, state, bool(has_owner), stored.get(rule_id))
        entry = out.setdefault(rule_id, {}).setdefault(
            (c.jurisdiction, c.text), {"jurisdiction": c.jurisdiction, "citation": c.text, "law_ids": list(c.law_ids),
                                       "related": list(c.related), "sources": list(c.sources), "finding_rows": 0})
        entry["finding_rows"] += n
    return {rule_id: sorted(v.values(), key=lambda e: (e["jurisdiction"] == PRACTICE, e["jurisdiction"]))
            for rule_id, v in out.items()}


def _citation_label(c: dict[str, Any]) -> str:
    """Where a rule's citation applies: a law's state, the state whose related law a practice finding
    shows (`practice, CA`), or `elsewhere` for the practice alone."""
    if c["jurisdiction"] != PRACTICE:
        return c["jurisdiction"].upper()
    related = sorted({law_id.split(".")[0].upper() for law_id in c.get("related", [])})
    return f"practice, {', '.join(related)}" if related else "elsewhere"


def _rules(db: sqlite_utils.Database, run: dict[str, Any], citer: Citer | None = None) -> list[dict[str, Any]]:
    """Every rule with the run's stored counts; high severity first, rules that found something first.

    A finding cites the law of the jurisdiction it is judged by: a rule's citations are those its
    findings carry, per jurisdiction; a rule without findings shows its own.
    """
    by_rule = run["summary"].get("findings_by_rule", {})
    citer = citer or Citer()
    rows = db.execute("SELECT rule_id, title, severity, citation, scope FROM rules").fetchall()
    cited = _rule_citations(db, run["id"], citer, {r[0]: r[3] for r in rows},
                            run["summary"].get("overview", {}).get("citation_groups"))
    out = []
    for rule_id, title, severity, citation, scope in rows:
        stored = by_rule.get(rule_id, {})
        aggregate = scope == "aggregate"
        own = citer(rule_id, None, True, citation)
        citations = cited.get(rule_id) or [{"jurisdiction": own.jurisdiction, "citation": own.text,
                                            "law_ids": [], "related": [], "sources": [], "finding_rows": 0}]
        if len(citations) > 1:
            shown = "; ".join(f"{_citation_label(c)}: {c['citation']}" for c in citations)
        else:
            shown = citations[0]["citation"]
        out.append({
            "rule_id": rule_id, "title": title, "severity": severity, "citation": shown, "stored_citation": citation,
            "scope": scope, "citations": citations,
            "finding_rows": stored.get("findings", 0), "searches": stored.get("searches", 0),
            "searches_basis": "sum over findings (may overlap)" if aggregate else "distinct searches",
        })
    out.sort(key=lambda r: (SEVERITY_ORDER.get(r["severity"], 3), r["finding_rows"] == 0, -r["searches"], r["rule_id"]))
    return out


# --- sections -------------------------------------------------------------------------------------

def _share(part: int, whole: int) -> str:
    if not whole or not part:
        return "0%"
    share = part / whole
    return f"{share:.1%}" if share < 0.01 else f"{share:.0%}"


def _count(n: int, noun: str, plural: str | None = None) -> str:
    """`1 search`, `2 searches`: a count with its noun in the right number."""
    return f"{n:,} {noun if n == 1 else (plural or noun + 's')}"


def _short_citation(citation: str) -> str:
    return citation.split(";")[0].strip()


def _names(rows: list[dict[str, Any]], key: str, count: str, limit: int = 3) -> str:
    shown = [f"{r[key]} ({r[count]:,})" for r in rows[:limit]]
    more = len(rows) - limit
    return ", ".join(shown) + (f" and {more:,} more" if more > 0 else "")


def headline_section(ctx: Context) -> dict[str, Any]:
    """The findings in plain sentences, each linked to its section and its evidence."""
    o, t = ctx.overview, ctx.overview["totals"]
    sentences = []

    def say(text: str, section: str, *evidence: tuple[str, str]) -> None:
        sentences.append({"text": text, "section": section,
                          "evidence": [{"label": label, "href": href} for label, href in evidence]})

    source = (f"from {t['release_rows']:,} rows of {t['releases']:,} released file{'s' if t['releases'] != 1 else ''}"
              f" ({t['rejected_rows']:,} rows rejected at import)" if t["releases"]
              else "written by the simulator (no released files)")
    say(f"The store holds {_count(t['searches'], 'search', 'searches')} (de-duplicated), {source}.", "releases",
        ("releases", "#releases"))
    for r in incomplete_releases(ctx.db):  # rows the audit does not see, said before anything it found
        say(f"Release {r['file_name']} is not complete ({r['kind'].replace('_', ' ')}): {r['detail']}.", "releases",
            ("releases", "#releases"), ("rule release.incomplete", "#rule-release.incomplete"))
    owners = o["owners"]
    if owners:
        first = owners[0]
        state = f" ({first['state']})" if first["state"] else ""
        if len(owners) == 1:
            say(f"The searches touched the data of one owner, {first['owner']}{state}: "
                f"{_count(first['searches'], 'search', 'searches')}, "
                f"{first['out_of_state']:,} of them ({_share(first['out_of_state'], first['searches'])}) by agencies "
                "outside its state or federal.", "map", ("map", "#map"), ("flows", "#flows"))
        else:
            say(f"The searches touched the data of {len(owners):,} owners: " + _names(owners, "owner", "searches") + ".",
                "map", ("map", "#map"))
    elif t["searches"]:
        say("No release names whose data was searched (an own-search log): the owners are not known.", "map")
    states = [s for s in o["states"] if s["state"] not in ("federal", "unknown")]
    federal = next((s for s in o["states"] if s["state"] == "federal"), None)
    say(f"{_count(t['searchers'], 'agency', 'agencies')} searched, from {_count(t['searcher_states'], 'state')}"
        + (f" (most: {_names(states, 'state', 'searches')})" if len(states) > 1
           else f" ({states[0]['state']})" if states else "")
        + (f"; {_count(federal['searchers'], 'federal agency', 'federal agencies')} made "
           f"{_count(federal['searches'], 'search', 'searches')}" if federal else "")
        + ".", "searches", ("searchers", "#chart-searchers"), ("states", "#chart-states"))
    imm = o["immigration"]
    if imm["searches"]:
        parts = []
        if imm["by_dhs_itself"]:
            parts.append(f"{imm['by_dhs_itself']:,} run by DHS immigration components themselves")
        if imm["for_dhs_by_others"]:
            parts.append(f"{imm['for_dhs_by_others']:,} run by other agencies on behalf of "
                         + _names(imm["by_beneficiary"], "agency", "searches", 2))
        if imm["stated_by_others"]:
            parts.append(f"{imm['stated_by_others']:,} run by other agencies giving an immigration reason "
                         "with no beneficiary named")
        say(f"{_count(imm['searches'], 'search', 'searches')} ({_share(imm['searches'], t['searches'])}) "
            f"{'was' if imm['searches'] == 1 else 'were'} immigration-related, "
            f"by {_count(imm['searchers'], 'agency', 'agencies')} (most: {_names(imm['by_searcher'], 'agency', 'searches')}): "
            + "; ".join(parts) + ".", "immigration", ("immigration-related searches", "#immigration"),
            *[(f"rule {r}", f"#rule-{r}") for r in ("ca.sb54.immigration", "door.side", "door.back")
              if _found(ctx, r)])
    else:
        say("No search was immigration-related by its reason, an inference or its beneficiary.", "immigration")
    linked = imm.get("dhs_linked_not_immigration", 0)
    if linked:
        say(f"{_count(linked, 'other search was', 'other searches were')} run by or on behalf of "
            + _components(imm["dhs_linked_not_immigration_by_component"])
            + " without being immigration-related: nothing in the log states an immigration purpose, and "
            + _HSI_NOTE + " The door findings list them.", "immigration",
            *[(f"rule {r}", f"#rule-{r}") for r in ("door.side", "door.back", "door.front") if _found(ctx, r)])
    if t["for_another_agency"]:
        say(f"{_count(t['for_another_agency'], 'search was', 'searches were')} made for another agency: "
            + _names(o["on_behalf"]["by_beneficiary"], "agency", "searches") + ".", "flows", ("flows", "#flows"))
    found = [r for r in ctx.rules if r["finding_rows"]]
    for r in found[:8]:
        n = (_count(r["searches"], "search", "searches") if r["scope"] == "search"
             else _count(r["finding_rows"], "finding"))
        say(f"{n}: {r['title']} ({_short_citation(r['citation'])}).", "findings",
            (f"rule {r['rule_id']}", f"#rule-{r['rule_id']}"))
    if len(found) > 8:
        more = len(found) - 8
        say(f"{more} more rule{'s' if more != 1 else ''} found something; all are listed under the findings.", "findings",
            ("findings", "#findings"))
    silent = len(ctx.rules) - len(found)
    if silent:
        say(f"{silent} of {len(ctx.rules)} rules found nothing in this store; they are listed at the end.", "rules",
            ("rules without findings", "#rules"))
    return {"id": "headline", "title": "What this audit found", "kind": "headline", "sentences": sentences}


# Why a search for HSI is not counted as immigration-related (auditor.facts.immigration_related).
_HSI_NOTE = ("HSI, ICE's investigative arm, works criminal cases too (trafficking, narcotics), so a search run by "
             "or for it marks a federal beneficiary, not an immigration purpose.")


def _components(by_component: dict[str, int]) -> str:
    return ", ".join(f"{c} ({n:,})" for c, n in by_component.items())


def _found(ctx: Context, rule_id: str) -> bool:
    return any(r["rule_id"] == rule_id and r["finding_rows"] for r in ctx.rules)


def _bars(rows: list[dict[str, Any]], top: int, label: Callable[[dict], str] = lambda r: r["label"]) -> dict[str, Any]:
    bars = [{"label": label(r), "searches": r["searches"], "with_findings": r.get("with_findings", 0),
             "immigration_related": r.get("immigration_related")} for r in rows]
    return {"bars": bars[:top], "groups": len(bars), "shown": min(top, len(bars)),
            "searches_not_shown": sum(b["searches"] for b in bars[top:])}


def searches_section(ctx: Context) -> dict[str, Any]:
    """Every search described: purposes, searchers, states, months, search types, networks searched."""
    o, top = ctx.overview, ctx.top_bars
    agencies = [a for a in o["agencies"] if a["searches"]]
    searchers_total = o["totals"]["searchers"]
    charts = [
        {"id": "chart-purposes", "title": "Searches by purpose (tags read from the reason)", **_bars(o["purposes"], top),
         "note": "a search with several tags counts once for each tag; `vague`, `case_number_only` and "
                 "`missing` mean no meaningful purpose was logged"},
        {"id": "chart-searchers", "title": "Searches by searcher", **_bars(
            agencies, top, lambda a: f"{a['agency']} ({a['state'] or ('federal' if a['level'] == 'federal' else '?')})")},
        {"id": "chart-states", "title": "Searches by searcher's state",
         **_bars(o["states"], 60, lambda s: s["state"])},
        {"id": "chart-months", "title": "Searches by month (UTC)", "kind": "columns",
         **_bars(o["months"], len(o["months"]))},
        {"id": "chart-types", "title": "Searches by search type", **_bars(o["search_types"], top),
         "note": "`lookup` searches are often hotlist automation rather than a person typing a plate"},
        {"id": "chart-networks", "title": "Searches by number of networks searched", **_bars(o["networks"], top),
         "note": "hundreds or thousands of networks mean a statewide or national lookup"},
    ]
    charts[1]["groups"] = searchers_total
    charts[1]["searches_not_shown"] = o["totals"]["searches"] - sum(b["searches"] for b in charts[1]["bars"])
    table_rows = agencies[:TOP_TABLE]
    return {
        "id": "searches", "title": "Every search described", "kind": "charts", "charts": charts,
        "paragraphs": [
            f"{o['totals']['searches']:,} searches, of which {o['totals']['with_findings']:,} "
            f"({_share(o['totals']['with_findings'], o['totals']['searches'])}) have at least one per-search finding: "
            "each bar shows all searches, the darker part those with findings."],
        "tables": [{
            "id": "searchers", "caption": (f"The {len(table_rows):,} agencies that searched most, of {searchers_total:,}; "
                                           + FULL_DATA + "."),
            "columns": [["agency", "searcher"], ["state", "state"], ["level", "level"], ["kind", "kind"],
                        ["searches", "searches"], ["with_findings", "with findings"],
                        ["immigration_related", "immigration-related"], ["for_another_agency", "for another agency"]],
            "rows": table_rows,
            "numeric": ["searches", "with_findings", "immigration_related", "for_another_agency"]}],
    }


def map_section(ctx: Context) -> dict[str, Any] | None:
    """Searches of each owner's data by the searcher's state, for the tile map."""
    owners = ctx.overview["owners"]
    if not owners:
        return {"id": "map", "title": "Where the searchers are", "kind": "map", "maps": [],
                "paragraphs": ["No release names whose data was searched (an own-search log has no owner column), "
                               "so searches are shown by searcher's state only."],
                "by_state": {s["state"]: s for s in ctx.overview["states"]}}
    maps = [{"owner": o["owner"], "owner_state": o["state"], "searches": o["searches"],
             "out_of_state": o["out_of_state"], "immigration_related": o["immigration_related"],
             "by_state": o["by_state"]} for o in owners[:MAPS]]
    paragraphs = ["Each tile is a state, shaded by how many searches its agencies made of the owner's data; the owner's "
                  "state is outlined, and the red figure is the immigration-related searches. Hover a state for its "
                  "figures. Federal agencies and agencies of unknown state are listed under each map."]
    if len(owners) > MAPS:
        paragraphs.append(f"The {MAPS} owners with the most searches are drawn, of {len(owners):,}.")
    return {"id": "map", "title": "Where the searchers are", "kind": "map", "maps": maps, "paragraphs": paragraphs}


def immigration_section(ctx: Context) -> dict[str, Any]:
    """Immigration-related searches: who ran them, for whom, from where."""
    imm = ctx.overview["immigration"]
    rows = imm["by_searcher"][:TOP_TABLE]
    tables = [{"caption": f"Immigration-related searches by searcher ({len(rows)} of {imm['searchers']:,} agencies).",
               "columns": [["agency", "searcher"], ["state", "state"], ["searches", "searches"]],
               "rows": rows, "numeric": ["searches"]}] if rows else []
    if imm["by_beneficiary"]:
        tables.append({"caption": "Immigration-related searches run by other agencies, by the DHS component they were for.",
                       "columns": [["agency", "on behalf of"], ["searches", "searches"]],
                       "rows": imm["by_beneficiary"][:TOP_TABLE], "numeric": ["searches"]})
    return {
        "id": "immigration", "title": "Immigration-related searches", "kind": "tables",
        "paragraphs": [
            f"{imm['searches']:,} searches are immigration-related: the reason says so (`ICE`, `ICE+ERO`, "
            "`imigration`, ...; a 287(g) partner's search counts when its reason does), or it was run by or for "
            f"a DHS immigration enforcer (ICE, ERO, CBP, USBP). {imm['by_dhs_itself']:,} were run by DHS components "
            f"themselves, {imm['for_dhs_by_others']:,} by other agencies on their behalf, "
            f"{imm['stated_by_others']:,} by other agencies that named no beneficiary."]
        + ([f"{imm['dhs_linked_not_immigration']:,} other searches were run by or for "
            + _components(imm["dhs_linked_not_immigration_by_component"]) + " and are not counted: " + _HSI_NOTE]
           if imm.get("dhs_linked_not_immigration") else []),
        "tables": tables,
    }


def flows_section(ctx: Context) -> dict[str, Any]:
    """The largest owner -> searcher -> beneficiary flows, with room kept for door flows."""
    stored, top = ctx.overview["flows"], ctx.top_flows
    flows = stored["flows"]
    through_door = [i for i, f in enumerate(flows) if f["door"]][: top // 2]
    picked = set(through_door)
    picked.update(i for i in range(len(flows)) if i not in picked and len(picked) < top)
    shown = [{**flows[i], "owner": flows[i]["owner"] or NO_OWNER,
              "searcher": flows[i]["searcher"] or "(unknown searcher)"} for i in sorted(picked)]
    door_counts = {r["rule_id"].split(".")[1]: r["searches"] for r in ctx.rules
                   if r["rule_id"].startswith("door.") and r["finding_rows"]}
    return {
        "id": "flows", "title": "Data flows: owner → searcher → beneficiary", "kind": "flows",
        "flows": shown, "distinct_flows": stored["distinct_flows"], "shown": len(shown),
        "searches_not_shown": stored["searches"] - sum(f["searches"] for f in shown),
        "door_flows_shown": len(through_door), "own_data_searches": stored["own_data_searches"],
        "door_searches": door_counts,
    }


# The cited source of a search is its first sighting (auditor.facts.first_row_sql).
_FIRST_ROW = first_row_sql("f.search_id")
_EXAMPLE_JOINS = f"""
    JOIN searches s ON s.id = f.search_id
    LEFT JOIN agencies sa ON sa.id = s.searcher_id
    LEFT JOIN reasons rs ON rs.id = s.reason_id
    LEFT JOIN traces t ON t.id = f.trace_id
    LEFT JOIN agencies oa ON oa.id = t.owner_id
    LEFT JOIN agencies ba ON ba.id = t.beneficiary_id AND t.beneficiary_id IS NOT t.searcher_id
    LEFT JOIN releases rel ON rel.id = {first_release_sql("f.search_id")}
"""


def _example_columns() -> str:
    return f"""
    SELECT f.search_id, s.time, sa.name, sa.state, s.user, rs.text, s.redacted, s.plate, s.case_number, t.path, t.door,
           rel.file_name, {_FIRST_ROW}, {sightings_count_sql("f.search_id")},
           {judged_state_sql('t', 'oa', 'sa', 'f.rule_id', law_states())}, t.owner_id IS NOT NULL,
           (SELECT rr.page || ',' || rr.line FROM release_rows rr
             WHERE rr.release_id = rel.id AND rr.row_number = {_FIRST_ROW}),
           oa.name, ba.name
"""


@lru_cache(maxsize=2)
def _example_sql(from_findings: bool) -> str:
    """The examples `audit run` chose (auditor.examples): a few point look-ups per row, whatever the
    store's size; or, for more examples than the run stored, read off the findings (time grows with
    the store)."""
    if not from_findings:
        return f"""{_example_columns()}
    FROM (SELECT e.search_id, sk.trace_id, e.rank, e.rule_id FROM rule_examples e JOIN scan_keys sk ON sk.id = e.key_id
          WHERE e.run_id = ? AND e.rule_id = ? ORDER BY e.rank LIMIT ?) f
    {_EXAMPLE_JOINS}
    ORDER BY f.rank
"""
    return f"""{_example_columns()}
    FROM findings f
    {_EXAMPLE_JOINS}
    WHERE f.run_id = ? AND f.rule_id = ? AND f.search_id IS NOT NULL
    LIMIT ?
"""


def source_cite(search_id: int, file_name: str | None, row_number: int | None, sightings: int = 1,
                place: str | None = None) -> str:
    """Where a finding's search was seen: `file.csv, row 12` (plus how many more rows), or the simulator.

    ``place`` is `page,line` for a row of a PDF release: `file.pdf, row 12 (page 2, line 7)`.
    """
    if file_name is None:
        return f"simulated search {search_id}"
    more = f" (and {sightings - 1} more rows)" if sightings > 1 else ""
    where = ""
    if place:
        page, line = place.split(",")
        where = f" (page {page}, line {line})"
    return f"{file_name}, row {row_number}{where}{more}"


def _reason_cell(text: str | None, redacted: str | None) -> str | None:
    if text is not None:
        return text
    return None if not redacted or "reason" not in redacted.split(",") else "(redacted)"


def findings_section(ctx: Context) -> dict[str, Any]:
    """Each rule that found something: its counts, citation and capped example findings with sources."""
    db, run_id, cap = ctx.db, ctx.run["id"], ctx.examples_per_rule
    citer = Citer()
    found = [r for r in ctx.rules if r["finding_rows"]]
    stored = ctx.run["summary"].get("examples_per_rule", 0)
    example_sql = _example_sql(cap > stored)
    rules = []
    for rule in found:
        section = {k: rule[k] for k in ("rule_id", "title", "severity", "citation", "scope", "finding_rows", "searches")}
        if rule["scope"] == "aggregate":
            rows = db.execute(
                """SELECT a.name, f.subject, f.detail, f.searches, a.state FROM aggregate_findings f
                   LEFT JOIN agencies a ON a.id = f.agency_id
                   WHERE f.run_id = ? AND f.rule_id = ? ORDER BY f.searches DESC, f.id LIMIT ?""",
                [run_id, rule["rule_id"], cap],
            )
            # Each aggregate finding cites the law of its agency's state, or the practice it rests on.
            section["rows"] = [{**dict(zip(("agency", "subject", "detail", "searches"), r[:4])),
                                "citation": citer(rule["rule_id"], r[4], True, rule["stored_citation"]).text}
                               for r in rows]
        else:
            examples = db.execute(example_sql, [run_id, rule["rule_id"], cap]).fetchall()
            # A search releases disagree about is judged by its settled value, which no one row carries:
            # every version is shown beside the cited row (auditor.importers.versions).
            disputed = contested(db, [r[0] for r in examples])
            section["rows"] = [
                {"search_id": sid, "time": time, "searcher": searcher, "searcher_state": state, "user": user,
                 "reason": _reason_cell(reason, redacted), "plate": plate, "case_number": case,
                 "trace": path, "door": door,
                 "source": source_cite(sid, file_name, row, n_sightings, place)
                 + (f"; {disputed[sid]}" if sid in disputed else ""),
                 "source_release": file_name, "source_row": row, "contested": disputed.get(sid),
                 "citation": citer(rule["rule_id"], judged_state, bool(has_owner), rule["stored_citation"]).text,
                 # The finding in a sentence naming the party whose conduct it describes.
                 "finding": citer.statement(rule["rule_id"], {"owner": owner, "searcher": searcher,
                                                              "beneficiary": beneficiary}, rule["title"])}
                for sid, time, searcher, state, user, reason, redacted, plate, case, path, door, file_name, row,
                n_sightings, judged_state, has_owner, place, owner, beneficiary
                in examples
            ]
        section["shown"] = len(section["rows"])
        section["capped"] = section["shown"] < rule["finding_rows"]
        rules.append(section)
    return {
        "id": "findings", "title": "Findings by rule, with their sources", "kind": "findings", "rules": rules,
        "paragraphs": ["Finding rows count rows of the findings table (a search of several owners' data has one "
                       "per owner); searches are de-duplicated searches. Each example names its release file and "
                       "row." + (f" Tables show at most {cap:,} findings per rule; {FULL_DATA}." if cap else "")],
        "tables": [{
            "caption": "Rules that found something.",
            "columns": [["rule_id", "rule"], ["title", "title"], ["severity", "severity"], ["citation", "citation"],
                        ["finding_rows", "finding rows"], ["searches", "searches"]],
            "rows": [{**r, "link": f"#rule-{r['rule_id']}"} for r in found],
            "numeric": ["finding_rows", "searches"]}] if found else [],
    }


def _pct(count: int, share: float) -> str:
    return f"{count:,} ({share:.0%})"


def accountability_section(ctx: Context) -> dict[str, Any] | None:
    """Exposure by owner, misuse disclosed versus logged, record-keeping gaps: each table only when it has rows."""
    acc = ctx.overview.get("accountability") or {}
    tables = []
    if acc.get("exposure"):
        rows = [{
            "owner": e["owner"], "scopes": ", ".join(e["scopes"]) or "none", "cameras": e["cameras"],
            "could_reach": e["could_reach"], "levels": ", ".join(f"{k} {v:,}" for k, v in e["by_level"].items()),
            "out_of_state": e["out_of_state"],
            "states": ", ".join(f"{k} {v:,}" for k, v in list(e["by_state"].items())[:8])
                      + (" ..." if len(e["by_state"]) > 8 else ""),
            "dhs": ", ".join(e["dhs_components"]) or "none", "searches_by_others": e["searches_by_others"],
            "searchers": e["searchers"], "searches_of_read_plates": e["searches_of_read_plates"],
            "immigration_related": e["immigration_related"], "by_dhs": e["by_dhs"],
        } for e in acc["exposure"][:TOP_TABLE]]
        tables.append({
            "id": "exposure", "caption": "Exposure: who could reach each owner's data. From the sharing settings: direct "
            "grantees; with statewide sharing every non-federal agency of the owner's state; with national sharing every "
            "agency in the store (a vendor's real pool is larger). Searches are de-duplicated searches by agencies other "
            "than the owner.",
            "columns": [["owner", "owner"], ["scopes", "sharing"], ["cameras", "cameras"],
                        ["could_reach", "agencies that could search"], ["levels", "by level"],
                        ["out_of_state", "out of state"], ["states", "by state"], ["dhs", "DHS immigration components"],
                        ["searches_by_others", "searches by others"], ["searchers", "agencies that searched"],
                        ["searches_of_read_plates", "searches of plates its cameras read"],
                        ["immigration_related", "immigration-related searches"], ["by_dhs", "searches by DHS"]],
            "rows": rows, "numeric": ["cameras", "could_reach", "out_of_state", "searches_by_others", "searchers",
                                      "searches_of_read_plates", "immigration_related", "by_dhs"]})
    if acc.get("disclosures"):
        ds = acc["disclosures"]
        totals = {k: sum(d[k] or 0 for d in ds) for k in ("investigations", "confirmed", "pending", "log_cases",
                                                           "beyond_disclosed")}
        rows = [{**d, "status": d["status"].replace("_", " "),
                 "outcomes": ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in d["outcomes"].items() if v) or None}
                for d in ds]
        tables.append({
            "id": "disclosures",
            "caption": f"Misuse disclosed versus the log. Disclosed in total: {totals['investigations']:,} investigations, "
                       f"{totals['confirmed']:,} confirmed, {totals['pending']:,} pending. The log shows "
                       f"{totals['log_cases']:,} suspected misuse cases (officers), {totals['beyond_disclosed']:,} beyond "
                       "what their agencies disclosed. A suspected case is a lead, not a proven one.",
            "columns": [["agency", "agency"], ["year", "year"], ["status", "disclosure"],
                        ["investigations", "investigations"], ["confirmed", "confirmed"], ["pending", "pending"],
                        ["outcomes", "outcomes"], ["system_searches", "searches in log"],
                        ["log_cases", "suspected misuse cases in log"], ["log_searches", "their searches"],
                        ["beyond_disclosed", "cases beyond disclosed"]],
            "rows": rows, "numeric": ["investigations", "confirmed", "pending", "system_searches", "log_cases",
                                      "log_searches", "beyond_disclosed"]})
    gaps = acc.get("record_gaps") or {}
    if gaps.get("agencies"):
        rows = [{**g, "no_user": _pct(g["no_user"], g["no_user_share"]),
                 "no_reason": _pct(g["no_reason"], g["no_reason_share"]),
                 "no_case": _pct(g["no_case"], g["no_case_share"])} for g in gaps["agencies"]]
        tables.append({
            "id": "record-gaps",
            "caption": f"What the missing records hide: {gaps['agencies_total']:,} agencies logged searches with no "
                       f"user or no reason; the {len(rows)} with the most are shown.",
            "columns": [["agency", "agency"], ["searches", "searches"], ["no_user", "cannot be attributed to an officer"],
                        ["no_reason", "no reason"], ["no_case", "no case number"]],
            "rows": rows, "numeric": ["searches"]})
        if gaps.get("officers"):
            rows = [{**g, "no_reason": _pct(g["no_reason"], g["no_reason_share"]),
                     "no_case": _pct(g["no_case"], g["no_case_share"])} for g in gaps["officers"]]
            tables.append({
                "caption": f"Officers with the highest share of searches without a reason ({len(rows)} of "
                           f"{gaps['officers_total']:,}, at least 10 searches each).",
                "columns": [["agency", "agency"], ["user", "officer"], ["searches", "searches"],
                            ["no_reason", "no reason"], ["no_case", "no case number"]],
                "rows": rows, "numeric": ["searches"]})
    if not tables:
        return None
    return {"id": "accountability", "title": "Exposure, disclosures and record-keeping", "kind": "tables",
            "tables": tables}


def score_section(ctx: Context) -> dict[str, Any] | None:
    """The self-score against simulator truth that `audit run` stored (simulated stores only)."""
    score = ctx.overview.get("score")
    if not score:
        return None
    return {"id": "score", "title": "Self-scoring against simulator truth", "kind": "score", "score": score,
            "paragraphs": ["Precision and recall of the audit against the simulator's ground truth; per-rule counts "
                           "are traced (search, owner) pairs, per-purpose counts are searches."]}


def releases_section(ctx: Context) -> dict[str, Any]:
    """The released files behind the store, with their row accounts."""
    keys = ("file_name", "format", "audit_kind", "producer", "rows_read", "rows_imported", "rows_rejected",
            "rows_padding", "sha256")
    rows = [dict(zip(keys, r)) for r in ctx.db.execute(
        """SELECT r.file_name, r.format, r.audit_kind, a.name, r.rows_read, r.rows_imported, r.rows_rejected,
                  coalesce(r.rows_padding, 0), r.sha256
           FROM releases r LEFT JOIN agencies a ON a.id = r.producer_id ORDER BY r.id""")]
    if not rows:
        return {"id": "releases", "title": "Releases", "kind": "tables",
                "paragraphs": ["No releases: the searches were written by the simulator, so findings cite "
                               "`simulated search <id>` instead of a release file and row."]}
    return {"id": "releases", "title": "Releases", "kind": "tables", "releases": rows, "tables": [{
        "caption": "Each file as received: rows read = rows imported + rows rejected + padding (blank or "
                   "counter-only records, never searches).",
        "columns": [["file_name", "file"], ["format", "format"], ["audit_kind", "audit kind"], ["producer", "producer"],
                    ["rows_read", "rows read"], ["rows_imported", "rows imported"], ["rows_rejected", "rows rejected"],
                    ["rows_padding", "padding"], ["sha256", "sha256"]],
        "rows": rows, "numeric": ["rows_read", "rows_imported", "rows_rejected", "rows_padding"]}]}


def rules_section(ctx: Context) -> dict[str, Any]:
    """The rules that found nothing, compactly, and the run that applied them."""
    silent = [r for r in ctx.rules if not r["finding_rows"]]
    run = ctx.run
    params = ", ".join(f"{k} {v}" for k, v in sorted(run["params"].items()) if v is not None)
    paragraphs = []
    if silent:
        paragraphs.append(f"{len(silent)} rules found nothing: "
                          + "; ".join(f"{r['rule_id']} ({_short_citation(r['citation'])})" for r in silent) + ".")
    paragraphs.append(f"Run #{run['id']} of proxytrace {run['version']}, {run['started_at']} to {run['finished_at']}, "
                      f"rule set hash {run['ruleset_hash']}" + (f"; parameters: {params}" if params else "")
                      + f"; store {ctx.store}.")
    return {"id": "rules", "title": "Rules without findings, and the run", "kind": "tables",
            "silent_rules": [r["rule_id"] for r in silent], "paragraphs": paragraphs}


def jurisdictions_applied(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Per owner of searched data (and per searcher of searches whose owner no release names): its
    state, the jurisdiction file whose laws were applied and which, said plainly when none is encoded."""
    rows = []
    for agency_id, name, state, n in db.execute(
        """SELECT a.id, a.name, a.state, COUNT(DISTINCT so.search_id) FROM search_owners so
           JOIN agencies a ON a.id = so.owner_id GROUP BY a.id ORDER BY 4 DESC, a.name"""
    ):
        rows.append({"agency": name, "role": "owner", "state": state, "searches": n, **applied(state, "owner")})
    for agency_id, name, state, n in db.execute(
        """SELECT a.id, COALESCE(a.name, '(unknown searcher)'), a.state, COUNT(*) FROM searches s
           LEFT JOIN agencies a ON a.id = s.searcher_id
           WHERE NOT EXISTS (SELECT 1 FROM search_owners so WHERE so.search_id = s.id)
           GROUP BY s.searcher_id ORDER BY 4 DESC, 2"""
    ):
        rows.append({"agency": name, "role": "searcher (no owner in release)", "state": state, "searches": n,
                     **applied(state, "searcher")})
    return rows


def searcher_law_rows(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Per state whose encoded laws bind the agency that searched, and whose agencies searched: those
    laws, applied to its searchers' own conduct whoever owned the data (from the run's `state_summary`)."""
    if not db["state_summary"].exists():
        return []
    rows = []
    for state, searchers, searches in db.execute(
            "SELECT state, searchers, searches FROM state_summary ORDER BY searches DESC, state"):
        laws = applied(state, "searcher") if state and len(state) == 2 else None
        if laws and laws["laws"]:
            rows.append({"agency": f"{searchers:,} searching {'agency' if searchers == 1 else 'agencies'} of {state}",
                         "role": "searcher (laws that bind the agency that searched)", "state": state,
                         "searches": searches, **laws})
    return rows


def jurisdictions_section(ctx: Context) -> dict[str, Any] | None:
    """Per owner (or searcher where no owner is named): whose laws were applied, or that none is encoded."""
    stored = ctx.overview.get("jurisdictions")
    applied_rows = ([{**j, **applied(j["state"], "owner" if j["role"] == "owner" else "searcher")} for j in stored]
                    if stored is not None else jurisdictions_applied(ctx.db))
    applied_rows += searcher_law_rows(ctx.db)
    rows = [{**j, "state": j["state"] or "unknown", "laws": ", ".join(j["laws"]) or "none"} for j in applied_rows]
    if not rows:
        return None
    return {
        "id": "jurisdictions", "title": "Jurisdictions applied", "figures": applied_rows,
        "paragraphs": ["A finding that cites a law is judged by that law's own state: the owner's for a law that "
                       "binds the owner or operator of the data, the searcher's for a law that binds the agency "
                       "that searched (a Nebraska agency's query of Illinois data is judged by Nebraska's law). "
                       "Any other finding rests on the published practice it cites and is judged by the owner's "
                       "state (or the searcher's where the release names no owner), whose law on its grounds is "
                       "shown beside it only as related law."],
        "tables": [{"caption": "Laws applied per agency whose data or searches were audited.",
                    "columns": [["agency", "agency"], ["role", "as"], ["state", "state"], ["searches", "searches"],
                                ["laws", "laws applied"], ["note", "jurisdiction"]],
                    "rows": rows, "numeric": ["searches"]}],
    }


def whatif_section(ctx: Context) -> dict[str, Any] | None:
    """The shipped sharing and logging policies side by side for each owner: what each would have
    blocked and let through (`audit whatif`), with the simulator's truth where there is some.

    Reads the comparison `audit run` stored; a run stored before it had one is compared here."""
    from auditor.whatif import policy_comparison

    stored = ctx.overview["whatif"] if "whatif" in ctx.overview else policy_comparison(ctx.db)
    if not stored:
        return None
    columns = [["policy", "policy"], ["basis", "basis"], ["blocked", "blocked"], ["allowed", "let through"],
               ["unjudged", "not judged"], ["immigration_blocked", "immigration-related blocked (stated or inferred)"],
               ["behalf_blocked", "for another agency blocked"]]
    simulated = stored["simulated"]
    if simulated:
        columns += [["truth_immigration", "truly immigration-related stopped"], ["truth_disguised", "disguised stopped"],
                    ["truth_ordinary", "ordinary police searches cost"]]
    numeric = [c[0] for c in columns[2:]]
    tables = []
    for owner in stored["owners"]:
        rows = []
        for r in owner["rows"]:
            row = {k: r[k] for k in ("policy", "basis", "blocked", "allowed", "unjudged",
                                     "immigration_blocked", "behalf_blocked")}
            if simulated:
                for name, key in (("truth_immigration", "immigration_related"), ("truth_disguised", "disguised"),
                                  ("truth_ordinary", "ordinary")):
                    stopped, whole = r["truth"][key]
                    row[name] = f"{stopped:,} of {whole:,}"
            rows.append(row)
        tables.append({"caption": f"{owner['owner']}: {owner['searches']:,} searches of its data (de-duplicated), "
                                  "per policy.",
                       "columns": columns, "rows": rows, "numeric": numeric[:5]})
    paragraphs = [
        "What each shipped policy would have done to the searches in this store, had the owner set it: blocked, "
        "let through, or not judged (the owner's sharing list was not imported). Counts are de-duplicated searches "
        "of each owner's data; blocked + let through + not judged = the owner's searches. A policy resting on law "
        "cites it; the others are settings a council can choose.",
        "The command audit whatif --db STORE --policy NAME shows one policy by purpose, searcher and state, and "
        "lists the search ids behind every count (--rows); audit whatif --all --json gives this comparison for "
        "machines.",
    ]
    if simulated:
        paragraphs.append("Truth columns come from the simulator: truly immigration-related searches (purpose "
                          "immigration or done for ICE, ERO, CBP or Border Patrol) and disguised ones the policy "
                          "would have stopped, and ordinary police searches (no immigration, misuse or sensitive "
                          "purpose) it would have cost.")
    if stored["owners_total"] > len(stored["owners"]):
        paragraphs.append(f"The {len(stored['owners'])} most searched owners are shown; audit whatif --all lists "
                          "every owner.")
    return {"id": "whatif", "title": "What sharing and logging policies would have changed", "kind": "tables",
            "paragraphs": paragraphs, "tables": tables}


def _behalf(ctx: Context) -> dict[str, Any] | None:
    return behalf_section(ctx.db, ctx.overview.get("behalf")) or None


def _agreements(ctx: Context) -> dict[str, Any] | None:
    return agreements_section(ctx.db, ctx.overview.get("agreements_287g")) or None


# The report, top to bottom. A new section is one builder here: (Context) -> section dict or None.
SECTIONS: list[Callable[[Context], dict[str, Any] | None]] = [
    headline_section,
    searches_section,
    map_section,
    immigration_section,
    flows_section,
    _behalf,
    _agreements,
    findings_section,
    jurisdictions_section,
    whatif_section,
    accountability_section,
    score_section,
    releases_section,
    rules_section,
]


def _notes(report: Report, ctx: Context) -> list[str]:
    from auditor.importers import unfinished_warning

    unfinished = [{"file_name": name} for (name,) in ctx.db.execute(
        "SELECT file_name FROM releases WHERE status != 'complete' ORDER BY id")]
    notes = [unfinished_warning(unfinished, report.store)] if unfinished else []
    notes += [interrupted_note(ctx.run)] if ctx.run.get("unfinished") else []
    findings = report.section("findings") or {"rules": []}
    capped = [f"{s['rule_id']} ({s['shown']:,} of {s['finding_rows']:,} rows)" for s in findings["rules"] if s["capped"]]
    if capped:
        notes.append(f"Example tables show at most {ctx.examples_per_rule:,} findings per rule: " + ", ".join(capped)
                     + ". The CSV report lists every per-search finding.")
    if report.counts["unresolved_agencies"]:
        notes.append(f"{report.counts['unresolved_agencies']:,} agencies are unresolved (their level, or a non-federal "
                     "agency's state, is unknown); rules that depend on them cannot fire. Give `audit run --overrides`.")
    return notes
