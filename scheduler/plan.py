"""The annual plan (年度计划清单): every required action of a year, down to the day.

How a date is chosen:
- Each activity's day rule names a day in each month its cadence covers (defaults in
  `scheduler.rules.DEFAULT_ACTIVITIES`). A day that is a rest day moves to a working day in the
  branch's holiday direction, staying inside the month when the other direction allows it
  (`scheduler.workdays.shift`); the item then records the original date in `moved_from`.
- 党小组会 is one item per 党小组, all on the same day; a branch with no 党小组 gets none.
- A node day is a date, not a meeting: it stays on its own date even when that is a rest day
  (`moved_from` stays empty). Its `prepare_on` is the working day about two weeks before
  (`CalendarSettings.prepare_days_before`, moved earlier if it is a rest day), when the 支委
  should be reminded to prepare the activity.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from scheduler.rules import CalendarSettings, NodeDay
from scheduler.workdays import DIRECTION_NAMES, Coverage, coverage, is_rest_day, shift

NODE_DAY = "node_day"
# Same-day items are listed in this order (node days first, then meetings as in the ledger).
KIND_ORDER: tuple[str, ...] = (
    NODE_DAY,
    "支部委员会",
    "支部党员大会",
    "党小组会",
    "党课",
    "主题党日",
    "组织生活会",
    "民主评议党员",
    "谈心谈话",
    "党费",
)


@dataclass(frozen=True)
class PlanItem:
    """One planned action on one day."""

    date: dt.date
    kind: str  # a MEETING_KINDS name, 谈心谈话, 党费 or "node_day"
    title: str
    group: str | None = None  # the 党小组, for 党小组会
    moved_from: dt.date | None = None  # the rule's date, when that was a rest day
    note: str = ""
    prepare_on: dt.date | None = None  # node days: when the 支委 start preparing

    def sort_key(self) -> tuple[dt.date, int, str, str]:
        """Date, then kind in ledger order, then group and title."""
        rank = KIND_ORDER.index(self.kind) if self.kind in KIND_ORDER else len(KIND_ORDER)
        return (self.date, rank, self.group or "", self.title)


@dataclass(frozen=True)
class Plan:
    """A year's items in date order, with a word on how exact the holiday data is."""

    year: int
    coverage: Coverage
    items: tuple[PlanItem, ...]

    def by_month(self) -> dict[int, list[PlanItem]]:
        """Items grouped by month, all twelve months present."""
        months: dict[int, list[PlanItem]] = {m: [] for m in range(1, 13)}
        for item in self.items:
            months[item.date.month].append(item)
        return months

    def count(self, kind: str) -> int:
        """How many items of one kind the plan holds."""
        return sum(1 for item in self.items if item.kind == kind)


def generate(settings: CalendarSettings, year: int, groups: Iterable[str] = ()) -> Plan:
    """Lay out `year` from the branch's settings; `groups` are its 党小组 names."""
    group_names = sorted({g.strip() for g in groups if g and g.strip()})
    nodes = [n for n in settings.node_days if n.enabled]
    items: list[PlanItem] = []
    for activity in settings.activities:
        if not activity.enabled:
            continue
        for month in activity.cadence.months():
            nominal = activity.cadence.day.resolve(year, month)
            day = shift(nominal, settings.holiday_shift)
            moved = nominal if day != nominal else None
            note = _moved_note(nominal, settings) if moved else ""
            if activity.kind == "主题党日":
                note = _join(note, _node_hint(nodes, year, month))
            targets: list[str | None] = list(group_names) if activity.per_group else [None]
            for group in targets:
                title = f"{activity.title}（{group}）" if group else activity.title
                items.append(PlanItem(day, activity.kind, title, group, moved, note))
    items.extend(_node_item(n, year, settings.prepare_days_before) for n in nodes)
    items.sort(key=PlanItem.sort_key)
    return Plan(year, coverage(year), tuple(items))


def prepare_day(day: date, days_before: int) -> date:
    """The working day about `days_before` ahead of a node day, when the 支委 start preparing."""
    return shift(day - timedelta(days=days_before), "before", keep_month=False)


def _node_item(node: NodeDay, year: int, days_before: int) -> PlanItem:
    day = node.on(year)
    prepare = prepare_day(day, days_before)
    note = f"建议主题：{node.theme}；建议{prepare.month}月{prepare.day}日（提前约两周）由支委会筹备"
    if is_rest_day(day):
        note += "；当天为休息日，活动可安排在前后的工作日"
    return PlanItem(day, NODE_DAY, node.name, note=note, prepare_on=prepare)


def _moved_note(nominal: date, settings: CalendarSettings) -> str:
    return (
        f"原定{nominal.month}月{nominal.day}日为休息日，{DIRECTION_NAMES[settings.holiday_shift]}"
    )


def _node_hint(nodes: list[NodeDay], year: int, month: int) -> str:
    names = [f"{n.name}（{n.month}月{n.day}日）" for n in nodes if n.month == month]
    return f"本月节点日：{'、'.join(names)}" if names else ""


def _join(*parts: str) -> str:
    return "；".join(p for p in parts if p)
