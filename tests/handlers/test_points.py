"""积分 in chat through real dispatch: 我的积分, 积分排名, 积分调整 as an audited ledger entry, the
secretary-only guard and bad input that writes nothing."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from storage.models import AuditEntry, InboxEntry, PointsAdjustment
from tests.factories import ChatBot
from tests.storage.points_ledger import YEAR_TOTALS, build_year

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def year(bot: ChatBot) -> ChatBot:
    """The sample branch with its October and November ledger (clock at 2026-11-27)."""
    build_year(bot)
    return bot


def test_my_points_shows_total_and_grounds_by_category(year: ChatBot) -> None:
    reply = year.say("张伟", "我的积分")
    lines = reply.splitlines()
    assert lines[0] == "🏅 张伟 2026年积分：77 分"
    assert lines[1] == "基础分 60；组织生活 +6（3 项）；学习 +1（1 项）；志愿服务 +10（2 项）"
    assert lines[2].startswith("本月 +17。按「默认积分规则」计算")
    assert year.say("刘洋", "我的积分？").splitlines()[1] == "基础分 60；缺席扣分 −4（2 项）"


def test_my_points_is_not_the_month_record(year: ChatBot) -> None:
    assert "积分" not in year.say("张伟", "我的")
    assert year.say("张伟", "查一下我的积分").startswith("🏅")


def test_ranking_for_the_year_and_the_month(year: ChatBot) -> None:
    lines = year.say("李明", "积分排名").splitlines()
    assert lines[0] == "🏆 机关第一党支部 2026年积分排名（前10名）"
    assert lines[1:6] == [
        "1. 张伟 77 分",
        "2. 李明 68 分",
        "3. 王芳 60 分（并列）",
        "3. 赵磊 60 分（并列）",
        "5. 陈静 58.5 分",
    ]
    assert "你的排名：第2名，68 分，共 10 人。" in lines

    month = year.say("李明", "积分排名 本月").splitlines()
    assert month[0] == "🏆 机关第一党支部 2026年11月得分（不含基础分）排名（前10名）"
    assert month[1] == "1. 张伟 17 分"
    assert month[8:11] == [
        "8. 刘洋 -4 分（并列）",
        "8. 吴敏 -4 分（并列）",
        "8. 孙强 -4 分（并列）",
    ]
    assert year.say("李明", "积分排名 今年") == year.say("李明", "积分排名")


def test_adjustment_is_an_audited_ledger_entry_with_its_reason(year: ChatBot) -> None:
    reply = year.say("李明", "积分调整 张伟 +2 获评优秀志愿者")
    assert reply == (
        "✏️ 已记录积分调整：张伟 +2 分，原因：获评优秀志愿者，2026年积分现为 79 分。"
        "此调整已记入台账和审计记录。"
    )
    assert "积分调整 −1.5（迟到早退−1.5）" in year.say("李明", "积分调整 王芳 −1.5 迟到早退") + (
        year.say("王芳", "我的积分")
    )
    with year.db.session() as session:
        rows = session.scalars(select(PointsAdjustment).order_by(PointsAdjustment.id)).all()
        assert [(r.points, r.reason) for r in rows] == [
            (Decimal(2), "获评优秀志愿者"),
            (Decimal("-1.5"), "迟到早退"),
        ]
        inbox = session.get(InboxEntry, rows[0].source_inbox_id)
        assert inbox is not None and inbox.text == "积分调整 张伟 +2 获评优秀志愿者"
        assert rows[0].recorded_at == datetime(2026, 11, 27, 9, 0, tzinfo=TZ)
        audit = session.scalars(
            select(AuditEntry).where(AuditEntry.entity == "points_adjustment")
        ).all()
        assert [(a.actor, a.action, a.entity_id) for a in audit] == [
            ("李明", "points_adjust", rows[0].id),
            ("李明", "points_adjust", rows[1].id),
        ]
        assert json.loads(audit[0].detail)["reason"] == "获评优秀志愿者"
        assert audit[0].source_inbox_id == rows[0].source_inbox_id
    mine = year.say("张伟", "我的积分")
    assert mine.startswith("🏅 张伟 2026年积分：79 分")
    assert "积分调整 +2（获评优秀志愿者+2）" in mine


@pytest.mark.parametrize("text", ["积分调整 张伟 +2 表彰", "积分排名", "积分排名 本月"])
def test_members_get_the_polite_secretary_only_reply(year: ChatBot, text: str) -> None:
    before = year.counts()
    reply = year.say("赵磊", text)
    assert reply.startswith("抱歉，「积分")
    assert "只有支部书记或管理员可以操作，本次未做任何更改" in reply
    assert year.counts() == before


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("积分调整 张伟 +1000 表彰", "单次调整分值需在 -100 到 +100 之间，未记录"),
        ("积分调整 张伟 -101 违纪", "单次调整分值需在 -100 到 +100 之间，未记录"),
        ("积分调整 张伟 +99999999999999 表彰", "单次调整分值需在 -100 到 +100 之间"),
        ("积分调整 张伟 0 表彰", "调整分值不能为 0"),
        ("积分调整 张伟 +0.001 表彰", "最多保留两位小数"),
        ("积分调整 张伟 +2", "请写明调整原因"),
        ("积分调整 张伟 👍 表彰", "请写明调整分值"),
        ("积分调整 👍👍 +2 表彰", "请写明成员姓名"),
        ("积分调整 张伟 +2 👍🎉", "请写明调整原因"),
        ("积分调整 张伟 +2 " + "很" * 150, "调整原因请控制在100字以内，未记录"),
        ("积分调整 张伟 +2 " + "长" * 10_000, "消息过长"),
        ("积分调整 张三 +2 表彰", "名册中没有“张三”，未记录"),
    ],
)
def test_bad_adjustments_are_refused_politely(year: ChatBot, text: str, fragment: str) -> None:
    before = year.counts()
    reply = year.say("李明", text)
    assert fragment in reply
    assert "例如" in reply or "未记录" in reply
    assert year.counts() == before  # nothing half-written, no audit entry


def test_an_unknown_name_reveals_nothing_of_the_roster(year: ChatBot) -> None:
    reply = year.say("李明", "积分调整 张三 +2 表彰")
    assert not any(name in reply for name in YEAR_TOTALS if name != "张伟")


def test_emoji_inside_a_reason_is_kept(year: ChatBot) -> None:
    assert "已记录积分调整" in year.say("李明", "积分调整 张伟 +1 抗洪🌊抢险")
    with year.db.session() as session:
        assert session.scalars(select(PointsAdjustment.reason)).all() == ["抗洪🌊抢险"]


def test_help_mentions_points_by_role(bot: ChatBot) -> None:
    assert "我的积分" in bot.say("赵磊", "帮助")
    assert "积分调整" not in bot.say("赵磊", "帮助")
    assert "积分调整" in bot.say("李明", "帮助")
    assert "积分排名" in bot.say("李明", "帮助")


def test_points_of_an_empty_ledger(bot: ChatBot) -> None:
    assert bot.say("赵磊", "我的积分").splitlines()[:2] == [
        "🏅 赵磊 2026年积分：60 分",
        "基础分 60",
    ]
    assert "1. 李明 60 分（并列）" in bot.say("李明", "积分排名")
