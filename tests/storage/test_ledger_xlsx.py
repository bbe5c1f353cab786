"""The formatted 台账 workbook, built from real conversations through dispatch and read back with
openpyxl: sheets, headers, rows against the ledger, formula safety and print settings."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from openpyxl.cell import Cell
from openpyxl.worksheet.worksheet import Worksheet

from storage import roster, study
from storage.audit import Actor
from storage.ledger_rows import (
    FIXED_SHEETS,
    LEAVE_COLUMNS,
    MAKEUP_COLUMNS,
    MEETING_COLUMNS,
    PLAN_COLUMNS,
    STUDY_COLUMNS,
    VOLUNTEER_COLUMNS,
)
from storage.ledger_xlsx import WorkbookSummary, write_ledger_xlsx
from storage.models import VolunteerRecord
from storage.periods import resolve
from storage.xlsx_sheets import chinese_date, sheet_title, text_width
from tests.factories import BRANCH, ChatBot
from tests.storage.xlsx_checks import (
    FORMULA_STARTS,
    assert_print_ready,
    assert_widths_fit_header,
    formula_looking_cells,
    heading,
)

TZ = ZoneInfo("Asia/Shanghai")
EVERYONE = ["李明", "王芳", "张伟", "刘洋", "陈静", "杨帆", "赵磊", "黄丽", "吴敏", "孙强"]
MERGED_LABEL = "2026-11-20 支部党员大会+党课（学习党章）"


def november(bot: ChatBot) -> None:
    """A merged sitting with leave, lateness and corrections, a 主题党日, study and volunteering."""
    opened = bot.say("李明", "开会 支部党员大会+党课 学习党章 地点：三楼会议室 记录：王芳")
    assert "合并召开" in opened
    bot.say("李明", "签到")
    bot.say("张伟", "签到")
    bot.say("孙强", "签到")  # the sample roster's only 预备党员
    bot.say("王芳", "请假 出差")
    bot.say("刘洋", "请假 =1+1")
    bot.clock.advance(timedelta(minutes=40))
    bot.say("赵磊", "签到")
    assert "补课" in bot.say("李明", "结束签到")
    assert "已补录" in bot.say("李明", "补录 吴敏 签到")  # cancels 吴敏's 补课
    assert "已补录" in bot.say("李明", "补录 黄丽 补课")

    assert "已发布" in bot.say("李明", "发布学习《党章》截止11月25日")
    assert "已记录" in bot.say("张伟", "志愿服务 2小时 社区献血 昨天")
    assert "已记录" in bot.say("杨帆", "志愿服务 1.5小时 =SUM(A1:A9)")
    bot.say("张伟", "已学习《党章》")

    bot.clock.set(datetime(2026, 11, 27, 9, 0, tzinfo=TZ))
    assert "逾期" in bot.say("陈静", "已学习《党章》")
    bot.say("李明", "开会 主题党日 参观红色教育基地")
    for name in EVERYONE:
        if name not in {"黄丽", "吴敏"}:
            bot.say(name, "签到")
    bot.say("李明", "结束签到")


def export(bot: ChatBot, path: Path, period: str = "2026-11") -> WorkbookSummary:
    """Write the period's workbook to `path`, collecting progress, and return the summary."""
    seen: list[str] = []
    with bot.db.session() as session:
        branch = roster.get_branch(session, BRANCH)
        assert branch is not None
        summary = write_ledger_xlsx(
            session, branch, resolve(period, bot.clock.now().date()), path, progress=seen.append
        )
    assert seen == summary.sheet_names
    return summary


def sheet(path: Path, name: str) -> Worksheet:
    """One worksheet of the workbook at `path`."""
    found = load_workbook(path)[name]
    assert isinstance(found, Worksheet)
    return found


def table(ws: Worksheet) -> list[dict[str, object]]:
    """The rows below the header as dicts keyed by header."""
    rows = list(ws.iter_rows(values_only=True))
    header = [str(v) for v in rows[0]]
    return [dict(zip(header, row, strict=False)) for row in rows[1:]]


def header(ws: Worksheet) -> tuple[object, ...]:
    """The values of the first row."""
    return next(ws.iter_rows(max_row=1, values_only=True))


@pytest.fixture
def workbook(bot: ChatBot, tmp_path: Path) -> tuple[Path, WorkbookSummary]:
    """November's ledger written to a workbook."""
    november(bot)
    (tmp_path / "out").mkdir()
    path = tmp_path / "out" / "台账.xlsx"
    return path, export(bot, path)


def test_sheets_and_headers(workbook: tuple[Path, WorkbookSummary]) -> None:
    path, summary = workbook
    book = load_workbook(path)
    assert book.sheetnames == [*FIXED_SHEETS, *EVERYONE]
    assert summary.sheet_names == book.sheetnames
    assert summary.path == path
    expected = {
        "三会一课记录": MEETING_COLUMNS,
        "主题党日": MEETING_COLUMNS,
        "学习记录": STUDY_COLUMNS,
        "志愿服务": VOLUNTEER_COLUMNS,
        "请假记录": LEAVE_COLUMNS,
        "补课记录": MAKEUP_COLUMNS,
        "年度计划完成情况": PLAN_COLUMNS,
    }
    for name, columns in expected.items():
        ws = sheet(path, name)
        assert header(ws) == columns
        assert ws.max_row - 1 == summary.rows(name)
    # 年度计划完成情况 stays empty: no plan statuses are passed here (tests/storage/test_points_xlsx.py).
    assert [summary.rows(n) for n in FIXED_SHEETS] == [2, 1, 1, 2, 2, 8, 0]
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind


def test_merged_sitting_appears_under_each_kind(workbook: tuple[Path, WorkbookSummary]) -> None:
    path, _ = workbook
    assembly, lecture = table(sheet(path, "三会一课记录"))
    assert (assembly["会议类型"], assembly["合并召开"]) == ("支部党员大会", "与党课合并")
    assert (lecture["会议类型"], lecture["合并召开"]) == ("党课", "与支部党员大会合并")
    for row in (assembly, lecture):
        assert row["日期"] == "2026年11月20日"
        assert row["时间"] == "10:00–10:40"
        assert row["地点"] == "三楼会议室"
        assert row["主题"] == "学习党章"
        assert row["主持人"] == "李明"
        assert row["记录人"] == "王芳"
        assert row["应到"] == 10
        # 李明, 张伟, 赵磊 (late), 吴敏 (补录) and the 预备党员 孙强.
        assert row["实到"] == "5（正式 4 / 预备 1）"
        assert row["请假"] == "王芳（出差）、刘洋（=1+1）"
        assert row["缺席"] == "陈静（未签到）、杨帆（未签到）"
        assert row["补课情况"] == "待补：王芳、刘洋、陈静、杨帆；已补：黄丽"
        assert isinstance(row["来源"], str)
        assert row["来源"].startswith("消息#")

    (party_day,) = table(sheet(path, "主题党日"))
    assert party_day["会议类型"] == "主题党日"
    assert party_day["合并召开"] is None  # an empty cell: not merged
    assert party_day["日期"] == "2026年11月27日"
    assert party_day["实到"] == "8（正式 7 / 预备 1）"
    assert party_day["缺席"] == "黄丽（未签到）、吴敏（未签到）"
    assert party_day["补课情况"] == "待补：黄丽、吴敏"


def test_study_volunteer_leave_and_makeup_rows(workbook: tuple[Path, WorkbookSummary]) -> None:
    path, _ = workbook
    (task,) = table(sheet(path, "学习记录"))
    assert task["任务"] == "党章"
    assert task["发布日期"] == "2026年11月20日"
    assert task["截止日期"] == "2026年11月25日"
    assert task["应学人数"] == 10
    assert task["已学（按时）"] == "张伟"
    assert task["已学（逾期）"] == "陈静"
    assert isinstance(task["未学"], str)
    assert task["未学"].split("、") == [n for n in EVERYONE if n not in {"张伟", "陈静"}]

    blood, sums = table(sheet(path, "志愿服务"))
    assert blood == {
        "姓名": "张伟",
        "日期": "2026年11月19日",
        "时长（小时）": 2,
        "内容": "社区献血",
        "登记方式": "本人",
    }
    assert sums["时长（小时）"] == 1.5
    assert sheet(path, "志愿服务")["C2"].data_type == "n"

    leaves = table(sheet(path, "请假记录"))
    assert [(r["姓名"], r["事由"], r["对应会议"]) for r in leaves] == [
        ("王芳", "出差", MERGED_LABEL),
        ("刘洋", "=1+1", MERGED_LABEL),
    ]
    assert leaves[0]["申请时间"] == "2026年11月20日 10:00"

    makeups = {
        (r["姓名"], r["会议"]): (r["状态"], r["完成时间"]) for r in table(sheet(path, "补课记录"))
    }
    assert makeups[("黄丽", MERGED_LABEL)] == ("已补", "2026年11月20日 10:40")
    assert makeups[("吴敏", MERGED_LABEL)] == ("已取消", None)
    assert makeups[("王芳", MERGED_LABEL)] == ("待补", None)
    assert sum(state == "待补" for state, _ in makeups.values()) == 6


def test_text_from_chat_is_never_a_formula(workbook: tuple[Path, WorkbookSummary]) -> None:
    path, _ = workbook
    leave_reason = sheet(path, "请假记录")["C3"]
    activity = sheet(path, "志愿服务")["D3"]
    assert leave_reason.value == "=1+1"
    assert isinstance(activity.value, str)
    assert activity.value.startswith("=SUM(A1:A9")
    for cell in (leave_reason, activity):
        assert isinstance(cell, Cell)
        assert cell.data_type == "s"
        assert cell.quotePrefix
    # Nowhere in the workbook is there a formula.
    book = load_workbook(path)
    for ws in book.worksheets:
        assert isinstance(ws, Worksheet)
        assert all(c.data_type != "f" for row in ws.iter_rows() for c in row), ws.title


def test_print_settings(workbook: tuple[Path, WorkbookSummary]) -> None:
    path, _ = workbook
    book = load_workbook(path)
    for ws in book.worksheets:
        assert isinstance(ws, Worksheet)
        assert int(ws.page_setup.paperSize or 0) == 9, ws.title
        assert ws.freeze_panes == "A2", ws.title
        assert ws.print_title_rows == "$1:$1", ws.title
        assert ws.sheet_properties.pageSetUpPr is not None
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert ws.page_setup.fitToWidth == 1, ws.title
        member = ws.title in EVERYONE
        assert ws.page_setup.orientation == ("portrait" if member else "landscape"), ws.title
        if member:
            assert ws.page_setup.fitToHeight == 1  # one A4 page per member
        assert_print_ready(ws, landscape=not member, one_page=member)
        if not member:
            assert_widths_fit_header(ws)
        assert heading(ws) == ("" if member else f"{BRANCH} 2026年11月 {ws.title}"), ws.title
    meetings = sheet(path, "三会一课记录")
    # Widths follow the content, CJK characters counting double: “2026年11月20日” is 14 wide.
    assert meetings.column_dimensions["A"].width == 16
    assert meetings.column_dimensions["F"].width == text_width("学习党章") + 2
    assert meetings.column_dimensions["L"].width == text_width("陈静（未签到）、杨帆（未签到）") + 2


def test_one_sheet_per_member(workbook: tuple[Path, WorkbookSummary]) -> None:
    path, _ = workbook
    ws = sheet(path, "黄丽")
    rows = [[v for v in row if v is not None] for row in ws.iter_rows(values_only=True)]
    assert rows[0] == [f"黄丽 一人一张清单（{BRANCH} 2026年11月）"]
    assert rows[1] == ["姓名", "黄丽", "职务", "党员", "身份", "正式党员"]
    by_label = {row[0]: row[1:] for row in rows if row}
    # 应参加, 参加, 请假, 缺席, 已补课
    assert by_label["支部党员大会"] == [1, 0, 0, 0, 1]
    assert by_label["党课"] == [1, 0, 0, 0, 1]
    assert by_label["主题党日"] == [1, 0, 0, 1, 0]
    assert by_label["合计"][:5] == [3, 0, 0, 1, 2]
    assert by_label["学习任务"] == [1, 0, 0, 1]
    # Points of a month: earned in it, no base (details in tests/storage/test_points_xlsx.py).
    points_at = rows.index(["积分", "本期得分（不含基础分）", "规则"])
    assert rows[points_at + 1] == [-4, "默认积分规则"]  # two unexcused absences

    zhang = [
        [v for v in row if v is not None] for row in sheet(path, "张伟").iter_rows(values_only=True)
    ]
    volunteer = zhang[zhang.index(["志愿服务", "日期", "时长（小时）", "内容", "登记方式"]) + 1]
    assert volunteer == ["2026年11月19日", 2, "社区献血", "本人"]
    assert ["服务合计", "1 次", 2] in zhang
    assert next(r[1:] for r in zhang if r and r[0] == "学习任务") == [1, 1, 0, 0]

    sun = [
        [v for v in row if v is not None] for row in sheet(path, "孙强").iter_rows(values_only=True)
    ]
    assert sun[1][-1] == "预备党员"
    leave_row = [
        [v for v in row if v is not None] for row in sheet(path, "刘洋").iter_rows(values_only=True)
    ]
    header_at = leave_row.index(["请假与补课", "请假次数", "待补课", "已补课", "待补课会议"])
    assert leave_row[header_at + 1] == [1, 1, 0, MERGED_LABEL]


def test_late_study_on_the_member_sheet(workbook: tuple[Path, WorkbookSummary]) -> None:
    path, _ = workbook
    chen = [
        [v for v in row if v is not None] for row in sheet(path, "陈静").iter_rows(values_only=True)
    ]
    # 任务数, 已学（按时）, 已学（逾期）, 未学
    assert next(r[1:] for r in chen if r and r[0] == "学习任务") == [1, 0, 1, 0]


def test_every_formula_start_stays_text_in_every_sheet(bot: ChatBot, tmp_path: Path) -> None:
    november(bot)
    with bot.db.transaction() as session:
        branch = roster.get_branch(session, BRANCH)
        assert branch is not None
        sun = roster.find_member_by_name(session, branch.id, "孙强")
        zhang = roster.find_member_by_name(session, branch.id, "张伟")
        assert sun is not None and zhang is not None
        sun.name = "-孙强"
        at = datetime(2026, 11, 21, 9, 0, tzinfo=TZ)
        session.add(
            VolunteerRecord(
                branch_id=branch.id,
                member_id=zhang.id,
                service_date=at.date(),
                hours=1,
                activity="+扫雪除冰",
                recorded_at=at,
                recorded_by_member_id=zhang.id,
            )
        )
        study.publish(
            session,
            Actor("李明", at),
            branch_id=branch.id,
            chat_id=None,
            title="@全体 学习",
            deadline=None,
            link=None,
        )
    path = tmp_path / "公式.xlsx"
    export(bot, path)
    found = formula_looking_cells(path)
    assert {text[0] for texts in found.values() for text in texts} == set(FORMULA_STARTS)
    assert "=1+1" in found["请假记录"]
    assert "+扫雪除冰" in found["志愿服务"]
    assert "@全体 学习" in found["学习记录"]
    # The member sheets too: the renamed member's own sheet and 张伟's volunteer line.
    assert "-孙强" in found["-孙强"]
    assert "+扫雪除冰" in found["张伟"]


def test_an_empty_period_still_has_every_sheet(bot: ChatBot, tmp_path: Path) -> None:
    november(bot)
    path = tmp_path / "十月.xlsx"
    summary = export(bot, path, "2026-10")
    assert [summary.rows(n) for n in FIXED_SHEETS] == [0] * len(FIXED_SHEETS)
    assert header(sheet(path, "三会一课记录")) == MEETING_COLUMNS


def test_a_failed_export_leaves_no_file(
    bot: ChatBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    november(bot)
    (tmp_path / "out").mkdir()
    path = tmp_path / "out" / "台账.xlsx"
    path.write_bytes(b"the previous export")

    def broken(*_args: object, **_kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("openpyxl.workbook.workbook.Workbook.save", broken)
    with pytest.raises(OSError, match="No space"):
        export(bot, path)
    assert path.read_bytes() == b"the previous export"
    assert list(path.parent.iterdir()) == [path]


def test_sheet_titles_are_valid_and_unique() -> None:
    taken = {t.casefold() for t in FIXED_SHEETS}
    assert sheet_title("学习记录", taken) == "学习记录(2)"
    assert sheet_title("a/b:c*d?e[f]g\\h", taken) == "a_b_c_d_e_f_g_h"
    long = "长" * 40
    first = sheet_title(long, taken)
    second = sheet_title(long, taken)
    assert len(first) == len(second) == 31
    assert first != second
    assert sheet_title("Ann", taken) == "Ann"
    assert sheet_title("ANN", taken) == "ANN(2)"


def test_helpers() -> None:
    assert chinese_date(datetime(2026, 3, 11, tzinfo=TZ).date()) == "2026年3月11日"
    assert text_width("党章ab") == 6
    assert text_width(None) == 0
