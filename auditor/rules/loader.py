"""Reading rules: the rule files in `auditor/data/rules/` and the laws of the jurisdiction files.

A *search* rule has a `condition` over the facts of one traced search (see
:data:`auditor.facts.FACTS`); the scan evaluates it once per distinct combination of facts, never
per row. An *aggregate* rule names a `measure` (see :mod:`auditor.rules.measures`) with parameters,
and finds agencies, users or plates whose searches together cross a threshold.
"""
from __future__ import annotations

import tomllib
from importlib.resources import files
from pathlib import Path
from typing import Iterable

from auditor.errors import InputError
from auditor.files import MAP_CAP, read_small
from auditor.rules.core import GROUNDS, SEVERITIES, Rule, _check_condition, check_finding
from auditor.rules.laws import load_laws
from auditor.rules.measures import MEASURES

_RULE_KEYS = {"id", "title", "severity", "citation", "description", "scope", "condition", "measure",
              "params", "false_positives", "references", "examples", "jurisdictions", "state_law", "finding"}


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
    finding = check_finding(data["finding"], "finding") if "finding" in data else ""
    return Rule(
        id=data["id"], title=data["title"], severity=data["severity"], citation=data["citation"],
        description=data.get("description", ""), scope=data["scope"], condition=data.get("condition"),
        measure=data.get("measure"), params=data.get("params", {}),
        false_positives=data.get("false_positives", ""), examples=tuple(examples), source=source,
        jurisdictions=tuple(jurisdictions), state_law=tuple(state_law), finding=finding,
    )


def shipped_rule_paths() -> list[Path]:
    folder = Path(str(files("auditor") / "data" / "rules"))
    return sorted(folder.glob("*.toml"))


def load_rules(paths: Iterable[Path] | None = None) -> list[Rule]:
    """Load and validate rule files (default: the shipped ones, plus every law of the shipped
    jurisdiction files, auditor.rules.laws). Errors name the file and problem."""
    rules: list[Rule] = []
    seen: set[str] = set()
    if paths is None:
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
