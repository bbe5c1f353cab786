"""Points (积分制): computed from the ledger under the rules in force, never stored as totals.

A member's year is the list of grounds (依据) the ledger gives, in date order: each attended
meeting kind, each unexcused absence, each study confirmation, each volunteer record and each
manual adjustment. Category and per-kind caps apply cumulatively in that order, so the points of
any month are simply the grounds dated in it. A year's total adds the base score and is held at
the floor; the total of a shorter period (本月) is the points earned in it, without the base.

One branch is computed in a fixed handful of queries whatever its size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from storage import audit, queries
from storage.audit import Actor
from storage.models import (
    ATTEND_ABSENT,
    ATTEND_LATE,
    ATTEND_MAKEUP,
    ATTEND_PRESENT,
    Attendance,
    Branch,
    Meeting,
    MeetingKind,
    Member,
    PointsAdjustment,
    StudyConfirmation,
    StudyTask,
    VolunteerRecord,
)
from storage.periods import Period
from storage.points_rules import (
    ABSENCE,
    ADJUSTMENT,
    CATEGORY_LABELS,
    MEETINGS,
    STUDY,
    VOLUNTEER,
    PointsRules,
    RulesInForce,
    rules_on,
    show,
)

MAX_ADJUSTMENT = Decimal(100)
MAX_REASON = 100
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Ground:
    """One reason for points: category, item, local date, points granted and the basis."""

    category: str
    item: str
    date: date
    points: Decimal
    basis: str

    @property
    def category_label(self) -> str:
        """The category's Chinese name."""
        return CATEGORY_LABELS[self.category]


@dataclass
class MemberPoints:
    """One member's points for a period."""

    member_id: int
    name: str
    active: bool
    base: Decimal
    total: Decimal
    grounds: list[Ground] = field(default_factory=list)

    def by_category(self) -> dict[str, tuple[Decimal, int]]:
        """Category -> (points, number of grounds), in category order, only those present."""
        sums: dict[str, list[Decimal | int]] = {}
        for ground in self.grounds:
            entry = sums.setdefault(ground.category, [Decimal(0), 0])
            entry[0] = Decimal(entry[0]) + ground.points
            entry[1] = int(entry[1]) + 1
        return {c: (Decimal(sums[c][0]), int(sums[c][1])) for c in CATEGORY_LABELS if c in sums}


@dataclass(frozen=True)
class Ranked:
    """A member's place in a ranking; equal totals share a place (1, 2, 2, 4)."""

    rank: int
    tied: bool
    points: MemberPoints


@dataclass
class BranchPoints:
    """Every member's points for a period, under one rule set."""

    branch: Branch
    period: Period
    rules: RulesInForce
    whole_year: bool
    members: list[MemberPoints]

    def of(self, member_id: int) -> MemberPoints | None:
        """One member's points, if the member is part of the result."""
        return next((m for m in self.members if m.member_id == member_id), None)

    def ranking(self) -> list[Ranked]:
        """Active members by total, highest first; ties share a rank, roster order within."""
        active = [m for m in self.members if m.active]
        ordered = sorted(active, key=lambda m: -m.total)
        counts: dict[Decimal, int] = defaultdict(int)
        for m in ordered:
            counts[m.total] += 1
        ranked: list[Ranked] = []
        for position, m in enumerate(ordered, start=1):
            rank = position if not ranked or ranked[-1].points.total != m.total else ranked[-1].rank
            ranked.append(Ranked(rank, counts[m.total] > 1, m))
        return ranked


@dataclass(frozen=True)
class _Raw:
    """A ground before caps: `key` is the per-kind cap key for meetings."""

    date: date
    order: int
    category: str
    item: str
    points: Decimal
    basis: str
    key: str | None = None


def year_of(period: Period) -> Period:
    """The calendar year the period starts in (points reset every 1 January)."""
    year = period.start.year
    return Period(str(year), date(year, 1, 1), date(year + 1, 1, 1), f"{year}年")


def rules_day(period: Period, today: date) -> date:
    """The day whose rules apply to a period: today, or the period's last day if it is over."""
    return min(today, period.end - timedelta(days=1))


def branch_points(
    session: Session,
    branch: Branch,
    period: Period,
    *,
    today: date,
    rules: RulesInForce | None = None,
    member_ids: Collection[int] | None = None,
) -> BranchPoints:
    """Every member's points and grounds for a period within one calendar year (or of given ids)."""
    year = year_of(period)
    if period.end > year.end:
        raise ValueError("a points period lies within one calendar year")
    in_force = rules or rules_on(session, branch.organisation, rules_day(period, today))
    members = _members(session, branch, member_ids)
    span = Period(year.key, year.start, period.end, year.label)
    loaded = _Loader(session, branch, span, None if member_ids is None else list(members))
    raw: dict[int, list[_Raw]] = defaultdict(list)
    only = set(members)
    for source in (
        loaded.meetings(in_force.rules),
        loaded.study(in_force.rules),
        loaded.volunteer(in_force.rules),
        loaded.adjustments(),
    ):
        for member_id, item in source:
            if member_id in only:
                raw[member_id].append(item)
    whole = period.start == year.start and period.end == year.end
    result = []
    for member in members.values():
        grounds = [
            g for g in _apply_caps(in_force.rules, raw[member.id]) if period.contains(g.date)
        ]
        earned = sum((g.points for g in grounds), Decimal(0))
        base = in_force.rules.base if whole else Decimal(0)
        total = max(base + earned, in_force.rules.floor) if whole else earned
        result.append(MemberPoints(member.id, member.name, member.active, base, total, grounds))
    return BranchPoints(branch, period, in_force, whole, result)


def _members(session: Session, branch: Branch, ids: Collection[int] | None) -> dict[int, Member]:
    """The branch's members in roster order (active ones, and inactive ones when asked by id)."""
    query = select(Member).where(Member.branch_id == branch.id).order_by(Member.id)
    if ids is not None:
        query = query.where(Member.id.in_(list(ids)))
    else:
        query = query.where(Member.active.is_(True))
    return {m.id: m for m in session.scalars(query)}


class _Loader:
    """Reads a branch's year of ledger for the points, one query per kind of fact."""

    def __init__(
        self, session: Session, branch: Branch, span: Period, member_ids: list[int] | None
    ) -> None:
        self.session = session
        self.branch = branch
        self.zone = ZoneInfo(branch.timezone)
        self.start, self.end = queries.bounds(span, branch.timezone)
        self.span = span
        self.member_ids = member_ids

    def _of(self, column: InstrumentedAttribute[int]) -> ColumnElement[bool]:
        """Rows of the members asked for (all rows when no ids were given)."""
        return true() if self.member_ids is None else column.in_(self.member_ids)

    def _day(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()

    def meetings(self, rules: PointsRules) -> Iterable[tuple[int, _Raw]]:
        """Attended kinds and unexcused absences, from current attendance rows."""
        sittings = select(Meeting.id).where(
            Meeting.branch_id == self.branch.id,
            Meeting.started_at >= self.start,
            Meeting.started_at < self.end,
        )
        kinds: dict[int, list[str]] = defaultdict(list)
        for meeting_id, kind in self.session.execute(
            select(MeetingKind.meeting_id, MeetingKind.kind)
            .where(MeetingKind.meeting_id.in_(sittings))
            .order_by(MeetingKind.meeting_id, MeetingKind.position)
        ):
            kinds[meeting_id].append(kind)
        before = aliased(Attendance)
        rows = self.session.execute(
            select(
                Attendance.member_id,
                Attendance.status,
                before.status.label("previous"),
                Meeting.id,
                Meeting.started_at,
                Meeting.topic,
            )
            .join(Meeting, Meeting.id == Attendance.meeting_id)
            .outerjoin(before, before.id == Attendance.supersedes_id)
            .where(
                Meeting.id.in_(sittings),
                Attendance.superseded_at.is_(None),
                self._of(Attendance.member_id),
                Attendance.status.in_((ATTEND_PRESENT, ATTEND_LATE, ATTEND_ABSENT, ATTEND_MAKEUP)),
            )
            .order_by(Meeting.started_at, Meeting.id)
        )
        for row in rows:
            label = queries.sitting_label(
                row.started_at, kinds[row.id], row.topic, self.branch.timezone
            )
            day = self._day(row.started_at)
            if row.status in (ATTEND_PRESENT, ATTEND_LATE):
                how = "迟到出席" if row.status == ATTEND_LATE else "出席"
                for kind in kinds[row.id]:
                    points = rules.meeting_points.get(kind, Decimal(0))
                    yield (
                        row.member_id,
                        _Raw(day, row.id, MEETINGS, kind, points, f"{how} {label}", kind),
                    )
                continue
            made_up = row.status == ATTEND_MAKEUP
            if made_up and (row.previous != ATTEND_ABSENT or rules.makeup_cancels_absence):
                continue  # leave then 补课, or an absence the 补课 cancels
            if rules.absence_unexcused == 0:
                continue
            note = "（已补课，按规则仍扣分）" if made_up else ""
            yield (
                row.member_id,
                _Raw(
                    day, row.id, ABSENCE, "无故缺席", rules.absence_unexcused, f"缺席 {label}{note}"
                ),
            )

    def study(self, rules: PointsRules) -> Iterable[tuple[int, _Raw]]:
        """Study confirmations made in the span: on time or late."""
        rows = self.session.execute(
            select(
                StudyConfirmation.member_id,
                StudyConfirmation.late,
                StudyConfirmation.confirmed_at,
                StudyTask.id,
                StudyTask.title,
            )
            .join(StudyTask, StudyTask.id == StudyConfirmation.task_id)
            .where(
                StudyTask.branch_id == self.branch.id,
                self._of(StudyConfirmation.member_id),
                StudyConfirmation.confirmed_at >= self.start,
                StudyConfirmation.confirmed_at < self.end,
            )
            .order_by(StudyConfirmation.confirmed_at, StudyConfirmation.id)
        )
        for row in rows:
            points = rules.study_late if row.late else rules.study_on_time
            basis = "逾期完成学习" if row.late else "按时完成学习"
            yield (
                row.member_id,
                _Raw(self._day(row.confirmed_at), row.id, STUDY, f"《{row.title}》", points, basis),
            )

    def volunteer(self, rules: PointsRules) -> Iterable[tuple[int, _Raw]]:
        """Volunteer records with service dates in the span; the hours cap applies later."""
        rows = self.session.execute(
            select(
                VolunteerRecord.id,
                VolunteerRecord.member_id,
                VolunteerRecord.service_date,
                VolunteerRecord.hours,
                VolunteerRecord.activity,
            )
            .where(
                VolunteerRecord.branch_id == self.branch.id,
                self._of(VolunteerRecord.member_id),
                VolunteerRecord.service_date >= self.span.start,
                VolunteerRecord.service_date < self.span.end,
            )
            .order_by(VolunteerRecord.service_date, VolunteerRecord.id)
        )
        for row in rows:
            hours = Decimal(str(row.hours)).quantize(CENT)  # SQLite keeps NUMERIC as float
            yield (
                row.member_id,
                _Raw(
                    row.service_date,
                    row.id,
                    VOLUNTEER,
                    row.activity or "志愿服务",
                    hours,  # hours for now: turned into points with the yearly hours cap
                    f"{show(hours)} 小时 × {show(rules.volunteer_per_hour)} 分",
                ),
            )

    def adjustments(self) -> Iterable[tuple[int, _Raw]]:
        """Manual adjustments recorded in the span, with their reasons."""
        entered_by = aliased(Member)
        rows = self.session.execute(
            select(
                PointsAdjustment.id,
                PointsAdjustment.member_id,
                PointsAdjustment.points,
                PointsAdjustment.reason,
                PointsAdjustment.recorded_at,
                entered_by.name,
            )
            .outerjoin(entered_by, entered_by.id == PointsAdjustment.recorded_by_member_id)
            .where(
                PointsAdjustment.branch_id == self.branch.id,
                self._of(PointsAdjustment.member_id),
                PointsAdjustment.recorded_at >= self.start,
                PointsAdjustment.recorded_at < self.end,
            )
            .order_by(PointsAdjustment.recorded_at, PointsAdjustment.id)
        )
        for row in rows:
            who = row.name or "管理员"
            yield (
                row.member_id,
                _Raw(
                    self._day(row.recorded_at),
                    row.id,
                    ADJUSTMENT,
                    row.reason,
                    Decimal(str(row.points)).quantize(CENT),
                    f"{who}调整",
                ),
            )


def _apply_caps(rules: PointsRules, items: list[_Raw]) -> list[Ground]:
    """Grant each item its points in date order, within the per-kind, hours and category caps."""
    granted: dict[tuple[str, str, bool], Decimal] = defaultdict(Decimal)
    hours_used = Decimal(0)
    grounds = []
    for item in sorted(items, key=lambda i: (i.date, _RANK[i.category], i.order)):
        points, notes = item.points, []
        if item.category == VOLUNTEER:
            hours = item.points
            if rules.volunteer_max_hours is not None:
                hours = max(Decimal(0), min(hours, rules.volunteer_max_hours - hours_used))
                if hours < item.points:
                    notes.append(f"全年计入上限 {show(rules.volunteer_max_hours)} 小时")
            hours_used += hours
            points = (hours * rules.volunteer_per_hour).quantize(CENT)
        limits = []
        if item.key is not None and item.key in rules.meeting_caps:
            limits.append(("kind", item.key, rules.meeting_caps[item.key], f"{item.key}上限"))
        if item.category in rules.caps:
            label = f"{CATEGORY_LABELS[item.category]}上限"
            limits.append(("category", item.category, rules.caps[item.category], label))
        for scope, key, cap, label in limits:
            sign = points >= 0
            used = granted[(scope, key, sign)]
            allowed = max(Decimal(0), min(abs(points), cap - used))
            if allowed < abs(points):
                notes.append(f"已达{label} {show(cap)} 分")
                points = allowed if sign else -allowed
        for scope, key, _cap, _label in limits:
            granted[(scope, key, points >= 0)] += abs(points)
        basis = item.basis + (f"（{'，'.join(notes)}）" if notes else "")
        grounds.append(Ground(item.category, item.item, item.date, points, basis))
    return grounds


_RANK = {c: i for i, c in enumerate(CATEGORY_LABELS)}


def add_adjustment(
    session: Session,
    actor: Actor,
    *,
    branch_id: int,
    member_id: int,
    points: Decimal,
    reason: str,
) -> PointsAdjustment:
    """Record a manual points adjustment (a ledger entry with its reason) and audit it."""
    if points == 0 or abs(points) > MAX_ADJUSTMENT or points != points.quantize(CENT):
        raise ValueError(f"adjustment {points} outside ±{MAX_ADJUSTMENT} or finer than 0.01")
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON:
        raise ValueError("an adjustment needs a reason of at most 100 characters")
    row = PointsAdjustment(
        branch_id=branch_id,
        member_id=member_id,
        points=points,
        reason=reason,
        recorded_at=actor.at,
        recorded_by_member_id=actor.member_id,
        source_inbox_id=actor.inbox_id,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        branch_id=branch_id,
        action="points_adjust",
        entity="points_adjustment",
        entity_id=row.id,
        member_id=member_id,
        points=str(points),
        reason=reason,
    )
    return row


def signed(value: Decimal) -> str:
    """Points with an explicit sign: +2, −1.5, 0."""
    if value > 0:
        return f"+{show(value)}"
    if value < 0:
        return f"−{show(-value)}"
    return "0"
