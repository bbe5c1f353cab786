"""`zhibu branch list|set` and `zhibu roster import --organisation` as real subprocesses: the
organisation the work committee's report groups by is set, cleared, audited and validated."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.models import AuditEntry, Branch
from tests.bot.test_cli import SAMPLE, assert_clean_error, copy_db, open_db, zhibu
from tests.factories import BRANCH

ORG = "市直机关工委"
SECOND = "机关第二党支部"


@pytest.fixture(scope="module")
def two_branches(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ledger with the sample roster in two branches, imported once through the CLI."""
    where = tmp_path_factory.mktemp("branches")
    for name in (BRANCH, SECOND):
        done = zhibu(where, "roster", "import", SAMPLE, "--branch", name)
        assert done.returncode == 0, done.stderr
    return where


@pytest.fixture
def workdir(two_branches: Path, tmp_path: Path) -> Path:
    """tmp_path with its own copy of the ledger."""
    copy_db(two_branches, tmp_path)
    return tmp_path


def organisations(where: Path) -> dict[str, str | None]:
    """Branch name -> organisation, read from the ledger."""
    db = open_db(where)
    try:
        with db.session() as session:
            rows = session.execute(select(Branch.name, Branch.organisation)).all()
            return {str(name): organisation for name, organisation in rows}
    finally:
        db.dispose()


def test_set_and_list(workdir: Path) -> None:
    done = zhibu(workdir, "branch", "set", BRANCH, "--organisation", f"  {ORG} ")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{BRANCH} 的所属组织已设为“{ORG}”。"
    assert organisations(workdir) == {BRANCH: ORG, SECOND: None}
    again = zhibu(workdir, "branch", "set", BRANCH, "--org", ORG)
    assert again.stdout.strip() == f"{BRANCH} 的所属组织已是“{ORG}”。"

    listed = zhibu(workdir, "branch", "list")
    assert listed.returncode == 0, listed.stderr
    lines = [line.split() for line in listed.stdout.splitlines()]
    assert lines == [["支部", "所属组织", "党员数"], [BRANCH, ORG, "10"], [SECOND, "—", "10"]]

    db = open_db(workdir)
    try:
        with db.session() as session:
            entries = session.scalars(
                select(AuditEntry).where(AuditEntry.action == "set_organisation")
            ).all()
    finally:
        db.dispose()
    assert len(entries) == 1  # setting the same value again changes nothing
    assert entries[0].actor.startswith("cli:")
    assert json.loads(entries[0].detail) == {"organisation": ORG, "previous": None}


def test_the_report_finds_the_branch_once_set(workdir: Path) -> None:
    report = ("report", "--org", ORG, "--period", "2026-11", "--as-of", "2026-11-20")
    assert_clean_error(zhibu(workdir, *report), f"没有属于“{ORG}”的支部")
    zhibu(workdir, "branch", "set", SECOND, "--organisation", ORG)
    done = zhibu(workdir, *report, "--format", "json")
    assert done.returncode == 0, done.stderr
    assert [b["name"] for b in json.loads(done.stdout)["branches"]] == [SECOND]


def test_an_empty_organisation_clears_it(workdir: Path) -> None:
    zhibu(workdir, "branch", "set", BRANCH, "--organisation", ORG)
    done = zhibu(workdir, "branch", "set", BRANCH, "--organisation", " ")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"已清除 {BRANCH} 的所属组织。"
    assert organisations(workdir)[BRANCH] is None
    again = zhibu(workdir, "branch", "set", BRANCH, "--organisation", "")
    assert again.stdout.strip() == f"{BRANCH} 没有所属组织。"


def test_errors_change_nothing(workdir: Path) -> None:
    unknown = zhibu(workdir, "branch", "set", "无此支部", "--organisation", ORG)
    assert_clean_error(unknown, "没有支部“无此支部”", "unknown branch", BRANCH, SECOND)
    too_long = zhibu(workdir, "branch", "set", BRANCH, "--organisation", "长" * 101)
    assert_clean_error(too_long, "不能超过100字")
    missing = zhibu(workdir, "branch", "set", BRANCH)
    assert missing.returncode != 0
    assert "--organisation" in missing.stderr
    assert organisations(workdir) == {BRANCH: None, SECOND: None}


def test_an_empty_ledger(tmp_path: Path) -> None:
    done = zhibu(tmp_path, "branch", "list")
    assert done.returncode == 0, done.stderr
    assert "还没有支部" in done.stdout
    unknown = zhibu(tmp_path, "branch", "set", BRANCH, "--organisation", ORG)
    assert_clean_error(unknown, "unknown branch", "zhibu roster import")


def test_roster_import_can_set_the_organisation(workdir: Path) -> None:
    done = zhibu(
        workdir, "roster", "import", SAMPLE, "--branch", "机关第三党支部", "--organisation", ORG
    )
    assert done.returncode == 0, done.stderr
    assert f"所属组织：{ORG}" in done.stdout
    assert organisations(workdir)["机关第三党支部"] == ORG
    # Importing again without the option leaves it alone.
    zhibu(workdir, "roster", "import", SAMPLE, "--branch", "机关第三党支部")
    assert organisations(workdir)["机关第三党支部"] == ORG
    too_long = zhibu(
        workdir, "roster", "import", SAMPLE, "--branch", BRANCH, "--organisation", "长" * 101
    )
    assert_clean_error(too_long, "不能超过100字")
