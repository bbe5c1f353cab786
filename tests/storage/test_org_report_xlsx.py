"""The report workbook (赛马排名, 缺项明细, 评分规则) read back with openpyxl."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from bot.cli_report import check_plans
from storage.db import Database
from storage.org_report import MissingItem, build_report
from storage.org_report_xlsx import MISSING_COLUMNS, RANKING_COLUMNS, write_report_xlsx
from storage.periods import resolve
from tests.factories import BRANCH, ChatBot
from tests.storage import org_sample
from tests.storage.org_sample import FOURTH, ORG, SECOND, THIRD
from tests.storage.xlsx_checks import (
    assert_print_ready,
    assert_widths_fit_header,
    formula_looking_cells,
    heading,
)


def test_report_workbook(db: Database, bot: ChatBot, tmp_path: Path) -> None:
    org_sample.build(db, bot)
    as_of = date(2026, 11, 20)
    with db.session() as session:
        found = build_report(session, ORG, resolve("2026-11", as_of), as_of, check_plans)
    (tmp_path / "out").mkdir()
    path = tmp_path / "out" / "报表.xlsx"
    assert write_report_xlsx(found, path) == ["赛马排名", "缺项明细", "评分规则"]
    assert [p.name for p in path.parent.iterdir()] == ["报表.xlsx"]
    book = load_workbook(path)
    assert book.sheetnames == ["赛马排名", "缺项明细", "评分规则"]
    ranking = book["赛马排名"]
    assert isinstance(ranking, Worksheet)
    values = list(ranking.iter_rows(values_only=True))
    assert values[0] == RANKING_COLUMNS
    assert [r[1] for r in values[1:]] == [FOURTH, SECOND, THIRD, BRANCH, "合计"]
    assert values[2] == (
        2,
        SECOND,
        5,
        4,
        3,
        0.75,
        10,
        8,
        0.8,
        5,
        4,
        2,
        0.8,
        2,
        1,
        0.5,
        5,
        1,
        1,
        76,
        "中间",
    )
    assert values[3][19:] == (58.57, "落后")
    assert values[5][2:5] == (21, 14, 8)
    assert ranking["F3"].number_format == "0.0%"
    assert ranking.freeze_panes == "A2"
    assert ranking.page_setup.orientation == "landscape"
    missing = book["缺项明细"]
    assert isinstance(missing, Worksheet)
    missing_rows = list(missing.iter_rows(values_only=True))
    assert missing_rows[0] == MISSING_COLUMNS
    assert missing_rows[1] == (SECOND, "2026年11月19日", "党课", "党课")
    assert len(missing_rows) - 1 == 1 + 3 + 2
    rules = book["评分规则"]
    assert isinstance(rules, Worksheet)
    settings = {r[0]: r[1] for r in rules.iter_rows(min_row=2, values_only=True)}
    assert settings["权重：规定动作"] == 40
    assert settings["先进"] == 90
    assert settings["落后"] == 70
    assert settings["统计截至"] == "2026年11月20日"
    for ws in book.worksheets:
        assert isinstance(ws, Worksheet)
        assert_print_ready(ws)
        assert_widths_fit_header(ws)
        assert heading(ws).startswith(f"{ORG} 2026年11月 ")


def test_report_workbook_text_is_never_a_formula(
    db: Database, bot: ChatBot, tmp_path: Path
) -> None:
    org_sample.build(db, bot)
    as_of = date(2026, 11, 20)
    with db.session() as session:
        found = build_report(session, ORG, resolve("2026-11", as_of), as_of, check_plans)
    found.branches[0].name = '=HYPERLINK("x")'
    found.branches[1].name = "+第二"
    found.branches[1].plan.missing[0] = MissingItem(date(2026, 11, 19), "党课", "@全体 党课")
    found.branches[2].name = "-第三"
    path = tmp_path / "报表.xlsx"
    write_report_xlsx(found, path)
    cells = formula_looking_cells(path)
    assert {'=HYPERLINK("x")', "+第二", "-第三"} <= set(cells["赛马排名"])
    assert {"+第二", "@全体 党课"} <= set(cells["缺项明细"])
