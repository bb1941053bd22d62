"""Where `audit import` spends its time on a Flock Network Audit, stage by stage, and the floors.

    python benchmarks/gen_network_audit.py 1000000 /tmp/x-El_Cajon_CA_PD-Network-Audit.csv
    python benchmarks/import_stages.py /tmp/x-El_Cajon_CA_PD-Network-Audit.csv [--floors]

Prints the import's rows/s, peak RSS and seconds per stage (checksum pass, parsing including
csv.reader, linking and writing, index builds). With ``--floors`` it also times what no importer
built on csv + sqlite3 can beat: csv.reader alone, and ``executemany`` of ready-made tuples into
each table (indexes dropped, as the bulk load does). CPU seconds are printed next to wall seconds,
because on a shared machine wall time measures the neighbours too.
"""
from __future__ import annotations

import csv
import resource
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from auditor.importers import import_file, release, searches
from auditor.schema import open_store

STAGES: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])


def _timed(owner: object, name: str, label: str) -> None:
    """Wrap owner.name so its wall and CPU seconds add up under `label`."""
    inner = getattr(owner, name)

    def wrapper(*args, **kwargs):
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return inner(*args, **kwargs)
        finally:
            STAGES[label][0] += time.perf_counter() - wall
            STAGES[label][1] += time.process_time() - cpu

    setattr(owner, name, wrapper)


def _clock(label: str, work) -> object:
    wall, cpu = time.perf_counter(), time.process_time()
    out = work()
    print(f"  {label:44s} {time.perf_counter() - wall:7.2f} s wall {time.process_time() - cpu:7.2f} s cpu")
    return out


def run_import(path: Path, folder: Path) -> int:
    _timed(release, "read_facts", "checksum + encoding pass")
    _timed(searches.SearchLoader, "_parse", "parse records to tuples")
    _timed(searches.SearchLoader, "_write", "link + executemany")
    _timed(searches.SearchLoader, "_finish", "index builds (inside the transaction)")
    db = open_store(folder / "store.db", create=True)
    wall, cpu = time.perf_counter(), time.process_time()
    [account] = import_file(db, path)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"import: {account.rows_read:,} rows in {wall:.2f} s wall ({account.rows_read / wall:,.0f} rows/s), "
          f"{cpu:.2f} s cpu ({account.rows_read / cpu:,.0f} rows/cpu-s); "
          f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    for label, (w, c) in STAGES.items():
        print(f"  {label:44s} {w:7.2f} s wall {c:7.2f} s cpu")
    rest_w, rest_c = wall - sum(w for w, _ in STAGES.values()), cpu - sum(c for _, c in STAGES.values())
    print(f"  {'csv.reader, commit, agencies and the rest':44s} {rest_w:7.2f} s wall {rest_c:7.2f} s cpu")
    return account.rows_read


def floors(path: Path, folder: Path, rows: int) -> None:
    print("floors (no importer on csv + sqlite3 can beat these):")

    def read_all() -> int:
        with open(path, newline="", encoding="utf-8") as fh:
            return sum(1 for _ in csv.reader(fh))

    _clock("csv.reader alone", read_all)
    db = open_store(folder / "floor.db", create=True)
    conn = db.conn
    for name in [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index' AND sql IS NOT NULL "
                                             "AND tbl_name IN ('searches', 'sightings', 'search_owners')")]:
        conn.execute(f"DROP INDEX {name}")
    conn.execute("INSERT INTO agencies (id, name) VALUES (1, 'Owner CA PD'), (2, 'Searcher TX PD')")
    conn.execute("INSERT INTO reasons (id, text) VALUES (1, 'investigation')")
    conn.execute("INSERT INTO releases (id, file_name, sha256, format) VALUES (1, 'f', 's', 'flock_audit')")
    conn.commit()
    conn.execute("PRAGMA cache_size = -32768")
    search = [(i, f"{i:08x}-0000-4000-8000-{i:012x}", "2025-06-01T00:00:00Z", 2, None, 1, f"{25000000 + i}", None,
               "search", 5738, None, "2025-05-25T00:00:00Z", "2025-06-01T00:00:00Z", None, None, None, None,
               searches.fallback_hash(f"2|{i}")) for i in range(1, rows + 1)]
    conn.execute("BEGIN")
    _clock("executemany searches (18 columns)", lambda: conn.executemany(searches._INSERT_SEARCH, search))
    del search
    _clock("executemany sightings", lambda: conn.executemany(
        "INSERT INTO sightings (search_id, release_id, row_number, link_basis) VALUES (?, ?, ?, ?)",
        [(i, 1, i + 1, "new") for i in range(1, rows + 1)]))
    _clock("executemany search_owners", lambda: conn.executemany(
        "INSERT INTO search_owners (search_id, owner_id) VALUES (?, ?)", [(i, 1) for i in range(1, rows + 1)]))
    _clock("commit", conn.commit)
    _clock("CREATE UNIQUE INDEX on uuid", lambda: conn.execute(searches._UUID_INDEX))
    _clock("CREATE INDEX on dedup_key (64-bit hash)", lambda: conn.execute(searches._KEY_INDEX))


def main(argv: list[str]) -> None:
    path = Path(argv[0])
    with tempfile.TemporaryDirectory() as tmp:
        rows = run_import(path, Path(tmp))
        if "--floors" in argv:
            floors(path, Path(tmp), rows)


if __name__ == "__main__":
    main(sys.argv[1:])
