"""The one time format of the store, and parsers for the shapes vendors write times in."""
from __future__ import annotations

from calendar import monthrange
from datetime import datetime, timedelta, timezone
from functools import lru_cache

from auditor.facts import STORE_TIME_FORMAT as STORE_FORMAT  # defined once, with the other facts

_EXCEL_EPOCH = datetime(1899, 12, 30, tzinfo=timezone.utc)


def iso_utc(moment: datetime) -> str:
    """Format an aware or naive-UTC datetime as the store's UTC text (whole seconds)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.strftime(STORE_FORMAT)


def parse_store_time(text: str) -> datetime:
    """Parse the store's own format back to an aware UTC datetime."""
    return datetime.strptime(text, STORE_FORMAT).replace(tzinfo=timezone.utc)


def flock_time(moment: datetime) -> str:
    """Format as Flock's exports do: ``01/05/2026, 05:28:52 PM UTC``."""
    return moment.astimezone(timezone.utc).strftime("%m/%d/%Y, %I:%M:%S %p UTC")


@lru_cache(maxsize=4096)
def is_calendar_day(year: int, month: int, day: int) -> bool:
    """True when year-month-day exists (no 31 February, 29 February only in leap years).

    Cached: a log spans few distinct days, and this runs for every time cell that misses the
    importer's caches.
    """
    return 1 <= month <= 12 and 1 <= day <= monthrange(year, month)[1] if 1 <= year <= 9999 else False


def _flock_fields(t: str) -> tuple[int, int, int, int, int, int, str, str] | None:
    """(month, day, year, hour, minute, second, meridiem, zone) of a trimmed Flock-shaped time, else None."""
    if (len(t) < 23 or t[2] != "/" or t[5] != "/" or t[10:12] != ", " or t[14] != ":" or t[17] != ":"
            or t[20] != " " or t[23:24] not in ("", " ")):
        return None
    if not (t[0:2] + t[3:5] + t[6:10] + t[12:14] + t[15:17] + t[18:20]).isdigit() or not t.isascii():
        return None
    return (int(t[0:2]), int(t[3:5]), int(t[6:10]), int(t[12:14]), int(t[15:17]), int(t[18:20]),
            t[21:23].upper(), t[23:].strip())


def _clock_checked(text: str) -> tuple | None:
    """The fields of a Flock-shaped time whose clock part is valid, else None."""
    f = _flock_fields(text.strip())
    if f is None:
        return None
    _month, _day, _year, hour, minute, second, meridiem, _zone = f
    if meridiem not in ("AM", "PM") or not (1 <= hour <= 12) or minute > 59 or second > 59:
        return None
    return f


def flock_time_problem(text: str) -> str | None:
    """Why a cell shaped like a Flock time is not one (``not a calendar date``), or None.

    None also when the cell is not Flock-shaped at all, or is a valid Flock time: this only explains
    the two refusals a reader could not guess from the value alone, for reject reasons.
    """
    f = _clock_checked(text)
    if f is None:
        return None
    month, day, year, hour, minute, second, meridiem, zone = f
    if not is_calendar_day(year, month, day):
        return "not a calendar date"
    if zone.upper() != "UTC":
        # Flock writes UTC. A local abbreviation (PST, CDT) is ambiguous and usually hand-edited:
        # converting it would be a guess, so the row is refused rather than shifted.
        return f"zone {zone!r} is not UTC" if zone else "no zone (Flock times end in UTC)"
    return None


def parse_flock_time(text: str) -> str | None:
    """``01/05/2026, 05:28:52 PM UTC`` to store text, or None when it is not that shape.

    The zone must be UTC (no guessing what `PST` meant) and the date a real one (no 31 February).
    Sliced by position rather than strptime: the importer's cached parser must agree with this.
    """
    f = _clock_checked(text)
    if f is None:
        return None
    month, day, year, hour, minute, second, meridiem, zone = f
    if zone.upper() != "UTC" or not is_calendar_day(year, month, day):
        return None
    hour = hour % 12 + (12 if meridiem == "PM" else 0)
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}Z"


def parse_iso_time(text: str) -> str | None:
    """ISO-ish times (``2025-06-18 00:02:04.789``, ``2026-03-10T05:17:06.087Z``) to store text.

    A time without a zone is taken as UTC, which is what the vendor's portal writes; an explicit
    offset is converted. ``fromisoformat`` refuses an impossible date (`2025-02-31`), as the Flock
    parser does.
    """
    t = text.strip()
    if len(t) < 19 or t[4] != "-" or t[7] != "-" or t[10] not in " T" or t[13] != ":" or t[16] != ":":
        return None
    try:
        moment = datetime.fromisoformat(t.replace("Z", "+00:00"))
    except ValueError:
        return None
    return iso_utc(moment)


def parse_excel_serial(value: float) -> str:
    """An Excel serial day number (44544.3679) to store text, rounded to the second."""
    moment = _EXCEL_EPOCH + timedelta(seconds=round(float(value) * 86400))
    return iso_utc(moment)
