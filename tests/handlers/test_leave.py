"""请假: at the open meeting, or pending for the next one; reason kept."""

from __future__ import annotations

from tests.factories import ChatBot


def test_leave_at_open_meeting_keeps_reason(bot: ChatBot) -> None:
    bot.say("李明", "开会 党员大会 学习")
    reply = bot.say("王芳", "请假 家中有事")
    assert "已记录 王芳 请假：家中有事" in reply
    ledger = bot.ledger()
    assert ledger["leave"][0]["name"] == "王芳"
    assert ledger["leave"][0]["reason"] == "家中有事"
    assert {"name": "王芳", "status": "leave"}.items() <= next(
        r for r in ledger["meetings"][0]["attendance"] if r["name"] == "王芳"
    ).items()


def test_leave_without_meeting_applies_to_next_meeting(bot: ChatBot) -> None:
    reply = bot.say("张伟", "请个假，参加区里的会议")
    assert "将计入下一次会议" in reply
    assert bot.count("attendance") == 0
    opened = bot.say("李明", "开会 党员大会 年度总结")
    assert "已请假 1 人（张伟）" in opened
    rows = {r["name"]: r for r in bot.ledger()["meetings"][0]["attendance"]}
    assert rows["张伟"]["status"] == "leave"
    assert "区里的会议" in (rows["张伟"]["reason"] or "")


def test_leave_after_checkin_is_refused(bot: ChatBot) -> None:
    bot.say("李明", "开会 党员大会")
    bot.say("赵磊", "签到")
    reply = bot.say("赵磊", "请假 临时有事")
    assert "无需请假" in reply
    assert bot.count("leave_requests") == 0


def test_leave_without_reason_is_recorded_with_hint(bot: ChatBot) -> None:
    bot.say("李明", "开会 党员大会")
    reply = bot.say("黄丽", "请假")
    assert "未填写事由" in reply and "请假 出差" in reply
    assert bot.count("leave_requests") == 1


def test_leave_takers_and_absentees_get_makeups(bot: ChatBot) -> None:
    bot.say("李明", "开会 党小组会 第一党小组 学习")
    bot.say("陈静", "签到")
    bot.say("黄丽", "请假 出差")
    summary = bot.say("李明", "结束签到")
    assert "请假：黄丽（出差）" in summary
    makeups = {m["name"]: m["done"] for m in bot.ledger()["makeups"]}
    assert makeups == {"李明": False, "王芳": False, "黄丽": False, "赵磊": False}


def test_leave_for_someone_else_is_refused(bot: ChatBot) -> None:
    bot.say("李明", "开会 党员大会")
    reply = bot.say("赵磊", "张伟请假了")
    assert "只能为自己请假" in reply
    assert "补录 张伟 请假" in reply
    assert bot.count("leave_requests") == 0
    own = bot.say("赵磊", "赵磊请假")
    assert "已记录 赵磊 请假：未填写事由" in own
