"""我的 / 统计 / 导出台账 in chat."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from tests.factories import ChatBot


def _month_of_life(bot: ChatBot) -> None:
    bot.say("李明", "开会 党员大会 年度总结")
    for name in ("李明", "王芳", "张伟", "赵磊"):
        bot.say(name, "签到")
    bot.say("黄丽", "请假 出差")
    bot.say("李明", "结束签到")
    bot.say("李明", "发布学习《党章》截止11月30日")
    bot.say("赵磊", "已学习")
    bot.say("赵磊", "志愿服务 2小时 社区献血")
    bot.say("吴敏", "志愿服务 1.5小时 文明劝导 昨天")


def test_stats_this_month(bot: ChatBot) -> None:
    _month_of_life(bot)
    reply = bot.say("李明", "统计 本月")
    assert "2026年11月统计" in reply
    assert "支部党员大会 1 次" in reply
    assert "应到 10 人次，实到 4 人次（出勤率 40%），请假 1，缺席 5" in reply
    assert "完成 1/10 人次" in reply
    assert "志愿服务：2 人 2 次，共 3.5 小时" in reply
    assert "待补 6 项" in reply


def test_stats_other_periods(bot: ChatBot) -> None:
    _month_of_life(bot)
    assert "2026年10月统计\n会议 0 次" in bot.say("李明", "统计 上月")
    assert "2026年第四季度统计\n会议 1 次" in bot.say("李明", "统计 本季度")
    assert "2026年统计\n会议 1 次" in bot.say("李明", "统计 今年")
    assert "2026年10月统计" in bot.say("李明", "统计 2026年10月")
    assert "2026年下半年统计\n会议 1 次" in bot.say("李明", "统计 下半年")
    assert "2026年上半年统计\n会议 0 次" in bot.say("李明", "统计 上半年")


def test_mine_shows_own_month(bot: ChatBot) -> None:
    _month_of_life(bot)
    reply = bot.say("黄丽", "我的")
    assert "黄丽 2026年11月记录" in reply
    assert "参会 0 次，请假 1 次，缺席 0 次" in reply
    assert "待完成 1 项（《党章》）" in reply
    assert "待补课" in reply
    mine = bot.say("赵磊", "我的记录")
    assert "参会 1 次" in mine and "志愿服务：2 小时（1 次）" in mine


def test_export_summary_names_command(bot: ChatBot) -> None:
    _month_of_life(bot)
    reply = bot.say("李明", "导出台账 本季度")
    assert "会议 1 次" in reply
    assert "台账文件（Excel）生成后发到本群" in reply  # the file: see test_export.py


def test_stats_in_january_last_month_is_december(bot: ChatBot) -> None:
    bot.clock.set(datetime(2027, 1, 5, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    assert "2026年12月统计" in bot.say("李明", "统计 上月")


def test_stats_is_a_compact_summary(bot: ChatBot) -> None:
    _month_of_life(bot)
    for text in ("统计 本月", "统计 今年"):
        lines = bot.say("李明", text).splitlines()
        assert lines[0].startswith("📊 机关第一党支部 2026")
        # A phone screen: a title and one line per subject, no names, no per-member table.
        assert [line.split("：")[0].split(" ")[0] for line in lines[1:]] == [
            "会议",
            "出勤",
            "学习",
            "志愿服务",
            "补课",
        ]
        assert all(len(line) <= 50 for line in lines), lines
        assert not any(name in "".join(lines) for name in ("王芳", "张伟", "赵磊", "黄丽"))
