"""`zhibu plan generate --save / export / import / versions` as real subprocesses: versions count
up, an edited export comes back as a new version, and a bad file stores nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_runner import run_zhibu

ROSTER = Path(__file__).parent.parent / "data" / "roster_sample.csv"
BRANCH = "机关第一支部"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A ledger with the sample roster imported."""
    done = run_zhibu(tmp_path, "roster", "import", ROSTER, "--branch", BRANCH)
    assert done.returncode == 0, done.stderr
    return tmp_path


def versions(cwd: Path, year: str = "2027") -> list[str]:
    """The lines `plan versions` prints for the sample branch."""
    done = run_zhibu(cwd, "plan", "versions", "--branch", BRANCH, "--year", year)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def generate_save(cwd: Path, *extra: str) -> str:
    """Run `plan generate --save` for 2027 and return its output."""
    done = run_zhibu(
        cwd, "plan", "generate", "--branch", BRANCH, "--year", "2027", "--save", *extra
    )
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


def assert_clean_error(done: object, *words: str) -> None:
    """Exit 1, a Chinese 错误： line, no traceback."""
    assert getattr(done, "returncode", None) == 1
    stderr = str(getattr(done, "stderr", ""))
    assert stderr.startswith("错误：")
    assert "Traceback" not in stderr
    for word in words:
        assert word in stderr


def test_generate_save_export_edit_import(workdir: Path) -> None:
    assert "已保存为第1版" in generate_save(workdir)
    assert "已保存为第2版" in generate_save(workdir, "--format", "json")
    lines = versions(workdir)
    assert lines[0] == f"{BRANCH} 2027年计划，共2版："
    assert lines[1].startswith("第1版") and "按规则生成" in lines[1]
    assert lines[2].startswith("第2版")

    exported = workdir / "out" / "计划2027.yaml"
    done = run_zhibu(workdir, "plan", "export", "--branch", BRANCH, "--year", "2027", exported)
    assert done.returncode == 0, done.stderr
    assert "第2版" in done.stdout
    text = exported.read_text(encoding="utf-8")
    assert text.startswith(f"支部: {BRANCH}\n年度: 2027\n")
    assert not list(exported.parent.glob("*.tmp"))

    # Move the 支委会 of 2027-01-05 to the 7th and import the edited file.
    marker = "- 日期: 2027-01-05\n  类型: 支部委员会\n"
    assert marker in text
    exported.write_text(text.replace(marker, marker.replace("01-05", "01-07")), encoding="utf-8")
    done = run_zhibu(
        workdir, "plan", "import", exported, "--branch", BRANCH, "--note", "支委会改期"
    )
    assert done.returncode == 0, done.stderr
    assert f"已导入 {BRANCH} 2027年计划第3版" in done.stdout
    assert "支部委员会12项" in done.stdout
    lines = versions(workdir)
    assert lines[3].startswith("第3版") and "文件导入" in lines[3] and "支委会改期" in lines[3]

    again = workdir / "again.yaml"
    done = run_zhibu(workdir, "plan", "export", "--branch", BRANCH, "--year", "2027", again)
    assert done.returncode == 0, done.stderr
    stored = again.read_text(encoding="utf-8")
    assert "第3版" in done.stdout
    assert "- 日期: 2027-01-07\n  类型: 支部委员会\n" in stored
    assert marker not in stored
    assert len(stored.splitlines()) == len(text.splitlines())


def test_export_without_a_stored_plan_says_how(workdir: Path) -> None:
    out = workdir / "p.yaml"
    done = run_zhibu(workdir, "plan", "export", "--branch", BRANCH, "--year", "2027", out)
    assert_clean_error(done, "还没有保存过2027年的计划", "plan generate", "--save")
    assert not out.exists()
    assert versions(workdir)[0].startswith(f"{BRANCH} 还没有保存过2027年的计划")


def test_an_unknown_branch_is_a_clean_error(workdir: Path) -> None:
    for args in (
        ("versions", "--branch", "无此支部", "--year", "2027"),
        ("export", "--branch", "无此支部", "--year", "2027", "p.yaml"),
        ("generate", "--branch", "无此支部", "--year", "2027", "--save"),
    ):
        assert_clean_error(run_zhibu(workdir, "plan", *args), "无此支部")


def test_a_bad_file_stores_nothing(workdir: Path) -> None:
    generate_save(workdir)
    bad = workdir / "bad.yaml"
    bad.write_text(
        "年度: 2027\n计划:\n  - 日期: 2027-01-05\n    类型: 支部委员会\n    名称: 支委会\n"
        "  - 日期: 2027-02-30\n    类型: 党课\n    名称: 党课\n",
        encoding="utf-8",
    )
    assert_clean_error(
        run_zhibu(workdir, "plan", "import", bad, "--branch", BRANCH), "第2项", "未导入"
    )
    bad.write_text("年度: 2027\n计划: [\n", encoding="utf-8")
    assert_clean_error(run_zhibu(workdir, "plan", "import", bad, "--branch", BRANCH), "YAML")
    bad.write_bytes("年度: 2027".encode("gbk"))
    assert_clean_error(run_zhibu(workdir, "plan", "import", bad, "--branch", BRANCH), "UTF-8")
    missing = workdir / "missing.yaml"
    assert_clean_error(
        run_zhibu(workdir, "plan", "import", missing, "--branch", BRANCH), "找不到文件"
    )
    good = workdir / "good.yaml"
    good.write_text("年度: 2027\n计划:\n  - 日期: 2027-03-05\n    类型: 党课\n    名称: 党课\n")
    assert_clean_error(
        run_zhibu(workdir, "plan", "import", good, "--branch", "无此支部"), "无此支部"
    )

    assert len(versions(workdir)) == 2  # header + 第1版 only
