"""Apply policies to the searches in an audited store: what each would have blocked and let through.

The pass reads the store the way `audit score` does: one GROUP BY over every search's stored
:class:`auditor.facts.SearchKey` (as the last `audit run` wrote it; plus the days back a policy's
reach compares and the simulator's truth where there is some), so work and memory follow distinct
keys, not rows. Each distinct key's facts come from the scan's own :class:`auditor.facts.Judge`
(immigration-related, scope, for another agency: one definition each; told the truth on a simulated
store), and each policy judges them once.

Counts are de-duplicated searches per owner whose data they reached (a search that reached two
owners' data counts once under each; searches whose release names no owner are counted apart as
"no owner named"). Every count is linked to its rows by a selector
(``verdict/dimension/value``): ``audit whatif --db STORE --policy P --rows SELECTOR`` lists the
search ids behind it (for ``audit explain``), and the JSON carries a few example ids per count.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

import sqlite_utils

from auditor.errors import InputError
from auditor.facts import (DAYS_BACK_SQL, KEY_FIELDS, SENSITIVE_TRUTH, STORED_KEY_COLUMNS, STORED_KEYS_SQL, Judge,
                           Truth, frame_value, stored_bounds, stored_classes, stored_key)
from auditor.graph import build_graph, load_agencies
from auditor.schema import replaced_results
from auditor.whatif.policy import ALLOW, BLOCK, UNJUDGED, VERDICTS, Policy

EXAMPLE_IDS = 5
NO_OWNER = "(no owner named)"
# The tables a what-if shows, and what each splits the searches by.
DIMENSIONS = {
    "purpose": "purpose tag (a search with several tags counts under each)",
    "searcher": "searcher",
    "searcher_state": "searcher's state",
    "immigration_related": "immigration-related (stated or inferred)",
    "for_another_agency": "done for another agency (inferred)",
    "why": "why blocked (a search failing several clauses counts under each)",
}
TRUTH_ROWS = ("immigration_related", "disguised", "ordinary", "misuse", "other")


@dataclass
class Cell:
    """One count: de-duplicated searches, by verdict, with a few example search ids."""

    counts: dict[str, int] = field(default_factory=lambda: {v: 0 for v in VERDICTS})
    examples: dict[str, list[int]] = field(default_factory=lambda: {v: [] for v in VERDICTS})

    def add(self, verdict: str, n: int, example: int) -> None:
        self.counts[verdict] += n
        if len(self.examples[verdict]) < EXAMPLE_IDS:
            self.examples[verdict].append(example)


@dataclass
class OwnerWhatIf:
    owner_id: int | None
    owner: str
    total: Cell = field(default_factory=Cell)
    by: dict[str, dict[str, Cell]] = field(default_factory=lambda: {d: {} for d in DIMENSIONS})
    truth: dict[str, Cell] | None = None

    def add(self, cells: list[tuple[str, str]], verdict: str, n: int, example: int,
            truth_rows: list[str] | None) -> None:
        self.total.add(verdict, n, example)
        for dimension, value in cells:
            self.by[dimension].setdefault(value, Cell()).add(verdict, n, example)
        if truth_rows is not None:
            if self.truth is None:
                self.truth = {}
            for row in truth_rows:
                self.truth.setdefault(row, Cell()).add(verdict, n, example)


@dataclass
class WhatIf:
    """A policy applied to a store."""

    policy: Policy
    store_searches: int
    owners: list[OwnerWhatIf]
    simulated: bool

    def to_json(self, store: str = "STORE") -> dict[str, Any]:
        p = self.policy
        ref = p.id if p.path.endswith(f"{p.id}.toml") else p.path

        def cell_json(cell: Cell, owner_id: int | None, dimension: str | None, value: str | None) -> dict[str, Any]:
            out: dict[str, Any] = {"searches": dict(cell.counts), "example_search_ids": cell.examples, "rows": {}}
            for verdict in VERDICTS:
                if cell.counts[verdict]:
                    selector = selector_for(verdict, dimension, value)
                    owner = f" --owner {owner_id}" if owner_id is not None else " --owner none"
                    # Quoted for a shell: a selector may hold an agency's name from a log.
                    out["rows"][verdict] = (f"audit whatif --db {shlex.quote(store)} --policy {shlex.quote(ref)}"
                                            f"{owner} --rows {shlex.quote(selector)}")
            return out

        owners = []
        for o in self.owners:
            entry: dict[str, Any] = {"owner_id": o.owner_id, "owner": o.owner,
                                     "total": cell_json(o.total, o.owner_id, None, None), "by": {}}
            for dimension, cells in o.by.items():
                entry["by"][dimension] = [
                    {"value": value, **cell_json(cell, o.owner_id, dimension, value)}
                    for value, cell in sorted(cells.items(), key=lambda kv: (-sum(kv[1].counts.values()), kv[0]))]
            if o.truth is not None:
                entry["truth"] = {row: cell_json(cell, o.owner_id, "truth", row) for row, cell in o.truth.items()}
            owners.append(entry)
        totals = {v: sum(o.total.counts[v] for o in self.owners) for v in VERDICTS}
        return {
            "policy": {"id": p.id, "title": p.title, "description": p.description, "basis": p.basis,
                       "citation": p.citation, "reach": dict(p.reach), "require": dict(p.require)},
            "unit": "de-duplicated searches per owner whose data they reached (a search that reached two owners' "
                    "data counts once under each; searches whose release names no owner count under "
                    f"'{NO_OWNER}')",
            "store_searches": self.store_searches,
            "judged_pairs": sum(totals.values()),
            "totals": totals,
            "simulated": self.simulated,
            "owners": owners,
        }


def selector_for(verdict: str, dimension: str | None, value: str | None) -> str:
    """The selector naming one count's rows: `block`, `block/searcher_state/TX`, `allow/truth/ordinary`."""
    return verdict if dimension is None else f"{verdict}/{dimension}/{value}"


def parse_selector(text: str) -> tuple[str, str | None, str | None]:
    parts = text.split("/", 2)
    verdict = parts[0]
    if verdict not in VERDICTS or len(parts) == 2:
        raise InputError(f"--rows {text!r}: give VERDICT or VERDICT/DIMENSION/VALUE, VERDICT one of "
                         f"{', '.join(VERDICTS)}")
    if len(parts) == 1:
        return verdict, None, None
    if parts[1] not in DIMENSIONS and parts[1] != "truth":
        raise InputError(f"--rows {text!r}: unknown dimension {parts[1]!r} (known: {', '.join([*DIMENSIONS, 'truth'])})")
    return verdict, parts[1], parts[2]


# --- reading the store ----------------------------------------------------------------------------


def _listed_partners(db: sqlite_utils.Database) -> dict[int, set[int]]:
    """Owner -> the partners its own imported sharing list names (shares from a release the owner produced)."""
    listed: dict[int, set[int]] = {}
    for owner_id, grantee_id in db.execute(
        """SELECT sh.owner_id, sh.grantee_id FROM shares sh JOIN releases r ON r.id = sh.release_id
           WHERE sh.source = 'release' AND sh.scope = 'direct' AND r.producer_id = sh.owner_id"""
    ):
        listed.setdefault(owner_id, set()).add(grantee_id)
    return listed


def _check_audited(db: sqlite_utils.Database) -> None:
    if not db["scan_keys"].exists() or not db.execute("SELECT 1 FROM runs WHERE finished_at IS NOT NULL").fetchone():
        raise InputError("this store has not been audited yet: run `audit run --db STORE` first")
    if (replaced := replaced_results(db)) is not None:
        raise InputError(replaced)


KEY_WIDTH = len(KEY_FIELDS)
TRUTH_WIDTH = 4  # purpose, misuse kind, true beneficiary, disguised


def _keyed_rows(db: sqlite_utils.Database, frame_bounds: list[int], simulated: bool,
                per_search: bool) -> Iterator[tuple]:
    """Each search's stored key (one per owner of its data), the policies' days-back bucket and, on a
    simulated store, its truth; with (count, an example id) per distinct group, or per search."""
    # The stored key buckets days back by the rules' bounds; a policy's reach needs its own.
    bucket = "-1" if not frame_bounds else (
        f"CASE WHEN ({DAYS_BACK_SQL}) IS NULL THEN -1 ELSE ("
        + " + ".join(f"(({DAYS_BACK_SQL}) >= {int(b)})" for b in frame_bounds) + ") END")
    truth_cols = (", t.purpose, t.misuse_kind, COALESCE(t.beneficiary_id, s.searcher_id), t.disguised"
                  if simulated else "")
    joins = " JOIN searches s ON s.id = k.search_id" if (frame_bounds or simulated) else ""
    joins += " LEFT JOIN truth t ON t.search_id = k.search_id" if simulated else ""
    columns = f"{STORED_KEY_COLUMNS}, {bucket}{truth_cols}"
    if per_search:
        sql = f"SELECT {columns}, 1, k.search_id {STORED_KEYS_SQL}{joins}"
    else:
        group = ", ".join(str(i) for i in range(KEY_WIDTH + 1, KEY_WIDTH + 2 + (TRUTH_WIDTH if simulated else 0)))
        sql = f"SELECT {columns}, COUNT(*), MIN(k.search_id) {STORED_KEYS_SQL}{joins} GROUP BY k.key_id, {group}"
    yield from db.execute(sql)


Judged = tuple[str, list[tuple[str, str]], list[str] | None]  # verdict, cells, truth rows


class PolicyJudge:
    """Facts per distinct stored key (the scan's own :class:`auditor.facts.Judge`), judged by each
    policy once (memoized)."""

    def __init__(self, db: sqlite_utils.Database, policies: Sequence[Policy], during_run: bool = False) -> None:
        if not during_run:  # `audit run` itself calls in before it marks its run finished
            _check_audited(db)
        self.policies = list(policies)
        self.agencies = load_agencies(db)
        self.facts = Judge([], build_graph(db, self.agencies), self.agencies, stored_classes(db), *stored_bounds(db))
        self.listed = _listed_partners(db)
        self.frame_bounds = sorted({p.max_days_back + 1 for p in self.policies if p.max_days_back is not None})
        self.simulated = db.execute("SELECT 1 FROM truth LIMIT 1").fetchone() is not None
        self._memo: dict[tuple, list[Judged]] = {}

    def rows(self, db: sqlite_utils.Database, per_search: bool = False) -> Iterator[tuple]:
        return _keyed_rows(db, self.frame_bounds, self.simulated, per_search)

    def judge(self, row: tuple) -> tuple[int | None, list[Judged], int, int]:
        """(owner id, one judgement per policy, count, example id) for one keyed row."""
        group = row[:-2]
        n, example = row[-2], row[-1]
        if group not in self._memo:
            self._memo[group] = self._judge(group)
        owner_k = group[0]
        return (None if owner_k == -1 else owner_k), self._memo[group], n, example

    def _judge(self, group: tuple) -> list[Judged]:
        key = stored_key(group[:KEY_WIDTH])
        owner_id = None if key.owner_id == -1 else key.owner_id
        searcher_id = None if key.searcher_id == -1 else key.searcher_id
        facts = self.facts.facts(key)
        if self.frame_bounds:
            facts["time_frame.days_back"] = frame_value(self.frame_bounds, group[KEY_WIDTH])
        facts["on_sharing_list"] = (searcher_id in self.listed[owner_id]
                                    if owner_id is not None and owner_id in self.listed else None)
        tags = facts["tags"]
        searcher = self.agencies.get(searcher_id)
        cells_base = [("purpose", t) for t in sorted(tags)] or [("purpose", "(no tag)")]
        cells_base += [
            ("searcher", searcher.name if searcher else "(unknown searcher)"),
            ("searcher_state", (searcher.state if searcher and searcher.state else
                                ("federal" if searcher and searcher.level == "federal" else "unknown"))),
            ("immigration_related", "yes" if facts["immigration_related"] else "no"),
            ("for_another_agency", "yes" if facts["beneficiary.is_other"] else "no"),
        ]
        truth_rows = None
        if self.simulated:
            purpose, misuse, true_benef, disguised = group[KEY_WIDTH + 1:KEY_WIDTH + 1 + TRUTH_WIDTH]
            if purpose is not None:
                told = self.facts.facts(key, Truth(purpose, misuse, true_benef))
                if told["immigration_related"]:
                    truth_rows = ["immigration_related"] + (["disguised"] if disguised else [])
                elif misuse:
                    truth_rows = ["misuse"]
                elif purpose in SENSITIVE_TRUTH:
                    truth_rows = ["other"]
                else:
                    truth_rows = ["ordinary"]
        out: list[Judged] = []
        for policy in self.policies:
            # A policy is an owner's setting: a search whose release names no owner cannot be judged by one.
            verdict, why = (UNJUDGED, ["the release names no owner"]) if owner_id is None else policy.judge(facts)
            out.append((verdict, cells_base + [("why", w) for w in why], truth_rows))
        return out


def apply_policies(db: sqlite_utils.Database, policies: Sequence[Policy],
                   progress: Callable[[int], None] | None = None,
                   dimensions: Sequence[str] | None = None, during_run: bool = False) -> list[WhatIf]:
    """Apply each policy to every search of an audited store (one pass for all of them).

    ``dimensions`` limits the tables counted (all of :data:`DIMENSIONS` by default): the report's
    comparison needs two, and counting the others is most of the pass's time on a wide store."""
    judge = PolicyJudge(db, policies, during_run)
    wanted = set(DIMENSIONS if dimensions is None else dimensions)
    per_policy: list[dict[int | None, OwnerWhatIf]] = [{} for _ in policies]
    for row in judge.rows(db):
        owner_id, judged, n, example = judge.judge(row)
        for owners, (verdict, cells, truth_rows) in zip(per_policy, judged):
            if owner_id not in owners:
                name = judge.agencies[owner_id].name if owner_id in judge.agencies else NO_OWNER
                owners[owner_id] = OwnerWhatIf(owner_id, name)
            if len(wanted) < len(DIMENSIONS):
                cells = [c for c in cells if c[0] in wanted]
            owners[owner_id].add(cells, verdict, n, example, truth_rows)
        if progress:
            progress(n)
    total = db.execute("SELECT COUNT(*) FROM searches").fetchone()[0]
    db.conn.commit()
    return [WhatIf(p, total, sorted(owners.values(), key=lambda o: (o.owner_id is None, -sum(o.total.counts.values()))),
                   judge.simulated) for p, owners in zip(policies, per_policy)]


def rows_behind(db: sqlite_utils.Database, policy: Policy, selector: str, owner: str | None) -> Iterator[int]:
    """The search ids behind one count (streamed): the link from a number to its rows."""
    verdict, dimension, value = parse_selector(selector)
    owner_id: int | None | str = "any"
    if owner is not None:
        if owner == "none":
            owner_id = None
        else:
            try:
                owner_id = int(owner)
            except ValueError:
                raise InputError(f"--owner {owner!r}: give an owner's agency id (as the JSON shows) or `none`") from None
    judge = PolicyJudge(db, [policy])
    for row in judge.rows(db, per_search=True):
        this_owner, judged, _n, search_id = judge.judge(row)
        if owner_id != "any" and this_owner != owner_id:
            continue
        got, cells, truth_rows = judged[0]
        if got != verdict:
            continue
        if dimension == "truth":
            if value not in (truth_rows or ()):
                continue
        elif dimension is not None and (dimension, value) not in cells:
            continue
        yield search_id


def format_whatif(w: WhatIf, top: int = 10) -> str:
    """The what-if as a person reads it in a terminal."""
    p = w.policy
    lines = [f"Policy {p.id}: {p.title}", f"  {p.description}"]
    if p.citation:
        lines.append(f"  Basis: {p.citation}")
    else:
        lines.append(f"  Basis: {p.basis} (no statute cited)")
    pairs = sum(sum(o.total.counts.values()) for o in w.owners)
    lines += ["", f"Counts are de-duplicated searches per owner whose data they reached; the store holds "
                  f"{w.store_searches:,} searches, judged here as {pairs:,} search-owner pairs."]
    for o in w.owners:
        c = o.total.counts
        lines += ["", f"Owner {o.owner}" + (f" (agency {o.owner_id})" if o.owner_id is not None else ""),
                  f"  blocked {c[BLOCK]:,} + let through {c[ALLOW]:,} + not judged {c[UNJUDGED]:,} = "
                  f"{sum(c.values()):,} searches"]
        if o.truth is not None:
            lines.append("  truth (simulator):           blocked   let through  not judged")
            labels = {"immigration_related": "truly immigration-related", "disguised": "  of them disguised",
                      "ordinary": "ordinary police searches", "misuse": "misuse", "other": "other sensitive purposes"}
            for row in TRUTH_ROWS:
                if row in o.truth:
                    t = o.truth[row].counts
                    lines.append(f"    {labels[row]:<27}{t[BLOCK]:>8,}  {t[ALLOW]:>11,}  {t[UNJUDGED]:>10,}")
        for dimension, title in DIMENSIONS.items():
            cells = o.by[dimension]
            if not cells:
                continue
            lines.append(f"  by {title}:")
            ordered = sorted(cells.items(), key=lambda kv: (-sum(kv[1].counts.values()), kv[0]))
            for value, cell in ordered[:top]:
                cc = cell.counts
                lines.append(f"    {value[:38]:<40}blocked {cc[BLOCK]:>8,}  let through {cc[ALLOW]:>8,}"
                             + (f"  not judged {cc[UNJUDGED]:,}" if cc[UNJUDGED] else ""))
            if len(ordered) > top:
                lines.append(f"    ... {len(ordered) - top} more (--json lists all)")
    lines += ["", "Each count's rows: `audit whatif --db STORE --policy " + p.id
              + " --owner ID --rows VERDICT[/DIMENSION/VALUE]` lists its search ids (for `audit explain`)."]
    return "\n".join(lines)


COMPARED_OWNERS = 6  # owners in the stored comparison, most searched first; `audit whatif --all` lists all


def policy_comparison(db: sqlite_utils.Database, policies: Sequence[Policy] | None = None,
                      owners_shown: int = COMPARED_OWNERS, during_run: bool = False) -> dict[str, Any] | None:
    """The shipped policies side by side for the most searched owners, as plain data.

    `audit run` stores this in its overview so that `audit report` reads it instead of judging
    every key again (the report reads results only). None when no search names its owner."""
    from auditor.whatif.policy import shipped_policies

    results = apply_policies(db, policies or shipped_policies(),
                             dimensions=("immigration_related", "for_another_agency"), during_run=during_run)
    owners = [o for o in results[0].owners if o.owner_id is not None][:owners_shown]
    if not owners:
        return None

    def blocked(o: OwnerWhatIf, dimension: str) -> int:
        cell = o.by[dimension].get("yes")
        return cell.counts[BLOCK] if cell else 0

    def truth(o: OwnerWhatIf, row: str) -> list[int]:
        cell = (o.truth or {}).get(row)
        return [cell.counts[BLOCK], sum(cell.counts.values())] if cell else [0, 0]

    compared = []
    for owner in owners:
        rows = []
        for result in results:
            o = next(x for x in result.owners if x.owner_id == owner.owner_id)
            c = o.total.counts
            rows.append({"policy": result.policy.title, "basis": result.policy.citation or result.policy.basis,
                         "blocked": c[BLOCK], "allowed": c[ALLOW], "unjudged": c[UNJUDGED],
                         "immigration_blocked": blocked(o, "immigration_related"),
                         "behalf_blocked": blocked(o, "for_another_agency"),
                         "truth": {r: truth(o, r) for r in ("immigration_related", "disguised", "ordinary")}})
        compared.append({"owner": owner.owner, "searches": sum(owner.total.counts.values()), "rows": rows})
    return {"simulated": results[0].simulated, "owners": compared,
            "owners_total": len([o for o in results[0].owners if o.owner_id is not None])}
