"""计划: this month's items of the branch's annual plan, ✓ when a recorded meeting satisfies them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.message import Reply
from handlers.context import Context
from handlers.format import day
from scheduler import branch_config
from scheduler.ledger_view import year_plan
from scheduler.plan import NODE_DAY
from scheduler.rules import CalendarSettings
from scheduler.workdays import coverage
from storage import queries
from storage.periods import Period, resolve

GROUP_KIND = "党小组会"
# Plan items that are reminders rather than meetings: shown without ✓ / ✗.
INFO_KINDS = frozenset({NODE_DAY, "党费", "谈心谈话"})


@dataclass(frozen=True)
class Item:
    """One plan item as this reply needs it, from a stored version or generated."""

    date: date
    kind: str
    title: str
    group: str | None


def month_items(ctx: Context, period: Period) -> tuple[list[Item], str | None, str]:
    """This month's items: the latest stored plan version, else the branch's rules; plus a note."""
    try:
        rules = branch_config.load(ctx.branch.calendar).rules
    except ValueError:
        rules = CalendarSettings()  # unreadable settings: show the defaults rather than nothing
    plan, version = year_plan(ctx.session, ctx.branch.id, rules, ctx.today.year)
    items = [Item(i.date, i.kind, i.title, i.group) for i in plan if period.contains(i.date)]
    if version is not None:
        return items, None, f"（第{version}版计划）"
    cover = coverage(ctx.today.year)
    return items, None if cover.exact else cover.note, "（按本支部规则生成）"


def held(item: Item, sittings: list[tuple[set[str], str | None]]) -> bool:
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
    items, note, source = month_items(ctx, period)
    # A sitting counts from the moment it is opened for check-in.
    sittings = [
        (set(v.meeting.kinds), v.meeting.party_group)
        for v in queries.meetings_in(ctx.session, ctx.branch, period)
    ]
    lines = [f"🗓 {ctx.branch.name} {period.label}计划{source}"]
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
    if note:
        lines.append(note)
    return Reply("\n".join(lines))
