"""Self-scoring: how much of the simulator's ground truth the audit recovered.

For each search rule, the audit's findings are compared with what the same rule finds when it is
told the truth (true purpose and true beneficiary) instead of what the log shows. Rules that depend
only on what is logged (owner and searcher, networks, reason wording) score 1.0 by construction;
the ones that depend on hidden facts (purpose, beneficiary, door) show what hiding costs.

Purposes are scored per truth purpose against the reason tags. Separately: immigration-related
searches whose reason states it, and those disguised behind vague reasons, with what the plate-relay
and 287(g) inferences recovered of the latter.

Counts are de-duplicated searches, except per-rule counts, which are traced (search, owner) pairs
exactly as findings are written.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import sqlite_utils

from auditor.errors import InputError
from auditor.facts import (IMMIGRATION_TAG, SENSITIVE_TAGS, STORED_KEY_COLUMNS, STORED_KEYS_SQL, Judge, Truth,
                           immigration_related, stored_bounds, stored_classes, stored_key, truth_tags)
from auditor.graph import build_graph, load_agencies
from auditor.rules import Rule, load_rules

# Truth purposes whose tag is not `crime:<purpose>`.
_PURPOSE_TAG = {
    "immigration": "immigration", "protest": "protest", "reproductive_health": "reproductive_health",
    "civil_matter": "civil_matter", "personal_use": "personal_use", "mission_creep": "mission_creep",
    # The tag vocabulary files these under broader crime categories.
    "hit_and_run": "crime:traffic", "child_welfare": "crime:welfare_check",
}


# Facts whose truth the simulator knows and the log may hide: a rule reading none of them scores
# 1.0 by construction (it is judged on what was logged).
_HIDDEN_FACTS = {"immigration_related", "door", "tags"}


def depends_on_hidden_truth(rule: Rule) -> bool:
    """Whether the rule reads purpose or beneficiary facts the log can hide."""
    used: set[str] = set()
    for leaf in rule.leaves():
        if leaf["fact"] == "tags":
            # Tags are hidden truth only where the rule reads purpose tags (not `vague`).
            values = leaf.get("has", leaf.get("has_any", []))
            values = {values} if isinstance(values, str) else set(values)
            if values & (SENSITIVE_TAGS | {IMMIGRATION_TAG}):
                used.add("tags")
        else:
            used.add(leaf["fact"])
    return bool(used & _HIDDEN_FACTS) or any(f.startswith("beneficiary.") for f in used)


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    def row(self) -> dict[str, Any]:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "precision": self.precision, "recall": self.recall}


@dataclass
class Score:
    searches: int
    immigration_related: int  # told the truth, by the one definition (auditor.facts.immigration_related)
    stated: Counts  # the log says it (the reason, or a beneficiary the reason names) vs truth, not disguised
    by_dhs_searcher: int  # run by a DHS component itself: its identity, not its reason, shows it
    disguised: int  # truly immigration-related searches by non-DHS searchers whose reason hides it
    disguised_caught: dict[str, int]  # by inference basis
    inference_precision: dict[str, Counts]
    by_rule: dict[str, Counts] = field(default_factory=dict)
    hidden_truth_rules: list[str] = field(default_factory=list)  # rules judged against hidden facts
    by_purpose: dict[str, Counts] = field(default_factory=dict)
    # Who each search was for: inferred beneficiary against the true one, over searches done for
    # another agency (truth) or given one (inference); `beyond_dhs` counts only true beneficiaries
    # that are not DHS components (a neighbour PD, a fusion center, a task force).
    beneficiary: Counts = field(default_factory=Counts)
    beneficiary_beyond_dhs: Counts = field(default_factory=Counts)
    beneficiary_by_basis: dict[str, Counts] = field(default_factory=dict)
    named_unresolved: int = 0  # searches whose reason names a requester nothing resolved

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["beneficiary"] = self.beneficiary.row()
        out["beneficiary_beyond_dhs"] = self.beneficiary_beyond_dhs.row()
        out["beneficiary_by_basis"] = {k: v.row() for k, v in self.beneficiary_by_basis.items()}
        out["stated"] = self.stated.row()
        out["inference_precision"] = {k: v.row() for k, v in self.inference_precision.items()}
        out["by_rule"] = {k: v.row() for k, v in self.by_rule.items()}
        out["by_purpose"] = {k: v.row() for k, v in self.by_purpose.items()}
        return out


def score_store(db: sqlite_utils.Database) -> Score:
    """Score the last `audit run` of a simulated store against its truth table.

    Reads only: each search's key as the run stored it, judged as logged and told the truth by the
    scan's own step (:class:`auditor.facts.Judge`).
    """
    if not db.execute("SELECT 1 FROM truth LIMIT 1").fetchone():
        raise InputError("this store has no simulator truth to score against (only simulated stores do)")
    if not db["scan_keys"].exists() or not db.execute("SELECT 1 FROM scan_keys LIMIT 1").fetchone():
        raise InputError("this store has not been audited yet: run `audit run --db STORE` first")

    classes = stored_classes(db)
    agencies = load_agencies(db)
    rules = [r for r in load_rules() if r.scope == "search"]
    judge = Judge(rules, build_graph(db, agencies), agencies, classes, *stored_bounds(db))
    dhs = {a.id for a in agencies.values() if a.is_dhs}
    component = {a.id: a.dhs_component for a in agencies.values()}

    by_rule = {r.id: Counts() for r in rules}
    rows = db.execute(
        f"""SELECT {STORED_KEY_COLUMNS}, t.purpose, t.misuse_kind, COALESCE(t.beneficiary_id, s.searcher_id), COUNT(*)
            {STORED_KEYS_SQL} JOIN truth t ON t.search_id = k.search_id JOIN searches s ON s.id = k.search_id
            GROUP BY k.key_id, t.purpose, t.misuse_kind, COALESCE(t.beneficiary_id, s.searcher_id)""")
    width = len(STORED_KEY_COLUMNS.split(","))
    for row in rows:
        key, truth, n = stored_key(row[:width]), Truth(*row[width:width + 3]), row[-1]
        found, expected = set(judge.verdict(key)), set(judge.verdict(key, truth))
        for rule_id in found | expected:
            c = by_rule[rule_id]
            if rule_id in found and rule_id in expected:
                c.tp += n
            elif rule_id in found:
                c.fp += n
            else:
                c.fn += n

    # Per purpose and the immigration-specific figures, over de-duplicated searches.
    by_purpose: dict[str, Counts] = {}
    stated = Counts()
    disguised = 0
    caught: dict[str, int] = {"plate_relay": 0, "287g": 0, "reason": 0}
    inference = {"plate_relay": Counts(), "287g": Counts()}
    related_total = 0
    total = 0
    purposes = [r[0] for r in db.execute("SELECT DISTINCT purpose FROM truth WHERE purpose IS NOT NULL")]
    by_dhs_searcher = 0
    for purpose, class_id, true_benef, disguised_flag, inferred_basis, inferred, searcher_id, n in db.execute(
        """SELECT t.purpose, rc.class_id, COALESCE(t.beneficiary_id, s.searcher_id), t.disguised, b.basis,
                  b.beneficiary_id, s.searcher_id, COUNT(*)
           FROM searches s JOIN truth t ON t.search_id = s.id
           LEFT JOIN reason_classes rc ON rc.reason_id = s.reason_id
           LEFT JOIN beneficiaries b ON b.search_id = s.id
           GROUP BY 1, 2, 3, 4, 5, 6, 7"""
    ):
        total += n
        tags = set(classes[class_id]) if class_id is not None else set()
        for p in purposes:
            tag = _PURPOSE_TAG.get(p, f"crime:{p}")
            c = by_purpose.setdefault(p, Counts())
            predicted, actual = tag in tags, purpose == p
            if predicted and actual:
                c.tp += n
            elif predicted:
                c.fp += n
            elif actual:
                c.fn += n
        # Both sides by the one definition: told the truth, and as the log says it (the reason's tags,
        # or a beneficiary the reason itself names; inferences are scored as `disguised_caught`).
        related = immigration_related(truth_tags(frozenset(tags), purpose, None), component.get(true_benef))
        related_total += n if related else 0
        says_it = immigration_related(tags, component.get(inferred) if inferred_basis == "reason" else None)
        if searcher_id in dhs:
            by_dhs_searcher += n if related else 0
        elif says_it and related:
            stated.tp += n
        elif says_it:
            stated.fp += n
        elif related and not disguised_flag:
            stated.fn += n
        if related and disguised_flag and searcher_id not in dhs:
            disguised += n
            if inferred_basis:
                caught[inferred_basis] = caught.get(inferred_basis, 0) + n
        if inferred_basis in inference:
            if related:
                inference[inferred_basis].tp += n
            else:
                inference[inferred_basis].fp += n
    benef, beyond, by_basis, unresolved_named = _score_beneficiaries(db, agencies)
    return Score(
        beneficiary=benef, beneficiary_beyond_dhs=beyond, beneficiary_by_basis=by_basis,
        named_unresolved=unresolved_named,
        searches=total, immigration_related=related_total, stated=stated, by_dhs_searcher=by_dhs_searcher,
        disguised=disguised,
        disguised_caught=caught, inference_precision=inference, by_rule=by_rule,
        hidden_truth_rules=sorted(r.id for r in rules if depends_on_hidden_truth(r)),
        by_purpose=dict(sorted(by_purpose.items())),
    )


# DHS components count as one beneficiary per family: `per ICE` names ICE for a search the truth
# says was for ICE ERO San Diego; Border Patrol is part of CBP. HSI is its own: it works criminal
# cases (auditor.facts.immigration_related), so an inferred ICE beneficiary for a search the truth
# says was for HSI on a narcotics case is a miss, not a hit.
_FAMILY = {"ICE": "ICE", "ERO": "ICE", "HSI": "HSI", "CBP": "CBP", "USBP": "CBP"}


def _score_beneficiaries(db: sqlite_utils.Database, agencies) -> tuple[Counts, Counts, dict[str, Counts], int]:
    """Inferred beneficiaries against the truth, over distinct (truth, searcher, inferred) groups."""
    overall, beyond, by_basis, unresolved = Counts(), Counts(), {}, 0

    def same(a: int | None, b: int | None) -> bool:
        if a == b:
            return True
        fa = _FAMILY.get(agencies[a].dhs_component) if a in agencies else None
        fb = _FAMILY.get(agencies[b].dhs_component) if b in agencies else None
        return fa is not None and fa == fb

    for true_b, searcher_id, inferred, basis, named, n in db.execute(
        """SELECT COALESCE(t.beneficiary_id, s.searcher_id), s.searcher_id, b.beneficiary_id, b.basis,
                  bn.search_id IS NOT NULL, COUNT(*)
           FROM searches s JOIN truth t ON t.search_id = s.id
           LEFT JOIN beneficiaries b ON b.search_id = s.id
           LEFT JOIN beneficiary_names bn ON bn.search_id = s.id
           GROUP BY 1, 2, 3, 4, 5"""
    ):
        unresolved += n if named else 0
        for_other = true_b != searcher_id
        dhs = true_b in agencies and agencies[true_b].dhs_component is not None
        targets = [overall] + ([beyond] if for_other and not dhs else [])
        if inferred is not None:
            hit = same(inferred, true_b)
            c = by_basis.setdefault(basis, Counts())
            for counts in targets + [c]:
                if hit:
                    counts.tp += n
                else:
                    counts.fp += n
            if not hit and for_other:
                for counts in targets:
                    counts.fn += n
        elif for_other:
            for counts in targets:
                counts.fn += n
    return overall, beyond, dict(sorted(by_basis.items())), unresolved


def format_score(score: Score) -> str:
    def pct(x: float | None) -> str:
        return "  n/a" if x is None else f"{x:5.3f}"

    lines = [
        f"Scored {score.searches:,} simulated searches against truth; {score.immigration_related:,} truly immigration-related.",
        f"Stated immigration-related, non-DHS searchers (reason says immigration or names ICE/ERO/CBP/USBP; "
        f"HSI alone marks a beneficiary, not a purpose): "
        f"precision {pct(score.stated.precision)}, recall {pct(score.stated.recall)} "
        f"(tp {score.stated.tp:,}, fp {score.stated.fp:,}, fn {score.stated.fn:,})",
        f"Run by a DHS component itself (its identity shows it; see door.back/door.front): {score.by_dhs_searcher:,}",
        f"Disguised (non-DHS searcher, truly immigration-related, reason hides it): {score.disguised:,}; recovered by inference: "
        + ", ".join(f"{k} {v:,}" for k, v in score.disguised_caught.items() if k != "reason")
        + f" -> {sum(v for k, v in score.disguised_caught.items() if k != 'reason'):,} of {score.disguised:,}",
        "Inference precision: " + ", ".join(
            f"{k} {pct(c.precision)} ({c.tp:,} of {c.tp + c.fp:,})" for k, c in score.inference_precision.items()),
        f"Beneficiary inference (who a search was for, searches): precision {pct(score.beneficiary.precision)}, "
        f"recall {pct(score.beneficiary.recall)} (tp {score.beneficiary.tp:,}, fp {score.beneficiary.fp:,}, "
        f"fn {score.beneficiary.fn:,}); beyond DHS (a town, a county, a fusion center, a task force): precision "
        f"{pct(score.beneficiary_beyond_dhs.precision)}, recall {pct(score.beneficiary_beyond_dhs.recall)} "
        f"(tp {score.beneficiary_beyond_dhs.tp:,}, fn {score.beneficiary_beyond_dhs.fn:,}); "
        f"named but unresolved {score.named_unresolved:,}",
        "By evidence: " + ", ".join(f"{k} {pct(c.precision)} ({c.tp:,} of {c.tp + c.fp:,})"
                                    for k, c in score.beneficiary_by_basis.items()),
        "",
        f"{'rule (traced search-owner pairs)':<34} {'precision':>9} {'recall':>7} {'tp':>9} {'fp':>7} {'fn':>7}",
    ]
    for rule_id, c in score.by_rule.items():
        if c.tp or c.fp or c.fn:
            mark = "" if rule_id in score.hidden_truth_rules else "  (log only: 1.000 by construction)"
            lines.append(f"{rule_id:<34} {pct(c.precision):>9} {pct(c.recall):>7} {c.tp:>9,} {c.fp:>7,} {c.fn:>7,}{mark}")
    lines += ["", f"{'purpose (searches)':<34} {'precision':>9} {'recall':>7} {'tp':>9} {'fp':>7} {'fn':>7}"]
    for purpose, c in score.by_purpose.items():
        lines.append(f"{purpose:<34} {pct(c.precision):>9} {pct(c.recall):>7} {c.tp:>9,} {c.fp:>7,} {c.fn:>7,}")
    return "\n".join(lines)
