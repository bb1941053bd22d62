"""Statewide-database logs (CLETS and its peers): the system and each query's type, from a column map.

A CLETS audit log lists queries, not ALPR searches: who queried, when, for what purpose, and what
was queried (a driver licence, a registration, a criminal history, ...). The generic column map
reads its common fields; this module adds what the CLETS rules need:

    [columns]
    query_type = "Message Type"      # the column naming what was queried
    [options]
    system = "clets"                 # every row of the release is a query of this system
    [query_types]                    # the log's own labels -> the canonical query types
    "DMV DL" = "driver_license"

A label that is already a canonical query type (`driver_license`, `Driver License`) needs no
entry. A label the map does not know leaves the query type unknown (NULL), counted in the
release's notes: the CLETS rule does not presume an unknown query to be DMV data.
"""
from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from auditor.errors import InputError

# The canonical query types (the simulator's scenarios use the same words).
QUERY_TYPES = ("registration", "driver_license", "criminal_history", "restraining_order", "wanted_person")
_SYSTEM = re.compile(r"^[a-z][a-z0-9_]*$")


def canonical(label: str) -> str:
    """`Driver License`, `driver-license`, ` DRIVER_LICENSE ` -> `driver_license` (for comparing labels)."""
    return re.sub(r"[\s\-_]+", "_", label.strip().lower())


@dataclass
class StatewideMap:
    """What a column map says about a statewide-database log."""

    system: str
    query_type_column: int | None = None
    labels: dict[str, str] = field(default_factory=dict)  # canonical(label) -> query type

    def query_type(self, cell: str) -> str | None:
        """The canonical query type of a cell, or None (blank or not understood)."""
        key = canonical(cell)
        if not key:
            return None
        if key in self.labels:
            return self.labels[key]
        return key if key in QUERY_TYPES else None


def read_statewide(system: str | None, labels: dict[str, str], source: str) -> tuple[str | None, dict[str, str]]:
    """Validate a column map's `system` and `[query_types]`; InputError names the bad entry."""
    if system is not None and not _SYSTEM.match(system):
        raise InputError(f"{source}: system must be a lowercase name such as `clets` or `alpr`, not {system!r}")
    out = {}
    for label, qtype in labels.items():
        if qtype not in QUERY_TYPES:
            raise InputError(f"{source}: [query_types] {label!r} = {qtype!r} is not one of {', '.join(QUERY_TYPES)}")
        out[canonical(label)] = qtype
    return system, out


class QueryTypeTap:
    """Passes a release's records through, keeping each row's query type to write after the load."""

    def __init__(self, records: Iterable[list[str]], statewide: StatewideMap, first_row: int):
        self._records = records
        self.statewide = statewide
        self.first_row = first_row
        self.rows: list[tuple[int, str | None]] = []
        self.unknown: dict[str, int] = {}

    def __iter__(self) -> Iterator[list[str]]:
        col = self.statewide.query_type_column
        number = self.first_row
        for rec in self._records:
            if col is not None:
                cell = rec[col] if col < len(rec) and isinstance(rec[col], str) else ""
                qtype = self.statewide.query_type(cell)
                if qtype is None and cell.strip():
                    self.unknown[cell.strip()] = self.unknown.get(cell.strip(), 0) + 1
                self.rows.append((number, qtype))
            number += 1
            yield rec

    def apply(self, conn: sqlite3.Connection, release_id: int) -> list[str]:
        """Set the system and query type of every search the release's rows were linked to."""
        conn.execute("DROP TABLE IF EXISTS temp._query_types")
        conn.execute("CREATE TEMP TABLE _query_types (row_number INTEGER PRIMARY KEY, query_type TEXT)")
        conn.executemany("INSERT INTO _query_types VALUES (?, ?)", self.rows)
        conn.execute(
            """UPDATE searches SET system = ?, query_type = COALESCE(x.query_type, searches.query_type)
               FROM (SELECT g.search_id, q.query_type FROM sightings g
                     LEFT JOIN _query_types q ON q.row_number = g.row_number WHERE g.release_id = ?) AS x
               WHERE searches.id = x.search_id""",
            [self.statewide.system, release_id],
        )
        conn.execute("DROP TABLE temp._query_types")
        notes = [f"every row is a query of {self.statewide.system} (column map)"]
        if self.statewide.query_type_column is None:
            notes.append("no query-type column mapped: query types unknown")
        elif self.unknown:
            top = ", ".join(f"{k!r} ({n})" for k, n in sorted(self.unknown.items(), key=lambda kv: -kv[1])[:5])
            rows = sum(self.unknown.values())
            notes.append(f"query type not understood in {rows} rows ({top}): left unknown; add the labels to "
                         "[query_types] in the column map")
        return notes
