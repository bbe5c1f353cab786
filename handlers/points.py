"""积分: 我的积分 for everyone, 积分排名 and 积分调整 for secretaries; points come from the ledger."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal, InvalidOperation

from bot.message import Reply
from handlers.context import Context
from handlers.format import day
from storage import points
from storage.periods import Period, resolve
from storage.points_rules import ADJUSTMENT, CATEGORY_LABELS, show
from storage.roster import find_member_by_name

TOP = 10
MAX_REASONS = 5  # adjustment reasons listed in 我的积分
ADJUST_EXAMPLE = "例如：积分调整 张伟 +2 参加抗洪抢险"


def handle_mine(ctx: Context) -> Reply:
    """The sender's points this year: total, then subtotals by category with adjustment reasons."""
    year = resolve("this_year", ctx.today)
    result = points.branch_points(
        ctx.session, ctx.branch, year, today=ctx.today, member_ids=[ctx.member.id]
    )
    mine = result.of(ctx.member.id)
    if mine is None:  # not expected: the sender was found in this branch's roster
        return Reply("没有找到你的名册记录，无法计算积分，请联系书记。")
    parts = [f"基础分 {show(mine.base)}"]
    for category, (earned, count) in mine.by_category().items():
        label = CATEGORY_LABELS[category]
        if category == ADJUSTMENT:
            shown = [
                f"{g.item}{points.signed(g.points)}"
                for g in mine.grounds
                if g.category == ADJUSTMENT
            ]
            reasons = "、".join(shown[:MAX_REASONS]) + ("等" if len(shown) > MAX_REASONS else "")
            parts.append(f"{label} {points.signed(earned)}（{reasons}）")
        else:
            parts.append(f"{label} {points.signed(earned)}（{count} 项）")
    month = [g for g in mine.grounds if g.date.month == ctx.today.month]
    month_total = sum((g.points for g in month), Decimal(0))
    lines = [
        f"🏅 {ctx.member.name} {year.label}积分：{show(mine.total)} 分",
        "；".join(parts),
        f"本月 {points.signed(month_total)}。按「{result.rules.label}」计算，截至{day(ctx.today, weekday=False)}。",
    ]
    if mine.total == result.rules.rules.floor and mine.total > mine.base + sum(
        (g.points for g in mine.grounds), Decimal(0)
    ):
        lines.append(f"（总分不低于保底分 {show(result.rules.rules.floor)}）")
    return Reply("\n".join(lines))


def _period(ctx: Context) -> Period | None:
    try:
        period = resolve(ctx.parsed.period or "this_year", ctx.today)
    except ValueError:
        return None
    # Points reset every year: a ranking covers a span within one calendar year.
    return period if (period.end - timedelta(days=1)).year == period.start.year else None


def handle_rank(ctx: Context) -> Reply:
    """The branch's ranking for this year (with base) or a month (points earned in it)."""
    period = _period(ctx)
    if period is None:
        return Reply("没看懂排名时段。例如：积分排名 本月 / 积分排名 今年")
    result = points.branch_points(ctx.session, ctx.branch, period, today=ctx.today)
    ranked = result.ranking()
    if not ranked:
        return Reply("名册中还没有党员，无法排名。")
    what = "积分" if result.whole_year else "得分（不含基础分）"
    lines = [f"🏆 {ctx.branch.name} {period.label}{what}排名（前{min(TOP, len(ranked))}名）"]
    for entry in ranked[:TOP]:
        tie = "（并列）" if entry.tied else ""
        lines.append(f"{entry.rank}. {entry.points.name} {show(entry.points.total)} 分{tie}")
    own = next((r for r in ranked if r.points.member_id == ctx.member.id), None)
    if own is not None:
        tie = "（并列）" if own.tied else ""
        lines.append(
            f"你的排名：第{own.rank}名{tie}，{show(own.points.total)} 分，共 {len(ranked)} 人。"
        )
    lines.append(f"按「{result.rules.label}」计算。")
    return Reply("\n".join(lines))


def handle_adjust(ctx: Context) -> Reply:
    """Record 积分调整 as a ledger entry with its reason, and say what was recorded."""
    parsed = ctx.parsed
    name, reason = (parsed.name or "").strip(), (parsed.reason or "").strip()
    try:
        amount = Decimal(parsed.points or "")
    except InvalidOperation:
        return Reply(f"没有看懂调整分值，未记录。{ADJUST_EXAMPLE}")
    if not name or not reason:
        return Reply(f"请写明姓名、分值和原因，未记录。{ADJUST_EXAMPLE}")
    if amount == 0 or abs(amount) > points.MAX_ADJUSTMENT or amount != amount.quantize(points.CENT):
        return Reply(
            f"单次调整分值需在 -{show(points.MAX_ADJUSTMENT)} 到 +{show(points.MAX_ADJUSTMENT)} "
            f"之间且不为 0，未记录。{ADJUST_EXAMPLE}"
        )
    if len(reason) > points.MAX_REASON:
        return Reply(f"调整原因请控制在{points.MAX_REASON}字以内，未记录。")
    member = find_member_by_name(ctx.session, ctx.branch.id, name)
    if member is None:
        return Reply(f"名册中没有“{name}”，未记录。请核对姓名，{ADJUST_EXAMPLE}")
    points.add_adjustment(
        ctx.session,
        ctx.actor,
        branch_id=ctx.branch.id,
        member_id=member.id,
        points=amount,
        reason=reason,
    )
    year = resolve("this_year", ctx.today)
    total = points.branch_points(
        ctx.session, ctx.branch, year, today=ctx.today, member_ids=[member.id]
    ).of(member.id)
    now_total = f"，{year.label}积分现为 {show(total.total)} 分" if total is not None else ""
    return Reply(
        f"✏️ 已记录积分调整：{member.name} {points.signed(amount)} 分，原因：{reason}{now_total}。"
        "此调整已记入台账和审计记录。"
    )
