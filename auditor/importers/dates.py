"""Search times as real exports write them, read by one format decided per column per file.

Seen in vendor exports and records-act spreadsheets:

- Flock's own `01/05/2026, 05:28:52 PM UTC`, and the same without zero padding
  (`1/9/2025, 2:05:31 PM UTC`, older monthly Organization Audits);
- 12- or 24-hour clocks, with or without seconds (`1/9/2025 14:05`), a ` - ` between date and
  time (`10/07/2021 - 16:30:51`);
- ISO 8601 with or without an offset (`2025-06-18 00:02:04.789`, `2026-03-10T05:17:06Z`,
  `2025-06-18T00:02:04-07:00`);
- a zone written `UTC`/`GMT`/`Z`, as an offset, as a US zone abbreviation (`PST`, `CDT`) or as
  an IANA name (`America/Chicago`);
- Excel serial day numbers (`44544.3679`) in spreadsheets.

What is decided once per column (:class:`ColumnTimes`) rather than guessed per cell:

- the day/month order of slash dates. Flock writes month first (a US vendor; every real export
  seen does), so its formats keep that order. Other layouts (records-act sheets, column maps)
  take the order the whole column proves (a first number above 12 means day first, a second one
  above 12 month first); a column that proves neither, or both, is refused with the reason,
  unless the user names the order;
- whether bare numbers are Excel serial days (only in a spreadsheet or when a column map says
  `excel`: in a CSV a bare number is not a date).

A time without a zone is stored as written (taken as UTC: the portal's convention, and what
Flock's own exports state).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Iterable

from auditor.errors import InputError
from auditor.facts import STORE_TIME_FORMAT
from auditor.timefmt import is_calendar_day

ORDERS = ("mdy", "dmy")
_MAX_CELL = 64  # longer than any time a human or a vendor writes: not a time (and no regex work)

# US zone abbreviations have one offset each in US practice (a police export is written in the
# agency's zone). Abbreviations that name different zones elsewhere (IST, BST, CST for China) are
# not in the table: a row with one is refused rather than shifted by a guess.
US_ZONES = {
    "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
    "AKST": -9, "AKDT": -8, "HST": -10, "HDT": -9,
}
_UTC_NAMES = {"UTC", "GMT", "Z", "UT"}

# a/b/yyyy, then `, ` or ` - ` or spaces or T, then h:mm[:ss[.fff]], AM/PM, a zone.
_SLASH = re.compile(
    r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4})(?:,\s{0,3}|\s{1,3}-\s{1,3}|\s{1,3}|T)"
    r"(\d{1,2}):(\d\d)(?::(\d\d)(?:\.\d{1,9})?)?"
    r"(?:\s{0,3}([AaPp])\.?[Mm]\.?(?![A-Za-z]))?(?:\s{0,3}(\S{1,40}))?",
    re.ASCII)
_ISO = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d)(?::(\d\d)(?:[.,]\d{1,9})?)?(?:\s{0,3}(\S{1,40}))?", re.ASCII)
_SERIAL = re.compile(r"\d{1,7}(?:\.\d{1,17})?", re.ASCII)
_OFFSET = re.compile(r"(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d\d))?", re.ASCII)
_IANA = re.compile(r"[A-Za-z][A-Za-z_]{1,30}(?:/[A-Za-z][A-Za-z_+-]{0,30}){1,2}", re.ASCII)
_EXCEL_EPOCH = datetime(1899, 12, 30, tzinfo=timezone.utc)
_EXCEL_LAST = 2958465  # 9999-12-31, Excel's last day


@dataclass(frozen=True)
class ColumnTimes:
    """How one file's time columns are read: day/month order and whether bare numbers are serials."""

    order: str = "mdy"
    serial: bool = False
    why: str = ""  # how the order was decided, for the release notes


class Unreadable(Exception):
    """A cell that is a time in shape but cannot be stored; the message says why (a reject reason)."""


def _zone(token: str | None) -> timezone | None | str:
    """The tzinfo a zone token names, None for no zone, or a string saying why it is refused."""
    if token is None:
        return None
    upper = token.upper()
    if upper in _UTC_NAMES:
        return timezone.utc
    if upper in US_ZONES:
        return timezone(timedelta(hours=US_ZONES[upper]))
    m = _OFFSET.fullmatch(upper)
    if m:
        sign, hours, minutes = m.groups()
        total = int(hours) * 60 + int(minutes or 0)
        if total >= 24 * 60:
            return f"offset {token!r} out of range"
        return timezone(timedelta(minutes=total if sign == "+" else -total))
    if _IANA.fullmatch(token):
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            return ZoneInfo(token)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            return f"zone {token!r} is not a known time zone"
    return f"zone {token!r} is not one with a single known offset (give times in UTC or with an offset)"


def _store(year: int, month: int, day: int, hour: int, minute: int, second: int, zone: str | None) -> str:
    if not is_calendar_day(year, month, day):
        raise Unreadable("not a calendar date")
    if hour > 23 or minute > 59 or second > 59:
        raise Unreadable("not a time of day")
    tz = _zone(zone)
    if isinstance(tz, str):
        raise Unreadable(tz)
    moment = datetime(year, month, day, hour, minute, second, tzinfo=tz or timezone.utc)
    try:
        moment = moment.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        raise Unreadable("out of the range of dates") from None
    return f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}Z"


def read_time(text: str, fmt: ColumnTimes = ColumnTimes()) -> str | None:
    """Store time (`2026-01-05T17:28:52Z`) of a trimmed cell, None when it is not a time at all.

    Raises :class:`Unreadable` for a cell shaped like a time that cannot be stored (no such day, a
    zone with no single offset, an Excel serial out of range): the message is the reject reason.
    """
    if not text or len(text) > _MAX_CELL:
        return None
    m = _SLASH.fullmatch(text)
    if m:
        a, _sep, b, year, hour, minute, second, meridiem, zone = m.groups()
        month, day = (int(a), int(b)) if fmt.order == "mdy" else (int(b), int(a))
        h = int(hour)
        if meridiem is not None:
            if not 1 <= h <= 12:
                raise Unreadable("not a time of day")
            h = h % 12 + (12 if meridiem in "Pp" else 0)
        return _store(int(year), month, day, h, int(minute), int(second or 0), zone)
    m = _ISO.fullmatch(text)
    if m:
        year, month, day, hour, minute, second, zone = m.groups()
        return _store(int(year), int(month), int(day), int(hour), int(minute), int(second or 0), zone)
    if fmt.serial and _SERIAL.fullmatch(text):
        value = float(text)
        if not 1 <= value <= _EXCEL_LAST + 1:
            raise Unreadable("an Excel serial day out of range")
        return _iso(_EXCEL_EPOCH + timedelta(seconds=round(value * 86400)))
    return None


def _iso(moment: datetime) -> str:
    return moment.strftime(STORE_TIME_FORMAT)


def problem(text: str, fmt: ColumnTimes = ColumnTimes()) -> str | None:
    """Why a trimmed cell is not stored as a time (`not a calendar date`), or None when it is one.

    `not understood` when the cell is not shaped like any time this module reads.
    """
    try:
        return None if read_time(text, fmt) is not None else "not understood"
    except Unreadable as e:
        return str(e)


# --- the column decision --------------------------------------------------------------------------

class OrderEvidence:
    """What a column's slash dates prove about their day/month order (feed it cells, then decide)."""

    def __init__(self) -> None:
        self.slash = 0
        self.first_over_12: str | None = None  # an example cell whose first number is above 12
        self.second_over_12: str | None = None

    def add(self, cell: str) -> None:
        text = cell.strip()
        if len(text) > _MAX_CELL:
            return
        m = _SLASH.fullmatch(text)
        if m is None:
            return
        self.slash += 1
        if int(m.group(1)) > 12 and self.first_over_12 is None:
            self.first_over_12 = text
        if int(m.group(3)) > 12 and self.second_over_12 is None:
            self.second_over_12 = text

    def decide(self, label: str, *, given: str | None, serial: bool) -> ColumnTimes:
        """The column's format; an :class:`InputError` when its slash dates prove no single order."""
        if given is not None:
            return ColumnTimes(given, serial, f"{label}: {_order_name(given)} order given by the user")
        if not self.slash:
            return ColumnTimes("mdy", serial, "")
        a, b = self.first_over_12, self.second_over_12
        if a and b:
            raise InputError(
                f"{label} mixes day-first and month-first dates ({a!r}, {b!r}): the order cannot be decided "
                "for the column; give --date-order mdy or dmy")
        if a:
            return ColumnTimes("dmy", serial, f"{label}: day/month/year, proved by {a!r}")
        if b:
            return ColumnTimes("mdy", serial, f"{label}: month/day/year, proved by {b!r}")
        raise InputError(
            f"{label}: no date in the column has a day above 12, so day/month order is ambiguous "
            f"({self.slash:,} slash dates); give --date-order mdy or dmy")


def _order_name(order: str) -> str:
    return "month/day/year" if order == "mdy" else "day/month/year"


def decide_column(cells: Iterable[str], label: str, *, given: str | None = None, serial: bool = False) -> ColumnTimes:
    """Decide a column's format from all its cells (see :class:`OrderEvidence`)."""
    evidence = OrderEvidence()
    for cell in cells:
        evidence.add(cell)
    return evidence.decide(label, given=given, serial=serial)


def vendor_order(label: str, given: str | None, *, serial: bool = False) -> ColumnTimes:
    """A Flock layout's format: month first, the vendor's order, unless the user names another."""
    if given is not None and given != "mdy":
        return ColumnTimes(given, serial, f"{label}: {_order_name(given)} order given by the user")
    return ColumnTimes("mdy", serial, "")
