"""Small PDF prints of tables for the PDF importer's tests, written from scratch.

:func:`print_table` lays a table out as a spreadsheet's "print to PDF" does (header row, cells that
wrap over several lines, bottom-aligned rows, page breaks, optionally a header on every page) and
:func:`write_pdf` writes the pages as a minimal PDF with Helvetica text, so pdfium reads a real text
layer with real glyph positions.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

SIZE = 6.0  # font size
LEAD = 8.0  # line pitch
WIDTH, HEIGHT = 792.0, 612.0  # a landscape page as the reader sees it
DIGIT = 0.556 * SIZE  # Helvetica's digits are all 556/1000 em wide


@dataclass
class Page:
    """Text placed on an upright page: (x from the left, baseline from the top, text)."""

    items: list[tuple[float, float, str]] = field(default_factory=list)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def write_pdf(path: Path, pages: list[Page], *, rotate: int = 0, to_unicode: dict[str, str] | None = None) -> Path:
    """Write the pages as a PDF; ``rotate=90`` stores them as portrait pages with `/Rotate 90`
    (as Okaloosa's print is), drawing the text so that it reads upright when displayed.
    ``to_unicode`` maps a byte (written as its Latin-1 character, e.g. ``"\x81"``) to the text the
    text layer reports for it, through a ToUnicode CMap (an emoji in a reason, as a real print has)."""
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    add(b"<< /Type /Catalog /Pages 2 0 R >>")
    add(b"")  # the page tree, filled once the pages are known
    cmap = b""
    if to_unicode:
        pairs = " ".join(f"<{ord(k):02X}> <{v.encode('utf-16-be').hex().upper()}>" for k, v in to_unicode.items())
        text = (f"/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /Extra def "
                f"1 begincodespacerange <00> <FF> endcodespacerange {len(to_unicode)} beginbfchar {pairs} endbfchar "
                "endcmap CMapName currentdict /CMap defineresource pop end end").encode()
        cmap = b" /ToUnicode %d 0 R" % add(b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream")
    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding%s >>" % cmap)
    kids = []
    for page in pages:
        ops = ["BT", f"/F1 {SIZE} Tf"]
        for x, down, text in page.items:
            if rotate == 90:  # unrotated space is WIDTH wide (612) and HEIGHT tall (792): across = y, down = x
                ops.append(f"0 1 -1 0 {down:.2f} {x:.2f} Tm ({_escape(text)}) Tj")
            else:
                ops.append(f"1 0 0 1 {x:.2f} {HEIGHT - down:.2f} Tm ({_escape(text)}) Tj")
        ops.append("ET")
        stream = "\n".join(ops).encode("latin-1" if to_unicode else "cp1252")
        content = add(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        box = f"0 0 {HEIGHT:.0f} {WIDTH:.0f}" if rotate == 90 else f"0 0 {WIDTH:.0f} {HEIGHT:.0f}"
        extra = f" /Rotate {rotate}" if rotate else ""
        kids.append(add(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [{box}]{extra} /Resources << /Font << /F1 {font} 0 R >> >> "
            f"/Contents {content} 0 R >>".encode()))
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] /Count {len(kids)} >>".encode()
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))
    return path


def print_table(
    header: list[str],
    rows: list[list[str | list[str]]],
    starts: list[float],
    *,
    rows_per_page: int | None = None,
    lines_per_page: int = 50,
    repeat_header: bool = False,
    right_aligned: tuple[int, ...] = (),
    split_row: int | None = None,
    footer: bool = False,
    top_aligned: bool = False,
) -> list[Page]:
    """Pages of a printed table. A cell given as a list of strings wraps over that many lines; rows
    are bottom-aligned (single-line cells sit on the row's last line). ``split_row`` breaks the page
    inside that row (its first line on one page, the rest on the next); ``footer`` adds `Page N of M`;
    ``top_aligned`` prints single-line cells on a row's first line instead."""
    pages: list[Page] = []
    page = Page()
    line = 0

    def new_page() -> None:
        nonlocal page, line
        pages.append(page)
        page = Page()
        line = 0
        if repeat_header:
            put_header()

    def put_header() -> None:
        nonlocal line
        line += 1
        for x, name in zip(starts, header):
            page.items.append((x, 40 + line * LEAD, name))

    def place(k: int, text: str) -> None:
        x = starts[k]
        if k in right_aligned:  # right-aligned against the next column, as spreadsheets print numbers
            x = starts[k + 1] - 4 - DIGIT * len(text)
        page.items.append((x, 40 + line * LEAD, text))

    put_header()
    on_page = 0
    for r, row in enumerate(rows):
        cells = [c if isinstance(c, list) else [c] for c in row]
        height = max(len(c) for c in cells)
        if (rows_per_page is not None and on_page == rows_per_page) or line + height > lines_per_page:
            new_page()
            on_page = 0
        for i in range(height):
            if split_row == r and i == 1:
                new_page()
            line += 1
            for k, cell in enumerate(cells):
                j = i if top_aligned else i - (height - len(cell))  # bottom-aligned by default
                if 0 <= j < len(cell) and cell[j]:
                    place(k, cell[j])
        on_page += 1
    pages.append(page)
    if footer:
        for n, p in enumerate(pages, start=1):
            p.items.append((WIDTH / 2, HEIGHT - 20, f"Page {n} of {len(pages)}"))
    return pages
