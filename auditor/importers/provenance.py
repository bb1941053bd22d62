"""Provenance written compactly: sighting runs, owner runs, and UUIDs repeated within a fresh load.

A release's new searches get consecutive ids, and most of its rows are new searches in row order:
`sighting_runs` stores such a stretch as one row (release, first row, first search id, count), and
`owner_runs` a Network Audit's new searches as one row per release. Sightings that link a row to an
earlier search go to `sighting_rows` and `search_owner_rows` one by one. The `sightings` and
`search_owners` views put both together, so every search still resolves to its release and row.

A run covers an id range; a search deleted after the run was written (a UUID merged into its first
occurrence) simply drops out of the views, which join the runs to `searches`. Ids are never
reused (:func:`next_search_id`), so a run can never come to cover another release's search.
"""
from __future__ import annotations

import tempfile
from typing import Any, Sequence

import numpy as np

_BUCKETS = 16
_PAIR = np.dtype([("h", "<u8"), ("id", "<i8")])


def next_search_id(conn: Any) -> int:
    """The first id a new search may take: past every search and every run ever written."""
    return conn.execute(
        "SELECT max(coalesce((SELECT max(id) FROM searches), 0), "
        "coalesce((SELECT max(search_first + rows - 1) FROM sighting_runs), 0), "
        "coalesce((SELECT max(search_first + searches - 1) FROM owner_runs), 0)) + 1"
    ).fetchone()[0]


class SightingRuns:
    """Accumulates a release's new sightings (search id, row number) in order, as runs.

    The open run stays in memory until a row breaks it, so a run spans batches.
    """

    def __init__(self, conn: Any, release_id: int, basis: str = "new"):
        self.conn, self.release_id, self.basis = conn, release_id, basis
        self.open: list[int] | None = None  # [row_first, search_first, rows]
        self.pending: list[tuple] = []

    def add(self, search_ids: np.ndarray, rows: np.ndarray) -> None:
        """Add new sightings, given as int64 arrays in row order."""
        if len(search_ids) == 0:
            return
        breaks = np.flatnonzero((np.diff(rows) != 1) | (np.diff(search_ids) != 1)) + 1
        starts = np.concatenate(([0], breaks))
        ends = np.concatenate((breaks, [len(rows)]))
        for a, b in zip(starts.tolist(), ends.tolist()):
            row0, sid0, n = int(rows[a]), int(search_ids[a]), b - a
            run = self.open
            if run is not None and run[0] + run[2] == row0 and run[1] + run[2] == sid0:
                run[2] += n
                continue
            if run is not None:
                self.pending.append((self.release_id, run[0], run[1], run[2], self.basis))
            self.open = [row0, sid0, n]
        if len(self.pending) >= 10_000:
            self.flush()

    def flush(self, final: bool = False) -> None:
        if final and self.open is not None:
            self.pending.append((self.release_id, *self.open, self.basis))
            self.open = None
        if self.pending:
            self.conn.executemany(
                "INSERT INTO sighting_runs (release_id, row_first, search_first, rows, link_basis) VALUES (?, ?, ?, ?, ?)",
                self.pending)
            self.pending = []


def write_owner_run(conn: Any, owner_id: int | None, first_id: int, next_id: int) -> None:
    """The owner of a Network Audit owns every search the release added (ids first_id..next_id-1)."""
    if owner_id is not None and next_id > first_id:
        conn.execute("INSERT INTO owner_runs (owner_id, search_first, searches) VALUES (?, ?, ?)",
                     [owner_id, first_id, next_id - first_id])


def add_owner_rows(conn: Any, owner_id: int | None, search_ids: Sequence[int]) -> None:
    """Record the owner of earlier searches this release also saw, unless a run already says so."""
    if owner_id is None or not search_ids:
        return
    conn.executemany(
        "INSERT OR IGNORE INTO search_owner_rows (search_id, owner_id) SELECT ?, ? WHERE NOT EXISTS ("
        "SELECT 1 FROM owner_runs WHERE owner_id = ? AND ? >= search_first AND ? < search_first + searches)",
        [(sid, owner_id, owner_id, sid, sid) for sid in dict.fromkeys(search_ids)])


def uuid_hashes(uuids: Any) -> np.ndarray:
    """64-bit hashes of UUID strings (an Arrow array or a list), only for this process's use."""
    import polars as pl

    return pl.Series(values=uuids, dtype=pl.Utf8).hash(seed=7).to_numpy()


class RepeatedUuids:
    """Finds UUIDs that a fresh load gave to more than one search (one in an earlier batch).

    Within a batch the loader links a repeated UUID itself; across batches of a load into an empty
    store there is no index to ask. Each batch's (hash, id) pairs are spilled to one of 16 temporary
    files by hash, so memory stays flat; at the end each file is small enough to sort, equal hashes
    are candidates, and the UUIDs themselves are compared before anything is merged.
    """

    def __init__(self) -> None:
        self.files = [tempfile.TemporaryFile() for _ in range(_BUCKETS)]

    def add(self, hashes: np.ndarray, search_ids: np.ndarray) -> None:
        pairs = np.empty(len(hashes), dtype=_PAIR)
        pairs["h"], pairs["id"] = hashes, search_ids
        bucket = (hashes >> np.uint64(60)).astype(np.int64)
        for b in np.unique(bucket).tolist():
            pairs[bucket == b].tofile(self.files[b])

    def candidates(self) -> list[int]:
        """Ids of searches whose UUID hash another search of the load shares."""
        out: list[int] = []
        for fh in self.files:
            fh.seek(0)
            pairs = np.fromfile(fh, dtype=_PAIR)
            fh.close()
            if len(pairs) < 2:
                continue
            pairs.sort(order="h")
            same = pairs["h"][1:] == pairs["h"][:-1]
            if same.any():
                idx = np.flatnonzero(same)
                out.extend(np.unique(np.concatenate((pairs["id"][idx], pairs["id"][idx + 1]))).tolist())
        return out


def _record_repeat_versions(conn: Any, release_id: int, moves: list[tuple[int, int]], numbers: dict[int, int]) -> None:
    """A UUID listed twice in one release with different fields: both versions are kept
    (:mod:`auditor.importers.versions`) before the later search is merged away."""
    from auditor.importers import versions

    columns = ", ".join(column for _, column in versions.COMPARED)
    found = []
    for later, keep in moves:
        a = conn.execute(f"SELECT {columns} FROM searches WHERE id = ?", [keep]).fetchone()
        b = conn.execute(f"SELECT {columns} FROM searches WHERE id = ?", [later]).fetchone()
        if a is None or b is None or later not in numbers:
            continue
        texts = versions.reason_texts(conn, [a[k] for k, (_, c) in enumerate(versions.COMPARED) if c == "reason_id"]
                                      + [b[k] for k, (_, c) in enumerate(versions.COMPARED) if c == "reason_id"])
        for k, (_, column) in enumerate(versions.COMPARED):
            if versions.differ(column, b[k], a[k], texts):
                found.append((keep, numbers[later], column, b[k]))
    if found:
        versions.record(conn, release_id, found)


def merge_repeated_uuids(conn: Any, release_id: int, candidate_ids: list[int]) -> int:
    """Point every sighting of a repeated UUID at its first search and delete the later ones.

    Returns how many searches were merged away. The deleted searches' run entries drop out of the
    views by themselves; their rows become `sighting_rows` of the first search, basis `uuid`.
    """
    if not candidate_ids:
        return 0
    by_uuid: dict[str, list[int]] = {}
    for start in range(0, len(candidate_ids), 500):
        chunk = candidate_ids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for sid, uuid in conn.execute(f"SELECT id, uuid FROM searches WHERE id IN ({marks})", chunk).fetchall():
            by_uuid.setdefault(uuid, []).append(sid)
    moves: list[tuple[int, int]] = []  # (later id, first id)
    for ids in by_uuid.values():
        if len(ids) > 1:
            ids.sort()
            moves.extend((later, ids[0]) for later in ids[1:])
    if not moves:
        return 0
    runs = conn.execute("SELECT row_first, search_first, rows FROM sighting_runs WHERE release_id = ?",
                        [release_id]).fetchall()
    rows: list[tuple] = []
    for later, keep in moves:
        for row_first, search_first, n in runs:
            if search_first <= later < search_first + n:
                rows.append((keep, release_id, row_first + later - search_first, "uuid"))
    conn.executemany("INSERT INTO sighting_rows (search_id, release_id, row_number, link_basis) VALUES (?, ?, ?, ?)",
                     rows)
    _record_repeat_versions(conn, release_id, moves, {later: row[2] for later, row in zip((m[0] for m in moves), rows)})
    conn.executemany("UPDATE sighting_rows SET search_id = ?, link_basis = 'uuid' WHERE search_id = ?",
                     [(keep, later) for later, keep in moves])
    conn.executemany("DELETE FROM search_owner_rows WHERE search_id = ?", [(later,) for later, _ in moves])
    conn.executemany("DELETE FROM searches WHERE id = ?", [(later,) for later, _ in moves])
    return len(moves)
