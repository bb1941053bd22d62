"""Cell converters for search rows: blank and redacted cells, Excel whole numbers, counts, times.

Each converter takes the cell text as csv (or the xlsx reader) gave it. The loader calls most of them
through memo dicts keyed by that raw text, because org names, reasons, search types and network
counts repeat thousands of times in a log: each distinct cell is converted once. Times are unique
per row, so :class:`TimeParser` caches their two halves (the day, the time of day) instead.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Callable

from auditor.facts import STORE_TIME_FORMAT
from auditor.importers.dates import ColumnTimes, Unreadable, read_time
from auditor.schema import REDACTION_MARKERS
from auditor.timefmt import is_calendar_day

# Sentinels a converter returns besides a value or None (blank).
REDACTED = type("Redacted", (), {"__repr__": lambda self: "REDACTED"})()
INVALID = type("Invalid", (), {"__repr__": lambda self: "INVALID"})()
MISS = type("Miss", (), {"__repr__": lambda self: "MISS"})()  # not in a memo yet

MARKERS = frozenset(m.upper() for m in REDACTION_MARKERS)
MARKER_LEN = max(len(m) for m in MARKERS)  # a longer cell cannot be a marker: no need to upper() it
MAX_COUNT = (1 << 63) - 1
# Memo dicts stop growing here: a column of unique values (plates) must not grow memory with the file.
MEMO_CAP = 100_000


def text_cell(raw: str) -> str | None:
    """A text cell trimmed; None when blank; :data:`REDACTED` when it holds a redaction marker."""
    value = raw.strip()
    if not value:
        return None
    if value.upper() in MARKERS:
        return REDACTED
    return value


def whole_text(raw: str) -> str | None:
    """Like :func:`text_cell`, and Excel's float tail dropped from a whole number: `25013924.0` -> `25013924`."""
    value = text_cell(raw)
    if value is not None and value is not REDACTED and value.endswith(".0"):
        head = value[:-2]
        if head.isascii() and head.isdigit():
            return head
    return value


def count_cell(raw: str) -> int | None:
    """A count: digits, with thousands commas or an Excel `.0` tail allowed; :data:`INVALID` otherwise."""
    value = whole_text(raw)
    if value is None or value is REDACTED:
        return value
    digits = value.replace(",", "")
    if digits.isascii() and digits.isdigit():
        count = int(digits)
        # SQLite stores 64-bit integers: a larger "count" is junk, rejected like any non-number.
        return count if count <= MAX_COUNT else INVALID
    return INVALID


def is_padding(cells: list[str]) -> bool:
    """A record that carries no search: every cell blank, or one cell holding only a row counter.

    Monthly exports are padded with hundreds of empty records, and hand-numbered sheets keep their
    counter column below the data (`412`, `413.0`). Such rows are counted as padding, apart from
    rejects: they were never searches.
    """
    filled = [c for c in cells if c.strip()]
    if not filled:
        return True
    if len(filled) > 1:
        return False
    v = filled[0].strip()
    if v.endswith(".0"):
        v = v[:-2]
    return len(v) <= 7 and v.isascii() and v.isdigit()


def memoized(memo: dict, raw: str, convert: Callable[[str], object]) -> object:
    """Convert a cell the memo has not seen, remembering the result while the memo is under its cap."""
    value = convert(raw)
    if len(memo) < MEMO_CAP:
        memo[raw] = value
    return value


def sql_quote(text: str) -> str:
    """Quote a cell for a reject reason as SQLite's quote() does: `'it''s'`."""
    return "'" + text.replace("'", "''") + "'"


# --- times ------------------------------------------------------------------------------------------

# `01/05/2026, 05:28:52 PM UTC`: the day is the first 12 characters, the time of day the rest.
_FLOCK = re.compile(r"(\d\d)/(\d\d)/(\d\d\d\d), (\d\d):([0-5]\d):([0-5]\d) ([AaPp][Mm])( +[Uu][Tt][Cc])?",
                    re.ASCII | re.DOTALL)
_DAY_CAP = 100_000
_CLOCK_CAP = 200_000  # 86,400 seconds a day times a couple of tails (` UTC`, ` UTC\r`)


def _flock_parts(text: str) -> tuple[str, str] | None:
    """(`2026-01-05T`, `17:28:52Z`) from a trimmed Flock time, or None when it is not one.

    Not one also when the zone is not UTC (`PST` is not guessed at) or the date does not exist
    (`02/31/2025`): :func:`auditor.timefmt.flock_time_problem` says which, for the reject reason.
    """
    m = _FLOCK.fullmatch(text)
    if not m or m.group(8) is None:
        return None
    month, day, year, hour, minute, second, meridiem, _ = m.groups()
    if not ("01" <= hour <= "12" and is_calendar_day(int(year), int(month), int(day))):
        return None
    h = int(hour) % 12 + (12 if meridiem in ("PM", "pM", "Pm", "pm") else 0)
    return f"{year}-{month}-{day}T", f"{h:02d}:{minute}:{second}Z"


class TimeParser:
    """Store time (`2026-01-05T17:28:52Z`) from a raw cell, or None when the cell is not a time.

    The default reads every form :mod:`auditor.importers.dates` reads, under the column's format
    (``fmt``: day/month order, Excel serials). A padded Flock time (`01/05/2026, 05:28:52 PM UTC`)
    in a month-first column is looked up as two halves, ``days[cell[:12]] + clocks[cell[12:]]``: a
    log spans few days and at most 86,400 seconds a day, so both dicts stay small while nearly every
    lookup hits. The loader inlines that lookup and calls :meth:`parse` only on a miss. ``other``
    replaces the default reader (a column map's strftime pattern).
    """

    def __init__(self, other: Callable[[str], str | None] | None = None, *, flock: bool = True,
                 fmt: ColumnTimes | None = None):
        self.days: dict[str, str] = {}
        self.clocks: dict[str, str] = {}
        self.fmt = fmt or ColumnTimes()
        self.flock = flock and self.fmt.order == "mdy"  # the halves are month first
        self.other = other or self._read

    def _read(self, text: str) -> str | None:
        try:
            return read_time(text, self.fmt)
        except Unreadable:
            return None

    def __call__(self, raw: str) -> str | None:
        day = self.days.get(raw[:12])
        clock = self.clocks.get(raw[12:])
        if day is not None and clock is not None:
            return day + clock
        return self.parse(raw)

    def parse(self, raw: str) -> str | None:
        """The slow path: validate the whole cell, and learn its halves when it is a Flock time."""
        text = raw.strip()
        if not text:
            return None
        if self.flock:
            parts = _flock_parts(text)
            if parts is not None:
                # Only a cell without leading space splits at 12; the halves are then valid on their own:
                # a day half is learned only once its date is checked, a clock half only with ` UTC`.
                if raw[0] == text[0] and len(self.days) < _DAY_CAP and len(self.clocks) < _CLOCK_CAP:
                    self.days[raw[:12]] = parts[0]
                    self.clocks[raw[12:]] = parts[1]
                return parts[0] + parts[1]
        return self.other(text)


def strptime_time(time_format: str) -> Callable[[str], str | None]:
    """A parser for a user's strftime pattern; naive times are taken as UTC."""

    def parse(text: str) -> str | None:
        text = text.strip()
        if len(text) > 200:  # no pattern a log uses is this long
            return None
        try:
            moment = datetime.strptime(text, time_format)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=timezone.utc)
            # Year 1 with an offset east of UTC falls before datetime's first day: out of range.
            return moment.astimezone(timezone.utc).strftime(STORE_TIME_FORMAT)
        except (ValueError, OverflowError):
            return None

    return parse
