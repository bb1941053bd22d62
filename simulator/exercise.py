"""Training exercises: a worksheet of searches to judge, and an answer key built from truth and rules.

An exercise is cut from a simulated, audited store. Searches are put in three pools by what the
simulator knows about them:

- ``disguised``: the reason hides the true purpose or beneficiary (``investigation`` for ICE);
- ``clear``: violations that are openly immigration-related, done for another agency, run by a
  DHS component itself, or misuse stated in the reason;
- ``legitimate``: ordinary police work, half of them picked where no rule applies and half where a
  rule applies anyway (an out-of-state stolen-car search still breaks California's sharing law; a
  bare ``inv`` is still a vague-purpose finding, which rests on audit practice).

The answer key judges each item by the rules *told the truth* (true purpose, true beneficiary), the
way ``audit score`` does, and sets beside it what the audit found from the log alone, so a trainer
can show which cases the log gives away and which only evidence beyond the log can reveal.

Everything is deterministic for a (scenario, seed, scale, items): the store, the choice and order of
items, and every file written.
"""
from __future__ import annotations

import csv
import hashlib
import html
import json
import random
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlite_utils

from auditor.errors import InputError
from auditor.grade import KEY_FORMAT, NO_RULE, WORKSHEET_COLUMNS, beneficiary_spellings
from auditor.facts import (STORED_KEY_COLUMNS, STORED_KEYS_SQL, Judge, Truth, agency_place, judged_state,
                           search_immigration_sql, stored_bounds, stored_classes, stored_key)
from auditor.graph import Agency, build_graph, load_agencies, scope_of
from auditor.report.render_csv import safe_cell
from auditor.rules import SEVERITIES, Rule, load_rules
from auditor.rules.citations import Citer
from auditor.rules.laws import law_states
from auditor.scan import run_audit
from auditor.schema import open_store
from simulator.budget import check_fits, estimate
from simulator.generate import check_out_path, simulate
from simulator.scenario import load_scenario

DEFAULT_ITEMS = 20
# A twentieth of a scenario's year: thousands of searches, a few dozen disguised, in about a second.
DEFAULT_SCALE = 0.05
# Shares of the worksheet per pool; shortfalls are filled from the other pools.
MIX = (("disguised", 0.25), ("clear", 0.35), ("legitimate", 0.40))
# Truth purposes that are purpose tags of their own (the rest are `crime:<purpose>`).
_SENSITIVE_PURPOSES = {"protest", "reproductive_health", "civil_matter", "personal_use", "mission_creep",
                       "ethnic_descriptor"}
FILES = ("worksheet.csv", "worksheet.html", "answer_key.json", "answer_key.html")


@dataclass
class ExerciseItem:
    """One worksheet item: the context a trainee sees and the key's answers for it."""

    item: str
    search_id: int
    category: str
    context: dict[str, Any]
    key: dict[str, Any]


@dataclass
class Exercise:
    exercise: str
    scenario: str
    title: str
    narrative: str
    seed: int
    scale: float
    items: list[ExerciseItem] = field(default_factory=list)
    rules: dict[str, dict[str, str]] = field(default_factory=dict)


# --- judging every search by the truth ---------------------------------------------------------------

@dataclass
class TruthVerdicts:
    """Per search, what the rules find told the truth, and whether it is truly immigration-related."""

    rules: dict[int, set[str]] = field(default_factory=dict)
    immigration_related: dict[int, bool] = field(default_factory=dict)


def truth_rules(db: sqlite_utils.Database, rules: list[Rule], agencies: dict[int, Agency], graph: Any) -> TruthVerdicts:
    """Search id -> the search rules that apply when the rules are told the truth.

    Reads each search's keys as the last `audit run` stored them and judges them with the scan's
    own step (:class:`auditor.facts.Judge`), once per distinct key and truth; writes nothing.
    """
    judge = Judge(rules, graph, agencies, stored_classes(db), *stored_bounds(db))
    out = TruthVerdicts()
    width = len(STORED_KEY_COLUMNS.split(","))
    for row in db.execute(
        f"""SELECT k.search_id, {STORED_KEY_COLUMNS}, t.purpose, t.misuse_kind, COALESCE(t.beneficiary_id, s.searcher_id)
            {STORED_KEYS_SQL} JOIN truth t ON t.search_id = k.search_id JOIN searches s ON s.id = k.search_id"""
    ):
        search_id, key, truth = row[0], stored_key(row[1:width + 1]), Truth(*row[width + 1:])
        out.rules.setdefault(search_id, set()).update(judge.verdict(key, truth))
        out.immigration_related[search_id] = judge.facts(key, truth)["immigration_related"]
    return out


def _latest_run(db: sqlite_utils.Database) -> tuple[int, dict[str, Any]]:
    if not db["truth"].exists() or not db.execute("SELECT 1 FROM truth LIMIT 1").fetchone():
        raise InputError("an exercise needs a simulated store (with truth); this store has none")
    row = db.execute("SELECT id, params FROM runs WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1").fetchone()
    if row is None:
        raise InputError("this store has not been audited yet: run `audit run --db STORE` first")
    return row[0], json.loads(row[1] or "{}")


# --- choosing the items ------------------------------------------------------------------------------

def _pools(db: sqlite_utils.Database, applies: dict[int, set[str]], agencies: dict[int, Agency]) -> dict[str, list]:
    """Every search in one pool, each with a stratum (its purpose and rules) to spread the choice."""
    pools: dict[str, list[tuple[tuple, int]]] = {"disguised": [], "clear": [], "legit_ok": [], "legit_flagged": []}
    # The audit's inference basis is part of the stratum, so disguised items mix the ones a plate
    # relay or a 287(g) agreement gave away with the ones nothing in the log reveals.
    for search_id, searcher_id, purpose, benef_id, disguised, misuse, inferred in db.execute(
        "SELECT s.id, s.searcher_id, t.purpose, t.beneficiary_id, t.disguised, t.misuse_kind, b.basis "
        "FROM searches s JOIN truth t ON t.search_id = s.id LEFT JOIN beneficiaries b ON b.search_id = s.id "
        "ORDER BY s.id"
    ):
        rules = applies.get(search_id, set())
        searcher = agencies.get(searcher_id)
        acts_for_other = benef_id is not None and benef_id != searcher_id
        stratum = (purpose or "", misuse or "", acts_for_other, inferred or "", tuple(sorted(rules)))
        telling = purpose == "immigration" or acts_for_other or misuse or (searcher is not None and searcher.is_dhs)
        if disguised:
            pool = "disguised"
        elif telling and (rules or misuse):
            pool = "clear"
        else:
            pool = "legit_flagged" if rules else "legit_ok"
        pools[pool].append((stratum, search_id))
    return pools


def _spread_pick(rng: random.Random, pool: list[tuple[tuple, int]], k: int) -> list[int]:
    """Pick k searches, round-robin over strata in a seeded order, so one kind does not fill the sheet."""
    strata: dict[tuple, list[int]] = {}
    for stratum, search_id in pool:
        strata.setdefault(stratum, []).append(search_id)
    order = sorted(strata)
    rng.shuffle(order)
    for stratum in order:
        rng.shuffle(strata[stratum])
    picked: list[int] = []
    while len(picked) < k and any(strata[s] for s in order):
        for stratum in order:
            if strata[stratum] and len(picked) < k:
                picked.append(strata[stratum].pop())
    return picked


def choose_items(pools: dict[str, list], n: int, seed: int) -> list[tuple[str, int]]:
    """(category, search id) for n items mixing the pools by :data:`MIX`, in a seeded order."""
    rng = random.Random(f"proxytrace exercise {seed}")
    total = sum(len(p) for p in pools.values())
    if total < n:
        raise InputError(f"the simulated store has only {total} searches for {n} items: raise --scale or lower --items")
    want = {"disguised": round(n * MIX[0][1]), "clear": round(n * MIX[1][1])}
    want["legitimate"] = n - want["disguised"] - want["clear"]
    chosen: list[tuple[str, int]] = []
    taken: set[int] = set()

    def take(category: str, pool_names: tuple[str, ...], k: int) -> int:
        got = 0
        for name in pool_names:
            pool = [(s, i) for s, i in pools[name] if i not in taken]
            for search_id in _spread_pick(rng, pool, k - got):
                chosen.append((category, search_id))
                taken.add(search_id)
                got += 1
        return got

    short = want["disguised"] - take("disguised", ("disguised",), want["disguised"])
    short = want["clear"] + short - take("clear", ("clear",), want["clear"] + short)
    legit = want["legitimate"] + short
    half = legit // 2
    got = take("legitimate", ("legit_ok",), half)
    got += take("legitimate", ("legit_flagged", "legit_ok"), legit - got)
    # Still short (a scenario with almost no legitimate use): fill from whatever is left.
    for category, pool_names in (("clear", ("clear",)), ("disguised", ("disguised",))):
        if got < legit:
            got += take(category, pool_names, legit - got)
    rng.shuffle(chosen)
    return chosen


# --- one item's context and answers ------------------------------------------------------------------

def _when(seconds: float, earlier: bool) -> str:
    hours = abs(seconds) / 3600
    if hours < 1:
        amount = "within the hour"
        return f"{amount} {'before' if earlier else 'after'}"
    amount = f"{round(hours)} hour{'s' if round(hours) != 1 else ''}" if hours < 36 else f"{round(hours / 24)} days"
    return f"{amount} {'earlier' if earlier else 'later'}"


def relay_hints(db: sqlite_utils.Database, search_id: int, relay_days: float, limit: int = 3) -> list[str]:
    """What a trainee could notice about the plate: other agencies searching it within the relay
    window (nearest first, DHS components first), and the same officer searching it again and again."""
    row = db.execute("SELECT plate, time, searcher_id, user FROM searches WHERE id = ?", [search_id]).fetchone()
    if row is None or row[0] is None:
        return []
    plate, when, searcher_id, user = row
    window = relay_days * 86400
    hints = []
    for name, delta, _dhs in db.execute(
        """SELECT a.name, (julianday(o.time) - julianday(:t)) * 86400 AS delta, a.dhs_component IS NOT NULL
           FROM searches o JOIN agencies a ON a.id = o.searcher_id
           WHERE o.plate = :plate AND o.id != :id AND o.searcher_id != :searcher
             AND ABS(julianday(o.time) - julianday(:t)) * 86400 <= :window
           ORDER BY a.dhs_component IS NULL, ABS(delta), o.id LIMIT :limit""",
        {"t": when, "plate": plate, "id": search_id, "searcher": searcher_id, "window": window, "limit": limit},
    ):
        hints.append(f"the same plate was searched {_when(delta, delta < 0)} by {name}")
    if user is not None:
        n, with_case = db.execute(
            "SELECT COUNT(*), COUNT(case_number) FROM searches WHERE plate = ? AND searcher_id = ? AND user = ?",
            [plate, searcher_id, user]).fetchone()
        if n >= 3:
            hints.append(f"the same officer searched this plate {n} times in the period, {with_case} with a case number")
    return hints


def _aggregate_rules_for(db: sqlite_utils.Database, run_id: int, searcher_id: int, user: str | None,
                         plate: str | None) -> set[str]:
    """Aggregate findings of the run that cover this search's agency, officer or officer-and-plate."""
    subjects = ["agency"] + ([f"user {user}"] if user else []) + ([f"user {user} / plate {plate}"] if user and plate else [])
    marks = ",".join("?" * len(subjects))
    return {r[0] for r in db.execute(
        f"SELECT DISTINCT rule_id FROM findings WHERE run_id = ? AND search_id IS NULL AND agency_id = ? "
        f"AND subject IN ({marks})", [run_id, searcher_id, *subjects])}


def _quote(text: str | None) -> str:
    return "(blank)" if text is None else f"`{text}`"


def _build_item(db: sqlite_utils.Database, search_id: int, category: str, *, run_id: int, rules: dict[str, Rule],
                applies: set[str], immigration_related: bool, rule_counts: dict[str, int], agencies: dict[int, Agency], graph: Any,
                relay_days: float, citer: Citer) -> tuple[dict[str, Any], dict[str, Any]]:
    s = db.execute(
        """SELECT s.time, s.searcher_id, s.user, r.text, s.redacted, s.case_number, s.plate, s.search_type, s.networks,
                  s.devices, s.system, s.query_type, t.purpose, t.beneficiary_id, t.disguised, t.misuse_kind, t.narrative
           FROM searches s JOIN truth t ON t.search_id = s.id LEFT JOIN reasons r ON r.id = s.reason_id
           WHERE s.id = ?""", [search_id]).fetchone()
    (time, searcher_id, user, reason, redacted, case_number, plate, search_type, networks, devices, system, qtype,
     purpose, benef_id, disguised, misuse, narrative) = s
    searcher = agencies.get(searcher_id)
    owner_ids = [r[0] for r in db.execute("SELECT owner_id FROM search_owners WHERE search_id = ? ORDER BY owner_id",
                                          [search_id])]
    scopes = [scope_of(graph, agencies, o, searcher_id) or "unknown" for o in owner_ids]
    hints = relay_hints(db, search_id, relay_days)
    if reason is None:
        shown_reason = "(redacted)" if redacted and "reason" in redacted.split(",") else "(blank)"
    else:
        shown_reason = reason
    context = {
        "search_id": search_id, "time_utc": time, "searcher": searcher.name if searcher else "(unknown)",
        "searcher_state": agency_place(searcher.level if searcher else None, searcher.state if searcher else None), "user": user or "",
        "owner": "; ".join(agencies[o].name for o in owner_ids) or "(not in the log)",
        "scope": "; ".join(scopes) or "unknown",
        "system": " ".join(x for x in ((system or "").upper(), search_type or "", (qtype or "").replace("_", " ")) if x),
        "reason": shown_reason, "case_number": "yes" if case_number else "no",
        "networks": f"{networks:,} networks / {devices:,} cameras" if networks is not None and devices is not None else "",
        "relay_hints": "; ".join(hints),
    }

    # What the audit saw from the log alone.
    found = {r[0] for r in db.execute("SELECT DISTINCT rule_id FROM findings WHERE run_id = ? AND search_id = ?",
                                      [run_id, search_id])}
    inferred = db.execute(
        """SELECT a.name, a.id, b.basis, b.evidence FROM beneficiaries b JOIN agencies a ON a.id = b.beneficiary_id
           WHERE b.search_id = ?""", [search_id]).fetchone()
    aggregates = _aggregate_rules_for(db, run_id, searcher_id, user, plate)
    logged_immigration = bool(db.execute(
        f"SELECT {search_immigration_sql('s', 'b')} FROM searches s LEFT JOIN beneficiaries b ON b.search_id = s.id "
        "WHERE s.id = ?", [search_id]).fetchone()[0])

    # The answers, judged by the truth.
    violation = bool(applies) or misuse is not None
    basis_rules = set(applies) if applies else (aggregates if misuse else set())
    if basis_rules:
        top = max(SEVERITIES.index(rules[r].severity) for r in basis_rules)
        accepted = sorted(r for r in basis_rules if SEVERITIES.index(rules[r].severity) == top)
        # The rarest of the most severe rules is the one this case teaches (door.side, not SB 34).
        primary = min(accepted, key=lambda r: (rule_counts.get(r, 0), r))
        accepted.remove(primary)
        accepted.insert(0, primary)
    else:
        accepted, primary = [], NO_RULE
    applicable = sorted(set(applies) | (aggregates if violation else set()))
    beneficiary = agencies.get(benef_id) if benef_id is not None and benef_id != searcher_id else None

    # The reasoning a trainer reads out.
    for_whom = beneficiary.name if beneficiary else "the searcher itself"
    lines = [f"What happened: {narrative}." if narrative else "",
             f"True purpose {purpose or 'unknown'}, done for {for_whom}; the reason {_quote(reason)} "
             + ("hides it." if disguised else "states it.") + (f" Misuse: {misuse}." if misuse else "")]
    if applies:
        lines.append("Rules that apply: " + "; ".join(f"{r} ({rules[r].title})" for r in sorted(
            applies, key=lambda r: (-SEVERITIES.index(rules[r].severity), r))) + ".")
    elif misuse and aggregates:
        lines.append("No single-search rule catches it; the pattern does: " + ", ".join(sorted(aggregates)) + ".")
    elif misuse:
        lines.append("Misuse that no encoded rule catches from this log: the violation is of the agency's use policy.")
    else:
        lines.append(f"No rule applies: {context['searcher']} ({context['searcher_state']}) reached "
                     f"{context['owner']}'s data ({context['scope']}) and logged a meaningful purpose.")
    missed, extra = applies - found, found - applies
    if found:
        lines.append("The audit, reading only the log, flagged: " + ", ".join(sorted(found)) + ".")
    else:
        lines.append("The audit, reading only the log, flagged nothing.")
    if missed:
        lines.append("It missed " + ", ".join(sorted(missed)) + (": it depends" if len(missed) == 1 else ": they depend")
                     + " on the hidden purpose or beneficiary.")
    if extra:
        lines.append("It also flagged " + ", ".join(sorted(extra)) + ", which the truth does not support "
                     "(an inference that went wrong).")
    if inferred:
        lines.append(f"The audit inferred it acted for {inferred[0]} ({inferred[2]}): {inferred[3]}.")
    caught = not missed and (beneficiary is None or inferred is not None)
    if disguised and searcher is not None and searcher.is_dhs:
        lines.append(f"The reason hides nothing that matters: the searcher is itself a DHS immigration component "
                     f"({searcher.dhs_component}), so its identity, not its reason, gives the search away.")
    elif disguised:
        lines.append("Evidence that could reveal it: " + _disguise_evidence(searcher, hints, misuse, aggregates)
                     + (" The audit's inference caught it." if caught else " The audit's inference did not catch it."))
    # What each accepted rule's finding cites for this search, as the report does: a law cites
    # itself, a policy rule its practice with the judged state's law only as related law.
    owner = agencies.get(owner_ids[0]) if owner_ids else None
    states = law_states()

    def state(rule_id: str) -> str | None:  # a state law's finding is judged by the law's state
        return judged_state(bool(owner_ids), owner.state if owner else None, searcher.state if searcher else None,
                            states.get(rule_id))
    citation = ("; ".join(f"{r}: {citer(r, state(r), bool(owner_ids), rules[r].citation).text}" for r in accepted)
                if accepted else "no rule applies (all search rules checked: `audit rules`)")
    key = {
        "item": "", "search_id": search_id, "category": category, "violation": violation, "rule": primary,
        "accepted_rules": accepted, "applicable_rules": applicable,
        "beneficiary": beneficiary.name if beneficiary else None,
        "beneficiary_accepts": list(beneficiary_spellings(beneficiary.name, beneficiary.dhs_component)) if beneficiary else [],
        "reasoning": " ".join(x for x in lines if x), "citation": citation,
        # Immigration-related by the auditor's one definition (auditor.facts), told the truth.
        "immigration_related": immigration_related,
        "truth": {"purpose": purpose, "beneficiary": beneficiary.name if beneficiary else None,
                  "disguised": bool(disguised), "misuse_kind": misuse, "narrative": narrative},
        "audit": {"flagged": sorted(found), "missed": sorted(missed), "extra": sorted(extra),
                  "immigration_related": logged_immigration,
                  "aggregate": sorted(aggregates), "caught": caught,
                  "inferred_beneficiary": ({"agency": inferred[0], "basis": inferred[2], "evidence": inferred[3]}
                                           if inferred else None)},
    }
    return context, key


def _disguise_evidence(searcher: Agency | None, hints: list[str], misuse: str | None, aggregates: set[str]) -> str:
    parts = []
    relays = [h for h in hints if h.startswith("the same plate")]
    repeats = [h for h in hints if h.startswith("the same officer")]
    if relays:
        parts.append(f"a plate relay ({relays[0]})")
    elif not misuse:  # a relay ties a proxy to a federal partner; misuse has no partner to find
        parts.append("no other agency searched this plate within the relay window, so no plate relay points to it")
    if searcher is not None and searcher.is_287g:
        parts.append("the searcher holds a 287(g) agreement with ICE, but the reason states no immigration purpose "
                     "for the inference to work on")
    if misuse:
        parts.append("the officer's pattern of searches of the same plate"
                     + (f" ({repeats[0]})" if repeats else "")
                     + (f", flagged by {', '.join(sorted(aggregates))}" if aggregates else ""))
    parts.append("the request or case file behind the search, which a records-act request to "
                 f"{searcher.name if searcher else 'the searcher'} can ask for")
    return "; ".join(parts) + "."


# --- building and writing ----------------------------------------------------------------------------

def build_exercise(db: sqlite_utils.Database, *, items: int = DEFAULT_ITEMS, seed: int = 1) -> Exercise:
    """Cut an exercise from an audited simulated store (see module docstring)."""
    if items < 1:
        raise InputError(f"--items must be at least 1, got {items}")
    run_id, params = _latest_run(db)
    rules = {r.id: r for r in load_rules()}
    citer = Citer(rules.values())
    agencies = load_agencies(db)
    graph = build_graph(db, agencies)
    verdicts = truth_rules(db, [r for r in rules.values() if r.scope == "search"], agencies, graph)
    applies_by_search = verdicts.rules
    rule_counts = dict(db.execute(
        "SELECT rule_id, COUNT(DISTINCT COALESCE(search_id, -id)) FROM findings WHERE run_id = ? GROUP BY 1",
        [run_id]).fetchall())
    chosen = choose_items(_pools(db, applies_by_search, agencies), items, seed)
    meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
    scenario = meta.get("scenario.name", "unknown")
    scale = float(meta.get("simulate.scale", "1"))
    digest = hashlib.sha256(repr((scenario, meta.get("simulate.seed"), scale, chosen)).encode()).hexdigest()[:6]
    exercise = Exercise(
        exercise=f"{scenario}-s{seed}-n{items}-{digest}", scenario=scenario,
        title=meta.get("scenario.title", scenario), narrative=meta.get("scenario.narrative", "").strip(),
        seed=seed, scale=scale,
        rules={r.id: {"title": r.title, "severity": r.severity, "citation": r.citation, "scope": r.scope}
               for r in rules.values()},
    )
    width = max(2, len(str(len(chosen))))
    for n, (category, search_id) in enumerate(chosen, 1):
        label = f"Q{n:0{width}d}"
        context, key = _build_item(db, search_id, category, run_id=run_id, rules=rules, citer=citer,
                                   applies=applies_by_search.get(search_id, set()),
                                   immigration_related=verdicts.immigration_related[search_id], rule_counts=rule_counts,
                                   agencies=agencies, graph=graph,
                                   relay_days=float(params.get("relay_days", 7.0)))
        key["item"] = label
        exercise.items.append(ExerciseItem(label, search_id, category, {"exercise": exercise.exercise,
                                                                        "item": label, **context}, key))
    return exercise


def make_exercise(scenario: str | Path, *, items: int = DEFAULT_ITEMS, seed: int = 1, scale: float = DEFAULT_SCALE,
                  store: str | Path | None = None, overwrite: bool = False) -> Exercise:
    """Simulate a scenario at a small scale (into ``store``, or a temporary file), audit it, and cut
    an exercise from it."""
    loaded = load_scenario(scenario)
    if store is not None:
        check_out_path(Path(store), overwrite)
        check_fits(estimate(loaded, scale, seed), Path(store), scale=scale)
        return _from_new_store(loaded, Path(store), items=items, seed=seed, scale=scale)
    with tempfile.TemporaryDirectory(prefix="proxytrace-exercise-") as tmp:
        check_fits(estimate(loaded, scale, seed), Path(tmp) / "exercise.db", scale=scale)
        return _from_new_store(loaded, Path(tmp) / "exercise.db", items=items, seed=seed, scale=scale)


def _from_new_store(scenario: Any, path: Path, *, items: int, seed: int, scale: float) -> Exercise:
    simulate(scenario, path, seed=seed, scale=scale, overwrite=True)
    db = open_store(path)
    try:
        run_audit(db)
        return build_exercise(db, items=items, seed=seed)
    finally:
        db.conn.close()


def answer_key_json(exercise: Exercise) -> dict[str, Any]:
    """The answer key as the grader reads it (:data:`auditor.grade.KEY_FORMAT`)."""
    return {
        "format": KEY_FORMAT, "exercise": exercise.exercise, "scenario": exercise.scenario,
        "title": exercise.title, "seed": exercise.seed, "scale": exercise.scale,
        "scoring": "per item: 1 point for violation, 1 for rule, 1 for beneficiary when the key names one",
        "rules": exercise.rules, "items": [i.key for i in exercise.items],
    }


def write_exercise(exercise: Exercise, out_dir: str | Path, *, overwrite: bool = False) -> list[Path]:
    """Write worksheet.csv, worksheet.html, answer_key.json and answer_key.html into ``out_dir``."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: is a file; give a folder for the exercise")
    paths = [out / name for name in FILES]
    existing = [p for p in paths if p.exists()]
    if existing and not overwrite:
        raise InputError(f"{existing[0]}: already exists (pass --overwrite to replace the exercise)")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with open(paths[0], "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(WORKSHEET_COLUMNS)
            for item in exercise.items:
                writer.writerow([safe_cell(item.context.get(c, "")) for c in WORKSHEET_COLUMNS])
        paths[1].write_text(worksheet_html(exercise), encoding="utf-8")
        paths[2].write_text(json.dumps(answer_key_json(exercise), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        paths[3].write_text(answer_key_html(exercise), encoding="utf-8")
    except OSError as e:
        raise InputError(f"{out}: cannot write the exercise: {e.strerror}") from None
    return paths


# --- HTML --------------------------------------------------------------------------------------------

_CSS = """
body { font: 14px/1.45 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #111; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
.item { border: 1px solid #999; border-radius: 4px; padding: .6rem .9rem; margin: 1rem 0; page-break-inside: avoid; }
.item h3 { margin: 0 0 .4rem; font-size: 1rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: .15rem .5rem .15rem 0; }
th { width: 11rem; font-weight: 600; color: #333; }
.rules td, .rules th { border-bottom: 1px solid #ddd; width: auto; }
.blank { border-bottom: 1px solid #333; height: 1.4rem; }
.ok { color: #0a5d1a; } .no { color: #8a1010; }
.tag { display: inline-block; font-size: .8rem; padding: 0 .4rem; border: 1px solid #777; border-radius: 3px; }
code { background: #f2f2f2; padding: 0 .2rem; }
@media print { body { margin: 0; max-width: none; } .item { border-color: #000; } }
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>\n{body}\n</body></html>\n")


_CONTEXT_LABELS = (("time_utc", "Time (UTC)"), ("searcher", "Searcher"), ("searcher_state", "Searcher's state"),
                   ("user", "Officer"), ("owner", "Owner (whose data)"), ("scope", "How it was shared"),
                   ("system", "System / search"), ("reason", "Reason logged"), ("case_number", "Case number"),
                   ("networks", "Searched"), ("relay_hints", "Plate relay hints"))


def _context_rows(context: dict[str, Any]) -> str:
    return "".join(f"<tr><th>{_e(label)}</th><td>{_e(context.get(key)) or '&mdash;'}</td></tr>"
                   for key, label in _CONTEXT_LABELS)


def _rules_table(exercise: Exercise) -> str:
    rows = "".join(f"<tr><td><code>{_e(rid)}</code></td><td>{_e(r['severity'])}</td><td>{_e(r['title'])}</td></tr>"
                   for rid, r in exercise.rules.items() if r.get("scope") == "search")
    agg = ", ".join(f"<code>{_e(rid)}</code>" for rid, r in exercise.rules.items() if r.get("scope") != "search")
    return (f'<table class="rules"><tr><th>rule</th><th>severity</th><th>title</th></tr>{rows}</table>'
            f"<p>Pattern rules (across many searches): {agg}.</p>")


def worksheet_html(exercise: Exercise) -> str:
    """The printable worksheet: instructions, the scenario, the rules, and one card per item."""
    paragraphs = "".join(f"<p>{_e(p.strip())}</p>" for p in exercise.narrative.split("\n\n") if p.strip())
    cards = []
    for item in exercise.items:
        cards.append(
            f'<section class="item"><h3>{_e(item.item)} &middot; search {_e(item.search_id)}</h3>'
            f"<table>{_context_rows(item.context)}"
            "<tr><th>Violation? (yes / no)</th><td class=\"blank\"></td></tr>"
            "<tr><th>Rule id (or none)</th><td class=\"blank\"></td></tr>"
            "<tr><th>Really for (beneficiary)</th><td class=\"blank\"></td></tr>"
            "<tr><th>Notes</th><td class=\"blank\"></td></tr></table></section>")
    body = (
        f"<h1>Worksheet: {_e(exercise.title)}</h1>"
        f"<p>Exercise <code>{_e(exercise.exercise)}</code> &middot; {len(exercise.items)} searches.</p>"
        "<h2>What to do</h2><p>For each search, decide whether it breaks a law or policy the auditor encodes, "
        "which rule (an id from the table below, or <code>none</code>), and who the search was really for when "
        "it was done on behalf of another agency (leave it blank when the searcher acted for itself). Fill the "
        "same answers in the columns <code>violation</code>, <code>rule</code>, <code>beneficiary</code> and "
        "<code>notes</code> of <code>worksheet.csv</code>, then run "
        "<code>audit grade worksheet.csv --key answer_key.json</code>.</p>"
        "<p>Read the reason, but do not stop there: who searched whose data and how it was shared, whether a "
        "case number was logged, how widely they searched, and who else searched the same plate days before.</p>"
        f"<h2>The scenario</h2>{paragraphs}<h2>Rules</h2>{_rules_table(exercise)}"
        f"<h2>Searches</h2>{''.join(cards)}"
    )
    return _page(f"Worksheet {exercise.exercise}", body)


def answer_key_html(exercise: Exercise) -> str:
    """The readable answer key: each item's answers, reasoning, citation and what the audit caught."""
    counts: dict[str, int] = {}
    for item in exercise.items:
        counts[item.category] = counts.get(item.category, 0) + 1
    cards = []
    for item in exercise.items:
        k = item.key
        audit = k["audit"]
        verdict = ('<span class="ok">caught by the audit</span>' if audit["caught"]
                   else '<span class="no">not fully caught by the audit</span>')
        also = [r for r in k["accepted_rules"][1:]]
        cards.append(
            f'<section class="item"><h3>{_e(item.item)} &middot; search {_e(item.search_id)} '
            f'<span class="tag">{_e(item.category)}</span> {verdict}</h3><table>'
            f"<tr><th>Reason logged</th><td>{_e(item.context['reason'])}</td></tr>"
            f"<tr><th>Searcher</th><td>{_e(item.context['searcher'])} ({_e(item.context['searcher_state'])})</td></tr>"
            f"<tr><th>Violation</th><td><b>{'yes' if k['violation'] else 'no'}</b></td></tr>"
            f"<tr><th>Rule</th><td><code>{_e(k['rule'])}</code>"
            + (f" (also accepted: {', '.join(f'<code>{_e(r)}</code>' for r in also)})" if also else "")
            + "</td></tr>"
            f"<tr><th>Beneficiary</th><td>{_e(k['beneficiary']) or 'the searcher itself'}</td></tr>"
            f"<tr><th>Why</th><td>{_e(k['reasoning'])}</td></tr>"
            f"<tr><th>Cites</th><td>{_e(k['citation'])}</td></tr></table></section>")
    mix = ", ".join(f"{n} {_e(c)}" for c, n in sorted(counts.items()))
    body = (f"<h1>Answer key: {_e(exercise.title)}</h1>"
            f"<p>Exercise <code>{_e(exercise.exercise)}</code> &middot; scenario {_e(exercise.scenario)}, seed "
            f"{_e(exercise.seed)}, scale {_e(exercise.scale)} &middot; {mix}.</p>"
            "<p>Answers judge each search by the rules told the truth (the simulator's true purpose and "
            "beneficiary); beside them is what the audit found from the log alone. One point each for the "
            "violation and the rule, and for the beneficiary when the key names one. Any of the most severe "
            "rules that apply is accepted.</p>"
            + "".join(cards))
    return _page(f"Answer key {exercise.exercise}", body)
