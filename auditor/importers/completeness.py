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

# `11_1_2025-12_8_2025-...`: Flock names an export by the first and last day of its period (M_D_YYYY).
_PERIOD = re.compile(r"^(\d{1,2})_(\d{1,2})_(\d{4})-(\d{1,2})_(\d{1,2})_(\d{4})(?:[-_ ]|$)")


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
    m = _PERIOD.match(stem)
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


def check_release(db: sqlite_utils.Database, release_id: int, stem: str, *, last_row: int,
                  cut_record: str | None = None, unread: str | None = None) -> list[str]:
    """Run every check on a loaded release; record what fires in `release_checks` and return notes.

    ``cut_record`` is what the reader saw of a last record cut short (None when it ended cleanly);
    ``unread`` names parts of the file the reader could not read (a PDF's scanned pages).
    """
    rows_read = db.execute("SELECT rows_read FROM releases WHERE id = ?", [release_id]).fetchone()[0]
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
    checks.extend(period_gaps(db, release_id, stem))
    conn = db.conn
    with conn:
        conn.execute("DELETE FROM release_checks WHERE release_id = ?", [release_id])
        conn.executemany("INSERT INTO release_checks (release_id, kind, detail) VALUES (?, ?, ?)",
                         [(release_id, kind, detail) for kind, detail in checks])
        notes = [f"possibly incomplete ({kind}): {detail}" for kind, detail in checks]
        if notes:
            old = conn.execute("SELECT notes FROM releases WHERE id = ?", [release_id]).fetchone()[0]
            conn.execute("UPDATE releases SET notes = ? WHERE id = ?",
                         ["; ".join(filter(None, [old, *notes])), release_id])
    return notes
