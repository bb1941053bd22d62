"""Classes of a compared fact (a date, a days-back count) that no rule tells apart.

A scan keys its memo on the class instead of the value, so it evaluates the rules once per class.
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Iterable

from auditor.rules.core import Rule


def fact_thresholds(rules: Iterable[Rule], fact: str) -> list[Any]:
    """The values the rules compare `fact` with (sorted): lets a scan bucket a fact such as
    `search.date` into the few classes the rules can tell apart instead of one per distinct value."""
    values = {v for r in rules for leaf in r.leaves() if leaf["fact"] == fact
              for k, v in leaf.items() if k in ("gte", "lte")}
    return sorted(values)


def _next(value: Any) -> Any:
    """The least value greater than `value` (dates by day, numbers by one: days_back is whole days)."""
    if isinstance(value, str):
        return (date.fromisoformat(value) + timedelta(days=1)).isoformat()
    return value + 1


def bucket_bounds(rules: Iterable[Rule], fact: str) -> list[Any]:
    """Lower bounds of the classes of `fact` that no rule tells apart, sorted.

    `gte X` splits at X and `lte X` at the value after X. Replacing a value by the greatest bound
    at or below it (:func:`bucket_value`; below every bound, the lowest value minus one) gives every
    rule the same verdict as the value itself, so a scan can key its memo on the bucket.
    """
    bounds = set()
    for r in rules:
        for leaf in r.leaves():
            if leaf["fact"] == fact:
                if "gte" in leaf:
                    bounds.add(leaf["gte"])
                if "lte" in leaf:
                    bounds.add(_next(leaf["lte"]))
    return sorted(bounds)


def _below(bounds: list[Any]) -> Any:
    first = bounds[0]
    return (date.fromisoformat(first) - timedelta(days=1)).isoformat() if isinstance(first, str) else first - 1


def bucket_value(value: Any, bounds: list[Any]) -> Any:
    """The bucket of one value (see :func:`bucket_bounds`); NULL stays NULL."""
    if value is None or not bounds:
        return value
    for bound in reversed(bounds):
        if value >= bound:
            return bound
    return _below(bounds)


def bucket_sql(expr: str, bounds: list[Any]) -> str:
    """SQL computing :func:`bucket_value` of `expr` (a date text YYYY-MM-DD or a number).

    For the scan: `bucket_sql("substr(s.time, 1, 10)", bucket_bounds(rules, "search.date"))` gives
    each search's `search.date` class; a NULL expression stays NULL."""
    if not bounds:
        return expr

    def lit(v: Any) -> str:
        return "'" + v.replace("'", "''") + "'" if isinstance(v, str) else repr(v)

    whens = " ".join(f"WHEN {expr} >= {lit(b)} THEN {lit(b)}" for b in reversed(bounds))
    return f"CASE WHEN {expr} IS NULL THEN NULL {whens} ELSE {lit(_below(bounds))} END"
