"""A branch's saved calendar: its plan rules and its reminder settings, kept as JSON on the branch.

Only what differs from the defaults is stored, so a branch that never changed anything follows
improvements to the defaults. Reading is strict: a stored value that no longer parses raises
ValueError with a Chinese message rather than being silently ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from scheduler.push import PushSettings, parse_quiet, parse_time
from scheduler.rules import Cadence, CalendarSettings, parse_day_rule
from scheduler.workdays import parse_direction

FREQUENCIES = {"monthly": "每月", "quarterly": "每季度", "yearly": "每年"}


@dataclass(frozen=True)
class BranchCalendar:
    """Everything the scheduler needs to know about one branch's year."""

    rules: CalendarSettings = field(default_factory=CalendarSettings)
    push: PushSettings = field(default_factory=PushSettings)


def _hm(value: Any) -> str:
    return f"{value.hour:02d}:{value.minute:02d}"


def dump(config: BranchCalendar) -> str:
    """The settings as compact JSON holding only what differs from the defaults."""
    default = BranchCalendar()
    data: dict[str, Any] = {}
    if config.rules.holiday_shift != default.rules.holiday_shift:
        data["holiday_shift"] = config.rules.holiday_shift
    activities: dict[str, Any] = {}
    defaults = {a.key: a for a in default.rules.activities}
    for activity in config.rules.activities:
        base = defaults.get(activity.key)
        change: dict[str, Any] = {}
        if base is None or activity.cadence != base.cadence:
            change["frequency"] = activity.cadence.frequency
            change["day"] = activity.cadence.day.describe()
            change["month_in_quarter"] = activity.cadence.month_in_quarter
            change["month"] = activity.cadence.month
        if base is None or activity.enabled != base.enabled:
            change["enabled"] = activity.enabled
        if change:
            activities[activity.key] = change
    if activities:
        data["activities"] = activities
    default_nodes = {n.key: n.enabled for n in default.rules.node_days}
    nodes = {
        n.key: n.enabled for n in config.rules.node_days if default_nodes.get(n.key) != n.enabled
    }
    if nodes:
        data["node_days"] = nodes
    push: dict[str, Any] = {}
    p, d = config.push, default.push
    if p.enabled != d.enabled:
        push["enabled"] = p.enabled
    if p.notice_days != d.notice_days:
        push["notice_days"] = p.notice_days
    if p.progress_days != d.progress_days:
        push["progress_days"] = p.progress_days
    if p.notice_time != d.notice_time:
        push["notice_time"] = _hm(p.notice_time)
    if p.summary_time != d.summary_time:
        push["summary_time"] = _hm(p.summary_time)
    if (p.quiet_start, p.quiet_end) != (d.quiet_start, d.quiet_end):
        push["quiet"] = f"{_hm(p.quiet_start)}-{_hm(p.quiet_end)}"
    if p.quiet_on_rest_days != d.quiet_on_rest_days:
        push["quiet_on_rest_days"] = p.quiet_on_rest_days
    if push:
        data["push"] = push
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


def load(text: str | None) -> BranchCalendar:
    """Read stored settings (None or empty: the defaults); ValueError (Chinese) if invalid."""
    if not text:
        return BranchCalendar()
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValueError("支部日历设置已损坏（不是有效的 JSON）") from exc
    if not isinstance(data, dict) or not all(
        isinstance(data.get(name) or {}, dict) for name in ("activities", "node_days", "push")
    ):
        raise ValueError("支部日历设置已损坏")
    try:
        return _load(data)
    except TypeError as exc:  # e.g. a list where a value was expected
        raise ValueError("支部日历设置已损坏") from exc


def _load(data: dict[str, Any]) -> BranchCalendar:
    rules = CalendarSettings()
    if "holiday_shift" in data:
        rules = replace(rules, holiday_shift=parse_direction(str(data["holiday_shift"])))
    for key, change in (data.get("activities") or {}).items():
        rules = _apply_activity(rules, str(key), change)
    nodes = data.get("node_days") or {}
    if nodes:
        rules = rules.with_node_days([k for k, on in nodes.items() if on], enabled=True)
        rules = rules.with_node_days([k for k, on in nodes.items() if not on], enabled=False)
    return BranchCalendar(rules, _load_push(data.get("push") or {}))


def _apply_activity(rules: CalendarSettings, key: str, change: Any) -> CalendarSettings:
    if not isinstance(change, dict):
        raise ValueError(f"“{key}”的设置已损坏")
    try:
        activity = rules.activity(key)
    except KeyError as exc:
        known = "、".join(a.key for a in rules.activities)
        raise ValueError(f"没有活动“{key}”，可选：{known}") from exc
    cadence = activity.cadence
    if "day" in change:
        cadence = replace(cadence, day=parse_day_rule(str(change["day"])))
    if "frequency" in change:
        if change["frequency"] not in FREQUENCIES:
            raise ValueError(f"“{key}”的频次应为：{' / '.join(FREQUENCIES)}")
        cadence = Cadence(
            change["frequency"],
            cadence.day,
            _int(change.get("month_in_quarter", cadence.month_in_quarter), key),
            _int(change.get("month", cadence.month), key),
        )
    updated = replace(activity, cadence=cadence, enabled=bool(change.get("enabled", True)))
    return replace(
        rules, activities=tuple(updated if a.key == key else a for a in rules.activities)
    )


def _int(value: Any, what: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"支部日历设置已损坏（{what}不是整数）") from exc


def _load_push(data: dict[str, Any]) -> PushSettings:
    settings = PushSettings()
    values: dict[str, Any] = {}
    if "enabled" in data:
        values["enabled"] = bool(data["enabled"])
    for name in ("notice_days", "progress_days"):
        if name in data:
            values[name] = _int(data[name], name)
    for name in ("notice_time", "summary_time"):
        if name in data:
            values[name] = parse_time(str(data[name]))
    if "quiet" in data:
        values["quiet_start"], values["quiet_end"] = parse_quiet(str(data["quiet"]))
    if "quiet_on_rest_days" in data:
        values["quiet_on_rest_days"] = bool(data["quiet_on_rest_days"])
    return replace(settings, **values)


def describe(config: BranchCalendar) -> list[str]:
    """The settings in Chinese, one line each, for `zhibu calendar show`."""
    p = config.push
    return [
        f"节假日调整：{config.rules.holiday_shift}",
        *(
            f"{a.key}：{a.cadence.describe()}" + ("" if a.enabled else "（已停用）")
            for a in config.rules.activities
        ),
        "节点日：" + "、".join(f"{n.key} {n.name}" for n in config.rules.node_days if n.enabled),
        f"提醒：{'开启' if p.enabled else '关闭'}；提前 {p.notice_days} 天及当天 {_hm(p.notice_time)} 预告",
        f"总结推送：每月1日 {_hm(p.summary_time)}；序时推进：期末前 {p.progress_days} 天",
        "免打扰："
        + (f"{_hm(p.quiet_start)}-{_hm(p.quiet_end)}" if p.quiet_start != p.quiet_end else "无")
        + ("；休息日不推送" if p.quiet_on_rest_days else "；休息日照常推送"),
    ]
