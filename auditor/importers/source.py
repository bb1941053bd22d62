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
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Iterator

from auditor.errors import InputError
from auditor.files import require_regular

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
    require_regular(path, "release file")  # a FIFO or device would block or never end
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

    def bytes_read(self) -> int:
        """Bytes of the file read so far (read ahead of the records by a buffer): for progress."""
        return self._fh.buffer.tell()

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
    """A spreadsheet cell as text the importers parse like a CSV cell.

    Numbers read as Excel writes them: an integral number without a decimal point (`5738`, a case
    number `25013924`), others as Python prints a float; dates and times as ISO-like text.
    """
    if value is None:
        return ""
    if isinstance(value, float):
        # Excel stores 5738 as `5738`: read as an integer, as a reader of the XML text would.
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return str(value)
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
    """Each non-empty sheet of an xlsx workbook, read with calamine (Rust).

    Measured on Irvine's 44,659-row response: 0.13 s of CPU against openpyxl's 1.5 s (read-only
    mode), with the same cell text. Before calamine touches a sheet, :func:`sheet_extents` reads the
    archive: a sheet larger than :data:`SHEET_XML_CAP` unpacked, or spanning more than
    :data:`CELL_CAP` cells (calamine allocates the whole rectangle, empty cells included), is refused
    in one line instead of exhausting memory. Calamine stops at a sheet's last value; rows the sheet
    still lists after it (blank, only formatted) are read too, as blank records, so the row account
    counts the rows the sheet lists (one formatted row at 1,048,576 is one blank record, not a million).
    """
    import python_calamine  # imported here: CSV-only users never load it

    extents = sheet_extents(path)
    try:
        book = python_calamine.CalamineWorkbook.from_path(str(path))
    except Exception as e:  # calamine raises its own kinds for a damaged zip or XML
        raise InputError(f"{path.name}: cannot open as an xlsx workbook: {type(e).__name__}: {e}".splitlines()[0]) from None
    for title in book.sheet_names:
        try:
            values = book.get_sheet_by_name(title).to_python(skip_empty_area=False)
        except Exception as e:
            raise InputError(f"{path.name}: sheet {title!r} unreadable: {type(e).__name__}: {e}".splitlines()[0]) from None
        width = max((len(r) for r in values), default=0)
        extent = extents.get(title)
        padding = extent.padding_after(len(values)) if extent else 0
        rows = iter(values + [[None] * width for _ in range(padding)])
        header_row = 0
        header: list[str] | None = None
        for cells in rows:
            header_row += 1
            texts = [cell_text(v) for v in cells]
            if any(c.strip() for c in texts):
                header = texts
                break
        if header is None:
            continue
        yield Sheet(title, header, ([cell_text(v) for v in cells] for cells in rows), header_row)


# A sheet's unpacked XML and its rectangle of cells: far above a real release (Irvine's 44,659 rows
# are 0.6 million cells), far below what exhausts memory (calamine holds the whole rectangle).
SHEET_XML_CAP = 512 << 20
CELL_CAP = 10_000_000
_TAG = re.compile(rb"<(?:\w+:)?(row|c|dimension)\b([^>]*)>")
_REF = re.compile(rb"\br=\"([A-Z]{0,3})(\d{0,7})\"")
_DIMENSION = re.compile(rb"\bref=\"\$?([A-Z]{1,3})\$?(\d{1,7})(?::\$?([A-Z]{1,3})\$?(\d{1,7}))?\"")
_NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


@dataclass
class SheetExtent:
    """What a sheet's XML lists: its last row and column holding a cell value, and every row number it lists."""

    rows: int = 0
    columns: int = 0
    dimension: int = 0  # the cells its <dimension ref> claims
    listed: list[int] = field(default_factory=list)

    @property
    def cells(self) -> int:
        return max(self.rows * self.columns, self.dimension)

    def rows_listed_after(self, row: int) -> int:
        """How many rows the XML lists after ``row`` (formatted rows past the last value)."""
        return sum(1 for r in self.listed if r > row)

    def padding_after(self, row: int) -> int:
        """The blank rows a spreadsheet shows after ``row``, up to the last row the XML lists; but
        when the listed rows are sparse there (one formatted row at 1,048,576 after row 3), only the
        rows listed: a million blank records would stand for one formatting mark."""
        listed = self.rows_listed_after(row)
        span = max(max(self.listed, default=0) - row, 0)
        return span if 2 * listed >= span else listed


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def sheet_extents(path: Path) -> dict[str, SheetExtent]:
    """Sheet title -> its extent, read from the archive in one streaming pass per sheet, before any
    cell is parsed. InputError for a damaged archive, a sheet past :data:`SHEET_XML_CAP` unpacked
    (a zip bomb) or past :data:`CELL_CAP` cells (one cell at XFD1 and one at row 1,048,576)."""
    import xml.etree.ElementTree as ET
    import zipfile

    out: dict[str, SheetExtent] = {}
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            rels = ET.fromstring(_small_member(z, "xl/_rels/workbook.xml.rels", path))
            targets = {r.get("Id"): r.get("Target", "") for r in rels}
            book = ET.fromstring(_small_member(z, "xl/workbook.xml", path))
            for sheet in book.iter():
                if not sheet.tag.endswith("}sheet"):
                    continue
                title = sheet.get("name", "")
                target = targets.get(sheet.get(_NS_REL), "")
                name = target.lstrip("/") if target.startswith("/") else "xl/" + target
                if name not in names:
                    continue
                size = z.getinfo(name).file_size
                if size > SHEET_XML_CAP:
                    raise InputError(f"{path.name}: sheet {title!r} unpacks to {size:,} bytes of XML, over the "
                                     f"{SHEET_XML_CAP >> 20} MB a release sheet may hold (a damaged or hostile workbook)")
                extent = _scan_sheet(z, name)
                if extent.cells > CELL_CAP:
                    raise InputError(f"{path.name}: sheet {title!r} spans {extent.rows:,} rows x {extent.columns:,} "
                                     f"columns ({extent.cells:,} cells), over the {CELL_CAP:,} a release sheet may "
                                     "hold (a stray cell far right or far down? delete it and save again)")
                out[title] = extent
    except (zipfile.BadZipFile, ET.ParseError, KeyError, EOFError, OSError, RuntimeError, NotImplementedError) as e:
        raise InputError(f"{path.name}: cannot open as an xlsx workbook: {type(e).__name__}: {e}".splitlines()[0]) from None
    return out


def _small_member(z, name: str, path: Path) -> bytes:
    if z.getinfo(name).file_size > (16 << 20):
        raise InputError(f"{path.name}: {name} is over 16 MB unpacked (a damaged or hostile workbook)")
    return z.read(name)


def _scan_sheet(z, name: str) -> SheetExtent:
    """One pass over a sheet's XML stream: rows and columns from each tag's `r` (or its position)."""
    extent = SheetExtent()
    row = column = 0
    carry = b""
    read = 0
    with z.open(name) as fh:
        while chunk := fh.read(1 << 20):
            read += len(chunk)
            if read > SHEET_XML_CAP:  # the directory's size lied
                raise InputError(f"{z.filename}: sheet XML {name} unpacks past {SHEET_XML_CAP >> 20} MB")
            buffer = carry + chunk
            cut = buffer.rfind(b">") + 1
            buffer, carry = buffer[:cut], buffer[cut:]
            if len(carry) > (1 << 20):  # no tag ends in a megabyte: text, not structure
                carry = carry[-256:]
            for kind, attributes in _TAG.findall(buffer):
                ref = _REF.search(attributes)
                if kind == b"row":
                    row = int(ref.group(2)) if ref and ref.group(2) else row + 1
                    column = 0
                    extent.listed.append(row)
                elif kind == b"c":
                    if ref and ref.group(1):
                        column = _column_number(ref.group(1))
                        row = int(ref.group(2)) if ref.group(2) else row
                    else:
                        column += 1
                    if not attributes.endswith(b"/"):  # `<c r="A9" s="1"/>` only formats: calamine skips it
                        extent.rows = max(extent.rows, row)
                        extent.columns = max(extent.columns, column)
                else:
                    dim = _DIMENSION.search(attributes)
                    if dim and dim.group(3):
                        extent.dimension = ((int(dim.group(4)) - int(dim.group(2)) + 1)
                                            * (_column_number(dim.group(3)) - _column_number(dim.group(1)) + 1))
    return extent


def raw_record(cells: list[str]) -> str:
    """A record as CSV text, for a reject row (the quoting is csv's, the cells are verbatim)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cells)
    return out.getvalue()
