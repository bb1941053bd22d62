"""Laws as elements, one reviewed file per jurisdiction: `auditor/data/jurisdictions/<xx>.toml`.

Each file holds the laws of one state (two-letter postal code, lower case) or of the United States
(`us.toml`) that govern ALPR data (use, retention, sharing, access logging) and police cooperation
with immigration enforcement. A law is written as the elements a search must meet for a finding to
say the law was broken:

- `binds`: whose conduct the law governs: `owner` (the data's owner or operator), `searcher` (the
  agency that ran the search) or `any_agency` (any agency of the state, owner or searcher);
- `conduct`: what the bound party did: shares, accesses, queries, retains or records;
- `condition`: every further condition on the facts, as a list of elements (`all = [...]`) in the
  condition language of :mod:`auditor.rules.core`: purpose tags, the searcher's state, level and
  kind, own or shared data, how far back the search reached;
- `effective`: the date the law took effect; a search before it is not judged by it;
- `quote`: the operative sentence, quoted from the text, with the source it was read from; every
  source has its address and the date it was read;
- `finding`: the finding in one sentence that names the bound party ({owner}, {searcher}).

The loader refuses a law that lacks any of these, and one whose own examples do not show, for every
element, a case where it alone fails (and one where every element holds): the examples are the
law's table of cases, run as tests and printed for a legal reviewer (`audit rules --review`).

Every law compiles into a :class:`auditor.rules.core.Rule` whose condition is its elements:

    all(the bound party's state is the file's state,
        not (search.date before the effective date),
        *the law's own elements)

so a law never judges a search outside its jurisdiction, of another party, or before it took
effect. A search whose date the scan did not supply is judged as in force (`search.date` NULL).
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any, Iterable, Mapping

from auditor.errors import InputError
from auditor.files import MAP_CAP, read_small
from auditor.facts import FACTS, with_derived
from auditor.rules.core import GROUNDS, SEVERITIES, Rule, _check_condition, check_finding, describe, evaluate

FEDERAL = "us"
# Whose conduct a law governs, and the roles whose state decides whether it applies.
BINDS: dict[str, tuple[str, ...]] = {"owner": ("owner",), "searcher": ("searcher",),
                                     "any_agency": ("owner", "searcher")}
BINDS_WORDS = {"owner": "the owner or operator of the data", "searcher": "the agency that ran the search",
               "any_agency": "any agency of the state, whether it owns the data or searched it"}
CONDUCTS = ("shares", "accesses", "queries", "retains", "records")
_FILE_KEYS = {"jurisdiction", "name", "reviewed", "laws", "not_encoded"}
_LAW_KEYS = {"id", "citation", "title", "summary", "sources", "effective", "effective_note", "binds", "conduct",
             "quote", "finding", "severity", "grounds", "condition", "false_positives", "examples"}


@dataclass(frozen=True)
class Source:
    url: str
    read: str  # the date the text was read, YYYY-MM-DD
    note: str = ""


@dataclass(frozen=True)
class Element:
    """One element of a law: a condition a search must meet, in words and as a condition node."""

    name: str
    node: Mapping[str, Any]

    def holds(self, facts: Mapping[str, Any]) -> bool:
        return evaluate(self.node, facts)


@dataclass(frozen=True)
class Law:
    id: str
    jurisdiction: str  # "ca", ..., or "us"
    citation: str
    title: str
    summary: str
    sources: tuple[Source, ...]
    effective: str  # YYYY-MM-DD, the date the law took effect
    binds: str  # a key of BINDS
    conduct: str  # one of CONDUCTS
    quote: str  # the operative sentence, verbatim
    quote_source: str  # the url of the source it was read from
    finding: str
    severity: str
    grounds: tuple[str, ...]
    condition: Mapping[str, Any]
    examples: tuple[Mapping[str, Any], ...]
    effective_note: str = ""
    false_positives: str = ""

    @property
    def applies_to(self) -> tuple[str, ...]:
        """The roles whose state decides whether the law applies (owner, searcher)."""
        return BINDS[self.binds]

    def elements(self) -> list[Element]:
        """Every element, in order: the bound party's state, the effective date, then the law's own."""
        out = []
        if self.jurisdiction != FEDERAL:
            state = self.jurisdiction.upper()
            roles = self.applies_to
            node = ({"fact": f"{roles[0]}.state", "eq": state} if len(roles) == 1
                    else {"any": [{"fact": f"{r}.state", "eq": state} for r in roles]})
            out.append(Element(f"{' or '.join(roles)} is an agency of {state}", node))
        out.append(Element(f"the search was made on or after {self.effective} (unknown dates count as in force)",
                           {"not": {"fact": "search.date", "lte": _day_before(self.effective)}}))
        out.extend(Element(describe(node).strip("()"), node) for node in self.condition["all"])
        return out


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


def _iso_date(value: Any, where: str) -> str:
    if isinstance(value, date):
        return value.isoformat()
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise ValueError(f"{where} must be a date YYYY-MM-DD, not {value!r}") from None


def _day_before(iso: str) -> str:
    return (date.fromisoformat(iso) - timedelta(days=1)).isoformat()


def _text(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: missing or empty `{key}`")
    return value.strip()


def example_facts(example: Mapping[str, Any]) -> dict[str, Any]:
    """An example's facts as the scan gives them (tags a set, none when the example gives none; the
    immigration facts derived from the tags and trace when the example does not state them)."""
    return with_derived(example["facts"])


def case_table(law: Law) -> list[dict[str, Any]]:
    """The law's examples as a table of cases: each with the elements it fails and whether it is cited."""
    elements = law.elements()
    rows = []
    for example in law.examples:
        facts = example_facts(example)
        failed = [e.name for e in elements if not e.holds(facts)]
        rows.append({"name": str(example.get("name", "")), "facts": dict(example["facts"]),
                     "cited": not failed, "expect": bool(example["expect"]), "fails": failed})
    return rows


def _check_cases(law: Law, where: str) -> None:
    """Refuse a law whose examples disagree with its elements or leave an element untested."""
    rows = case_table(law)
    for row in rows:
        if row["cited"] != row["expect"]:
            label = row["name"] or row["facts"]
            raise ValueError(f"{where}: example {label!r} expects {'a' if row['expect'] else 'no'} finding, "
                             f"but {'every element holds' if row['cited'] else 'it fails: ' + row['fails'][0]}")
    if not any(r["cited"] for r in rows):
        raise ValueError(f"{where}: needs an example where every element holds")
    for element in law.elements():
        if not any(r["fails"] == [element.name] for r in rows):
            raise ValueError(f"{where}: needs an example where only this element fails: {element.name}")


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
    binds = data.get("binds")
    if binds not in BINDS:
        raise ValueError(f"{where}: `binds` says whose conduct the law governs: {', '.join(BINDS)}")
    conduct = data.get("conduct")
    if conduct not in CONDUCTS:
        raise ValueError(f"{where}: `conduct` is what the bound party did: {', '.join(CONDUCTS)}")
    quote = data.get("quote")
    if not isinstance(quote, dict) or not str(quote.get("text", "")).strip():
        raise ValueError(f"{where}: needs `quote = {{ text = ..., source = ... }}`, the operative sentence as written")
    if quote.get("source") not in {s.url for s in read_from}:
        raise ValueError(f"{where}: the quote's `source` must be one of the law's sources")
    grounds = data.get("grounds", [])
    if not isinstance(grounds, list) or any(g not in GROUNDS for g in grounds):
        raise ValueError(f"{where}: `grounds` are among {', '.join(GROUNDS)}")
    condition = data.get("condition")
    if not isinstance(condition, dict) or set(condition) != {"all"}:
        raise ValueError(f"{where}: `condition` lists the law's elements: condition = {{ all = [ ... ] }}")
    _check_condition(condition, f"{where}: condition")
    examples = data.get("examples")
    if not isinstance(examples, list) or not examples or any(
            not isinstance(e, dict) or not isinstance(e.get("facts"), dict) or "expect" not in e for e in examples):
        raise ValueError(f"{where}: needs [[laws.examples]] with `facts` and `expect`")
    for e in examples:
        unknown_facts = set(e["facts"]) - set(FACTS)
        if unknown_facts:
            raise ValueError(f"{where}: example uses unknown fact {sorted(unknown_facts)[0]!r}")
    law = Law(
        id=law_id, jurisdiction=code, citation=_text(data, "citation", where), title=_text(data, "title", where),
        summary=_text(data, "summary", where), sources=tuple(read_from),
        effective=_iso_date(data.get("effective"), f"{where}: `effective`"), binds=binds, conduct=conduct,
        quote=" ".join(str(quote["text"]).split()), quote_source=quote["source"],
        finding=check_finding(data.get("finding"), where, BINDS[binds]),
        severity=severity, grounds=tuple(grounds), condition=condition, examples=tuple(examples),
        effective_note=str(data.get("effective_note", "")).strip(),
        false_positives=str(data.get("false_positives", "")).strip(),
    )
    _check_cases(law, where)
    return law


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
            jurisdiction = _jurisdiction_from(tomllib.loads(read_small(path, "jurisdiction file", MAP_CAP).decode("utf-8")), path)
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


def law_condition(law: Law) -> dict[str, Any]:
    """The compiled condition: every element of the law (jurisdiction, effective date, its own)."""
    return {"all": [dict(e.node) for e in law.elements()]}


def compile_law(law: Law, source: str = "") -> Rule:
    """The law as a search rule the scan evaluates like any other."""
    effective = f"In force from {law.effective}" + (f" ({law.effective_note})" if law.effective_note else "") + "."
    read = "; ".join(f"{s.url} (read {s.read})" for s in law.sources)
    return Rule(
        id=law.id, title=law.title, severity=law.severity, citation=law.citation,
        description=f"{law.summary}\n{effective} Source: {read}.", scope="search",
        condition=law_condition(law), false_positives=law.false_positives, examples=law.examples,
        source=source, jurisdictions=(law.jurisdiction,), state_law=(), law=law, finding=law.finding,
    )


def load_laws(paths: Iterable[Path] | None = None) -> list[Rule]:
    """Every law of the jurisdiction files, compiled into rules."""
    return [compile_law(law, j.source) for j in load_jurisdictions(paths).values() for law in j.laws]


@lru_cache(maxsize=1)
def shipped() -> dict[str, Jurisdiction]:
    """The shipped jurisdiction files (read once per process)."""
    return load_jurisdictions()


def law_states(jurisdictions: Mapping[str, Jurisdiction] | None = None) -> dict[str, str]:
    """law id -> the state (upper case) a finding of it is judged by: the law's own jurisdiction
    (auditor.facts.judged_state). Federal laws are left out: they are judged like any other rule."""
    known = jurisdictions if jurisdictions is not None else shipped()
    return {law.id: code.upper() for code, j in known.items() if code != FEDERAL for law in j.laws}


def laws_for(state: str | None, jurisdictions: Mapping[str, Jurisdiction] | None = None) -> tuple[Law, ...]:
    """The laws encoded for a state (two-letter code, any case); empty when none is encoded."""
    if not state:
        return ()
    found = (jurisdictions if jurisdictions is not None else shipped()).get(state.lower())
    return found.laws if found else ()
