"""The rule model: a rule, its condition language, and how a condition reads a search's facts.

Rule files (`auditor/data/rules/`) and laws (`auditor/data/jurisdictions/`) both become a
:class:`Rule`; :mod:`auditor.rules.loader` reads them.

A *search* rule has a `condition` over the facts of one traced search (see
:data:`auditor.facts.FACTS`); the scan
evaluates it once per distinct combination of facts, never per row. An *aggregate* rule names a
`measure` (see :mod:`auditor.rules.measures`) with parameters, and finds agencies, users or plates whose
searches together cross a threshold.

A condition is a tree of ``{all = [...]}``, ``{any = [...]}``, ``{not = {...}}`` and leaves
``{fact = "owner.state", <op> = value}`` with op one of eq, ne, in, not_in, has, has_any, gte, lte,
is_null. A fact that is unknown (NULL) matches no comparison except ``is_null = true``: an
unresolved agency is never presumed out of state.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from auditor.facts import FACTS

SEVERITIES = ("info", "low", "medium", "high")

_OPS = {"eq", "ne", "in", "not_in", "has", "has_any", "gte", "lte", "is_null"}
# What a policy rule may cite from the owner's state (the `grounds` a law declares, see
# auditor.rules.laws): access logging, permitted uses, sharing limits, immigration limits.
GROUNDS = ("access_logging", "permitted_use", "sharing", "immigration")


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    severity: str
    citation: str
    description: str
    scope: str  # "search" or "aggregate"
    condition: Mapping[str, Any] | None = None
    measure: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    false_positives: str = ""
    examples: tuple[Mapping[str, Any], ...] = ()
    source: str = ""
    # Where the rule applies: ("*",) everywhere, or two-letter state codes in lower case.
    jurisdictions: tuple[str, ...] = ("*",)
    # Grounds (GROUNDS) of the judged state's laws shown beside this rule's findings as related law,
    # never as a law the finding says was broken: a policy rule always cites its practice (`citation`).
    state_law: tuple[str, ...] = ()
    # Set for a rule compiled from a jurisdiction file: the law it encodes (auditor.rules.laws.Law).
    law: Any = None
    # The finding in one sentence naming the party whose conduct it describes, with {owner},
    # {searcher} and {beneficiary} standing for the agencies' names (see :func:`statement`).
    finding: str = ""

    def leaves(self) -> list[Mapping[str, Any]]:
        """The condition's leaves (`{fact = ..., op = value}`), for tools that ask what a rule reads."""
        found: list[Mapping[str, Any]] = []

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                if "fact" in node:
                    found.append(node)
                for child in node.values():
                    walk(child)
            elif isinstance(node, list):
                for child in node:
                    walk(child)

        walk(self.condition)
        return found

    def matches(self, facts: Mapping[str, Any]) -> bool:
        """Whether a search with these facts breaks this rule (search rules only)."""
        return self.condition is not None and evaluate(self.condition, facts)


def evaluate(node: Mapping[str, Any], facts: Mapping[str, Any]) -> bool:
    """Evaluate a condition tree against one search's facts."""
    if "all" in node:
        return all(evaluate(child, facts) for child in node["all"])
    if "any" in node:
        return any(evaluate(child, facts) for child in node["any"])
    if "not" in node:
        return not evaluate(node["not"], facts)
    value = facts.get(node["fact"])
    op, expected = next((k, v) for k, v in node.items() if k != "fact")
    if op == "is_null":
        return (value is None) == bool(expected)
    if value is None:
        return False
    if op == "eq":
        return value == expected
    if op == "ne":
        return value != expected
    if op == "in":
        return value in expected
    if op == "not_in":
        return value not in expected
    if op == "has":
        return expected in value
    if op == "has_any":
        return any(e in value for e in expected)
    if op == "gte":
        return value >= expected
    if op == "lte":
        return value <= expected
    raise AssertionError(op)  # unreachable: validated at load


def _check_condition(node: Any, where: str) -> None:
    if not isinstance(node, dict) or not node:
        raise ValueError(f"{where}: a condition must be a table")
    if len(node) == 1 and ("all" in node or "any" in node):
        children = next(iter(node.values()))
        if not isinstance(children, list) or not children:
            raise ValueError(f"{where}: all/any takes a non-empty list")
        for i, child in enumerate(children):
            _check_condition(child, f"{where}.{next(iter(node))}[{i}]")
        return
    if len(node) == 1 and "not" in node:
        _check_condition(node["not"], f"{where}.not")
        return
    if "fact" not in node or len(node) != 2:
        raise ValueError(f"{where}: a leaf needs `fact` and exactly one operator")
    if node["fact"] not in FACTS:
        raise ValueError(f"{where}: unknown fact {node['fact']!r}")
    op = next(k for k in node if k != "fact")
    if op not in _OPS:
        raise ValueError(f"{where}: unknown operator {op!r} (use one of {', '.join(sorted(_OPS))})")


def ruleset_hash(rules: Iterable[Rule]) -> str:
    """A short hash of the rules in force, recorded with each run."""
    digest = hashlib.sha256()
    for rule in sorted(rules, key=lambda r: r.id):
        digest.update(repr((rule.id, rule.severity, rule.condition, rule.measure, dict(rule.params))).encode())
    return digest.hexdigest()[:16]


_OP_WORDS = {"eq": "is", "ne": "is not", "in": "is one of", "not_in": "is none of", "has": "includes",
             "has_any": "includes any of", "gte": "is at least", "lte": "is at most"}


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return ", ".join(_value(x) for x in v)
    return str(v)


def describe(node: Mapping[str, Any]) -> str:
    """A condition in words, for `audit rules` and the review copy: `searcher.state is NE`."""
    if "all" in node:
        return "(" + " and ".join(describe(c) for c in node["all"]) + ")"
    if "any" in node:
        return "(" + " or ".join(describe(c) for c in node["any"]) + ")"
    if "not" in node:
        return "not " + describe(node["not"])
    op, expected = next((k, v) for k, v in node.items() if k != "fact")
    if op == "is_null":
        return f"{node['fact']} is {'unknown' if expected else 'known'}"
    return f"{node['fact']} {_OP_WORDS[op]} {_value(expected)}"


# The parties a finding sentence may name (Rule.finding).
PARTIES = ("owner", "searcher", "beneficiary")


def statement(rule: Rule, names: Mapping[str, str | None]) -> str:
    """The finding of `rule` for one search in a sentence naming the party whose conduct it describes.

    `names` maps owner, searcher and beneficiary to agency names; one the trace does not name reads
    as "an unnamed owner" (or searcher, beneficiary). A rule without a sentence gives its title."""
    if not rule.finding:
        return rule.title
    return rule.finding.format(**{p: names.get(p) or f"an unnamed {p}" for p in PARTIES})


def check_finding(text: Any, where: str, must_name: tuple[str, ...] = ()) -> str:
    """Validate a finding sentence: only {owner}, {searcher}, {beneficiary}, naming one of `must_name`."""
    import string

    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{where}: needs `finding`, one sentence naming the party whose conduct it describes")
    fields = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
    unknown = fields - set(PARTIES)
    if unknown:
        raise ValueError(f"{where}: `finding` names {{{sorted(unknown)[0]}}}; use {{owner}}, {{searcher}} or {{beneficiary}}")
    if must_name and not fields & set(must_name):
        raise ValueError(f"{where}: `finding` must name the party the law binds: "
                         + " or ".join("{" + p + "}" for p in must_name))
    return text.strip()
