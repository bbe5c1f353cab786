"""计划 in chat: this month's plan items, ✓ once a recorded meeting counts for them."""

from __future__ import annotations

from datetime import date

from storage import plans, roster
from storage.audit import Actor
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


def test_plan_uses_the_latest_stored_version(bot: ChatBot) -> None:
    with bot.db.transaction() as session:
        branch = roster.get_branch(session, "机关第一党支部")
        assert branch is not None
        rows = [
            plans.PlanRow(date(2026, 11, 24), "支部委员会", "支委会（改期）"),
            plans.PlanRow(date(2026, 11, 27), "主题党日", "主题党日：参观红色教育基地"),
        ]
        plans.save_version(session, Actor("李明", bot.clock.now()), branch, 2026, rows, "imported")
    reply = bot.say("赵磊", "计划")
    assert "（第1版计划）" in reply
    assert "✗ 11月24日 周二 支委会（改期）" in reply
    assert "参观红色教育基地" in reply
    assert "党小组会" not in reply  # only what the stored version lists
