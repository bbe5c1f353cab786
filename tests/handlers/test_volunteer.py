"""志愿服务: durations in many forms, dates, and validation that records nothing on bad input."""

from __future__ import annotations

import pytest

from tests.factories import ChatBot


@pytest.mark.parametrize(
    ("text", "hours", "date"),
    [
        ("志愿服务 2小时 社区献血", 2.0, "2026-11-20"),
        ("志愿服务 两小时 社区献血", 2.0, "2026-11-20"),
        ("志愿服务 1.5h 文明劝导", 1.5, "2026-11-20"),
        ("志愿服务 90分钟 文明劝导", 1.5, "2026-11-20"),
        ("志愿服务 半小时 文明劝导", 0.5, "2026-11-20"),
        ("志愿服务 一个半小时 植树", 1.5, "2026-11-20"),
        ("志愿服务 两个半小时 植树", 2.5, "2026-11-20"),
        ("志愿服务 ３小时 社区防疫值守", 3.0, "2026-11-20"),
        ("志愿服务 2小时 探望孤寡老人 11月18日", 2.0, "2026-11-18"),
        ("志愿服务 2小时 探望孤寡老人 昨天", 2.0, "2026-11-19"),
        ("前天志愿服务2小时 探望孤寡老人", 2.0, "2026-11-18"),
        ("志願服務 2小時 社區獻血", 2.0, "2026-11-20"),
    ],
)
def test_volunteer_forms(bot: ChatBot, text: str, hours: float, date: str) -> None:
    reply = bot.say("赵磊", text)
    assert "已记录 赵磊 志愿服务" in reply, reply
    record = bot.ledger()["volunteer"][0]
    assert record["hours"] == hours
    assert record["date"] == date
    assert record["name"] == "赵磊"
    assert record["activity"]


@pytest.mark.parametrize(
    "text",
    [
        "志愿服务 -3小时 社区献血",
        "志愿服务 999小时 社区献血",
        "志愿服务 100小时",
        "志愿服务 社区献血",
        "志愿服务 0小时 社区献血",
        "志愿服务 2小时 社区献血 明天",
        "志愿服务 2小时",
    ],
)
def test_invalid_volunteer_reports_record_nothing(bot: ChatBot, text: str) -> None:
    reply = bot.say("赵磊", text)
    assert "已记录" not in reply
    assert "志愿服务" in reply or "时长" in reply or "内容" in reply or "日期" in reply
    assert bot.count("volunteer_records") == 0


def test_daily_total_cannot_exceed_24_hours(bot: ChatBot) -> None:
    assert "已记录" in bot.say("赵磊", "志愿服务 20小时 抗洪抢险")
    reply = bot.say("赵磊", "志愿服务 5小时 抗洪抢险")
    assert "超过24小时" in reply
    assert bot.count("volunteer_records") == 1


def test_monthly_total_in_reply(bot: ChatBot) -> None:
    bot.say("赵磊", "志愿服务 2小时 社区献血 11月3日")
    assert "本月累计 3.5 小时" in bot.say("赵磊", "志愿服务 1.5小时 文明劝导")
