"""Running a scenario into a store: world, reads, searches and truth, written in streamed batches.

Memory stays flat whatever the scale: reads and searches come from generators and are written in
batches of :data:`BATCH` rows inside transactions; only the world (agencies, cameras, name pools,
residents' plates) and the distinct reason texts are held in memory.
"""
from __future__ import annotations

import json
import math
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import TypeVar

import sqlite_utils

from auditor.errors import InputError
from auditor.schema import create_indexes, open_store
from simulator.scenario import DISCLOSURE_OUTCOMES, Scenario
from simulator.searches import estimate_searches, generate_searches
from simulator.summary import Summary, summarize
from simulator.traffic import Clock, estimate_reads, generate_reads, residents_by_owner
from simulator.world import World, build_world

BATCH = 50_000
# Searches carry three rows each (search, owners, truth) and long texts: smaller batches, same speed.
SEARCH_BATCH = 10_000
T = TypeVar("T")

Progress = Callable[[int], None]


def _batches(rows: Iterable[T], size: int = BATCH) -> Iterator[list[T]]:
    it = iter(rows)
    while batch := list(islice(it, size)):
        yield batch


def check_out_path(out: Path, overwrite: bool) -> None:
    """Fail with one line when the store cannot be written where asked."""
    if out.is_dir():
        raise InputError(f"{out}: is a folder; give a file name for the store (e.g. {out / 'world.db'})")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"{out}: cannot write the store: folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise InputError(f"{out}: cannot write the store: folder {parent} is not writable")
    if out.exists() and not overwrite:
        raise InputError(f"{out}: already exists (pass --overwrite to replace it)")
    if out.exists() and not _replaceable(out):
        raise InputError(f"{out}: is not a proxytrace store; --overwrite only replaces stores (or empty files)")


def _replaceable(path: Path) -> bool:
    """An empty file, or a SQLite file holding a proxytrace store: what --overwrite may replace."""
    try:
        if path.stat().st_size == 0:
            return True
        with open(path, "rb") as fh:
            if fh.read(16) != b"SQLite format 3\x00":
                return False
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return con.execute("SELECT 1 FROM meta WHERE key = 'schema_version'").fetchone() is not None
        finally:
            con.close()
    except (OSError, sqlite3.Error):
        return False


def expected_total(scenario: Scenario, scale: float, seed: int) -> int:
    """Rows the run will write (reads + searches), for a progress bar; approximate for searches."""
    world = build_world(scenario, seed)
    return estimate_reads(scenario.traffic, scenario.days, scale) + estimate_searches(scenario, world, scale)


def simulate(scenario: Scenario, out: str | Path, *, seed: int = 1, scale: float = 1.0, overwrite: bool = False,
             progress: Progress | None = None) -> Summary:
    """Generate the scenario into a new store at ``out`` and return its summary.

    Deterministic: the same scenario, seed and scale give identical table contents.
    """
    if not math.isfinite(scale) or scale <= 0:
        raise InputError(f"--scale must be a positive number, got {scale:g}")
    out = Path(out)
    check_out_path(out, overwrite)
    # Written beside the target and renamed at the end: a failed run leaves any old store intact.
    partial = out.with_name(f".{out.name}.partial")
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    tick = progress or (lambda n: None)
    try:
        db = open_store(partial, create=True)
        _bulk_pragmas(db)
        world = build_world(scenario, seed)
        _write_world(db, scenario, world, seed, scale)
        clock = Clock(scenario.start, scenario.days)
        residents = residents_by_owner(world, scenario.traffic, scale)
        conn = db.conn
        for batch in _batches(generate_reads(world, scenario.traffic, residents, clock, scenario.days, scale, seed)):
            with conn:
                conn.executemany("INSERT INTO reads (id, device_id, plate, time) VALUES (?, ?, ?, ?)", batch)
            tick(len(batch))
        reasons: dict[str, int] = {}

        def reason_id(text: str) -> int:
            # Dictionary encoding while loading: each distinct reason is inserted once.
            found = reasons.get(text)
            if found is None:
                found = reasons[text] = conn.execute("INSERT INTO reasons (text) VALUES (?)", (text,)).lastrowid
            return found

        generated = generate_searches(scenario, world, residents, clock, reason_id, scale, seed)
        for batch in _batches(generated, SEARCH_BATCH):
            with conn:
                conn.executemany(f"INSERT INTO searches VALUES ({', '.join('?' * 20)})", [g.search for g in batch])
                conn.executemany("INSERT INTO search_owners (search_id, owner_id) VALUES (?, ?)",
                                 [(g.search[0], o) for g in batch for o in g.owners])
                conn.executemany("INSERT INTO truth VALUES (?, ?, ?, ?, ?, ?)", [g.truth for g in batch])
            tick(len(batch))
        create_indexes(db)
        conn.execute("PRAGMA journal_mode = DELETE")  # one self-contained file to rename
        conn.close()
    except BaseException:
        # A half-written store would mislead an audit: remove it.
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{partial}{suffix}").unlink(missing_ok=True)
        raise
    for suffix in ("-wal", "-shm", "-journal"):
        Path(f"{out}{suffix}").unlink(missing_ok=True)
    os.replace(partial, out)
    return summarize(open_store(out))


def _bulk_pragmas(db: sqlite_utils.Database) -> None:
    """Settings for loading a brand-new file that is deleted if the run fails.

    No journal (nothing to roll back to), checked foreign keys off (the generator builds consistent
    ids; tests run `PRAGMA foreign_key_check`), and a small page cache and on-disk sorting so
    that memory does not grow with the store's size while indexes are built.
    """
    conn = db.conn
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("PRAGMA cache_size = -16000")
    conn.execute("PRAGMA temp_store = FILE")


def disclosure_rows(scenario: Scenario, world: World) -> list[tuple]:
    """The scenario's misuse disclosures as `disclosures` rows, one per agency (a group's row per member).

    Disclosed figures are published facts, so they are written as given whatever the run's scale.
    """
    rows = []
    for d in scenario.disclosures:
        filed = d.status != "not_filed"
        figures = [d.investigations, d.confirmed, d.pending] + [d.outcomes.get(o, 0) for o in DISCLOSURE_OUTCOMES]
        for agency_id in world.members[d.agency]:
            rows.append((agency_id, "clets", d.year, d.status, *(figures if filed else [None] * len(figures)),
                         d.filed_on.isoformat() if d.filed_on else None, "scenario", d.note))
    return rows


def _write_world(db: sqlite_utils.Database, scenario: Scenario, world: World, seed: int, scale: float) -> None:
    conn = db.conn
    with conn:
        conn.executemany(
            "INSERT INTO agencies (id, name, state, level, kind, dhs_component, is_287g, support_287g, "
            "resolved_by, confidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [a.as_row() for a in world.agencies],
        )
        conn.executemany("INSERT INTO agency_names (name, agency_id) VALUES (?, ?)",
                         [(a.name, a.id) for a in world.agencies])
        conn.executemany(
            "INSERT INTO devices (id, owner_id, name, kind, network, lat, lon) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(d.id, d.owner_id, d.name, d.kind, d.network, d.lat, d.lon) for d in world.devices],
        )
        conn.executemany(
            "INSERT INTO shares (id, owner_id, grantee_id, scope, network, source, release_id, valid_from, valid_to) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            world.shares,
        )
        conn.executemany(
            "INSERT INTO disclosures (agency_id, system, year, status, investigations, confirmed, pending, "
            "resigned_fired, misdemeanor, felony, no_action, counseling, other, filed_on, source, note) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            disclosure_rows(scenario, world),
        )
        focal = [a.id for a in world.agencies if a.focal]
        meta = {
            "scenario.name": scenario.name,
            "scenario.title": scenario.title,
            "scenario.description": scenario.description,
            "scenario.narrative": scenario.narrative,
            "scenario.sources": json.dumps(list(scenario.sources)),
            "scenario.system": scenario.system,
            "scenario.start": scenario.start.isoformat(),
            "scenario.end": scenario.end.isoformat(),
            "scenario.focal_owners": json.dumps(focal),
            "simulate.seed": str(seed),
            "simulate.scale": f"{scale:g}",
            # Expectations are written at the run's scale, so a scorer can compare counts directly.
            "scenario.expect": json.dumps([
                {**e, "min_searches": int(e["min_searches"] * scale),
                 "max_searches": None if e["max_searches"] is None else math.ceil(e["max_searches"] * scale)}
                for e in scenario.expect
            ]),
        }
        conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", list(meta.items()))
