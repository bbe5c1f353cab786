"""导出台账 in chat: the numbers now, one queued export per message, secretaries only."""

from __future__ import annotations

import json

from storage.attachments import OUTBOX_KIND_EXPORT
from storage.models import OutboxEntry
from tests.factories import BRANCH, ChatBot


def export_rows(bot: ChatBot) -> list[OutboxEntry]:
    with bot.db.session() as session:
        return list(session.query(OutboxEntry).filter(OutboxEntry.kind == OUTBOX_KIND_EXPORT))


def test_export_answers_now_and_queues_the_workbook(bot: ChatBot) -> None:
    bot.say("李明", "开会 支委会 讨论年度计划")
    reply = bot.say("李明", "导出台账 上月", message_id="ask-1")
    assert "2026年10月台账" in reply and "台账文件（Excel）生成后发到本群" in reply
    (row,) = export_rows(bot)
    assert row.dedup_key == f"export:{bot.platform}:ask-1"
    assert row.chat_external_id == bot.chat_id and row.status == "pending"
    recipe = json.loads(row.attachment or "{}")
    assert recipe["type"] == "ledger" and recipe["period"] == "2026-10"
    assert recipe["format"] == "xlsx" and isinstance(recipe["branch_id"], int)
    assert BRANCH in row.text
    # The same platform message again (a replay) queues nothing more.
    bot.say("李明", "导出台账 上月", message_id="ask-1")
    assert len(export_rows(bot)) == 1


def test_export_periods_resolve_to_concrete_keys(bot: ChatBot) -> None:
    bot.say("李明", "导出台账 今年")
    bot.say("李明", "导出台账 2026年9月")
    periods = [json.loads(r.attachment or "{}")["period"] for r in export_rows(bot)]
    assert periods == ["2026", "2026-09"]


def test_member_cannot_export(bot: ChatBot) -> None:
    reply = bot.say("赵磊", "导出台账 本月")
    assert "只有支部书记或管理员可以操作" in reply
    assert export_rows(bot) == []
