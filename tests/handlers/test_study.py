"""学习: publish, confirm (current or named), late confirmation, 未学习 with mentions."""

from __future__ import annotations

from datetime import timedelta

from tests.factories import ChatBot


def test_publish_and_confirm_current_task(bot: ChatBot) -> None:
    reply = bot.say("李明", "发布学习 《中国共产党党和国家机关基层组织工作条例》 截止12月10日")
    assert "学习任务已发布" in reply and "12月10日" in reply
    assert "完成学习《中国共产党党和国家机关基层组织工作条例》" in bot.say("赵磊", "已学习")
    assert "无需重复" in bot.say("赵磊", "学习打卡") or "都已确认" in bot.say("赵磊", "学习打卡")
    study = bot.ledger()["study"][0]
    assert study["deadline"] == "2026-12-10"
    assert study["confirmed"] == ["赵磊"]
    assert len(study["pending"]) == 9


def test_confirm_named_task_and_note(bot: ChatBot) -> None:
    bot.say("李明", "发布学习《党章》")
    bot.say("李明", "发布学习《准则》")
    reply = bot.say("黄丽", "已学习《党章》总纲部分很有收获")
    assert "《党章》" in reply
    tasks = {t["title"]: t for t in bot.ledger()["study"]}
    assert tasks["党章"]["confirmed"] == ["黄丽"]
    assert tasks["准则"]["confirmed"] == []


def test_confirm_unknown_named_task_lists_tasks(bot: ChatBot) -> None:
    bot.say("李明", "发布学习《党章》")
    reply = bot.say("黄丽", "已学习《不存在的文件》")
    assert "没有找到" in reply and "《党章》" in reply
    assert bot.count("study_confirmations") == 0


def test_late_confirmation_is_recorded_as_late(bot: ChatBot) -> None:
    bot.say("李明", "发布学习《党章》截止11月25日")
    bot.clock.advance(timedelta(days=7))
    reply = bot.say("吴敏", "已学")
    assert "逾期" in reply
    study = bot.ledger(period="2026-11")["study"][0]
    assert study["confirmed"] == ["吴敏"] and study["late"] == ["吴敏"]


def test_confirm_with_no_task(bot: ChatBot) -> None:
    assert "没有学习任务" in bot.say("吴敏", "已学习")
    assert bot.count("study_confirmations") == 0


def test_publish_with_past_deadline_is_refused(bot: ChatBot) -> None:
    reply = bot.say("李明", "发布学习《党章》截止2026年11月1日")
    assert "已经过去" in reply or "截止" in reply
    assert bot.count("study_tasks") == 0


def test_missing_study_mentions_pending_members(bot: ChatBot) -> None:
    bot.say("李明", "发布学习《党章》")
    for name in ("李明", "王芳", "张伟", "刘洋", "陈静", "杨帆", "赵磊", "黄丽"):
        bot.say(name, "已学习")
    result = bot.send("李明", "未学习")
    assert "已学习 8/10 人" in result.text
    assert "@吴敏" in result.text and "@孙强" in result.text
    assert set(result.replies[0].mentions) == {"wumin", "sunqiang"}
