"""帮助 by role, and the hint for messages the bot does not understand."""

from __future__ import annotations

from tests.factories import ChatBot


def test_member_help_lists_member_commands_only(bot: ChatBot) -> None:
    reply = bot.say("赵磊", "帮助")
    assert "签到" in reply and "志愿服务" in reply and "我的" in reply
    assert "开会" not in reply and "补录" not in reply


def test_secretary_help_adds_secretary_commands(bot: ChatBot) -> None:
    reply = bot.say("李明", "使用说明")
    assert "开会" in reply and "补录" in reply and "统计" in reply


def test_chatter_records_nothing(bot: ChatBot) -> None:
    for text in ("收到", "好的", "大家好", "谢谢"):
        assert "未做记录" in bot.say("赵磊", text)
    assert bot.counts()["attendance"] == 0


def test_question_about_feature_is_not_an_action(bot: ChatBot) -> None:
    bot.say("李明", "开会 党员大会")
    reply = bot.say("赵磊", "签到表在哪里下载？")
    assert "签到成功" not in reply
    assert bot.count("attendance") == 0
