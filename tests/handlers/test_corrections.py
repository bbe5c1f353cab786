"""补录: secretary corrections supersede, are marked in the audit trail, and fix 补课 items."""

from __future__ import annotations

import json

from sqlalchemy import select

from storage.models import Attendance, AuditEntry
from tests.factories import ChatBot


def _closed_meeting(bot: ChatBot) -> None:
    bot.say("李明", "开会 支委会 研究工作")
    bot.say("李明", "签到")
    bot.say("李明", "结束签到")  # 王芳、张伟、刘洋 absent


def test_correct_absent_to_present_cancels_makeup(bot: ChatBot) -> None:
    _closed_meeting(bot)
    reply = bot.say("李明", "补录 王芳 签到")
    assert "已补录：王芳 签到" in reply and "补课事项已取消" in reply
    ledger = bot.ledger()
    statuses = {r["name"]: r["status"] for r in ledger["meetings"][0]["attendance"]}
    assert statuses["王芳"] == "present"
    assert "王芳" not in {m["name"] for m in ledger["makeups"]}
    with bot.db.session() as session:
        rows = session.scalars(select(Attendance).order_by(Attendance.id)).all()
        history = [
            (r.status, r.is_correction, r.superseded_at is not None)
            for r in rows
            if r.member_id == rows[1].member_id
        ]
        assert history == [("absent", False, True), ("present", True, False)]
        corrections = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "correct")
        ).all()
        assert len(corrections) == 1
        assert corrections[0].actor == "李明"
        assert corrections[0].source_inbox_id is not None
        assert json.loads(corrections[0].detail)["previous"] == "absent"


def test_correct_to_leave_keeps_makeup(bot: ChatBot) -> None:
    _closed_meeting(bot)
    bot.say("李明", "补录 张伟 请假 外出学习")
    ledger = bot.ledger()
    row = next(r for r in ledger["meetings"][0]["attendance"] if r["name"] == "张伟")
    assert row["status"] == "leave" and row["reason"] == "外出学习"
    assert "张伟" in {m["name"] for m in ledger["makeups"]}


def test_makeup_done(bot: ChatBot) -> None:
    _closed_meeting(bot)
    reply = bot.say("李明", "补录 刘洋 补课")
    assert "完成补课" in reply
    ledger = bot.ledger()
    assert {m["name"]: m["done"] for m in ledger["makeups"]}["刘洋"] is True
    row = next(r for r in ledger["meetings"][0]["attendance"] if r["name"] == "刘洋")
    assert row["status"] == "makeup"
    assert "没有待补课事项" in bot.say("李明", "补录 刘洋 补课")


def test_correct_study(bot: ChatBot) -> None:
    bot.say("李明", "发布学习《党章》")
    assert "已补录：孙强 完成学习《党章》" in bot.say("李明", "补录 孙强 学习《党章》")
    assert bot.ledger()["study"][0]["confirmed"] == ["孙强"]
    assert "无需补录" in bot.say("李明", "补录 孙强 学习")


def test_correction_of_unknown_member(bot: ChatBot) -> None:
    _closed_meeting(bot)
    before = bot.counts()
    assert "名册中没有" in bot.say("李明", "补录 王小二 签到")
    assert bot.counts() == before


def test_member_cannot_correct(bot: ChatBot) -> None:
    _closed_meeting(bot)
    before = bot.counts()
    reply = bot.say("赵磊", "补录 赵磊 签到")
    assert "只有支部书记或管理员" in reply
    assert bot.counts() == before
