"""`zhibu outbox`: see what is queued or failed, and send failed messages again."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

import typer

outbox_app = typer.Typer(
    help="发件箱：查看待发送、发送失败的消息，重新发送。", no_args_is_help=True
)
STATUSES = ("pending", "sending", "sent", "failed")
STATUS_NAMES = {"pending": "待发送", "sending": "发送中", "sent": "已发送", "failed": "失败"}


@outbox_app.command("list")
def outbox_list(
    status: Annotated[str | None, typer.Option(help="pending / sending / sent / failed")] = None,
    limit: Annotated[int, typer.Option(help="最多列出几条", min=1, max=1000)] = 20,
) -> None:
    """列出发件箱里的消息（最新的在前）。"""
    from bot.cli import fail, settings
    from bot.runtime import build
    from storage import messages

    if status is not None and status not in STATUSES:
        raise fail(f"状态应为：{' / '.join(STATUSES)}")
    runtime = build(settings())
    zone = ZoneInfo(runtime.settings.tz)
    with runtime.db.session() as session:
        rows = messages.outbox_rows(session, status, limit)
        if not rows:
            typer.echo("发件箱里没有符合条件的消息。")
            return
        for row in rows:
            first_line = row.text.splitlines()[0] if row.text else ""
            error = f"  错误：{row.last_error}" if row.last_error else ""
            typer.echo(
                f"#{row.id} {STATUS_NAMES.get(row.status, row.status)} {row.platform}:{row.chat_external_id} "
                f"{row.created_at.astimezone(zone):%m-%d %H:%M} 尝试{row.attempts}次 "
                f"{first_line[:40]}{error}"
            )


@outbox_app.command("retry")
def outbox_retry(
    ids: Annotated[list[int] | None, typer.Argument(help="要重发的消息编号")] = None,
    all_failed: Annotated[bool, typer.Option("--all-failed", help="重发全部失败的消息")] = False,
) -> None:
    """把发送失败的消息放回队列（例如重新绑定推送地址之后）。"""
    from bot.cli import fail, settings
    from bot.runtime import build
    from storage import messages

    if not ids and not all_failed:
        raise fail("请给出消息编号，或用 --all-failed")
    runtime = build(settings())
    with runtime.db.transaction() as session:
        targets = list(ids or [])
        if all_failed:
            targets += [
                r.id for r in messages.outbox_rows(session, messages.OUTBOX_FAILED, 100_000)
            ]
        count = messages.requeue(session, targets, runtime.clock.now())
    typer.echo(f"已放回发送队列 {count} 条；运行中的 zhibu serve 会很快发出。")
