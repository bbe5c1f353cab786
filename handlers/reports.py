"""我的 / 统计 / 导出台账: the sender's month, the branch's numbers, and the ledger summary."""

from __future__ import annotations

from bot.message import Reply
from handlers.context import Context
from handlers.format import hours, names, percent
from handlers.parsing import MEETING_KINDS
from storage import stats
from storage.periods import Period, resolve


def _period(ctx: Context) -> Period | None:
    try:
        return resolve(ctx.parsed.period or "this_month", ctx.today)
    except ValueError:
        return None


def handle_mine(ctx: Context) -> Reply:
    """Show the sender's own month: meetings, study, volunteer hours, 补课 owed."""
    period = resolve("this_month", ctx.today)
    mine = stats.member_stats(ctx.session, ctx.branch, ctx.member, period)
    lines = [
        f"📒 {ctx.member.name} {period.label}记录",
        f"参会 {len(mine.attended)} 次，请假 {len(mine.leave)} 次，缺席 {len(mine.absent)} 次",
        f"学习：已完成 {len(mine.study_done)} 项，待完成 {len(mine.study_pending)} 项"
        + (
            f"（{names('《' + t + '》' for t in mine.study_pending)}）"
            if mine.study_pending
            else ""
        ),
        f"志愿服务：{hours(mine.volunteer_hours)} 小时（{mine.volunteer_records} 次）",
    ]
    if mine.makeups_open:
        lines.append(f"待补课：{names(mine.makeups_open)}")
    return Reply("\n".join(lines))


def handle_stats(ctx: Context) -> Reply:
    """Show the branch's numbers for the requested period."""
    period = _period(ctx)
    if period is None:
        return Reply(
            "没看懂统计时段。例如：统计 本月 / 统计 上月 / 统计 本季度 / 统计 上半年 / 统计 2026年10月"
        )
    s = stats.branch_stats(ctx.session, ctx.branch, period)
    kinds = "，".join(f"{k} {s.by_kind[k]} 次" for k in MEETING_KINDS if s.by_kind[k]) or "无"
    lines = [
        f"📊 {ctx.branch.name} {period.label}统计",
        f"会议 {s.meetings} 次：{kinds}",
        f"出勤：应到 {s.expected} 人次，实到 {s.attended} 人次（出勤率 {percent(s.attended, s.expected)}），"
        f"请假 {s.leave}，缺席 {s.absent}",
        f"学习：任务 {s.study_tasks} 项，完成 {s.study_done}/{s.study_expected} 人次"
        f"（完成率 {percent(s.study_done, s.study_expected)}，逾期 {s.study_late}）",
        f"志愿服务：{s.volunteer_people} 人 {s.volunteer_records} 次，共 {hours(s.volunteer_hours)} 小时",
        f"补课：待补 {s.makeups_open} 项，已补 {s.makeups_done} 项",
    ]
    return Reply("\n".join(lines))
