"""PDF prints of Flock exports, read from their text layer into records for the search adapters.

Records-act offices often answer with a spreadsheet printed to PDF (Okaloosa County FL SO's
Organization Audit, San Mateo CA PD's own-search log). Such a PDF is a table drawn as text: each
glyph sits at a position, the header row names the columns, and a cell that did not fit its column
wraps over several lines. This module rebuilds the table:

- glyphs are read with their positions (pdfium, through pypdfium2) and put in page coordinates as
  a person sees the page (a page with `/Rotate 90` is turned upright first);
- glyphs on one baseline form a *line*; the header line's cells (runs of text separated by a gap
  wider than a space) give the columns, and each glyph goes to the column it starts in;
- a *row* is anchored on the line holding its ID or its search time (single-line cells): the
  spreadsheet prints the cells of a row bottom-aligned, so the lines of a wrapped cell come
  before their anchor (a top-aligned print, detected from the first page, puts them after);
  lines left at the foot of a page belong to the row that ends on the next one;
- the header is the first of the first page's lines whose cells name a known layout (a title
  above the table is passed over); a header line repeated at the top of a page, and page furniture (`Page 3 of 809`), are skipped;
- a cell's lines are joined with the space the print wrapped at; a Time Frame cell (two times, one
  per line in the CSV export) is rebuilt as the CSV has it: start, a line feed, end.

Each record's place is kept as (page, line): the page of the PDF, and the line on that page
counting every text line from the top, of the row's first line. A text layer with no glyphs at all
is a scanned image: it is refused with a one-line error saying OCR is needed.
"""
from __future__ import annotations

import ctypes
import re
from bisect import bisect_right
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from auditor.errors import InputError
from auditor.importers.headers import detect, fold

PDF_MAGIC = b"%PDF-"

# Where a row's anchor cell can be, by folded header name (the first present wins).
_ANCHORS = (("id", "search id", "uuid"), ("search time", "searchdate", "search date", "datetime", "date time", "time"))
_TIME_FRAME = ("time frame",)
# One time as Flock prints it; a Time Frame cell holds two of them.
_FLOCK_TIME = re.compile(r"\d{1,2}/\d{1,2}/\d{4},?\s*\d{1,2}:\d{2}(?::\d{2})?\s*(?:[AP]M)?\s*(?:UTC)?", re.IGNORECASE)
# Page furniture a print adds: page numbers, alone on their line.
_FURNITURE = re.compile(r"^\s*(page\s*)?(\d+)\s*((?:of|/)\s*\d+)?\s*$", re.IGNORECASE)


def _is_page_number(line: "_Line", text: str) -> bool:
    """A page number is judged by where it is, not only by its digits: alone on the first or last
    line of its page, and either worded (`Page 3`, `3 of 9`) or the page's own number. A number-only
    line inside the table (a case number `250012345` a wrapped Reason cell put on its own line) is text."""
    match = _FURNITURE.match(text)
    if match is None or not line.edge:
        return False
    return bool(match.group(1) or match.group(3)) or int(match.group(2)) == line.page


def is_pdf(path: Path) -> bool:
    """True for a PDF file, whatever its extension says."""
    with open(path, "rb") as fh:
        return fh.read(5) == PDF_MAGIC


@dataclass
class _Line:
    """One text line of a page: its place, and its glyphs as (left, right, character), left to right."""

    page: int
    number: int  # counting text lines from the top of the page, 1-based
    boxes: list[tuple[float, float, str]]
    size: float = 1.0  # the page's usual glyph height
    space: float = 1.0  # the width of a space on this page
    cells: list[str] | None = field(default=None, repr=False)  # the text in each column, once split
    edge: bool = False  # the first or last text line of its page, where page numbers are printed

    @property
    def text(self) -> str:
        return "".join(c for _, _, c in self.boxes)


@dataclass
class PdfTable:
    """The table a PDF print holds: its header and its records, with each record's (page, line).

    Iterate to get the records (lists of cell strings in header order); ``places`` fills as they
    are produced, one (page, line) per record, in order.
    """

    path: Path
    header: list[str]
    pages: int
    places: list[tuple[int, int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cut_final_record: bool = False  # the last record has no anchor line: it ends mid-row
    textless_pages: list[int] = field(default_factory=list)  # pages with no text layer (scans)
    _bounds: list[float] = field(default_factory=list, repr=False)  # where columns 2.. begin
    _width: int = 0
    _anchors: tuple[int, ...] = ()
    _frames: tuple[int, ...] = ()
    _document: object = field(default=None, repr=False)
    _header_text: str = ""
    _first_data: tuple[int, int] = (1, 1)

    def __iter__(self) -> Iterator[list[str]]:
        bottom = self._bottom_aligned()
        pending: list[_Line] = []  # bottom-aligned: lines waiting for their anchor
        current: list[_Line] = []  # top-aligned: the row being filled
        repeats = furniture = 0
        for line in self._data_lines():
            text = " ".join(line.text.split())
            if text == self._header_text:
                repeats += 1
                continue
            if _is_page_number(line, text):
                furniture += 1
                continue
            cells = self._cells(line)
            line.cells = cells
            anchor = any(cells[i].strip() for i in self._anchors)
            if bottom:
                pending.append(line)
                if anchor:
                    yield self._record(pending)
                    pending = []
            else:
                if anchor and current:
                    yield self._record(current)
                    current = []
                current.append(line)
        rest = pending or current
        if rest:
            # A bottom-aligned row with no anchor after it is cut; it is still a record (the loader
            # rejects it if it lacks a search time), so no text is dropped without a word.
            self.cut_final_record = bottom
            yield self._record(rest)
        if repeats:
            self.notes.append(f"header row repeated on {repeats} later pages (skipped)")
        if furniture:
            self.notes.append(f"{furniture} page-number lines skipped")
        if self.cut_final_record:
            self.notes.append("the last row of the PDF is cut: it has no ID or search time line")
        if self.textless_pages:
            self.notes.append(f"{len(self.textless_pages)} pages have no text layer (pages "
                              f"{', '.join(map(str, self.textless_pages[:10]))}): their rows are not read; OCR them")

    # -- reading -------------------------------------------------------------------------------------
    def _data_lines(self) -> Iterator[_Line]:
        """Every text line after the header, page by page."""
        page_no, line_no = self._first_data
        self.textless_pages = []
        for i in range(page_no - 1, self.pages):
            lines = _page_lines(self._document, i)
            if not lines:
                self.textless_pages.append(i + 1)  # a scanned page inside a text PDF: its rows are unread
            for line in lines:
                if i == page_no - 1 and line.number < line_no:
                    continue
                yield line

    def _bottom_aligned(self) -> bool:
        """Rows print bottom-aligned unless the first data line is itself an anchor and a later
        non-anchor line follows it before the next anchor (a top-aligned wrapped cell)."""
        seen_anchor = False
        for n, line in enumerate(self._data_lines()):
            if n > 400:
                break
            anchor = any(self._cells(line)[i].strip() for i in self._anchors)
            if n == 0 and not anchor:
                return True
            if anchor:
                seen_anchor = True
            elif seen_anchor and not _is_page_number(line, " ".join(line.text.split())):
                return False
        return True

    def _cells(self, line: _Line) -> list[str]:
        """The line's text in each column (a glyph goes to the column its centre falls in).

        A gap inside a cell as wide as a space is a space the text layer left out (a double space
        in `Walmart orc  black malibu` has one space glyph and one space's worth of gap).
        """
        parts: list[list[str]] = [[] for _ in range(self._width)]
        ends = [None] * self._width
        bounds = self._bounds
        space = line.space
        for a0, a1, c in line.boxes:
            k = bisect_right(bounds, (a0 + a1) / 2)
            end = ends[k]
            if end is not None and a0 - end > 0.8 * space:
                parts[k].append(" " * round((a0 - end) / space))
            parts[k].append(c)
            ends[k] = a1
        return ["".join(p) for p in parts]

    def _record(self, lines: list[_Line]) -> list[str]:
        self.places.append((lines[0].page, lines[0].number))
        columns: list[list[str]] = [[] for _ in range(self._width)]
        for line in lines:
            for k, seg in enumerate(line.cells or self._cells(line)):
                if seg.strip():
                    columns[k].append(seg)
        record = []
        for k, segs in enumerate(columns):
            cell = _join(segs)
            if k in self._frames:
                cell = _time_frame(cell)
            record.append(cell)
        return record


def _join(segments: list[str]) -> str:
    """A wrapped cell's lines as one text: the print broke the line at a space, so put one back.

    (A word too long for its column, broken mid-word, gets a space where it broke: the text layer
    does not say which kind of break it was.)
    """
    out = ""
    for seg in segments:
        seg = seg.strip()
        out = f"{out} {seg}" if out else seg
    return out


def _time_frame(cell: str) -> str:
    """`start end` (wrapped over lines in the print) as the CSV export writes it: `start\\nend`."""
    times = _FLOCK_TIME.findall(cell)
    if len(times) == 2 and "".join(times).replace(" ", "") == cell.replace(" ", ""):
        return "\n".join(" ".join(t.split()) for t in times)
    return cell


# --- pdfium -----------------------------------------------------------------------------------------

def _open(path: Path):
    try:
        import pypdfium2 as pdfium  # imported here: CSV-only users never load pdfium
    except ImportError:  # pragma: no cover - a declared dependency
        raise InputError(f"{path.name}: reading PDF releases needs the pypdfium2 package") from None
    try:
        return pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as e:
        raise InputError(f"{path.name}: cannot open as a PDF: {e}".splitlines()[0]) from None


def _page_glyphs(document, index: int) -> tuple[list[tuple[float, float, float, str]], float]:
    """(bottom, left, right, character) of each glyph of a page, as the upright page shows it, and
    the usual height of a glyph there.

    Positions are pdfium's loose boxes (the font's ascent to descent, whatever the glyph), so the
    glyphs of one line share their bottom; a page with `/Rotate` is turned upright first.
    """
    import pypdfium2.raw as raw

    page = document[index]
    try:
        text_page = page.get_textpage()
        try:
            n = text_page.count_chars()
            if n <= 0:
                return [], 1.0
            text = text_page.get_text_range(0, n)
            if len(text) != n:
                # A character outside the BMP (an emoji in a reason) takes two UTF-16 units in the
                # range text: read one character per glyph index instead, so indices stay aligned.
                text = _paired("".join(chr(raw.FPDFText_GetUnicode(text_page.raw, i) or 0xFFFE) for i in range(n)))
            left, bottom, right, top = page.get_mediabox()
            rotation = page.get_rotation() % 360
            rect = raw.FS_RECTF()
            box = raw.FPDFText_GetLooseCharBox
            handle = text_page.raw
            ref = ctypes.byref(rect)
            boxes = []
            add = boxes.append
            for i in range(n):
                c = text[i]
                if c in "\r\n\x00\ufffe\ufeff":
                    continue
                box(handle, i, ref)
                add((rect.left, rect.right, rect.bottom, rect.top, c))
        finally:
            text_page.close()
    finally:
        page.close()
    upright = rotation in (90, 270)
    heights = sorted((x1 - x0 if upright else y1 - y0) for x0, x1, y0, y1, c in boxes[:200] if not c.isspace())
    size = heights[len(heights) // 2] if heights else 1.0
    # Turn the page upright: (bottom of the glyph measured down the page, left, right, character).
    w, h = right, top
    if rotation == 90:
        return [(x1 - left, y0 - bottom, y1 - bottom, c) for x0, x1, y0, y1, c in boxes], size
    if rotation == 180:
        return [(y1 - bottom, w - x1, w - x0, c) for x0, x1, y0, y1, c in boxes], size
    if rotation == 270:
        return [(w - x0, h - y1, h - y0, c) for x0, x1, y0, y1, c in boxes], size
    return [(h - y0, x0 - left, x1 - left, c) for x0, x1, y0, y1, c in boxes], size


def _paired(units: str) -> str:
    """Per-glyph UTF-16 units as characters, one per glyph index: a surrogate pair (an emoji is two
    glyph indices) becomes its character at the first index and a skipped U+FFFE at the second; a
    lone surrogate becomes U+FFFD. Lone surrogates cannot be stored (SQLite needs valid UTF-8)."""
    out = list(units)
    i = 0
    while i < len(out):
        c = out[i]
        if "\ud800" <= c <= "\udbff" and i + 1 < len(out) and "\udc00" <= out[i + 1] <= "\udfff":
            out[i] = (c + out[i + 1]).encode("utf-16-le", "surrogatepass").decode("utf-16-le")
            out[i + 1] = "\ufffe"
            i += 2
            continue
        if "\ud800" <= c <= "\udfff":
            out[i] = "\ufffd"
        i += 1
    return "".join(out)


def _page_lines(document, index: int) -> list[_Line]:
    """The text lines of one page, top to bottom, each with its glyphs left to right."""
    glyphs, size = _page_glyphs(document, index)
    if not glyphs:
        return []
    # Lines are found from the inked glyphs; a space (often a zero-height box off the baseline)
    # then joins the line whose bottom is nearest to its own.
    inked = sorted(g for g in glyphs if not g[3].isspace())
    limit = size / 3  # bottoms of one line agree; lines are about a font height apart
    bottoms: list[float] = []
    members: list[list[tuple[float, float, str]]] = []
    last = None
    for down, a0, a1, c in inked:
        if last is None or down - last > limit:
            last = down
            bottoms.append(down)
            members.append([])
        members[-1].append((a0, a1, c))
    widths = []
    for down, a0, a1, c in glyphs:
        # A zero-width space is the print's separator before or after a cell, placed anywhere
        # (Okaloosa's sit inside the next cell's first word): it carries no text.
        if c.isspace() and a1 - a0 > 0.05 and bottoms:
            k = bisect_right(bottoms, down)
            near = k - 1 if k == len(bottoms) or (k > 0 and down - bottoms[k - 1] <= bottoms[k] - down) else k
            if abs(bottoms[near] - down) <= size:
                members[near].append((a0, a1, " "))
                widths.append(a1 - a0)
    widths.sort()
    space = widths[len(widths) // 2] if widths else 0.25 * size
    lines: list[_Line] = []
    for row in members:
        _close(lines, row, index + 1, size, space)
    if lines:
        lines[0].edge = lines[-1].edge = True
    return lines


def _close(lines: list[_Line], row: list[tuple[float, float, str]], page: int, size: float, space: float) -> None:
    if row and any(not c.isspace() for _, _, c in row):
        row.sort(key=lambda g: g[0] + g[1])  # by centre
        lines.append(_Line(page, len(lines) + 1, row, size, space))


def _header_cells(line: _Line) -> tuple[list[str], list[float]]:
    """The header line's cells and where each starts: cells are separated by a gap much wider than a
    word space (about a quarter of the font height)."""
    gap = 0.6 * line.size
    names: list[str] = []
    starts: list[float] = []
    last_end = None
    pending_space = False
    for a0, a1, c in line.boxes:
        if c.isspace():
            pending_space = bool(names)
            continue
        if last_end is None or a0 - last_end > gap:
            names.append(c)
            starts.append(a0)
        else:
            names[-1] += (" " if pending_space else "") + c
        pending_space = False
        last_end = a1
    return names, starts


def _header_line(lines: list[_Line]) -> _Line:
    """The first line among the page's first ten whose cells name a known layout (a print can carry
    a title above the table); else the first line, whose cells the format check then reports."""
    for line in lines[:10]:
        try:
            detect(_header_cells(line)[0])
        except InputError:
            continue
        return line
    return lines[0]


def read_table(path: Path) -> PdfTable:
    """Open a PDF print and find its header; iterate the result for the records.

    Raises :class:`InputError` for a PDF that pdfium cannot open, and for one without a text layer
    (OCR is needed).
    """
    document = _open(path)
    pages = len(document)
    if pages == 0:
        raise InputError(f"{path.name}: the PDF has no pages")
    header_line = None
    for i in range(pages):
        lines = _page_lines(document, i)
        if lines:
            header_line = _header_line(lines)
            break
    if header_line is None:
        raise InputError(f"{path.name}: the PDF has no text layer (a scanned image): OCR is needed before it can be "
                         "imported (for example `ocrmypdf in.pdf out.pdf`)")
    names, starts = _header_cells(header_line)
    table = PdfTable(path, names, pages)
    table._document = document
    # A glyph belongs to the column it starts in; text may start a little left of its header.
    table._bounds = [s - header_line.size / 3 for s in starts[1:]]
    table._width = len(starts)
    folded = [fold(n) for n in names]
    # The ID and the search time are single-line cells every row has: a line with either ends a
    # (bottom-aligned) row, so a row whose ID is blank still gets its own record.
    table._anchors = tuple(next((i for i, f in enumerate(folded) if f in group), -1) for group in _ANCHORS)
    table._anchors = tuple(i for i in table._anchors if i >= 0) or (0,)
    table._frames = tuple(i for i, f in enumerate(folded) if f in _TIME_FRAME)
    table._header_text = " ".join(header_line.text.split())
    table._first_data = (header_line.page, header_line.number + 1)
    table.notes.append(
        f"read from the PDF's text layer ({pages} pages); row numbers count records from the header "
        "(row 2 is the first); each row's page and line are kept in release_rows"
    )
    return table
