"""The formatted 台账: a print-ready Excel workbook of a branch's ledger for one period.

Sheets (`FIXED_SHEETS`): 三会一课记录 (one row per meeting per kind, a merged sitting under each
kind it counts for; 主题党日 rows go to their own sheet), 主题党日, 学习记录, 志愿服务, 请假记录,
补课记录, 年度计划完成情况 (each plan item ✓/✗ with the meeting that satisfied it, as the caller
computed them: storage knows no plan rules), then 一人一张清单: one sheet per active member, named
after the member, with the member's points and their grounds, fitted onto one A4 page. Rows are
printed as `storage.ledger_rows` says and sheets set up as `storage.xlsx_sheets` does (A4,
repeated and frozen header, formula-safe text, streamed, atomic).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import points, queries
from storage.ledger_rows import (
    FIXED_SHEETS,
    JOIN,
    LEAVE_COLUMNS,
    MAKEUP_COLUMNS,
    MAKEUP_DONE,
    MAKEUP_OWED,
    MEETING_COLUMNS,
    PARTY_DAY_KIND,
    PENDING_MEETING,
    PLAN_COLUMNS,
    PLAN_DONE,
    PLAN_INFO,
    PLAN_MISSED,
    SHEET_LEAVE,
    SHEET_MAKEUP,
    SHEET_MEETINGS,
    SHEET_PARTY_DAY,
    SHEET_PLAN,
    SHEET_STUDY,
    SHEET_VOLUNTEER,
    STUDY_COLUMNS,
    VOLUNTEER_COLUMNS,
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
    Branch,
    MakeupItem,
    Meeting,
    Member,
    StudyConfirmation,
    StudyTask,
    VolunteerRecord,
)
from storage.periods import Period
from storage.roster import active_members
from storage.xlsx_sheets import (
    SheetSummary,
    Table,
    Value,
    WorkbookSummary,
    atomic_workbook,
    chinese_date,
    new_sheet,
    new_table,
    number,
    sheet_title,
    title_cell,
)

__all__ = ["FIXED_SHEETS", "PlanStatus", "WorkbookSummary", "write_ledger_xlsx"]

Progress = Callable[[str], None]


@dataclass(frozen=True)
class PlanStatus:
    """One plan item of the period and whether a recorded meeting satisfied it.

    `done` is None for items that are reminders rather than meetings (node days, 党费, 谈心谈话).
    """

    date: date
    kind: str
    title: str
    group: str | None
    done: bool | None
    meeting: str = ""
    note: str = ""


@dataclass
class _MemberTally:
    """Everything one member's sheet shows, summed while the shared sheets are built."""

    attendance: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    study_on_time: int = 0
    study_late: int = 0
    study_pending: int = 0
    volunteer: list[VolunteerRecord] = field(default_factory=list)
    leave: int = 0
    makeup_owed: list[str] = field(default_factory=list)
    makeup_done: int = 0


def write_ledger_xlsx(
    session: Session,
    branch: Branch,
    period: Period,
    path: Path,
    progress: Progress | None = None,
    *,
    plan: Sequence[PlanStatus] | None = None,
    today: date | None = None,
) -> WorkbookSummary:
    """Write the branch's ledger of the period as a print-ready workbook at `path`, atomically.

    `plan` fills the 年度计划完成情况 sheet (left with its header only when not given); `today`
    picks the points rules in force (default: the current date in the branch's zone).
    """
    writer = _LedgerWriter(session, branch, period, progress or (lambda _name: None))
    writer.plan = list(plan or [])
    writer.today = today or datetime.now(UTC).astimezone(ZoneInfo(branch.timezone)).date()
    with atomic_workbook(path) as book:
        sheets = writer.write(book)
    return WorkbookSummary(path, sheets)


class _LedgerWriter:
    """Reads the period once and writes each sheet from it."""

    def __init__(self, session: Session, branch: Branch, period: Period, progress: Progress):
        self.session = session
        self.branch = branch
        self.period = period
        self.progress = progress
        self.zone = ZoneInfo(branch.timezone)
        self.members = queries.members_by_id(session, branch.id)
        self.roster = active_members(session, branch.id)
        self.tally: dict[int, _MemberTally] = defaultdict(_MemberTally)
        self.taken: set[str] = set()
        self.labels: dict[int, str] = {}
        self.plan: list[PlanStatus] = []
        self.today: date = period.start
        self.points: points.BranchPoints | None = None

    def write(self, book: Workbook) -> list[SheetSummary]:
        """Write every sheet into the (write-only) workbook."""
        views = queries.meetings_in(self.session, self.branch, self.period)
        self.labels = {
            v.meeting.id: queries.meeting_label(v.meeting, self.branch.timezone) for v in views
        }
        makeups = self._makeups([v.meeting.id for v in views])
        by_kind = [row for view in views for row in meeting_rows(self._sitting(view, makeups))]
        self._tally_attendance(views, makeups)
        fixed: dict[str, tuple[Sequence[str], list[list[Value]]]] = {
            SHEET_MEETINGS: (MEETING_COLUMNS, [r for k, r in by_kind if k != PARTY_DAY_KIND]),
            SHEET_PARTY_DAY: (MEETING_COLUMNS, [r for k, r in by_kind if k == PARTY_DAY_KIND]),
            SHEET_STUDY: (STUDY_COLUMNS, self._study_rows()),
            SHEET_VOLUNTEER: (VOLUNTEER_COLUMNS, self._volunteer_rows()),
            SHEET_LEAVE: (LEAVE_COLUMNS, self._leave_rows()),
            SHEET_MAKEUP: (MAKEUP_COLUMNS, self._makeup_rows(makeups)),
            SHEET_PLAN: (PLAN_COLUMNS, self._plan_rows()),
        }
        sheets = [self._table(book, name, *fixed[name]) for name in FIXED_SHEETS]
        if self.period.start.year == (self.period.end - timedelta(days=1)).year:
            # One calendar year (points reset every year): every member's points in one go.
            self.points = points.branch_points(
                self.session, self.branch, self.period, today=self.today
            )
        for member in self.roster:
            sheets.append(self._member_sheet(book, member))
        return sheets

    # Reading ---------------------------------------------------------------------------------

    def _name(self, member_id: int | None) -> str:
        member = self.members.get(member_id or 0)
        return member.name if member else ""

    def _local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone)

    def _moment(self, moment: datetime | None) -> str:
        return local_moment(None if moment is None else self._local(moment))

    def _label(self, meeting_id: int | None) -> str:
        """Label a meeting, also one outside the period (leave asked now, meeting held later)."""
        if meeting_id is None:
            return PENDING_MEETING
        if meeting_id not in self.labels:
            meeting = self.session.get(Meeting, meeting_id)
            self.labels[meeting_id] = (
                queries.meeting_label(meeting, self.branch.timezone) if meeting else ""
            )
        return self.labels[meeting_id]

    def _makeups(self, meeting_ids: list[int]) -> dict[int, list[MakeupItem]]:
        """Every 补课 item of these meetings, cancelled ones included (the ledger shows them)."""
        found: dict[int, list[MakeupItem]] = defaultdict(list)
        if meeting_ids:
            for item in self.session.scalars(
                select(MakeupItem)
                .where(MakeupItem.meeting_id.in_(meeting_ids))
                .order_by(MakeupItem.id)
            ):
                found[item.meeting_id].append(item)
        return found

    # Shared sheets ---------------------------------------------------------------------------

    def _sitting(
        self, view: queries.MeetingView, makeups: dict[int, list[MakeupItem]]
    ) -> SittingFacts:
        meeting = view.meeting
        return SittingFacts(
            started=self._local(meeting.started_at),
            closed=None if meeting.closed_at is None else self._local(meeting.closed_at),
            place=meeting.place,
            topic=meeting.topic,
            kinds=meeting.kinds,
            party_group=meeting.party_group,
            host=self._name(meeting.host_member_id),
            recorder=self._name(meeting.recorder_member_id),
            attendees=[
                Attendee(
                    self._name(member_id),
                    status,
                    view.reason_by_member[member_id],
                    self._probationary(member_id),
                )
                for member_id, status in view.status_by_member.items()
            ],
            makeups=[
                (self._name(i.member_id), makeup_state(i.done_at, i.cancelled_at))
                for i in makeups[meeting.id]
            ],
            source_inbox_id=meeting.source_inbox_id,
        )

    def _probationary(self, member_id: int) -> bool:
        member = self.members.get(member_id)
        return bool(member and member.probationary)

    def _tally_attendance(
        self, views: list[queries.MeetingView], makeups: dict[int, list[MakeupItem]]
    ) -> None:
        for view in views:
            for member_id, status in view.status_by_member.items():
                for kind in view.meeting.kinds:
                    self.tally[member_id].attendance[kind][status] += 1
            for item in makeups[view.meeting.id]:
                state = makeup_state(item.done_at, item.cancelled_at)
                if state == MAKEUP_OWED:
                    self.tally[item.member_id].makeup_owed.append(self.labels[item.meeting_id])
                elif state == MAKEUP_DONE:
                    self.tally[item.member_id].makeup_done += 1

    def _study_rows(self) -> list[list[Value]]:
        rows: list[list[Value]] = []
        tasks: list[tuple[StudyTask, dict[int, StudyConfirmation]]] = queries.study_in(
            self.session, self.branch, self.period
        )
        for task, confirmations in tasks:
            on_time = [m for m in sorted(confirmations) if not confirmations[m].late]
            late = [m for m in sorted(confirmations) if confirmations[m].late]
            pending = [m.id for m in self.roster if m.id not in confirmations]
            for m in on_time:
                self.tally[m].study_on_time += 1
            for m in late:
                self.tally[m].study_late += 1
            for m in pending:
                self.tally[m].study_pending += 1
            rows.append(
                study_row(
                    task.title,
                    self._local(task.published_at).date(),
                    task.deadline,
                    len(set(confirmations) | {m.id for m in self.roster}),
                    [self._name(m) for m in on_time],
                    [self._name(m) for m in late],
                    [self._name(m) for m in pending],
                )
            )
        return rows

    def _volunteer_rows(self) -> list[list[Value]]:
        rows: list[list[Value]] = []
        for record in queries.volunteer_in(self.session, self.branch.id, self.period):
            self.tally[record.member_id].volunteer.append(record)
            rows.append(
                [
                    self._name(record.member_id),
                    chinese_date(record.service_date),
                    number(record.hours),
                    record.activity,
                    entered_by(record.member_id, record.recorded_by_member_id),
                ]
            )
        return rows

    def _leave_rows(self) -> list[list[Value]]:
        rows: list[list[Value]] = []
        for leave in queries.leave_in(self.session, self.branch, self.period):
            self.tally[leave.member_id].leave += 1
            rows.append(
                [
                    self._name(leave.member_id),
                    self._moment(leave.requested_at),
                    leave.reason,
                    self._label(leave.meeting_id),
                ]
            )
        return rows

    def _makeup_rows(self, makeups: dict[int, list[MakeupItem]]) -> list[list[Value]]:
        return [
            [
                self._name(item.member_id),
                self.labels[item.meeting_id],
                makeup_state(item.done_at, item.cancelled_at),
                self._moment(item.done_at),
            ]
            for items in makeups.values()
            for item in items
        ]

    def _plan_rows(self) -> list[list[Value]]:
        return [
            [
                chinese_date(item.date),
                item.kind,
                item.title,
                item.group or "",
                PLAN_INFO if item.done is None else PLAN_DONE if item.done else PLAN_MISSED,
                item.meeting,
                item.note,
            ]
            for item in self.plan
        ]

    # Member sheets ---------------------------------------------------------------------------

    def _member_sheet(self, book: Workbook, member: Member) -> SheetSummary:
        tally = self.tally[member.id]
        title = sheet_title(member.name, self.taken)
        rows: list[tuple[list[Value], bool]] = []  # (values, styled as a header)

        def add(values: list[Value], header: bool = False) -> None:
            rows.append((values, header))

        add(["姓名", member.name, "职务", member.title, "身份", standing(member.probationary)])
        add(["党小组", member.party_group or "", "时段", self.period.label, "", ""])
        add([])
        add(["组织生活", "应参加", "参加", "请假", "缺席", "已补课"], header=True)
        totals: Counter[str] = Counter()
        for kind, counts in tally.attendance.items():
            totals.update(counts)
            add([kind, *attendance_counts(counts)])
        add(["合计", *attendance_counts(totals)])
        add([])
        add(["学习", "任务数", "已学（按时）", "已学（逾期）", "未学", ""], header=True)
        studied = tally.study_on_time + tally.study_late
        add(
            [
                "学习任务",
                studied + tally.study_pending,
                tally.study_on_time,
                tally.study_late,
                tally.study_pending,
            ]
        )
        add([])
        add(["志愿服务", "日期", "时长（小时）", "内容", "登记方式", ""], header=True)
        for record in tally.volunteer:
            add(
                [
                    "",
                    chinese_date(record.service_date),
                    number(record.hours),
                    record.activity,
                    entered_by(record.member_id, record.recorded_by_member_id),
                ]
            )
        total_hours = sum((r.hours for r in tally.volunteer), Decimal(0))
        add(["服务合计", f"{len(tally.volunteer)} 次", number(total_hours)])
        add([])
        add(["请假与补课", "请假次数", "待补课", "已补课", "待补课会议", ""], header=True)
        add(
            [
                "",
                tally.leave,
                len(tally.makeup_owed),
                tally.makeup_done,
                JOIN.join(tally.makeup_owed),
            ]
        )
        mine = self.points.of(member.id) if self.points is not None else None
        if mine is not None:
            add([])
            rows.extend(self._points_rows(mine))

        self.progress(title)
        header = [f"{member.name} 一人一张清单（{self.branch.name} {self.period.label}）"]
        sheet = new_sheet(
            book,
            title,
            [header, *(values for values, _ in rows)],
            landscape=False,
            one_page=True,
            skip_first_width=True,
        )
        sheet.append([title_cell(sheet, header[0])])
        table = Table(sheet)
        for values, is_header in rows:
            table.append(values, header=is_header)
        return SheetSummary(title, len(rows))

    def _points_rows(self, mine: points.MemberPoints) -> list[tuple[list[Value], bool]]:
        """积分: the total, then the grounds with one line per item (dates joined), so that a
        year of records still fits the one page. Rows as (values, styled as a header)."""
        assert self.points is not None
        label = self.points.rules.label
        rows: list[tuple[list[Value], bool]] = []
        if self.points.whole_year:
            rows.append((["积分", "基础分", "得分", "总分", "规则", ""], True))
            earned = mine.total - mine.base
            rows.append((["", number(mine.base), number(earned), number(mine.total), label], False))
        else:
            rows.append((["积分", "本期得分（不含基础分）", "", "", "规则", ""], True))
            rows.append((["", number(mine.total), "", "", label], False))
        rows.append((["积分依据", "类别", "事项", "次数", "分值", "日期"], True))
        grouped: dict[tuple[str, str], list[points.Ground]] = defaultdict(list)
        for ground in mine.grounds:
            grouped[(ground.category, ground.item)].append(ground)
        for (_category, item), grounds in grouped.items():
            total = sum((g.points for g in grounds), Decimal(0))
            days = JOIN.join(f"{g.date.month}月{g.date.day}日" for g in grounds)
            rows.append(
                (["", grounds[0].category_label, item, len(grounds), number(total), days], False)
            )
        return rows

    # Writing ---------------------------------------------------------------------------------

    def _table(
        self,
        book: Workbook,
        name: str,
        columns: Sequence[str],
        rows: list[list[Value]],
    ) -> SheetSummary:
        title = sheet_title(name, self.taken)
        self.progress(title)
        heading = f"{self.branch.name} {self.period.label} {title}"
        table = new_table(book, title, columns, rows, heading)
        for row in rows:
            table.append(row)
        return SheetSummary(title, len(rows))
