"""计划 in chat: this month's plan items, ✓ once a recorded meeting counts for them."""

from __future__ import annotations

from tests.factories import ChatBot


def test_plan_marks_held_kinds_and_merged_meetings(bot: ChatBot) -> None:
    # 2026-11-20: November's plan has 支委会, 主题党日, two 党小组会, 党员大会, 党课, 谈心谈话 ...
    before = bot.say("赵磊", "计划")
    assert "2026年11月计划" in before
    assert "✗" in before
    assert "✓" not in before
    bot.say("李明", "开会 支委会+党员大会 年度计划")
    bot.say("李明", "结束签到")
    bot.say("李明", "开会 党小组会 第一党小组 学习")
    after = bot.say("赵磊", "本月计划")
    lines = after.splitlines()
    assert any(line.startswith("✓") and "支委会" in line for line in lines)
    assert any(line.startswith("✓") and "党员大会" in line for line in lines)
    assert any(line.startswith("✓") and "第一党小组" in line for line in lines)
    assert any(line.startswith("✗") and "第二党小组" in line for line in lines)
    assert any(line.startswith("✗") and "主题党日" in line for line in lines)
    assert "已完成 3/" in after
