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
import itertools
import re
import tomllib
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from auditor.agencies import STATE_NAMES, Resolver, agency_key, fold, heuristic_info
from auditor.errors import InputError
from auditor.state_requesters import StateAgency, StateRegistry, acronym_key, default_registry

_FILE_KEYS = {"description", "types", "cues", "aliases", "generic", "bare", "examples"}
_DEBRIS = str.maketrans({"+": " ", "_": " "})
# Cues (and capitals words) read per reason and per cue: a reason is a line an officer typed, and
# the first name it gives is the requester (auditor/trace.py), so a text with thousands of cues
# (a pasted document, a hostile cell) is read for its first ones and never costs more than that.
_MAX_CUES = 256
# A word in capitals where a bare acronym may start (not inside a word).
_CAPITALS = re.compile(r"(?<![\w'’&/-])[A-Z][A-Za-z&]{0,11}")
# One part of an acronym (`NE`, `HIDTA`, `PaCIC`) and what may join two parts.
_ACRONYM_TOKEN = re.compile(r"[A-Za-z][A-Za-z&]{0,11}(?![\w'’])")
_SEPARATORS_ONLY = re.compile(r"[\s/&-]+")
# An agency acronym of the store's kind (`LCSO`, `SPD`): initials and PD, SO or SD.
_ACRONYM_NAME = re.compile(r"[A-Z]{1,5}(?:PD|SO|SD)")


def _separator_length(text: str, at: int) -> int:
    """How many characters join two parts of an acronym at ``at``: one space, `/` or `-` (0: none)."""
    return 1 if at < len(text) and text[at] in " /-" else 0


@dataclass(frozen=True)
class Mention:
    """An agency a reason names next to a cue."""

    text: str  # the agency as written (`Greene County SO`)
    evidence: str  # the phrase with its cue (`per Greene County SO`)
    confidence: float
    start: int  # where the name starts in the reason (first mention wins)
    candidates: tuple[str, ...]  # shorter readings to try when the name has leading words (`after` cues)
    acronym: str | None = None  # the registry key when the name is a state-level acronym (`MSP`)


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
    how: str  # spelling, key, acronym, registry, alias, generic, state acronym, unresolved
    confidence: float
    candidates: tuple[str, ...] = ()  # an ambiguous acronym's agencies (`Maine State Police (ME)`, ...)
    state_agency: StateAgency | None = None  # a registry-new agency from the state registry
    note: str = ""  # how a state-level acronym was read (`state acronym, searcher's state`)


class RequesterReader:
    """Finds agency mentions in reason texts; build once (it compiles the data file).

    Every scan is linear in the reason's length: cues are found with one pass each, and a name is
    read only next to a cue, from a bounded window (a name is at most five words of at most 40
    letters), never by a pattern that can backtrack over the whole text.
    """

    def __init__(self, data: dict[str, Any], source: str = "requesters.toml",
                 registry: StateRegistry | None = None) -> None:
        unknown = set(data) - _FILE_KEYS
        if unknown:
            raise InputError(f"{source}: unknown key(s) {', '.join(sorted(unknown))}")
        self.registry = registry if registry is not None else default_registry()
        types = data.get("types", {})
        words = sorted(types.get("words", []), key=len, reverse=True)
        capitals = types.get("capitals", [])
        self.stop_words = {w.lower() for w in types.get("stop_words", [])}
        not_agencies = types.get("not_agencies", [])
        self.not_agencies = {acronym_key(w) for w in not_agencies}
        self.aliases = [Alias(a["alias"], a.get("state"), a["name"]) for a in data.get("aliases", [])]
        self.generic = [(re.compile(g["regex"], re.IGNORECASE), g["kind"]) for g in data.get("generic", [])]
        alias_words = sorted({a.alias for a in self.aliases}, key=len, reverse=True)
        type_alt = "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in words)
        cap_alt = "|".join(re.escape(w) for w in capitals)
        # A name: up to four place words and a type word; or a capitals acronym ending in PD/SO/SD
        # (`LCSO`, `SPD`); or a known federal abbreviation (`FBI`). State-level acronyms (`MSP`,
        # `NE HIDTA`) are read from the registry by _acronym_at, not by this pattern. Words are
        # bounded so no reading can run over the whole reason.
        place = r"(?:[A-Za-z][\w.'’&-]{0,39}\s{1,8}){0,4}?"
        self._name = (
            rf"(?:{place}(?:(?i:{type_alt})|(?-i:{cap_alt}))(?![\w'’])"
            rf"|(?-i:[A-Z]{{1,5}}(?:PD|SO|SD))\b"
            + (rf"|(?-i:{'|'.join(re.escape(a) for a in alias_words)})\b" if alias_words else "")
            + ")"
        )
        self._generic_alt = "|".join(g["regex"] for g in data.get("generic", []))
        self._type_only = re.compile(rf"(?:(?i:{type_alt})|(?-i:{cap_alt}))")
        self._type_suffix = re.compile(rf"\s(?:(?i:{type_alt})|(?-i:{cap_alt}))$")
        # (position, cue pattern, name pattern or None, confidence, reads any capitals acronym)
        self.cues: list[tuple[str, re.Pattern[str], re.Pattern[str] | None, float, bool]] = []
        for cue in data.get("cues", []):
            position, confidence = cue["position"], float(cue["confidence"])
            acronyms = bool(cue.get("acronyms"))
            if position == "before":
                name = self._name
                if acronyms:
                    # Any capitals acronym after `assist` or `per` (`assist PADTF`), except known non-agencies.
                    exclude = "".join(rf"(?!{re.escape(w)}\b)" for w in not_agencies)
                    name = rf"(?:{name}|{exclude}[A-Z][A-Z&]{{2,6}}\b)"
                named = rf"(?P<name>{name}|(?i:{self._generic_alt}))" if self._generic_alt else rf"(?P<name>{name})"
                self.cues.append((position, re.compile(cue["regex"], re.IGNORECASE),
                                  re.compile(rf"(?-i:{named})"), confidence, acronyms))
            elif position == "after":
                # The cue alone, at a word start (a leading `\s*` would rescan every run of spaces);
                # the name is read backwards from it.
                after = re.sub(r"^\^?(?:\\s\*)?", "", cue["regex"])
                self.cues.append((position, re.compile(rf"(?<![\w'’])(?:{after})", re.IGNORECASE),
                                  None, confidence, acronyms))
            else:
                raise InputError(f"{source}: cue {cue.get('id')!r}: position must be before or after")
        self._name_whole = re.compile(rf"(?P<name>{self._name})\s*")
        # The last word of every name the pattern reads: a name before an `after` cue is tried only
        # when the word before the cue is one of them (most words are not).
        self._last_words = {w.split()[-1].lower() for w in words} | {w.lower() for w in capitals}
        self._alias_words = set(alias_words)
        self._bare_confidence = float(data.get("bare", {}).get("confidence", 0.6)) if isinstance(data.get("bare"), dict) else 0.6
        self.examples = data.get("examples", [])

    def mentions(self, reason: str | None) -> list[Mention]:
        """Agency names the reason puts next to a cue, or a distinctive state-level acronym alone,
        in order of appearance (one per place)."""
        if not reason:
            return []
        text = reason.translate(_DEBRIS)
        found: dict[int, Mention] = {}

        def keep(start: int, end: int, evidence: str, confidence: float, after: bool = False,
                 acronym: str | None = None) -> None:
            words = reason[start:end].split()
            # Leading words that cannot begin a name ("stolen vehicle Peoria PD request").
            while len(words) > 1 and words[0].lower().strip(".,:;-") in self.stop_words:
                start += reason[start:end].index(words[0]) + len(words[0])
                start += len(reason[start:end]) - len(reason[start:end].lstrip())
                words = words[1:]
            name = reason[start:end].strip(" ,.;:-")
            if not name or name.lower() in self.stop_words:
                return
            if acronym is None and self.is_bare_type(name):
                return  # "assist PD" names no agency
            candidates = self._shorter_readings(name) if after and acronym is None else ()
            if start not in found or found[start].confidence < confidence:
                found[start] = Mention(name, evidence, confidence, start, candidates, acronym)

        for position, cue, name_pattern, confidence, _ in self.cues:
            for match in itertools.islice(cue.finditer(text), _MAX_CUES):
                if position == "before":
                    at = match.end()
                    acronym = self._acronym_at(text, at)
                    if acronym is not None:
                        key, end = acronym
                        keep(at, end, reason[match.start():end].strip(), confidence, acronym=key)
                        continue
                    named = name_pattern.match(text, at) if name_pattern is not None else None
                    if named is None:
                        continue
                    start, end = named.span("name")
                    keep(start, end, reason[match.start():max(end, named.end())].strip(), confidence)
                else:
                    self._read_before(text, reason, match.start(), confidence, keep)
        # A distinctive state-level acronym alone (`STIC`, `NEHIDTA 25-1234`) names its requester.
        first_parts = self.registry.first_parts
        tried = 0
        for word in _CAPITALS.finditer(text):
            if word.start() in found or acronym_key(word.group()) not in first_parts:
                continue
            tried += 1
            if tried > _MAX_CUES:
                break
            acronym = self._acronym_at(text, word.start())
            if acronym is not None and acronym[0] in self.registry.bare:
                keep(word.start(), acronym[1], reason.strip()[:100], self._bare_confidence, acronym=acronym[0])
        return [found[k] for k in sorted(found)]

    def _acronym_at(self, text: str, at: int) -> tuple[str, int] | None:
        """(registry key, end) when a registry acronym starts at ``at`` (`MSP`, `NE HIDTA`, `NY/NJ
        HIDTA`), longest first; written in capitals (or as the registry writes it, `PaCIC`)."""
        tokens = []
        for token in _ACRONYM_TOKEN.finditer(text, at, min(len(text), at + 40)):
            if token.start() != (tokens[-1].end() + _separator_length(text, tokens[-1].end()) if tokens else at):
                break
            tokens.append(token)
            if len(tokens) == self.registry.longest:
                break
        for n in range(len(tokens), 0, -1):
            end = tokens[n - 1].end()
            written = text[at:end]
            key = acronym_key(written)
            if key not in self.registry.by_acronym or key in self.not_agencies:
                continue
            if written.isupper() or _SEPARATORS_ONLY.sub("", written) == _SEPARATORS_ONLY.sub("", self.registry.written[key]):
                return key, end
        return None

    def _read_before(self, text: str, reason: str, cue_at: int, confidence: float, keep: Any) -> None:
        """The name just before an `after` cue (`Peoria PD request`, `MSP case`): a registry
        acronym, else the longest name of at most five words ending at the cue."""
        starts: list[int] = []
        pos = cue_at
        for _ in range(6):  # at most five name words and a type word, each of at most 48 characters
            j, gap = pos, 0
            while j > 0 and text[j - 1].isspace() and gap < 8:
                j, gap = j - 1, gap + 1
            if j == 0 or text[j - 1].isspace():
                break
            i = j
            while i > 0 and not text[i - 1].isspace() and j - i < 48:
                i -= 1
            if i > 0 and not text[i - 1].isspace():
                break  # longer than any word of a name
            starts.append(i)
            pos = i
        if not starts:
            return
        evidence = reason.strip()[:100]  # the cue follows the name: the reason is the evidence
        for start in reversed(starts[:self.registry.longest]):  # a registry acronym (`MSP`, `NE HIDTA`)
            acronym = self._acronym_at(text, start)
            if acronym is not None and text[acronym[1]:cue_at].strip() == "":
                keep(start, acronym[1], evidence, confidence, after=True, acronym=acronym[0])
                return
        last = text[starts[0]:cue_at].strip()
        if not (last.lower() in self._last_words or last in self._alias_words or _ACRONYM_NAME.fullmatch(last)):
            return  # no name ends in this word
        for start in reversed(starts):  # the longest reading first, like a leftmost match
            named = self._name_whole.fullmatch(text, start, cue_at)
            if named is not None:
                keep(*named.span("name"), evidence, confidence, after=True)
                return

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

    def resolve(self, mention: Mention, state: str | None, searcher_id: int | None = None,
                owner_states: tuple[str, ...] = ()) -> Resolution:
        """The agency a mention names, read in the searcher's state (an acronym that is also the
        searcher's own, `IPD` in Irvine PD's log, is the searcher); a state-level acronym (`MSP`)
        is read in the searcher's state, then the owners' (see :meth:`StateRegistry.read_acronym`)."""
        memo_key = (mention.text + "\x00" + "\x00".join(mention.candidates), mention.acronym, state, searcher_id,
                    owner_states if mention.acronym else ())
        if memo_key not in self._memo:
            found = self._resolve(mention.text, state, searcher_id)
            if mention.acronym is not None and found.how in ("unresolved", "registry-new", "registry"):
                read = self._state_acronym(mention, state, owner_states)
                if read.agency_id is not None or read.how == "registry-new" or found.how == "unresolved":
                    found = read
            for shorter in mention.candidates:
                if found.agency_id is not None or found.how == "registry-new":
                    break
                found = self._resolve(shorter, state, searcher_id)
            if found.agency_id is None and found.how == "unresolved":
                found = Resolution(None, mention.text, "unresolved", 0.3, found.candidates)  # as written: nothing is cut away
            self._memo[memo_key] = found
        return self._memo[memo_key]

    def _state_acronym(self, mention: Mention, state: str | None, owner_states: tuple[str, ...]) -> Resolution:
        """A registry acronym read in the search's states: one agency, or the candidates as text."""
        reading = self.reader.registry.read_acronym(mention.acronym or "", state, owner_states)
        if reading.agency is not None:
            confidence = {"the searcher's state": 0.8, "the owner's state": 0.7}.get(reading.context, 0.6)
            found = self._named(reading.agency.name, "state acronym", confidence)
            return Resolution(found.agency_id, found.name, found.how, confidence, (), reading.agency,
                              f"state acronym, {reading.context}")
        names = tuple(f"{a.name} ({a.state or '/'.join(a.covers)})" for a in reading.candidates)
        return Resolution(None, mention.text, "unresolved", 0.3, names)

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
        """`the fusion center`: the searcher's state's agency of that kind, if there is exactly one,
        else the state's primary one in the state registry."""
        if state is None:
            return Resolution(None, kind, "unresolved", 0.3)
        ids = [a.id for a in self.by_id.values() if a.kind == kind and a.state == state]
        if len(ids) == 1:
            return Resolution(ids[0], self.by_id[ids[0]].name, "generic", 0.6)
        primary = self.reader.registry.primary(kind, state)
        if primary is not None:
            found = self._named(primary.name, "generic", 0.6)
            return Resolution(found.agency_id, found.name, found.how, 0.6, (), primary)
        entries = self.resolver.registry_of_kind(kind, state)
        if len(entries) >= 1:
            return self._named(entries[0], "generic", 0.6)
        return Resolution(None, f"{STATE_NAMES.get(state, state)} {kind}", "unresolved", 0.3)

