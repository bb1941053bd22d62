"""Flock transparency-portal search audits: `id,userId,searchDate,cameraCount|networkCount,reason`.

The portal publishes one agency's own searches, so the producer is the searcher. The file does not
name that agency; the user does (`--producer`), or a visible placeholder stands in.
"""
from __future__ import annotations

from auditor.importers.headers import positions
from auditor.importers.plan import Plan, placeholder_producer
from auditor.importers.searches import Layout

ALIASES = {
    "id": "uuid",
    "userid": "user",
    "searchdate": "time",
    "cameracount": "devices",
    "devicecount": "devices",
    "networkcount": "networks",
    "reason": "reason",
    "orgname": "searcher",
}


def plan(header: list[str], stem: str, *, owner: str | None, producer: str | None) -> Plan:
    """The portal's agency is the searcher of every row; reasons are kept verbatim (URL-form debris too)."""
    columns, notes = positions(header, ALIASES)
    labels = {field: header[i].strip() for field, i in columns.items()}
    who = producer or owner
    if who is None:
        who = placeholder_producer(stem)
        notes.append(f"the portal file does not name its agency: searcher recorded as {who!r} (give --producer NAME)")
    notes.append("portal times without a zone are UTC (the portal's convention)")
    return Plan("portal_audit", "organization", who, Layout(columns, len(header), labels), notes)
