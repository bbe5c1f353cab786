"""`zhibu plan export / import` with Excel files, as real subprocesses: the format follows the
file's extension, an edited workbook comes back as a new version, and a bad one stores nothing."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from tests.bot.test_cli_plan_store import (
    BRANCH,
    ROSTER,
    assert_clean_error,
    generate_save,
    versions,
)
from tests.cli_runner import run_zhibu


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A ledger with the sample roster imported and a generated 2027 plan saved as 第1版."""
    done = run_zhibu(tmp_path, "roster", "import", ROSTER, "--branch", BRANCH)
    assert done.returncode == 0, done.stderr
    assert "已保存为第1版" in generate_save(tmp_path)
    return tmp_path


def export(cwd: Path, file: Path) -> str:
    """Run `plan export` for 2027 into `file` and return its output."""
    done = run_zhibu(cwd, "plan", "export", "--branch", BRANCH, "--year", "2027", file)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_export_edit_import_xlsx(workdir: Path) -> None:
    book_path = workdir / "out" / "计划2027.xlsx"
    assert "第1版" in export(workdir, book_path)
    assert not list(book_path.parent.glob("*.tmp"))

    book = load_workbook(book_path)
    sheet = book["年度计划"]
    assert isinstance(sheet, Worksheet)
    assert sheet["A1"].value == f"{BRANCH} 2027年度计划"
    assert [cell.value for cell in sheet[2]][:4] == ["日期", "星期", "类型", "名称"]
    rows = list(sheet.iter_rows(min_row=3))
    committees = [r for r in rows if r[2].value == "支部委员会"]
    assert len(committees) == 12
    first = committees[0]
    assert first[0].value == datetime(2027, 1, 5)
    assert first[0].is_date

    # The secretary moves the 支委会 of 2027-01-05 to the 7th, typing the date as text,
    # moves the last row to the top and leaves a blank row in the middle.
    first[0].value = "2027/1/7"
    last = [cell.value for cell in rows[-1]]
    sheet.insert_rows(3)
    for column, value in enumerate(last, start=1):
        sheet.cell(3, column, value)
    sheet.delete_rows(sheet.max_row)
    sheet.insert_rows(10)
    book.save(book_path)

    done = run_zhibu(
        workdir, "plan", "import", book_path, "--branch", BRANCH, "--note", "支委会改期"
    )
    assert done.returncode == 0, done.stderr
    assert f"已导入 {BRANCH} 2027年计划第2版" in done.stdout
    assert "支部委员会12项" in done.stdout
    lines = versions(workdir)
    assert lines[2].startswith("第2版") and "文件导入" in lines[2] and "支委会改期" in lines[2]

    # The stored version, exported as YAML, carries the edit; nothing else changed.
    again = workdir / "again.yml"
    assert "第2版" in export(workdir, again)
    stored = again.read_text(encoding="utf-8")
    assert stored.startswith(f"支部: {BRANCH}\n年度: 2027\n")
    assert "- 日期: 2027-01-07\n  类型: 支部委员会\n" in stored
    assert "- 日期: 2027-01-05\n  类型: 支部委员会\n" not in stored
    assert stored.count("- 日期: ") == len(rows)


def test_a_bad_workbook_stores_nothing(workdir: Path) -> None:
    book_path = workdir / "计划.xlsx"
    export(workdir, book_path)
    book = load_workbook(book_path)
    sheet = book["年度计划"]
    assert isinstance(sheet, Worksheet)
    sheet["C5"] = "茶话会"
    book.save(book_path)
    assert_clean_error(
        run_zhibu(workdir, "plan", "import", book_path, "--branch", BRANCH),
        "计划.xlsx：第5行：类型“茶话会”不认识",
        "未导入",
    )

    fake = workdir / "fake.xlsx"
    fake.write_text("年度: 2027\n", encoding="utf-8")
    assert_clean_error(
        run_zhibu(workdir, "plan", "import", fake, "--branch", BRANCH), "不是有效的 Excel 文件"
    )
    assert_clean_error(
        run_zhibu(workdir, "plan", "import", workdir / "missing.xlsx", "--branch", BRANCH),
        "找不到文件",
    )

    assert len(versions(workdir)) == 2  # header + 第1版 only


def test_an_unknown_extension_is_a_clean_error(workdir: Path) -> None:
    out = workdir / "计划.txt"
    assert_clean_error(
        run_zhibu(workdir, "plan", "export", "--branch", BRANCH, "--year", "2027", out),
        "计划.txt：不支持的文件类型（“.txt”）",
        ".xlsx",
        ".yaml",
    )
    assert not out.exists()

    bare = workdir / "计划"
    bare.write_text("年度: 2027\n", encoding="utf-8")
    assert_clean_error(
        run_zhibu(workdir, "plan", "import", bare, "--branch", BRANCH),
        "没有扩展名",
        ".xlsx",
        ".yml",
    )
    assert len(versions(workdir)) == 2
