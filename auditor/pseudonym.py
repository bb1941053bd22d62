"""Pseudonymization: plates, officer names and case numbers replaced by keyed tokens in outputs.

A report shared beyond the auditors (a city council, a newsroom's readers) should not carry the
plates of people whose cars were searched, the officers' names or the case numbers, yet its counts,
joins and repeat-target findings must still read correctly. Each value becomes a token
``PLATE-3F9A1C2D7E4B`` (``OFFICER-...``, ``CASE-...``): the first 48 bits of
HMAC-SHA256(key, kind + value), so the same value gives the same token everywhere under one key,
different keys give unrelated tokens, and nobody without the key can test a guessed plate.

The key comes from a file or from the environment variable ``PROXYTRACE_PSEUDONYM_KEY``, never from
the command line (where it would sit in shell history and process lists).

Values are replaced where they are fields (``plate``, ``user``, ``case_number``) and wherever the
store's own plates, officer names and case numbers appear inside free text (a reason that is a
case number, a finding's subject, a narrative, a release's file name, the store's name), matched by
normalized form: plates, case numbers and user ids case-folded with separators removed (`abc 1234`,
`ABC-1234`, `ABC1234/XYZ9876`, `abc1234-stolen`); officer names by their words in any order and
case, and by surname alone (`Dunn`, `Lopez, Maria`, `DUNN ANDRE`). Not covered: values the store
does not hold (a plate only mentioned in a reason), a given name alone, a value split by more than
three separator characters or written with letters swapped, and surnames or ids under 3 characters.
A surname that is also a common word (`Black`) is replaced wherever it appears.
"""
from __future__ import annotations

import dataclasses
import hashlib
import hmac
import itertools
import os
import re
from pathlib import Path
from typing import Any, Iterable, Iterator

from auditor.errors import InputError
from auditor.files import KEY_CAP, read_small

KEY_ENV = "PROXYTRACE_PSEUDONYM_KEY"
MIN_KEY_BYTES = 16
PREFIXES = {"plate": "PLATE", "officer": "OFFICER", "case": "CASE"}
# Fields whose whole value is one identifier, by the names the outputs use.
FIELD_KINDS = {"plate": "plate", "license_plate": "plate", "user": "officer", "officer": "officer",
               "case_number": "case"}
TOKEN = re.compile(r"\b(?:PLATE|OFFICER|CASE)-[0-9A-F]{12}\b")
# Text is read as runs of letters and digits; what lies between two runs (a space, `-`, `/`, `, `)
# is a separator a plate, a case number or a name may be written with.
_RUN = re.compile(r"[^\W_]+")
_SEPARATOR = re.compile(r"[\s\-./,:#'_@]{1,3}")
_MAX_RUNS = 4  # `abc 12 34`, `25-00-12`, `Maria de la Cruz`: identifiers span at most four runs
# Values this short are replaced as fields but not hunted in free text, where `CA` or `12` would
# tokenize unrelated words and numbers.
_MIN_TEXT_LENGTH = 3
# Titles before an officer's name in a log's user column (`Ofc Lee`, `Det. Ana Ruiz`): not the name.
_TITLES = frozenset("ofc officer sgt sergeant det detective dep deputy cpl corporal lt lieutenant capt captain "
                    "cmdr chief sa tfo agent inv investigator trooper tpr mr mrs ms dr".split())


def load_key(key_file: str | Path | None) -> bytes:
    """The pseudonymization key: the file's bytes (a trailing line break dropped), else the
    environment variable. InputError when neither is given or the key is shorter than 16 bytes."""
    if key_file is not None:
        path = Path(key_file)
        key = read_small(path, "pseudonymization key file", KEY_CAP)  # never /dev/zero or a FIFO
        where = str(path)
    else:
        value = os.environ.get(KEY_ENV)
        if value is None:
            raise InputError(f"pseudonymizing needs a key: give --key-file FILE or set {KEY_ENV}")
        key, where = value.encode("utf-8"), KEY_ENV
    key = key.rstrip(b"\r\n")
    if len(key) < MIN_KEY_BYTES:
        raise InputError(f"{where}: the pseudonymization key must be at least {MIN_KEY_BYTES} bytes, "
                         f"got {len(key)} (e.g. `head -c 32 /dev/urandom | base64 > key`)")
    return key


def _norm(value: str) -> str:
    return " ".join(value.split()).casefold()


def compact(value: str) -> str:
    """An identifier as compared: case-folded, separators removed (`abc 1234` = `ABC-1234` = `ABC1234`)."""
    return "".join(_RUN.findall(value)).casefold()


def name_words(value: str) -> list[str] | None:
    """An officer's name as its words, surname last (`Lopez, Maria` -> maria, lopez; titles dropped),
    or None when the value is a user id rather than a name (it has a digit, `@` or `_`)."""
    if any(ch.isdigit() for ch in value) or "@" in value or "_" in value:
        return None
    head, comma, tail = value.partition(",")
    words = [w.casefold() for w in _RUN.findall(tail + " " + head if comma else value)]
    words = [w for w in words if w not in _TITLES]
    return words or None


class Pseudonymizer:
    """Replaces identifiers with keyed tokens; ``known`` maps the store's values to their kinds.

    Matching is by normalized form, in fields and in free text alike: plates, case numbers and user
    ids compared case-folded with separators removed; officer names by their words in any order
    and case, and by surname alone (`Dunn`, `Lopez, Maria`, `DUNN ANDRE`). Scanning a text is one
    pass over its runs of letters and digits, trying at most four runs at each: linear in its length.
    """

    def __init__(self, key: bytes, known: dict[str, str] | None = None) -> None:
        self._key = key
        self._compact: dict[str, tuple[str, str]] = {}  # compact form -> (kind, canonical)
        self._names: dict[str, tuple[str, str]] = {}  # name words joined by a space -> (kind, canonical)
        self._surnames: dict[str, set[str]] = {}  # surname -> canonical names carrying it
        self._text_cache: dict[str, str] = {}
        for value, kind in (known or {}).items():
            self.learn(kind, value)

    @classmethod
    def from_store(cls, db: Any, key: bytes) -> "Pseudonymizer":
        """A pseudonymizer that knows every plate, officer name and case number in the store."""
        p = cls(key)
        for column, kind in (("plate", "plate"), ("user", "officer"), ("case_number", "case")):
            for (value,) in db.execute(f"SELECT DISTINCT {column} FROM searches WHERE {column} IS NOT NULL"):
                p.learn(kind, str(value))
        # A release that disagrees about a search keeps its own value only in search_versions, and
        # the finding that cites the contradiction quotes it: learn those values too.
        if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'search_versions'").fetchone():
            for column, kind in (("plate", "plate"), ("user", "officer"), ("case_number", "case")):
                for (value,) in db.execute("SELECT DISTINCT value FROM search_versions "
                                           "WHERE field = ? AND value IS NOT NULL", [column]):
                    p.learn(kind, str(value))
        return p

    def canonical(self, kind: str, value: str) -> str:
        """The one spelling all spellings of a value share (what its token is made from)."""
        if kind == "officer":
            words = name_words(value)
            if words is not None:
                return " ".join(sorted(words))
        return compact(value) or _norm(value)

    def learn(self, kind: str, value: str) -> None:
        """Add one known value, so it is also replaced where it appears inside free text."""
        canonical = self.canonical(kind, value)
        words = name_words(value) if kind == "officer" else None
        if words is not None:
            if len(" ".join(words)) < _MIN_TEXT_LENGTH:
                return
            if len(words) <= _MAX_RUNS:
                for order in set(itertools.permutations(words)):
                    self._names.setdefault(" ".join(order), (kind, canonical))
            else:
                self._names.setdefault(" ".join(words), (kind, canonical))
            surname = words[-1]
            if len(surname) >= _MIN_TEXT_LENGTH:
                self._surnames.setdefault(surname, set()).add(canonical)
        else:
            key = compact(value)
            if len(key) < _MIN_TEXT_LENGTH:
                return
            self._compact.setdefault(key, (kind, canonical))
        self._text_cache.clear()

    def token(self, kind: str, value: str) -> str:
        """The token of one value: the same for every spelling of it (case, separators, name order)."""
        canonical = self.canonical(kind, value)
        digest = hmac.new(self._key, f"{kind}\x00{canonical}".encode("utf-8"), hashlib.sha256).hexdigest()
        return f"{PREFIXES[kind]}-{digest[:12].upper()}"

    def field(self, name: str, value: Any) -> Any:
        """A value of a named field: an identifier field becomes its token, other text is scrubbed."""
        if not isinstance(value, str):
            return value
        kind = FIELD_KINDS.get(name)
        if kind is not None:
            return self.token(kind, value) if value.strip() else value
        return self.text(value)

    def _lookup(self, runs: list[re.Match[str]], i: int, n: int) -> tuple[str, str] | None:
        folded = [m.group().casefold() for m in runs[i:i + n]]
        hit = self._compact.get("".join(folded))
        if hit is None:
            hit = self._names.get(" ".join(folded))
        if hit is None and n == 1:
            owners = self._surnames.get(folded[0])
            if owners:
                hit = ("officer", next(iter(owners)) if len(owners) == 1 else folded[0])
        return hit

    def hits(self, text: str) -> Iterator[tuple[int, int, str, str]]:
        """(start, end, kind, canonical) of each known value in ``text``, left to right, longest first."""
        runs = list(_RUN.finditer(text))
        i = 0
        while i < len(runs):
            # How many runs from i are joined by separators only (an identifier cannot span more).
            span = 1
            while span < _MAX_RUNS and i + span < len(runs) and \
                    _SEPARATOR.fullmatch(text, runs[i + span - 1].end(), runs[i + span].start()):
                span += 1
            for n in range(span, 0, -1):
                found = self._lookup(runs, i, n)
                if found is not None:
                    yield runs[i].start(), runs[i + n - 1].end(), found[0], found[1]
                    i += n
                    break
            else:
                i += 1

    def text(self, text: str | None) -> str | None:
        """Free text with every known plate, officer name and case number in it replaced."""
        if not text or not (self._compact or self._names):
            return text
        cached = self._text_cache.get(text)
        if cached is not None:
            return cached
        out: list[str] = []
        pos = 0
        for start, end, kind, canonical in self.hits(text):
            digest = hmac.new(self._key, f"{kind}\x00{canonical}".encode("utf-8"), hashlib.sha256).hexdigest()
            out += [text[pos:start], f"{PREFIXES[kind]}-{digest[:12].upper()}"]
            pos = end
        result = "".join(out) + text[pos:] if out else text
        if len(self._text_cache) < 200_000:
            self._text_cache[text] = result
        return result

    def walk(self, value: Any, name: str = "") -> Any:
        """A copy of plain data (dicts, lists, dataclasses) with every identifier replaced."""
        if isinstance(value, dict):
            return {self.text(k) if isinstance(k, str) else k: self.walk(v, k if isinstance(k, str) else "")
                    for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            walked = [self.walk(v, name) for v in value]
            return walked if isinstance(value, list) else tuple(walked)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return dataclasses.replace(value, **{f.name: self.walk(getattr(value, f.name), f.name)
                                                 for f in dataclasses.fields(value) if f.init})
        return self.field(name, value)


NOTE = ("Pseudonymized: plates, officer names and case numbers are replaced by keyed tokens "
        "(PLATE-..., OFFICER-..., CASE-...); one value has one token throughout, so counts and "
        "repeat-target findings still hold, and only the key's holder can link a token to a value.")


_STYLE = re.compile(r"<style>.*?</style>", re.DOTALL)


def leaked(text: str, values: Iterable[str] | dict[str, str]) -> list[str]:
    """The values that still appear in ``text`` in any spelling the pseudonymizer matches (a check
    for tests and probes): the value itself, its compact form across separators, and for a name its
    words in any order or its surname alone. ``values`` may map each value to its kind (else a value
    of two or more words without digits is taken for a name)."""
    kinds = values if isinstance(values, dict) else {}
    probe = Pseudonymizer(b"leak-check-key-0000")
    by_canonical: dict[tuple[str, str], list[str]] = {}
    for value in values:
        words = name_words(value)
        kind = kinds.get(value) or ("officer" if words and len(words) > 1 else "plate")
        probe.learn(kind, value)
        canonical = probe.canonical(kind, value)
        by_canonical.setdefault((kind, canonical), []).append(value)
        if kind == "officer" and words:
            by_canonical.setdefault(("officer", words[-1]), []).append(value)  # a shared surname
    found: dict[str, None] = {}
    text = _STYLE.sub("", text)  # an HTML report's own stylesheet (`white-space`) is not log text
    for _, _, kind, canonical in probe.hits(text):
        for value in by_canonical.get((kind, canonical), [canonical]):
            found.setdefault(value)
    return list(found)
