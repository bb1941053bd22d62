"""Flock transparency-portal search audits: `id,userId,searchDate,cameraCount|networkCount,reason`.

The portal publishes one agency's own searches, so the producer is the searcher. The file does not
name that agency; the user does (`--producer`), or a visible placeholder stands in.
"""
from __future__ import annotations

from auditor.importers.headers import positions
from auditor.importers.plan import Plan, own_search_producer
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
    who = own_search_producer(stem, owner, producer, notes, "the portal file")
    notes.append("portal times without a zone are UTC (the portal's convention)")
    return Plan("portal_audit", "organization", who, Layout(columns, len(header), labels), notes)
