"""Laws as data, one reviewed file per jurisdiction: `auditor/data/jurisdictions/<xx>.toml`.

Each file holds the laws of one state (two-letter postal code, lower case) or of the United States
(`us.toml`) that govern ALPR data (use, retention, sharing, access logging) and police cooperation
with immigration enforcement, each with its citation, a summary, the public sources it was read
from (address and date read), its effective date, whose state it binds (`applies_to`: the owner of
the data, the searcher, or both) and the condition under which a search breaks it, in the rule
condition language of :mod:`auditor.rules`. Every law is compiled into an
:class:`auditor.rules.Rule`, so the scan runs laws and rules alike:

    condition = all(state of a role in applies_to == the file's state,
                    not (search.date before the effective date),
                    the law's own condition)

so a law can never judge a search outside its jurisdiction or before it took effect. A search
whose date the scan did not supply is judged by the law as in force (`search.date` NULL).

Policy rules (vague reasons, repeat plates, record gaps, ...) are not state law: they name the
`grounds` they rest on (`state_law` in the rule file), and :func:`cite` gives each finding the
owner's state's laws on those grounds where one is encoded, else the rule's own citation (published
practice or vendor policy). A finding never cites another state's law.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any, Iterable, Mapping

from auditor.errors import InputError
from auditor.facts import OWNER_MEASURES, finding_role  # noqa: F401 (the judging state is a fact; importable here too)
from auditor.rules import FACTS, GROUNDS, SEVERITIES, Rule, _check_condition

ROLES = ("owner", "searcher")
FEDERAL = "us"
PRACTICE = "practice"  # the jurisdiction of a citation that is no law: published practice, vendor policy
_FILE_KEYS = {"jurisdiction", "name", "reviewed", "laws", "not_encoded"}
_LAW_KEYS = {"id", "citation", "title", "summary", "sources", "effective", "effective_note", "applies_to",
             "severity", "grounds", "condition", "false_positives", "examples"}


@dataclass(frozen=True)
class Source:
    url: str
    read: str  # the date the text was read, YYYY-MM-DD
    note: str = ""


@dataclass(frozen=True)
class Law:
    id: str
    jurisdiction: str  # "ca", ..., or "us"
    citation: str
    title: str
    summary: str
    sources: tuple[Source, ...]
    effective: str  # YYYY-MM-DD
    applies_to: tuple[str, ...]
    severity: str
    grounds: tuple[str, ...]
    condition: Mapping[str, Any]
    examples: tuple[Mapping[str, Any], ...]
    effective_note: str = ""
    false_positives: str = ""


@dataclass(frozen=True)
class Jurisdiction:
    code: str
    name: str
    reviewed: str
    laws: tuple[Law, ...]
    # Laws seen while reviewing but not encoded (not verified from a public text, or no condition a
    # log can show), each with why: the report can say what was not checked.
    not_encoded: tuple[str, ...] = ()
    source: str = ""


@dataclass(frozen=True)
class Citation:
    """What one finding cites, and from which jurisdiction (a state code, `us`, or `practice`)."""

    text: str
    jurisdiction: str
    law_ids: tuple[str, ...] = ()
    sources: tuple[str, ...] = field(default=())


def _iso_date(value: Any, where: str) -> str:
    if isinstance(value, date):
        return value.isoformat()
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise ValueError(f"{where} must be a date YYYY-MM-DD, not {value!r}") from None


def _text(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: missing or empty `{key}`")
    return value.strip()


def _law_from(data: Mapping[str, Any], code: str, index: int) -> Law:
    where = f"laws[{index}]"
    if not isinstance(data, dict):
        raise ValueError(f"{where} must be a table")
    unknown = set(data) - _LAW_KEYS
    if unknown:
        raise ValueError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    law_id = _text(data, "id", where)
    where = f"law {law_id}"
    if not law_id.startswith(f"{code}."):
        raise ValueError(f"{where}: a law's id starts with its jurisdiction, `{code}.`")
    severity = _text(data, "severity", where)
    if severity not in SEVERITIES:
        raise ValueError(f"{where}: severity {severity!r} is not one of {', '.join(SEVERITIES)}")
    sources = data.get("sources")
    if not isinstance(sources, list) or not sources:
        raise ValueError(f"{where}: needs `sources`, the public pages it was read from (url and date read)")
    read_from = []
    for s in sources:
        if not isinstance(s, dict) or not str(s.get("url", "")).startswith(("https://", "http://")):
            raise ValueError(f"{where}: each source needs a `url` (http or https)")
        read_from.append(Source(url=s["url"], read=_iso_date(s.get("read"), f"{where}: source read date"),
                                note=str(s.get("note", ""))))
    applies_to = data.get("applies_to")
    if not isinstance(applies_to, list) or not applies_to or any(r not in ROLES for r in applies_to):
        raise ValueError(f"{where}: `applies_to` lists whose state the law binds: {', '.join(ROLES)}")
    grounds = data.get("grounds", [])
    if not isinstance(grounds, list) or any(g not in GROUNDS for g in grounds):
        raise ValueError(f"{where}: `grounds` are among {', '.join(GROUNDS)}")
    _check_condition(data.get("condition"), f"{where}: condition")
    examples = data.get("examples")
    if not isinstance(examples, list) or not examples or any(
            not isinstance(e, dict) or not isinstance(e.get("facts"), dict) or "expect" not in e for e in examples):
        raise ValueError(f"{where}: needs [[laws.examples]] with `facts` and `expect`")
    if {bool(e["expect"]) for e in examples} != {True, False}:
        raise ValueError(f"{where}: needs examples that must match and examples that must not")
    for e in examples:
        unknown_facts = set(e["facts"]) - set(FACTS)
        if unknown_facts:
            raise ValueError(f"{where}: example uses unknown fact {sorted(unknown_facts)[0]!r}")
    return Law(
        id=law_id, jurisdiction=code, citation=_text(data, "citation", where), title=_text(data, "title", where),
        summary=_text(data, "summary", where), sources=tuple(read_from),
        effective=_iso_date(data.get("effective"), f"{where}: `effective`"), applies_to=tuple(applies_to),
        severity=severity, grounds=tuple(grounds), condition=data["condition"], examples=tuple(examples),
        effective_note=str(data.get("effective_note", "")).strip(),
        false_positives=str(data.get("false_positives", "")).strip(),
    )


def _jurisdiction_from(data: Mapping[str, Any], path: Path) -> Jurisdiction:
    unknown = set(data) - _FILE_KEYS
    if unknown:
        raise ValueError(f"unknown key {sorted(unknown)[0]!r}")
    code = _text(data, "jurisdiction", "file")
    if code != path.stem:
        raise ValueError(f"`jurisdiction = {code!r}` does not match the file name {path.name}")
    if not (len(code) == 2 and code.isalpha() and code.islower()):
        raise ValueError("`jurisdiction` is a two-letter postal code in lower case, or `us`")
    laws = data.get("laws", [])
    if not isinstance(laws, list):
        raise ValueError("`laws` must be an array of tables ([[laws]])")
    not_encoded = data.get("not_encoded", [])
    if not isinstance(not_encoded, list) or not all(isinstance(n, str) for n in not_encoded):
        raise ValueError("`not_encoded` lists, as text, laws reviewed but not encoded and why")
    return Jurisdiction(code=code, name=_text(data, "name", "file"),
                        reviewed=_iso_date(data.get("reviewed"), "`reviewed`"),
                        laws=tuple(_law_from(law, code, i) for i, law in enumerate(laws)),
                        not_encoded=tuple(not_encoded), source=path.name)


def shipped_jurisdiction_paths() -> list[Path]:
    folder = Path(str(files("auditor") / "data" / "jurisdictions"))
    return sorted(folder.glob("*.toml"))


def load_jurisdictions(paths: Iterable[Path] | None = None) -> dict[str, Jurisdiction]:
    """Load and validate jurisdiction files (default: the shipped ones), keyed by code.

    Raises InputError naming the file and the problem (one line)."""
    out: dict[str, Jurisdiction] = {}
    seen: set[str] = set()
    for path in paths if paths is not None else shipped_jurisdiction_paths():
        path = Path(path)
        try:
            jurisdiction = _jurisdiction_from(tomllib.loads(path.read_text(encoding="utf-8")), path)
        except (OSError, UnicodeDecodeError) as e:
            raise InputError(f"{path}: cannot read jurisdiction file: {e}") from None
        except (tomllib.TOMLDecodeError, ValueError) as e:
            raise InputError(f"{path}: {e}") from None
        for law in jurisdiction.laws:
            if law.id in seen:
                raise InputError(f"{path}: duplicate law id {law.id!r}")
            seen.add(law.id)
        out[jurisdiction.code] = jurisdiction
    return out


def _day_before(iso: str) -> str:
    return (date.fromisoformat(iso) - timedelta(days=1)).isoformat()


def law_condition(law: Law) -> dict[str, Any]:
    """The compiled condition: the law's jurisdiction, its effective date, then its own condition."""
    where: list[dict[str, Any]] = []
    if law.jurisdiction != FEDERAL:
        state = law.jurisdiction.upper()
        where.append({"any": [{"fact": f"{role}.state", "eq": state} for role in law.applies_to]})
    # `not (date <= the day before)`: a known earlier date never matches; an unknown one is judged
    # by the law as in force (the scan supplies search.date for every search it has a time for).
    where.append({"not": {"fact": "search.date", "lte": _day_before(law.effective)}})
    where.append(dict(law.condition))
    return {"all": where}


def compile_law(law: Law, source: str = "") -> Rule:
    """The law as a search rule the scan evaluates like any other."""
    effective = f"In force from {law.effective}" + (f" ({law.effective_note})" if law.effective_note else "") + "."
    read = "; ".join(f"{s.url} (read {s.read})" for s in law.sources)
    return Rule(
        id=law.id, title=law.title, severity=law.severity, citation=law.citation,
        description=f"{law.summary}\n{effective} Source: {read}.", scope="search",
        condition=law_condition(law), false_positives=law.false_positives, examples=law.examples,
        source=source, jurisdictions=(law.jurisdiction,), state_law=(), law=law,
    )


def load_laws(paths: Iterable[Path] | None = None) -> list[Rule]:
    """Every law of the jurisdiction files, compiled into rules."""
    return [compile_law(law, j.source) for j in load_jurisdictions(paths).values() for law in j.laws]


@lru_cache(maxsize=1)
def shipped() -> dict[str, Jurisdiction]:
    """The shipped jurisdiction files (read once per process)."""
    return load_jurisdictions()


def laws_for(state: str | None, jurisdictions: Mapping[str, Jurisdiction] | None = None) -> tuple[Law, ...]:
    """The laws encoded for a state (two-letter code, any case); empty when none is encoded."""
    if not state:
        return ()
    found = (jurisdictions if jurisdictions is not None else shipped()).get(state.lower())
    return found.laws if found else ()


def cite(rule: Rule, state: str | None, role: str = "owner",
         jurisdictions: Mapping[str, Jurisdiction] | None = None) -> Citation:
    """What a finding of `rule` cites when the agency it is about (`role`: owner or searcher) is in `state`.

    A law cites itself. A policy rule cites the state's laws that bind that role on the grounds it
    names where the state has one encoded, followed by the practice it rests on; otherwise only that
    practice (its own citation). Never a law of a state other than `state`.
    """
    if rule.law is not None:
        return Citation(rule.citation, rule.law.jurisdiction, (rule.id,), tuple(s.url for s in rule.law.sources))
    own = PRACTICE if rule.jurisdictions == ("*",) else rule.jurisdictions[0]
    if rule.state_law:
        laws = [law for law in laws_for(state, jurisdictions)
                if set(law.grounds) & set(rule.state_law) and role in law.applies_to]
        if laws:
            text = "; ".join(law.citation for law in laws) + f" ({role}'s state, {state.upper()}); practice: {rule.citation}"
            return Citation(text, laws[0].jurisdiction, tuple(law.id for law in laws),
                            tuple(s.url for law in laws for s in law.sources))
    return Citation(rule.citation, own)


class Citer:
    """Resolves citations for many findings, once per (rule, state): for reports and exports.

    Rules are looked up by id in the rule set given (default: the shipped rules and laws); a rule
    id it does not know keeps the citation stored with the run.
    """

    def __init__(self, rules: Iterable[Rule] | None = None) -> None:
        if rules is None:
            from auditor.rules import load_rules

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
