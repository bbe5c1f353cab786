"""The annual plan as Chinese text (month by month) or as JSON-ready data with stable keys."""

from __future__ import annotations

from typing import Any

from scheduler.plan import NODE_DAY, Plan, PlanItem
from scheduler.rules import WEEKDAY_NAMES, CalendarSettings
from scheduler.workdays import DIRECTION_NAMES

SCHEMA_VERSION = 1


def plan_as_dict(plan: Plan, branch: str, settings: CalendarSettings) -> dict[str, Any]:
    """The plan as plain data; keys and their order are part of the output contract."""
    return {
        "schema": SCHEMA_VERSION,
        "branch": branch,
        "year": plan.year,
        "holidays": {"exact": plan.coverage.exact, "note": plan.coverage.note},
        "settings": {
            "holiday_shift": settings.holiday_shift,
            "activities": [
                {"key": a.key, "kind": a.kind, "rule": a.cadence.describe()}
                for a in settings.activities
                if a.enabled
            ],
            "node_days": [n.key for n in settings.node_days if n.enabled],
        },
        "counts": _counts(plan),
        "items": [_item_dict(item) for item in plan.items],
    }


def plan_as_text(plan: Plan, branch: str, settings: CalendarSettings) -> str:
    """The plan month by month, one line per item, in Chinese."""
    lines = [f"{branch} {plan.year}年工作计划（按规则生成）"]
    if not plan.coverage.exact:
        lines.append(f"注意：{plan.coverage.note}")
    lines.append(f"遇休息日：{DIRECTION_NAMES[settings.holiday_shift]}，尽量不出本月")
    for activity in settings.activities:
        if activity.enabled:
            lines.append(f"  {activity.title}：{activity.cadence.describe()}")
    for month, items in plan.by_month().items():
        lines.append("")
        lines.append(f"{month}月（{len(items)}项）")
        lines.extend(_item_line(item) for item in items)
    return "\n".join(lines)


def _item_line(item: PlanItem) -> str:
    when = f"{item.date.month:>2}月{item.date.day:>2}日 {WEEKDAY_NAMES[item.date.weekday()]}"
    label = f"【节点日】{item.title}" if item.kind == NODE_DAY else item.title
    return f"  {when}  {label}" + (f"  ——{item.note}" if item.note else "")


def _item_dict(item: PlanItem) -> dict[str, Any]:
    return {
        "date": item.date.isoformat(),
        "weekday": WEEKDAY_NAMES[item.date.weekday()],
        "kind": item.kind,
        "title": item.title,
        "group": item.group,
        "moved_from": item.moved_from.isoformat() if item.moved_from else None,
        "prepare_on": item.prepare_on.isoformat() if item.prepare_on else None,
        "note": item.note,
    }


def _counts(plan: Plan) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in plan.items:
        counts[item.kind] = counts.get(item.kind, 0) + 1
    return counts
