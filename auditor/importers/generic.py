"""Any other CSV, described by a column map: canonical field -> source column, plus a time format.

A column map is a small TOML file::

    [columns]            # canonical field = "header in the file"
    time = "Query Date"
    searcher = "Agency"
    reason = "Purpose"
    [options]
    time_format = "%d.%m.%Y %H:%M"   # or "flock", "iso", "excel", "auto" (flock or ISO, the default)
    audit_kind = "organization"      # network | organization | unknown
    producer = "Example County SO"
    system = "clets"                 # a statewide-database log: see auditor.importers.statewide

or a two-column CSV (`field,column`) whose rows may also set `time_format`, `audit_kind`, `producer`,
`system`.
"""
from __future__ import annotations

import csv
import tomllib
from pathlib import Path
from typing import Callable

from auditor.errors import InputError
from auditor.files import MAP_CAP, read_small
from auditor.importers.headers import fold
from auditor.importers.cells import strptime_time
from auditor.importers.plan import Plan, placeholder_producer
from auditor.importers.searches import FIELDS, Layout
from auditor.importers.statewide import StatewideMap, read_statewide

_OPTIONS = ("time_format", "audit_kind", "producer", "system")
_TABLES = ("columns", "options", "query_types")
_KINDS = ("network", "organization", "unknown")


def read_column_map(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """(field -> source column, options) from a TOML or CSV column map; bad maps are InputErrors.

    A statewide-database log (CLETS) also maps `query_type` and sets the option `system`; a TOML
    map's `[query_types]` table is read by :func:`read_query_types`.
    """
    text = _read_map(path)
    columns: dict[str, str] = {}
    options: dict[str, str] = {}
    if path.suffix.lower() == ".toml":
        data = _toml_map(path, text)
        columns = _string_table(path, data, "columns")
        options = _string_table(path, data, "options")
        stray = [k for k in options if k not in _OPTIONS]
        if stray:  # a typo (`sytem`, `time_fromat`) would silently import a CLETS log as ALPR
            raise InputError(f"{path}: unknown option(s) {', '.join(map(repr, stray))} in [options]; "
                             f"known: {', '.join(_OPTIONS)}")
    else:
        for row in csv.reader(text.splitlines()):
            if len(row) < 2 or not row[0].strip() or fold(row[0]) in ("field", "canonical field"):
                continue
            key = row[0].strip()
            (options if key in _OPTIONS else columns)[key] = row[1]
    unknown = [k for k in columns if k not in FIELDS and k != "query_type"]
    if unknown:
        raise InputError(f"{path}: unknown canonical field(s) {', '.join(unknown)}; known: {', '.join(FIELDS)}, query_type")
    if "query_type" in columns and "system" not in options:
        raise InputError(f"{path}: a column map that maps query_type must set the option system (e.g. \"clets\")")
    if "time" not in columns:
        raise InputError(f"{path}: the column map must name the column holding `time`")
    if options.get("audit_kind", "unknown") not in _KINDS:
        raise InputError(f"{path}: audit_kind must be one of {', '.join(_KINDS)}")
    return columns, options


def read_query_types(path: Path) -> dict[str, str]:
    """A TOML column map's `[query_types]` table (the log's labels -> canonical query types)."""
    if path.suffix.lower() != ".toml":
        return {}
    return _string_table(path, _toml_map(path, _read_map(path)), "query_types")


def _read_map(path: Path) -> str:
    """A column map's text: a regular file of at most 1 MB, UTF-8 (with or without a BOM)."""
    raw = read_small(path, "column-map file", MAP_CAP)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: column map is not UTF-8 text (byte {e.start})") from None


def _toml_map(path: Path, text: str) -> dict:
    """A TOML column map's tables, refusing any top-level key but `columns`, `options`, `query_types`."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"{path}: not valid TOML: {e}") from None
    stray = [k for k in data if k not in _TABLES]
    if stray:
        raise InputError(f"{path}: unknown key(s) {', '.join(map(repr, stray))} in the column map; "
                         f"known tables: {', '.join('[' + t + ']' for t in _TABLES)}")
    return data


def _string_table(path: Path, data: dict, name: str) -> dict[str, str]:
    """One table of a TOML column map, every value a string: a number or a list is refused."""
    table = data.get(name, {})
    if not isinstance(table, dict):
        raise InputError(f"{path}: `{name}` must be a table ([{name}] with name = \"value\" lines), "
                         f"not {_toml_type(table)}")
    for key, value in table.items():
        if not isinstance(value, str):
            raise InputError(f"{path}: [{name}] {key} must be a string (in quotes), not {_toml_type(value)}")
    return dict(table)


def _toml_type(value: object) -> str:
    return {str: "a string", int: "a number", float: "a number", bool: "true/false", list: "a list",
            dict: "a table"}.get(type(value), type(value).__name__)


def time_parser(time_format: str) -> Callable[[str], str | None] | None:
    """The parser for a map's `time_format` (None = the default Flock-or-ISO parser)."""
    if time_format in ("", "auto", "flock", "iso"):
        return None
    if time_format == "excel":
        return None  # the default reader with Excel serials on (Plan.serial_times)
    return strptime_time(time_format)


def plan(header: list[str], stem: str, column_map: Path, *, owner: str | None, producer: str | None) -> Plan:
    """Place each mapped field by its header name (compared after folding case and spacing)."""
    mapping, options = read_column_map(column_map)
    system, query_labels = read_statewide(options.get("system"), read_query_types(column_map), str(column_map))
    folded = {}
    for i, name in enumerate(header):
        folded.setdefault(fold(name), i)
    columns: dict[str, int] = {}
    absent = []
    for field, source in mapping.items():
        if fold(source) in folded:
            columns[field] = folded[fold(source)]
        else:
            absent.append(source)
    if absent:
        found = ", ".join(repr(h.strip()) for h in header[:12])
        raise InputError(f"column map names column(s) {', '.join(map(repr, absent))} not in the file; found {found}")
    kind = "network" if owner else options.get("audit_kind", "unknown")
    who = owner or producer or options.get("producer")
    notes = [f"generic CSV read with column map {column_map.name}"]
    shared: dict[int, list[str]] = {}
    for field, i in columns.items():
        shared.setdefault(i, []).append(field)
    for i, fields in shared.items():
        if len(fields) > 1:  # legal (one column can hold two facts) but more often a slip: say so
            notes.append(f"column {header[i].strip()!r} is mapped to {len(fields)} fields: {', '.join(fields)}")
    if who is None and kind != "unknown":
        who = placeholder_producer(stem)
        notes.append(f"no producer named: recorded as {who!r}")
    query_type_column = columns.pop("query_type", None)
    labels = {field: header[i].strip() for field, i in columns.items()}
    layout = Layout(columns, len(header), labels, time_parser(options.get("time_format", "auto")))
    plan = Plan("generic", kind, who, layout, notes, serial_times=options.get("time_format") == "excel",
                date_order="mdy" if options.get("time_format") == "flock" else None)
    if system is not None:
        plan.statewide = StatewideMap(system, query_type_column, query_labels)
        notes.append(f"a {system} log: each row's system and query type are set after loading")
    return plan
