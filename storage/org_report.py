"""A work committee's (机关工委) report over all branches of one organisation: completion of the
annual plan's required actions, attendance, study, 补课 closure, volunteer hours and a
先进/中间/落后 grouping (赛马) by the composite score of `storage.org_scoring`.

Everything is read with a handful of queries for the whole organisation (never one per branch
or member). Whether a plan item was held is not decided here: storage knows no plans' rules, so
the caller passes a `PlanCheck` (the CLI wires the in-chat 计划 command's ✓/✗ logic). The stable
JSON form is `storage.org_report_json`, the workbook `storage.org_report_xlsx`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, case, distinct, func, or_, select, union
from sqlalchemy.orm import Session

from storage.models import (
    ATTEND_LATE,
    ATTEND_PRESENT,
    MEETING_CLOSED,
    Attendance,
    Branch,
    LeaveRequest,
    MakeupItem,
    Meeting,
    MeetingAttendee,
    MeetingKind,
    Member,
    StudyConfirmation,
    StudyTask,
    VolunteerRecord,
)
from storage.org_scoring import (
    ATTENDANCE,
    DEFAULT_SCORING,
    GROUPS,
    MAKEUP,
    PLAN,
    STUDY,
    UNRATED,
    VOLUNTEER,
    ReportError,
    Scoring,
    group_of,
    score,
)
from storage.periods import Period

Progress = Callable[[str], None]


# --- facts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sitting:
    """A meeting as a plan check needs it: its kinds, 党小组 and local date."""

    kinds: tuple[str, ...]
    group: str | None
    day: date


@dataclass(frozen=True)
class MissingItem:
    """A plan item due in the period that no recorded meeting satisfied."""

    day: date
    kind: str
    title: str


@dataclass
class PlanCompletion:
    """Required plan items due so far in the period, how many were held, and the others."""

    required: int = 0
    done: int = 0
    missing: list[MissingItem] = field(default_factory=list)


# (session, branches, each branch's sittings of the period, period, as_of) -> branch id: completion
PlanCheck = Callable[
    [Session, Sequence[Branch], Mapping[int, Sequence[Sitting]], Period, date],
    Mapping[int, PlanCompletion],
]


@dataclass
class Figures:
    """The counted figures of one branch or of the whole organisation."""

    branches: int = 0
    members: int = 0
    plan_required: int = 0
    plan_done: int = 0
    meetings: int = 0
    attendance_expected: int = 0
    attendance_present: int = 0
    leave: int = 0
    study_tasks: int = 0
    study_expected: int = 0
    study_done: int = 0
    study_late: int = 0
    makeup_owed: int = 0
    makeup_done: int = 0
    volunteer_hours: Decimal = Decimal(0)
    volunteer_people: int = 0

    def add(self, other: Figures) -> None:
        """Add another branch's figures to these."""
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def rates(self, scoring: Scoring, months: int) -> dict[str, Fraction | None]:
        """Each metric's rate in [0, 1], or None when it has no denominator."""
        target = Fraction(scoring.volunteer_target) * months / 12 * self.members
        volunteer = (
            min(Fraction(1), Fraction(self.volunteer_hours) / target) if self.members else None
        )
        return {
            PLAN: _ratio(self.plan_done, self.plan_required),
            ATTENDANCE: _ratio(self.attendance_present, self.attendance_expected),
            STUDY: _ratio(self.study_done, self.study_expected),
            MAKEUP: _ratio(self.makeup_done, self.makeup_owed),
            VOLUNTEER: volunteer,
        }

    @property
    def hours_per_member(self) -> Fraction | None:
        """Volunteer hours per (active) member."""
        return Fraction(self.volunteer_hours) / self.members if self.members else None


def _ratio(part: int, whole: int) -> Fraction | None:
    return Fraction(part, whole) if whole else None


@dataclass
class BranchReport:
    """One branch's line of the report."""

    branch_id: int
    name: str
    figures: Figures
    plan: PlanCompletion
    rates: dict[str, Fraction | None]
    score: Fraction | None
    group: str
    rank: int = 0


@dataclass
class OrgReport:
    """The whole report: branches in rank order, the totals and the scoring used."""

    organisation: str
    period: Period
    as_of: date
    scoring: Scoring
    branches: list[BranchReport]
    totals: Figures
    total_rates: dict[str, Fraction | None]

    def group_counts(self) -> dict[str, int]:
        """How many branches fall in each group (unrated included)."""
        counts = Counter(b.group for b in self.branches)
        return {g: counts[g] for g in (*GROUPS, UNRATED)}


# --- reading ---------------------------------------------------------------------------------


def build_report(
    session: Session,
    organisation: str,
    period: Period,
    as_of: date,
    plan_check: PlanCheck,
    scoring: Scoring = DEFAULT_SCORING,
    progress: Progress | None = None,
) -> OrgReport:
    """Compute the report of every branch whose organisation is `organisation`."""
    say = progress or (lambda _text: None)
    branches = list(
        session.scalars(
            select(Branch).where(Branch.organisation == organisation).order_by(Branch.name)
        )
    )
    if not branches:
        raise ReportError(f"没有属于“{organisation}”的支部（按支部的所属组织匹配，区分全称）")
    say(f"{organisation}：{len(branches)} 个支部")
    reader = _Reader(session, organisation, branches, period)
    figures = {b.id: Figures(branches=1) for b in branches}
    say("读取党员…")
    reader.members(figures)
    say("读取会议与出勤…")
    sittings = reader.meetings(figures)
    say("读取补课、学习、志愿服务与请假…")
    reader.makeups(figures)
    reader.study(figures)
    reader.volunteer(figures)
    reader.leave(figures)
    say("核对年度计划…")
    plans = plan_check(session, branches, sittings, period, as_of)
    months = period.months
    lines: list[BranchReport] = []
    totals = Figures()
    for branch in branches:
        found = figures[branch.id]
        plan = plans.get(branch.id, PlanCompletion())
        found.plan_required, found.plan_done = plan.required, plan.done
        rates = found.rates(scoring, months)
        value = score(rates, scoring)
        lines.append(
            BranchReport(
                branch.id, branch.name, found, plan, rates, value, group_of(value, scoring)
            )
        )
        totals.add(found)
    _rank(lines)
    return OrgReport(
        organisation,
        period,
        as_of,
        scoring,
        lines,
        totals,
        totals.rates(scoring, months),
    )


def _rank(lines: list[BranchReport]) -> None:
    """Sort best first (unrated last, ties by name) and number them; equal scores share a rank."""
    lines.sort(key=lambda b: (b.score is None, -(b.score or 0), b.name))
    previous: Fraction | None = None
    for position, line in enumerate(lines, start=1):
        if line.score is None or line.score != previous:
            line.rank = position
        else:
            line.rank = lines[position - 2].rank
        previous = line.score


class _Reader:
    """The organisation's facts, one query per kind of fact for all of its branches."""

    def __init__(
        self, session: Session, organisation: str, branches: Sequence[Branch], period: Period
    ) -> None:
        self.connection = session.connection()
        self.period = period
        self.in_org = select(Branch.id).where(Branch.organisation == organisation)
        self.bounds = {
            b.id: (
                datetime.combine(period.start, time(0), ZoneInfo(b.timezone)),
                datetime.combine(period.end, time(0), ZoneInfo(b.timezone)),
            )
            for b in branches
        }
        self.zones = {b.id: ZoneInfo(b.timezone) for b in branches}
        # Wide enough for any time zone; each branch's own bounds are applied in Python.
        self.low = datetime.combine(period.start - timedelta(days=1), time(0), UTC)
        self.high = datetime.combine(period.end + timedelta(days=1), time(0), UTC)
        self.meeting_branch: dict[int, int] = {}

    def _inside(self, branch_id: int, moment: datetime) -> bool:
        start, end = self.bounds[branch_id]
        return start <= moment < end

    def _candidate_meetings(self) -> Select[int]:
        """Ids of the organisation's meetings in the wide bounds (a subquery)."""
        return select(Meeting.id).where(
            Meeting.branch_id.in_(self.in_org),
            Meeting.started_at >= self.low,
            Meeting.started_at < self.high,
        )

    def members(self, figures: dict[int, Figures]) -> None:
        """Active members per branch."""
        for branch_id, count in self.connection.execute(
            select(Member.branch_id, func.count())
            .where(Member.branch_id.in_(self.in_org), Member.active.is_(True))
            .group_by(Member.branch_id)
        ):
            figures[branch_id].members = int(count)

    def meetings(self, figures: dict[int, Figures]) -> dict[int, list[Sitting]]:
        """Meetings, 应到 and 实到 of closed ones; each branch's sittings for the plan check."""
        rows: dict[int, tuple[int, str | None, datetime, str]] = {}
        kinds: dict[int, list[str]] = defaultdict(list)
        for row in self.connection.execute(
            select(
                Meeting.id,
                Meeting.branch_id,
                Meeting.party_group,
                Meeting.started_at,
                Meeting.status,
                MeetingKind.kind,
            )
            .outerjoin(MeetingKind, MeetingKind.meeting_id == Meeting.id)
            .where(Meeting.id.in_(self._candidate_meetings()))
            .order_by(Meeting.started_at, Meeting.id, MeetingKind.position)
        ):
            if not self._inside(row.branch_id, row.started_at):
                continue
            rows[row.id] = (row.branch_id, row.party_group, row.started_at, row.status)
            if row.kind:
                kinds[row.id].append(row.kind)
        sittings: dict[int, list[Sitting]] = defaultdict(list)
        closed: set[int] = set()
        for meeting_id, (branch_id, group, started, status) in rows.items():
            self.meeting_branch[meeting_id] = branch_id
            figures[branch_id].meetings += 1
            local = started.astimezone(self.zones[branch_id]).date()
            sittings[branch_id].append(Sitting(tuple(kinds[meeting_id]), group, local))
            if status == MEETING_CLOSED:
                closed.add(meeting_id)
        # 应到: expected members plus anyone with a current record; 实到: present or late now.
        people = union(
            select(MeetingAttendee.meeting_id, MeetingAttendee.member_id).where(
                MeetingAttendee.meeting_id.in_(self._candidate_meetings())
            ),
            select(Attendance.meeting_id, Attendance.member_id).where(
                Attendance.meeting_id.in_(self._candidate_meetings()),
                Attendance.superseded_at.is_(None),
            ),
        ).subquery()
        for meeting_id, count in self.connection.execute(
            select(people.c.meeting_id, func.count(distinct(people.c.member_id))).group_by(
                people.c.meeting_id
            )
        ):
            if meeting_id in closed:
                figures[self.meeting_branch[meeting_id]].attendance_expected += int(count)
        for meeting_id, count in self.connection.execute(
            select(Attendance.meeting_id, func.count())
            .where(
                Attendance.meeting_id.in_(self._candidate_meetings()),
                Attendance.superseded_at.is_(None),
                Attendance.status.in_((ATTEND_PRESENT, ATTEND_LATE)),
            )
            .group_by(Attendance.meeting_id)
        ):
            if meeting_id in closed:
                figures[self.meeting_branch[meeting_id]].attendance_present += int(count)
        return sittings

    def makeups(self, figures: dict[int, Figures]) -> None:
        """补课 owed for the period's meetings (cancelled ones excluded) and how many are done."""
        for meeting_id, owed, done in self.connection.execute(
            select(MakeupItem.meeting_id, func.count(), func.count(MakeupItem.done_at))
            .where(
                MakeupItem.meeting_id.in_(self._candidate_meetings()),
                MakeupItem.cancelled_at.is_(None),
            )
            .group_by(MakeupItem.meeting_id)
        ):
            branch_id = self.meeting_branch.get(meeting_id)
            if branch_id is not None:
                figures[branch_id].makeup_owed += int(owed)
                figures[branch_id].makeup_done += int(done)

    def study(self, figures: dict[int, Figures]) -> None:
        """Tasks published in the period: 应学 = active roster plus anyone else who confirmed."""
        confirmed = StudyConfirmation.id.is_not(None)
        outsider = or_(Member.active.is_(False), Member.branch_id != StudyTask.branch_id)
        for row in self.connection.execute(
            select(
                StudyTask.branch_id,
                StudyTask.published_at,
                func.count(StudyConfirmation.id).label("done"),
                func.sum(
                    case((and_(confirmed, StudyConfirmation.late.is_(True)), 1), else_=0)
                ).label("late"),
                func.sum(case((and_(confirmed, outsider), 1), else_=0)).label("outsiders"),
            )
            .outerjoin(StudyConfirmation, StudyConfirmation.task_id == StudyTask.id)
            .outerjoin(Member, Member.id == StudyConfirmation.member_id)
            .where(
                StudyTask.branch_id.in_(self.in_org),
                StudyTask.published_at >= self.low,
                StudyTask.published_at < self.high,
            )
            .group_by(StudyTask.id, StudyTask.branch_id, StudyTask.published_at)
        ):
            if not self._inside(row.branch_id, row.published_at):
                continue
            found = figures[row.branch_id]
            found.study_tasks += 1
            found.study_done += int(row.done)
            found.study_late += int(row.late or 0)
            found.study_expected += found.members + int(row.outsiders or 0)

    def volunteer(self, figures: dict[int, Figures]) -> None:
        """Volunteer hours and people per branch (by service date)."""
        for branch_id, hours, people in self.connection.execute(
            select(
                VolunteerRecord.branch_id,
                func.sum(VolunteerRecord.hours),
                func.count(distinct(VolunteerRecord.member_id)),
            )
            .where(
                VolunteerRecord.branch_id.in_(self.in_org),
                VolunteerRecord.service_date >= self.period.start,
                VolunteerRecord.service_date < self.period.end,
            )
            .group_by(VolunteerRecord.branch_id)
        ):
            figures[branch_id].volunteer_hours = Decimal(str(hours or 0)).quantize(Decimal("0.01"))
            figures[branch_id].volunteer_people = int(people)

    def leave(self, figures: dict[int, Figures]) -> None:
        """请假 requests made in the period, per branch."""
        for branch_id, requested in self.connection.execute(
            select(LeaveRequest.branch_id, LeaveRequest.requested_at).where(
                LeaveRequest.branch_id.in_(self.in_org),
                LeaveRequest.requested_at >= self.low,
                LeaveRequest.requested_at < self.high,
            )
        ):
            if self._inside(branch_id, requested):
                figures[branch_id].leave += 1
