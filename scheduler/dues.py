"""What the calendar asks to be sent, and when: reminders before the ledger is consulted.

`calendar_dues` turns a branch's plan items, study deadlines and settings into `Due` entries in
a window. It is pure (no database, no clock), so the scheduler's tick, `zhibu reminders
preview` and the tests all use exactly the same rules. Whether a due entry becomes a message
(a meeting not held yet, someone not yet confirmed) is decided later, from the ledger
(`scheduler.compose`).

Rules (times are the branch's local time; every time is then moved out of quiet hours and rest
days by `PushSettings.place`, "before" for advance notices, "after" for follow-ups):
- notice: `notice_days` before each meeting item (and 谈心谈话) at `notice_time`;
- day_of: the item's day at `notice_time`;
- party_fee: the 党费 item's day at `notice_time`;
- node_prepare: a node day's preparation day (about two weeks ahead) at `notice_time`, to the 支委;
  node_eve: the day before a node day, to everyone;
- progress (序时推进): `progress_days` before the last day of each month / quarter / year that plans
  a meeting kind, when it has not been held as often as planned;
- gap: the first day of a quarter, the previous quarter's missing items;
- study: the day before a study task's deadline, to those who have not confirmed;
- makeup: the first working day of each week, to those who still owe a 补课;
- summary: the 1st of each month at `summary_time` (月总结), quarter (季讲评), half-year (半年总结).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from handlers.parsing.model import MEETING_KINDS  # the kinds the ledger records
from scheduler.branch_config import BranchCalendar
from scheduler.plan import NODE_DAY, PlanItem, prepare_day
from scheduler.push import Placement
from storage.periods import Period, resolve

GROUP_KIND = "党小组会"
PARTY_FEE = "党费"
TALKS = "谈心谈话"
# How long after its time a reminder is still worth sending (a bot that was down catches up).
GRACE = {
    "notice": timedelta(days=2),
    "day_of": timedelta(hours=6),
    "party_fee": timedelta(days=2),
    "node_prepare": timedelta(days=3),
    "node_eve": timedelta(hours=12),
    "progress": timedelta(days=2),
    "gap": timedelta(days=3),
    "study": timedelta(hours=12),
    "makeup": timedelta(days=2),
    "summary": timedelta(days=3),
}
MAX_GRACE = max(GRACE.values())
# A due entry never moves further than this from its nominal time (rest days, quiet hours).
_MAX_MOVE = timedelta(days=12)


@dataclass(frozen=True)
class StudyDeadline:
    """A study task with a deadline, as the calendar needs it."""

    task_id: int
    title: str
    deadline: date


@dataclass(frozen=True)
class Due:
    """One reminder the calendar asks for."""

    at: datetime  # when it goes out: local, aware, outside quiet hours and rest days
    nominal: datetime  # when the rule put it, before moving
    rule: str
    kind: str  # canonical meeting kind, or summary / study / gap / node_day / party_fee
    subject: str  # what it is about, stable across runs (part of the outbox key)
    item: PlanItem | None = None
    period: Period | None = None
    task: StudyDeadline | None = None
    scope: str = ""  # summaries: month / quarter / half
    group: str | None = None  # 序时推进 of a 党小组会: which 党小组

    @property
    def grace(self) -> timedelta:
        """How long after `at` the reminder is still worth sending."""
        return GRACE[self.rule]

    def stale(self, now: datetime) -> bool:
        """True when it is too late to send this reminder."""
        return now > self.at + self.grace


def _at(day: date, moment: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, moment, zone)


class _Builder:
    def __init__(self, config: BranchCalendar, zone: ZoneInfo) -> None:
        self.config = config
        self.push = config.push
        self.zone = zone
        self.found: list[Due] = []

    def add(
        self,
        day: date,
        moment: time,
        placement: Placement,
        rule: str,
        kind: str,
        subject: str,
        **extra: object,
    ) -> None:
        nominal = _at(day, moment, self.zone)
        at = self.push.place(nominal, placement)
        self.found.append(
            Due(at, nominal, rule, kind, subject, **extra)  # type: ignore[arg-type]
        )


def _item_subject(item: PlanItem) -> str:
    return f"{item.date.isoformat()}|{item.kind}|{item.group or ''}|{item.title}"


def _periods(first: date, last: date, months: int) -> list[Period]:
    """The calendar periods of `months` months (1, 3, 6 or 12) overlapping [first, last]."""
    found: list[Period] = []
    year, month = first.year, ((first.month - 1) // months) * months + 1
    while date(year, month, 1) <= last:
        if months == 1:
            found.append(resolve(f"{year}-{month:02d}", first))
        elif months == 3:
            found.append(resolve(f"{year}-Q{(month - 1) // 3 + 1}", first))
        elif months == 12:
            found.append(resolve(f"{year}", first))
        else:
            end = date(year + 1, 1, 1) if month == 7 else date(year, 7, 1)
            label = f"{year}年{'上' if month == 1 else '下'}半年"
            found.append(
                Period(f"{year}-H{1 if month == 1 else 2}", date(year, month, 1), end, label)
            )
        month += months
        if month > 12:
            year, month = year + 1, month - 12
    return found


@lru_cache(maxsize=4096)
def period_of(day: date, months: int) -> Period:
    """The month (1), quarter (3) or year (12) a date falls in."""
    if months == 1:
        return resolve(f"{day.year}-{day.month:02d}", day)
    if months == 3:
        return resolve(f"{day.year}-Q{(day.month - 1) // 3 + 1}", day)
    return resolve(f"{day.year}", day)


def frequency_of(config: BranchCalendar, kind: str) -> int:
    """Months per period in which a meeting kind is required (1, 3 or 12)."""
    for activity in config.rules.activities:
        if activity.kind == kind:
            return {"monthly": 1, "quarterly": 3, "yearly": 12}[activity.cadence.frequency]
    return 12


def calendar_dues(
    config: BranchCalendar,
    zone: ZoneInfo,
    items: Sequence[PlanItem],
    deadlines: Iterable[StudyDeadline],
    start: datetime,
    end: datetime,
) -> list[Due]:
    """Every reminder that goes out in [start, end) by the calendar alone, in time order.

    The parts that depend only on the settings (and the plan) are computed per calendar span
    and remembered, so branches that share rules share the work, and a scheduler ticking every
    minute of a day recomputes nothing.
    """
    if not config.push.enabled:
        return []
    first = (start - _MAX_MOVE).astimezone(zone).date()
    last = (end + _MAX_MOVE).astimezone(zone).date()
    groups = tuple(sorted({i.group for i in items if i.kind == GROUP_KIND and i.group}))
    found = [
        *_item_dues(config, zone, tuple(items), first, last),
        *_structural_dues(config, zone, groups, first, last),
        *_deadline_dues(config, zone, tuple(deadlines), first, last),
    ]
    wanted = [d for d in found if start <= d.at < end]
    return sorted(wanted, key=lambda d: (d.at, d.rule, d.subject))


@lru_cache(maxsize=4096)
def _item_dues(
    config: BranchCalendar,
    zone: ZoneInfo,
    items: tuple[PlanItem, ...],
    first: date,
    last: date,
) -> tuple[Due, ...]:
    """Notices, day-of, 党费 and node-day reminders of the plan items near [first, last]."""
    build = _Builder(config, zone)
    push = config.push
    horizon = timedelta(days=push.notice_days + config.rules.prepare_days_before + 14)
    for item in items:
        if not (first - horizon <= item.date <= last + horizon):
            continue
        subject = _item_subject(item)
        if item.kind in MEETING_KINDS or item.kind == TALKS:
            if push.notice_days:
                day = item.date - timedelta(days=push.notice_days)
                build.add(day, push.notice_time, "before", "notice", item.kind, subject, item=item)
            build.add(
                item.date, push.notice_time, "before", "day_of", item.kind, subject, item=item
            )
        elif item.kind == PARTY_FEE:
            build.add(
                item.date, push.notice_time, "after", "party_fee", "party_fee", subject, item=item
            )
        elif item.kind == NODE_DAY:
            prepare = item.prepare_on or prepare_day(item.date, config.rules.prepare_days_before)
            build.add(
                prepare, push.notice_time, "before", "node_prepare", NODE_DAY, subject, item=item
            )
            build.add(
                item.date - timedelta(days=1),
                push.notice_time,
                "before",
                "node_eve",
                NODE_DAY,
                subject,
                item=item,
            )
    return tuple(build.found)


@lru_cache(maxsize=1024)
def _structural_dues(
    config: BranchCalendar, zone: ZoneInfo, groups: tuple[str, ...], first: date, last: date
) -> tuple[Due, ...]:
    """序时推进, gap reviews, weekly 补课 and summaries: by the calendar's periods alone."""
    build = _Builder(config, zone)
    push = config.push
    _progress(build, config, groups, first, last)
    for period in _periods(first - timedelta(days=92), last, 3):
        build.add(period.end, push.notice_time, "after", "gap", "gap", period.key, period=period)
    monday = first - timedelta(days=first.weekday())
    while monday <= last:
        # The week's first day open for pushes; a week of holidays gets no 补课 reminder.
        week = (monday + timedelta(days=n) for n in range(7))
        opening = next((d for d in week if push.open_day(d)), None)
        if opening is not None:
            subject = f"week-{monday.isoformat()}"
            build.add(opening, push.notice_time, "after", "makeup", "study", subject)
        monday += timedelta(days=7)
    for months, scope in ((1, "month"), (3, "quarter"), (6, "half")):
        for period in _periods(first - timedelta(days=190), last, months):
            build.add(
                period.end,
                push.summary_time,
                "after",
                "summary",
                "summary",
                f"{scope}-{period.key}",
                period=period,
                scope=scope,
            )
    return tuple(build.found)


def _deadline_dues(
    config: BranchCalendar,
    zone: ZoneInfo,
    deadlines: tuple[StudyDeadline, ...],
    first: date,
    last: date,
) -> list[Due]:
    build = _Builder(config, zone)
    for task in deadlines:
        if first <= task.deadline <= last + timedelta(days=1):
            build.add(
                task.deadline - timedelta(days=1),
                config.push.notice_time,
                "before",
                "study",
                "study",
                f"task-{task.task_id}",
                task=task,
            )
    return build.found


def _progress(
    build: _Builder,
    config: BranchCalendar,
    groups: tuple[str, ...],
    first: date,
    last: date,
) -> None:
    """序时推进: one check per required meeting kind (per 党小组) and period.

    Whether the period plans that kind at all is left to `compose`, which reads the whole
    period's plan; here only the checks that fall in the window are laid out.
    """
    kinds = dict.fromkeys(
        a.kind for a in config.rules.activities if a.enabled and a.kind in MEETING_KINDS
    )
    for kind in kinds:
        months = frequency_of(config, kind)
        for period in _periods(first, last + timedelta(days=31), months):
            day = period.end - timedelta(days=1 + build.push.progress_days)
            for group in groups if kind == GROUP_KIND else [None]:
                build.add(
                    day,
                    build.push.notice_time,
                    "before",
                    "progress",
                    kind,
                    f"{kind}|{group or ''}|{period.key}",
                    period=period,
                    group=group,
                )


def planned_in(items: Iterable[PlanItem], period: Period) -> list[PlanItem]:
    """The plan's meeting items that fall in a period."""
    return [i for i in items if i.kind in MEETING_KINDS and period.contains(i.date)]
