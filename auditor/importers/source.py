"""Reading a release file as records: checksum, encoding, CSV dialect quirks, xlsx sheets.

A *record* is a list of cell strings. Row numbers are the ones a person sees in the original: for a
CSV the record number counting the header record as 1 (a record whose quoted cell spans two lines
is still one record), for a spreadsheet the sheet's row number. Both put the first data row at 2.
"""
from __future__ import annotations

import codecs
import csv
import hashlib
import io
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Iterator

from auditor.errors import InputError

# Big enough for any real cell (a long reason, a multi-line time frame); a larger field is a broken
# quote that swallowed the rest of the file, and that record is rejected with the csv error.
FIELD_LIMIT = 1 << 20
csv.field_size_limit(FIELD_LIMIT)

_CHUNK = 1 << 20
XLSX_MAGIC = b"PK\x03\x04"


@dataclass
class FileFacts:
    """What one pass over the bytes tells us before parsing."""

    path: Path
    sha256: str
    size: int
    encoding: str
    has_nul: bool
    notes: list[str] = field(default_factory=list)


def read_facts(path: Path) -> FileFacts:
    """Hash the file and choose its text encoding in a single streaming pass.

    UTF-8 (with or without BOM) and UTF-16 with a BOM are taken as such; bytes that are not UTF-8
    are decoded as Windows-1252 (or Latin-1 when 1252 cannot), and the release notes say so.
    """
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a release file")
    digest = hashlib.sha256()
    utf8 = codecs.getincrementaldecoder("utf-8")()
    utf8_ok = True
    has_nul = False
    size = 0
    head = b""
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                if not head:
                    head = chunk[:4]
                digest.update(chunk)
                size += len(chunk)
                if not has_nul and b"\x00" in chunk:
                    has_nul = True
                if utf8_ok:
                    try:
                        utf8.decode(chunk)
                    except UnicodeDecodeError:
                        utf8_ok = False
            if utf8_ok:
                try:
                    utf8.decode(b"", final=True)
                except UnicodeDecodeError:
                    utf8_ok = False  # the file ends inside a multi-byte character: truncated
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror}") from None
    if size == 0:
        raise InputError(f"{path}: empty file (0 bytes), nothing to import")
    notes: list[str] = []
    if head.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding, has_nul = "utf-16", False
        notes.append("decoded as UTF-16 (byte-order mark)")
    elif len(head) >= 4 and head[1] == 0 and head[3] == 0 and head[0] != 0:
        encoding, has_nul = "utf-16-le", False  # UTF-16 without a BOM: every other byte is NUL
        notes.append("decoded as UTF-16-LE (no byte-order mark; inferred from the NUL pattern)")
    elif utf8_ok:
        encoding = "utf-8"
    else:
        encoding = "cp1252" if _decodes(path, "cp1252") else "latin-1"
        notes.append(f"not valid UTF-8: decoded as {encoding}")
    return FileFacts(path, digest.hexdigest(), size, encoding, has_nul, notes)


def _decodes(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                decoder.decode(chunk)
        return True
    except UnicodeDecodeError:
        return False


def is_xlsx(path: Path) -> bool:
    """True for an Office Open XML workbook (a zip), whatever the file's extension says."""
    with open(path, "rb") as fh:
        return fh.read(4) == XLSX_MAGIC


class CsvRecords:
    """The records of a CSV file after its header, counting what csv itself could not read.

    Iterating yields ``(record, why)``: ``why`` is None for a record csv parsed, or a reason for a
    record it could not parse (then ``record`` holds what is known, often nothing).
    """

    def __init__(self, facts: FileFacts):
        self.facts = facts
        try:
            self._fh = open(facts.path, encoding=facts.encoding, newline="", errors="strict")
            self._reader = csv.reader(self._fh)
            self.header = self._read_header()
        except UnicodeDecodeError as e:
            raise InputError(f"{facts.path.name}: cannot decode as {facts.encoding}: {e.reason}") from None

    def _read_header(self) -> list[str]:
        self.header_row = 0
        while True:
            self.header_row += 1
            try:
                header = next(self._reader)
            except StopIteration:
                raise InputError(f"{self.facts.path.name}: no header record (the file has no CSV records)") from None
            except csv.Error as e:
                raise InputError(f"{self.facts.path.name}: header record unreadable: {e}") from None
            if any(cell.strip() for cell in header):
                return header
            # Blank lines before the header are skipped; csv yields [] for them.

    def __iter__(self) -> Iterator[list[str]]:
        """Raw csv records; a record csv cannot parse comes out as a one-element marker list."""
        reader = self._reader
        while True:
            try:
                yield from reader
                return
            except csv.Error as e:
                # The reader resumes at the next line after an error; the bad record is reported.
                yield [CSV_ERROR, str(e)]

    def close(self) -> None:
        self._fh.close()


# A sentinel first cell marking a record csv could not parse (a real cell can never be this object).
CSV_ERROR = "\x00csv-error\x00"


def cell_text(value: object) -> str:
    """A spreadsheet cell as text the importers parse like a CSV cell."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.strftime("%Y-%m-%d 00:00:00")
    if isinstance(value, time):
        return value.strftime("%H:%M:%S")
    return str(value)


@dataclass
class Sheet:
    """One worksheet: its title, its header and an iterator over its data rows (as text)."""

    title: str
    header: list[str]
    rows: Iterator[list[str]]
    header_row: int


def workbook_sheets(path: Path) -> Iterator[Sheet]:
    """Each non-empty sheet of an xlsx workbook (read-only mode: memory stays flat)."""
    import openpyxl  # imported here: CSV-only users never pay for it

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many kinds for a damaged zip or XML
        raise InputError(f"{path.name}: cannot open as an xlsx workbook: {type(e).__name__}: {e}".splitlines()[0]) from None
    try:
        for ws in book.worksheets:
            rows = ws.iter_rows(values_only=True)
            header_row = 0
            header: list[str] | None = None
            for values in rows:
                header_row += 1
                cells = [cell_text(v) for v in values]
                if any(c.strip() for c in cells):
                    header = cells
                    break
            if header is None:
                continue
            yield Sheet(ws.title, header, ([cell_text(v) for v in values] for values in rows), header_row)
    finally:
        book.close()


def raw_record(cells: list[str]) -> str:
    """A record as CSV text, for a reject row (the quoting is csv's, the cells are verbatim)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cells)
    return out.getvalue()
