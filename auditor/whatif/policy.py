"""Sharing and logging policies as data: who may reach an owner's data, what a search must carry.

A policy file (``auditor/data/policies/<id>.toml``, or any file a user gives) has three parts:

- ``[policy]``: id, title, description, ``basis`` (``law``, ``practice`` or ``owner``) and, for a law,
  the ``citation`` and ``sources`` read before it was written;
- ``[reach]``: which searchers may reach the owner's data: ``states``, ``levels``, ``kinds``,
  ``agencies`` (allow lists: a searcher must be on each list given), ``deny_states``,
  ``deny_levels``, ``deny_kinds``, ``deny_agencies``, ``deny_287g``, ``deny_scopes`` (deny lists),
  ``sharing_list`` (only partners the owner's imported sharing list names). The owner's own officers
  always reach its data: keeping them out is no sharing policy;
- ``[require]``: what every search must carry: ``case_number``, ``specific_purpose`` (a reason that
  is not vague, blank or only a case number), ``max_days_back`` (how far back the searched time frame
  may start, in days).

Each file carries ``[[examples]]``: the facts of one search and whether the policy must ``block``,
``allow`` or leave it ``unjudged``; the test suite runs every example.

A policy judges the facts :mod:`auditor.facts` defines (``searcher.state``, ``scope``,
``has_case_number``, ``tags``, ``time_frame.days_back``...), plus ``on_sharing_list`` (True, False,
or None when the owner's sharing list was not imported), computed by :mod:`auditor.whatif.apply`.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any, Mapping

from auditor.errors import InputError
from auditor.facts import NO_PURPOSE_TAGS, is_unresolved
from auditor.schema import SCOPES
from auditor.vocabulary import KINDS, LEVELS

BLOCK, ALLOW, UNJUDGED = "block", "allow", "unjudged"
VERDICTS = (BLOCK, ALLOW, UNJUDGED)
BASES = ("law", "practice", "owner")

_POLICY_KEYS = {"id", "title", "description", "basis", "citation", "sources"}
_REACH_LISTS = ("states", "levels", "kinds", "agencies", "deny_states", "deny_levels", "deny_kinds",
                "deny_agencies", "deny_scopes")
_REACH_KEYS = set(_REACH_LISTS) | {"deny_287g", "sharing_list"}
_REQUIRE_KEYS = {"case_number", "specific_purpose", "max_days_back"}
_EXAMPLE_KEYS = {"expect", "note", "scope", "searcher", "tags", "case_number", "reason_state", "days_back",
                 "on_sharing_list"}
_AGENCY_KEYS = {"state", "level", "kind", "dhs_component", "is_287g", "name"}


@dataclass(frozen=True)
class Policy:
    """One sharing and logging policy, validated."""

    id: str
    title: str
    description: str
    basis: str
    citation: str | None = None
    sources: tuple[str, ...] = ()
    reach: Mapping[str, Any] = field(default_factory=dict)
    require: Mapping[str, Any] = field(default_factory=dict)
    examples: tuple[Mapping[str, Any], ...] = ()
    path: str = ""

    @property
    def max_days_back(self) -> int | None:
        return self.require.get("max_days_back")

    @property
    def uses_sharing_list(self) -> bool:
        return bool(self.reach.get("sharing_list"))

    def judge(self, facts: Mapping[str, Any]) -> tuple[str, list[str]]:
        """The verdict on one search's facts (block, allow, unjudged) and every clause it fails."""
        why: list[str] = []
        unplaced = False  # a clause on the searcher's state or level that its unknown place leaves open
        reach = self.reach
        if facts.get("scope") != "own":  # an owner's own officers are not a sharing question
            state, level, kind = facts.get("searcher.state"), facts.get("searcher.level"), facts.get("searcher.kind")
            name = (facts.get("searcher.name") or "").casefold()
            # A searcher the rules cannot place (the one definition, auditor.facts) is not judged by a
            # clause on the fact it lacks, as `audit run` leaves it unjudged by state law; what is known
            # (a private company's level) is still judged.
            unresolved = is_unresolved(level, state)
            no_state = unresolved and not state
            no_level = unresolved and (level or "unknown") == "unknown"
            if "states" in reach and state not in reach["states"]:
                if no_state:
                    unplaced = True
                else:
                    why.append(f"searcher's state not {' or '.join(reach['states'])}")
            if "levels" in reach and level not in reach["levels"]:
                if no_level:
                    unplaced = True
                else:
                    why.append(f"searcher's level not {', '.join(reach['levels'])}")
            if (no_state and "deny_states" in reach) or (no_level and "deny_levels" in reach):
                unplaced = True
            if "kinds" in reach and kind not in reach["kinds"]:
                why.append(f"searcher's kind not {', '.join(reach['kinds'])}")
            if "agencies" in reach and name not in {a.casefold() for a in reach["agencies"]}:
                why.append("searcher not named by the policy")
            if state in reach.get("deny_states", ()):
                why.append(f"searcher in {' or '.join(reach['deny_states'])}")
            if level in reach.get("deny_levels", ()):
                why.append(f"searcher's level is {' or '.join(reach['deny_levels'])}")
            if kind in reach.get("deny_kinds", ()):
                why.append(f"searcher's kind is {' or '.join(reach['deny_kinds'])}")
            if name and name in {a.casefold() for a in reach.get("deny_agencies", ())}:
                why.append("searcher named by the policy")
            if reach.get("deny_287g") and facts.get("searcher.is_287g"):
                why.append("searcher holds a 287(g) agreement")
            if facts.get("scope") in reach.get("deny_scopes", ()):
                why.append(f"reached through {' or '.join(reach['deny_scopes'])} lookup")
            if reach.get("sharing_list"):
                listed = facts.get("on_sharing_list")
                if listed is None:
                    return UNJUDGED, ["the owner's sharing list was not imported"]
                if not listed:
                    why.append("searcher not on the owner's sharing list")
        require = self.require
        if require.get("case_number") and not facts.get("has_case_number"):
            why.append("no case number")
        if require.get("specific_purpose"):
            tags = facts.get("tags") or frozenset()
            if facts.get("reason_state") != "value" or not tags or set(tags) & set(NO_PURPOSE_TAGS):
                why.append("no specific purpose")
        limit = require.get("max_days_back")
        back = facts.get("time_frame.days_back")
        if limit is not None and back is not None and back > limit:
            why.append(f"reached back more than {limit} days")
        if why:  # a clause the known facts fail blocks the search, whatever the unknown ones
            return BLOCK, why
        if unplaced:
            return UNJUDGED, ["unresolved searcher"]  # its state or level unknown: `audit agencies`
        return ALLOW, why


def example_facts(example: Mapping[str, Any]) -> dict[str, Any]:
    """The facts an example describes, named as :mod:`auditor.facts` names them."""
    facts: dict[str, Any] = {f"searcher.{k}": None for k in _AGENCY_KEYS}
    facts.update({f"searcher.{k}": v for k, v in example.get("searcher", {}).items()})
    facts.update({
        "scope": example.get("scope"), "tags": frozenset(example.get("tags", ())),
        "has_case_number": bool(example.get("case_number", False)),
        "reason_state": example.get("reason_state", "value"), "time_frame.days_back": example.get("days_back"),
        "on_sharing_list": example.get("on_sharing_list"),
    })
    return facts


def _strings(value: Any, where: str, allowed: tuple[str, ...] | None = None) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise InputError(f"{where}: expected a non-empty list of strings")
    if allowed is not None:
        unknown = [v for v in value if v not in allowed]
        if unknown:
            raise InputError(f"{where}: unknown value {unknown[0]!r} (known: {', '.join(allowed)})")
    return tuple(value)


def _known_keys(table: Mapping[str, Any], known: set[str], where: str) -> None:
    """Refuse the first key a table should not have, naming the keys it may have."""
    unknown = sorted(set(table) - known)
    if unknown:
        raise InputError(f"{where}.{unknown[0]}: unknown key (known: {', '.join(sorted(known))})")


def parse_policy(data: Mapping[str, Any], source: str) -> Policy:
    """A policy from parsed TOML, checked strictly: every mistake is one line naming the key."""
    unknown = set(data) - {"policy", "reach", "require", "examples"}
    if unknown:
        raise InputError(f"{source}: unknown table {sorted(unknown)[0]!r} (known: policy, reach, require, examples)")
    head = data.get("policy")
    if not isinstance(head, dict):
        raise InputError(f"{source}: missing [policy] table")
    _known_keys(head, _POLICY_KEYS, f"{source}: policy")
    for key in ("id", "title", "description", "basis"):
        if not isinstance(head.get(key), str) or not head[key].strip():
            raise InputError(f"{source}: policy.{key}: missing or not a string")
    if head["basis"] not in BASES:
        raise InputError(f"{source}: policy.basis: {head['basis']!r} is not one of {', '.join(BASES)}")
    if head["basis"] == "law" and not head.get("citation"):
        raise InputError(f"{source}: policy.citation: a policy resting on law names the law it read")
    reach = dict(data.get("reach", {}))
    _known_keys(reach, _REACH_KEYS, f"{source}: reach")
    allowed = {"levels": LEVELS, "deny_levels": LEVELS, "kinds": KINDS, "deny_kinds": KINDS,
               "deny_scopes": tuple(s for s in SCOPES if s != "own")}
    for key in _REACH_LISTS:
        if key in reach:
            reach[key] = _strings(reach[key], f"{source}: reach.{key}", allowed.get(key))
    for key in ("deny_287g", "sharing_list"):
        if key in reach and not isinstance(reach[key], bool):
            raise InputError(f"{source}: reach.{key}: expected true or false")
    require = dict(data.get("require", {}))
    _known_keys(require, _REQUIRE_KEYS, f"{source}: require")
    for key in ("case_number", "specific_purpose"):
        if key in require and not isinstance(require[key], bool):
            raise InputError(f"{source}: require.{key}: expected true or false")
    if "max_days_back" in require:
        days = require["max_days_back"]
        if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= 36_600:
            raise InputError(f"{source}: require.max_days_back: expected whole days from 0 to 36600")
    if not reach and not require:
        raise InputError(f"{source}: a policy needs a [reach] or a [require] table")
    examples = data.get("examples", [])
    if not isinstance(examples, list) or not examples:
        raise InputError(f"{source}: examples: a policy carries at least one [[examples]] entry")
    for i, example in enumerate(examples):
        where = f"{source}: examples[{i}]"
        if not isinstance(example, dict):
            raise InputError(f"{where}: expected a table")
        _known_keys(example, _EXAMPLE_KEYS, where)
        if example.get("expect") not in VERDICTS:
            raise InputError(f"{where}.expect: one of {', '.join(VERDICTS)}")
        if not isinstance(example.get("searcher", {}), dict) or set(example.get("searcher", {})) - _AGENCY_KEYS:
            raise InputError(f"{where}.searcher: a table of {', '.join(sorted(_AGENCY_KEYS))}")
    expects = {e["expect"] for e in examples}
    if BLOCK not in expects or ALLOW not in expects:
        raise InputError(f"{source}: examples: give at least one search the policy blocks and one it allows")
    return Policy(id=head["id"], title=head["title"], description=head["description"], basis=head["basis"],
                  citation=head.get("citation"), sources=tuple(head.get("sources", ())), reach=reach,
                  require=require, examples=tuple(examples), path=source)


def shipped_policy_paths() -> list[Path]:
    """The policy files shipped with proxytrace, by id."""
    folder = Path(str(files("auditor").joinpath("data", "policies")))
    return sorted(folder.glob("*.toml"))


def load_policy_file(path: Path) -> Policy:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: cannot read the policy file ({e.__class__.__name__})") from None
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"{path}: not valid TOML ({e})") from None
    return parse_policy(data, path.name)


def shipped_policies() -> list[Policy]:
    """Every shipped policy, in file-name order."""
    return [load_policy_file(p) for p in shipped_policy_paths()]


def load_policy(name_or_file: str) -> Policy:
    """A shipped policy by id, or a policy file by path."""
    for path in shipped_policy_paths():
        if path.stem == name_or_file:
            return load_policy_file(path)
    path = Path(name_or_file)
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise InputError(f"{name_or_file}: no such policy file")
        return load_policy_file(path)
    known = ", ".join(p.stem for p in shipped_policy_paths())
    raise InputError(f"{name_or_file!r} is neither a shipped policy ({known}) nor a policy file")
