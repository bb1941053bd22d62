"""Releases that disagree about one search: every version kept, with provenance, order-free.

Two releases list a search with one UUID (a Network Audit released twice, or an owner's Network
Audit and the searcher's own log). When a field differs between them (a reason `stolen vehicle`
in one and `ICE request` in the other), discarding the later value would hide the contradiction
and make findings depend on import order. So each differing field gets a row per version in
`search_versions` (the first release's value included), and the search's stored value is settled
the same way whatever the order: the value of the release whose sha256 sorts first, and for the
reason every version's text, sorted and joined by ` | `, so an immigration purpose stated in any
version is seen by the rules. The rule `release.versions_differ` cites each contradiction.
"""
from __future__ import annotations

from typing import Any

# The fields of a search a release states (index in the loader's row tuple, column in `searches`).
# The searcher is left out: an owner's Network Audit and the searcher's own log name one agency in
# two spellings (`Org Name` against the producer given with --producer), resolved by name later.
COMPARED = ((1, "time"), (3, "user"), (4, "reason_id"), (5, "case_number"), (6, "plate"), (7, "search_type"),
            (8, "networks"))
JOINER = " | "


def differences(conn: Any, linked: list[tuple[int, int, tuple]]) -> list[tuple[int, int, str, Any]]:
    """(search id, row number, field, this row's value) for each field in which a linked row differs
    from the stored search (:func:`differ`)."""
    if not linked:
        return []
    ids = sorted({sid for sid, _, _ in linked})
    stored: dict[int, tuple] = {}
    columns = ", ".join(column for _, column in COMPARED)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for row in conn.execute(f"SELECT id, {columns} FROM searches WHERE id IN ({','.join('?' * len(chunk))})", chunk):
            stored[row[0]] = row[1:]
    reason_k = next(k for k, (_, column) in enumerate(COMPARED) if column == "reason_id")
    texts = reason_texts(conn, [row[COMPARED[reason_k][0]] for _, _, row in linked]
                         + [have[reason_k] for have in stored.values()])
    out = []
    for sid, number, row in linked:
        have = stored.get(sid)
        if have is None:
            continue
        for k, (i, column) in enumerate(COMPARED):
            if differ(column, row[i], have[k], texts):
                out.append((sid, number, column, row[i]))
    return out


def differ(column: str, mine: Any, theirs: Any, reasons: dict[int, str]) -> bool:
    """Whether two versions of a field contradict each other: a blank or redacted value on either side
    does not, nor do two texts that differ only in surrounding blanks. A reason is compared by its
    text (``reasons``: id -> text), trimmed like every other text."""
    if mine is None or theirs is None or mine == theirs:
        return False
    if column == "reason_id":
        mine, theirs = reasons.get(int(mine)), reasons.get(int(theirs))
    return not (isinstance(mine, str) and isinstance(theirs, str) and mine.strip() == theirs.strip())


def reason_texts(conn: Any, ids: Any) -> dict[int, str]:
    """The text of each reason id given."""
    wanted = sorted({int(i) for i in ids if i is not None})
    texts: dict[int, str] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        texts.update(conn.execute(f"SELECT id, text FROM reasons WHERE id IN ({','.join('?' * len(chunk))})", chunk))
    return texts


def record(conn: Any, release_id: int, found: list[tuple[int, int, str, Any]]) -> None:
    """Store each differing version, and the stored one as its first release gave it."""
    for sid, number, column, value in found:
        if conn.execute("SELECT 1 FROM search_versions WHERE search_id = ? AND field = ? LIMIT 1",
                        [sid, column]).fetchone() is None:
            first = conn.execute(
                "SELECT release_id, row_number FROM sightings WHERE search_id = ? AND release_id <> ? "
                "ORDER BY release_id, row_number LIMIT 1", [sid, release_id]).fetchone()
            if first is None:  # a repeat inside one release: its first row is the stored version
                first = conn.execute("SELECT release_id, row_number FROM sightings WHERE search_id = ? "
                                     "ORDER BY release_id, row_number LIMIT 1", [sid]).fetchone()
            stored = conn.execute(f"SELECT {column} FROM searches WHERE id = ?", [sid]).fetchone()[0]
            conn.execute("INSERT OR IGNORE INTO search_versions (search_id, release_id, row_number, field, value) "
                         "VALUES (?, ?, ?, ?, ?)", [sid, first[0], first[1], column, stored])
        conn.execute("INSERT OR IGNORE INTO search_versions (search_id, release_id, row_number, field, value) "
                     "VALUES (?, ?, ?, ?, ?)", [sid, release_id, number, column, value])


def settle(conn: Any, release_id: int) -> None:
    """Give each search this release contradicted its order-free value (see the module docstring)."""
    touched = conn.execute("SELECT DISTINCT search_id, field FROM search_versions WHERE release_id = ?",
                           [release_id]).fetchall()
    for sid, column in touched:
        versions = conn.execute(
            "SELECT v.value, r.sha256 FROM search_versions v JOIN releases r ON r.id = v.release_id "
            "WHERE v.search_id = ? AND v.field = ? ORDER BY r.sha256, v.row_number", [sid, column]).fetchall()
        if column == "reason_id":
            texts = sorted({text.strip() for (text,) in conn.execute(
                "SELECT text FROM reasons WHERE id IN (SELECT value FROM json_each(?))",
                ["[" + ",".join(str(int(v)) for v, _ in versions) + "]"])})
            combined = JOINER.join(texts)
            row = conn.execute("SELECT id FROM reasons WHERE text = ?", [combined]).fetchone()
            value = row[0] if row else conn.execute("INSERT INTO reasons (text) VALUES (?)", [combined]).lastrowid
        else:
            value = versions[0][0]
        conn.execute(f"UPDATE searches SET {column} = ? WHERE id = ?", [value, sid])


def field_name(column: str) -> str:
    """The field as a reader names it (`reason`, `searcher`), not its column."""
    return {"reason_id": "reason", "searcher_id": "searcher"}.get(column, column)


def contested(db: Any, search_ids: Any) -> dict[int, str]:
    """For each given search that releases disagree about, one sentence naming every version of each
    contested field with its release and row (`release.versions_differ`).

    A finding on such a search rests on the settled value (for a reason, every version's text), which
    no single row carries, so every report, CSV row and explanation shows this beside the cited row.
    """
    wanted = sorted({int(i) for i in search_ids if i is not None})
    if not wanted or db.execute("SELECT 1 FROM sqlite_master WHERE name = 'search_versions'").fetchone() is None:
        return {}
    found: dict[int, dict[str, list[str]]] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        for sid, column, value, text, file_name, number in db.execute(
                f"""SELECT v.search_id, v.field, v.value, t.text, r.file_name, v.row_number
                    FROM search_versions v JOIN releases r ON r.id = v.release_id
                    LEFT JOIN reasons t ON v.field = 'reason_id' AND t.id = v.value
                    WHERE v.search_id IN ({','.join('?' * len(chunk))})
                    ORDER BY v.search_id, v.field, r.file_name, v.row_number""", chunk):
            shown = text if column == "reason_id" and text is not None else value
            shown = str(shown)
            shown = shown if len(shown) <= 80 else shown[:77] + "..."
            found.setdefault(sid, {}).setdefault(column, []).append(f"{shown!r} ({file_name}, row {number})")
    return {sid: "; ".join(f"{field_name(column)} contested between releases (release.versions_differ): "
                           + " against ".join(versions)
                           + (", judged by every version's text" if column == "reason_id" else "")
                           for column, versions in fields.items())
            for sid, fields in found.items()}
