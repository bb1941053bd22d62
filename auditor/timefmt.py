"""The one time format of the store, and parsers for the shapes vendors write times in."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

STORE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
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


def parse_flock_time(text: str) -> str | None:
    """``01/05/2026, 05:28:52 PM UTC`` to store text, or None when it is not that shape.

    Sliced by position rather than strptime: the importer calls this once per row.
    """
    t = text.strip()
    if len(t) < 23 or t[2] != "/" or t[5] != "/" or t[10] != "," or t[14] != ":" or t[17] != ":":
        return None
    try:
        month, day, year = int(t[0:2]), int(t[3:5]), int(t[6:10])
        hour, minute, second = int(t[12:14]), int(t[15:17]), int(t[18:20])
    except ValueError:
        return None
    meridiem = t[21:23].upper()
    if meridiem not in ("AM", "PM") or not (1 <= hour <= 12) or not (1 <= month <= 12) or not (1 <= day <= 31):
        return None
    if minute > 59 or second > 59:
        return None
    hour = hour % 12 + (12 if meridiem == "PM" else 0)
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}Z"


def parse_iso_time(text: str) -> str | None:
    """ISO-ish times (``2025-06-18 00:02:04.789``, ``2026-03-10T05:17:06.087Z``) to store text.

    A time without a zone is taken as UTC, which is what the vendor's portal writes.
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
