"""Print-ready, formula-safe sheets for every workbook storage writes (the branch 台账, the whole
organisation's 台账 and the work committee's report).

Every sheet is A4 with its first row repeated on each printed page and frozen on screen, fitted
one page wide (or onto one page), page numbers in the footer, column widths fitted to the content
(CJK characters counting double). Text that Excel (or someone retyping the cell) could read as a
formula — starting with = + - @ — is stored as quoted text. Workbooks are write-only (streamed,
bounded memory) and saved to a temporary file renamed into place, so a failed write leaves no
partial file.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from copy import copy
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.worksheet import Worksheet

A4 = 9  # openpyxl's PAPERSIZE_A4
# Leading characters that make Excel (or a user retyping the cell) treat text as a formula.
FORMULA_START = ("=", "+", "-", "@")
MIN_WIDTH, MAX_WIDTH = 6, 48
PAGE_FOOTER = "第 &P 页，共 &N 页"

_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")
_SHEET_NAME_MAX = 31
_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill(fill_type="solid", start_color="FFD9E1F2", end_color="FFD9E1F2")
_THIN = Side(style="thin", color="FF808080")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEADER_ALIGN = Alignment(horizontal="center", vertical="center", wrap_text=True)
_BODY_ALIGN = Alignment(vertical="top", wrap_text=True)
# A title that runs on over the empty cells to its right must not wrap.
_TITLE_ALIGN = Alignment(horizontal="left", vertical="center")

Value = str | int | float | None


@dataclass(frozen=True)
class SheetSummary:
    """One written sheet: its name and number of rows below the header."""

    name: str
    rows: int


@dataclass
class WorkbookSummary:
    """A written workbook: the file and its sheets in order."""

    path: Path
    sheets: list[SheetSummary] = field(default_factory=list)

    @property
    def sheet_names(self) -> list[str]:
        """The sheet names in workbook order."""
        return [s.name for s in self.sheets]

    def rows(self, name: str) -> int:
        """Number of rows below the header of the named sheet."""
        return next(s.rows for s in self.sheets if s.name == name)


def chinese_date(value: date) -> str:
    """Format a date as 2026年3月11日."""
    return f"{value.year}年{value.month}月{value.day}日"


def text_width(value: object) -> int:
    """Display width of a value's longest line, counting CJK (wide) characters as two."""
    if value is None:
        return 0
    lines = str(value).splitlines() or [""]
    return max(
        sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line) for line in lines
    )


def sheet_title(name: str, taken: set[str]) -> str:
    """A valid, unused Excel sheet name for `name` (≤31 characters, no []:*?/\\), then taken."""
    base = _SHEET_NAME_BAD.sub("_", name).strip().strip("'") or "党员"
    base = base[:_SHEET_NAME_MAX]
    title, number = base, 1
    # Excel compares sheet names case-insensitively.
    while title.casefold() in taken:
        number += 1
        suffix = f"({number})"
        title = base[: _SHEET_NAME_MAX - len(suffix)] + suffix
    taken.add(title.casefold())
    return title


def number(value: Decimal) -> int | float:
    """An exact amount (hours, points) as a number cell: whole as int, else float."""
    return int(value) if value == value.to_integral_value() else float(value)


def looks_like_formula(value: Value) -> bool:
    """True for text that a spreadsheet could read as a formula (= + - @ first)."""
    return isinstance(value, str) and value.strip().startswith(FORMULA_START)


def styled_cell(
    sheet: WriteOnlyWorksheet, value: Value, *, header: bool = False, border: bool = True
) -> Cell:
    """A header or body cell in the house style; formula-looking text stays quoted text."""
    cell = WriteOnlyCell(sheet, value=value)
    if looks_like_formula(value):
        cell.data_type = "s"
        cell.quotePrefix = True
    if header:
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        cell.alignment = _HEADER_ALIGN
    else:
        cell.alignment = _BODY_ALIGN
    if border and value is not None:
        cell.border = _BORDER
    return cell


def title_cell(sheet: WriteOnlyWorksheet, text: str) -> Cell:
    """A bold sheet title without border that runs on over the empty cells to its right."""
    cell = styled_cell(sheet, text, header=True, border=False)
    cell.alignment = _TITLE_ALIGN
    return cell


class Table:
    """Appends rows of cells in the house style to a write-only sheet, quickly.

    Setting a style on a cell makes openpyxl hash the style objects, which costs more than the
    rest of writing the cell; so each kind of cell (header or body, empty or not, bordered or
    not) is styled once by `styled_cell` and later cells of that kind get a copy of its style.
    Formula-looking text always goes through `styled_cell` itself.
    """

    def __init__(self, sheet: WriteOnlyWorksheet) -> None:
        self.sheet = sheet
        self.rows = 0
        self._styles: dict[tuple[bool, bool, bool], StyleArray] = {}

    def cell(self, value: Value, header: bool = False, border: bool = True) -> Cell:
        """A cell styled as `styled_cell` would; text starting with = + - @ stays text."""
        if looks_like_formula(value):
            return styled_cell(self.sheet, value, header=header, border=border)
        key = (header, value is None, border)
        style = self._styles.get(key)
        if style is None:
            made = styled_cell(self.sheet, value, header=header, border=border)
            self._styles[key] = cast(Any, made)._style  # the stubs omit StyleableObject._style
            return made
        cell = WriteOnlyCell(self.sheet, value=value)
        cast(Any, cell)._style = copy(style)
        return cell

    def append(self, values: Sequence[Value], header: bool = False) -> list[Cell]:
        """Append a row (body unless `header`); return its cells, already written."""
        cells = [self.cell(v, header) for v in values]
        self.sheet.append(cells)
        if not header:
            self.rows += 1
        return cells


def new_sheet(
    book: Workbook,
    title: str,
    sample: Iterable[Sequence[Value]],
    *,
    landscape: bool = True,
    one_page: bool = False,
    skip_first_width: bool = False,
    heading: str | None = None,
) -> WriteOnlyWorksheet:
    """A print-ready sheet with widths fitted to `sample` (write-only mode needs them up front).

    `one_page` fits the whole sheet onto one page (else it runs onto as many pages as it needs,
    each one page wide); `skip_first_width` leaves a title row out of the widths; `heading` is
    printed at the top of each page.
    """
    sheet = book.create_sheet(title)
    assert isinstance(sheet, WriteOnlyWorksheet)  # the workbook is write-only
    # Write-only sheets get these attributes from Worksheet._setup; the stubs omit them.
    settings = cast(Worksheet, sheet)
    widths: dict[int, int] = defaultdict(int)
    for row_number, row in enumerate(sample):
        if skip_first_width and row_number == 0:
            continue
        for column, value in enumerate(row, start=1):
            widths[column] = max(widths[column], text_width(value))
    for column, width in widths.items():
        fitted = min(max(width + 2, MIN_WIDTH), MAX_WIDTH)
        settings.column_dimensions[get_column_letter(column)].width = fitted
    sheet.freeze_panes = "A2"
    sheet.print_title_rows = "1:1"
    setup = settings.page_setup
    setup.paperSize = A4
    setup.orientation = "landscape" if landscape else "portrait"
    setup.fitToWidth = 1
    setup.fitToHeight = 1 if one_page else 0  # 0: as many pages as needed
    page = settings.sheet_properties.pageSetUpPr
    assert page is not None  # WorksheetProperties always creates it
    page.fitToPage = True
    settings.print_options.horizontalCentered = True
    footer = sheet.HeaderFooter.oddFooter
    assert footer is not None  # HeaderFooter creates all its items
    footer.center.text = PAGE_FOOTER
    if heading is not None:
        top = sheet.HeaderFooter.oddHeader
        assert top is not None
        top.center.text = heading
    return sheet


def new_table(
    book: Workbook,
    title: str,
    columns: Sequence[str],
    sample: Sequence[Sequence[Value]],
    heading: str,
) -> Table:
    """A landscape A4 table with widths fitted to its header and `sample`, header row written."""
    table = Table(new_sheet(book, title, [list(columns), *sample], heading=heading))
    table.append(columns, header=True)
    return table


@contextmanager
def atomic_workbook(path: Path) -> Iterator[Workbook]:
    """A write-only workbook saved beside `path` and renamed into place only on success."""
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    book = Workbook(write_only=True)
    try:
        yield book
        book.save(temp_name)
        os.replace(temp_name, path)
    except BaseException:
        discard(book)
        Path(temp_name).unlink(missing_ok=True)
        raise


def discard(book: Workbook) -> None:
    """Finish the streams of an abandoned write-only workbook so no sheet's temp file stays open."""
    for sheet in book.worksheets:
        if isinstance(sheet, WriteOnlyWorksheet) and not sheet.closed:
            with contextlib.suppress(Exception):
                sheet.close()
