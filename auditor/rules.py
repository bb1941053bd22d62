"""Rules as data: each file in `auditor/data/rules/` is one rule with its citation and examples.

A *search* rule has a `condition` over the facts of one traced search (see
:data:`auditor.facts.FACTS`); the scan
evaluates it once per distinct combination of facts, never per row. An *aggregate* rule names a
`measure` (see :mod:`auditor.measures`) with parameters, and finds agencies, users or plates whose
searches together cross a threshold.

A condition is a tree of ``{all = [...]}``, ``{any = [...]}``, ``{not = {...}}`` and leaves
``{fact = "owner.state", <op> = value}`` with op one of eq, ne, in, not_in, has, has_any, gte, lte,
is_null. A fact that is unknown (NULL) matches no comparison except ``is_null = true``: an
unresolved agency is never presumed out of state.
"""
from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any, Iterable, Mapping

from auditor.errors import InputError
from auditor.files import MAP_CAP, read_small
from auditor.facts import FACTS

SEVERITIES = ("info", "low", "medium", "high")

_OPS = {"eq", "ne", "in", "not_in", "has", "has_any", "gte", "lte", "is_null"}
_RULE_KEYS = {"id", "title", "severity", "citation", "description", "scope", "condition", "measure",
              "params", "false_positives", "references", "examples", "jurisdictions", "state_law"}
# What a policy rule may cite from the owner's state (the `grounds` a law declares, see
# auditor.jurisdictions): access logging, permitted uses, sharing limits, immigration limits.
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
    # Grounds (GROUNDS) of the owner's state's laws this rule cites where one is encoded; the
    # `citation` above is then the published practice or vendor policy the rule rests on elsewhere.
    state_law: tuple[str, ...] = ()
    # Set for a rule compiled from a jurisdiction file: the law it encodes (auditor.jurisdictions.Law).
    law: Any = None

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


def _rule_from(data: dict, source: str) -> Rule:
    unknown = set(data) - _RULE_KEYS
    if unknown:
        raise ValueError(f"unknown key {sorted(unknown)[0]!r}")
    for key in ("id", "title", "severity", "citation", "scope"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise ValueError(f"missing or empty `{key}`")
    if data["severity"] not in SEVERITIES:
        raise ValueError(f"severity {data['severity']!r} is not one of {', '.join(SEVERITIES)}")
    if data["scope"] == "search":
        _check_condition(data.get("condition"), "condition")
    elif data["scope"] == "aggregate":
        from auditor.measures import MEASURES

        if data.get("measure") not in MEASURES:
            raise ValueError(f"measure {data.get('measure')!r} is not one of {', '.join(sorted(MEASURES))}")
    else:
        raise ValueError(f"scope {data['scope']!r} must be `search` or `aggregate`")
    examples = data.get("examples", [])
    if not examples:
        raise ValueError("a rule needs [[examples]] that must and must not match")
    jurisdictions = data.get("jurisdictions")
    if (not isinstance(jurisdictions, list) or not jurisdictions
            or not all(isinstance(j, str) and (j == "*" or (len(j) == 2 and j.isalpha() and j.islower()))
                       for j in jurisdictions)):
        raise ValueError("`jurisdictions` must list where the rule applies: [\"*\"] or state codes like [\"ca\"]")
    state_law = data.get("state_law", [])
    if not isinstance(state_law, list) or any(g not in GROUNDS for g in state_law):
        raise ValueError(f"`state_law` lists grounds among {', '.join(GROUNDS)}")
    return Rule(
        id=data["id"], title=data["title"], severity=data["severity"], citation=data["citation"],
        description=data.get("description", ""), scope=data["scope"], condition=data.get("condition"),
        measure=data.get("measure"), params=data.get("params", {}),
        false_positives=data.get("false_positives", ""), examples=tuple(examples), source=source,
        jurisdictions=tuple(jurisdictions), state_law=tuple(state_law),
    )


def shipped_rule_paths() -> list[Path]:
    folder = Path(str(files("auditor") / "data" / "rules"))
    return sorted(folder.glob("*.toml"))


def load_rules(paths: Iterable[Path] | None = None) -> list[Rule]:
    """Load and validate rule files (default: the shipped ones, plus every law of the shipped
    jurisdiction files, auditor.jurisdictions). Errors name the file and problem."""
    rules: list[Rule] = []
    seen: set[str] = set()
    if paths is None:
        from auditor.jurisdictions import load_laws

        for law_rule in load_laws():
            seen.add(law_rule.id)
            rules.append(law_rule)
    for path in paths if paths is not None else shipped_rule_paths():
        try:
            data = tomllib.loads(read_small(path, "rule file", MAP_CAP).decode("utf-8"))
            rule = _rule_from(data, Path(path).name)
        except (OSError, UnicodeDecodeError) as e:
            raise InputError(f"{path}: cannot read rule file: {e}") from None
        except (tomllib.TOMLDecodeError, ValueError) as e:
            raise InputError(f"{path}: {e}") from None
        if rule.id in seen:
            raise InputError(f"{path}: duplicate rule id {rule.id!r}")
        seen.add(rule.id)
        rules.append(rule)
    return rules


def ruleset_hash(rules: Iterable[Rule]) -> str:
    """A short hash of the rules in force, recorded with each run."""
    digest = hashlib.sha256()
    for rule in sorted(rules, key=lambda r: r.id):
        digest.update(repr((rule.id, rule.severity, rule.condition, rule.measure, dict(rule.params))).encode())
    return digest.hexdigest()[:16]
