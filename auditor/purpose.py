"""Purpose tagging: what a search's free-text reason says it was for, and on whose behalf.

The knowledge lives in TOML files under ``auditor/data/purposes/`` (one per tag family); this module
is the small engine that loads, checks and applies them. A pattern file holds:

``[tags.<name>]``
    the tags it defines, each with a ``description`` and a ``kind``: ``purpose`` (the default: the
    tag says what the search was for), ``beneficiary`` (who it was for, e.g. ``dhs_beneficiary``),
    ``descriptor`` (a fact about the text such as ``pii_in_reason``) or ``fallback`` (``vague``,
    ``case_number_only``, ``missing``: kept only when no purpose or beneficiary tag was found).
``[[patterns]]``
    ``id``, ``tag``, ``regex``, ``confidence`` (0-1), ``why`` (the real reason text that taught it),
    and optionally ``value`` (e.g. the DHS component), ``unless`` (context regexes that cancel the
    pattern when any of them matches anywhere in the reason), ``case_sensitive`` (default false)
    and ``whole`` (default false: the regex must match the whole reason, not part of it). A regex
    may name a group ``ev``; the evidence is then that group rather than the whole match.
``[[examples]]``
    ``text``, ``tags`` that must be found and ``not_tags`` that must not; the test suite runs every
    example of every shipped file.

Matching runs on a normalized copy of the reason (:func:`for_matching`): ``+`` and ``_`` (URL-form
debris such as ``person+crime``) read as spaces; Unicode compatibility forms are folded (fullwidth
``ＩＣＥ``, ligatures) and accents dropped; zero-width characters, soft hyphens and control
characters are removed (``I\u200bCE``, ``H\u00adSI``); Cyrillic and Greek look-alike letters
are folded to Latin in words made only of look-alikes or mixed with Latin letters
(``auditor/data/confusables.toml``); dotted acronyms are joined (``I.C.E.`` reads ``ICE``). Every
character of the copy remembers where it came from, so evidence is always cut verbatim from the
original reason. Regexes are kept RE2-compatible (no lookarounds, no backreferences) so a
SQL engine can run the same patterns as a baseline (see :meth:`Classifier.patterns_for`); the
loader enforces that for the immigration and DHS patterns, which the benchmarks' baseline uses.

A blank or missing reason gets the single tag ``missing``. A reason no pattern recognizes gets no
tags at all (an empty list): unrecognized is not the same finding as vague.
"""
from __future__ import annotations

import functools
import re
import tomllib
import unicodedata
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any, Sequence

from auditor.errors import InputError
from auditor.files import MAP_CAP, read_small

MISSING = "missing"

_FILE_KEYS = {"description", "tags", "patterns", "examples"}
_TAG_KEYS = {"description", "kind"}
KINDS = ("purpose", "beneficiary", "descriptor", "fallback")
# Tags whose patterns feed the RE2/DuckDB baseline, so their regexes must stay RE2-compatible.
_RE2_TAGS = {"immigration", "dhs_beneficiary"}
_PATTERN_KEYS = {"id", "tag", "regex", "value", "confidence", "unless", "why", "case_sensitive", "whole"}
_PATTERN_REQUIRED = ("id", "tag", "regex", "confidence", "why")
_EXAMPLE_KEYS = {"text", "tags", "not_tags", "note"}
# Python-only regex syntax that RE2 (DuckDB, Go, BigQuery) rejects; see patterns_for.
_NOT_RE2 = re.compile(r"\(\?<?[=!]|\\[1-9]|\(\?P=")
# URL-form debris from portal exports (`Person+Crime`, `satg+burg`): read as spaces, same length.
_DEBRIS = str.maketrans({"+": " ", "_": " "})


# Reasons of printable ASCII without a dotted acronym need no more than the debris fold.
_NEEDS_NORMALIZING = re.compile(r"[^\x20-\x7e]|[A-Za-z]\.[A-Za-z]")
# Two or more single letters each followed by a dot, and optionally a last letter: `I.C.E.`, `H.S.I`.
_DOTTED_ACRONYM = re.compile(r"(?<![\w.])(?:[A-Za-z]\.){2,}(?:[A-Za-z](?!\w))?|(?<![\w.])[A-Za-z]\.[A-Za-z](?!\w)")
_LETTER_RUN = re.compile(r"[^\W\d_]+")


@functools.lru_cache(maxsize=1)
def confusables() -> dict[str, str]:
    """The reviewed look-alike letters (Cyrillic, Greek) and the Latin letter each is read as."""
    data = _read_toml(Path(str(files("auditor") / "data" / "confusables.toml")))
    table: dict[str, str] = {}
    for script, entries in data.items():
        if not isinstance(entries, dict) or not isinstance(entries.get("why"), str):
            raise InputError(f"confusables.toml: [{script}] needs a `why`")
        for letter, latin in entries.items():
            if letter == "why":
                continue
            if len(letter) != 1 or not isinstance(latin, str) or not latin.isascii() or len(latin) != 1:
                raise InputError(f"confusables.toml: [{script}] {letter!r} must map one letter to one Latin letter")
            table[letter] = latin
    return table


def for_matching(reason: str) -> tuple[str, list[int] | None, list[int] | None]:
    """The copy of a reason that patterns run on, with where each of its characters came from.

    Returns ``(text, starts, ends)``: character ``i`` of ``text`` came from ``reason[starts[i]:ends[i]]``
    (``starts`` and ``ends`` are None when the copy has the same length and positions). See the
    module docstring for what is folded.
    """
    if _NEEDS_NORMALIZING.search(reason) is None:
        return reason.translate(_DEBRIS), None, None
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for i, ch in enumerate(reason):
        if ch in "\t\n\r":
            chars.append(" "), starts.append(i), ends.append(i + 1)
            continue
        for part in unicodedata.normalize("NFKD", ch):
            category = unicodedata.category(part)
            if category in ("Cc", "Cf", "Mn", "Me") or part == "\u00ad":
                continue  # controls, zero-width and bidi format characters, soft hyphens, accents
            chars.append(part.translate(_DEBRIS)), starts.append(i), ends.append(i + 1)
    text = "".join(chars)
    table = confusables()
    if any(ch in table for ch in text):
        folded = list(text)
        for run in _LETTER_RUN.finditer(text):
            word = run.group()
            if any(ch in table for ch in word) and all(ch in table or ch.isascii() for ch in word):
                for j in range(run.start(), run.end()):
                    folded[j] = table.get(folded[j], folded[j])
        text = "".join(folded)
    dots = {m.start() + k for m in _DOTTED_ACRONYM.finditer(text) for k, ch in enumerate(m.group()) if ch == "."}
    if dots:
        keep = [j for j in range(len(text)) if j not in dots]
        text = "".join(text[j] for j in keep)
        starts = [starts[j] for j in keep]
        ends = [ends[j] for j in keep]
    return text, starts, ends


@dataclass(frozen=True)
class Tag:
    """One purpose tag found in a reason, with the verbatim text that earned it."""

    tag: str  # e.g. "immigration", "dhs_beneficiary", "vague", "crime:stolen_vehicle"
    evidence: str  # the text that matched, verbatim from the reason
    confidence: float
    value: str | None = None  # e.g. the DHS component "HSI" for dhs_beneficiary


@dataclass(frozen=True)
class TagInfo:
    """A tag as a pattern file declares it."""

    name: str
    description: str
    kind: str  # one of KINDS
    source: str  # the file that declared it


@dataclass(frozen=True)
class Pattern:
    """One compiled pattern and the context that cancels it."""

    id: str
    tag: str
    regex: str
    confidence: float
    why: str
    value: str | None
    unless: tuple[str, ...]
    case_sensitive: bool
    whole: bool
    source: str
    compiled: re.Pattern[str]
    compiled_unless: tuple[re.Pattern[str], ...]

    def portable(self) -> str:
        """The regex with its flags and anchoring written inline, usable on its own by RE2."""
        body = f"^(?:{self.regex})$" if self.whole else self.regex
        return body if self.case_sensitive else f"(?i){body}"

    def find(self, text: str) -> re.Match[str] | None:
        """The match in (debris-normalized) text, or None when absent or cancelled by context."""
        match = self.compiled.fullmatch(text.strip()) if self.whole else self.compiled.search(text)
        if match is None:
            return None
        for context in self.compiled_unless:
            if context.search(text):
                return None
        return match


@dataclass(frozen=True)
class Example:
    """A reason a pattern file promises to tag (tags) and not to tag (not_tags)."""

    text: str
    tags: tuple[str, ...]
    not_tags: tuple[str, ...]
    source: str


class Classifier:
    """Tags reason strings with purposes, beneficiaries and text defects, from pattern files."""

    def __init__(self, tags: dict[str, TagInfo], patterns: list[Pattern], examples: list[Example]):
        self.tags = tags
        self.patterns = patterns
        self.examples = examples
        by_tag: dict[str, list[Pattern]] = {}
        for pattern in patterns:
            by_tag.setdefault(pattern.tag, []).append(pattern)
        # One alternation per tag, tried first: most reasons match few tags, so a failed prefilter
        # skips every pattern of that tag with one regex call. Whole-reason patterns are anchored
        # (`^\s*(?:...)\s*$`), so they are tried at the start only, not at every position of a long
        # reason.
        # The prefilter runs on the lower-cased reason with lower-cased regexes and no IGNORECASE
        # flag: the same verdict for ASCII text at about 60% of the cost. It may only over-accept
        # (case-sensitive patterns such as `\bICE\b` screen in lower case too); each pattern
        # then runs with its own flags on the real text.
        self._groups: list[tuple[re.Pattern[str], list[Pattern]]] = []
        for tag, members in sorted(by_tag.items()):
            alternation = "|".join(
                rf"(?:^\s*(?:{_lowered(_without_group_names(p.regex))})\s*$)" if p.whole
                else f"(?:{_lowered(_without_group_names(p.regex))})" for p in members)
            self._groups.append((re.compile(alternation), members))

    @classmethod
    def load(cls, paths: Sequence[Path] | None = None) -> "Classifier":
        """Load pattern files (default: every shipped file in ``auditor/data/purposes``).

        Raises :class:`InputError` naming the file for unreadable TOML, an unknown key, a bad or
        non-RE2 regex, a confidence outside 0-1, a pattern or example naming an undeclared tag.
        """
        if paths is None:
            folder = files("auditor") / "data" / "purposes"
            paths = sorted(Path(str(p)) for p in folder.iterdir() if p.name.endswith(".toml"))
        if not paths:
            raise InputError("no purpose pattern files given")
        tags: dict[str, TagInfo] = {}
        raw_patterns: list[tuple[str, dict[str, Any]]] = []
        raw_examples: list[tuple[str, dict[str, Any]]] = []
        for path in paths:
            data = _read_toml(Path(path))
            name = str(path)
            unknown = set(data) - _FILE_KEYS
            if unknown:
                raise InputError(f"{name}: unknown key(s) {', '.join(sorted(unknown))}")
            declared = data.get("tags", {})
            if not isinstance(declared, dict) or not all(isinstance(v, dict) for v in declared.values()):
                raise InputError(f"{name}: `tags` must be tables ([tags.<name>])")
            for tag_name, entry in declared.items():
                info = _tag_info(name, tag_name, entry)
                if info.name in tags:
                    raise InputError(f"{name}: tag {info.name!r} already declared in {tags[info.name].source}")
                tags[info.name] = info
            raw_patterns += [(name, entry) for entry in _table_list(name, data, "patterns")]
            raw_examples += [(name, entry) for entry in _table_list(name, data, "examples")]
        patterns: list[Pattern] = []
        seen_ids: dict[str, str] = {}
        for name, entry in raw_patterns:
            pattern = _pattern(name, entry, tags)
            if pattern.id in seen_ids:
                raise InputError(f"{name}: pattern id {pattern.id!r} already used in {seen_ids[pattern.id]}")
            seen_ids[pattern.id] = name
            patterns.append(pattern)
        known = set(tags) | {MISSING}
        examples = [_example(name, entry, known) for name, entry in raw_examples]
        return cls(tags, patterns, examples)

    def classify(self, reason: str | None) -> list[Tag]:
        """Tag one reason. Deterministic; the result is sorted by tag, one entry per tag.

        Where several patterns give the same tag, the most confident wins, then the earliest in
        the text. Fallback tags (``vague``) are dropped when a purpose or beneficiary was found.
        """
        if reason is None or not reason.strip():
            return [Tag(MISSING, reason or "", 1.0)]
        text, starts, ends = for_matching(reason)
        if not text.strip():  # nothing but zero-width or control characters
            return [Tag(MISSING, reason, 1.0)]
        offset = len(text) - len(text.lstrip())  # whole-reason patterns match the stripped text
        best: dict[str, tuple[float, int, Tag]] = {}
        lowered = text.lower()
        for prefilter, members in self._groups:
            if prefilter.search(lowered) is None:
                continue
            for pattern in members:
                match = pattern.find(text)
                if match is None:
                    continue
                group = "ev" if "ev" in pattern.compiled.groupindex and match.group("ev") is not None else 0
                start, end = match.span(group)
                if pattern.whole:
                    start, end = start + offset, end + offset
                if starts is not None and ends is not None:
                    start, end = (starts[start], ends[end - 1]) if end > start else (starts[start], starts[start])
                found = Tag(pattern.tag, reason[start:end], pattern.confidence, pattern.value)
                key = (-pattern.confidence, start)
                current = best.get(pattern.tag)
                if current is None or key < (current[0], current[1]):
                    best[pattern.tag] = (key[0], key[1], found)
        meaningful = any(self.tags[t].kind in ("purpose", "beneficiary") for t in best)
        return [
            entry[2]
            for tag, entry in sorted(best.items())
            if not (meaningful and self.tags[tag].kind == "fallback")
        ]

    def patterns_for(self, tag: str) -> list[str]:
        """The regexes that can give ``tag``, each self-contained for RE2: flags inline, and
        whole-reason patterns anchored. Context exceptions are not included (see
        :meth:`unless_for`); the reason should have ``+`` and ``_`` replaced by spaces first.
        """
        if tag not in self.tags and tag != MISSING:
            raise InputError(f"unknown purpose tag {tag!r}")
        return [p.portable() for p in self.patterns if p.tag == tag]

    def unless_for(self, tag: str) -> list[str]:
        """Every context regex that cancels some pattern of ``tag`` (flags inline, RE2 syntax)."""
        found: list[str] = []
        for p in self.patterns:
            if p.tag == tag:
                for context in p.unless:
                    body = context if p.case_sensitive else f"(?i){context}"
                    if body not in found:
                        found.append(body)
        return found


@functools.lru_cache(maxsize=1)
def default_classifier() -> Classifier:
    """The classifier over the shipped pattern files, loaded once per process."""
    return Classifier.load()


# --- loading and checking pattern files ---------------------------------------------------------


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(read_small(path, "pattern file", MAP_CAP).decode("utf-8"))
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: pattern file is not UTF-8 text (byte {e.start})") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read pattern file: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"{path}: not valid TOML: {e}") from None


def _table_list(name: str, data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise InputError(f"{name}: `{key}` must be an array of tables ([[{key}]])")
    return value


def _tag_info(name: str, tag_name: str, entry: dict[str, Any]) -> TagInfo:
    unknown = set(entry) - _TAG_KEYS
    if unknown:
        raise InputError(f"{name}: tag {tag_name!r}: unknown key(s) {', '.join(sorted(unknown))}")
    kind = entry.get("kind", "purpose")
    if kind not in KINDS:
        raise InputError(f"{name}: tag {tag_name!r}: kind must be one of {', '.join(KINDS)}")
    return TagInfo(name=tag_name, description=str(entry.get("description", "")), kind=kind, source=name)


def _compile(name: str, pattern_id: str, regex: Any, case_sensitive: bool, portable: bool) -> re.Pattern[str]:
    if not isinstance(regex, str) or not regex:
        raise InputError(f"{name}: pattern {pattern_id!r}: regex must be a non-empty string")
    if portable and _NOT_RE2.search(regex):
        raise InputError(f"{name}: pattern {pattern_id!r}: lookarounds and backreferences are not allowed "
                         f"(put context exceptions in `unless`): {regex}")
    try:
        return re.compile(regex, 0 if case_sensitive else re.IGNORECASE)
    except re.error as e:
        raise InputError(f"{name}: pattern {pattern_id!r}: bad regex {regex!r}: {e}") from None


def _pattern(name: str, entry: dict[str, Any], tags: dict[str, TagInfo]) -> Pattern:
    pattern_id = str(entry.get("id", "?"))
    unknown = set(entry) - _PATTERN_KEYS
    if unknown:
        raise InputError(f"{name}: pattern {pattern_id!r}: unknown key(s) {', '.join(sorted(unknown))}")
    missing = [k for k in _PATTERN_REQUIRED if k not in entry]
    if missing:
        raise InputError(f"{name}: pattern {pattern_id!r}: missing {', '.join(missing)}")
    if entry["tag"] not in tags:
        raise InputError(f"{name}: pattern {pattern_id!r}: unknown tag {entry['tag']!r} (declare it as [tags.<name>])")
    confidence = entry["confidence"]
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0 < confidence <= 1:
        raise InputError(f"{name}: pattern {pattern_id!r}: confidence must be a number in (0, 1]")
    case_sensitive = bool(entry.get("case_sensitive", False))
    unless = entry.get("unless", [])
    if isinstance(unless, str):
        unless = [unless]
    portable = entry["tag"] in _RE2_TAGS
    compiled = _compile(name, pattern_id, entry["regex"], case_sensitive, portable)
    if "ev" in compiled.groupindex and len(compiled.groupindex) > 1:
        raise InputError(f"{name}: pattern {pattern_id!r}: only one named group (ev) is allowed")
    compiled_unless = tuple(_compile(name, pattern_id, u, case_sensitive, portable) for u in unless)
    value = entry.get("value")
    return Pattern(
        id=pattern_id,
        tag=entry["tag"],
        regex=entry["regex"],
        confidence=float(confidence),
        why=str(entry["why"]),
        value=str(value) if value is not None else None,
        unless=tuple(unless),
        case_sensitive=case_sensitive,
        whole=bool(entry.get("whole", False)),
        source=name,
        compiled=compiled,
        compiled_unless=compiled_unless,
    )


def _example(name: str, entry: dict[str, Any], known: set[str]) -> Example:
    unknown = set(entry) - _EXAMPLE_KEYS
    if unknown:
        raise InputError(f"{name}: example {entry.get('text', '?')!r}: unknown key(s) {', '.join(sorted(unknown))}")
    if not isinstance(entry.get("text"), str):
        raise InputError(f"{name}: an example has no text")
    tags = tuple(entry.get("tags", []))
    not_tags = tuple(entry.get("not_tags", []))
    for tag in tags + not_tags:
        if tag not in known:
            raise InputError(f"{name}: example {entry['text']!r}: unknown tag {tag!r}")
    return Example(text=entry["text"], tags=tags, not_tags=not_tags, source=name)


def _lowered(regex: str) -> str:
    """Lower-case a regex's literals but not its escapes (``\\W`` must not become ``\\w``)."""
    out: list[str] = []
    escaped = False
    for ch in regex:
        out.append(ch if escaped else ch.lower())
        escaped = ch == "\\" and not escaped
    return "".join(out)


def _without_group_names(regex: str) -> str:
    """Drop ``(?P<ev>`` names so many patterns can share one alternation."""
    return regex.replace("(?P<ev>", "(?:")
