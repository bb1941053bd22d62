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
case number, a finding's subject, a narrative), matched word by word, ignoring case.
"""
from __future__ import annotations

import dataclasses
import hashlib
import hmac
import os
import re
from pathlib import Path
from typing import Any, Iterable

from auditor.errors import InputError
from auditor.files import KEY_CAP, read_small

KEY_ENV = "PROXYTRACE_PSEUDONYM_KEY"
MIN_KEY_BYTES = 16
PREFIXES = {"plate": "PLATE", "officer": "OFFICER", "case": "CASE"}
# Fields whose whole value is one identifier, by the names the outputs use.
FIELD_KINDS = {"plate": "plate", "license_plate": "plate", "user": "officer", "officer": "officer",
               "case_number": "case"}
TOKEN = re.compile(r"\b(?:PLATE|OFFICER|CASE)-[0-9A-F]{12}\b")
_WORD = re.compile(r"\w+(?:['.\-/]\w+)*")
_MAX_NAME_WORDS = 5
# Values this short are replaced as fields but not hunted in free text, where `CA` or `12` would
# tokenize unrelated words and numbers.
_MIN_TEXT_LENGTH = 3


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


class Pseudonymizer:
    """Replaces identifiers with keyed tokens; ``known`` maps the store's values to their kinds."""

    def __init__(self, key: bytes, known: dict[str, str] | None = None) -> None:
        self._key = key
        self._known: dict[str, str] = {}
        self._longest = 1
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
        return p

    def learn(self, kind: str, value: str) -> None:
        """Add one known value, so it is also replaced where it appears inside free text."""
        key = _norm(value)
        if len(key) < _MIN_TEXT_LENGTH or key in self._known:
            return
        self._known[key] = kind
        self._longest = min(_MAX_NAME_WORDS, max(self._longest, key.count(" ") + 1))
        self._text_cache.clear()

    def token(self, kind: str, value: str) -> str:
        """The token of one value: the same for the same value (ignoring case and spacing)."""
        digest = hmac.new(self._key, f"{kind}\x00{_norm(value)}".encode("utf-8"), hashlib.sha256).hexdigest()
        return f"{PREFIXES[kind]}-{digest[:12].upper()}"

    def field(self, name: str, value: Any) -> Any:
        """A value of a named field: an identifier field becomes its token, other text is scrubbed."""
        if not isinstance(value, str):
            return value
        kind = FIELD_KINDS.get(name)
        if kind is not None:
            return self.token(kind, value) if value.strip() else value
        return self.text(value)

    def text(self, text: str | None) -> str | None:
        """Free text with every known plate, officer name and case number in it replaced."""
        if not text or not self._known:
            return text
        cached = self._text_cache.get(text)
        if cached is not None:
            return cached
        words = list(_WORD.finditer(text))
        out: list[str] = []
        pos = 0
        i = 0
        while i < len(words):
            hit = None
            for n in range(min(self._longest, len(words) - i), 0, -1):
                start, end = words[i].start(), words[i + n - 1].end()
                kind = self._known.get(_norm(text[start:end]))
                if kind is not None:
                    hit = (n, start, end, kind)
                    break
            if hit is None:
                i += 1
                continue
            n, start, end, kind = hit
            out += [text[pos:start], self.token(kind, text[start:end])]
            pos = end
            i += n
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


def leaked(text: str, values: Iterable[str]) -> list[str]:
    """The values that still appear in ``text`` as whole words (a check for tests and probes)."""
    found = []
    lowered = text.casefold()
    for value in values:
        v = _norm(value)
        if len(v) >= _MIN_TEXT_LENGTH and re.search(rf"(?<!\w){re.escape(v)}(?!\w)", lowered):
            found.append(value)
    return found
