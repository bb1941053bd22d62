"""Reports of an audited store: HTML (self-contained, inline SVG), Markdown, JSON and CSV.

    report = build_report(db, store="store.db")   # plain data: sections read from the last run
    write_report(db, "report.html")                 # format from the extension, written atomically

CSV is the exception to "build, then write": it streams every per-search finding from SQLite.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TextIO

import sqlite_utils

from auditor.errors import InputError
from auditor.report.build import EXAMPLES_PER_RULE, SECTIONS, Report, build_report, latest_run, source_cite
from auditor.report.render_csv import COLUMNS as CSV_COLUMNS, safe_cell, write_csv
from auditor.report.render_html import render_html, write_html
from auditor.report.render_text import md_cell, render_markdown, write_json, write_markdown

FORMATS = ("html", "csv", "json", "md")
_EXTENSIONS = {".html": "html", ".htm": "html", ".csv": "csv", ".json": "json", ".md": "md", ".markdown": "md"}

__all__ = [
    "CSV_COLUMNS", "EXAMPLES_PER_RULE", "FORMATS", "SECTIONS", "Report", "build_report", "format_for", "latest_run", "md_cell",
    "render_html", "render_markdown", "safe_cell", "source_cite", "write_csv", "write_html", "write_json",
    "write_markdown", "write_report", "write_report_to",
]


def format_for(path: str | Path) -> str:
    """The report format a file name asks for by its extension; HTML when it says nothing."""
    return _EXTENSIONS.get(Path(str(path)).suffix.lower(), "html")


def write_report_to(
    db: sqlite_utils.Database,
    out: TextIO,
    fmt: str,
    *,
    store: str = "store",
    examples_per_rule: int = EXAMPLES_PER_RULE,
) -> Report | int:
    """Write one report format to an open text stream (standard output, a test's buffer).

    Returns the :class:`Report` written (html, json, md) or the number of finding rows (csv).
    """
    if fmt not in FORMATS:
        raise InputError(f"unknown report format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "csv":
        return write_csv(db, out, store=store)
    report = build_report(db, store=store, examples_per_rule=examples_per_rule)
    {"html": write_html, "json": write_json, "md": write_markdown}[fmt](report, out)
    return report


def write_report(
    db: sqlite_utils.Database,
    path: str | Path,
    fmt: str | None = None,
    *,
    store: str = "store",
    examples_per_rule: int = EXAMPLES_PER_RULE,
) -> Report | int:
    """Write the report file atomically: to a hidden partial file beside it, then renamed over it.

    A reader never sees half a report, and a failed write leaves any earlier report in place.
    The format comes from ``fmt`` or else the file's extension. Raises InputError (one line) when
    the store was never audited or the file cannot be written.
    """
    fmt = fmt or format_for(path)
    if fmt not in FORMATS:
        raise InputError(f"unknown report format {fmt!r}; choose one of {', '.join(FORMATS)}")
    latest_run(db, store)  # fail before creating the output file
    target = Path(path)
    partial = target.with_name(f".{target.name}.partial")
    try:
        with open(partial, "w", encoding="utf-8", newline="" if fmt == "csv" else None) as out:
            result = write_report_to(db, out, fmt, store=store, examples_per_rule=examples_per_rule)
        os.replace(partial, target)
    except OSError as e:
        partial.unlink(missing_ok=True)
        raise InputError(f"{path}: cannot write report: {e.strerror or e}") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return result
