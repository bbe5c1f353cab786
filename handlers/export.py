"""导出台账: the period's numbers now, and the formatted workbook queued to be sent to the chat.

The workbook is not built here (this runs inside the message's write transaction): an outbox row
of kind `export` records which branch and period; the outbox sender builds the file when it
sends, and delivers it as a file where the chat takes files, otherwise as a signed link.
"""

from __future__ import annotations

from bot.message import Reply
from handlers.context import Context
from storage import messages, stats
from storage.attachments import OUTBOX_KIND_EXPORT, LedgerRecipe
from storage.periods import Period, resolve

BAD_PERIOD = "没看懂导出时段。例如：导出台账 本月 / 导出台账 2026年10月 / 导出台账 今年"


def _period(ctx: Context) -> Period | None:
    try:
        return resolve(ctx.parsed.period or "this_month", ctx.today)
    except ValueError:
        return None


def export_key(platform: str, message_id: str) -> str:
    """The outbox key of the export a chat message asked for (one file per message)."""
    return f"export:{platform}:{message_id}"[:200]


def handle_export(ctx: Context) -> Reply:
    """Summarise the period and queue its workbook for delivery to this chat."""
    period = _period(ctx)
    if period is None:
        return Reply(BAD_PERIOD)
    s = stats.branch_stats(ctx.session, ctx.branch, period)
    key = period.concrete_key
    recipe = LedgerRecipe(ctx.branch.id, key)
    messages.enqueue_attachment(
        ctx.session,
        dedup_key=export_key(ctx.message.platform, ctx.message.message_id),
        platform=ctx.message.platform,
        chat_external_id=ctx.message.chat_id,
        kind=OUTBOX_KIND_EXPORT,
        text=f"📎 台账文件：{ctx.branch.name}{period.label}（{key}）",
        attachment=recipe.as_dict(),
        at=ctx.actor.at,
    )
    return Reply(
        f"📦 {ctx.branch.name} {period.label}台账：会议 {s.meetings} 次，学习任务 {s.study_tasks} 项，"
        f"志愿服务 {s.volunteer_records} 条，请假 {s.leave} 人次，补课 {s.makeups_open + s.makeups_done} 项。\n"
        "台账文件（Excel）生成后发到本群；不能收文件的群会收到下载链接。"
    )
