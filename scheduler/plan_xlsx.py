"""An annual plan as an Excel workbook, for secretaries who would rather edit a table than YAML.

`dump_xlsx` writes one sheet “年度计划”: a title row (“机关第一党支部 2027年度计划”), a header row
日期 / 星期 / 类型 / 名称 / 党小组 / 原定日期 / 备注 and one row per item in date order, dates as real
Excel dates. `load_xlsx` reads such a workbook back after editing: columns are found by their
header, rows may be in any order, blank rows are skipped, dates may be Excel dates or text
(2027-03-05, 2027/3/5, 2027年3月5日) and 星期 is ignored. Each row is checked by the same rules as
the YAML file (`scheduler.plan_file.parse_item`); a problem raises ValueError naming the sheet row
(第N行). The year is read from the title row or, without one, from the first item's date.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from scheduler.plan import NODE_DAY, PlanItem
from scheduler.plan_file import (
    KEY_DATE,
    KEY_GROUP,
    KEY_KIND,
    KEY_MOVED,
    KEY_NOTE,
    KEY_TITLE,
    NODE_DAY_NAME,
    parse_date,
    parse_item,
)

SHEET_TITLE = "年度计划"
KEY_WEEKDAY = "星期"
COLUMNS: tuple[str, ...] = (
    KEY_DATE,
    KEY_WEEKDAY,
    KEY_KIND,
    KEY_TITLE,
    KEY_GROUP,
    KEY_MOVED,
    KEY_NOTE,
)
REQUIRED_COLUMNS: tuple[str, ...] = (KEY_DATE, KEY_KIND, KEY_TITLE)
DATE_FORMAT = "yyyy-mm-dd"
WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
_WIDTHS = {
    KEY_DATE: 12,
    KEY_WEEKDAY: 6,
    KEY_KIND: 12,
    KEY_TITLE: 28,
    KEY_GROUP: 14,
    KEY_MOVED: 12,
    KEY_NOTE: 70,
}
_TITLE_ROW, _HEADER_ROW = 1, 2
# The header is looked for near the top only, so a stray “日期” far below is not taken for it.
_HEADER_SEARCH_ROWS = 20
_TITLE_YEAR = re.compile(r"(\d{4})\s*年")
_DASHED_DATE = re.compile(r"(\d{4})\s*([-/.])\s*(\d{1,2})\s*\2\s*(\d{1,2})")
_CHINESE_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls (and other OLE compound files)
_NOT_XLSX = "不是有效的 Excel 文件（.xlsx），请在 Excel 或 WPS 中另存为 .xlsx 格式后再导入"


def dump_xlsx(branch_name: str, year: int, items: Iterable[PlanItem], path: Path) -> None:
    """Write the plan as a formatted one-sheet workbook at `path`, replacing it atomically."""
    book = Workbook()
    sheet = book.active
    assert isinstance(sheet, Worksheet)  # a new Workbook always starts with one worksheet
    sheet.title = SHEET_TITLE

    sheet.append([f"{branch_name} {year}年度计划"])
    sheet.merge_cells(
        start_row=_TITLE_ROW, start_column=1, end_row=_TITLE_ROW, end_column=len(COLUMNS)
    )
    title = sheet.cell(_TITLE_ROW, 1)
    title.font = Font(bold=True, size=14)
    title.alignment = Alignment(horizontal="center", vertical="center")
    sheet.row_dimensions[_TITLE_ROW].height = 24

    sheet.append(list(COLUMNS))
    header_fill = PatternFill(fill_type="solid", start_color="FFD9E1F2", end_color="FFD9E1F2")
    for cell in sheet[_HEADER_ROW]:
        cell.font = Font(bold=True)
        cell.fill = header_fill
        cell.alignment = Alignment(horizontal="center")

    for item in sorted(items, key=PlanItem.sort_key):
        sheet.append(_row(item))
    last_row = sheet.max_row
    for key in (KEY_DATE, KEY_MOVED):
        column = COLUMNS.index(key) + 1
        for row in range(_HEADER_ROW + 1, last_row + 1):
            sheet.cell(row, column).number_format = DATE_FORMAT
    for column, key in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = _WIDTHS[key]
    sheet.freeze_panes = f"A{_HEADER_ROW + 1}"
    sheet.auto_filter.ref = f"A{_HEADER_ROW}:{get_column_letter(len(COLUMNS))}{last_row}"
    _save_atomically(book, path)


def load_xlsx(path: Path) -> tuple[int, list[PlanItem]]:
    """Read a plan workbook: its year and items in date order; ValueError (Chinese) if invalid."""
    data = path.read_bytes()
    if data.startswith(_OLE_MAGIC):
        raise ValueError(f"这是旧版 .xls 文件，{_NOT_XLSX}")
    try:
        # From memory, so openpyxl does not judge the file by its name's extension.
        book = load_workbook(io.BytesIO(data), data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a damaged or foreign file
        raise ValueError(_NOT_XLSX) from exc
    sheet = _plan_sheet(book)
    return _read_sheet(list(sheet.iter_rows(min_row=1, values_only=True)))


def _plan_sheet(book: Workbook) -> Worksheet:
    """The sheet named 年度计划, else the first worksheet (a secretary may have renamed it)."""
    sheets = [s for s in book.worksheets if isinstance(s, Worksheet)]
    if not sheets:
        raise ValueError("工作簿中没有工作表")
    named = [s for s in sheets if s.title == SHEET_TITLE]
    return (named or sheets)[0]


def _row(item: PlanItem) -> list[object]:
    return [
        item.date,
        WEEKDAYS[item.date.weekday()],
        NODE_DAY_NAME if item.kind == NODE_DAY else item.kind,
        item.title,
        item.group,
        item.moved_from,
        item.note or None,
    ]


def _save_atomically(book: Workbook, path: Path) -> None:
    """Save beside the target and rename, so a failed save never leaves a half-written file."""
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f"{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        book.save(temp_name)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def _read_sheet(rows: Sequence[Sequence[object]]) -> tuple[int, list[PlanItem]]:
    header_at = next(
        (
            n
            for n, row in enumerate(rows[:_HEADER_SEARCH_ROWS], start=1)
            if KEY_DATE in (_cell_text(v) for v in row)
        ),
        None,
    )
    if header_at is None:
        raise ValueError(
            f"找不到表头行：表格前{_HEADER_SEARCH_ROWS}行中应有一行列名 {'、'.join(COLUMNS)}"
        )
    columns = _columns(header_at, rows[header_at - 1])
    year = _title_year(rows[: header_at - 1])

    records: list[tuple[str, dict[str, object]]] = []
    for number, row in enumerate(rows[header_at:], start=header_at + 1):
        where = f"第{number}行"
        fields: dict[str, object] = {}
        for index, value in enumerate(row):
            if _is_blank(value):
                continue
            key = columns.get(index)
            if key is None:
                raise ValueError(
                    f"{where}：第{get_column_letter(index + 1)}列没有列名，"
                    f"无法识别内容“{_cell_text(value)}”"
                )
            if key != KEY_WEEKDAY:
                fields[key] = _cell_value(key, value)
        if fields:
            records.append((where, fields))
    if not records:
        raise ValueError(f"表格中没有计划条目：表头（第{header_at}行）下方应每行一项")
    if year is None:
        year = _year_from_dates(records)
    items = [parse_item(where, fields, year) for where, fields in records]
    items.sort(key=PlanItem.sort_key)
    return year, items


def _columns(number: int, header: Sequence[object]) -> dict[int, str]:
    """Column index → column name, from the header row."""
    columns: dict[int, str] = {}
    for index, value in enumerate(header):
        name = _cell_text(value)
        if not name:
            continue
        if name not in COLUMNS:
            raise ValueError(
                f"第{number}行（表头）：不认识的列“{name}”，可用的列：{'、'.join(COLUMNS)}"
            )
        if name in columns.values():
            raise ValueError(f"第{number}行（表头）：列“{name}”出现了不止一次")
        columns[index] = name
    missing = [key for key in REQUIRED_COLUMNS if key not in columns.values()]
    if missing:
        raise ValueError(f"第{number}行（表头）：缺少列“{'、'.join(missing)}”")
    return columns


def _title_year(rows: Sequence[Sequence[object]]) -> int | None:
    for number, row in enumerate(rows, start=1):
        for value in row:
            found = _TITLE_YEAR.search(_cell_text(value))
            if found is None:
                continue
            year = int(found.group(1))
            if not 2000 <= year <= 2100:
                raise ValueError(f"第{number}行：标题中的年度 {year} 应在 2000–2100 之间")
            return year
    return None


def _year_from_dates(records: Sequence[tuple[str, dict[str, object]]]) -> int:
    """Without a title, the year of the first dated row; other rows must then fall in it."""
    for where, fields in records:
        day = parse_date(where, KEY_DATE, fields.get(KEY_DATE))
        if day is None:
            continue
        if not 2000 <= day.year <= 2100:
            raise ValueError(f"{where}：日期 {day.isoformat()} 的年份应在 2000–2100 之间")
        return day.year
    where = records[0][0]
    raise ValueError(f"{where}：缺少“{KEY_DATE}”，格式如 2027-03-05")


def _cell_value(key: str, value: object) -> object:
    """A cell as `parse_item` expects it: dates as `date`, text stripped."""
    if key in (KEY_DATE, KEY_MOVED):
        return _cell_date(value)
    if isinstance(value, str):
        return value.strip()
    return value


def _cell_date(value: object) -> object:
    """A date cell or date text as a `date`; anything else unchanged, for `parse_date` to refuse."""
    # Excel stores dates as datetimes; only a bare date (midnight) counts as a plan day.
    if isinstance(value, dt.datetime):
        return value.date() if value.time() == dt.time() else value
    if not isinstance(value, str):
        return value
    text = value.strip()
    dashed = _DASHED_DATE.fullmatch(text)
    chinese = _CHINESE_DATE.fullmatch(text)
    if dashed is not None:
        parts = (dashed.group(1), dashed.group(3), dashed.group(4))
    elif chinese is not None:
        parts = (chinese.group(1), chinese.group(2), chinese.group(3))
    else:
        return text
    try:
        return dt.date(*(int(part) for part in parts))
    except ValueError:
        return text


def _cell_text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())
