"""A work committee's (机关工委) report over all branches of one organisation: completion of the
annual plan's required actions, attendance, study, 补课 closure, volunteer hours and a
先进/中间/落后 grouping (赛马) by a composite score.

Everything is read with a handful of queries for the whole organisation (never one per branch
or member). Whether a plan item was held is not decided here: storage knows no plans' rules, so
the caller passes a `PlanCheck` (the CLI wires the in-chat 计划 command's ✓/✗ logic).

Score (0–100): a weighted mean of five rates, each between 0 and 1 —
规定动作 (plan items due by the report date that were held), 出勤率 (实到/应到 of closed
meetings), 学习完成率 (confirmations / expected), 补课完结率 (made up / owed) and 志愿服务
(hours per member against a yearly target pro-rated to the period, capped at 1). A rate without
a denominator (no 补课 owed, no study task) is left out and the other weights count in
proportion. Score ≥ 先进 threshold: 先进; score < 落后 threshold: 落后; otherwise 中间.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import yaml
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
from storage.periods import Period, resolve

SCHEMA_VERSION = 1

PLAN, ATTENDANCE, STUDY, MAKEUP, VOLUNTEER = "plan", "attendance", "study", "makeup", "volunteer"
METRICS = (PLAN, ATTENDANCE, STUDY, MAKEUP, VOLUNTEER)
METRIC_NAMES = {
    PLAN: "规定动作",
    ATTENDANCE: "出勤率",
    STUDY: "学习完成率",
    MAKEUP: "补课完结率",
    VOLUNTEER: "志愿服务",
}
ADVANCED, MIDDLE, LAGGING = "advanced", "middle", "lagging"
GROUPS = (ADVANCED, MIDDLE, LAGGING)
GROUP_NAMES = {ADVANCED: "先进", MIDDLE: "中间", LAGGING: "落后"}
UNRATED = "unrated"  # no rate had a denominator (e.g. a period with nothing due yet)

KEY_WEIGHTS, KEY_TARGET, KEY_ADVANCED, KEY_LAGGING = "权重", "志愿服务目标", "先进", "落后"
SCORING_KEYS = (KEY_WEIGHTS, KEY_TARGET, KEY_ADVANCED, KEY_LAGGING)

_HALF = re.compile(r"^(\d{4})-H([12])$", re.IGNORECASE)
PERIOD_HINT = "2026、2026-H2、2026-Q4、2026-10、this_month、last_month、this_quarter、this_year"

Progress = Callable[[str], None]


class ReportError(ValueError):
    """A report cannot be made as asked; the message is Chinese and meant for the user."""


@dataclass(frozen=True)
class Scoring:
    """Weights of the five rates, the volunteer target and the grouping thresholds (0–100)."""

    weights: Mapping[str, Decimal]
    volunteer_target: Decimal  # hours per member per year
    advanced: Decimal  # score ≥ this: 先进
    lagging: Decimal  # score < this: 落后

    def with_thresholds(
        self, advanced: float | None = None, lagging: float | None = None
    ) -> Scoring:
        """A copy with thresholds overridden (None keeps the current one), validated."""
        changed = replace(
            self,
            advanced=self.advanced if advanced is None else _number(advanced, "--advanced"),
            lagging=self.lagging if lagging is None else _number(lagging, "--lagging"),
        )
        changed.validate()
        return changed

    def validate(self) -> None:
        """Raise ReportError (Chinese) unless weights, target and thresholds make sense."""
        if set(self.weights) != set(METRICS):
            raise ReportError("权重必须列出：" + "、".join(METRIC_NAMES[m] for m in METRICS))
        for metric, weight in self.weights.items():
            if weight < 0:
                raise ReportError(f"权重“{METRIC_NAMES[metric]}”不能为负数")
        if sum(self.weights.values()) <= 0:
            raise ReportError("权重之和必须大于 0")
        if self.volunteer_target <= 0:
            raise ReportError(f"{KEY_TARGET}（人均每年小时数）必须大于 0")
        for name, value in ((KEY_ADVANCED, self.advanced), (KEY_LAGGING, self.lagging)):
            if not 0 <= value <= 100:
                raise ReportError(f"“{name}”分数线应在 0 到 100 之间，现为 {value}")
        if self.lagging > self.advanced:
            raise ReportError(
                f"“落后”分数线（{self.lagging}）不能高于“先进”分数线（{self.advanced}）"
            )


DEFAULT_SCORING = Scoring(
    weights={
        PLAN: Decimal(40),
        ATTENDANCE: Decimal(25),
        STUDY: Decimal(20),
        MAKEUP: Decimal(10),
        VOLUNTEER: Decimal(5),
    },
    volunteer_target=Decimal(8),
    advanced=Decimal(90),
    lagging=Decimal(70),
)


def _number(value: object, where: str) -> Decimal:
    """A YAML/CLI number as an exact Decimal; ReportError for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ReportError(f"“{where}”应为数字，现为 {value!r}")
    try:
        found = Decimal(str(value))
    except InvalidOperation as exc:  # pragma: no cover - str() of a number always parses
        raise ReportError(f"“{where}”应为数字，现为 {value!r}") from exc
    if not found.is_finite():
        raise ReportError(f"“{where}”应为有限的数字，现为 {value!r}")
    return found


def load_scoring(text: str, base: Scoring = DEFAULT_SCORING) -> Scoring:
    """Read a thresholds file (YAML, Chinese keys); keys left out keep `base`'s values."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第{mark.line + 1}行附近" if mark is not None else ""
        raise ReportError(f"评分文件不是有效的 YAML{where}，请检查缩进和冒号") from exc
    if data is None:
        return base
    if not isinstance(data, dict):
        raise ReportError("评分文件应是“键: 值”的映射，可用的键：" + "、".join(SCORING_KEYS))
    unknown = [str(k) for k in data if k not in SCORING_KEYS]
    if unknown:
        raise ReportError(
            f"评分文件里有未知的键：{'、'.join(unknown)}；可用的键：{'、'.join(SCORING_KEYS)}"
        )
    weights = dict(base.weights)
    if KEY_WEIGHTS in data:
        given = data[KEY_WEIGHTS]
        if not isinstance(given, dict):
            raise ReportError(f"“{KEY_WEIGHTS}”应是映射，例如 {METRIC_NAMES[PLAN]}: 40")
        by_name = {name: metric for metric, name in METRIC_NAMES.items()}
        strange = [str(k) for k in given if k not in by_name]
        if strange:
            raise ReportError(
                f"未知的权重：{'、'.join(strange)}；可用：{'、'.join(METRIC_NAMES.values())}"
            )
        missing = [name for name in METRIC_NAMES.values() if name not in given]
        if missing:
            raise ReportError(f"权重缺少：{'、'.join(missing)}（五项都要写，不计的写 0）")
        weights = {
            by_name[name]: _number(value, f"{KEY_WEIGHTS}.{name}") for name, value in given.items()
        }
    scoring = Scoring(
        weights={m: weights[m] for m in METRICS},
        volunteer_target=_number(data[KEY_TARGET], KEY_TARGET)
        if KEY_TARGET in data
        else base.volunteer_target,
        advanced=_number(data[KEY_ADVANCED], KEY_ADVANCED)
        if KEY_ADVANCED in data
        else base.advanced,
        lagging=_number(data[KEY_LAGGING], KEY_LAGGING) if KEY_LAGGING in data else base.lagging,
    )
    scoring.validate()
    return scoring


def resolve_period(key: str, today: date) -> Period:
    """A report period: what `storage.periods.resolve` accepts, plus half years (2026-H1/H2)."""
    if m := _HALF.match(key.strip()):
        year, half = int(m.group(1)), int(m.group(2))
        if year >= 1:
            start = date(year, 1 if half == 1 else 7, 1)
            end = date(year, 7, 1) if half == 1 else date(year + 1, 1, 1)
            return Period(f"{year:04d}-H{half}", start, end, f"{year}年{'上下'[half - 1]}半年")
    try:
        return resolve(key, today)
    except ValueError as exc:
        raise ReportError(f"时段“{key}”无效：可用 {PERIOD_HINT}") from exc


def period_months(period: Period) -> int:
    """How many calendar months the period spans (1, 3, 6 or 12)."""
    return (period.end.year - period.start.year) * 12 + period.end.month - period.start.month


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


def score(rates: Mapping[str, Fraction | None], scoring: Scoring) -> Fraction | None:
    """The composite score (0–100, exact) of the defined rates, or None if none is defined."""
    weighted = [(Fraction(scoring.weights[m]), r) for m, r in rates.items() if r is not None]
    total = sum((w for w, _ in weighted), Fraction(0))
    if not total:
        return None
    return 100 * sum((w * r for w, r in weighted), Fraction(0)) / total


def group_of(value: Fraction | None, scoring: Scoring) -> str:
    """先进 / 中间 / 落后 (or unrated) for a score, by the thresholds (exact comparison)."""
    if value is None:
        return UNRATED
    if value >= Fraction(scoring.advanced):
        return ADVANCED
    if value < Fraction(scoring.lagging):
        return LAGGING
    return MIDDLE


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
    months = period_months(period)
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
        for branch_id, count in self.connection.execute(
            select(Member.branch_id, func.count())
            .where(Member.branch_id.in_(self.in_org), Member.active.is_(True))
            .group_by(Member.branch_id)
        ):
            figures[branch_id].members = int(count)

    def meetings(self, figures: dict[int, Figures]) -> dict[int, list[Sitting]]:
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
        for branch_id, requested in self.connection.execute(
            select(LeaveRequest.branch_id, LeaveRequest.requested_at).where(
                LeaveRequest.branch_id.in_(self.in_org),
                LeaveRequest.requested_at >= self.low,
                LeaveRequest.requested_at < self.high,
            )
        ):
            if self._inside(branch_id, requested):
                figures[branch_id].leave += 1


# --- the stable JSON form --------------------------------------------------------------------


def _rate(value: Fraction | None) -> float | None:
    return None if value is None else round(float(value), 4)


def _num(value: Decimal | Fraction) -> int | float:
    """An exact number as JSON: whole numbers as int, others as float (2 decimals)."""
    if value == int(value):
        return int(value)
    return round(float(value), 2)


def _figures_json(figures: Figures, rates: Mapping[str, Fraction | None]) -> dict[str, Any]:
    per_member = figures.hours_per_member
    return {
        "members": figures.members,
        "plan": {
            "required": figures.plan_required,
            "done": figures.plan_done,
            "rate": _rate(rates[PLAN]),
        },
        "attendance": {
            "meetings": figures.meetings,
            "expected": figures.attendance_expected,
            "present": figures.attendance_present,
            "rate": _rate(rates[ATTENDANCE]),
        },
        "study": {
            "tasks": figures.study_tasks,
            "expected": figures.study_expected,
            "done": figures.study_done,
            "late": figures.study_late,
            "rate": _rate(rates[STUDY]),
        },
        "makeup": {
            "owed": figures.makeup_owed,
            "done": figures.makeup_done,
            "rate": _rate(rates[MAKEUP]),
        },
        "volunteer": {
            "hours": _num(figures.volunteer_hours),
            "people": figures.volunteer_people,
            "per_member": None if per_member is None else _num(per_member),
            "rate": _rate(rates[VOLUNTEER]),
        },
        "leave": figures.leave,
    }


def report_json(report: OrgReport) -> dict[str, Any]:
    """The report in its documented, versioned JSON shape (see README, 机关工委报表)."""
    period = report.period
    branches = []
    for line in report.branches:
        entry = _figures_json(line.figures, line.rates)
        entry["plan"]["missing"] = [
            {"date": m.day.isoformat(), "kind": m.kind, "title": m.title} for m in line.plan.missing
        ]
        entry.update(
            name=line.name,
            rank=line.rank,
            score=None if line.score is None else round(float(line.score), 2),
            group=line.group,
        )
        branches.append(entry)
    totals = _figures_json(report.totals, report.total_rates)
    totals["branches"] = report.totals.branches
    totals["groups"] = report.group_counts()
    return {
        "schema_version": SCHEMA_VERSION,
        "organisation": report.organisation,
        "period": {
            "key": period.concrete_key if not _HALF.match(period.key) else period.key,
            "label": period.label,
            "start": period.start.isoformat(),
            "end": (period.end - timedelta(days=1)).isoformat(),
        },
        "as_of": report.as_of.isoformat(),
        "scoring": {
            "weights": {m: _num(report.scoring.weights[m]) for m in METRICS},
            "volunteer_target_hours": _num(report.scoring.volunteer_target),
            "advanced": _num(report.scoring.advanced),
            "lagging": _num(report.scoring.lagging),
        },
        "branches": branches,
        "totals": totals,
    }
