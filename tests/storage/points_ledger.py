"""A year of ledger built through real chat dispatch, with the points the default rules give it.

October: a 第一党小组 党小组会. November: a merged 支部党员大会+党课 (leave, lateness, absences,
a 补课 after an absence), a 主题党日, a study task done on time and late, and volunteer hours
over the yearly cap. The expected numbers are worked out by hand from `points_default.yaml`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from tests.factories import ChatBot

TZ = ZoneInfo("Asia/Shanghai")
EVERYONE = ["李明", "王芳", "张伟", "刘洋", "陈静", "杨帆", "赵磊", "黄丽", "吴敏", "孙强"]

# base 60; meetings 2 each kind; study 1 / 0.5; volunteer 0.5 a hour up to 20 h; absence −2.
YEAR_TOTALS = {
    "李明": Decimal(68),  # 党小组会 2 + 党员大会 2 + 党课 2 + 主题党日 2
    "王芳": Decimal(60),  # October absent −2, November leave 0, 主题党日 +2
    "张伟": Decimal(77),  # meetings 6, study 1, 24 h volunteer capped at 20 h = 10
    "刘洋": Decimal(56),  # two absences
    "陈静": Decimal("58.5"),  # 党小组会 2, two absences −4, late study 0.5
    "杨帆": Decimal("57.5"),  # two absences −4, 3 h volunteer 1.5
    "赵磊": Decimal(60),  # October absent −2, late at the merged sitting +4, 主题党日 absent −2
    "黄丽": Decimal(58),  # October absent (made up; 补课 does not cancel) −2, −2, 主题党日 +2
    "吴敏": Decimal(56),
    "孙强": Decimal(56),
}
NOVEMBER = {
    "李明": Decimal(6),
    "王芳": Decimal(2),
    "张伟": Decimal(17),
    "刘洋": Decimal(-4),
    "陈静": Decimal("-3.5"),
    "杨帆": Decimal("-2.5"),
    "赵磊": Decimal(2),
    "黄丽": Decimal(0),
    "吴敏": Decimal(-4),
    "孙强": Decimal(-4),
}
MERGED = "2026-11-20 支部党员大会+党课（学习党章）"


def build_year(bot: ChatBot) -> None:
    """Record the October and November ledger described in the module docstring."""
    bot.clock.set(datetime(2026, 10, 15, 10, 0, tzinfo=TZ))
    assert "签到" in bot.say("李明", "开会 党小组会 第一党小组 学习")
    bot.say("李明", "签到")
    bot.say("陈静", "签到")
    bot.say("李明", "结束签到")

    bot.clock.set(datetime(2026, 11, 20, 10, 0, tzinfo=TZ))
    assert "合并召开" in bot.say("李明", "开会 支部党员大会+党课 学习党章")
    bot.say("李明", "签到")
    bot.say("张伟", "签到")
    bot.say("王芳", "请假 出差")
    bot.clock.advance(timedelta(minutes=40))
    assert "迟到" in bot.say("赵磊", "签到")
    bot.say("李明", "结束签到")
    assert "已补录" in bot.say("李明", "补录 黄丽 补课")  # her oldest: October's
    bot.say("李明", "开会 主题党日 参观红色教育基地")
    for name in ("李明", "张伟", "王芳", "黄丽"):
        bot.say(name, "签到")
    bot.say("李明", "结束签到")
    assert "已发布" in bot.say("李明", "发布学习《党章》截止11月25日")
    bot.say("张伟", "已学习《党章》")
    assert "已记录" in bot.say("张伟", "志愿服务 12小时 社区值守 11月18日")
    assert "已记录" in bot.say("张伟", "志愿服务 12小时 防汛值守 11月19日")
    assert "已记录" in bot.say("杨帆", "志愿服务 3小时 社区献血 昨天")

    bot.clock.set(datetime(2026, 11, 27, 9, 0, tzinfo=TZ))
    assert "逾期" in bot.say("陈静", "已学习《党章》")
