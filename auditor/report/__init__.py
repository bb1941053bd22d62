"""Reports of an audited store: HTML (self-contained, inline SVG), Markdown, JSON and CSV.

    report = build_report(db, store="store.db")   # plain data: sections read from the last run
    write_report(db, "report.html")                 # format from the extension, written atomically

CSV is the exception to "build, then write": it streams every per-search finding from SQLite.
"""
from __future__ import annotations

from pathlib import Path
from typing import TextIO

import sqlite_utils

from auditor.errors import InputError
from auditor.pseudonym import NOTE as PSEUDONYM_NOTE, Pseudonymizer
from auditor.report.build import EXAMPLES_PER_RULE, SECTIONS, Report, build_report, latest_run, source_cite
from auditor.report.render_csv import COLUMNS as CSV_COLUMNS, safe_cell, write_csv
from auditor.report.render_html import render_html, write_html
from auditor.report.render_text import md_cell, render_markdown, write_json, write_markdown

FORMATS = ("html", "csv", "json", "md")
_EXTENSIONS = {".html": "html", ".htm": "html", ".csv": "csv", ".json": "json", ".md": "md", ".markdown": "md"}

__all__ = [
    "CSV_COLUMNS", "EXAMPLES_PER_RULE", "FORMATS", "SECTIONS", "Report", "build_report", "format_for",
    "is_report_file", "latest_run", "md_cell",
    "render_html", "render_markdown", "safe_cell", "source_cite", "write_csv", "write_html", "write_json",
    "write_markdown", "write_report", "write_report_to",
]


def format_for(path: str | Path) -> str:
    """The report format a file name asks for by its extension; HTML when it says nothing."""
    return _EXTENSIONS.get(Path(str(path)).suffix.lower(), "html")


def is_report_file(path: str | Path) -> bool:
    """True when an existing file is a report this module wrote (in any format), which a new
    report may replace; anything else (the store, a release, the user's notes) it may not."""
    from auditor.outputs import head

    start = head(Path(path)).decode("utf-8", "replace")
    return (start.startswith("# proxytrace audit report")
            or start.startswith('{\n  "store": ')
            or start.split("\r\n", 1)[0].split("\n", 1)[0] == ",".join(CSV_COLUMNS)
            or (start.startswith("<!DOCTYPE html>") and "<title>proxytrace report: " in start))


def write_report_to(
    db: sqlite_utils.Database,
    out: TextIO,
    fmt: str,
    *,
    store: str = "store",
    examples_per_rule: int = EXAMPLES_PER_RULE,
    pseudonymizer: Pseudonymizer | None = None,
) -> Report | int:
    """Write one report format to an open text stream (standard output, a test's buffer).

    Returns the :class:`Report` written (html, json, md) or the number of finding rows (csv). With a
    ``pseudonymizer``, plates, officer names and case numbers are replaced by keyed tokens and the
    report says so.
    """
    if fmt not in FORMATS:
        raise InputError(f"unknown report format {fmt!r}; choose one of {', '.join(FORMATS)}")
    # A report may be published: it names the store by its file name, never the auditor's folders.
    store = Path(store).name or store
    if fmt == "csv":
        return write_csv(db, out, store=store, pseudonymizer=pseudonymizer)
    report = build_report(db, store=store, examples_per_rule=examples_per_rule)
    if pseudonymizer is not None:
        report = pseudonymizer.walk(report)
        report.notes.insert(0, PSEUDONYM_NOTE)
    {"html": write_html, "json": write_json, "md": write_markdown}[fmt](report, out)
    return report


def write_report(
    db: sqlite_utils.Database,
    path: str | Path,
    fmt: str | None = None,
    *,
    store: str = "store",
    examples_per_rule: int = EXAMPLES_PER_RULE,
    pseudonymizer: Pseudonymizer | None = None,
) -> Report | int:
    """Write the report file atomically: to a temporary file beside it, then renamed over it.

    A reader never sees half a report, and a failed write leaves any earlier report in place
    (:func:`auditor.outputs.write_beside`). The format comes from ``fmt`` or else the file's
    extension. Raises InputError (one line) when the store was never audited or the file cannot be
    written. Callers that take the path from a user check it first (`outputs.check_target`): a
    report never replaces the store, a release or a file that is not an earlier report.
    """
    from auditor.outputs import write_beside

    fmt = fmt or format_for(path)
    if fmt not in FORMATS:
        raise InputError(f"unknown report format {fmt!r}; choose one of {', '.join(FORMATS)}")
    latest_run(db, store)  # fail before creating the output file
    return write_beside(Path(path), lambda out: write_report_to(db, out, fmt, store=store,
                                                                examples_per_rule=examples_per_rule,
                                                                pseudonymizer=pseudonymizer),
                        what="report", newline="" if fmt == "csv" else None)
