"""`zhibu console` as a real subprocess with a piped (non-tty) script, checked on screen and in
the ledger it leaves behind."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from storage.db import Database
from storage.export import ledger
from storage.models import Branch, InboxEntry, Meeting, StudyTask
from storage.periods import resolve
from storage.roster import get_branch
from tests.cli_runner import run_zhibu
from tests.factories import BRANCH, DATA

DEMO = "示例党支部"

SESSION = """\
/time 2026-11-20 09:00
/who
开会 支委会+党员大会 讨论年度计划
签到
/as 张伟
签到
签到
/as 王芳
请假 出差
/time 2026-11-20 09:45
/as 赵磊
@支部助手 签到
/as 李明
结束签到
发布学习《党章》截止12月10日 https://example.com/dz
/as 张伟
已学习《党章》心得：坚定理想信念
志愿服务 2小时 社区献血 昨天
我的
开会 党小组会 第二党小组
/as 陌生人
签到
/as 李明
统计 本月
/time 2026-12-15 08:00
统计 上月
/quit
开会 支委会 这一行在 /quit 之后，不应执行
"""


def console(cwd: Path, script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `zhibu console` with the script on a pipe and a SQLite ledger in `cwd`."""
    return run_zhibu(cwd, "console", *args, stdin=script.encode("utf-8"))


@pytest.fixture
def ledger_db(tmp_path: Path) -> Iterator[Database]:
    """The ledger the console wrote in tmp_path (open it after the console has run)."""
    db = Database(f"sqlite:///{tmp_path / 'zhibu.db'}")
    yield db
    db.dispose()


SPOKEN = re.compile(r"^[\u4e00-\u9fff]{2,4}: ")


def replies_to(output: str, said: str, who: str = "") -> str:
    """What was printed after a spoken line (echoed as `name: text`) until the next one."""
    lines = output.splitlines()
    start = next(
        i
        for i, line in enumerate(lines)
        if SPOKEN.match(line) and line.endswith(f": {said}") and line.startswith(who)
    )
    rest = lines[start + 1 :]
    end = next((i for i, line in enumerate(rest) if SPOKEN.match(line)), len(rest))
    return "\n".join(rest[:end])


def test_a_whole_scripted_session_on_an_empty_database(tmp_path: Path, ledger_db: Database) -> None:
    done = console(tmp_path, SESSION)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    out = done.stdout
    lines = out.splitlines()

    # Seeded with the fictional demo roster, and said so.
    assert lines[0].startswith(f"已进入 {DEMO} 群聊")
    assert "虚构" in lines[0]
    assert "当前发言人：李明" in lines[0]
    assert "（时钟已拨到 2026-11-20 09:00）" in out
    assert "名册：李明（书记，管理员）、王芳（组织委员，管理员）、张伟（宣传委员）" in out

    opened = replies_to(out, "开会 支委会+党员大会 讨论年度计划")
    assert opened.startswith("[支部助手] 📋 已发起签到：支部委员会+支部党员大会「讨论年度计划」")
    assert "应到 10 人" in opened
    assert "合并召开" in opened
    assert "（现在以 张伟 的身份发言）" in out
    assert "✅ 张伟 签到成功" in out
    assert "张伟，您已于 11月20日 09:00 签到" in out  # the repeat is acknowledged only
    assert "已记录 王芳 请假：出差" in out
    assert "✅ 赵磊 签到成功" in out and "记为迟到" in out

    closed = replies_to(out, "结束签到")
    assert "应到 10 人，实到 3 人（其中迟到 1 人：赵磊），请假 1 人，缺席 6 人" in closed
    assert "请假：王芳（出差）" in closed
    assert "已为请假和缺席的 7 位同志生成补课事项" in closed

    assert "📚 学习任务已发布：《党章》" in out
    assert "✅ 已记录 张伟 完成学习《党章》" in out
    assert "✅ 已记录 张伟 志愿服务 2 小时：社区献血（11月19日）" in out
    mine = replies_to(out, "我的")
    assert "📒 张伟 2026年11月记录" in mine
    assert "参会 1 次" in mine
    assert "志愿服务：2 小时（1 次）" in mine

    refused = replies_to(out, "开会 党小组会 第二党小组")
    assert "只有支部书记或管理员可以操作" in refused
    assert "（现在以 陌生人 的身份发言，此人不在名册中）" in out
    assert "您还不在本支部的党员名册中" in replies_to(out, "签到", who="陌生人")

    november = replies_to(out, "统计 本月")
    assert f"📊 {DEMO} 2026年11月统计" in november
    assert "会议 1 次：支部党员大会 1 次，支部委员会 1 次" in november
    assert "实到 3 人次" in november
    # /time moved the clock: in December, 上月 is November.
    assert f"📊 {DEMO} 2026年11月统计" in replies_to(out, "统计 上月")

    assert "这一行在 /quit 之后" not in out

    # The ledger the session left behind.
    with ledger_db.session() as session:
        assert [b.name for b in session.scalars(select(Branch))] == [DEMO]
        branch = get_branch(session, DEMO)
        assert branch is not None
        data: dict[str, Any] = ledger(session, branch, resolve("2026-11", date(2026, 11, 20)))
        meetings = list(session.scalars(select(Meeting)))
        assert len(meetings) == 1  # the member's 开会 and the post-/quit line wrote nothing
        strangers = session.scalars(
            select(InboxEntry).where(InboxEntry.sender_name == "陌生人")
        ).all()
        assert [(e.text, e.member_id) for e in strangers] == [("签到", None)]
        assert session.scalar(select(func.count()).select_from(StudyTask)) == 1
    (meeting,) = data["meetings"]
    assert meeting["started_at"] == "2026-11-20T09:00:00+08:00"
    assert meeting["closed_at"] == "2026-11-20T09:45:00+08:00"
    statuses = {row["name"]: row["status"] for row in meeting["attendance"]}
    assert len(statuses) == len(meeting["attendance"]) == 10
    assert {n: s for n, s in statuses.items() if s != "absent"} == {
        "李明": "present",
        "张伟": "present",
        "王芳": "leave",
        "赵磊": "late",
    }
    assert data["study"][0]["confirmed"] == ["张伟"]
    assert [(v["name"], v["date"], v["hours"]) for v in data["volunteer"]] == [
        ("张伟", "2026-11-19", 2.0)
    ]
    assert [(r["name"], r["reason"]) for r in data["leave"]] == [("王芳", "出差")]
    assert len(data["makeups"]) == 7


def test_a_second_session_continues_the_same_ledger(tmp_path: Path, ledger_db: Database) -> None:
    first = console(tmp_path, "/time 2026-11-20 09:00\n开会 党员大会 学习\n")
    assert "已发起签到" in first.stdout
    second = console(tmp_path, "/time 2026-11-20 09:05\n/as 张伟\n签到\n/as 李明\n结束签到\n")
    assert second.returncode == 0, second.stderr
    assert not second.stdout.startswith("已进入")  # not seeded again, nothing to announce
    assert "✅ 张伟 签到成功" in second.stdout  # a new message, not a replay of the first run
    assert "实到 1 人" in second.stdout
    with ledger_db.session() as session:
        assert session.scalar(select(func.count()).select_from(Branch)) == 1
        assert session.scalar(select(func.count()).select_from(Meeting)) == 1


def test_unknown_branch(tmp_path: Path) -> None:
    done = console(tmp_path, "签到\n", "--branch", "第九党支部")
    assert done.returncode == 1
    assert "第九党支部" in done.stderr
    assert "错误" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_branch_option_uses_an_imported_roster(tmp_path: Path, ledger_db: Database) -> None:
    for name in (BRANCH, "机关第二党支部"):
        done = run_zhibu(tmp_path, "roster", "import", DATA / "roster_sample.csv", "--branch", name)
        assert done.returncode == 0, done.stderr

    ambiguous = console(tmp_path, "签到\n")
    assert ambiguous.returncode == 1
    assert "有多个支部" in ambiguous.stderr and BRANCH in ambiguous.stderr

    done = console(
        tmp_path,
        "/time 2026-11-20 09:00\n开会 支委会 学习党章\n/as 刘洋\n签到\n/who\n",
        "--branch",
        BRANCH,
    )
    assert done.returncode == 0, done.stderr
    assert "应到 4 人" in done.stdout  # the 支委 of the imported roster
    assert "✅ 刘洋 签到成功" in done.stdout
    with ledger_db.session() as session:
        names = set(session.scalars(select(Branch.name)))
        assert names == {BRANCH, "机关第二党支部"}  # no demo branch was seeded
        meeting = session.scalars(select(Meeting)).one()
        first = get_branch(session, BRANCH)
        assert first is not None
        assert meeting.branch_id == first.id


def test_time_shows_the_reminders_the_scheduler_would_push_then(tmp_path: Path) -> None:
    script = """\
帮助
/time 2026-07-01 08:30
/time 2026-07-01 08:30
/time 2026-07-04 10:00
/time 2026-10-08 08:30
"""
    done = console(tmp_path, script)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    july = replies_to(done.stdout, "/time 2026-07-01 08:30")
    # 7月1日 (Wednesday): the Q2 gap review and the advance notices of the 支委会 and 主题党日.
    assert "[支部助手][提醒] ⚠️ 2026年第二季度缺项：" in july
    assert "[支部助手][提醒] 📅 会议预告：7月2日（周四）（1天后）召开支委会" in july
    assert "（另有 1 条提醒已过了有效期，按规则不再发送）" in july  # the 建党纪念日 eve, 6月30日
    # The same moment again sends nothing twice; a Saturday sends nothing at all, and the day-of
    # notices of 7月2日 and 7月3日, jumped over, are too late to send.
    lines = done.stdout.splitlines()
    second = lines.index(
        "李明: /time 2026-07-01 08:30", lines.index("李明: /time 2026-07-01 08:30") + 1
    )
    assert lines[second + 2] == "（此刻没有到期的提醒）"
    saturday = replies_to(done.stdout, "/time 2026-07-04 10:00")
    assert "[提醒]" not in saturday and "（另有 2 条提醒已过了有效期，按规则不再发送）" in saturday
    # After National Day: the September summary and the third quarter's review.
    october = replies_to(done.stdout, "/time 2026-10-08 08:30")
    assert "📊 2026年9月月总结" in october and "2026年第三季度缺项" in october
