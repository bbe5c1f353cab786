"""开会 / 结束签到: kinds, merged meetings, who is expected, the closing tally, one open meeting."""

from __future__ import annotations

from tests.factories import ChatBot


def test_merged_meeting_counts_for_each_kind(bot: ChatBot) -> None:
    reply = bot.say("李明", "开会 支委会+党员大会 讨论年度计划")
    assert "合并召开" in reply
    meeting = bot.ledger()["meetings"][0]
    assert meeting["kinds"] == ["支部委员会", "支部党员大会"]
    assert meeting["topic"] == "讨论年度计划"
    assert len(meeting["attendance"]) == 10  # 党员大会 expects everyone
    stats = bot.say("李明", "统计 本月")
    assert "会议 1 次" in stats
    assert "支部党员大会 1 次" in stats and "支部委员会 1 次" in stats


def test_committee_meeting_expects_committee_only(bot: ChatBot) -> None:
    reply = bot.say("李明", "开会 支委会 研究发展党员")
    assert "应到 4 人" in reply
    names = [r["name"] for r in bot.ledger()["meetings"][0]["attendance"]]
    assert names == ["李明", "王芳", "张伟", "刘洋"]


def test_group_meeting_expects_named_group(bot: ChatBot) -> None:
    reply = bot.say("李明", "开会 小组会 第二党小组 学习条例")
    assert "第二党小组" in reply and "应到 5 人" in reply
    names = {r["name"] for r in bot.ledger()["meetings"][0]["attendance"]}
    assert names == {"张伟", "刘洋", "杨帆", "吴敏", "孙强"}


def test_group_meeting_defaults_to_openers_group(bot: ChatBot) -> None:
    bot.say("李明", "开会 党小组会 学习")
    names = {r["name"] for r in bot.ledger()["meetings"][0]["attendance"]}
    assert names == {"李明", "王芳", "陈静", "赵磊", "黄丽"}


def test_second_meeting_in_same_chat_is_refused(bot: ChatBot) -> None:
    bot.say("李明", "开会 党课 专题党课")
    reply = bot.say("王芳", "开会 主题党日 志愿服务")
    assert "已有会议正在签到" in reply and "结束签到" in reply
    assert bot.count("meetings") == 1


def test_meetings_in_two_chats_are_independent(bot: ChatBot) -> None:
    bot.say("李明", "开会 党课 专题党课")
    assert "已发起签到" in bot.say("李明", "开会 主题党日", chat_id="wrk-chat-2")
    bot.say("赵磊", "签到", chat_id="wrk-chat-2")
    meetings = {m["kinds"][0]: m for m in bot.ledger()["meetings"]}
    statuses = {r["name"]: r["status"] for r in meetings["主题党日"]["attendance"]}
    assert statuses["赵磊"] == "present"
    assert {r["status"] for r in meetings["党课"]["attendance"]} == {"absent"}


def test_close_reports_tally_and_records_absent(bot: ChatBot) -> None:
    bot.say("李明", "开会 党员大会 年度总结")
    for name in ("李明", "王芳", "张伟", "刘洋", "陈静", "杨帆"):
        bot.say(name, "签到")
    bot.say("赵磊", "请假 出差")
    reply = bot.say("李明", "散会")
    assert "应到 10 人，实到 6 人，请假 1 人，缺席 3 人" in reply
    assert "请假：赵磊（出差）" in reply
    assert "缺席：黄丽、吴敏、孙强" in reply
    assert "4 位同志生成补课事项" in reply
    meeting = bot.ledger()["meetings"][0]
    assert meeting["closed_at"] is not None
    statuses = [r["status"] for r in meeting["attendance"]]
    assert statuses.count("present") == 6 and statuses.count("absent") == 3
    assert len(meeting["attendance"]) == 10


def test_close_without_meeting(bot: ChatBot) -> None:
    assert "没有正在签到的会议" in bot.say("李明", "结束签到")
    assert bot.count("meetings") == 0


def test_checkin_after_close_is_refused(bot: ChatBot) -> None:
    bot.say("李明", "开会 党员大会")
    bot.say("李明", "结束签到")
    assert "没有正在签到的会议" in bot.say("赵磊", "签到")


def test_open_without_kind_explains(bot: ChatBot) -> None:
    reply = bot.say("李明", "开会")
    assert "会议类型" in reply
    assert bot.count("meetings") == 0


def test_missing_checkin_lists_and_mentions(bot: ChatBot) -> None:
    bot.say("李明", "开会 支委会")
    bot.say("李明", "签到")
    bot.say("王芳", "请假 出差")
    result = bot.send("李明", "未签到")
    assert "应到 4 人，已签到 1 人，请假 1 人（王芳）" in result.text
    assert "@张伟 @刘洋" in result.text
    assert result.replies[0].mentions == ("zhangwei", "liuyang")


def test_place_host_and_recorder_are_recorded(bot: ChatBot) -> None:
    reply = bot.say("李明", "开会 支委会 讨论年度计划 地点：三楼会议室 主持：王芳 记录人：张伟")
    assert "地点：三楼会议室" in reply
    assert "主持：王芳　记录：张伟" in reply
    meeting = bot.ledger()["meetings"][0]
    assert meeting["topic"] == "讨论年度计划"
    assert (meeting["place"], meeting["host"], meeting["recorder"]) == (
        "三楼会议室",
        "王芳",
        "张伟",
    )


def test_host_defaults_to_opener_and_unknown_names_are_refused(bot: ChatBot) -> None:
    assert "名册中没有“王小二”" in bot.say("李明", "开会 党课 主持：王小二")
    assert bot.count("meetings") == 0
    bot.say("李明", "开会 党课 专题党课")
    meeting = bot.ledger()["meetings"][0]
    assert (meeting["place"], meeting["host"], meeting["recorder"]) == (None, "李明", None)
