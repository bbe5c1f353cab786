"""Checks shared by the workbook tests (branch 台账, org 台账, org report): formula safety and
print set-up, read back with openpyxl."""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from storage.xlsx_sheets import text_width

FORMULA_STARTS = ("=", "+", "-", "@")


def formula_looking_cells(path: Path) -> dict[str, list[str]]:
    """Sheet title -> every text starting with = + - @ in it; each must be a quoted text cell."""
    found: dict[str, list[str]] = {}
    for ws in load_workbook(path).worksheets:
        assert isinstance(ws, Worksheet)
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                value = cell.value
                if isinstance(value, str) and value.strip().startswith(FORMULA_STARTS):
                    assert cell.data_type == "s", (ws.title, cell.coordinate, value)
                    assert cell.quotePrefix, (ws.title, cell.coordinate, value)
                    found.setdefault(ws.title, []).append(value)
    return found


def assert_print_ready(ws: Worksheet, *, landscape: bool = True, one_page: bool = False) -> None:
    """A4, orientation, header row repeated and frozen, fitted to one page wide (and high)."""
    assert int(ws.page_setup.paperSize or 0) == 9, ws.title
    assert ws.page_setup.orientation == ("landscape" if landscape else "portrait"), ws.title
    assert ws.freeze_panes == "A2", ws.title
    assert ws.print_title_rows == "$1:$1", ws.title
    assert ws.sheet_properties.pageSetUpPr is not None
    assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
    assert ws.page_setup.fitToWidth == 1, ws.title
    assert ws.page_setup.fitToHeight == (1 if one_page else 0), ws.title
    assert ws.oddFooter is not None
    assert ws.oddFooter.center.text == "第 &P 页，共 &N 页", ws.title


def heading(ws: Worksheet) -> str:
    """The text printed at the top centre of each page ("" when none)."""
    assert ws.oddHeader is not None
    return str(ws.oddHeader.center.text or "")


def assert_widths_fit_header(ws: Worksheet) -> None:
    """Every header column is at least as wide as its (CJK-counted) header text."""
    header = next(ws.iter_rows(max_row=1, values_only=True))
    for number, value in enumerate(header, start=1):
        width = ws.column_dimensions[get_column_letter(number)].width
        assert width >= min(text_width(value) + 2, 48), (ws.title, value, width)
