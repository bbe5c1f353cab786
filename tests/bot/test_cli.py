"""The `zhibu` command line, run as a real subprocess against a SQLite file in a temp directory."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from handlers.parsing import parse as parse_text
from storage import migrate
from storage.db import Database
from storage.export import ledger
from storage.models import Chat, Member
from storage.periods import resolve
from storage.roster import get_branch
from tests.cli_runner import ZHIBU, run_zhibu
from tests.factories import BRANCH, DATA

NOW = "2026-11-20T10:00+08:00"
SAMPLE = DATA / "roster_sample.csv"


def zhibu(
    cwd: Path, *args: str | Path, stdin: bytes = b"", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the CLI with a database in `cwd` and return what it did (text decoded as UTF-8)."""
    return run_zhibu(cwd, *args, stdin=stdin, env=env)


def assert_clean_error(done: subprocess.CompletedProcess[str], *fragments: str) -> None:
    """A failure with a Chinese message on stderr and no Python traceback."""
    assert done.returncode != 0, done
    assert "Traceback" not in done.stderr
    assert "错误" in done.stderr, done.stderr
    for fragment in fragments:
        assert fragment in done.stderr, done.stderr


def open_db(cwd: Path) -> Database:
    """The SQLite ledger the CLI wrote in `cwd`."""
    return Database(f"sqlite:///{cwd / 'zhibu.db'}")


def contract(text: str) -> dict[str, Any]:
    """What the parser says about one message at NOW, computed in this process."""
    return parse_text(text, datetime.fromisoformat(NOW)).as_contract()


def copy_db(source: Path, target: Path) -> None:
    """Copy a SQLite ledger (with any WAL files) into another directory."""
    for path in source.glob("zhibu.db*"):
        shutil.copy(path, target / path.name)


@pytest.fixture(scope="module")
def roster_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory whose ledger holds the sample roster, imported once through the CLI."""
    where = tmp_path_factory.mktemp("roster")
    done = zhibu(where, "roster", "import", SAMPLE, "--branch", BRANCH)
    assert done.returncode == 0, done.stderr
    return where


@pytest.fixture
def with_roster(roster_template: Path, tmp_path: Path) -> Path:
    """tmp_path with its own copy of the imported roster."""
    copy_db(roster_template, tmp_path)
    return tmp_path


def test_cli_script_is_installed() -> None:
    assert ZHIBU.exists(), f"{ZHIBU} missing: is the package installed in this venv?"


def test_parse_one_message(tmp_path: Path) -> None:
    done = zhibu(tmp_path, "parse", "志愿服务 两个半小时 植树 昨天", "--now", NOW)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0]) == {
        "intent": "volunteer",
        "hours": 2.5,
        "activity": "植树",
        "date": "2026-11-19",
    }
    assert not (tmp_path / "zhibu.db").exists()  # parsing needs no database


def test_parse_naive_now_is_local_time(tmp_path: Path) -> None:
    # 00:30 on the 20th: "昨天" is the 19th whether or not the offset is written out.
    naive = zhibu(tmp_path, "parse", "志愿服务 1小时 植树 昨天", "--now", "2026-11-20T00:30")
    assert naive.returncode == 0, naive.stderr
    assert json.loads(naive.stdout) == contract("志愿服务 1小时 植树 昨天") | {"date": "2026-11-19"}


def test_parse_bad_now(tmp_path: Path) -> None:
    assert_clean_error(zhibu(tmp_path, "parse", "签到", "--now", "下周五"), "--now")


STDIN_LINES = [
    "签到",
    "",
    "😀👍 请假 出差🚄",
    "志愿服务 2小时 社区献血 昨天",
    "  ",
    ("已学习《党章》心得：坚定理想信念" + "学" * 10_000)[:10_000],  # a 10 000-character line
    "请假 出差\u2028明天回",  # a Unicode line separator inside a message
    "@支部助手 签到",
    "统计 上月",
    "",
]


@pytest.mark.parametrize(("newline", "final_newline"), [("\r\n", True), ("\n", False)])
def test_parse_stdin_one_json_line_per_input_line(
    tmp_path: Path, newline: str, final_newline: bool
) -> None:
    assert len(STDIN_LINES[5]) == 10_000
    lines = STDIN_LINES if final_newline else STDIN_LINES[:-1]  # a trailing "" is a last line
    data = newline.join(lines) + (newline if final_newline else "")

    done = zhibu(tmp_path, "parse", "--now", NOW, stdin=data.encode("utf-8"))

    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    output = done.stdout.split("\n")
    assert output[-1] == ""  # every object ends with a newline
    objects = [json.loads(line) for line in output[:-1]]
    assert len(objects) == len(lines)
    assert len(done.stdout.splitlines()) == len(lines)  # no raw separators inside a line
    assert objects == [contract(line) for line in lines]
    assert [o["intent"] for o in objects[:4]] == ["checkin", "unknown", "leave", "volunteer"]
    assert objects[2]["reason"].startswith("出差")
    assert objects[5]["intent"] == "study"


def test_parse_empty_stdin_prints_nothing(tmp_path: Path) -> None:
    done = zhibu(tmp_path, "parse", "--now", NOW)
    assert (done.returncode, done.stdout) == (0, "")


def test_parse_stdin_with_bad_bytes_still_answers_every_line(tmp_path: Path) -> None:
    done = zhibu(tmp_path, "parse", "--now", NOW, stdin=b"\xff\xfe\xc0\n\xe7\xad\xbe\xe5\x88\xb0\n")
    assert done.returncode == 0
    assert [json.loads(line)["intent"] for line in done.stdout.splitlines()] == [
        "unknown",
        "checkin",
    ]


def test_db_upgrade(tmp_path: Path) -> None:
    done = zhibu(tmp_path, "db", "upgrade")
    assert done.returncode == 0, done.stderr
    assert f"（{migrate.head_revision()}）" in done.stdout
    db = open_db(tmp_path)
    try:
        assert migrate.current_revision(db.engine) == migrate.head_revision()
        migrate.check_schema(db.engine)
    finally:
        db.dispose()
    again = zhibu(tmp_path, "db", "upgrade")
    assert again.returncode == 0
    current = zhibu(tmp_path, "db", "current")
    assert f"当前版本：{migrate.head_revision()}" in current.stdout


def member_names(cwd: Path) -> list[str]:
    """The names in the CLI's database."""
    db = open_db(cwd)
    try:
        with db.session() as session:
            return sorted(session.scalars(select(Member.name)))
    finally:
        db.dispose()


def test_roster_import_twice(tmp_path: Path) -> None:
    first = zhibu(tmp_path, "roster", "import", SAMPLE, "--branch", BRANCH)
    assert first.returncode == 0, first.stderr
    assert "新增 10 人，更新 0 人，未变 0 人" in first.stdout

    second = zhibu(tmp_path, "roster", "import", SAMPLE, "--branch", BRANCH)
    assert second.returncode == 0, second.stderr
    assert "新增 0 人，更新 0 人，未变 10 人" in second.stdout
    assert len(member_names(tmp_path)) == 10


def test_roster_import_dry_run_writes_nothing(tmp_path: Path) -> None:
    done = zhibu(tmp_path, "roster", "import", SAMPLE, "--branch", BRANCH, "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "检查通过：10 人可导入，0 行有问题" in done.stdout
    assert not (tmp_path / "zhibu.db").exists() or member_names(tmp_path) == []


def test_roster_import_gbk_file_with_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "名册.csv"
    path.write_bytes("姓名,职务\r\n张伟,书记\r\n张伟,党员\r\n1号,党员\r\n".encode("gbk"))
    done = zhibu(tmp_path, "roster", "import", path, "--branch", BRANCH)
    assert done.returncode == 2  # imported what it could, and says what it skipped
    assert "新增 1 人" in done.stdout
    assert "第3行" in done.stderr and "第4行" in done.stderr
    assert "Traceback" not in done.stderr
    assert member_names(tmp_path) == ["张伟"]


def test_roster_import_reports_an_id_held_by_someone_else(with_roster: Path) -> None:
    tmp_path = with_roster
    path = tmp_path / "new.csv"
    path.write_text("姓名,企业微信账号\n周新,liming\n", encoding="utf-8")
    done = zhibu(tmp_path, "roster", "import", path, "--branch", BRANCH)
    assert done.returncode == 2
    assert "周新" in done.stderr and "占用" in done.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("名字,职务\n张三,党员\n".encode(), "姓名"),
        (b"\xff\xfe\x00\x00\x81\x30", "编码"),
        ("姓名\n123\n".encode(), "没有可导入的成员"),
    ],
)
def test_roster_import_bad_file(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    assert_clean_error(zhibu(tmp_path, "roster", "import", path, "--branch", BRANCH), message)
    assert not (tmp_path / "zhibu.db").exists() or member_names(tmp_path) == []


def test_roster_import_blank_branch(tmp_path: Path) -> None:
    assert_clean_error(zhibu(tmp_path, "roster", "import", SAMPLE, "--branch", "  "), "支部名称")


def test_chat_bind(with_roster: Path) -> None:
    tmp_path = with_roster
    done = zhibu(
        tmp_path,
        "chat",
        "bind",
        "--platform",
        "dingtalk",
        "--chat-id",
        "cid-42",
        "--branch",
        BRANCH,
    )
    assert done.returncode == 0, done.stderr
    assert "cid-42" in done.stdout
    db = open_db(tmp_path)
    try:
        with db.session() as session:
            chat = session.scalars(select(Chat)).one()
            branch = get_branch(session, BRANCH)
            assert branch is not None
            assert (chat.platform, chat.external_id, chat.branch_id) == (
                "dingtalk",
                "cid-42",
                branch.id,
            )
    finally:
        db.dispose()


def test_chat_bind_errors(with_roster: Path) -> None:
    tmp_path = with_roster
    assert_clean_error(
        zhibu(tmp_path, "chat", "bind", "--chat-id", "c1", "--branch", "不存在的支部"),
        "不存在的支部",
    )
    assert_clean_error(
        zhibu(tmp_path, "chat", "bind", "--chat-id", "c1", "--branch", BRANCH, "--platform", "qq"),
        "qq",
    )


CONSOLE_SCRIPT = """\
/time 2026-11-20 09:00
开会 支委会+党员大会 讨论年度计划
签到
/as 张伟
签到
/as 王芳
请假 出差
/time 2026-11-20 09:45
/as 赵磊
签到
/as 李明
结束签到
发布学习《党章》截止12月10日
/as 张伟
已学习
志愿服务 2小时 社区献血 昨天
/as 李明
/time 2026-12-01 00:30
开会 党员大会 年终总结
结束签到
"""


@pytest.fixture(scope="module")
def console_template(roster_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory whose ledger was written by a scripted `zhibu console` session."""
    where = tmp_path_factory.mktemp("console")
    copy_db(roster_template, where)
    session = zhibu(where, "console", stdin=CONSOLE_SCRIPT.encode("utf-8"))
    assert session.returncode == 0, session.stderr
    assert session.stdout.count("签到结束") == 2, session.stdout
    return where


@pytest.fixture
def after_console(console_template: Path, tmp_path: Path) -> Path:
    """tmp_path with its own copy of the console session's ledger."""
    copy_db(console_template, tmp_path)
    return tmp_path


def test_export_after_a_console_session(after_console: Path) -> None:
    tmp_path = after_console
    out = tmp_path / "exports" / "台账.json"
    done = zhibu(
        tmp_path,
        "export",
        "--branch",
        BRANCH,
        "--period",
        "2026-11",
        "--format",
        "json",
        "--out",
        out,
    )
    assert done.returncode == 0, done.stderr
    assert str(out) in done.stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    assert not list(out.parent.glob("*.tmp"))

    assert data["branch"] == BRANCH
    assert data["period"] == "2026-11"
    (meeting,) = data["meetings"]  # December's meeting is not in November's ledger
    assert meeting["kinds"] == ["支部委员会", "支部党员大会"]
    assert meeting["started_at"] == "2026-11-20T09:00:00+08:00"
    assert meeting["closed_at"] == "2026-11-20T09:45:00+08:00"
    statuses = {row["name"]: row["status"] for row in meeting["attendance"]}
    assert len(meeting["attendance"]) == len(statuses) == 10
    assert {n: s for n, s in statuses.items() if s != "absent"} == {
        "李明": "present",
        "张伟": "present",
        "王芳": "leave",
        "赵磊": "late",
    }
    (task,) = data["study"]
    assert (task["title"], task["deadline"], task["confirmed"]) == ("党章", "2026-12-10", ["张伟"])
    assert len(task["pending"]) == 9
    (service,) = data["volunteer"]
    assert (service["name"], service["date"], service["hours"], service["activity"]) == (
        "张伟",
        "2026-11-19",
        2.0,
        "社区献血",
    )
    assert [(r["name"], r["reason"]) for r in data["leave"]] == [("王芳", "出差")]
    assert {m["name"] for m in data["makeups"]} == {
        n for n, s in statuses.items() if s in ("absent", "leave")
    }

    # The file holds exactly what the ledger query gives.
    db = open_db(tmp_path)
    try:
        with db.session() as s:
            branch = get_branch(s, BRANCH)
            assert branch is not None
            expected = ledger(s, branch, resolve("2026-11", date(2026, 11, 20)))
    finally:
        db.dispose()
    assert data == json.loads(json.dumps(expected, ensure_ascii=False))


def test_export_to_stdout_uses_the_branch_time_zone(after_console: Path) -> None:
    """00:30 on 1 December in Shanghai (30 November in UTC) is in December's ledger."""
    done = zhibu(after_console, "export", "--branch", BRANCH, "--period", "2026-12")
    assert done.returncode == 0, done.stderr
    december = json.loads(done.stdout)
    assert [m["topic"] for m in december["meetings"]] == ["年终总结"]
    assert datetime.fromisoformat(december["meetings"][0]["started_at"]) == datetime(
        2026, 12, 1, 0, 30, tzinfo=ZoneInfo("Asia/Shanghai")
    )
    assert december["study"] == december["volunteer"] == []


def test_export_errors(with_roster: Path) -> None:
    tmp_path = with_roster
    args = ("export", "--branch", BRANCH)
    assert_clean_error(zhibu(tmp_path, "export", "--branch", "第九党支部"), "第九党支部")
    assert_clean_error(zhibu(tmp_path, *args, "--period", "2026-13"), "2026-13", "2026-Q4")
    assert_clean_error(zhibu(tmp_path, *args, "--format", "xlsx"), "xlsx")
    (tmp_path / "adir").mkdir()
    assert_clean_error(zhibu(tmp_path, *args, "--out", tmp_path / "adir"), "目录")


def test_unreachable_database_is_a_clear_error(tmp_path: Path) -> None:
    done = zhibu(
        tmp_path,
        "db",
        "upgrade",
        env={"ZHIBU_DATABASE_URL": "postgresql+psycopg://zhibu:s3cret@127.0.0.1:1/zhibu"},
    )
    assert_clean_error(done, "ZHIBU_DATABASE_URL")
    assert "s3cret" not in done.stderr
    assert_clean_error(
        zhibu(tmp_path, "db", "upgrade", env={"ZHIBU_DATABASE_URL": "not a url"}),
        "ZHIBU_DATABASE_URL",
    )
