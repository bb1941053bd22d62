"""What a finding cites: the law it says was broken, or the practice it rests on.

A law's finding cites the law: the scan found it only where every element of the law holds for the
search (:mod:`auditor.rules.laws`). A policy rule's finding cites the practice it rests on, always;
where the state the finding is judged by has a law on the grounds the rule names, that law is shown
beside it as *related law, not a finding that it was broken*. A finding never cites, nor shows as
related, a law of a state other than the one it is judged by.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from auditor.facts import finding_role
from auditor.rules.core import Rule, statement
from auditor.rules.laws import FEDERAL, Jurisdiction, laws_for, shipped
from auditor.rules.loader import load_rules

PRACTICE = "practice"  # the jurisdiction of a citation that is no law: published practice, vendor policy
RELATED = "related law, not a finding that it was broken"


@dataclass(frozen=True)
class Citation:
    """What one finding cites, and from which jurisdiction (a state code, `us`, or `practice`).

    `related` names laws shown beside a practice finding; they are never what the finding cites."""

    text: str
    jurisdiction: str
    law_ids: tuple[str, ...] = ()
    sources: tuple[str, ...] = field(default=())
    related: tuple[str, ...] = ()


def cite(rule: Rule, state: str | None, role: str = "owner",
         jurisdictions: Mapping[str, Jurisdiction] | None = None) -> Citation:
    """What a finding of `rule` cites when the agency it is judged by (`role`: owner or searcher) is in `state`.

    A law cites itself. A policy rule cites the practice it rests on (its own citation); the laws of
    `state` on the grounds it names follow as related law, in words that say they are not a finding
    that the law was broken.
    """
    if rule.law is not None:
        return Citation(rule.citation, rule.law.jurisdiction, (rule.id,), tuple(s.url for s in rule.law.sources))
    own = PRACTICE if rule.jurisdictions == ("*",) else rule.jurisdictions[0]
    related = [law for law in laws_for(state, jurisdictions) if set(law.grounds) & set(rule.state_law)]
    if not related:
        return Citation(rule.citation, own)
    text = (f"{rule.citation}. {RELATED[0].upper() + RELATED[1:]} ({state.upper()}): "
            + "; ".join(f"{law.citation}, in force from {law.effective}" for law in related))
    return Citation(text, own, (), (), tuple(law.id for law in related))


class Citer:
    """Resolves citations for many findings, once per (rule, state): for reports and exports.

    Rules are looked up by id in the rule set given (default: the shipped rules and laws); a rule
    id it does not know keeps the citation stored with the run.
    """

    def __init__(self, rules: Iterable[Rule] | None = None) -> None:
        if rules is None:
            rules = load_rules()
        self.rules = {r.id: r for r in rules}
        self._memo: dict[tuple[str, str | None, bool], Citation] = {}

    def __call__(self, rule_id: str, state: str | None, has_owner: bool = True, stored: str | None = None) -> Citation:
        """The citation of a finding of `rule_id` about an agency of `state`; `has_owner` says whether
        a per-search finding's trace names the owner of the data (else the searcher's state decides)."""
        key = (rule_id, state, has_owner)
        found = self._memo.get(key)
        if found is None:
            rule = self.rules.get(rule_id)
            found = (cite(rule, state, finding_role(rule, has_owner)) if rule
                     else Citation(stored or "", PRACTICE))
            self._memo[key] = found
        return found

    def statement(self, rule_id: str, names: Mapping[str, str | None], fallback: str = "") -> str:
        """The finding of `rule_id` in a sentence naming its parties (`fallback`: a rule it does not know)."""
        rule = self.rules.get(rule_id)
        return statement(rule, names) if rule is not None else fallback


def applied(state: str | None, role: str = "owner",
            jurisdictions: Mapping[str, Jurisdiction] | None = None) -> dict[str, Any]:
    """Which jurisdiction's laws apply to an agency of `state` in `role`, said plainly for the report."""
    known = jurisdictions if jurisdictions is not None else shipped()
    federal = known.get(FEDERAL)
    federal_ids = [law.id for law in federal.laws] if federal else []
    if not state:
        return {"jurisdiction": None, "laws": [], "federal_laws": federal_ids, "not_encoded": [],
                "note": "state unknown: no state's law could be applied (resolve the agency with --overrides)"}
    found = known.get(state.lower())
    laws = [law.id for law in (found.laws if found else ()) if role in law.applies_to]
    if found is None:
        note = (f"no law encoded for {state.upper()}: no state statute was checked; only policy rules, "
                "citing the published practice they rest on, were applied")
    elif not found.laws:
        note = (f"no law encoded for {state.upper()}: {found.name} was reviewed ({found.source}, {found.reviewed}) "
                "and lists why nothing is encoded; only policy rules, citing the published practice they rest "
                "on, were applied")
    elif not laws:
        note = (f"{found.name} ({found.source}) has no law encoded that binds the {role}; "
                "policy rules cite published practice")
    else:
        note = f"{found.name} ({found.source}), reviewed {found.reviewed}"
    return {"jurisdiction": found.code if found else None, "laws": laws, "federal_laws": federal_ids, "note": note,
            "not_encoded": list(found.not_encoded) if found else []}


