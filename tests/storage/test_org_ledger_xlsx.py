"""The whole organisation's 台账 workbook, read back with openpyxl: sheets, headers, row counts,
values against the sample organisation (`org_sample`), formula safety, print settings, and the
same workbook whatever the batch size."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import update

from storage.db import Database
from storage.ledger_rows import (
    LEAVE_COLUMNS,
    MAKEUP_COLUMNS,
    MEETING_COLUMNS,
    STUDY_COLUMNS,
    VOLUNTEER_COLUMNS,
)
from storage.models import Member
from storage.org_ledger_xlsx import (
    MEMBER_COLUMNS,
    OrgWorkbookSummary,
    write_org_ledger_xlsx,
)
from storage.org_scoring import ReportError
from storage.periods import resolve
from tests.factories import BRANCH, ChatBot
from tests.storage import org_sample
from tests.storage.org_sample import FOURTH, ORG, OTHER, SECOND, THIRD
from tests.storage.xlsx_checks import (
    assert_print_ready,
    assert_widths_fit_header,
    formula_looking_cells,
    heading,
)

SHEETS = ["三会一课记录", "主题党日", "学习记录", "志愿服务", "请假记录", "补课记录", "党员一览"]


@pytest.fixture
def org(db: Database, bot: ChatBot) -> Database:
    """The sample organisation."""
    org_sample.build(db, bot)
    return db


def export(
    db: Database, path: Path, batch: int = 1500, period: str = "2026-11"
) -> tuple[OrgWorkbookSummary, list[str]]:
    """Write the organisation's workbook; return the summary and the progress lines."""
    seen: list[str] = []
    with db.session() as session:
        summary = write_org_ledger_xlsx(
            session,
            ORG,
            resolve(period, date(2026, 11, 20)),
            path,
            progress=seen.append,
            batch_members=batch,
        )
    return summary, seen


def rows(path: Path, name: str) -> list[tuple[object, ...]]:
    """Every row of a sheet, header first."""
    sheet = load_workbook(path)[name]
    assert isinstance(sheet, Worksheet)
    return list(sheet.iter_rows(values_only=True))


def test_sheets_headers_and_counts(org: Database, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    path = tmp_path / "out" / "工委台账.xlsx"
    summary, progress = export(org, path)
    book = load_workbook(path)
    assert book.sheetnames == SHEETS == summary.sheet_names
    assert summary.branches == 4
    headers = {
        "三会一课记录": ("支部", *MEETING_COLUMNS),
        "主题党日": ("支部", *MEETING_COLUMNS),
        "学习记录": ("支部", *STUDY_COLUMNS),
        "志愿服务": ("支部", *VOLUNTEER_COLUMNS),
        "请假记录": ("支部", *LEAVE_COLUMNS),
        "补课记录": ("支部", *MAKEUP_COLUMNS),
        "党员一览": MEMBER_COLUMNS,
    }
    counts = {
        # 第一: the merged sitting under both kinds; 第二: three; 第三: the open 支委会; 第四: one
        "三会一课记录": 7,
        "主题党日": 1,
        "学习记录": 3,
        "志愿服务": 6,  # 第二's October record is outside 2026-11
        "请假记录": 2,
        "补课记录": 10,
        "党员一览": 21,
    }
    for name in SHEETS:
        found = rows(path, name)
        assert found[0] == headers[name]
        assert len(found) - 1 == counts[name] == summary.rows(name)
        assert all(row[0] != OTHER for row in found)
        sheet = book[name]
        assert isinstance(sheet, Worksheet)
        assert_print_ready(sheet)
        assert_widths_fit_header(sheet)
        assert heading(sheet) == f"{ORG} 2026年11月 {name}"
    assert progress[0].startswith("第 1/1 批")
    assert progress[-1] == "保存工作簿 工委台账.xlsx …"
    assert [p.name for p in path.parent.iterdir()] == ["工委台账.xlsx"]


def test_values(org: Database, tmp_path: Path) -> None:
    path = tmp_path / "x.xlsx"
    export(org, path)
    meetings = rows(path, "三会一课记录")[1:]
    assert [(r[0], r[4], r[5]) for r in meetings] == [
        (BRANCH, "支部党员大会", "与党课合并"),
        (BRANCH, "党课", "与支部党员大会合并"),
        (THIRD, "支部委员会", None),
        (SECOND, "支部委员会", None),
        (SECOND, "支部党员大会", None),
        (SECOND, "党小组会（第一党小组）", None),
        (FOURTH, "支部委员会", None),
    ]
    big = meetings[4]
    assert big[1:4] == ("2026年11月11日", "09:00–11:00", "三楼会议室")
    assert big[9:15] == (
        5,
        "3（正式 3 / 预备 0）",
        None,  # 李四 took leave, then made it up: her status is now 补课
        "周五（未签到）",
        "待补：周五；已补：李四",
        "补录",
    )
    assert meetings[0][10] == "2（正式 2 / 预备 0）"
    study = rows(path, "学习记录")[1:]
    assert study[1] == (
        SECOND,
        "《党章》第一章",
        "2026年11月5日",
        "2026年11月10日",
        5,
        "赵一、钱二",
        "孙三、李四",
        "周五",
    )
    volunteer = rows(path, "志愿服务")[1:]
    assert (SECOND, "赵一", "2026年11月8日", 3, "社区服务", "本人") in volunteer
    assert volunteer[1][:4] == (BRANCH, "杨帆", "2026年11月20日", 1.5)
    makeups = rows(path, "补课记录")[1:]
    assert (
        SECOND,
        "李四",
        "2026-11-11 支部党员大会（学习贯彻）",
        "已补",
        "2026年11月15日 09:00",
    ) in (makeups)
    assert sum(1 for r in makeups if r[0] == BRANCH and r[3] == "待补") == 7
    members = {(r[0], r[1]): r for r in rows(path, "党员一览")[1:]}
    assert members[(SECOND, "李四")] == (
        SECOND,
        "李四",
        "党员",
        "正式党员",
        "第一党小组",
        1,  # 应参加
        0,  # 参加
        0,  # 请假 (made up since: counted under 已补课)
        0,  # 缺席
        1,  # 已补课
        "支部党员大会 0/1",
        1,
        0,
        1,
        0,
        0,
        0,
        1,  # 请假次数
        0,  # 待补课
    )
    assert members[(SECOND, "孙三")][5:11] == (2, 2, 0, 0, 0, "支部党员大会 1/1；党小组会 1/1")
    assert members[(BRANCH, "王芳")][17:] == (1, 1)
    assert members[(THIRD, "吴甲")][5:11] == (2, 1, 0, 1, 0, "主题党日 1/1；支部委员会 0/1")


def test_formula_looking_text_stays_text(org: Database, tmp_path: Path) -> None:
    path = tmp_path / "x.xlsx"
    export(org, path)
    book = load_workbook(path)
    leave = book["请假记录"]
    assert isinstance(leave, Worksheet)
    assert leave["D2"].value == "=1+1"
    assert leave["D2"].data_type == "s"
    study = book["学习记录"]
    assert isinstance(study, Worksheet)
    assert study["B4"].value == '=HYPERLINK("x")'
    assert study["B4"].data_type == "s"
    volunteer = book["志愿服务"]
    assert isinstance(volunteer, Worksheet)
    assert str(volunteer["E3"].value).startswith("=SUM")
    assert volunteer["E3"].data_type == "s"


def test_every_formula_start_stays_text(org: Database, tmp_path: Path) -> None:
    with org.transaction() as session:
        session.execute(update(Member).where(Member.name == "周五").values(name="@周五"))
        session.execute(update(Member).where(Member.name == "褚己").values(name="+褚己"))
        session.execute(update(Member).where(Member.name == "孙三").values(name="-孙三"))
    path = tmp_path / "x.xlsx"
    export(org, path)
    found = formula_looking_cells(path)
    assert {"@周五", "+褚己", "-孙三"} <= set(found["党员一览"])
    assert "=1+1" in found["请假记录"]
    assert "@周五（未签到）" in found["三会一课记录"]  # 缺席 of 第二's 支部党员大会


def test_small_batches_write_the_same_workbook(org: Database, tmp_path: Path) -> None:
    one, _ = export(org, tmp_path / "one.xlsx")
    many, progress = export(org, tmp_path / "many.xlsx", batch=3)
    assert len([p for p in progress if p.startswith("第 ")]) == 4  # a branch per batch
    assert one.sheets == many.sheets
    for name in SHEETS:
        assert rows(tmp_path / "one.xlsx", name) == rows(tmp_path / "many.xlsx", name)


def test_quarter_and_unknown_organisation(org: Database, tmp_path: Path) -> None:
    summary, _ = export(org, tmp_path / "q.xlsx", period="2026-Q4")
    assert summary.rows("志愿服务") == 7  # October's record is in the quarter
    with org.session() as session, pytest.raises(ReportError, match="没有属于"):
        write_org_ledger_xlsx(
            session, "无此工委", resolve("2026", date(2026, 11, 20)), tmp_path / "n.xlsx"
        )
    assert not (tmp_path / "n.xlsx").exists()
