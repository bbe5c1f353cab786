"""Turn a due reminder into the message to send, from the ledger as it stands (or into nothing).

The ledger is read through the small `Ledger` protocol, so the wording and the conditions (a
meeting already held, everybody already confirmed) are decided by the same code for the tick,
the preview and the tests.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Protocol

from handlers.parsing.model import MEETING_KINDS
from scheduler.branch_config import BranchCalendar
from scheduler.dues import Due, frequency_of, period_of, planned_in
from scheduler.plan import PlanItem
from storage.attachments import chart_recipe, percent
from storage.periods import Period, resolve

WEEKDAYS = "一二三四五六日"
COMMITTEE_KIND = "支部委员会"
GROUP_KIND = "党小组会"
SCOPE_NAMES = {"month": "月总结", "quarter": "季讲评", "half": "半年总结"}
MAX_NAMES = 30  # longer lists are cut with “等N人”


@dataclass(frozen=True)
class Person:
    """An active member as reminders need them."""

    id: int
    name: str
    title: str
    party_group: str | None
    secretary: bool

    @property
    def committee(self) -> bool:
        """True for 支委 (书记, 副书记 and the 委员 titles)."""
        return "书记" in self.title or "委员" in self.title


@dataclass(frozen=True)
class Sitting:
    """A recorded meeting: its kinds (merged meetings have several), 党小组 and local date."""

    kinds: frozenset[str]
    group: str | None
    day: date


@dataclass
class Summary:
    """What a period summary reports."""

    attendance: dict[str, tuple[int, int]] = field(default_factory=dict)  # kind: (实到, 应到)
    meetings: dict[str, int] = field(default_factory=dict)
    study_tasks: int = 0
    study_done: int = 0
    study_expected: int = 0
    volunteer_hours: Decimal = Decimal(0)
    volunteer_people: int = 0
    makeups: list[tuple[str, str]] = field(default_factory=list)  # (name, meeting label)


class Ledger(Protocol):
    """What reminders read from one branch's ledger."""

    def members(self) -> Sequence[Person]:
        """The branch's active members in roster order."""
        ...

    def sittings(self, period: Period) -> Sequence[Sitting]:
        """Meetings opened in the period."""
        ...

    def unconfirmed(self, task_id: int) -> Sequence[int]:
        """Ids of active members who have not confirmed a study task."""
        ...

    def open_makeups(self) -> Sequence[tuple[int, str]]:
        """(member id, meeting label) of every 补课 still owed."""
        ...

    def summary(self, period: Period) -> Summary:
        """The numbers of a period."""
        ...

    def plan(self, period: Period) -> Sequence[PlanItem]:
        """The branch's plan items in a period (its stored plan, else its rules')."""
        ...


@dataclass(frozen=True)
class Draft:
    """A reminder's text, whom it @-mentions, and an attachment recipe (a chart) if any."""

    text: str
    mention_member_ids: tuple[int, ...] = ()
    attachment: dict[str, object] | None = None


def _day(value: date) -> str:
    return f"{value.month}月{value.day}日（周{WEEKDAYS[value.weekday()]}）"


def _names(names: Sequence[str]) -> str:
    shown = list(names[:MAX_NAMES])
    more = f"等{len(names)}人" if len(names) > MAX_NAMES else ""
    return "、".join(shown) + more


def audience(item: PlanItem, people: Sequence[Person]) -> tuple[list[Person], str]:
    """Who must attend a plan item, and how to address them."""
    if item.kind in (COMMITTEE_KIND, "谈心谈话"):
        committee = [p for p in people if p.committee]
        if committee:
            return committee, "各位支委"
    if item.kind == GROUP_KIND and item.group:
        group = [p for p in people if p.party_group == item.group]
        if group:
            return group, f"{item.group}各位党员"
    return list(people), "全体党员"


def held_count(kind: str, group: str | None, sittings: Sequence[Sitting]) -> int:
    """How many sittings count for a kind (merged sittings count for each of their kinds)."""
    return sum(
        1
        for s in sittings
        if kind in s.kinds
        and (kind != GROUP_KIND or s.group is None or group is None or s.group == group)
    )


def _period_word(period: Period) -> tuple[str, str]:
    months = (period.end.year - period.start.year) * 12 + period.end.month - period.start.month
    return {1: ("本月", "月底"), 3: ("本季度", "季度末"), 12: ("今年", "年底")}.get(
        months, ("本期", "期末")
    )


def compose(
    due: Due, config: BranchCalendar, ledger: Ledger, today: date | None = None
) -> Draft | None:
    """The message for a due reminder, or None when there is nothing to say.

    `today` is the local date it is sent on (later than planned when catching up); counts
    such as “3天后” are worked out from it.
    """
    today = today or due.at.date()
    rule = due.rule
    if rule in ("notice", "day_of") and due.item is not None:
        return _notice(due, due.item, ledger, today)
    if rule == "party_fee" and due.item is not None:
        return Draft(
            f"💰 党费收缴提醒：请各位党员按时交纳{due.item.date.month}月党费"
            "（预备党员自批准之日起交纳）。如有特殊情况请与支部联系。"
        )
    if rule == "node_prepare" and due.item is not None:
        item = due.item
        committee = [p for p in ledger.members() if p.committee]
        return Draft(
            f"🗓 节点日筹备：{_day(item.date)}是{item.title}。{_theme(item)}"
            "请支委会提前研究活动安排。",
            tuple(p.id for p in committee),
        )
    if rule == "node_eve" and due.item is not None:
        return Draft(f"🔔 明天（{_day(due.item.date)}）是{due.item.title}。{_theme(due.item)}")
    if rule == "progress" and due.period is not None:
        return _progress(due, due.period, ledger, today)
    if rule == "gap" and due.period is not None:
        return _gap(due.period, config, ledger)
    if rule == "study" and due.task is not None:
        return _study(due, ledger)
    if rule == "makeup":
        return _makeups(ledger)
    if rule == "summary" and due.period is not None:
        return _summary(due, config, ledger)
    return None


def _theme(item: PlanItem) -> str:
    theme = item.note.split("；")[0] if item.note else ""
    return f"{theme}。" if theme.startswith("建议主题") else ""


def _notice(due: Due, item: PlanItem, ledger: Ledger, today: date) -> Draft | None:
    people, address = audience(item, ledger.members())
    if due.rule == "notice":
        days = (item.date - today).days
        when = f"{_day(item.date)}（{days}天后）" if days > 0 else _day(item.date)
        text = f"📅 会议预告：{when}召开{item.title}，请{address}提前安排好时间。"
    else:
        text = f"📣 今天（{_day(item.date)}）召开{item.title}，请{address}准时参加，到会后回复「签到」。"
    if item.note and "建议主题" in item.note:
        text += f"\n{item.note.split('；')[0]}"
    return Draft(text, tuple(p.id for p in people))


def _secretaries(ledger: Ledger) -> tuple[int, ...]:
    return tuple(p.id for p in ledger.members() if p.secretary)


def _progress(due: Due, period: Period, ledger: Ledger, today: date) -> Draft | None:
    kind, group = due.kind, due.group
    planned = [
        i for i in planned_in(ledger.plan(period), period) if i.kind == kind and i.group == group
    ]
    held = held_count(kind, group, ledger.sittings(period))
    if not planned or held >= len(planned):
        return None
    this, end_word = _period_word(period)
    left = (period.end - timedelta(days=1) - today).days
    name = f"{group}{kind}" if group else kind
    status = "尚未召开" if held == 0 else f"计划{len(planned)}次，已召开{held}次"
    return Draft(
        f"⏳ 序时推进：{this}{name}{status}，距{end_word}还有{left}天，请及早安排。",
        _secretaries(ledger),
    )


def missing_items(period: Period, config: BranchCalendar, ledger: Ledger) -> list[str]:
    """The planned meetings of a period that the ledger does not show as held, in plan order."""
    missing: list[str] = []
    checked: set[tuple[str, str, str]] = set()
    planned_by_scope: dict[str, Counter[tuple[str, str | None]]] = {}
    for item in planned_in(ledger.plan(period), period):
        months = frequency_of(config, item.kind)
        scope = period_of(item.date, months)
        key = (item.kind, item.group or "", scope.key)
        if key in checked:
            continue
        checked.add(key)
        if scope.key not in planned_by_scope:
            planned_by_scope[scope.key] = Counter(
                (i.kind, i.group) for i in planned_in(ledger.plan(scope), scope)
            )
        planned = planned_by_scope[scope.key][(item.kind, item.group)]
        held = held_count(item.kind, item.group, ledger.sittings(scope))
        if held < planned:
            name = f"{item.group}{item.kind}" if item.group else item.kind
            where = f"{item.date.month}月" if months == 1 else ""
            short = planned - held
            missing.append(f"{where}{name}" + (f"（缺{short}次）" if short > 1 else ""))
    return missing


def _gap(period: Period, config: BranchCalendar, ledger: Ledger) -> Draft | None:
    missing = missing_items(period, config, ledger)
    if not missing:
        return None
    return Draft(
        f"⚠️ {period.label}缺项：{'、'.join(missing)}。请支委会研究补开或作出说明，并在台账中记录。",
        _secretaries(ledger),
    )


def _study(due: Due, ledger: Ledger) -> Draft | None:
    task = due.task
    assert task is not None
    waiting = set(ledger.unconfirmed(task.task_id))
    people = [p for p in ledger.members() if p.id in waiting]
    if not people:
        return None
    return Draft(
        f"📚 学习提醒：《{task.title}》{_day(task.deadline)}截止，"
        f"还有{len(people)}位同志未确认：{_names([p.name for p in people])}。"
        "学习后请回复「已学习」。",
        tuple(p.id for p in people),
    )


def _makeups(ledger: Ledger) -> Draft | None:
    owed = ledger.open_makeups()
    if not owed:
        return None
    names = {p.id: p.name for p in ledger.members()}
    by_member: dict[int, list[str]] = {}
    for member_id, label in owed:
        if member_id in names:
            by_member.setdefault(member_id, []).append(label)
    if not by_member:
        return None
    lines = [f"{names[m]}：{'；'.join(labels)}" for m, labels in by_member.items()]
    return Draft(
        "📝 补课提醒：以下同志还有会议待补课，请尽快补学并告知书记登记（补录 姓名 补课）。\n"
        + "\n".join(lines[:MAX_NAMES])
        + (f"\n……等{len(lines)}人" if len(lines) > MAX_NAMES else ""),
        tuple(by_member),
    )


def _rate(done: int, total: int) -> str:
    return f"{done * 100 / total:.0f}%" if total else "—"


def year_to_date(period: Period, ledger: Ledger) -> dict[str, object] | None:
    """A chart recipe: attendance and study completion for each month of the period's year up
    to its end. The outbox row carries these few numbers, not the PNG: drawing takes
    milliseconds at send time, keeps rows small, and the image matches the text exactly.
    None when the period spans two years or there is nothing to draw."""
    last = period.end - timedelta(days=1)
    if last.year != period.start.year:
        return None
    months = list(range(1, last.month + 1))
    attendance: list[int | None] = []
    study: list[int | None] = []
    for month in months:
        facts = ledger.summary(resolve(f"{last.year:04d}-{month:02d}", last))
        came = sum(c for c, _ in facts.attendance.values())
        expected = sum(e for _, e in facts.attendance.values())
        attendance.append(percent(came, expected))
        study.append(percent(facts.study_done, facts.study_expected))
    if all(v is None for v in attendance + study):
        return None
    return chart_recipe(last.year, months, attendance, study).as_dict()


def _summary(due: Due, config: BranchCalendar, ledger: Ledger) -> Draft:
    period = due.period
    assert period is not None
    facts = ledger.summary(period)
    title = SCOPE_NAMES.get(due.scope, "总结")
    lines = [f"📊 {period.label}{title}"]
    if facts.meetings:
        parts = []
        for kind in MEETING_KINDS:
            if kind in facts.meetings:
                came, expected = facts.attendance.get(kind, (0, 0))
                parts.append(f"{kind}{facts.meetings[kind]}次（出勤率{_rate(came, expected)}）")
        lines.append("会议：" + "，".join(parts))
    else:
        lines.append("会议：本期没有会议记录")
    lines.append(
        f"学习：{facts.study_tasks}项任务，完成率{_rate(facts.study_done, facts.study_expected)}"
    )
    hours = f"{facts.volunteer_hours.normalize():f}" if facts.volunteer_hours else "0"
    lines.append(f"志愿服务：{facts.volunteer_people}人，共{hours}小时")
    missing = missing_items(period, config, ledger)
    lines.append("缺项：" + ("、".join(missing) if missing else "无"))
    if facts.makeups:
        owed = [f"{name}（{label}）" for name, label in facts.makeups]
        lines.append(f"待补课：{_names(owed)}")
    chart = year_to_date(period, ledger)
    if chart is not None:
        last = period.end - timedelta(days=1)
        lines.append(
            f"📈 附图（平台支持图片时）：{last.year}年1–{last.month}月，"
            "蓝柱为会议出勤率，橙线为学习完成率"
        )
    return Draft("\n".join(lines), attachment=chart)
