"""One batch of branches' 台账 rows for the whole organisation's workbook
(`storage.org_ledger_xlsx`): a handful of queries per batch for every kind of record (never one
per branch or member), turned into the rows of the branch 台账 (`storage.ledger_rows`) and of
党员一览, one row per active member with attendance (in total and by kind), study, volunteer
service, leave and 补课.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import queries
from storage.ledger_rows import (
    MAKEUP_OWED,
    PARTY_DAY_KIND,
    PENDING_MEETING,
    SHEET_LEAVE,
    SHEET_MAKEUP,
    SHEET_MEETINGS,
    SHEET_PARTY_DAY,
    SHEET_STUDY,
    SHEET_VOLUNTEER,
    Attendee,
    SittingFacts,
    attendance_counts,
    entered_by,
    local_moment,
    makeup_state,
    meeting_rows,
    standing,
    study_row,
)
from storage.models import (
    ATTEND_ABSENT,
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
from storage.periods import Period
from storage.xlsx_sheets import Value, chinese_date, number

SHEET_MEMBERS = "党员一览"
BRANCH_COLUMN = "支部"
MEMBER_COLUMNS = (
    BRANCH_COLUMN,
    "姓名",
    "职务",
    "身份",
    "党小组",
    "应参加",
    "参加",
    "请假",
    "缺席",
    "已补课",
    "分类出勤（参加/应参加）",
    "学习任务",
    "已学（按时）",
    "已学（逾期）",
    "未学",
    "志愿服务次数",
    "志愿时长（小时）",
    "请假次数",
    "待补课",
)
# The sheets a batch fills, in workbook order.
BATCH_SHEETS = (
    SHEET_MEETINGS,
    SHEET_PARTY_DAY,
    SHEET_STUDY,
    SHEET_VOLUNTEER,
    SHEET_LEAVE,
    SHEET_MAKEUP,
    SHEET_MEMBERS,
)

Rows = dict[str, list[list[Value]]]


@dataclass
class _Meeting:
    id: int
    branch_id: int
    started_at: datetime
    closed_at: datetime | None
    place: str | None
    topic: str
    party_group: str | None
    host: int | None
    recorder: int | None
    source: int | None
    kinds: list[str] = field(default_factory=list)
    expected: list[int] = field(default_factory=list)
    current: dict[int, tuple[str, str | None]] = field(default_factory=dict)
    makeups: list[tuple[int, datetime | None, datetime | None]] = field(default_factory=list)


@dataclass
class _Tally:
    attendance: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    study_on_time: int = 0
    study_late: int = 0
    study_pending: int = 0
    volunteer_count: int = 0
    volunteer_hours: Decimal = Decimal(0)
    leave: int = 0
    makeup_owed: int = 0


class OrgBatch:
    """Some branches' ledgers for the period, read with one query per kind of record."""

    def __init__(self, session: Session, branches: list[Branch], period: Period) -> None:
        self.connection = session.connection()
        self.branches = branches
        self.ids = [b.id for b in branches]
        self.names = {b.id: b.name for b in branches}
        self.zones = {b.id: ZoneInfo(b.timezone) for b in branches}
        self.bounds = {
            b.id: (
                datetime.combine(period.start, time(0), self.zones[b.id]),
                datetime.combine(period.end, time(0), self.zones[b.id]),
            )
            for b in branches
        }
        self.period = period
        # Wide enough for any time zone; each branch's own bounds are applied in Python.
        self.low = datetime.combine(period.start - timedelta(days=1), time(0), UTC)
        self.high = datetime.combine(period.end + timedelta(days=1), time(0), UTC)
        self.people: dict[int, Any] = {}
        self.tally: dict[int, _Tally] = defaultdict(_Tally)
        self.labels: dict[int, str] = {}

    def _inside(self, branch_id: int, moment: datetime) -> bool:
        start, end = self.bounds[branch_id]
        return start <= moment < end

    def _name(self, member_id: int | None) -> str:
        person = self.people.get(member_id or 0)
        return str(person.name) if person is not None else ""

    def _moment(self, branch_id: int, moment: datetime | None) -> str:
        return local_moment(None if moment is None else moment.astimezone(self.zones[branch_id]))

    def rows(self) -> Rows:
        """Every sheet's rows for these branches, in branch order."""
        for person in self.connection.execute(
            select(
                Member.id,
                Member.branch_id,
                Member.name,
                Member.title,
                Member.party_group,
                Member.probationary,
                Member.active,
            )
            .where(Member.branch_id.in_(self.ids))
            .order_by(Member.id)
        ):
            self.people[person.id] = person
        meetings = self._meetings()
        out: Rows = {name: [] for name in BATCH_SHEETS}
        by_branch: dict[int, list[_Meeting]] = defaultdict(list)
        for meeting in meetings.values():
            by_branch[meeting.branch_id].append(meeting)
        study = self._study()
        volunteer = self._grouped(self._volunteer())
        leave = self._grouped(self._leave())
        for branch in self.branches:
            name = branch.name
            held = by_branch[branch.id]
            for meeting in held:
                for kind, row in self._meeting_rows(meeting):
                    sheet = SHEET_PARTY_DAY if kind == PARTY_DAY_KIND else SHEET_MEETINGS
                    out[sheet].append([name, *row])
            out[SHEET_STUDY].extend([name, *row] for row in study[branch.id])
            out[SHEET_VOLUNTEER].extend([name, *row] for row in volunteer[branch.id])
            out[SHEET_LEAVE].extend([name, *row] for row in leave[branch.id])
            out[SHEET_MAKEUP].extend(
                [
                    name,
                    self._name(member_id),
                    self.labels[m.id],
                    state,
                    self._moment(m.branch_id, done),
                ]
                for m in held
                for member_id, done, cancelled in m.makeups
                for state in (makeup_state(done, cancelled),)
            )
            out[SHEET_MEMBERS].extend(self._member_rows(branch))
        return out

    @staticmethod
    def _grouped(rows: Iterable[tuple[int, list[Value]]]) -> dict[int, list[list[Value]]]:
        found: dict[int, list[list[Value]]] = defaultdict(list)
        for branch_id, row in rows:
            found[branch_id].append(row)
        return found

    # Meetings ------------------------------------------------------------------------------

    def _meetings(self) -> dict[int, _Meeting]:
        found: dict[int, _Meeting] = {}
        candidates = select(Meeting.id).where(
            Meeting.branch_id.in_(self.ids),
            Meeting.started_at >= self.low,
            Meeting.started_at < self.high,
        )
        for row in self.connection.execute(
            select(
                Meeting.id,
                Meeting.branch_id,
                Meeting.started_at,
                Meeting.closed_at,
                Meeting.place,
                Meeting.topic,
                Meeting.party_group,
                Meeting.host_member_id,
                Meeting.recorder_member_id,
                Meeting.source_inbox_id,
                MeetingKind.kind,
            )
            .outerjoin(MeetingKind, MeetingKind.meeting_id == Meeting.id)
            .where(Meeting.id.in_(candidates))
            .order_by(Meeting.started_at, Meeting.id, MeetingKind.position)
        ):
            if not self._inside(row.branch_id, row.started_at):
                continue
            meeting = found.get(row.id)
            if meeting is None:
                meeting = found[row.id] = _Meeting(
                    row.id,
                    row.branch_id,
                    row.started_at,
                    row.closed_at,
                    row.place,
                    row.topic or "",
                    row.party_group,
                    row.host_member_id,
                    row.recorder_member_id,
                    row.source_inbox_id,
                )
            if row.kind:
                meeting.kinds.append(row.kind)
        for meeting in found.values():
            zone = self.zones[meeting.branch_id].key
            self.labels[meeting.id] = queries.sitting_label(
                meeting.started_at, meeting.kinds, meeting.topic, zone
            )
        for meeting_id, member_id in self.connection.execute(
            select(MeetingAttendee.meeting_id, MeetingAttendee.member_id)
            .where(MeetingAttendee.meeting_id.in_(candidates))
            .order_by(MeetingAttendee.meeting_id, MeetingAttendee.member_id)
        ):
            if meeting_id in found:
                found[meeting_id].expected.append(member_id)
        for meeting_id, member_id, status, reason in self.connection.execute(
            select(
                Attendance.meeting_id, Attendance.member_id, Attendance.status, Attendance.reason
            ).where(Attendance.meeting_id.in_(candidates), Attendance.superseded_at.is_(None))
        ):
            if meeting_id in found:
                found[meeting_id].current[member_id] = (status, reason)
        for meeting_id, member_id, done_at, cancelled_at in self.connection.execute(
            select(
                MakeupItem.meeting_id,
                MakeupItem.member_id,
                MakeupItem.done_at,
                MakeupItem.cancelled_at,
            )
            .where(MakeupItem.meeting_id.in_(candidates))
            .order_by(MakeupItem.id)
        ):
            if meeting_id in found:
                found[meeting_id].makeups.append((member_id, done_at, cancelled_at))
                state = makeup_state(done_at, cancelled_at)
                if state == MAKEUP_OWED:
                    self.tally[member_id].makeup_owed += 1
        return found

    def _meeting_rows(self, meeting: _Meeting) -> list[tuple[str, list[Value]]]:
        """The 台账's meeting row (`storage.ledger_rows`), once per kind the sitting counts for."""
        zone = self.zones[meeting.branch_id]
        extra = sorted(set(meeting.current) - set(meeting.expected))
        attendees: list[Attendee] = []
        for member_id in [*meeting.expected, *extra]:
            status, reason = meeting.current.get(member_id, (ATTEND_ABSENT, None))
            attendees.append(
                Attendee(self._name(member_id), status, reason, self._probationary(member_id))
            )
            for kind in meeting.kinds:
                self.tally[member_id].attendance[kind][status] += 1
        return meeting_rows(
            SittingFacts(
                started=meeting.started_at.astimezone(zone),
                closed=None if meeting.closed_at is None else meeting.closed_at.astimezone(zone),
                place=meeting.place,
                topic=meeting.topic,
                kinds=meeting.kinds,
                party_group=meeting.party_group,
                host=self._name(meeting.host),
                recorder=self._name(meeting.recorder),
                attendees=attendees,
                makeups=[
                    (self._name(m), makeup_state(done, cancelled))
                    for m, done, cancelled in meeting.makeups
                ],
                source_inbox_id=meeting.source,
            )
        )

    def _probationary(self, member_id: int) -> bool:
        person = self.people.get(member_id)
        return bool(person is not None and person.probationary)

    # Study, volunteer service, leave ----------------------------------------------------------

    def _study(self) -> dict[int, list[list[Value]]]:
        tasks = select(StudyTask.id).where(
            StudyTask.branch_id.in_(self.ids),
            StudyTask.published_at >= self.low,
            StudyTask.published_at < self.high,
        )
        confirmations: dict[int, dict[int, bool]] = defaultdict(dict)
        for task_id, member_id, was_late in self.connection.execute(
            select(
                StudyConfirmation.task_id, StudyConfirmation.member_id, StudyConfirmation.late
            ).where(StudyConfirmation.task_id.in_(tasks))
        ):
            confirmations[task_id][member_id] = bool(was_late)
        roster: dict[int, list[int]] = defaultdict(list)
        for person in self.people.values():
            if person.active:
                roster[person.branch_id].append(person.id)
        found: dict[int, list[list[Value]]] = defaultdict(list)
        for row in self.connection.execute(
            select(
                StudyTask.id,
                StudyTask.branch_id,
                StudyTask.title,
                StudyTask.published_at,
                StudyTask.deadline,
            )
            .where(StudyTask.id.in_(tasks))
            .order_by(StudyTask.published_at, StudyTask.id)
        ):
            if not self._inside(row.branch_id, row.published_at):
                continue
            given = confirmations.get(row.id, {})
            on_time = [m for m in sorted(given) if not given[m]]
            late = [m for m in sorted(given) if given[m]]
            pending = [m for m in roster[row.branch_id] if m not in given]
            for m in on_time:
                self.tally[m].study_on_time += 1
            for m in late:
                self.tally[m].study_late += 1
            for m in pending:
                self.tally[m].study_pending += 1
            published = row.published_at.astimezone(self.zones[row.branch_id]).date()
            found[row.branch_id].append(
                study_row(
                    row.title,
                    published,
                    row.deadline,
                    len(set(given) | set(roster[row.branch_id])),
                    [self._name(m) for m in on_time],
                    [self._name(m) for m in late],
                    [self._name(m) for m in pending],
                )
            )
        return found

    def _volunteer(self) -> Iterable[tuple[int, list[Value]]]:
        for row in self.connection.execute(
            select(
                VolunteerRecord.branch_id,
                VolunteerRecord.member_id,
                VolunteerRecord.service_date,
                VolunteerRecord.hours,
                VolunteerRecord.activity,
                VolunteerRecord.recorded_by_member_id,
            )
            .where(
                VolunteerRecord.branch_id.in_(self.ids),
                VolunteerRecord.service_date >= self.period.start,
                VolunteerRecord.service_date < self.period.end,
            )
            .order_by(VolunteerRecord.service_date, VolunteerRecord.id)
        ):
            hours = Decimal(str(row.hours))
            tally = self.tally[row.member_id]
            tally.volunteer_count += 1
            tally.volunteer_hours += hours
            yield (
                row.branch_id,
                [
                    self._name(row.member_id),
                    chinese_date(row.service_date),
                    number(hours),
                    row.activity,
                    entered_by(row.member_id, row.recorded_by_member_id),
                ],
            )

    def _leave(self) -> list[tuple[int, list[Value]]]:
        rows = [
            row
            for row in self.connection.execute(
                select(
                    LeaveRequest.branch_id,
                    LeaveRequest.member_id,
                    LeaveRequest.requested_at,
                    LeaveRequest.reason,
                    LeaveRequest.meeting_id,
                )
                .where(
                    LeaveRequest.branch_id.in_(self.ids),
                    LeaveRequest.requested_at >= self.low,
                    LeaveRequest.requested_at < self.high,
                )
                .order_by(LeaveRequest.requested_at, LeaveRequest.id)
            )
            if self._inside(row.branch_id, row.requested_at)
        ]
        self._label_others({r.meeting_id for r in rows if r.meeting_id is not None})
        found: list[tuple[int, list[Value]]] = []
        for row in rows:
            self.tally[row.member_id].leave += 1
            label = (
                PENDING_MEETING if row.meeting_id is None else self.labels.get(row.meeting_id, "")
            )
            found.append(
                (
                    row.branch_id,
                    [
                        self._name(row.member_id),
                        self._moment(row.branch_id, row.requested_at),
                        row.reason,
                        label,
                    ],
                )
            )
        return found

    def _label_others(self, meeting_ids: set[int]) -> None:
        """Label meetings outside the period (leave asked now for a meeting held later)."""
        wanted = sorted(meeting_ids - set(self.labels))
        if not wanted:
            return
        found: dict[int, tuple[int, datetime, str, list[str]]] = {}
        for row in self.connection.execute(
            select(
                Meeting.id, Meeting.branch_id, Meeting.started_at, Meeting.topic, MeetingKind.kind
            )
            .outerjoin(MeetingKind, MeetingKind.meeting_id == Meeting.id)
            .where(Meeting.id.in_(wanted))
            .order_by(Meeting.id, MeetingKind.position)
        ):
            entry = found.setdefault(row.id, (row.branch_id, row.started_at, row.topic or "", []))
            if row.kind:
                entry[3].append(row.kind)
        for meeting_id, (branch_id, started, topic, kinds) in found.items():
            zone = self.zones.get(branch_id, ZoneInfo("Asia/Shanghai")).key
            self.labels[meeting_id] = queries.sitting_label(started, kinds, topic, zone)

    # Members -------------------------------------------------------------------------------

    def _member_rows(self, branch: Branch) -> list[list[Value]]:
        rows: list[list[Value]] = []
        for person in self.people.values():
            if person.branch_id != branch.id or not person.active:
                continue
            tally = self.tally.get(person.id) or _Tally()
            totals: Counter[str] = Counter()
            by_kind: list[str] = []
            for kind, counts in tally.attendance.items():
                totals.update(counts)
                expected, came = attendance_counts(counts)[:2]
                by_kind.append(f"{kind} {came}/{expected}")
            rows.append(
                [
                    branch.name,
                    person.name,
                    person.title,
                    standing(person.probationary),
                    person.party_group or "",
                    *attendance_counts(totals),
                    "；".join(by_kind),
                    tally.study_on_time + tally.study_late + tally.study_pending,
                    tally.study_on_time,
                    tally.study_late,
                    tally.study_pending,
                    tally.volunteer_count,
                    number(tally.volunteer_hours),
                    tally.leave,
                    tally.makeup_owed,
                ]
            )
        return rows
