"""The formatted 台账: a print-ready Excel workbook of a branch's ledger for one period.

Sheets: 三会一课记录 (one row per meeting per kind; 主题党日 rows go to their own sheet), 主题党日,
学习记录, 志愿服务, 请假记录, 补课记录, 年度计划完成情况 (each plan item ✓/✗ with the meeting that
satisfied it, as the caller computed them: storage knows no plan rules), then 一人一张清单: one
sheet per active member, named after the member, with the member's points and their grounds. Every sheet is A4 with its first row repeated on each printed page and frozen on
screen. The workbook is streamed (openpyxl write-only mode) to a temporary file beside the
target and renamed into place, so a failed export leaves no partial file.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import cast
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.header_footer import HeaderFooterItem
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import points, queries
from storage.models import (
    ATTEND_ABSENT,
    ATTEND_LATE,
    ATTEND_LEAVE,
    ATTEND_MAKEUP,
    ATTEND_PRESENT,
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

SHEET_MEETINGS = "三会一课记录"
SHEET_PARTY_DAY = "主题党日"
SHEET_STUDY = "学习记录"
SHEET_VOLUNTEER = "志愿服务"
SHEET_LEAVE = "请假记录"
SHEET_MAKEUP = "补课记录"
SHEET_PLAN = "年度计划完成情况"
FIXED_SHEETS = (
    SHEET_MEETINGS,
    SHEET_PARTY_DAY,
    SHEET_STUDY,
    SHEET_VOLUNTEER,
    SHEET_LEAVE,
    SHEET_MAKEUP,
    SHEET_PLAN,
)
PARTY_DAY_KIND = "主题党日"

MEETING_COLUMNS = (
    "日期",
    "时间",
    "地点",
    "会议类型",
    "合并召开",
    "主题",
    "主持人",
    "记录人",
    "应到",
    "实到",
    "请假",
    "缺席",
    "补课情况",
    "来源",
)
STUDY_COLUMNS = (
    "任务",
    "发布日期",
    "截止日期",
    "应学人数",
    "已学（按时）",
    "已学（逾期）",
    "未学",
)
VOLUNTEER_COLUMNS = ("姓名", "日期", "时长（小时）", "内容", "登记方式")
LEAVE_COLUMNS = ("姓名", "申请时间", "事由", "对应会议")
MAKEUP_COLUMNS = ("姓名", "会议", "状态", "完成时间")
PLAN_COLUMNS = ("计划日期", "类型", "事项", "党小组", "完成", "完成会议", "说明")
PLAN_DONE, PLAN_MISSED, PLAN_INFO = "✓", "✗", "—"

MAKEUP_OWED = "待补"
MAKEUP_DONE = "已补"
MAKEUP_CANCELLED = "已取消"
SELF_REPORTED = "本人"
SECRETARY_ENTERED = "书记补录"
A4 = 9  # openpyxl's PAPERSIZE_A4
# Leading characters that make Excel (or a user retyping the cell) treat text as a formula.
_FORMULA_START = ("=", "+", "-", "@")
_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")
_SHEET_NAME_MAX = 31
_MIN_WIDTH, _MAX_WIDTH = 6, 48
_JOIN = "、"

_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill(fill_type="solid", start_color="FFD9E1F2", end_color="FFD9E1F2")
_THIN = Side(style="thin", color="FF808080")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEADER_ALIGN = Alignment(horizontal="center", vertical="center", wrap_text=True)
_BODY_ALIGN = Alignment(vertical="top", wrap_text=True)
# A member sheet's title runs on over the empty cells to its right, so it must not wrap.
_TITLE_ALIGN = Alignment(horizontal="left", vertical="center")

Progress = Callable[[str], None]
Value = str | int | float | None


@dataclass(frozen=True)
class SheetSummary:
    """One written sheet: its name and number of rows below the header."""

    name: str
    rows: int


@dataclass
class WorkbookSummary:
    """What `write_ledger_xlsx` wrote: the file and its sheets in order."""

    path: Path
    sheets: list[SheetSummary] = field(default_factory=list)

    @property
    def sheet_names(self) -> list[str]:
        """The sheet names in workbook order."""
        return [s.name for s in self.sheets]

    def rows(self, name: str) -> int:
        """Number of rows below the header of the named sheet."""
        return next(s.rows for s in self.sheets if s.name == name)


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


def chinese_date(value: date) -> str:
    """Format a date as 2026年3月11日."""
    return f"{value.year}年{value.month}月{value.day}日"


def text_width(value: object) -> int:
    """Display width of a value's longest line, counting CJK (wide) characters as two."""
    if value is None:
        return 0
    lines = str(value).splitlines() or [""]
    return max(
        sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line) for line in lines
    )


def sheet_title(name: str, taken: set[str]) -> str:
    """A valid, unused Excel sheet name for `name` (≤31 characters, no []:*?/\\), then taken."""
    base = _SHEET_NAME_BAD.sub("_", name).strip().strip("'") or "党员"
    base = base[:_SHEET_NAME_MAX]
    title, number = base, 1
    # Excel compares sheet names case-insensitively.
    while title.casefold() in taken:
        number += 1
        suffix = f"({number})"
        title = base[: _SHEET_NAME_MAX - len(suffix)] + suffix
    taken.add(title.casefold())
    return title


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
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    book = Workbook(write_only=True)
    try:
        sheets = writer.write(book)
        book.save(temp_name)
        os.replace(temp_name, path)
    except BaseException:
        _discard(book)
        Path(temp_name).unlink(missing_ok=True)
        raise
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
        meeting_rows = [
            (kind, self._meeting_row(view, kind, makeups[view.meeting.id]))
            for view in views
            for kind in view.meeting.kinds
        ]
        self._tally_attendance(views, makeups)
        sheets = [
            self._table(
                book,
                SHEET_MEETINGS,
                MEETING_COLUMNS,
                [row for kind, row in meeting_rows if kind != PARTY_DAY_KIND],
            ),
            self._table(
                book,
                SHEET_PARTY_DAY,
                MEETING_COLUMNS,
                [row for kind, row in meeting_rows if kind == PARTY_DAY_KIND],
            ),
            self._table(book, SHEET_STUDY, STUDY_COLUMNS, self._study_rows()),
            self._table(book, SHEET_VOLUNTEER, VOLUNTEER_COLUMNS, self._volunteer_rows()),
            self._table(book, SHEET_LEAVE, LEAVE_COLUMNS, self._leave_rows()),
            self._table(book, SHEET_MAKEUP, MAKEUP_COLUMNS, self._makeup_rows(makeups)),
            self._table(book, SHEET_PLAN, PLAN_COLUMNS, self._plan_rows()),
        ]
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
        if moment is None:
            return ""
        local = self._local(moment)
        return f"{chinese_date(local.date())} {local:%H:%M}"

    def _label(self, meeting_id: int | None) -> str:
        """Label a meeting, also one outside the period (leave asked now, meeting held later)."""
        if meeting_id is None:
            return "待定（下次会议）"
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

    def _meeting_row(
        self, view: queries.MeetingView, kind: str, makeups: list[MakeupItem]
    ) -> list[Value]:
        meeting = view.meeting
        start = self._local(meeting.started_at)
        hours = f"{start:%H:%M}"
        if meeting.closed_at is not None:
            hours += f"–{self._local(meeting.closed_at):%H:%M}"
        others = [k for k in meeting.kinds if k != kind]
        shown_kind = f"{kind}（{meeting.party_group}）" if meeting.party_group else kind
        statuses = view.status_by_member
        present = [m for m, s in statuses.items() if s in (ATTEND_PRESENT, ATTEND_LATE)]
        probationary = sum(1 for m in present if self._probationary(m))
        owed = [self._name(i.member_id) for i in makeups if _makeup_state(i) == MAKEUP_OWED]
        done = [self._name(i.member_id) for i in makeups if _makeup_state(i) == MAKEUP_DONE]
        makeup_text = "；".join(
            part
            for part in (
                f"{MAKEUP_OWED}：{_JOIN.join(owed)}" if owed else "",
                f"{MAKEUP_DONE}：{_JOIN.join(done)}" if done else "",
            )
            if part
        )
        return [
            chinese_date(start.date()),
            hours,
            meeting.place or "",
            shown_kind,
            f"与{_JOIN.join(others)}合并" if others else "",
            meeting.topic,
            self._name(meeting.host_member_id),
            self._name(meeting.recorder_member_id),
            len(statuses),
            f"{len(present)}（正式 {len(present) - probationary} / 预备 {probationary}）",
            self._with_reasons(view, ATTEND_LEAVE),
            self._with_reasons(view, ATTEND_ABSENT),
            makeup_text,
            f"消息#{meeting.source_inbox_id}" if meeting.source_inbox_id else "补录",
        ]

    def _probationary(self, member_id: int) -> bool:
        member = self.members.get(member_id)
        return bool(member and member.probationary)

    def _with_reasons(self, view: queries.MeetingView, status: str) -> str:
        """姓名（事由） of every member with this status, joined by 、."""
        return _JOIN.join(
            f"{self._name(m)}（{view.reason_by_member[m]}）"
            if view.reason_by_member[m]
            else self._name(m)
            for m, s in view.status_by_member.items()
            if s == status
        )

    def _tally_attendance(
        self, views: list[queries.MeetingView], makeups: dict[int, list[MakeupItem]]
    ) -> None:
        for view in views:
            for member_id, status in view.status_by_member.items():
                for kind in view.meeting.kinds:
                    self.tally[member_id].attendance[kind][status] += 1
            for item in makeups[view.meeting.id]:
                state = _makeup_state(item)
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
                [
                    task.title,
                    chinese_date(self._local(task.published_at).date()),
                    chinese_date(task.deadline) if task.deadline else "未设定",
                    len(set(confirmations) | {m.id for m in self.roster}),
                    _JOIN.join(self._name(m) for m in on_time),
                    _JOIN.join(self._name(m) for m in late),
                    _JOIN.join(self._name(m) for m in pending),
                ]
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
                    _hours(record.hours),
                    record.activity,
                    _entered_by(record),
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
                _makeup_state(item),
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

        add(["姓名", member.name, "职务", member.title, "身份", _standing(member)])
        add(["党小组", member.party_group or "", "时段", self.period.label, "", ""])
        add([])
        add(["组织生活", "应参加", "参加", "请假", "缺席", "已补课"], header=True)
        totals: Counter[str] = Counter()
        for kind, counts in tally.attendance.items():
            totals.update(counts)
            add([kind, *_attendance_counts(counts)])
        add(["合计", *_attendance_counts(totals)])
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
                    _hours(record.hours),
                    record.activity,
                    _entered_by(record),
                ]
            )
        total_hours = sum((r.hours for r in tally.volunteer), Decimal(0))
        add(["服务合计", f"{len(tally.volunteer)} 次", _hours(total_hours)])
        add([])
        add(["请假与补课", "请假次数", "待补课", "已补课", "待补课会议", ""], header=True)
        add(
            [
                "",
                tally.leave,
                len(tally.makeup_owed),
                tally.makeup_done,
                _JOIN.join(tally.makeup_owed),
            ]
        )
        mine = self.points.of(member.id) if self.points is not None else None
        if mine is not None:
            add([])
            rows.extend(self._points_rows(mine))

        self.progress(title)
        header = [f"{member.name} 一人一张清单（{self.branch.name} {self.period.label}）"]
        sheet = self._new_sheet(
            book,
            title,
            [header, *(values for values, _ in rows)],
            landscape=False,
            fit_height=True,
            skip_first_width=True,
        )
        title_cell = self._cell(sheet, header[0], header=True, border=False)
        title_cell.alignment = _TITLE_ALIGN
        sheet.append([title_cell])
        for values, is_header in rows:
            sheet.append([self._cell(sheet, v, header=is_header) for v in values])
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
            rows.append(
                (["", _points(mine.base), _points(earned), _points(mine.total), label], False)
            )
        else:
            rows.append((["积分", "本期得分（不含基础分）", "", "", "规则", ""], True))
            rows.append((["", _points(mine.total), "", "", label], False))
        rows.append((["积分依据", "类别", "事项", "次数", "分值", "日期"], True))
        grouped: dict[tuple[str, str], list[points.Ground]] = defaultdict(list)
        for ground in mine.grounds:
            grouped[(ground.category, ground.item)].append(ground)
        for (_category, item), grounds in grouped.items():
            total = sum((g.points for g in grounds), Decimal(0))
            days = _JOIN.join(f"{g.date.month}月{g.date.day}日" for g in grounds)
            rows.append(
                (["", grounds[0].category_label, item, len(grounds), _points(total), days], False)
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
        sheet = self._new_sheet(book, title, [list(columns), *rows], landscape=True)
        _center(sheet.HeaderFooter.oddHeader, f"{self.branch.name} {self.period.label} {title}")
        sheet.append([self._cell(sheet, c, header=True) for c in columns])
        for row in rows:
            sheet.append([self._cell(sheet, v) for v in row])
        return SheetSummary(title, len(rows))

    def _new_sheet(
        self,
        book: Workbook,
        title: str,
        rows: Iterable[Sequence[Value]],
        *,
        landscape: bool,
        fit_height: bool = False,
        skip_first_width: bool = False,
    ) -> WriteOnlyWorksheet:
        """Create a sheet with widths and print settings, which write-only mode needs up front."""
        sheet = book.create_sheet(title)
        assert isinstance(sheet, WriteOnlyWorksheet)  # the workbook is write-only
        # Write-only sheets get these attributes from Worksheet._setup; the stubs omit them.
        settings = cast(Worksheet, sheet)
        widths: dict[int, int] = defaultdict(int)
        for number, row in enumerate(rows):
            if skip_first_width and number == 0:
                continue  # a title row may run across several columns
            for column, value in enumerate(row, start=1):
                widths[column] = max(widths[column], text_width(value))
        for column, width in widths.items():
            fitted = min(max(width + 2, _MIN_WIDTH), _MAX_WIDTH)
            settings.column_dimensions[get_column_letter(column)].width = fitted
        sheet.freeze_panes = "A2"
        sheet.print_title_rows = "1:1"
        setup = settings.page_setup
        setup.paperSize = A4
        setup.orientation = "landscape" if landscape else "portrait"
        setup.fitToWidth = 1
        # 0 lets a long table run onto as many pages as it needs, each one page wide.
        setup.fitToHeight = 1 if fit_height else 0
        page = settings.sheet_properties.pageSetUpPr
        assert page is not None  # WorksheetProperties always creates it
        page.fitToPage = True
        settings.print_options.horizontalCentered = True
        _center(sheet.HeaderFooter.oddFooter, "第 &P 页，共 &N 页")
        return sheet

    def _cell(
        self, sheet: WriteOnlyWorksheet, value: Value, header: bool = False, border: bool = True
    ) -> Cell:
        cell = WriteOnlyCell(sheet, value=value)
        if isinstance(value, str) and value.strip().startswith(_FORMULA_START):
            # Text typed in chat is never a formula: keep it a literal string.
            cell.data_type = "s"
            cell.quotePrefix = True
        if header:
            cell.font = _HEADER_FONT
            cell.fill = _HEADER_FILL
            cell.alignment = _HEADER_ALIGN
        else:
            cell.alignment = _BODY_ALIGN
        if border and value is not None:
            cell.border = _BORDER
        return cell


def _discard(book: Workbook) -> None:
    """Finish the streams of an abandoned write-only workbook so no sheet's temp file stays open."""
    for sheet in book.worksheets:
        if isinstance(sheet, WriteOnlyWorksheet) and not sheet.closed:
            with contextlib.suppress(Exception):
                sheet.close()


def _center(item: HeaderFooterItem | None, text: str) -> None:
    assert item is not None  # HeaderFooter creates all its items
    item.center.text = text


def _makeup_state(item: MakeupItem) -> str:
    if item.cancelled_at is not None:
        return MAKEUP_CANCELLED
    return MAKEUP_DONE if item.done_at is not None else MAKEUP_OWED


def _points(value: Decimal) -> int | float:
    """Points as a number cell: whole points as int, else float."""
    return int(value) if value == value.to_integral_value() else float(value)


def _hours(value: Decimal) -> int | float:
    """Hours as a number cell: whole hours as int, else float."""
    return int(value) if value == value.to_integral_value() else float(value)


def _entered_by(record: VolunteerRecord) -> str:
    return SELF_REPORTED if record.recorded_by_member_id == record.member_id else SECRETARY_ENTERED


def _standing(member: Member) -> str:
    return "预备党员" if member.probationary else "正式党员"


def _attendance_counts(counts: Counter[str]) -> list[Value]:
    """应参加, 参加, 请假, 缺席, 已补课 from status counts (a made-up absence counts as 已补课)."""
    return [
        sum(counts.values()),
        counts[ATTEND_PRESENT] + counts[ATTEND_LATE],
        counts[ATTEND_LEAVE],
        counts[ATTEND_ABSENT],
        counts[ATTEND_MAKEUP],
    ]
