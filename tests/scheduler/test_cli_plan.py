"""`zhibu plan generate` as a real subprocess, against a roster imported first."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_runner import run_zhibu

ROSTER = Path(__file__).parent.parent / "data" / "roster_sample.csv"
BRANCH = "机关第一支部"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cwd = tmp_path_factory.mktemp("plan")
    done = run_zhibu(cwd, "roster", "import", ROSTER, "--branch", BRANCH)
    assert done.returncode == 0, done.stderr
    return cwd


def test_text_for_an_estimated_year(workdir: Path) -> None:
    done = run_zhibu(workdir, "plan", "generate", "--branch", BRANCH, "--year", "2027")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith(f"{BRANCH} 2027年工作计划")
    assert "2027年的法定节假日和调休安排尚未收录" in out
    assert "党小组会（第一党小组）" in out
    assert "党小组会（第二党小组）" in out
    assert "\n12月（" in out


def test_json_for_2026(workdir: Path) -> None:
    done = run_zhibu(
        workdir,
        "plan",
        "generate",
        "--branch",
        BRANCH,
        "--year",
        "2026",
        "--format",
        "json",
        "--node-day",
        "5-10",
        "--theme-day",
        "每月最后一个周四",
        "--holiday-shift",
        "before",
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["branch"] == BRANCH
    assert data["year"] == 2026
    assert data["holidays"]["exact"] is True
    assert data["settings"]["holiday_shift"] == "before"
    assert "5-10" in data["settings"]["node_days"]
    assert data["counts"]["党小组会"] == 24
    assert data["counts"]["主题党日"] == 12
    themes = [i["date"] for i in data["items"] if i["kind"] == "主题党日"]
    assert themes[11] == "2026-12-31"
    assert any(i["date"] == "2026-05-10" and i["kind"] == "node_day" for i in data["items"])


def test_unknown_branch(workdir: Path) -> None:
    done = run_zhibu(workdir, "plan", "generate", "--branch", "不存在支部", "--year", "2026")
    assert done.returncode == 1
    assert "错误：没有支部“不存在支部”" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_bad_theme_day(workdir: Path) -> None:
    done = run_zhibu(
        workdir, "plan", "generate", "--branch", BRANCH, "--year", "2026", "--theme-day", "每月初"
    )
    assert done.returncode == 1
    assert "错误：看不懂日期规则“每月初”" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--holiday-shift", "later"), "节假日调整方向"),
        (("--node-day", "2-30"), "没有节点日“2-30”"),
        (("--format", "xml"), "输出格式"),
    ],
)
def test_other_bad_options(workdir: Path, args: tuple[str, ...], message: str) -> None:
    done = run_zhibu(workdir, "plan", "generate", "--branch", BRANCH, "--year", "2026", *args)
    assert done.returncode == 1
    assert message in done.stderr
    assert "Traceback" not in done.stderr
