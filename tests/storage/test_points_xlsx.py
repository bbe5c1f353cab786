"""The 台账 workbook's points: each member's sheet shows the total and grounds, the 年度计划完成情况
sheet shows each plan item ✓/✗ with the meeting that satisfied it; read back with openpyxl and
compared with the ledger built through chat."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from handlers.plan_ledger import NOT_YET, write_branch_ledger
from scheduler.plan import NODE_DAY
from storage import plans, points, roster
from storage.audit import Actor
from storage.ledger_rows import FIXED_SHEETS, PLAN_COLUMNS, SHEET_PLAN
from storage.periods import resolve
from tests.factories import BRANCH, ChatBot
from tests.storage.points_ledger import EVERYONE, MERGED, YEAR_TOTALS, build_year

TODAY = date(2026, 11, 27)
PLAN = [
    plans.PlanRow(date(2026, 7, 1), NODE_DAY, "七一 建党纪念日"),
    plans.PlanRow(date(2026, 10, 15), "党小组会", "第一党小组会", "第一党小组"),
    plans.PlanRow(date(2026, 10, 16), "党小组会", "第二党小组会", "第二党小组"),
    plans.PlanRow(date(2026, 11, 10), "支部委员会", "支委会"),
    plans.PlanRow(date(2026, 11, 20), "支部党员大会", "党员大会"),
    plans.PlanRow(date(2026, 11, 20), "党课", "书记讲党课"),
    plans.PlanRow(date(2026, 11, 27), "主题党日", "主题党日"),
    plans.PlanRow(date(2026, 12, 10), "支部委员会", "年终支委会"),
]


@pytest.fixture
def workbook(bot: ChatBot, tmp_path: Path) -> Path:
    """The 2026 workbook of the sample branch, with a stored plan and one odd adjustment."""
    build_year(bot)
    assert "已记录积分调整" in bot.say("李明", "积分调整 张伟 +1 =1+1")
    path = tmp_path / "台账2026.xlsx"
    with bot.db.transaction() as session:
        branch = roster.get_branch(session, BRANCH)
        assert branch is not None
        plans.save_version(session, Actor("李明", bot.clock.now()), branch, 2026, PLAN, "imported")
        summary = write_branch_ledger(session, branch, resolve("2026", TODAY), path, TODAY)
    assert summary.rows(SHEET_PLAN) == len(PLAN)
    return path


def sheet(path: Path, name: str) -> Worksheet:
    """One worksheet of the workbook."""
    found = load_workbook(path)[name]
    assert isinstance(found, Worksheet)
    return found


def compact(ws: Worksheet) -> list[list[object]]:
    """Rows without their empty cells."""
    return [[v for v in row if v is not None] for row in ws.iter_rows(values_only=True)]


def test_plan_sheet_marks_each_item_with_the_meeting_that_satisfied_it(workbook: Path) -> None:
    assert load_workbook(workbook).sheetnames == [*FIXED_SHEETS, *EVERYONE]
    rows = list(sheet(workbook, SHEET_PLAN).iter_rows(values_only=True))
    assert rows[0] == PLAN_COLUMNS
    got = [(r[0], r[1], r[3] or None, r[4], r[5] or "", r[6] or "") for r in rows[1:]]
    assert got == [
        ("2026年7月1日", NODE_DAY, None, "—", "", ""),
        (
            "2026年10月15日",
            "党小组会",
            "第一党小组",
            "✓",
            "2026-10-15 党小组会（第一党小组 学习）",
            "",
        ),
        ("2026年10月16日", "党小组会", "第二党小组", "✗", "", ""),
        ("2026年11月10日", "支部委员会", None, "✗", "", ""),
        ("2026年11月20日", "支部党员大会", None, "✓", MERGED, ""),  # the merged sitting
        ("2026年11月20日", "党课", None, "✓", MERGED, ""),
        ("2026年11月27日", "主题党日", None, "✓", "2026-11-20 主题党日（参观红色教育基地）", ""),
        ("2026年12月10日", "支部委员会", None, "✗", "", NOT_YET),
    ]
    ws = sheet(workbook, SHEET_PLAN)
    assert ws.page_setup.orientation == "landscape"
    assert ws.freeze_panes == "A2"


def test_member_sheet_shows_points_and_grounds_from_the_ledger(
    bot: ChatBot, workbook: Path
) -> None:
    with bot.db.session() as session:
        branch = roster.get_branch(session, BRANCH)
        assert branch is not None
        computed = points.branch_points(session, branch, resolve("2026", TODAY), today=TODAY)
    for member in computed.members:
        rows = compact(sheet(workbook, member.name))
        at = rows.index(["积分", "基础分", "得分", "总分", "规则"])
        assert rows[at + 1] == [
            60,
            float(member.total - 60) if member.total % 1 else int(member.total - 60),
            float(member.total) if member.total % 1 else int(member.total),
            "默认积分规则",
        ]
        assert rows[at + 2] == ["积分依据", "类别", "事项", "次数", "分值", "日期"]
        expected: dict[tuple[str, str], list[points.Ground]] = defaultdict(list)
        for ground in member.grounds:
            expected[(ground.category_label, ground.item)].append(ground)
        shown = rows[at + 3 : at + 3 + len(expected)]
        assert [(r[0], r[1], r[2], Decimal(str(r[3]))) for r in shown] == [
            (label, item, len(gs), sum((g.points for g in gs), Decimal(0)))
            for (label, item), gs in expected.items()
        ]
        assert len(rows) == at + 3 + len(expected)  # the grounds end the sheet
    assert YEAR_TOTALS["张伟"] + 1 == next(m.total for m in computed.members if m.name == "张伟")


def test_member_sheet_details(workbook: Path) -> None:
    zhang = compact(sheet(workbook, "张伟"))
    assert ["组织生活", "支部党员大会", 1, 2, "11月20日"] in zhang
    assert ["志愿服务", "防汛值守", 1, 4, "11月19日"] in zhang
    assert ["积分调整", "=1+1", 1, 1, "11月27日"] in zhang
    ws = sheet(workbook, "张伟")
    cell = next(c for row in ws.iter_rows() for c in row if c.value == "=1+1")
    assert cell.data_type == "s"  # text from chat is never a formula
    assert ws.page_setup.paperSize == 9  # A4
    assert ws.page_setup.fitToHeight == 1  # still one A4 page
    assert ws.page_setup.orientation == "portrait"
    huang = compact(sheet(workbook, "黄丽"))
    assert ["缺席扣分", "无故缺席", 2, -4, "10月15日、11月20日"] in huang


def test_a_month_sheet_shows_the_points_earned_in_it(bot: ChatBot, tmp_path: Path) -> None:
    build_year(bot)
    path = tmp_path / "十一月.xlsx"
    with bot.db.session() as session:
        branch = roster.get_branch(session, BRANCH)
        assert branch is not None
        write_branch_ledger(session, branch, resolve("2026-11", TODAY), path, TODAY)
    rows = compact(sheet(path, "张伟"))
    at = rows.index(["积分", "本期得分（不含基础分）", "规则"])
    assert rows[at + 1] == [17, "默认积分规则"]
    plan_rows = list(sheet(path, SHEET_PLAN).iter_rows(min_row=2, values_only=True))
    assert plan_rows  # the generated plan for November
    assert all(r[0].startswith("2026年11月") for r in plan_rows)  # type: ignore[union-attr]
