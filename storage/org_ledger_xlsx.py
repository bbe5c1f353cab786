"""The whole organisation's 台账 in one workbook, for a work committee (机关工委).

Sheets: 三会一课记录, 主题党日, 学习记录, 志愿服务, 请假记录, 补课记录 — the branch 台账's columns
(`storage.ledger_xlsx`) after a leading 支部 column — and 党员一览, one row per active member with
attendance (in total and by kind), study, volunteer service, leave and 补课. Branches come in
name order, each branch's rows in time order.

Memory stays bounded however large the organisation is: branches are read in batches of about
`BATCH_MEMBERS` members, with a handful of queries per batch (never one per branch or member);
each batch's rows are appended to the write-only sheets and dropped. Column widths are fitted
to the first batch. Progress goes to the `progress` callback.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage import queries
from storage.ledger_xlsx import (
    LEAVE_COLUMNS,
    MAKEUP_CANCELLED,
    MAKEUP_COLUMNS,
    MAKEUP_DONE,
    MAKEUP_OWED,
    MEETING_COLUMNS,
    PARTY_DAY_KIND,
    SECRETARY_ENTERED,
    SELF_REPORTED,
    SHEET_LEAVE,
    SHEET_MAKEUP,
    SHEET_MEETINGS,
    SHEET_PARTY_DAY,
    SHEET_STUDY,
    SHEET_VOLUNTEER,
    STUDY_COLUMNS,
    VOLUNTEER_COLUMNS,
    SheetSummary,
    Value,
    _attendance_counts,
    _hours,
    chinese_date,
    sheet_title,
)
from storage.models import (
    ATTEND_ABSENT,
    ATTEND_LATE,
    ATTEND_LEAVE,
    ATTEND_PRESENT,
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
from storage.org_report import ReportError
from storage.org_report_xlsx import Table, atomic_workbook, new_table
from storage.periods import Period

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
ORG_SHEETS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (SHEET_MEETINGS, (BRANCH_COLUMN, *MEETING_COLUMNS)),
    (SHEET_PARTY_DAY, (BRANCH_COLUMN, *MEETING_COLUMNS)),
    (SHEET_STUDY, (BRANCH_COLUMN, *STUDY_COLUMNS)),
    (SHEET_VOLUNTEER, (BRANCH_COLUMN, *VOLUNTEER_COLUMNS)),
    (SHEET_LEAVE, (BRANCH_COLUMN, *LEAVE_COLUMNS)),
    (SHEET_MAKEUP, (BRANCH_COLUMN, *MAKEUP_COLUMNS)),
    (SHEET_MEMBERS, MEMBER_COLUMNS),
)
BATCH_MEMBERS = 1500
WIDTH_SAMPLE = 300  # rows of the first batch that widths are fitted to, per sheet
_JOIN = "、"
_PENDING = "待定（下次会议）"

Progress = Callable[[str], None]
Rows = dict[str, list[list[Value]]]


@dataclass
class OrgWorkbookSummary:
    """What `write_org_ledger_xlsx` wrote: the file, how many branches, and its sheets."""

    path: Path
    branches: int
    sheets: list[SheetSummary] = field(default_factory=list)

    @property
    def sheet_names(self) -> list[str]:
        """The sheet names in workbook order."""
        return [s.name for s in self.sheets]

    def rows(self, name: str) -> int:
        """Number of rows below the header of the named sheet."""
        return next(s.rows for s in self.sheets if s.name == name)


def write_org_ledger_xlsx(
    session: Session,
    organisation: str,
    period: Period,
    path: Path,
    progress: Progress | None = None,
    batch_members: int = BATCH_MEMBERS,
) -> OrgWorkbookSummary:
    """Write every branch's 台账 of the period into one workbook at `path`, atomically."""
    say = progress or (lambda _text: None)
    branches = list(
        session.scalars(
            select(Branch).where(Branch.organisation == organisation).order_by(Branch.name)
        )
    )
    if not branches:
        raise ReportError(f"没有属于“{organisation}”的支部（按支部的所属组织匹配，区分全称）")
    sizes = dict(
        session.execute(
            select(Member.branch_id, func.count())
            .where(
                Member.branch_id.in_(select(Branch.id).where(Branch.organisation == organisation))
            )
            .group_by(Member.branch_id)
        ).all()
    )
    batches: list[list[Branch]] = [[]]
    members = 0
    for branch in branches:
        if batches[-1] and members + sizes.get(branch.id, 0) > batch_members:
            batches.append([])
            members = 0
        batches[-1].append(branch)
        members += sizes.get(branch.id, 0)
    summary = OrgWorkbookSummary(path, len(branches))
    with atomic_workbook(path) as book:
        writer = _SheetWriter(book, f"{organisation} {period.label}")
        done = 0
        for number, batch in enumerate(batches, start=1):
            say(
                f"第 {number}/{len(batches)} 批：{batch[0].name} … {batch[-1].name}"
                f"（已完成 {done}/{len(branches)} 个支部）"
            )
            writer.write(_Batch(session, batch, period).rows())
            done += len(batch)
        say(f"保存工作簿 {path.name} …")
        summary.sheets = writer.close()
    return summary


class _SheetWriter:
    """The seven sheets, created (with widths fitted) when the first batch arrives."""

    def __init__(self, book: Workbook, heading: str) -> None:
        self.book = book
        self.heading = heading
        self.sheets: dict[str, Table] = {}
        self.titles: dict[str, str] = {}
        self.counts: Counter[str] = Counter()

    def write(self, rows: Rows) -> None:
        if not self.sheets:
            taken: set[str] = set()
            for name, columns in ORG_SHEETS:
                title = sheet_title(name, taken)
                self.titles[name] = title
                self.sheets[name] = new_table(
                    self.book, title, columns, rows[name][:WIDTH_SAMPLE], f"{self.heading} {title}"
                )
        for name, _columns in ORG_SHEETS:
            table = self.sheets[name]
            for row in rows[name]:
                table.append(row)
            self.counts[name] += len(rows[name])

    def close(self) -> list[SheetSummary]:
        if not self.sheets:  # pragma: no cover - an organisation always has a first batch
            self.write({name: [] for name, _ in ORG_SHEETS})
        return [SheetSummary(self.titles[name], self.counts[name]) for name, _ in ORG_SHEETS]


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


def _state(done_at: datetime | None, cancelled_at: datetime | None) -> str:
    if cancelled_at is not None:
        return MAKEUP_CANCELLED
    return MAKEUP_DONE if done_at is not None else MAKEUP_OWED


class _Batch:
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
        if moment is None:
            return ""
        local = moment.astimezone(self.zones[branch_id])
        return f"{chinese_date(local.date())} {local:%H:%M}"

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
        out: Rows = {name: [] for name, _ in ORG_SHEETS}
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
                for state in (_state(done, cancelled),)
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
                state = _state(done_at, cancelled_at)
                if state == MAKEUP_OWED:
                    self.tally[member_id].makeup_owed += 1
        return found

    def _meeting_rows(self, meeting: _Meeting) -> list[tuple[str, list[Value]]]:
        """The 台账's meeting row (see `storage.ledger_xlsx`), once per kind the sitting counts for."""
        zone = self.zones[meeting.branch_id]
        start = meeting.started_at.astimezone(zone)
        hours = f"{start:%H:%M}"
        if meeting.closed_at is not None:
            hours += f"–{meeting.closed_at.astimezone(zone):%H:%M}"
        extra = sorted(set(meeting.current) - set(meeting.expected))
        statuses: list[tuple[int, str, str | None]] = []
        for member_id in [*meeting.expected, *extra]:
            status, reason = meeting.current.get(member_id, (ATTEND_ABSENT, None))
            statuses.append((member_id, status, reason))
            for kind in meeting.kinds:
                self.tally[member_id].attendance[kind][status] += 1
        present = [m for m, s, _ in statuses if s in (ATTEND_PRESENT, ATTEND_LATE)]
        probationary = sum(1 for m in present if self._probationary(m))
        states = [(m, _state(done, cancelled)) for m, done, cancelled in meeting.makeups]
        owed = [self._name(m) for m, s in states if s == MAKEUP_OWED]
        done = [self._name(m) for m, s in states if s == MAKEUP_DONE]
        makeup_text = "；".join(
            part
            for part in (
                f"{MAKEUP_OWED}：{_JOIN.join(owed)}" if owed else "",
                f"{MAKEUP_DONE}：{_JOIN.join(done)}" if done else "",
            )
            if part
        )

        def with_reasons(wanted: str) -> str:
            return _JOIN.join(
                f"{self._name(m)}（{reason}）" if reason else self._name(m)
                for m, status, reason in statuses
                if status == wanted
            )

        leave_text, absent_text = with_reasons(ATTEND_LEAVE), with_reasons(ATTEND_ABSENT)
        rows: list[tuple[str, list[Value]]] = []
        for kind in meeting.kinds:
            others = [k for k in meeting.kinds if k != kind]
            shown = f"{kind}（{meeting.party_group}）" if meeting.party_group else kind
            rows.append(
                (
                    kind,
                    [
                        chinese_date(start.date()),
                        hours,
                        meeting.place or "",
                        shown,
                        f"与{_JOIN.join(others)}合并" if others else "",
                        meeting.topic,
                        self._name(meeting.host),
                        self._name(meeting.recorder),
                        len(statuses),
                        f"{len(present)}（正式 {len(present) - probationary} / 预备 {probationary}）",
                        leave_text,
                        absent_text,
                        makeup_text,
                        f"消息#{meeting.source}" if meeting.source else "补录",
                    ],
                )
            )
        return rows

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
                [
                    row.title,
                    chinese_date(published),
                    chinese_date(row.deadline) if row.deadline else "未设定",
                    len(set(given) | set(roster[row.branch_id])),
                    _JOIN.join(self._name(m) for m in on_time),
                    _JOIN.join(self._name(m) for m in late),
                    _JOIN.join(self._name(m) for m in pending),
                ]
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
            entered = (
                SELF_REPORTED if row.recorded_by_member_id == row.member_id else SECRETARY_ENTERED
            )
            yield (
                row.branch_id,
                [
                    self._name(row.member_id),
                    chinese_date(row.service_date),
                    _hours(hours),
                    row.activity,
                    entered,
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
            label = _PENDING if row.meeting_id is None else self.labels.get(row.meeting_id, "")
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
                expected, came = _attendance_counts(counts)[:2]
                by_kind.append(f"{kind} {came}/{expected}")
            rows.append(
                [
                    branch.name,
                    person.name,
                    person.title,
                    "预备党员" if person.probationary else "正式党员",
                    person.party_group or "",
                    *_attendance_counts(totals),
                    "；".join(by_kind),
                    tally.study_on_time + tally.study_late + tally.study_pending,
                    tally.study_on_time,
                    tally.study_late,
                    tally.study_pending,
                    tally.volunteer_count,
                    _hours(tally.volunteer_hours),
                    tally.leave,
                    tally.makeup_owed,
                ]
            )
        return rows
