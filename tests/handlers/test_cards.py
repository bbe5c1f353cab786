"""The meeting check-in card: posted when a meeting opens, refreshed when its buttons are tapped."""

from __future__ import annotations

from bot.message import Button, Card, Message
from tests.factories import ChatBot


def tap(bot: ChatBot, userid: str, command: str, key: str, msgid: str) -> Card | None:
    result = bot.dispatcher.dispatch(
        Message("wecom", msgid, bot.chat_id, userid, command, bot.clock.now(), via_card=key)
    )
    return result.replies[0].card


def test_opening_a_meeting_posts_a_checkin_card(bot: ChatBot) -> None:
    result = bot.send("李明", "开会 支委会 研究发展党员")
    card = result.replies[0].card
    assert card is not None
    assert card.key.startswith("meeting-")
    assert card.title == "支部委员会 签到"
    assert card.buttons == (Button("签到", "签到"), Button("请假", "请假"))
    assert "应到 4 人，已签到 0 人，请假 0 人" in card.lines


def test_a_tap_is_recorded_like_typing_and_refreshes_the_card(bot: ChatBot) -> None:
    key = bot.send("李明", "开会 党员大会").replies[0].card.key  # type: ignore[union-attr]
    card = tap(bot, "zhaolei", "签到", key, "tap-1")
    assert card is not None
    assert card.key == key
    assert "已签到：赵磊" in card.lines
    again = tap(bot, "zhaolei", "签到", key, "tap-2")  # a second tap: acknowledged, not doubled
    assert again is not None
    assert "应到 10 人，已签到 1 人，请假 0 人" in again.lines
    leave = tap(bot, "wangfang", "请假", key, "tap-3")
    assert leave is not None
    assert "请假：王芳" in leave.lines
    assert bot.count("attendance") == 2
    replay = bot.dispatcher.dispatch(
        Message("wecom", "tap-1", bot.chat_id, "zhaolei", "签到", bot.clock.now(), via_card=key)
    )
    assert replay.duplicate
    assert replay.replies[0].card is not None  # the stored card comes back with the replay


def test_typed_checkin_and_stale_card_get_no_card(bot: ChatBot) -> None:
    bot.send("李明", "开会 党员大会")
    assert bot.send("赵磊", "签到").replies[0].card is None
    assert tap(bot, "wumin", "签到", "meeting-999", "tap-9") is None
