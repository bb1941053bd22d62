"""Sheets holding only `Reason, DateTime` (Irvine CA's records-act response, sheet `Audit`).

DateTime is an Excel date (a serial day number); the zone is not stated, so the time is stored as
written and the release notes say so rather than guessing an offset.
"""
from __future__ import annotations

from auditor.importers.headers import positions
from auditor.importers.plan import Plan, own_search_producer
from auditor.importers.searches import Layout

ALIASES = {"reason": "reason", "datetime": "time", "date time": "time"}


def plan(header: list[str], stem: str, *, owner: str | None, producer: str | None) -> Plan:
    """Every row is one search by the producing agency, at DateTime, for Reason."""
    columns, notes = positions(header, ALIASES)
    labels = {field: header[i].strip() for field, i in columns.items()}
    who = own_search_producer(stem, owner, producer, notes, "the sheet")
    notes.append("DateTime zone is not stated in the release: times stored as given, not converted to UTC")
    # DateTime is read by the default reader with Excel serials on (every reason sheet seen is xlsx).
    return Plan("reason_sheet", "organization", who, Layout(columns, len(header), labels), notes, serial_times=True)
