"""Flock transparency-portal search audits: `id,userId,searchDate,cameraCount|networkCount,reason`.

The portal publishes one agency's own searches, so the producer is the searcher. The file does not
name that agency, and its name (`search_audit.csv`) does not either: the user names it with
`--producer`, or the import stops and asks for it (a placeholder agency would be counted, mapped and
judged as if it were one).

`cameraCount` is the number of cameras a search reached, stored as devices: the vendor's portal
documentation could not be found to read, so this rests on the name and on the values (Eugene OR's
portal file: up to 87,008 for one search, the range of the Total Devices Searched of an Organization
Audit, such as Okaloosa FL's 100,034, and far above any network count: Flock's whole national pool
is about 6,700 networks in the same releases). `networkCount` is the number of networks.
"""
from __future__ import annotations

from auditor.errors import InputError
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
    if producer is None and owner is None and "searcher" not in columns:
        raise InputError("a portal search audit does not name its agency: give --producer NAME "
                         "(the agency whose transparency portal published it)")
    who = own_search_producer(stem, owner, producer, notes, "the portal file")
    notes.append("portal times without a zone are UTC (the portal's convention)")
    return Plan("portal_audit", "organization", who, Layout(columns, len(header), labels), notes)
