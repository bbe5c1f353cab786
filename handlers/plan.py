"""计划: this month's items of the branch's annual plan, ✓ when a recorded meeting satisfies them."""

from __future__ import annotations

from bot.message import Reply
from handlers.context import Context
from handlers.format import day
from scheduler.plan import NODE_DAY, PlanItem, generate
from scheduler.rules import CalendarSettings
from storage import queries
from storage.periods import resolve
from storage.roster import active_members

GROUP_KIND = "党小组会"
# Plan items that are reminders rather than meetings: shown without ✓ / ✗.
INFO_KINDS = frozenset({NODE_DAY, "党费", "谈心谈话"})


def held(item: PlanItem, sittings: list[tuple[set[str], str | None]]) -> bool:
    """True when a recorded sitting counts for the item (merged sittings count for every kind)."""
    for kinds, group in sittings:
        if item.kind not in kinds:
            continue
        if item.kind != GROUP_KIND or group is None or group == item.group:
            return True
    return False


def handle(ctx: Context) -> Reply:
    """Show this month's plan items with ✓ (held) and ✗ (not yet)."""
    period = resolve("this_month", ctx.today)
    groups = [m.party_group for m in active_members(ctx.session, ctx.branch.id) if m.party_group]
    plan = generate(CalendarSettings(), ctx.today.year, groups)
    items = [i for i in plan.items if period.contains(i.date)]
    # A sitting counts from the moment it is opened for check-in.
    sittings = [
        (set(v.meeting.kinds), v.meeting.party_group)
        for v in queries.meetings_in(ctx.session, ctx.branch, period)
    ]
    lines = [f"🗓 {ctx.branch.name} {period.label}计划"]
    done = 0
    required = 0
    for item in items:
        label = item.title
        if item.kind in INFO_KINDS:
            lines.append(f"· {day(item.date)} {label}")
            continue
        required += 1
        ok = held(item, sittings)
        done += ok
        lines.append(f"{'✓' if ok else '✗'} {day(item.date)} {label}")
    if required:
        lines.append(f"已完成 {done}/{required} 项规定动作。")
    if not plan.coverage.exact:
        lines.append(plan.coverage.note)
    return Reply("\n".join(lines))
