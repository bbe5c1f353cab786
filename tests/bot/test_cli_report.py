"""`zhibu report --org` and `zhibu export --org` as real subprocesses over the sample organisation
(`tests.storage.org_sample`): the table, the JSON, the workbooks and clean Chinese errors."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.cli_report import check_plans
from storage.db import Database
from storage.org_report import build_report
from storage.org_report_json import report_json
from storage.periods import resolve
from tests.bot.test_cli import assert_clean_error
from tests.cli_runner import run_zhibu
from tests.factories import BRANCH, ChatBot
from tests.storage import org_sample
from tests.storage.org_sample import FOURTH, ORG, SECOND, THIRD

Run = Callable[..., subprocess.CompletedProcess[str]]
REPORT = ("report", "--org", ORG, "--period", "2026-11", "--as-of", "2026-11-20")


@pytest.fixture
def workdir(db: Database, bot: ChatBot, database_url: str, tmp_path: Path) -> Path:
    """A directory for output files next to the sample organisation's ledger."""
    org_sample.build(db, bot)
    out = tmp_path / "work"
    out.mkdir()
    return out


@pytest.fixture
def zhibu(database_url: str) -> Run:
    """Run the CLI against the test database."""

    def run(cwd: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
        return run_zhibu(cwd, *args, env={"ZHIBU_DATABASE_URL": database_url}, default_db=False)

    return run


def test_table(workdir: Path, zhibu: Run) -> None:
    done = zhibu(workdir, *REPORT)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"{ORG} 2026年11月 支部赛马（截至 2026-11-20）"
    header = lines[2]
    assert header.split() == [
        "排名",
        "支部",
        "党员",
        "规定动作",
        "出勤率",
        "学习完成",
        "逾期",
        "补课完结",
        "志愿时长",
        "人均",
        "得分",
        "分组",
    ]
    body = lines[4:8]
    assert [line.split()[1] for line in body] == [FOURTH, SECOND, THIRD, BRANCH]
    assert body[1].split() == [
        "2",
        SECOND,
        "5",
        "3/4",
        "75%",
        "8/10",
        "80%",
        "4/5",
        "80%",
        "2",
        "1/2",
        "50%",
        "5",
        "1",
        "76.0",
        "中间",
    ]
    # CJK characters are two columns wide: every column starts at the same display position
    from storage.xlsx_sheets import text_width

    ends = set()
    for line in [header, *body]:
        name, members = line.split()[1:3]
        at = line.index(members, line.index(name) + len(name)) + len(members)
        ends.add(text_width(line[:at]))
    assert len(ends) == 1  # the right-aligned 党员 column ends at one display position
    assert lines[9].split()[:2] == ["合计", "21"]
    assert lines[-1] == "先进 1 个，中间 1 个，落后 2 个（得分 ≥ 90 为先进，< 70 为落后）"
    assert "核对年度计划…" in done.stderr


def test_json(workdir: Path, zhibu: Run, db: Database) -> None:
    done = zhibu(workdir, *REPORT, "--format", "json")
    assert done.returncode == 0, done.stderr
    as_of = date(2026, 11, 20)
    with db.session() as session:
        expected = report_json(
            build_report(session, ORG, resolve("2026-11", as_of), as_of, check_plans)
        )
    assert json.loads(done.stdout) == expected
    # Stable: sorted keys, two-space indent, the same bytes for the same ledger.
    assert done.stdout == json.dumps(expected, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    assert done.stdout.index('"as_of"') < done.stdout.index('"branches"')
    assert zhibu(workdir, *REPORT, "--format", "json").stdout == done.stdout
    out = workdir / "r.json"
    written = zhibu(workdir, *REPORT, "--format", "json", "--out", out)
    assert written.returncode == 0, written.stderr
    assert json.loads(out.read_text(encoding="utf-8")) == expected


def test_thresholds_file_and_options(workdir: Path, zhibu: Run) -> None:
    rules = workdir / "评分.yaml"
    rules.write_text("先进: 76\n落后: 60\n", encoding="utf-8")
    done = zhibu(workdir, *REPORT, "--format", "json", "--thresholds", rules)
    assert done.returncode == 0, done.stderr
    groups = {b["name"]: b["group"] for b in json.loads(done.stdout)["branches"]}
    assert groups == {FOURTH: "advanced", SECOND: "advanced", THIRD: "lagging", BRANCH: "lagging"}
    # an option wins over the file
    done = zhibu(workdir, *REPORT, "--format", "json", "--thresholds", rules, "--advanced", "76.01")
    assert json.loads(done.stdout)["branches"][1]["group"] == "middle"


def test_report_xlsx(workdir: Path, zhibu: Run) -> None:
    out = workdir / "out" / "报表.xlsx"
    done = zhibu(workdir, *REPORT, "--format", "xlsx", "--out", out)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert str(out) in done.stderr
    assert load_workbook(out).sheetnames == ["赛马排名", "缺项明细", "评分规则"]


def test_report_errors(workdir: Path, zhibu: Run) -> None:
    run = zhibu
    assert_clean_error(
        run(workdir, "report", "--org", "无此工委", "--period", "2026"),
        "没有属于“无此工委”的支部",
    )
    assert_clean_error(
        run(workdir, "report", "--org", ORG, "--period", "2026-13"),
        "时段“2026-13”无效",
        "2026-H2",
    )
    bad = workdir / "bad.yaml"
    bad.write_text("权重:\n  规定动作: 40\n", encoding="utf-8")
    assert_clean_error(
        run(workdir, *REPORT, "--thresholds", bad),
        "评分设置有误",
        "权重缺少",
    )
    assert_clean_error(
        run(workdir, *REPORT, "--thresholds", workdir / "none.yaml"),
        "无法读取评分文件",
    )
    assert_clean_error(
        run(workdir, *REPORT, "--lagging", "95"),
        "不能高于",
    )
    assert_clean_error(
        run(workdir, *REPORT, "--format", "xlsx"),
        "--out",
    )
    assert_clean_error(
        run(workdir, *REPORT, "--format", "csv"),
        "不支持的格式“csv”",
    )
    assert_clean_error(
        run(workdir, *REPORT, "--as-of", "2026-11-31"),
        "--as-of",
    )
    assert list(workdir.iterdir()) == [bad]


def test_export_org(workdir: Path, zhibu: Run) -> None:
    out = workdir / "台账" / "工委.xlsx"
    args = ("export", "--org", ORG, "--period", "2026-11", "--format", "xlsx", "--out", out)
    done = zhibu(workdir, *args)
    assert done.returncode == 0, done.stderr
    assert "第 1/1 批" in done.stderr
    assert "4 个支部，7 个工作表" in done.stderr
    book = load_workbook(out)
    assert book.sheetnames[-1] == "党员一览"


def test_export_org_errors(workdir: Path, zhibu: Run) -> None:
    out = workdir / "x.xlsx"
    both = ("export", "--org", ORG, "--branch", BRANCH, "--format", "xlsx", "--out", out)
    assert_clean_error(zhibu(workdir, *both), "二者只能选一")
    assert_clean_error(
        zhibu(workdir, "export", "--period", "2026"),
        "--branch",
        "--org",
    )
    assert_clean_error(
        zhibu(workdir, "export", "--org", ORG, "--period", "2026"),
        "只支持 --format xlsx",
    )
    assert_clean_error(
        zhibu(workdir, "export", "--org", "无此工委", "--format", "xlsx", "--out", out),
        "没有属于",
    )
    assert_clean_error(
        zhibu(
            workdir, "export", "--org", ORG, "--period", "2026-X", "--format", "xlsx", "--out", out
        ),
        "时段",
    )
    assert not out.exists()
