"""Is a release whole? Checks run on import: a row count at an export limit, a cut last record, rows
that stop (or start) well inside the period the file name states.

Each check that fires is written to `release_checks` (release, kind, detail saying what is likely
missing) and to the release's notes; the aggregate rule `release.incomplete` turns them into
findings at `audit run`. Counts here are rows of the release, not de-duplicated searches.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import sqlite_utils

from auditor.facts import STORE_TIME_FORMAT

# Row counts at which an export or a spreadsheet stops (the count of data rows, or of sheet rows
# with the header). Sources: Microsoft, "Excel specifications and limits" (1,048,576 rows per
# worksheet); .xls sheets hold 65,536 rows and Excel 5/95 sheets 16,384 (the .xls limit is how
# Public Health England lost 15,841 cases in October 2020, ICAEW Excel Tip of the Week #366).
EXPORT_LIMITS = {
    1_048_576: "the 1,048,576-row limit of an Excel (.xlsx) or LibreOffice sheet",
    65_536: "the 65,536-row limit of an Excel 97-2003 (.xls) sheet",
    16_384: "the 16,384-row limit of an Excel 5/95 sheet",
}
# Round counts a query tool or portal stops at ("first N results"): a count exactly this round is
# far likelier a cap than chance.
ROUND_LIMITS = (1_000_000, 500_000, 250_000, 100_000, 50_000, 25_000, 10_000)

# `11_1_2025-12_8_2025-...`: Flock names an export by the first and last day of its period (M_D_YYYY),
# at the start of the name; agencies that rename files put it at the end
# (`<Agency>_Organization_Audit_1_1_2025-1_31_2025`).
_PERIOD = re.compile(r"(?:^|[-_ ])(\d{1,2})_(\d{1,2})_(\d{4})-(\d{1,2})_(\d{1,2})_(\d{4})(?=[-_ .]|$)")

# Rejected rows. A clean export rejects nothing: every real release imported here (about 60,000
# rows from Eugene OR, Okaloosa FL, San Mateo CA and Irvine CA) has 0 rejected rows. A hand-edited
# file loses a few rows to typos; past 1 row in 100 the loss is no longer a few typos but a part of
# the release the audit does not see, large enough to move a rate (a vague-reason share, a count
# of immigration searches) by a point. Ten or more rows rejected for one reason are a pattern (a
# date form or a shifted column), which no stray typo makes and which recurs in the producer's
# other files: that is flagged whatever its share.
REJECT_SHARE = 0.01
CLUSTER_ROWS = 10


def limit_reached(rows_read: int, last_row: int) -> str | None:
    """Which export limit a release's row count sits at, or None.

    ``rows_read`` counts data records; ``last_row`` is the last record's row number (the header is
    row 1 of a sheet or CSV), so a full sheet of 1,048,576 rows is 1,048,575 records plus a header.
    """
    for limit, what in EXPORT_LIMITS.items():
        if last_row == limit:
            return f"the last row is row {limit:,}: {what} (header included)"
        if rows_read == limit:
            return f"{limit:,} data rows: {what}"
        if rows_read == limit - 1 and last_row != limit:
            return f"{rows_read:,} data rows: {what}, less its header row"
    for limit in ROUND_LIMITS:
        if rows_read == limit or last_row == limit:
            which = "data rows" if rows_read == limit else "rows with the header"
            return f"exactly {limit:,} {which}: a round cap an export or query tool stops at"
    return None


def period_from_name(stem: str) -> tuple[date, date] | None:
    """The (first, last) day a Flock export's file name states, or None (or when it is not a date)."""
    m = _PERIOD.search(stem)
    if not m:
        return None
    a, b, c, d, e, f = (int(x) for x in m.groups())
    try:
        first, last = date(c, a, b), date(f, d, e)
    except ValueError:
        return None
    return (first, last) if first <= last else None


def _iso(t: str) -> datetime:
    return datetime.strptime(t, STORE_TIME_FORMAT).replace(tzinfo=timezone.utc)


def _days(seconds: float) -> str:
    return f"{seconds / 86400:.1f} days"


def period_gaps(db: sqlite_utils.Database, release_id: int, stem: str) -> list[tuple[str, str]]:
    """(kind, detail) when the release's rows stop before, or start after, the period its name states.

    "Well before" means a stretch longer than any gap between two consecutive searches inside the
    release and at least a day: the log never went that long without a search, so the stretch is
    likely missing rather than quiet. The estimate of what is missing uses the release's own rate.
    """
    period = period_from_name(stem)
    if period is None:
        return []
    row = db.execute(
        """SELECT min(s.time), max(s.time), count(*),
                  max(julianday(s.time) - julianday(prev)) * 86400
           FROM (SELECT s.time, lag(s.time) OVER (ORDER BY s.time) AS prev
                 FROM sightings g JOIN searches s ON s.id = g.search_id WHERE g.release_id = ?) s""",
        [release_id],
    ).fetchone()
    first, last, n, longest = row
    if not n or n < 2 or first is None:
        return []
    start = datetime(period[0].year, period[0].month, period[0].day, tzinfo=timezone.utc)
    end = datetime(period[1].year, period[1].month, period[1].day, tzinfo=timezone.utc) + timedelta(days=1)
    t0, t1 = _iso(first), _iso(last)
    inside = db.execute(
        """SELECT count(*) FROM sightings g JOIN searches s ON s.id = g.search_id
           WHERE g.release_id = ? AND s.time >= ? AND s.time < ?""",
        [release_id, start.strftime(STORE_TIME_FORMAT), end.strftime(STORE_TIME_FORMAT)]).fetchone()[0]
    if inside * 2 < n:
        # Most rows fall outside the stated period: the name is wrong (a file renamed, or saved over
        # another month's), not the rows. The period is read from the rows, and gaps are not judged
        # against a period the release does not cover.
        return [("period_mismatch", (
            f"the file name states {period[0]:%Y-%m-%d} to {period[1]:%Y-%m-%d} but {n - inside:,} of its {n:,} "
            f"rows fall outside it: its rows run from {first} to {last}; the period is read from the rows"))]
    span = max((t1 - t0).total_seconds(), 1.0)
    rate = n / span * 86400  # rows per day while the log ran
    threshold = max(float(longest or 0), 86400.0)

    def missing(seconds: float) -> str:
        # A rate needs a day of rows and a few of them; a smaller release gives no estimate.
        if span < 86400 or n < 20:
            return "rows are likely missing (too few rows to estimate how many)"
        return f"about {rate * seconds / 86400:,.0f} rows likely missing at the release's rate of {rate:,.0f} a day"

    out = []
    stated = f"the file name states {period[0]:%Y-%m-%d} to {period[1]:%Y-%m-%d}"
    gap = f"longer than any gap between searches in the release ({_days(float(longest or 0))})"
    tail = (end - t1).total_seconds()
    if tail > threshold:
        out.append(("period_tail", f"{stated} but the last row is at {last}, {_days(tail)} before the period ends, "
                                   f"{gap}; {missing(tail)}"))
    head = (t0 - start).total_seconds()
    if head > threshold:
        out.append(("period_head", f"{stated} but the first row is at {first}, {_days(head)} after the period "
                                   f"begins, {gap}; {missing(head)}"))
    return out


def top_reject_reasons(db: sqlite_utils.Database, release_id: int, *, skip_row: int | None = None,
                       limit: int = 3) -> list[tuple[str, int]]:
    """The commonest reasons a release's rows were rejected for (without the quoted cell), with row counts."""
    return db.execute(
        """SELECT CASE WHEN instr(why, :quote) > 0 THEN substr(why, 1, instr(why, :quote) - 1) ELSE why END AS kind,
                  count(*) AS n
           FROM rejects WHERE release_id = :release AND row_number IS NOT :skip
           GROUP BY kind ORDER BY n DESC, kind LIMIT :limit""",
        {"quote": ": '", "release": release_id, "skip": skip_row, "limit": limit}).fetchall()


def rejected_rows(db: sqlite_utils.Database, release_id: int, *, skip_row: int | None = None
                  ) -> tuple[str, str] | None:
    """(kind, detail) when a release lost more rows to rejects than :data:`REJECT_SHARE` of its
    records, or :data:`CLUSTER_ROWS` or more to one reason; None otherwise.

    Padding (blank or counter-only records) is not counted: those were never searches. A row
    ``skip_row`` already reported (a cut last record) is not counted twice.
    """
    read, padding = db.execute("SELECT rows_read, coalesce(rows_padding, 0) FROM releases WHERE id = ?",
                               [release_id]).fetchone()
    rejected = db.execute("SELECT count(*) FROM rejects WHERE release_id = ? AND row_number IS NOT ?",
                          [release_id, skip_row]).fetchone()[0]
    records = (read or 0) - (padding or 0)
    if not rejected or records <= 0:
        return None
    top = top_reject_reasons(db, release_id, skip_row=skip_row)
    share = rejected / records
    if share <= REJECT_SHARE and top[0][1] < CLUSTER_ROWS:
        return None
    why = (f"more than {REJECT_SHARE:.0%} of its rows" if share > REJECT_SHARE
           else f"{CLUSTER_ROWS} or more rows for one reason")
    reasons = "; ".join(f"{kind} {n:,}" for kind, n in top)
    return ("rejected_rows", (
        f"{rejected:,} of {records:,} rows ({share:.1%}) were rejected at import ({why}) and are missing from "
        f"the audit: {reasons}"))


def incomplete_releases(db: sqlite_utils.Database) -> list[dict]:
    """Every check that found a complete release's rows missing: file name, kind and detail, by release.

    A period mismatch is a check too, but says nothing is missing: it is left out here.
    """
    if not db["release_checks"].exists():
        return []
    return [{"file_name": f, "kind": k, "detail": d} for f, k, d in db.execute(
        """SELECT r.file_name, c.kind, c.detail FROM release_checks c JOIN releases r ON r.id = c.release_id
           WHERE r.status = 'complete' AND c.kind != 'period_mismatch' ORDER BY r.id, c.id""")]


# How an import note names each check: rejects are rows certainly missing; the others are likely.
_WORD = {"rejected_rows": "incomplete", "period_mismatch": "release check"}


def check_release(db: sqlite_utils.Database, release_id: int, stem: str, *, last_row: int,
                  cut_record: str | None = None, unread: str | None = None) -> list[str]:
    """Run every check on a loaded release; record what fires in `release_checks` and return notes.

    ``cut_record`` is what the reader saw of a last record cut short (None when it ended cleanly);
    ``unread`` names parts of the file the reader could not read (a PDF's scanned pages).
    """
    rows_read, padding = db.execute("SELECT rows_read, coalesce(rows_padding, 0) FROM releases WHERE id = ?",
                                    [release_id]).fetchone()
    if padding:
        # Padding after the data (a sheet formatted down to row 1,048,576) is no sign of a cut: the
        # limit is judged at the last row that holds a search or a reject.
        held = db.execute("""SELECT max(n) FROM (SELECT max(row_number) AS n FROM sightings WHERE release_id = :r
                             UNION ALL SELECT max(row_number) FROM rejects WHERE release_id = :r)""",
                          {"r": release_id}).fetchone()[0]
        if held is not None and held < last_row:
            rows_read, last_row = rows_read - (last_row - held), held
    checks: list[tuple[str, str]] = []
    limit = limit_reached(rows_read, last_row)
    if limit:
        checks.append(("row_limit", (
            f"{limit}; rows after it were likely cut off by the export: ask for the rest, "
            "or for the log split by month")))
    if cut_record:
        checks.append(("cut_record", (
            f"{cut_record}; the rest of that record and any rows after it are missing "
            "(the file was likely cut in transfer or by a size limit)")))
    if unread:
        checks.append(("unread_pages", f"{unread}: the rows printed there are missing until they are OCRed"))
    rejects = rejected_rows(db, release_id, skip_row=last_row if cut_record else None)
    if rejects:
        checks.append(rejects)
    checks.extend(period_gaps(db, release_id, stem))
    named = _PERIOD.search(stem)
    unread_period = None
    if named and period_from_name(stem) is None:
        unread_period = (f"the file name's period {named.group(0).strip('-_ ')!r} is not a range of real days "
                         "(inverted or impossible): the period checks were not run")
    conn = db.conn
    with conn:
        conn.execute("DELETE FROM release_checks WHERE release_id = ?", [release_id])
        conn.executemany("INSERT INTO release_checks (release_id, kind, detail) VALUES (?, ?, ?)",
                         [(release_id, kind, detail) for kind, detail in checks])
        notes = [f"{_WORD.get(kind, 'possibly incomplete')} ({kind}): {detail}" for kind, detail in checks]
        if unread_period:
            notes.append(unread_period)
        if notes:
            old = conn.execute("SELECT notes FROM releases WHERE id = ?", [release_id]).fetchone()[0]
            conn.execute("UPDATE releases SET notes = ? WHERE id = ?",
                         ["; ".join(filter(None, [old, *notes])), release_id])
    return notes
