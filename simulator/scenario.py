"""Scenario files: loading a TOML scenario and validating it strictly.

A scenario describes a world (agencies, cameras, sharing), its traffic, how each agency searches, who
acts for whom, misuse, and the findings a correct audit must reach. Every mistake in a file (an
unknown key, a missing field, a wrong type, an impossible value, a reference to an agency that is not
defined) is an :class:`~auditor.errors.InputError` whose one line names the file, the key path and the
problem, so a policy trainer editing a scenario can fix it without reading Python.

The format is documented in ``scenarios/README.md`` and shown by ``scenarios/el_cajon.toml``.
"""
from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from auditor.errors import InputError
from auditor.vocabulary import DHS_COMPONENTS, GENERATED_KINDS, KINDS, LEVELS
from scenarios import scenario_dir

SYSTEMS = ("alpr", "clets")
SEARCH_TYPES = ("lookup", "search", "freeform", "visual", "query")
QUERY_TYPES = ("registration", "driver_license", "criminal_history", "restraining_order", "wanted_person")
SHARE_SCOPES = ("direct", "statewide", "national")
# Misuse disclosures to the CLETS Advisory Committee: how a filing stands, and the outcome columns
# of DOJ's annual form (the 2016 figures: 27 resigned/fired, 3 misdemeanor, 3 felony, 24 no action,
# 28 counseling, 21 other).
DISCLOSURE_STATUSES = ("filed", "late", "not_filed")
DISCLOSURE_OUTCOMES = ("resigned_fired", "misdemeanor", "felony", "no_action", "counseling", "other")
# Bounds on any value a scenario gives. Rates and counts beyond them are typos or attacks, and would
# overflow dates or exhaust memory before the size estimate (simulator.budget) could refuse them.
MAX_QUANTITY = 10**9
MAX_AGENCIES = 100_000  # generated agencies, one owner's cameras, one misuse's officers or targets
MAX_CAMERAS = 100_000
MAX_DAYS = 100 * 366
FIRST_DATE, LAST_DATE = date(1970, 1, 1), date(2199, 12, 31)

# --- the data files beside this module ------------------------------------------------------------


@lru_cache(maxsize=None)
def data_file(name: str) -> dict[str, Any]:
    """A parsed TOML file from ``simulator/data`` (reason pools, places), read once per process."""
    return tomllib.loads(files("simulator").joinpath("data", name).read_text(encoding="utf-8"))


def known_states() -> tuple[str, ...]:
    """Two-letter postal codes the simulator can place agencies in."""
    return tuple(data_file("places.toml")["states"])


def known_purposes() -> tuple[str, ...]:
    """Purposes that have phrasing pools (the truth vocabulary shared with the auditor's tags)."""
    return tuple(data_file("reasons.toml")["purposes"])


# --- the validated model --------------------------------------------------------------------------


@dataclass(frozen=True)
class Agency:
    """A named actor of the story (``[[agencies]]``)."""

    key: str
    name: str
    level: str
    kind: str
    state: str | None = None
    dhs_component: str | None = None
    is_287g: bool = False
    support_287g: str | None = None
    focal: bool = False  # an owner whose audit logs the scenario exports
    lat: float | None = None
    lon: float | None = None
    aliases: tuple[str, ...] = ()  # how officers write it in a reason (`STIC`, `the fusion center`)


@dataclass(frozen=True)
class Group:
    """Generated agencies (``[[groups]]``): counts per state and a mix of kinds."""

    key: str
    states: dict[str, int]
    kinds: dict[str, float]
    share_287g: float = 0.0


@dataclass(frozen=True)
class Proxy:
    """Who a searcher acts for (``[behaviour.proxy]``): the side door."""

    beneficiaries: tuple[str, ...]
    rate: float  # share of the searcher's searches that are requests from a beneficiary
    purposes: dict[str, float]
    disguise_rate: float  # share of those whose reason hides the beneficiary and purpose
    relay_rate: float  # share preceded by the beneficiary's own lookup of the same plate


@dataclass(frozen=True)
class Behaviour:
    """How an agency or a group searches (``[[behaviour]]``)."""

    searchers: str
    searches_per_year: float  # per agency
    purposes: dict[str, float]
    search_types: dict[str, float]
    vague_rate: float = 0.0
    case_number_rate: float = 0.0
    plate_rate: float = 0.8
    read_plate_rate: float = 0.5
    missing_user_rate: float = 0.0
    missing_reason_rate: float = 0.0  # the reason cell left blank (broken record-keeping)
    query_types: dict[str, float] = field(default_factory=dict)
    proxy: Proxy | None = None


@dataclass(frozen=True)
class Misuse:
    """Officers searching for personal or political ends (``[[misuse]]``)."""

    actors: str
    kind: str
    searches_per_year: float  # per agency
    targets: int  # how many distinct plates (or CLETS subjects) the actors keep coming back to
    disguise_rate: float
    officers: int = 1  # misusing officers per agency
    shared_targets: bool = False  # True: every officer hunts the same targets (council members)
    search_types: dict[str, float] = field(default_factory=lambda: {"lookup": 1.0})
    query_types: dict[str, float] = field(default_factory=dict)
    missing_user_rate: float = 0.0
    story: str | None = None  # what the misuse was (`screening an online date`), for the truth narrative


@dataclass(frozen=True)
class Disclosure:
    """What an agency told the CLETS Advisory Committee about misuse in a year (``[[disclosures]]``).

    Published figures, not simulated behaviour: they are written to the store as is, at any scale.
    """

    agency: str  # an agency or a group key (every member files the same row)
    year: int
    status: str  # filed, late, not_filed
    investigations: int = 0
    confirmed: int = 0
    pending: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    filed_on: date | None = None
    note: str | None = None


@dataclass(frozen=True)
class Scenario:
    """A validated scenario, ready for generation."""

    path: Path
    name: str
    title: str
    description: str
    system: str
    start: date
    end: date
    narrative: str
    sources: tuple[dict[str, str], ...]
    agencies: tuple[Agency, ...]
    groups: tuple[Group, ...]
    cameras: tuple[dict[str, Any], ...]
    shares: tuple[dict[str, Any], ...]
    traffic: tuple[dict[str, Any], ...]
    behaviour: tuple[Behaviour, ...]
    misuse: tuple[Misuse, ...]
    expect: tuple[dict[str, Any], ...]
    disclosures: tuple[Disclosure, ...] = ()
    # Share of proxy searches whose log names the requester (a requester field, as a policy could
    # require). Not a scenario-file key: `simulate sweep` sets it. The field is written into the
    # logged reason as ` | requested by <agency>` (the store has no requester column), so the audit
    # reads it as it reads a reason that names its requester.
    requester_field: float = 0.0

    @property
    def days(self) -> int:
        """Days in the scenario's time span, both ends included."""
        return (self.end - self.start).days + 1


# --- the file format, as data ----------------------------------------------------------------------
# A spec maps each key to (type, required, default). Types: str, int, num, bool, date, strs (list of
# str), mix (table of shares summing to 1), counts (table of non-negative ints), a nested dict spec
# (a table) or a one-element list holding a spec (an array of tables).

_SOURCE = {"title": ("str", True, None), "url": ("str", False, None), "note": ("str", False, None)}
_SPEC: dict[str, Any] = {
    "scenario": ({
        "name": ("str", True, None),
        "title": ("str", True, None),
        "description": ("str", True, None),
        "system": ("str", True, None),
        "start": ("date", True, None),
        "end": ("date", True, None),
        "narrative": ("str", True, None),
        "sources": ([_SOURCE], True, None),
    }, True, None),
    "agencies": ([{
        "key": ("str", True, None),
        "name": ("str", True, None),
        "level": ("str", True, None),
        "kind": ("str", True, None),
        "state": ("str", False, None),
        "dhs_component": ("str", False, None),
        "is_287g": ("bool", False, False),
        "support_287g": ("str", False, None),
        "focal": ("bool", False, False),
        "lat": ("coord", False, None),
        "lon": ("coord", False, None),
        "aliases": ("strs", False, []),
    }], True, None),
    "groups": ([{
        "key": ("str", True, None),
        "states": ("counts", True, None),
        "kinds": ("mix", True, None),
        "share_287g": ("rate", False, 0.0),
    }], False, []),
    "cameras": ([{
        "owner": ("str", True, None),
        "fixed": ("count", True, None),
        "mobile": ("count", False, 0),
        "radius_km": ("num", False, 5.0),
    }], False, []),
    "shares": ([{
        "owner": ("str", True, None),
        "scope": ("str", True, None),
        "grantee": ("str", False, None),
    }], False, []),
    "traffic": ([{
        "owner": ("str", True, None),
        "reads_per_day": ("count", True, None),
        "residents": ("count", True, None),
        "mix": ("mix", True, None),  # commuter / local / through
        "through_states": ("mix", False, None),
    }], False, []),
    "behaviour": ([{
        "searchers": ("str", True, None),
        "searches_per_year": ("num", True, None),
        "purposes": ("mix", True, None),
        "search_types": ("mix", True, None),
        "vague_rate": ("rate", False, 0.0),
        "case_number_rate": ("rate", False, 0.0),
        "plate_rate": ("rate", False, 0.8),
        "read_plate_rate": ("rate", False, 0.5),
        "missing_user_rate": ("rate", False, 0.0),
        "missing_reason_rate": ("rate", False, 0.0),
        "query_types": ("mix", False, None),
        "proxy": ({
            "for": ("strs", True, None),
            "rate": ("rate", True, None),
            "purposes": ("mix", True, None),
            "disguise_rate": ("rate", False, 0.0),
            "relay_rate": ("rate", False, 0.0),
        }, False, None),
    }], True, None),
    "misuse": ([{
        "actors": ("str", True, None),
        "kind": ("str", True, None),
        "searches_per_year": ("num", True, None),
        "targets": ("count", True, None),
        "disguise_rate": ("rate", False, 0.0),
        "officers": ("count", False, 1),
        "shared_targets": ("bool", False, False),
        "search_types": ("mix", False, None),
        "query_types": ("mix", False, None),
        "missing_user_rate": ("rate", False, 0.0),
        "story": ("str", False, None),
    }], False, []),
    "disclosures": ([{
        "agency": ("str", True, None),
        "year": ("count", True, None),
        "status": ("str", True, None),
        "investigations": ("count", False, 0),
        "confirmed": ("count", False, 0),
        "pending": ("count", False, 0),
        "outcomes": ("counts", False, None),
        "filed_on": ("date", False, None),
        "note": ("str", False, None),
    }], False, []),
    "expect": ([{
        "rule": ("str", True, None),
        "min_searches": ("count", True, None),
        "max_searches": ("count", False, None),
        "note": ("str", False, None),
    }], False, []),
}

_TYPE_WORDS = {
    "str": "a string", "int": "an integer", "count": "a non-negative integer", "num": "a number",
    "rate": "a number from 0 to 1", "coord": "a number (degrees)", "bool": "true or false", "date": "a date (YYYY-MM-DD)",
    "strs": "a list of strings", "mix": "a table of shares", "counts": "a table of counts",
}


class _Checker:
    """Walks a parsed TOML document against the spec, failing on the first problem with its key path."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key_path: str, problem: str) -> InputError:
        where = f"{self.path.name}: {key_path}: " if key_path else f"{self.path.name}: "
        return InputError(where + problem)

    def table(self, value: Any, spec: dict[str, Any], key_path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key_path, "expected a table")
        unknown = sorted(set(value) - set(spec))
        if unknown:
            joined = f"{key_path}.{unknown[0]}" if key_path else unknown[0]
            raise self.fail(joined, f"unknown key (known: {', '.join(sorted(spec))})")
        out: dict[str, Any] = {}
        for key, (kind, required, default) in spec.items():
            sub = f"{key_path}.{key}" if key_path else key
            if key not in value:
                if required:
                    raise self.fail(sub, "missing required field")
                out[key] = list(default) if isinstance(default, list) else default
                continue
            out[key] = self.value(value[key], kind, sub)
        return out

    def value(self, value: Any, kind: Any, key_path: str) -> Any:
        if isinstance(kind, dict):
            return self.table(value, kind, key_path)
        if isinstance(kind, list):
            if not isinstance(value, list):
                raise self.fail(key_path, "expected an array of tables ([[...]])")
            return [self.table(item, kind[0], f"{key_path}[{i}]") for i, item in enumerate(value)]
        ok = {
            "str": isinstance(value, str),
            "int": isinstance(value, int) and not isinstance(value, bool),
            "count": isinstance(value, int) and not isinstance(value, bool),
            "num": isinstance(value, (int, float)) and not isinstance(value, bool),
            "rate": isinstance(value, (int, float)) and not isinstance(value, bool),
            "coord": isinstance(value, (int, float)) and not isinstance(value, bool),
            "bool": isinstance(value, bool),
            "date": isinstance(value, date) and type(value) is date,
            "strs": isinstance(value, list) and all(isinstance(v, str) for v in value),
            "mix": isinstance(value, dict),
            "counts": isinstance(value, dict),
        }[kind]
        if not ok:
            raise self.fail(key_path, f"expected {_TYPE_WORDS[kind]}, got {type(value).__name__} {value!r}")
        if kind in ("num", "rate", "coord") and not math.isfinite(value):
            raise self.fail(key_path, f"must be a finite number, got {value}")
        if kind in ("num", "count") and value < 0:
            raise self.fail(key_path, f"must not be negative, got {value}")
        if kind in ("num", "count", "int") and abs(value) > MAX_QUANTITY:
            raise self.fail(key_path, f"must be at most {MAX_QUANTITY:,}, got {value:g}")
        if kind == "date" and not FIRST_DATE <= value <= LAST_DATE:
            raise self.fail(key_path, f"must be between {FIRST_DATE} and {LAST_DATE}, got {value}")
        if kind == "rate" and not 0 <= value <= 1:
            raise self.fail(key_path, f"must be between 0 and 1, got {value}")
        if kind == "mix":
            for name, share in value.items():
                if isinstance(share, bool) or not isinstance(share, (int, float)):
                    raise self.fail(f"{key_path}.{name}", f"expected a number, got {share!r}")
                if share < 0:
                    raise self.fail(f"{key_path}.{name}", f"must not be negative, got {share}")
            total = sum(value.values())
            if not value or abs(total - 1.0) > 1e-6:
                raise self.fail(key_path, f"shares sum to {total:g}, they must sum to 1")
            return {k: float(v) for k, v in value.items()}
        if kind == "counts":
            for name, count in value.items():
                if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                    raise self.fail(f"{key_path}.{name}", f"expected a non-negative integer, got {count!r}")
                if count > MAX_AGENCIES:
                    raise self.fail(f"{key_path}.{name}", f"must be at most {MAX_AGENCIES:,}, got {count:,}")
        return float(value) if kind in ("num", "rate", "coord") else value


def _check_world(c: _Checker, doc: dict[str, Any]) -> None:
    """Checks across fields: vocabularies, references between agencies, groups and behaviour."""
    states, purposes = set(known_states()), set(known_purposes())
    meta = doc["scenario"]
    if meta["system"] not in SYSTEMS:
        raise c.fail("scenario.system", f"unknown system {meta['system']!r} (known: {', '.join(SYSTEMS)})")
    if meta["end"] < meta["start"]:
        raise c.fail("scenario.end", f"{meta['end']} is before scenario.start {meta['start']}")
    if (meta["end"] - meta["start"]).days >= MAX_DAYS:
        raise c.fail("scenario.end", f"the period is longer than {MAX_DAYS // 365} years")
    generated = sum(sum(g["states"].values()) for g in doc["groups"])
    if generated > MAX_AGENCIES:
        raise c.fail("groups", f"would generate {generated:,} agencies; at most {MAX_AGENCIES:,}")
    for i, cam in enumerate(doc["cameras"]):
        if cam["fixed"] + cam["mobile"] > MAX_CAMERAS:
            raise c.fail(f"cameras[{i}]", f"{cam['fixed'] + cam['mobile']:,} cameras for one owner; at most {MAX_CAMERAS:,}")
    keys: dict[str, str] = {}
    for i, a in enumerate(doc["agencies"]):
        p = f"agencies[{i}]"
        if a["key"] in keys:
            raise c.fail(f"{p}.key", f"duplicate key {a['key']!r}")
        keys[a["key"]] = "agency"
        if a["level"] not in LEVELS:
            raise c.fail(f"{p}.level", f"unknown level {a['level']!r} (known: {', '.join(LEVELS)})")
        if a["kind"] not in KINDS:
            raise c.fail(f"{p}.kind", f"unknown kind {a['kind']!r} (known: {', '.join(KINDS)})")
        if a["state"] is not None and a["state"] not in states:
            raise c.fail(f"{p}.state", f"unknown state {a['state']!r}")
        if a["level"] != "federal" and a["state"] is None:
            raise c.fail(f"{p}.state", "missing required field (only federal agencies may omit it)")
        if a["dhs_component"] is not None and a["dhs_component"] not in DHS_COMPONENTS:
            raise c.fail(f"{p}.dhs_component", f"unknown component {a['dhs_component']!r}")
        for coord, bound in (("lat", 90), ("lon", 180)):
            if a[coord] is not None and abs(a[coord]) > bound:
                raise c.fail(f"{p}.{coord}", f"out of range: {a[coord]}")
    for i, g in enumerate(doc["groups"]):
        p = f"groups[{i}]"
        if g["key"] in keys:
            raise c.fail(f"{p}.key", f"duplicate key {g['key']!r}")
        keys[g["key"]] = "group"
        for st in g["states"]:
            if st not in states:
                raise c.fail(f"{p}.states.{st}", f"unknown state {st!r}")
        for kind in g["kinds"]:
            if kind not in GENERATED_KINDS:
                raise c.fail(f"{p}.kinds.{kind}", f"generated agencies are {', '.join(GENERATED_KINDS)}")

    def ref(key: str, where: str) -> None:
        if key not in keys:
            raise c.fail(where, f"unknown agency or group {key!r}")

    camera_owners = set()
    for i, cam in enumerate(doc["cameras"]):
        ref(cam["owner"], f"cameras[{i}].owner")
        if keys[cam["owner"]] != "agency":
            raise c.fail(f"cameras[{i}].owner", f"{cam['owner']!r} is a group; cameras belong to a named agency")
        agency = next(a for a in doc["agencies"] if a["key"] == cam["owner"])
        if agency["lat"] is None or agency["lon"] is None:
            raise c.fail(f"cameras[{i}].owner", f"{cam['owner']!r} owns cameras but has no lat/lon")
        camera_owners.add(cam["owner"])
    for i, s in enumerate(doc["shares"]):
        p = f"shares[{i}]"
        ref(s["owner"], f"{p}.owner")
        if s["scope"] not in SHARE_SCOPES:
            raise c.fail(f"{p}.scope", f"unknown scope {s['scope']!r} (known: {', '.join(SHARE_SCOPES)})")
        if (s["scope"] == "direct") != (s["grantee"] is not None):
            raise c.fail(f"{p}.grantee", "a direct share needs a grantee; statewide and national shares have none")
        if s["grantee"] is not None:
            ref(s["grantee"], f"{p}.grantee")
    for i, t in enumerate(doc["traffic"]):
        p = f"traffic[{i}]"
        ref(t["owner"], f"{p}.owner")
        if t["owner"] not in camera_owners:
            raise c.fail(f"{p}.owner", f"{t['owner']!r} has no [[cameras]] to read plates")
        unknown = set(t["mix"]) - {"commuter", "local", "through"}
        if unknown:
            raise c.fail(f"{p}.mix.{sorted(unknown)[0]}", "unknown traffic kind (known: commuter, local, through)")
        for st in t["through_states"] or {}:
            if st not in states:
                raise c.fail(f"{p}.through_states.{st}", f"unknown state {st!r}")
    for i, b in enumerate(doc["behaviour"]):
        p = f"behaviour[{i}]"
        ref(b["searchers"], f"{p}.searchers")
        for purpose in b["purposes"]:
            if purpose not in purposes:
                raise c.fail(f"{p}.purposes.{purpose}", f"unknown purpose (known: {', '.join(sorted(purposes))})")
        for st in b["search_types"]:
            if st not in SEARCH_TYPES:
                raise c.fail(f"{p}.search_types.{st}", f"unknown search type (known: {', '.join(SEARCH_TYPES)})")
        for qt in b["query_types"] or {}:
            if qt not in QUERY_TYPES:
                raise c.fail(f"{p}.query_types.{qt}", f"unknown query type (known: {', '.join(QUERY_TYPES)})")
        if meta["system"] == "clets" and not b["query_types"]:
            raise c.fail(f"{p}.query_types", "missing required field (a clets scenario needs query types)")
        proxy = b["proxy"]
        if proxy is not None:
            if not proxy["for"]:
                raise c.fail(f"{p}.proxy.for", "names no beneficiary")
            for j, key in enumerate(proxy["for"]):
                ref(key, f"{p}.proxy.for[{j}]")
                if keys[key] != "agency":
                    raise c.fail(f"{p}.proxy.for[{j}]", f"{key!r} is a group; a beneficiary is one named agency")
            for purpose in proxy["purposes"]:
                if purpose not in purposes:
                    raise c.fail(f"{p}.proxy.purposes.{purpose}", "unknown purpose")
    for i, m in enumerate(doc["misuse"]):
        ref(m["actors"], f"misuse[{i}].actors")
        if m["kind"] not in purposes:
            raise c.fail(f"misuse[{i}].kind", f"unknown misuse kind {m['kind']!r} (needs a phrasing pool)")
        for key in ("officers", "targets"):
            if m[key] > MAX_AGENCIES:
                raise c.fail(f"misuse[{i}].{key}", f"must be at most {MAX_AGENCIES:,}, got {m[key]:,}")
        if m["officers"] < 1:
            raise c.fail(f"misuse[{i}].officers", "needs at least one officer")
        for st in m["search_types"] or {}:
            if st not in SEARCH_TYPES:
                raise c.fail(f"misuse[{i}].search_types.{st}", f"unknown search type (known: {', '.join(SEARCH_TYPES)})")
        for qt in m["query_types"] or {}:
            if qt not in QUERY_TYPES:
                raise c.fail(f"misuse[{i}].query_types.{qt}", f"unknown query type (known: {', '.join(QUERY_TYPES)})")
    for i, d in enumerate(doc["disclosures"]):
        p = f"disclosures[{i}]"
        ref(d["agency"], f"{p}.agency")
        if not FIRST_DATE.year <= d["year"] <= LAST_DATE.year:
            raise c.fail(f"{p}.year", f"must be between {FIRST_DATE.year} and {LAST_DATE.year}, got {d['year']}")
        if d["status"] not in DISCLOSURE_STATUSES:
            raise c.fail(f"{p}.status", f"unknown status {d['status']!r} (known: {', '.join(DISCLOSURE_STATUSES)})")
        outcomes = d["outcomes"] or {}
        for name in outcomes:
            if name not in DISCLOSURE_OUTCOMES:
                raise c.fail(f"{p}.outcomes.{name}", f"unknown outcome (known: {', '.join(DISCLOSURE_OUTCOMES)})")
        if d["status"] == "not_filed" and (d["investigations"] or d["confirmed"] or d["pending"] or outcomes):
            raise c.fail(f"{p}.status", "an agency that did not file discloses no figures")
        if d["confirmed"] + d["pending"] > d["investigations"]:
            raise c.fail(f"{p}.investigations", f"{d['investigations']} is fewer than confirmed + pending "
                         f"({d['confirmed']} + {d['pending']})")
        if sum(outcomes.values()) > d["confirmed"]:
            raise c.fail(f"{p}.outcomes", f"outcomes sum to {sum(outcomes.values())}, more than the "
                         f"{d['confirmed']} confirmed cases")
    for i, e in enumerate(doc["expect"]):
        if e["max_searches"] is not None and e["max_searches"] < e["min_searches"]:
            raise c.fail(f"expect[{i}].max_searches", "is below min_searches")


def resolve_scenario_path(name_or_path: str) -> Path:
    """A shipped scenario's name (``el_cajon``) or a path to a .toml file, as a path that exists."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" or candidate.parent != Path("."):
        if not candidate.is_file():
            raise InputError(f"{candidate}: no such scenario file")
        return candidate
    shipped = scenario_dir() / f"{name_or_path}.toml"
    if not shipped.is_file():
        names = ", ".join(s.name for s in list_scenarios()) or "none"
        raise InputError(f"unknown scenario {name_or_path!r} (shipped: {names}; or give a path to a .toml file)")
    return shipped


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Read and validate a scenario by shipped name or path; raises InputError on any problem."""
    path = resolve_scenario_path(str(name_or_path))
    checker = _Checker(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise checker.fail("", f"not valid TOML: {e}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise checker.fail("", f"cannot read: {e}") from None
    doc = checker.table(raw, _SPEC, "")
    _check_world(checker, doc)
    meta = doc["scenario"]
    return Scenario(
        path=path,
        name=meta["name"],
        title=meta["title"],
        description=meta["description"],
        system=meta["system"],
        start=meta["start"],
        end=meta["end"],
        narrative=meta["narrative"].strip(),
        sources=tuple(meta["sources"]),
        agencies=tuple(Agency(**{**a, "aliases": tuple(a["aliases"])}) for a in doc["agencies"]),
        groups=tuple(Group(**g) for g in doc["groups"]),
        cameras=tuple(doc["cameras"]),
        shares=tuple(doc["shares"]),
        traffic=tuple(doc["traffic"]),
        behaviour=tuple(_behaviour(b) for b in doc["behaviour"]),
        misuse=tuple(_misuse(m) for m in doc["misuse"]),
        expect=tuple(doc["expect"]),
        disclosures=tuple(Disclosure(**{**d, "outcomes": d["outcomes"] or {}}) for d in doc["disclosures"]),
    )


def _misuse(m: dict[str, Any]) -> Misuse:
    return Misuse(**{**m, "search_types": m["search_types"] or {"lookup": 1.0},
                     "query_types": m["query_types"] or {}})


def _behaviour(b: dict[str, Any]) -> Behaviour:
    proxy = b.pop("proxy")
    query_types = b.pop("query_types") or {}
    return Behaviour(
        **b,
        query_types=query_types,
        proxy=None if proxy is None else Proxy(
            beneficiaries=tuple(proxy["for"]), rate=proxy["rate"], purposes=proxy["purposes"],
            disguise_rate=proxy["disguise_rate"], relay_rate=proxy["relay_rate"],
        ),
    )


@dataclass(frozen=True)
class ScenarioListing:
    """One shipped scenario as `simulate --list` shows it."""

    name: str
    description: str


def list_scenarios() -> list[ScenarioListing]:
    """Shipped scenarios with their one-line descriptions (read without full validation)."""
    out = []
    for path in sorted(scenario_dir().glob("*.toml")):
        try:
            meta = tomllib.loads(path.read_text(encoding="utf-8")).get("scenario", {})
            description = str(meta.get("description", ""))
        except (OSError, tomllib.TOMLDecodeError):
            description = "(unreadable scenario file)"
        out.append(ScenarioListing(path.stem, description))
    return out
