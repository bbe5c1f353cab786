"""签到 through dispatch: once per member, late after the grace, no open meeting, leave → present."""

from __future__ import annotations

from datetime import timedelta

from tests.factories import ChatBot


def _statuses(bot: ChatBot) -> dict[str, str]:
    meeting = bot.ledger()["meetings"][-1]
    return {row["name"]: row["status"] for row in meeting["attendance"]}


def test_checkin_records_attendance_once(bot: ChatBot) -> None:
    bot.say("李明", "开会 党员大会 学习党章")
    first = bot.say("赵磊", "签到")
    assert "赵磊 签到成功" in first
    assert "支部党员大会「学习党章」" in first
    again = bot.say("赵磊", "@支部助手 到")
    assert "已于" in again and "无需重复签到" in again
    assert bot.count("attendance") == 1
    assert _statuses(bot)["赵磊"] == "present"


def test_checkin_synonyms_and_traditional(bot: ChatBot) -> None:
    bot.say("李明", "开会 主题党日 清明祭扫")
    for name, text in [
        ("王芳", "到"),
        ("张伟", "已到"),
        ("刘洋", "到会"),
        ("陈静", "报到"),
        ("杨帆", "參會簽到"),
        ("黄丽", "簽到"),
    ]:
        assert "签到成功" in bot.say(name, text), text
    statuses = _statuses(bot)
    assert [n for n, s in statuses.items() if s == "present"] == [
        "王芳",
        "张伟",
        "刘洋",
        "陈静",
        "杨帆",
        "黄丽",
    ]


def test_checkin_without_open_meeting(bot: ChatBot) -> None:
    reply = bot.say("赵磊", "签到")
    assert "没有正在签到的会议" in reply
    assert bot.count("attendance") == 0


def test_checkin_late_after_grace(bot: ChatBot) -> None:
    bot.say("李明", "开会 党课 七一专题党课")
    bot.clock.advance(timedelta(minutes=31))
    reply = bot.say("吴敏", "签到")
    assert "记为迟到" in reply
    assert _statuses(bot)["吴敏"] == "late"


def test_checkin_after_leave_supersedes_leave(bot: ChatBot) -> None:
    bot.say("李明", "开会 党员大会")
    bot.say("孙强", "请假 加班")
    reply = bot.say("孙强", "签到")
    assert "请假已改为出席" in reply
    assert _statuses(bot)["孙强"] == "present"
    assert bot.count("attendance") == 2  # the leave row is kept, superseded


def test_checkin_in_other_chat_does_not_reach_meeting(bot: ChatBot) -> None:
    bot.say("李明", "开会 党员大会")
    reply = bot.say("赵磊", "签到", chat_id="another-group")
    assert "没有正在签到的会议" in reply
    assert bot.count("attendance") == 0


def test_non_expected_member_can_attend_committee_meeting(bot: ChatBot) -> None:
    bot.say("李明", "开会 支委会 研究发展党员")
    assert "签到成功" in bot.say("赵磊", "签到")  # 列席: not a 支委, still recorded
    statuses = _statuses(bot)
    assert statuses["赵磊"] == "present"
    assert set(statuses) == {"李明", "王芳", "张伟", "刘洋", "赵磊"}


def test_cannot_check_in_for_someone_else(bot: ChatBot) -> None:
    bot.say("李明", "开会 党员大会")
    reply = bot.say("赵磊", "张伟到")
    assert "只能为自己签到" in reply
    assert "补录 张伟 签到" in reply
    assert bot.count("attendance") == 0
    assert "签到成功" in bot.say("赵磊", "赵磊到")
