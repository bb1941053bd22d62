"""Sheets holding only `Reason, DateTime` (Irvine CA's records-act response, sheet `Audit`).

DateTime is an Excel date (a serial day number); the zone is not stated, so the time is stored as
written and the release notes say so rather than guessing an offset.
"""
from __future__ import annotations

from auditor.importers.headers import positions
from auditor.importers.plan import Plan, placeholder_producer
from auditor.importers.searches import Layout

ALIASES = {"reason": "reason", "datetime": "time", "date time": "time"}

# A bare serial day number in a text cell (an xlsx cell without a date format, or a CSV copy).
EXCEL_OR_ISO_TIME = (
    "(CASE WHEN {t} GLOB '[0-9]*' AND NOT {t} GLOB '*[^0-9.]*' AND {t} NOT GLOB '*.*.*' "
    "THEN strftime('%Y-%m-%dT%H:%M:%SZ', CAST(round((CAST({t} AS REAL) - 25569.0) * 86400) AS INTEGER), "
    "'unixepoch') "
    "WHEN {t} GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][ T][0-9][0-9]:[0-9][0-9]:[0-9][0-9]*' "
    "THEN strftime('%Y-%m-%dT%H:%M:%SZ', {t}) END)"
)


def plan(header: list[str], stem: str, *, owner: str | None, producer: str | None) -> Plan:
    """Every row is one search by the producing agency, at DateTime, for Reason."""
    columns, notes = positions(header, ALIASES)
    labels = {field: header[i].strip() for field, i in columns.items()}
    who = producer or owner
    if who is None:
        who = placeholder_producer(stem)
        notes.append(f"the sheet does not name its agency: searcher recorded as {who!r} (give --producer NAME)")
    notes.append("DateTime zone is not stated in the release: times stored as given, not converted to UTC")
    return Plan("reason_sheet", "organization", who, Layout(columns, len(header), labels, EXCEL_OR_ISO_TIME), notes)
