"""The CSV report: every per-search finding, one row each, streamed straight from SQLite.

`source_page` and `source_line` say where the cited row is in a PDF release (blank for CSV and xlsx).
`contested` names every version of a field releases disagree about, with its release and row
(blank when they agree): the finding rests on the settled value, which the cited row may not carry.

No cap and no list in memory: the cursor is iterated row by row into ``csv.writer``. Cells a
spreadsheet would run as a formula (leading ``=``, ``+``, ``-``, ``@``, tab, carriage return) get a
leading ``'``; numbers stay numbers.
"""
from __future__ import annotations

import csv
from functools import lru_cache
from typing import Any, TextIO

import sqlite_utils

from auditor.facts import first_release_sql, first_row_sql, judged_state_sql
from auditor.importers.versions import contested
from auditor.rules.citations import Citer
from auditor.rules.laws import law_states
from auditor.report.build import latest_run
from auditor.untrusted import visible

COLUMNS = ("rule_id", "severity", "citation", "search_id", "time", "searcher", "owner", "beneficiary", "door",
           "reason", "source_release", "source_row", "trace", "citation_jurisdiction", "source_page", "source_line",
           "finding", "contested")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# The first sighting (auditor.facts.first_row_sql) is the cited source; a simulated search has none.
@lru_cache(maxsize=1)
def _sql() -> str:
    return f"""
    SELECT f.rule_id, f.severity, r.citation, f.search_id, s.time, sa.name, oa.name, ba.name, t.door, rs.text,
           COALESCE(rel.file_name, 'simulated search ' || f.search_id),
           {first_row_sql("f.search_id")} AS first_row, t.path,
           {judged_state_sql("t", "oa", "sa", "f.rule_id", law_states())}, t.owner_id IS NOT NULL,
           rr.page, rr.line, {{versioned}}
    FROM findings f
    JOIN rules r ON r.rule_id = f.rule_id
    JOIN searches s ON s.id = f.search_id
    LEFT JOIN agencies sa ON sa.id = s.searcher_id
    LEFT JOIN reasons rs ON rs.id = s.reason_id
    LEFT JOIN traces t ON t.id = f.trace_id
    LEFT JOIN agencies oa ON oa.id = t.owner_id
    LEFT JOIN agencies ba ON ba.id = t.beneficiary_id AND t.beneficiary_id IS NOT t.searcher_id
    LEFT JOIN releases rel ON rel.id = {first_release_sql("f.search_id")}
    LEFT JOIN release_rows rr ON rr.release_id = rel.id AND rr.row_number = {first_row_sql("f.search_id")}
    WHERE f.run_id = ? AND f.search_id IS NOT NULL
    ORDER BY f.rule_id, f.id
"""


def safe_cell(value: Any) -> Any:
    """Neutralize a text cell a spreadsheet would evaluate or a terminal would act on (control
    characters become visible escapes); leave numbers and blanks alone."""
    if not isinstance(value, str):
        return value
    value = visible(value)
    return "'" + value if value.startswith(_FORMULA_START) else value


def write_csv(db: sqlite_utils.Database, out: TextIO, *, store: str = "store", pseudonymizer: Any = None) -> int:
    """Write every per-search finding of the latest run; returns the number of finding rows written.

    A ``pseudonymizer`` (:class:`auditor.pseudonym.Pseudonymizer`) replaces the store's plates,
    officer names and case numbers wherever they appear in a cell."""
    run = latest_run(db, store)
    citer = Citer()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    written = 0
    scrub = pseudonymizer.text if pseudonymizer is not None else None
    # A search releases disagree about is flagged by the query (one primary-key probe) and its
    # versions read only then: memory does not grow with the findings.
    versioned = ("EXISTS (SELECT 1 FROM search_versions v WHERE v.search_id = f.search_id)"
                 if db["search_versions"].exists() else "0")
    for row in db.execute(_sql().replace("{versioned}", versioned), [run["id"]]):
        # The citation is the one of the jurisdiction the finding is judged by (auditor.rules.citations).
        cited = citer(row[0], row[13], bool(row[14]), row[2])
        finding = citer.statement(row[0], {"searcher": row[5], "owner": row[6], "beneficiary": row[7]}, row[0])
        values = (row[0], row[1], cited.text, *row[3:13], cited.jurisdiction, row[15], row[16], finding,
                  contested(db, [row[3]]).get(row[3]) if row[17] else None)
        if scrub is not None:
            values = [scrub(v) if isinstance(v, str) else v for v in values]
        writer.writerow([safe_cell(v) for v in values])
        written += 1
    return written
