"""`zhibu points` as a real subprocess: rules shown, set (strictly checked, versioned), history,
a branch's points as text and JSON, and the xlsx export's 年度计划完成情况 sheet."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from bot.clock import FixedClock
from storage import migrate, plans, points_rules, roster
from storage.audit import Actor
from storage.db import Database
from storage.ledger_rows import SHEET_PLAN
from storage.points_rules import default_text
from tests.bot.test_cli import assert_clean_error, copy_db, open_db, zhibu
from tests.factories import BRANCH, ChatBot
from tests.storage.points_ledger import YEAR_TOTALS, build_year

TZ = ZoneInfo("Asia/Shanghai")
ORG = "市直机关工委"


@pytest.fixture(scope="module")
def ledger_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory whose ledger holds the sample branch (of ORG) with a year of records."""
    where = tmp_path_factory.mktemp("points")
    db = Database(f"sqlite:///{where / 'zhibu.db'}")
    migrate.upgrade(db.engine)
    bot = ChatBot(db, FixedClock(datetime(2026, 11, 20, 10, 0, tzinfo=TZ)))
    bot.seed()
    build_year(bot)
    with db.transaction() as session:
        branch = roster.get_branch(session, BRANCH)
        assert branch is not None
        branch.organisation = ORG
        rows = [
            plans.PlanRow(date(2026, 11, 10), "支部委员会", "支委会"),
            plans.PlanRow(date(2026, 11, 20), "党课", "书记讲党课"),
        ]
        plans.save_version(session, Actor("李明", bot.clock.now()), branch, 2026, rows, "imported")
    db.dispose()
    return where


@pytest.fixture
def workdir(ledger_template: Path, tmp_path: Path) -> Path:
    """tmp_path with its own copy of the ledger."""
    copy_db(ledger_template, tmp_path)
    return tmp_path


def rules_file(where: Path, **changes: object) -> Path:
    """The default rules with top-level changes, written to a file."""
    document = yaml.safe_load(default_text())
    document.update(changes)
    path = where / "rules.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


def stored_versions(where: Path) -> int:
    """How many rules versions the ledger holds for ORG."""
    db = open_db(where)
    try:
        with db.session() as session:
            return len(points_rules.versions(session, ORG))
    finally:
        db.dispose()


def test_rules_show_the_defaults(workdir: Path) -> None:
    done = zhibu(workdir, "points", "rules", "show")
    assert done.returncode == 0, done.stderr
    assert "使用默认积分规则" in done.stdout
    assert "基础分 60，最低分 0" in done.stdout
    as_yaml = zhibu(workdir, "points", "rules", "show", "--format", "yaml")
    assert as_yaml.stdout.rstrip("\n") == default_text().rstrip("\n")
    org = zhibu(workdir, "points", "rules", "show", "--org", ORG)
    assert f"单位“{ORG}”未设置积分规则" in org.stdout


def test_rules_set_refuses_a_bad_file_and_writes_nothing(workdir: Path) -> None:
    bad = rules_file(workdir, base="六十", study={"on_time": 1, "late": 2}, bonus=3)
    done = zhibu(workdir, "points", "rules", "set", "--org", ORG, "--file", bad)
    assert_clean_error(
        done, "rules.yaml 有 3 处问题，未保存", "base：应为数字", "bonus：未知的设置项"
    )
    assert "study.late：逾期完成的得分不应高于按时完成" in done.stderr
    assert stored_versions(workdir) == 0
    missing = zhibu(workdir, "points", "rules", "set", "--org", ORG, "--file", workdir / "no.yaml")
    assert_clean_error(missing, "找不到文件")
    bad_day = zhibu(
        workdir, "points", "rules", "set", "--org", ORG, "--file", rules_file(workdir),
        "--effective", "明年",
    )  # fmt: skip
    assert_clean_error(bad_day, "生效日期“明年”无效")
    assert stored_versions(workdir) == 0


def test_rules_set_adds_a_version_and_points_are_recomputed(workdir: Path) -> None:
    before = json.loads(
        zhibu(
            workdir, "points", "show", "--branch", BRANCH, "--period", "2026", "--format", "json"
        ).stdout
    )
    assert {m["name"]: m["total"] for m in before["members"]} == {
        k: float(v) if v % 1 else int(v) for k, v in YEAR_TOTALS.items()
    }
    assert before["rules"] == {
        "name": "默认积分规则",
        "organisation": None,
        "version": None,
        "effective_from": None,
    }

    path = rules_file(workdir, base=80, name="工委积分规则")
    done = zhibu(
        workdir, "points", "rules", "set", "--org", ORG, "--file", path,
        "--effective", "2026-01-01", "--note", "首版",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"已保存 {ORG} 积分规则第1版（工委积分规则），自 2026-01-01 起生效" in done.stdout
    assert stored_versions(workdir) == 1

    after = json.loads(
        zhibu(
            workdir, "points", "show", "--branch", BRANCH, "--period", "2026", "--format", "json"
        ).stdout
    )
    assert after["rules"]["version"] == 1
    totals = {m["name"]: m["total"] for m in after["members"]}
    assert totals == {k: float(v + 20) if v % 1 else int(v + 20) for k, v in YEAR_TOTALS.items()}
    zhang = next(m for m in after["members"] if m["name"] == "张伟")
    assert zhang["rank"] == 1
    assert zhang["categories"] == {"meetings": 6, "study": 1, "volunteer": 10}
    assert {"category": "volunteer", "category_label": "志愿服务", "item": "防汛值守",
            "date": "2026-11-19", "points": 4,
            "basis": "12 小时 × 0.5 分（全年计入上限 20 小时）"} in zhang["grounds"]  # fmt: skip

    history = zhibu(workdir, "points", "rules", "history", "--org", ORG)
    assert history.stdout.startswith("第1版  生效 2026-01-01  cli:")
    assert "首版" in history.stdout
    shown = zhibu(workdir, "points", "rules", "show", "--org", ORG, "--on", "2026-06-30")
    assert f"{ORG} 积分规则第1版：自 2026-01-01 起生效" in shown.stdout
    assert "基础分 80" in shown.stdout
    assert zhibu(workdir, "points", "rules", "show", "--org", ORG, "--format", "yaml").stdout == (
        path.read_text(encoding="utf-8").rstrip("\n") + "\n"
    )


def test_points_show_as_text(workdir: Path) -> None:
    done = zhibu(workdir, "points", "show", "--branch", BRANCH, "--period", "2026-11")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"{BRANCH} 2026年11月得分（不含基础分）（默认积分规则）"
    assert lines[2].split()[:3] == ["1", "张伟", "17"]
    assert any("社区值守" in line and "+6" in line for line in lines)


def test_points_show_errors(workdir: Path) -> None:
    assert_clean_error(zhibu(workdir, "points", "show", "--branch", "无此支部"), "没有支部")
    assert_clean_error(
        zhibu(workdir, "points", "show", "--branch", BRANCH, "--period", "明年"), "时段“明年”无效"
    )
    assert_clean_error(
        zhibu(workdir, "points", "show", "--branch", BRANCH, "--format", "xml"), "输出格式"
    )


def test_export_xlsx_fills_the_plan_sheet(workdir: Path) -> None:
    out = workdir / "台账.xlsx"
    done = zhibu(
        workdir, "export", "--branch", BRANCH, "--period", "2026", "--format", "xlsx", "--out", out
    )
    assert done.returncode == 0, done.stderr
    assert f"写入 {SHEET_PLAN} …" in done.stderr
    ws = load_workbook(out)[SHEET_PLAN]
    assert isinstance(ws, Worksheet)
    rows = [(r[1], r[4], r[5]) for r in ws.iter_rows(min_row=2, values_only=True)]
    assert rows == [
        ("支部委员会", "✗", None),
        ("党课", "✓", "2026-11-20 支部党员大会+党课（学习党章）"),
    ]
    member = load_workbook(out)["张伟"]
    assert isinstance(member, Worksheet)
    values = [[v for v in row if v is not None] for row in member.iter_rows(values_only=True)]
    assert [60, 17, 77, "默认积分规则"] in values
