"""志愿服务: members report volunteer hours; the ledger keeps date, hours and content."""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from bot.message import Reply
from handlers.context import Context
from handlers.format import day, hours
from storage import volunteer
from storage.periods import resolve

MAX_HOURS_PER_DAY = Decimal(24)
# Reports older than this are most likely typos in the date; the secretary can still 补录.
MAX_AGE = timedelta(days=366)
EXAMPLE = "例如：志愿服务 2小时 社区献血 11月18日"


def handle(ctx: Context) -> Reply:
    """Validate and record one volunteer report."""
    parsed = ctx.parsed
    if parsed.hours is None:
        return Reply(f"请写明服务时长，{EXAMPLE}")
    amount = Decimal(str(parsed.hours)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if amount <= 0 or amount > MAX_HOURS_PER_DAY:
        return Reply(f"服务时长需大于0且不超过24小时，未记录。{EXAMPLE}")
    service_date = parsed.date or ctx.today
    if service_date > ctx.today:
        return Reply(f"服务日期 {day(service_date)} 还没到，未记录。{EXAMPLE}")
    if ctx.today - service_date > MAX_AGE:
        return Reply("只能登记一年内的志愿服务，更早的记录请联系书记补录。")
    activity = (parsed.activity or "").strip()
    if not activity:
        return Reply(f"请写明服务内容，{EXAMPLE}")
    this_month = resolve("this_month", ctx.today)
    same_day, month = volunteer.day_and_period_hours(
        ctx.session, ctx.branch.id, ctx.member.id, service_date, this_month.start, this_month.end
    )
    if same_day + amount > MAX_HOURS_PER_DAY:
        return Reply(
            f"{day(service_date)} 已登记 {hours(same_day)} 小时，"
            "再加上本次将超过24小时，未记录。如有误请联系书记更正。"
        )
    volunteer.add_record(
        ctx.session,
        ctx.actor,
        branch_id=ctx.branch.id,
        member_id=ctx.member.id,
        service_date=service_date,
        hours=amount,
        activity=activity,
    )
    total = month + (amount if this_month.contains(service_date) else 0)
    return Reply(
        f"✅ 已记录 {ctx.member.name} 志愿服务 {hours(amount)} 小时：{activity}"
        f"（{day(service_date, weekday=False)}）。本月累计 {hours(total)} 小时。"
    )
