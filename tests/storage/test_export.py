"""The JSON ledger export: its documented shape, and one attendance row per expected member, built
from real conversations through dispatch."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from storage import roster, stats
from storage.periods import resolve
from tests.factories import BRANCH, ChatBot

TZ = ZoneInfo("Asia/Shanghai")
STATUSES = {"present", "leave", "absent", "late", "makeup"}
EVERYONE = ["李明", "王芳", "张伟", "刘洋", "陈静", "杨帆", "赵磊", "黄丽", "吴敏", "孙强"]
GROUP_ONE = ["李明", "王芳", "陈静", "赵磊", "黄丽"]


def november(bot: ChatBot) -> None:
    """A month of branch life: a merged meeting, a 小组会, study, volunteer service, leave."""
    opened = bot.say("李明", "开会 支委会+党员大会 讨论年度计划")
    assert "合并召开" in opened
    assert "应到 10 人" in opened
    bot.say("李明", "签到")
    bot.say("张伟", "签到")
    bot.say("王芳", "请假 出差")
    bot.clock.advance(timedelta(minutes=40))
    bot.say("赵磊", "签到")
    bot.say("李明", "结束签到")
    assert "已补录" in bot.say("李明", "补录 黄丽 补课")

    bot.clock.advance(timedelta(hours=2))
    assert "已发布" in bot.say("李明", "发布学习《党章》截止12月10日 https://example.com/dz")
    bot.say("张伟", "已学习《党章》")
    assert "2 小时" in bot.say("张伟", "志愿服务 2小时 社区献血 昨天")
    assert "将计入下一次会议" in bot.say("刘洋", "请假 家中有事")

    bot.clock.advance(timedelta(days=1))
    opened = bot.say("李明", "开会 党小组会 第一党小组 学习二十大报告")
    assert "应到 5 人" in opened
    bot.say("陈静", "签到")
    bot.say("李明", "签到")
    bot.say("李明", "结束签到")


def check_shape(data: dict[str, Any]) -> None:
    """Assert the documented export shape (extra keys allowed)."""
    assert {"branch", "period", "meetings", "study", "volunteer", "leave", "makeups"} <= set(data)
    assert isinstance(data["branch"], str)
    assert isinstance(data["period"], str)
    for meeting in data["meetings"]:
        assert {"kinds", "topic", "started_at", "closed_at", "attendance"} <= set(meeting)
        assert isinstance(meeting["kinds"], list)
        assert all(isinstance(k, str) for k in meeting["kinds"])
        assert isinstance(meeting["topic"], str)
        datetime.fromisoformat(meeting["started_at"])
        assert meeting["closed_at"] is None or datetime.fromisoformat(meeting["closed_at"])
        for row in meeting["attendance"]:
            assert {"name", "status"} <= set(row)
            assert row["status"] in STATUSES
    for task in data["study"]:
        assert {"title", "deadline", "confirmed", "pending"} <= set(task)
        assert isinstance(task["confirmed"], list)
        assert isinstance(task["pending"], list)
    for record in data["volunteer"]:
        assert {"name", "date", "hours", "activity"} <= set(record)
        assert isinstance(record["hours"], int | float)
    for leave in data["leave"]:
        assert {"name", "reason", "meeting"} <= set(leave)
    for makeup in data["makeups"]:
        assert {"name", "meeting", "done"} <= set(makeup)
        assert isinstance(makeup["done"], bool)


def attendance(meeting: dict[str, Any]) -> dict[str, str]:
    """Name to status, asserting nobody appears twice."""
    names = [row["name"] for row in meeting["attendance"]]
    assert len(names) == len(set(names)), names
    return {row["name"]: row["status"] for row in meeting["attendance"]}


def test_export_has_the_documented_shape_and_content(bot: ChatBot) -> None:
    november(bot)
    data = bot.ledger("2026-11")
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data  # plain JSON values only
    check_shape(data)
    assert data["branch"] == BRANCH
    assert data["period"] == "2026-11"

    merged, group = data["meetings"]
    assert merged["kinds"] == ["支部委员会", "支部党员大会"]
    assert merged["topic"] == "讨论年度计划"
    assert merged["started_at"] == "2026-11-20T10:00:00+08:00"
    assert merged["closed_at"] == "2026-11-20T10:40:00+08:00"
    assert attendance(merged) == {
        "李明": "present",
        "王芳": "leave",
        "张伟": "present",
        "刘洋": "absent",
        "陈静": "absent",
        "杨帆": "absent",
        "赵磊": "late",
        "黄丽": "makeup",
        "吴敏": "absent",
        "孙强": "absent",
    }
    assert group["kinds"] == ["党小组会"]
    assert set(attendance(group)) == set(GROUP_ONE)
    assert attendance(group)["陈静"] == "present"
    assert attendance(group)["赵磊"] == "absent"

    (task,) = data["study"]
    assert task["title"] == "党章"
    assert task["deadline"] == "2026-12-10"
    assert task["confirmed"] == ["张伟"]
    assert sorted(task["pending"]) == sorted(n for n in EVERYONE if n != "张伟")

    (service,) = data["volunteer"]
    assert {k: service[k] for k in ("name", "date", "hours", "activity")} == {
        "name": "张伟",
        "date": "2026-11-19",
        "hours": 2.0,
        "activity": "社区献血",
    }

    leave = {(r["name"], r["reason"]): r["meeting"] for r in data["leave"]}
    assert set(leave) == {("王芳", "出差"), ("刘洋", "家中有事")}
    assert leave[("王芳", "出差")] is not None
    assert "2026-11-20" in leave[("王芳", "出差")]
    assert leave[("刘洋", "家中有事")] is None  # 刘洋 is not in 第一党小组: still pending

    makeups = {(m["name"], m["meeting"]): m["done"] for m in data["makeups"]}
    merged_label = leave[("王芳", "出差")]
    owed_merged = {n for n, s in attendance(merged).items() if s in {"absent", "leave"}}
    owed_group = {n for n, s in attendance(group).items() if s in {"absent", "leave"}}
    assert {n for n, label in makeups if label == merged_label} == owed_merged | {"黄丽"}
    assert makeups[("黄丽", merged_label)] is True
    assert all(not done for (n, _), done in makeups.items() if n != "黄丽")
    assert len(makeups) == len(owed_merged) + 1 + len(owed_group)


def test_every_expected_member_has_exactly_one_row(bot: ChatBot) -> None:
    november(bot)
    # Corrections add rows to the ledger but never a second current one.
    bot.say("李明", "补录 吴敏 签到")
    bot.say("李明", "补录 吴敏 请假 生病")
    bot.say("李明", "补录 赵磊 签到")
    data = bot.ledger("2026-11")
    merged, group = data["meetings"]
    assert sorted(attendance(merged)) == sorted(EVERYONE)
    # Corrections go to the latest meeting; 吴敏 was not expected there and is added once.
    assert sorted(attendance(group)) == sorted([*GROUP_ONE, "吴敏"])
    assert attendance(group)["吴敏"] == "leave"
    assert attendance(group)["赵磊"] == "present"
    assert attendance(merged)["吴敏"] == "absent"


def test_a_merged_meeting_counts_for_both_kinds(bot: ChatBot) -> None:
    november(bot)
    with bot.db.session() as session:
        branch = roster.get_branch(session, BRANCH)
        assert branch is not None
        numbers = stats.branch_stats(session, branch, resolve("2026-11", bot.clock.now().date()))
    assert numbers.meetings == 2
    assert numbers.by_kind == {"支部委员会": 1, "支部党员大会": 1, "党小组会": 1}
    assert numbers.expected == 10 + 5
    report = bot.say("李明", "统计 本月")
    assert "支部委员会 1 次" in report
    assert "支部党员大会 1 次" in report


def test_the_period_decides_what_is_exported(bot: ChatBot) -> None:
    november(bot)
    october = bot.ledger("2026-10")
    check_shape(october)
    assert october["period"] == "2026-10"
    assert (
        october["meetings"]
        == october["study"]
        == october["volunteer"]
        == october["leave"]
        == october["makeups"]
        == []
    )
    year = bot.ledger("2026")
    assert len(year["meetings"]) == 2
    assert bot.ledger("this_month")["meetings"] == year["meetings"]
    assert bot.ledger("2026-Q4")["meetings"] == year["meetings"]


def test_months_follow_the_branch_time_zone(bot: ChatBot) -> None:
    """00:30 on 1 December in Shanghai is still 30 November in UTC: it belongs to December."""
    bot.clock.set(datetime(2026, 12, 1, 0, 30, tzinfo=TZ))
    bot.say("李明", "开会 党员大会 年终总结")
    bot.say("李明", "结束签到")
    bot.clock.set(datetime(2026, 11, 30, 23, 50, tzinfo=TZ))
    bot.say("刘洋", "志愿服务 1小时 扫雪 今天")
    assert [m["topic"] for m in bot.ledger("2026-12")["meetings"]] == ["年终总结"]
    assert bot.ledger("2026-11")["meetings"] == []
    assert [v["date"] for v in bot.ledger("2026-11")["volunteer"]] == ["2026-11-30"]
    assert bot.ledger("2026-12")["meetings"][0]["started_at"] == "2026-12-01T00:30:00+08:00"


def test_leave_asked_this_month_for_next_months_meeting_names_it(bot: ChatBot) -> None:
    bot.say("赵磊", "请假 月底出差")
    bot.clock.set(datetime(2026, 12, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    bot.say("李明", "开会 党员大会 十二月学习")
    november = bot.ledger(period="2026-11")
    assert november["meetings"] == []
    assert november["leave"][0]["meeting"] == "2026-12-02 支部党员大会（十二月学习）"
    assert november["makeups"] == []
