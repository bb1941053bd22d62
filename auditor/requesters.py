"""Who a reason names as requester or beneficiary: `assist Springfield PD`, `per LCSO`, `STIC request`.

Two steps, both per distinct value, never per row:

1. :func:`RequesterReader.mentions` reads one reason text and returns the agency names it puts next
   to a cue (`assist`, `per`, `for`, `on behalf of`, `<agency> request`), with the verbatim evidence.
   The cues, type words, abbreviations and examples are data (``auditor/data/requesters.toml``).
2. :class:`MentionResolver` resolves one mention in the searcher's state against the agencies in
   the store (spelling, the (state, place, type) key ICE's and Flock's spellings share, acronyms
   such as `LCSO`), the shipped registry (state police, fusion centers, federal agencies) and the
   state-level generics (`the fusion center`). What cannot be resolved stays text.
"""
from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from auditor.agencies import STATE_NAMES, Resolver, agency_key, fold, heuristic_info
from auditor.errors import InputError

_FILE_KEYS = {"description", "types", "cues", "aliases", "generic", "examples"}


@dataclass(frozen=True)
class Mention:
    """An agency a reason names next to a cue."""

    text: str  # the agency as written (`Greene County SO`)
    evidence: str  # the phrase with its cue (`per Greene County SO`)
    confidence: float
    start: int  # where the name starts in the reason (first mention wins)
    candidates: tuple[str, ...]  # shorter readings to try when the name has leading words (`after` cues)


@dataclass(frozen=True)
class Alias:
    alias: str
    state: str | None
    name: str


@dataclass(frozen=True)
class Resolution:
    """A mention resolved: the agency id (None: unresolved) and how."""

    agency_id: int | None
    name: str  # the agency's name, or the mention's text when unresolved
    how: str  # spelling, key, acronym, registry, alias, generic, unresolved
    confidence: float


class RequesterReader:
    """Finds agency mentions in reason texts; build once (it compiles the data file)."""

    def __init__(self, data: dict[str, Any], source: str = "requesters.toml") -> None:
        unknown = set(data) - _FILE_KEYS
        if unknown:
            raise InputError(f"{source}: unknown key(s) {', '.join(sorted(unknown))}")
        types = data.get("types", {})
        words = sorted(types.get("words", []), key=len, reverse=True)
        capitals = types.get("capitals", [])
        self.stop_words = {w.lower() for w in types.get("stop_words", [])}
        not_agencies = types.get("not_agencies", [])
        self.aliases = [Alias(a["alias"], a.get("state"), a["name"]) for a in data.get("aliases", [])]
        self.generic = [(re.compile(g["regex"], re.IGNORECASE), g["kind"]) for g in data.get("generic", [])]
        alias_words = sorted({a.alias for a in self.aliases}, key=len, reverse=True)
        type_alt = "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in words)
        cap_alt = "|".join(re.escape(w) for w in capitals)
        # A name: up to four place words and a type word; or a capitals acronym ending in PD/SO/SD
        # (`LCSO`, `SPD`); or a known abbreviation (`ISP`, `STIC`, `FBI`).
        place = r"(?:[A-Za-z][\w.'’&-]*\s+){0,4}?"
        self._name = (
            rf"(?:{place}(?:(?i:{type_alt})|(?-i:{cap_alt}))(?![\w'’])"
            rf"|(?-i:[A-Z]{{1,5}}(?:PD|SO|SD))\b"
            + (rf"|(?-i:{'|'.join(re.escape(a) for a in alias_words)})\b" if alias_words else "")
            + ")"
        )
        self._generic_alt = "|".join(g["regex"] for g in data.get("generic", []))
        self._type_only = re.compile(rf"(?:(?i:{type_alt})|(?-i:{cap_alt}))")
        self._type_suffix = re.compile(rf"\s(?:(?i:{type_alt})|(?-i:{cap_alt}))$")
        self.cues: list[tuple[str, re.Pattern[str], float]] = []
        for cue in data.get("cues", []):
            position, confidence = cue["position"], float(cue["confidence"])
            if position == "before":
                name = self._name
                if cue.get("acronyms"):
                    # Any capitals acronym after `assist` or `per` (`assist PADTF`), except known non-agencies.
                    exclude = "".join(rf"(?!{re.escape(w)}\b)" for w in not_agencies)
                    name = rf"(?:{name}|{exclude}[A-Z][A-Z&]{{2,6}}\b)"
                named = rf"(?P<name>{name}|(?i:{self._generic_alt}))" if self._generic_alt else rf"(?P<name>{name})"
                pattern = re.compile(rf"(?:{cue['regex']})(?-i:{named})", re.IGNORECASE)
            elif position == "after":
                after = cue["regex"].lstrip("^")
                pattern = re.compile(rf"(?P<name>{self._name})(?=(?i:{after}))")
            else:
                raise InputError(f"{source}: cue {cue.get('id')!r}: position must be before or after")
            self.cues.append((position, pattern, confidence))
        self.examples = data.get("examples", [])

    def mentions(self, reason: str | None) -> list[Mention]:
        """Agency names the reason puts next to a cue, in order of appearance (one per place)."""
        if not reason:
            return []
        text = reason.translate(str.maketrans({"+": " ", "_": " "}))
        found: dict[int, Mention] = {}
        for position, pattern, confidence in self.cues:
            for match in pattern.finditer(text):
                start, end = match.span("name")
                words = reason[start:end].split()
                # Leading words that cannot begin a name ("stolen vehicle Peoria PD request").
                while len(words) > 1 and words[0].lower().strip(".,:;-") in self.stop_words:
                    start += reason[start:].index(words[0]) + len(words[0])
                    start += len(reason[start:]) - len(reason[start:].lstrip())
                    words = words[1:]
                name = reason[start:end].strip(" ,.;:-")
                if not name or name.lower() in self.stop_words:
                    continue
                if self.is_bare_type(name):
                    continue  # "assist PD" names no agency
                candidates = self._shorter_readings(name)
                evidence = reason[match.start():max(end, match.end())].strip()
                if position == "after":
                    evidence = reason.strip()[:100]  # the cue follows the name: the reason is the evidence
                if start not in found or found[start].confidence < confidence:
                    found[start] = Mention(name, evidence, confidence, start, candidates if position == "after" else ())
        return [found[k] for k in sorted(found)]

    def is_bare_type(self, name: str) -> bool:
        """A type word alone (`PD`, `Sheriff`) names no agency; generics, aliases and acronyms do."""
        if any(p.fullmatch(name) for p, _ in self.generic) or any(a.alias == name for a in self.aliases):
            return False
        if re.fullmatch(r"[A-Z][A-Z&]{2,6}", name):
            return False
        return self._type_only.fullmatch(name) is not None

    def _shorter_readings(self, name: str) -> tuple[str, ...]:
        """`HT case Peoria PD` -> (`case Peoria PD`, `Peoria PD`): fewer place words, the type kept whole."""
        suffix = self._type_suffix.search(name)
        if suffix is None:
            return ()
        place = name[:suffix.start()].split()
        return tuple(" ".join(place[i:]) + " " + suffix.group(0).strip() for i in range(1, len(place)))


@functools.lru_cache(maxsize=1)
def default_reader() -> RequesterReader:
    """The reader over the shipped ``auditor/data/requesters.toml``, built once per process."""
    return load_reader(None)


def load_reader(path: Path | None) -> RequesterReader:
    """Read a requesters file (default: the shipped one); bad TOML raises InputError."""
    try:
        if path is None:
            text = files("auditor").joinpath("data/requesters.toml").read_text(encoding="utf-8")
            source = "requesters.toml"
        else:
            text, source = Path(path).read_text(encoding="utf-8"), str(path)
        return RequesterReader(tomllib.loads(text), source)
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"requesters file: not valid TOML: {e}") from None
    except (KeyError, re.error) as e:
        raise InputError(f"requesters file: bad entry: {e}") from None


# --- resolving a mention --------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoreAgency:
    id: int
    name: str
    state: str | None
    kind: str


def initials(name: str, state: str | None) -> str | None:
    """The acronym officers write for an agency: `Lake County IL SO` -> `LCSO`, `Springfield IL PD` -> `SPD`."""
    key = agency_key(name, state)
    if key is None:
        return None
    _, place, key_type = key
    if key_type not in ("PD", "SO") or re.search(r"\bstate (police|patrol)\b", fold(name)):
        return None  # the state police goes by its own abbreviation (`ISP`), an alias
    letters = "".join(w[0] for w in place.split() if w)
    if key_type == "SO" and not letters.endswith("C"):
        letters += "C"  # Flock writes `Lake County IL SO` and `Lake IL SO`; both read LCSO
    return (letters + key_type).upper()


class MentionResolver:
    """Resolves mentions against the store's agencies and the registry, per searcher state."""

    def __init__(self, agencies: list[StoreAgency], spellings: dict[str, int], reader: RequesterReader,
                 resolver: Resolver | None = None) -> None:
        self.reader = reader
        self.resolver = resolver or Resolver()
        self.by_id = {a.id: a for a in agencies}
        self.by_spelling = {fold(s): i for s, i in spellings.items()}
        for a in agencies:
            self.by_spelling.setdefault(fold(a.name), a.id)
        self.by_key: dict[tuple[str, str, str], set[int]] = {}
        self.by_initials: dict[tuple[str, str], set[int]] = {}
        for a in agencies:
            if a.state is None:
                continue
            key = agency_key(a.name, a.state)
            if key is not None:
                self.by_key.setdefault(key, set()).add(a.id)
            acronym = initials(a.name, a.state)
            if acronym:
                self.by_initials.setdefault((a.state, acronym), set()).add(a.id)
        self._memo: dict[tuple[str, str | None], Resolution] = {}

    def resolve(self, mention: Mention, state: str | None, searcher_id: int | None = None) -> Resolution:
        """The agency a mention names, read in the searcher's state (an acronym that is also the
        searcher's own, `IPD` in Irvine PD's log, is the searcher)."""
        memo_key = (mention.text + "\x00" + "\x00".join(mention.candidates), state, searcher_id)
        if memo_key not in self._memo:
            found = self._resolve(mention.text, state, searcher_id)
            for shorter in mention.candidates:
                if found.agency_id is not None or found.how == "registry-new":
                    break
                found = self._resolve(shorter, state, searcher_id)
            if found.agency_id is None and found.how == "unresolved":
                found = Resolution(None, mention.text, "unresolved", 0.3)  # as written: nothing is cut away
            self._memo[memo_key] = found
        return self._memo[memo_key]

    def _resolve(self, text: str, state: str | None, searcher_id: int | None) -> Resolution:
        folded = fold(text)
        if folded in self.by_spelling:
            agency_id = self.by_spelling[folded]
            return Resolution(agency_id, self.by_id[agency_id].name if agency_id in self.by_id else text, "spelling", 0.9)
        for alias in self.reader.aliases:
            if alias.alias == text and (alias.state is None or alias.state == state):
                return self._named(alias.name, "alias", 0.8)
        for pattern, kind in self.reader.generic:
            if pattern.fullmatch(text.strip()):
                return self._generic(kind, state)
        # The state a name carries (`Springfield IL PD`) beats the searcher's.
        info = heuristic_info(text)
        own_state = info.state if info is not None and info.state else None
        for context, confidence in ((own_state, 0.85), (state, 0.8)):
            if context is None:
                continue
            key = agency_key(text, context)
            ids = self.by_key.get(key, set()) if key else set()
            if len(ids) == 1:
                agency_id = next(iter(ids))
                return Resolution(agency_id, self.by_id[agency_id].name, "key", confidence)
        if re.fullmatch(r"[A-Z]{1,5}(?:PD|SO|SD)", text) and state is not None:
            ids = self.by_initials.get((state, re.sub("SD$", "SO", text)), set())
            if searcher_id in ids:
                return Resolution(searcher_id, self.by_id[searcher_id].name, "acronym", 0.6)
            if len(ids) == 1:
                agency_id = next(iter(ids))
                return Resolution(agency_id, self.by_id[agency_id].name, "acronym", 0.6)
        entry = self.resolver.registry_entry(text)
        if entry is not None and (entry.state is None or state is None or entry.state == state or own_state):
            return self._named(entry.name, "registry", 0.8)
        return Resolution(None, text, "unresolved", 0.3)

    def _named(self, name: str, how: str, confidence: float) -> Resolution:
        """A registry or alias name: the store's agency of that name, or one to create."""
        agency_id = self.by_spelling.get(fold(name))
        if agency_id is not None:
            return Resolution(agency_id, self.by_id[agency_id].name if agency_id in self.by_id else name, how, confidence)
        return Resolution(None, name, "registry-new", confidence)

    def _generic(self, kind: str, state: str | None) -> Resolution:
        """`the fusion center`: the searcher's state's agency of that kind, if there is exactly one."""
        if state is None:
            return Resolution(None, kind, "unresolved", 0.3)
        ids = [a.id for a in self.by_id.values() if a.kind == kind and a.state == state]
        if len(ids) == 1:
            return Resolution(ids[0], self.by_id[ids[0]].name, "generic", 0.6)
        entries = self.resolver.registry_of_kind(kind, state)
        if len(entries) >= 1:
            return self._named(entries[0], "generic", 0.6)
        return Resolution(None, f"{STATE_NAMES.get(state, state)} {kind}", "unresolved", 0.3)

