"""A first end-to-end conversation through dispatch."""

from __future__ import annotations

from tests.factories import ChatBot


def test_open_checkin_close(bot: ChatBot) -> None:
    assert "已发起签到" in bot.say("李明", "开会 支委会 学习党章")
    assert "签到成功" in bot.say("张伟", "签到")
    summary = bot.say("李明", "结束签到")
    assert "应到 4 人" in summary
