"""Header names as exports spell them, folded so variants compare equal, and format detection."""
from __future__ import annotations

import re

from auditor.errors import InputError

FORMATS = ("flock_audit", "portal_audit", "reason_sheet", "sharing_list", "generic")


def fold(name: str) -> str:
    """` Org Name`, `Org_Name`, `ORG  NAME` -> `org name` (leading spaces and underscores are quirks)."""
    return re.sub(r"[\s_]+", " ", name.replace("\ufeff", "")).strip().lower()


def positions(header: list[str], aliases: dict[str, str]) -> tuple[dict[str, int], list[str]]:
    """Map canonical fields to column positions using folded aliases; also return notes.

    The first column with a known name wins; duplicate and blank header names are noted, and
    unknown columns are listed as ignored, so nothing is dropped without a word.
    """
    columns: dict[str, int] = {}
    notes: list[str] = []
    ignored: list[str] = []
    for i, name in enumerate(header):
        key = aliases.get(fold(name))
        if key is None:
            ignored.append(repr(name) if name.strip() else f"(blank header in column {i + 1})")
        elif key in columns:
            notes.append(f"duplicate column {name.strip()!r} (column {i + 1}) ignored; the first one is used")
        else:
            columns[key] = i
    if ignored:
        notes.append("columns not imported: " + ", ".join(ignored))
    return columns, notes


def detect(header: list[str]) -> str:
    """The format a header belongs to, or an InputError naming what was expected and found."""
    names = {fold(h) for h in header}
    if {"event type", "entity type"} <= names:
        raise InputError(
            "this is a Flock Event Log (hotlist and administrative actions): it has no search rows to import"
        )
    if "search time" in names and names & {"org name", "reason", "id"}:
        return "flock_audit"
    if {"searchdate", "reason"} <= names and names & {"userid", "id"}:
        return "portal_audit"
    if {"reason", "datetime"} <= names:
        return "reason_sheet"
    if "organization name" in names and names & {"networks shared with me", "networks i'm sharing", "networks i’m sharing"}:
        return "sharing_list"
    found = ", ".join(repr(h.strip()) for h in header[:12]) + (" ..." if len(header) > 12 else "")
    raise InputError(
        "unknown layout: expected a Flock audit (ID, Org Name, Search Time, Reason, ...), a portal audit "
        "(id, userId, searchDate, reason), a sheet (Reason, DateTime) or a sharing list (Organization Name, "
        f"Networks Shared With Me, Networks I'm Sharing); found {found} (use --format generic --column-map FILE)"
    )
