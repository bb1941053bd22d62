"""The 50-state registry of state-level requesters (``auditor/data/state_requesters.toml``).

Fusion centers, state police and highway patrols, investigation bureaus, state drug agencies and
HIDTAs, each with the acronyms officers write and a source. An acronym names different agencies in
different states, so :meth:`StateRegistry.read_acronym` reads it in the searcher's state first,
then in the owners' states, and returns every candidate when those do not decide (the caller keeps
such a mention as unresolved text, never guesses).
"""
from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass
from importlib.resources import files
from typing import Any, Iterable

from auditor.errors import InputError
from auditor.vocabulary import KINDS, STATE_NAMES

_FILE_KEYS = {"description", "sources", "agencies"}
_AGENCY_KEYS = {"state", "covers", "name", "kind", "acronyms", "primary", "bare", "source"}
_SOURCE_KEYS = {"url", "also", "what"}
# What separates the parts of a spaced acronym (`NE HIDTA`, `NY/NJ HIDTA`, `SD-LECC`).
_SEPARATORS = re.compile(r"[\s/&-]+")


def acronym_key(text: str) -> str:
    """The form acronyms are compared in: letters only, upper case (`NY/NJ HIDTA` -> `NYNJHIDTA`)."""
    return _SEPARATORS.sub("", text).upper()


@dataclass(frozen=True)
class StateAgency:
    """One state-level body of the registry."""

    name: str
    state: str | None  # None: a program covering several states (see covers)
    covers: tuple[str, ...]  # the states it works in (its own state, or the states of a multi-state HIDTA)
    kind: str
    acronyms: tuple[str, ...]
    primary: bool  # the agency a generic phrase (`the fusion center`, `state police`) names in its state
    bare: bool  # its acronym alone names a requester
    source: str  # the URL it was read from


@dataclass(frozen=True)
class AcronymReading:
    """What an acronym names in a search's context: one agency, or the candidates left open."""

    agency: StateAgency | None
    context: str  # searcher state, owner state, only agency, ambiguous, no agency
    candidates: tuple[StateAgency, ...]


class StateRegistry:
    """The state-level requesters by acronym and by state; build once (see :func:`default_registry`)."""

    def __init__(self, data: dict[str, Any], source: str = "state_requesters.toml") -> None:
        unknown = set(data) - _FILE_KEYS
        if unknown:
            raise InputError(f"{source}: unknown key(s) {', '.join(sorted(unknown))}")
        sources = data.get("sources", {})
        for key, entry in sources.items():
            if not isinstance(entry, dict) or set(entry) - _SOURCE_KEYS or not str(entry.get("url", "")).startswith("http"):
                raise InputError(f"{source}: source {key!r} needs a url (and only url, also, what)")
        self.agencies: list[StateAgency] = []
        for n, row in enumerate(data.get("agencies", []), start=1):
            self.agencies.append(_agency(source, n, row, sources))
        self.by_acronym: dict[str, list[StateAgency]] = {}
        self.written: dict[str, str] = {}  # key -> the acronym as the file writes it (for mixed case, `PaCIC`)
        for agency in self.agencies:
            for acronym in agency.acronyms:
                key = acronym_key(acronym)
                holders = self.by_acronym.setdefault(key, [])
                if agency not in holders:  # `NEHIDTA` and `NE HIDTA` are one key
                    holders.append(agency)
                self.written.setdefault(key, acronym)
        self.bare = {acronym_key(a) for agency in self.agencies if agency.bare for a in agency.acronyms}
        # The first part of every acronym (`NE` of `NE HIDTA`): a word that is none of them starts none.
        self.first_parts = {acronym_key(_SEPARATORS.split(a.strip())[0]) for agency in self.agencies for a in agency.acronyms}
        self.longest = max((len(_SEPARATORS.split(a)) for agency in self.agencies for a in agency.acronyms), default=1)

    def states(self) -> set[str]:
        """The states the registry has at least one agency for."""
        return {s for a in self.agencies for s in a.covers}

    def read_acronym(self, key: str, searcher_state: str | None, owner_states: Iterable[str] = ()) -> AcronymReading:
        """The agency an acronym names for a search by a searcher of one state on owners of others.

        The searcher's state decides first (officers write their own state's acronyms); when it has
        no agency of that acronym, the owners' states decide; when one of them holds several, or
        several owners' states hold different ones, every candidate is returned and none chosen. An
        acronym no context decides names an agency only when it is distinctive (``bare``) and
        unique nationwide.
        """
        candidates = self.by_acronym.get(key, [])
        if not candidates:
            return AcronymReading(None, "no agency", ())
        if searcher_state:
            here = [a for a in candidates if searcher_state in a.covers]
            if len(here) == 1:
                return AcronymReading(here[0], "the searcher's state", tuple(here))
            if here:
                return AcronymReading(None, "ambiguous", tuple(here))
        owners = sorted(set(owner_states) - {searcher_state})
        there: list[StateAgency] = []
        for state in owners:
            there += [a for a in candidates if state in a.covers and a not in there]
        if len(there) == 1:
            return AcronymReading(there[0], "the owner's state", tuple(there))
        if there:
            return AcronymReading(None, "ambiguous", tuple(there))
        if len(candidates) == 1 and key in self.bare:
            return AcronymReading(candidates[0], "the only agency with it", tuple(candidates))
        return AcronymReading(None, "ambiguous", tuple(candidates))

    def primary(self, kind: str, state: str) -> StateAgency | None:
        """The state's primary agency of a kind (`the fusion center` in Illinois is STIC)."""
        found = [a for a in self.agencies if a.kind == kind and a.state == state and a.primary]
        return found[0] if len(found) == 1 else None


def _agency(source: str, n: int, row: dict[str, Any], sources: dict[str, Any]) -> StateAgency:
    where = f"{source}: agency {n} ({row.get('name', '?')!r})"
    unknown = set(row) - _AGENCY_KEYS
    if unknown:
        raise InputError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    if not isinstance(row.get("name"), str) or not row["name"].strip():
        raise InputError(f"{where}: needs a name")
    state = row.get("state")
    covers = tuple(row.get("covers", [state] if state else []))
    if not covers or any(s not in STATE_NAMES for s in covers) or (state is not None and state not in STATE_NAMES):
        raise InputError(f"{where}: needs a two-letter `state` or `covers` of states")
    if row.get("kind") not in KINDS:
        raise InputError(f"{where}: unknown kind {row.get('kind')!r}")
    acronyms = row.get("acronyms", [])
    if not isinstance(acronyms, list) or not all(isinstance(a, str) and len(acronym_key(a)) >= 2 for a in acronyms):
        raise InputError(f"{where}: acronyms must be a list of at least two letters each")
    if row.get("source") not in sources:
        raise InputError(f"{where}: source {row.get('source')!r} is not one of [sources]")
    return StateAgency(
        name=row["name"].strip(), state=state, covers=covers, kind=row["kind"], acronyms=tuple(acronyms),
        primary=bool(row.get("primary", False)), bare=bool(row.get("bare", False)),
        source=sources[row["source"]]["url"],
    )


@functools.lru_cache(maxsize=1)
def default_registry() -> StateRegistry:
    """The shipped registry, read once per process; a broken file raises InputError."""
    text = files("auditor").joinpath("data/state_requesters.toml").read_text(encoding="utf-8")
    try:
        return StateRegistry(tomllib.loads(text))
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"state_requesters.toml: not valid TOML: {e}") from None
