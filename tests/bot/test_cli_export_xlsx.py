"""`zhibu export --format xlsx` as a real subprocess: the workbook, progress on stderr, and clean
errors that leave no partial file."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from storage.ledger_xlsx import FIXED_SHEETS
from tests.bot.test_cli import SAMPLE, assert_clean_error, copy_db, zhibu
from tests.factories import BRANCH

SCRIPT = """\
/time 2026-11-20 09:00
开会 党员大会+党课 学习党章
签到
/as 孙强
签到
/as 王芳
请假 =1+1
/as 李明
结束签到
"""
EXPORT = ("export", "--branch", BRANCH, "--period", "2026-11", "--format", "xlsx")


@pytest.fixture(scope="module")
def ledger_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory whose ledger holds the sample roster and one merged sitting from the console."""
    where = tmp_path_factory.mktemp("ledger")
    done = zhibu(where, "roster", "import", SAMPLE, "--branch", BRANCH)
    assert done.returncode == 0, done.stderr
    session = zhibu(where, "console", stdin=SCRIPT.encode("utf-8"))
    assert session.returncode == 0, session.stderr
    assert "签到结束" in session.stdout, session.stdout
    return where


@pytest.fixture
def workdir(ledger_template: Path, tmp_path: Path) -> Path:
    """tmp_path with its own copy of the ledger."""
    copy_db(ledger_template, tmp_path)
    return tmp_path


def test_export_xlsx_writes_the_workbook(workdir: Path) -> None:
    out = workdir / "exports" / "x.xlsx"
    done = zhibu(workdir, *EXPORT, "--out", out)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    for name in (*FIXED_SHEETS, "李明", "孙强"):
        assert f"写入 {name} …" in done.stderr
    assert str(out) in done.stderr
    assert [p.name for p in out.parent.iterdir()] == ["x.xlsx"]

    book = load_workbook(out)
    assert book.sheetnames[: len(FIXED_SHEETS)] == list(FIXED_SHEETS)
    assert len(book.sheetnames) == len(FIXED_SHEETS) + 10
    meetings = book["三会一课记录"]
    assert isinstance(meetings, Worksheet)
    rows = list(meetings.iter_rows(min_row=2, values_only=True))
    assert [(r[3], r[4]) for r in rows] == [
        ("支部党员大会", "与党课合并"),
        ("党课", "与支部党员大会合并"),
    ]
    assert rows[0][9] == "2（正式 1 / 预备 1）"
    leave = book["请假记录"]
    assert isinstance(leave, Worksheet)
    assert leave["C2"].value == "=1+1"
    assert leave["C2"].data_type == "s"


def test_json_export_still_works(workdir: Path) -> None:
    done = zhibu(workdir, "export", "--branch", BRANCH, "--period", "2026-11")
    assert done.returncode == 0, done.stderr
    assert '"支部党员大会"' in done.stdout


def test_xlsx_needs_out(workdir: Path) -> None:
    done = zhibu(workdir, *EXPORT)
    assert_clean_error(done, "xlsx", "--out")
    assert not list(workdir.glob("*.xlsx"))


def test_unknown_format_is_a_clean_error(workdir: Path) -> None:
    assert_clean_error(zhibu(workdir, *EXPORT[:-1], "csv", "--out", workdir / "x.csv"), "csv")


def test_unwritable_out_is_a_clean_error(workdir: Path) -> None:
    blocker = workdir / "not-a-dir"
    blocker.write_text("a file where a directory should be", encoding="utf-8")
    done = zhibu(workdir, *EXPORT, "--out", blocker / "x.xlsx")
    assert_clean_error(done, "无法写入")
    assert blocker.read_text(encoding="utf-8") == "a file where a directory should be"

    # A name the file system refuses (over 255 bytes), in a directory that is writable.
    (workdir / "out").mkdir()
    too_long = workdir / "out" / ("长" * 100 + ".xlsx")
    assert_clean_error(zhibu(workdir, *EXPORT, "--out", too_long), "无法写入")
    assert list((workdir / "out").iterdir()) == []

    (workdir / "adir").mkdir()
    assert_clean_error(zhibu(workdir, *EXPORT, "--out", workdir / "adir"), "目录")
    assert list((workdir / "adir").iterdir()) == []
