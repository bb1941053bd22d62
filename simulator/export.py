"""Exporting a simulated store in the vendor's formats, so the real-log path runs on synthetic data.

- :func:`export_network_audit`: Flock's **Network Audit** CSV for one owner, in the classic 13-column
  layout: every search, by any organization, that touched the owner's cameras. Like the real export,
  the Time Frame cell holds start and end separated by a bare LF while records end in CRLF, and times
  read ``01/05/2026, 05:28:52 PM UTC``.
- :func:`export_sharing_list`: the owner's sharing list (``Organization Name, Networks Shared With Me,
  Networks I'm Sharing``), lists comma-joined in one cell.

Both stream rows from SQLite to the file; nothing is collected in memory. A file is written beside
its final name and renamed, and an existing file is never replaced (it may be a real release). With
a pseudonymizer (:mod:`auditor.pseudonym`), officer names, plates and case numbers are written as
keyed tokens, in their columns and inside reasons.
"""
from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import sqlite_utils

from auditor.errors import InputError
from auditor.outputs import check_target, write_beside
from auditor.pseudonym import Pseudonymizer
from auditor.timefmt import flock_time, parse_store_time

NETWORK_AUDIT_HEADER = (
    "ID", "Name", "Org Name", "Total Networks Searched", "Time Frame", "License Plate", "Reason", "Case #",
    "Filters", "Search Time", "Search Type", "Text Prompt", "Moderation",
)
SHARING_HEADER = ("Organization Name", "Networks Shared With Me", "Networks I'm Sharing")


def _flock(text: str | None) -> str:
    return "" if text is None else flock_time(parse_store_time(text))


def _file_stem(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_")


def _span(db: sqlite_utils.Database) -> tuple[str, str]:
    """The scenario's first and last day as Flock writes them in file names (`1_1_2025`)."""
    meta = dict(db.conn.execute("SELECT key, value FROM meta WHERE key IN ('scenario.start', 'scenario.end')"))
    if len(meta) < 2:
        span = db.conn.execute("SELECT min(time), max(time) FROM searches").fetchone()
        meta = {"scenario.start": (span[0] or "1970-01-01")[:10], "scenario.end": (span[1] or "1970-01-01")[:10]}
    out = []
    for key in ("scenario.start", "scenario.end"):
        y, m, d = (int(x) for x in meta[key].split("-"))
        out.append(f"{m}_{d}_{y}")
    return out[0], out[1]


def _owner_name(db: sqlite_utils.Database, owner_id: int) -> str:
    row = db.conn.execute("SELECT name FROM agencies WHERE id = ?", (owner_id,)).fetchone()
    if row is None:
        raise InputError(f"no agency with id {owner_id} in the store")
    return row[0]


def _store_path(db: sqlite_utils.Database) -> list[Path]:
    from auditor.outputs import store_files

    row = db.conn.execute("PRAGMA database_list").fetchone()
    return store_files(row[2]) if row and row[2] else []


def export_network_audit(db: sqlite_utils.Database, owner_id: int, out_dir: str | Path,
                         pseudonymizer: Pseudonymizer | None = None) -> Path:
    """Write the owner's Network Audit CSV into ``out_dir`` and return its path."""
    name = _owner_name(db, owner_id)
    start, end = _span(db)
    path = Path(out_dir) / f"{start}-{end}-{_file_stem(name)}-Network-Audit.csv"
    check_target(path, inputs=_store_path(db), what="export")
    rows = db.conn.execute(
        "SELECT s.uuid, s.user, a.name, s.networks, s.time_frame_start, s.time_frame_end, s.plate, r.text, "
        "s.case_number, s.filters, s.time, s.search_type, s.text_prompt, s.moderation "
        "FROM search_owners so JOIN searches s ON s.id = so.search_id JOIN agencies a ON a.id = s.searcher_id "
        "LEFT JOIN reasons r ON r.id = s.reason_id WHERE so.owner_id = ? ORDER BY s.time, s.id",
        (owner_id,),
    )
    p = pseudonymizer

    def write(fh) -> None:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(NETWORK_AUDIT_HEADER)
        for (uid, user, org, networks, fstart, fend, plate, reason, case, filters, when, stype, prompt,
             moderation) in rows:
            if p is not None:
                user, plate, case = p.field("user", user), p.field("plate", plate), p.field("case_number", case)
                reason, prompt = p.text(reason), p.text(prompt)
            # One cell, two lines: the csv module quotes it because it holds a newline.
            frame = f"{_flock(fstart)}\n{_flock(fend)}" if fstart else ""
            writer.writerow((uid or "", user or "", org, "" if networks is None else networks, frame, plate or "",
                             reason or "", case or "", filters or "", _flock(when), stype or "", prompt or "",
                             moderation or ""))

    write_beside(path, write, what="export", newline="")
    return path


def export_sharing_list(db: sqlite_utils.Database, owner_id: int, out_dir: str | Path) -> Path:
    """Write the owner's sharing list CSV as its portal shows it: one row per other organization
    with a direct (1:1) share either way. "Networks Shared With Me" lists that organization's networks
    shared with the owner, "Networks I'm Sharing" the owner's networks shared with it.

    Statewide and National Lookup are settings, not rows of this list, so they are not written: an
    audit of the exported files sees them as `none found` unless told otherwise.
    """
    name = _owner_name(db, owner_id)
    path = Path(out_dir) / f"{_file_stem(name)}-Sharing-List.csv"
    check_target(path, inputs=_store_path(db), what="export")
    agencies = dict(db.conn.execute("SELECT id, name FROM agencies"))
    networks: dict[int, list[str]] = {}
    for oid, network in db.conn.execute("SELECT DISTINCT owner_id, network FROM devices ORDER BY owner_id, network"):
        networks.setdefault(oid, []).append(network)
    direct = set(db.conn.execute("SELECT owner_id, grantee_id FROM shares WHERE scope = 'direct'").fetchall())
    others = sorted({g for o, g in direct if o == owner_id} | {o for o, g in direct if g == owner_id},
                    key=lambda a: agencies[a])
    def write(fh) -> None:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(SHARING_HEADER)
        for other in others:
            with_me = networks.get(other, [agencies[other]]) if (other, owner_id) in direct else []
            mine = networks.get(owner_id, [name]) if (owner_id, other) in direct else []
            writer.writerow((agencies[other], ", ".join(with_me), ", ".join(mine)))

    write_beside(path, write, what="export", newline="")
    return path


def focal_owners(db: sqlite_utils.Database) -> list[int]:
    """Owners whose logs the scenario exports: its focal agencies, else every camera owner."""
    row = db.conn.execute("SELECT value FROM meta WHERE key = 'scenario.focal_owners'").fetchone()
    focal = json.loads(row[0]) if row else []
    return focal or [r[0] for r in db.conn.execute("SELECT DISTINCT owner_id FROM devices ORDER BY owner_id")]


def export_owner_logs(db: sqlite_utils.Database, out_dir: str | Path,
                      pseudonymizer: Pseudonymizer | None = None) -> list[Path]:
    """Network Audit and sharing list for every focal owner; creates ``out_dir`` if needed.
    Refuses (InputError) before writing anything when one of the files already exists."""
    target = Path(out_dir)
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"{target}: cannot create export folder: {e.strerror}") from None
    owners = focal_owners(db)
    start, end = _span(db)
    for owner_id in owners:  # check every file before the first is written
        stem = _file_stem(_owner_name(db, owner_id))
        for name in (f"{start}-{end}-{stem}-Network-Audit.csv", f"{stem}-Sharing-List.csv"):
            check_target(target / name, inputs=_store_path(db), what="export")
    paths = []
    for owner_id in owners:
        paths.append(export_network_audit(db, owner_id, target, pseudonymizer))
        paths.append(export_sharing_list(db, owner_id, target))
    return paths
