"""Text from a log is untrusted: make it safe for every sink that is not HTML.

A reason, an officer's name or a file name from a release can carry control characters: ESC and
OSC sequences that retitle or clear a terminal, C1 controls (``\\x9b`` is a one-byte CSI on some
terminals), carriage returns that overwrite a line, and bidirectional overrides (U+202E) that show
text in another order than it is stored. Every sink gets the same treatment: each such character
is written as a visible escape (``\\x1b``, ``\\u202e``), so nothing is lost and nothing acts.

- :func:`visible` for one value on one line (a table cell, a CSV cell, a TSV field);
- :func:`terminal` for text a command prints (line breaks and tabs kept, everything else escaped);
- :func:`json_dumps` for JSON, whose own escaping leaves C1 and bidi controls raw.

HTML escaping stays with the HTML writer; it calls :func:`visible` first.
"""
from __future__ import annotations

import json
import re
from typing import Any

# C0 controls, DEL, C1 controls; the bidi embeddings, overrides, isolates and marks; the Unicode
# line and paragraph separators (a line break to some viewers, not to others).
_CONTROLS = "\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_UNSAFE = re.compile(f"[{_CONTROLS}]")
# The same less tab (\x09) and line feed (\x0a), for multi-line terminal output.
_UNSAFE_KEEP_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# In dumped JSON, C0 controls are already \u-escaped; what is left is C1, bidi and separators.
_UNSAFE_JSON = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def has_controls(text: str) -> bool:
    """True when the text holds a character any sink would have to neutralize."""
    return _UNSAFE.search(text) is not None


def visible(value: Any) -> Any:
    """One value on one line: every control character (line breaks too) as a visible escape.

    Non-strings (numbers, None) come back unchanged.
    """
    if not isinstance(value, str):
        return value
    return _UNSAFE.sub(_escape, value)


def terminal(text: str) -> str:
    """Text for a terminal: line feeds and tabs kept, every other control character escaped
    (a carriage return too, which would let a value overwrite what was printed before it)."""
    return _UNSAFE_KEEP_LINES.sub(_escape, text)


def _escape_json(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def json_dumps(value: Any, **kwargs: Any) -> str:
    """``json.dumps`` whose output holds no raw control character: C1 controls, bidi controls and
    line separators are written as ``\\uXXXX`` escapes (valid JSON, the same value when parsed)."""
    kwargs.setdefault("ensure_ascii", False)
    return _UNSAFE_JSON.sub(_escape_json, json.dumps(value, **kwargs))
