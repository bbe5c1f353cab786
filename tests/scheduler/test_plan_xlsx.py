"""The plan as an Excel workbook: dump → load gives the same items back, a secretary's edits
(reordered rows, blank rows, dates typed as text) are read, and every kind of bad row is refused
with a Chinese message naming the sheet row."""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from scheduler.plan import NODE_DAY, PlanItem, generate
from scheduler.plan_xlsx import dump_xlsx, load_xlsx
from scheduler.rules import CalendarSettings

BRANCH = "机关第一党支部"
TITLE = f"{BRANCH} 2027年度计划"
HEADER = ["日期", "星期", "类型", "名称", "党小组", "原定日期", "备注"]
GOOD: list[object] = ["2027-03-05", "周五", "党课", "专题党课", None, None, None]


def write_book(path: Path, *rows: Sequence[object], title: str | None = TITLE) -> Path:
    """A workbook at `path` whose first sheet holds the title (if any), then the given rows."""
    book = Workbook()
    sheet = book.active
    assert isinstance(sheet, Worksheet)
    if title is not None:
        sheet.append([title])
    for row in rows:
        sheet.append(list(row))
    book.save(path)
    return path


def plan_sheet(path: Path) -> Worksheet:
    """The 年度计划 sheet of a saved workbook."""
    sheet = load_workbook(path)["年度计划"]
    assert isinstance(sheet, Worksheet)
    return sheet


def test_a_generated_plan_round_trips(tmp_path: Path) -> None:
    plan = generate(CalendarSettings(), 2026, ["第一党小组", "第二党小组"])
    path = tmp_path / "计划.xlsx"

    dump_xlsx(BRANCH, 2026, plan.items, path)
    year, items = load_xlsx(path)

    assert year == 2026
    # The workbook keeps no 筹备日期: everything else comes back as it was.
    assert items == [replace(item, prepare_on=None) for item in plan.items]
    assert any(item.moved_from for item in items)
    assert any(item.group for item in items)
    assert any(item.kind == NODE_DAY for item in items)
    assert [p.name for p in tmp_path.iterdir()] == ["计划.xlsx"]


def test_the_saved_sheet_is_formatted(tmp_path: Path) -> None:
    items = [
        PlanItem(date(2027, 7, 1), NODE_DAY, "七一建党纪念日", note="建议主题：党史学习"),
        PlanItem(
            date(2027, 1, 4), "主题党日", "主题党日", moved_from=date(2027, 1, 1), note="顺延"
        ),
        PlanItem(date(2027, 2, 3), "党小组会", "党小组会（第一党小组）", group="第一党小组"),
    ]
    path = tmp_path / "计划.xlsx"
    dump_xlsx(BRANCH, 2027, items, path)

    sheet = plan_sheet(path)
    assert sheet["A1"].value == TITLE
    assert [cell.value for cell in sheet[2]] == HEADER
    assert all(cell.font.bold for cell in sheet[2])
    assert sheet.freeze_panes == "A3"
    assert sheet.max_row == 5
    assert (sheet.column_dimensions["G"].width or 0) > (sheet.column_dimensions["B"].width or 0)
    rows = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=3)]
    # Date order, real date cells (openpyxl reads them back as midnight datetimes).
    assert rows[0] == [
        datetime(2027, 1, 4),
        "周一",
        "主题党日",
        "主题党日",
        None,
        datetime(2027, 1, 1),
        "顺延",
    ]
    assert rows[1][:5] == [
        datetime(2027, 2, 3),
        "周三",
        "党小组会",
        "党小组会（第一党小组）",
        "第一党小组",
    ]
    assert rows[2][:4] == [datetime(2027, 7, 1), "周四", "节点日", "七一建党纪念日"]
    assert sheet["A3"].is_date
    assert sheet["A3"].number_format == "yyyy-mm-dd"
    assert sheet["F3"].number_format == "yyyy-mm-dd"


def test_a_failed_save_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "计划.xlsx"
    path.write_bytes(b"old")

    def broken_save(self: Workbook, filename: str) -> None:
        Path(filename).write_bytes(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Workbook, "save", broken_save)
    with pytest.raises(OSError, match="No space"):
        dump_xlsx(BRANCH, 2027, [PlanItem(date(2027, 3, 5), "党课", "党课")], path)
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["计划.xlsx"]


def test_an_edited_workbook_loads(tmp_path: Path) -> None:
    path = write_book(
        tmp_path / "edited.xlsx",
        HEADER,
        ["2027年3月5日", "随便写", "党课", "专题党课", None, None, "  请书记讲  "],
        [None, None, None, None, None, None, None],
        ["2027/2/3", None, "党小组会", "党小组会", "第一党小组", "2027/2/1", None],
        [],
        [datetime(2027, 7, 1), None, "节点日", "七一", None, None, None],
        [" 2027-01-05 ", "", " 支部委员会 ", "支委会", "", "", ""],
        ["2027.12.6", None, "node_day", "国家宪法日", None, None, None],
        [None, "周一", None, None, None, None, None],
    )
    year, items = load_xlsx(path)

    assert year == 2027
    assert items == [
        PlanItem(date(2027, 1, 5), "支部委员会", "支委会"),
        PlanItem(date(2027, 2, 3), "党小组会", "党小组会", "第一党小组", date(2027, 2, 1)),
        PlanItem(date(2027, 3, 5), "党课", "专题党课", note="请书记讲"),
        PlanItem(date(2027, 7, 1), NODE_DAY, "七一"),
        PlanItem(date(2027, 12, 6), NODE_DAY, "国家宪法日"),
    ]


def test_columns_are_found_by_header_and_the_year_by_the_dates(tmp_path: Path) -> None:
    path = write_book(
        tmp_path / "bare.xlsx",
        ["名称", "类型", "日期"],
        ["专题党课", "党课", "2028-03-05"],
        ["支委会", "支部委员会", date(2028, 1, 4)],
        title=None,
    )
    year, items = load_xlsx(path)
    assert year == 2028
    assert items == [
        PlanItem(date(2028, 1, 4), "支部委员会", "支委会"),
        PlanItem(date(2028, 3, 5), "党课", "专题党课"),
    ]

    mixed = write_book(
        tmp_path / "mixed.xlsx",
        HEADER,
        ["2028-03-05", None, "党课", "党课"],
        ["2029-03-05", None, "党课", "党课"],
        title=None,
    )
    with pytest.raises(ValueError, match="第3行：日期 2029-03-05 不在2028年内"):
        load_xlsx(mixed)


def test_the_plan_sheet_is_preferred(tmp_path: Path) -> None:
    book = Workbook()
    notes = book.active
    assert isinstance(notes, Worksheet)
    notes.title = "说明"
    notes.append(["这里是说明，没有表头"])
    plan = book.create_sheet("年度计划")
    plan.append([TITLE])
    plan.append(HEADER)
    plan.append(GOOD)
    path = tmp_path / "two.xlsx"
    book.save(path)

    assert load_xlsx(path) == (2027, [PlanItem(date(2027, 3, 5), "党课", "专题党课")])


def row(**changes: object) -> list[object]:
    """GOOD with some columns replaced, by header name."""
    values = list(GOOD)
    for name, value in changes.items():
        values[HEADER.index(name)] = value
    return values


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (row(日期="2027-13-01"), "第4行：“日期”应为有效日期，格式如 2027-03-05，收到“2027-13-01”"),
        (row(日期="2027/2/30"), "第4行：“日期”应为有效日期"),
        (row(日期="3月5日"), "第4行：“日期”应为有效日期"),
        (row(日期=datetime(2027, 3, 5, 9, 30)), "第4行：“日期”应为有效日期"),
        (row(日期=46000), "第4行：“日期”应为有效日期"),
        (row(日期=None), "第4行：缺少“日期”"),
        (row(日期="2028-01-05"), "第4行：日期 2028-01-05 不在2027年内"),
        (row(原定日期="2026/12/31"), "第4行：原定日期 2026-12-31 不在2027年内"),
        (row(原定日期="明天"), "第4行：“原定日期”应为有效日期"),
        (row(类型="茶话会"), "第4行：类型“茶话会”不认识"),
        (row(类型=None), "第4行：缺少“类型”"),
        (row(名称="   "), "第4行：缺少“名称”"),
        (row(名称=True), "第4行：“名称”应为文字"),
        (row(类型="党小组会"), "第4行：党小组会需要填写“党小组”"),
        ([*GOOD, "多出来的"], "第4行：第H列没有列名，无法识别内容“多出来的”"),
    ],
)
def test_a_bad_row_is_named(tmp_path: Path, bad: list[object], message: str) -> None:
    path = write_book(tmp_path / "bad.xlsx", HEADER, GOOD, bad)
    with pytest.raises(ValueError, match=message):
        load_xlsx(path)


@pytest.mark.parametrize(
    ("rows", "title", "message"),
    [
        ([[*HEADER, "负责人"], GOOD], TITLE, "第2行（表头）：不认识的列“负责人”"),
        ([["日期", "类型", "日期"], GOOD], TITLE, "第2行（表头）：列“日期”出现了不止一次"),
        ([["日期", "星期", "类型"], GOOD], TITLE, "第2行（表头）：缺少列“名称”"),
        ([GOOD], TITLE, "找不到表头行"),
        ([HEADER, [], [None, "周一"]], TITLE, "表格中没有计划条目"),
        ([HEADER, GOOD], f"{BRANCH} 1999年度计划", "第1行：标题中的年度 1999 应在 2000–2100 之间"),
        ([HEADER, row(日期="1999-03-05")], None, "第2行：日期 1999-03-05 的年份应在 2000–2100"),
        ([HEADER, row(日期=None)], None, "第2行：缺少“日期”"),
    ],
)
def test_a_bad_sheet_is_refused(
    tmp_path: Path, rows: list[Sequence[object]], title: str | None, message: str
) -> None:
    path = write_book(tmp_path / "bad.xlsx", *rows, title=title)
    with pytest.raises(ValueError, match=message):
        load_xlsx(path)


def test_a_file_that_is_not_xlsx_is_refused(tmp_path: Path) -> None:
    text = tmp_path / "plan.xlsx"
    text.write_text("年度: 2027\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"不是有效的 Excel 文件（\.xlsx）"):
        load_xlsx(text)

    legacy = tmp_path / "plan.xls"
    legacy.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    with pytest.raises(ValueError, match=r"旧版 \.xls 文件，不是有效的 Excel 文件"):
        load_xlsx(legacy)

    other_zip = tmp_path / "other.xlsx"
    with zipfile.ZipFile(other_zip, "w") as archive:
        archive.writestr("readme.txt", "not a workbook")
    with pytest.raises(ValueError, match="不是有效的 Excel 文件"):
        load_xlsx(other_zip)


def test_a_workbook_is_read_whatever_its_name(tmp_path: Path) -> None:
    path = write_book(tmp_path / "计划.xlsx", HEADER, GOOD)
    renamed = path.rename(tmp_path / "计划.bak")
    assert load_xlsx(renamed)[0] == 2027
