"""Flock Organization Audit and Network Audit exports (CSV or xlsx), in every variant seen.

Classic 13 columns (`ID, Name, Org Name, Total Networks Searched, Time Frame, License Plate, Reason,
Case #, Filters, Search Time, Search Type, Text Prompt, Moderation`), with leading-space or
underscore headers, a split Time Frame, missing or extra columns, Total Devices Searched.
"""
from __future__ import annotations

import re

from auditor.importers.headers import positions
from auditor.importers.plan import Plan
from auditor.importers.searches import Layout

ALIASES = {
    "id": "uuid", "search id": "uuid",
    "name": "user", "user": "user", "user name": "user", "userid": "user",
    "org name": "searcher", "organization": "searcher", "organization name": "searcher",
    "total networks searched": "networks", "networks searched": "networks", "networkcount": "networks",
    "total devices searched": "devices", "devices searched": "devices",
    "time frame": "time_frame", "time frame start": "time_frame_start", "time frame end": "time_frame_end",
    "license plate": "plate", "plate": "plate",
    "reason": "reason",
    "case #": "case_number", "case number": "case_number", "case": "case_number",
    "filters": "filters",
    "search time": "time",
    "search type": "search_type",
    "text prompt": "text_prompt",
    "moderation": "moderation",
}

# `11_1_2025-12_8_2025-Okaloosa_County_FL_SO-Audit_EXTRACTED`, `..._Raleigh_NC_PD-Network-Audit`,
# `12_1_2025-12_31_2025-San_Mateo_CA_PD_Audit` (San Mateo's PDF print), and names agencies give files
# themselves: `Springfield_IL_PD_Organization_Audit_1_1_2025-1_31_2025`.
_FILE_NAME = re.compile(
    r"^(?:\d{1,2}_\d{1,2}_\d{4}-\d{1,2}_\d{1,2}_\d{4}[-_ ])?(?P<name>.+?)[-_ ]"
    r"(?:(?P<network>Network)|Organization|Org)?[-_ ]?Audit(?:[-_ .(].*)?$",
    re.IGNORECASE,
)
# Words of the export's own name that are not part of the agency's (`Flock Organization Audit`):
# they are dropped from the end of the name, so they never invent a second agency.
_NOT_AGENCY = frozenset({"flock", "organization", "org", "network", "search", "audit", "audits"})


def producer_from_file_name(stem: str) -> tuple[str | None, str | None]:
    """(producer, audit kind) from a Flock export's file name, or (None, None) when it does not say."""
    m = _FILE_NAME.match(stem)
    if not m:
        return None, None
    words = m.group("name").replace("_", " ").split()  # a hyphen stays: Winston-Salem NC PD
    while words:
        head, dash, tail = words[-1].rpartition("-")
        if words[-1].lower() in _NOT_AGENCY:
            words.pop()
        elif dash and tail.lower() in _NOT_AGENCY:
            words[-1] = head
        else:
            break
    if not words:
        return None, None
    return " ".join(words), ("network" if m.group("network") else "organization")


def plan(header: list[str], stem: str, *, owner: str | None, producer: str | None) -> Plan:
    """Decide audit kind and producer, and where each field sits in this export's header."""
    columns, notes = positions(header, ALIASES)
    labels = {field: header[i].strip() for field, i in columns.items()}
    if "time_frame" in columns:  # a one-cell frame wins over split columns if an export has both
        columns.pop("time_frame_start", None)
        columns.pop("time_frame_end", None)
    named, kind = producer_from_file_name(stem)
    if owner:
        kind, who = "network", owner
        notes.append("Network Audit: producer given with --owner")
    elif producer:
        kind, who = (kind or "organization"), producer
        notes.append(f"{'Network' if kind == 'network' else 'Organization'} Audit: producer given with --producer")
    elif named:
        who = named
        notes.append(f"{'Network' if kind == 'network' else 'Organization'} Audit: producer {named!r} from the file name")
    else:
        kind, who = "unknown", None
        notes.append(
            "the file name does not say whose audit this is: no search owners recorded "
            "(use --owner NAME for a Network Audit, --producer NAME for an Organization Audit)"
        )
    missing = [f for f in ("searcher", "uuid", "reason") if f not in columns]
    if missing:
        notes.append("columns absent from this export: " + ", ".join(missing))
    return Plan("flock_audit", kind, who, Layout(columns, len(header), labels), notes)
