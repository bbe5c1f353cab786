"""Numbers over a period for a branch and for one member, computed from the ledger."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, bindparam, exists, or_, select
from sqlalchemy.orm import Session

from storage import queries, volunteer
from storage.models import (
    ATTEND_ABSENT,
    ATTEND_LATE,
    ATTEND_LEAVE,
    ATTEND_MAKEUP,
    ATTEND_PRESENT,
    MEETING_CLOSED,
    Attendance,
    Branch,
    MakeupItem,
    Meeting,
    MeetingAttendee,
    MeetingKind,
    Member,
    StudyConfirmation,
    StudyTask,
)
from storage.periods import Period
from storage.rawsql import Prepared, all_together
from storage.roster import active_members

ATTENDED = (ATTEND_PRESENT, ATTEND_LATE, ATTEND_MAKEUP)


@dataclass
class BranchStats:
    """A branch's numbers for a period."""

    period: Period
    meetings: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    expected: int = 0
    attended: int = 0
    late: int = 0
    leave: int = 0
    absent: int = 0
    study_tasks: int = 0
    study_expected: int = 0
    study_done: int = 0
    study_late: int = 0
    volunteer_hours: Decimal = Decimal(0)
    volunteer_people: int = 0
    volunteer_records: int = 0
    makeups_open: int = 0
    makeups_done: int = 0


@dataclass
class MemberStats:
    """One member's record for a period."""

    period: Period
    attended: list[str] = field(default_factory=list)
    leave: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)
    study_done: list[str] = field(default_factory=list)
    study_pending: list[str] = field(default_factory=list)
    volunteer_hours: Decimal = Decimal(0)
    volunteer_records: int = 0
    makeups_open: list[str] = field(default_factory=list)


def branch_stats(session: Session, branch: Branch, period: Period) -> BranchStats:
    """Count meetings by kind, attendance, study completion, volunteer hours and 补课."""
    stats = BranchStats(period)
    views = queries.meetings_in(session, branch, period)
    for view in views:
        stats.meetings += 1
        stats.by_kind.update(view.meeting.kinds)
        if view.meeting.status != MEETING_CLOSED:
            continue
        statuses = list(view.status_by_member.values())
        stats.expected += len(statuses)
        stats.attended += sum(s in ATTENDED for s in statuses)
        stats.late += statuses.count(ATTEND_LATE)
        stats.leave += statuses.count(ATTEND_LEAVE)
        stats.absent += statuses.count(ATTEND_ABSENT)
    roster_size = len(active_members(session, branch.id))
    for _task, confirmations in queries.study_in(session, branch, period):
        stats.study_tasks += 1
        stats.study_expected += max(roster_size, len(confirmations))
        stats.study_done += len(confirmations)
        stats.study_late += sum(c.late for c in confirmations.values())
    records = queries.volunteer_in(session, branch.id, period)
    stats.volunteer_records = len(records)
    stats.volunteer_hours = sum((r.hours for r in records), Decimal(0))
    stats.volunteer_people = len({r.member_id for r in records})
    for item in queries.makeups_for(session, [v.meeting.id for v in views]):
        if item.done_at is None:
            stats.makeups_open += 1
        else:
            stats.makeups_done += 1
    return stats


_MEETINGS: Table = Meeting.__table__  # type: ignore[assignment]
_KINDS: Table = MeetingKind.__table__  # type: ignore[assignment]
_ATTENDANCE: Table = Attendance.__table__  # type: ignore[assignment]
_ATTENDEES: Table = MeetingAttendee.__table__  # type: ignore[assignment]
_TASKS: Table = StudyTask.__table__  # type: ignore[assignment]
_CONFIRMATIONS: Table = StudyConfirmation.__table__  # type: ignore[assignment]
_MAKEUPS: Table = MakeupItem.__table__  # type: ignore[assignment]
_START = bindparam("start", type_=_MEETINGS.c.started_at.type)
_END = bindparam("end", type_=_MEETINGS.c.started_at.type)
_IN_PERIOD = (
    _MEETINGS.c.branch_id == bindparam("branch_id"),
    _MEETINGS.c.started_at >= _START,
    _MEETINGS.c.started_at < _END,
)
_OPEN_MAKEUP = (
    _MAKEUPS.c.member_id == bindparam("member_id"),
    _MAKEUPS.c.done_at.is_(None),
    _MAKEUPS.c.cancelled_at.is_(None),
)
# The member's meetings of the period (expected at, or with a record) and their current status.
_MEMBER_MEETINGS = Prepared(
    select(
        _MEETINGS.c.id,
        _MEETINGS.c.started_at,
        _MEETINGS.c.topic,
        _MEETINGS.c.status,
        select(_ATTENDANCE.c.status)
        .where(
            _ATTENDANCE.c.meeting_id == _MEETINGS.c.id,
            _ATTENDANCE.c.member_id == bindparam("member_id"),
            _ATTENDANCE.c.superseded_at.is_(None),
        )
        .scalar_subquery(),
    )
    .where(
        *_IN_PERIOD,
        or_(
            _MEETINGS.c.id.in_(
                select(_ATTENDEES.c.meeting_id).where(
                    _ATTENDEES.c.member_id == bindparam("member_id")
                )
            ),
            _MEETINGS.c.id.in_(
                select(_ATTENDANCE.c.meeting_id).where(
                    _ATTENDANCE.c.member_id == bindparam("member_id"),
                    _ATTENDANCE.c.superseded_at.is_(None),
                )
            ),
        ),
    )
    .order_by(_MEETINGS.c.started_at, _MEETINGS.c.id)
)
# The kinds of both the period's meetings and those the member owes a 补课 for.
_MEMBER_KINDS = Prepared(
    select(_KINDS.c.meeting_id, _KINDS.c.kind)
    .where(
        or_(
            _KINDS.c.meeting_id.in_(select(_MEETINGS.c.id).where(*_IN_PERIOD)),
            _KINDS.c.meeting_id.in_(select(_MAKEUPS.c.meeting_id).where(*_OPEN_MAKEUP)),
        )
    )
    .order_by(_KINDS.c.meeting_id, _KINDS.c.position)
)
_MEMBER_STUDY = Prepared(
    select(
        _TASKS.c.title,
        exists()
        .where(
            _CONFIRMATIONS.c.task_id == _TASKS.c.id,
            _CONFIRMATIONS.c.member_id == bindparam("member_id"),
        )
        .label("done"),
    )
    .where(
        _TASKS.c.branch_id == bindparam("branch_id"),
        _TASKS.c.published_at >= bindparam("start", type_=_TASKS.c.published_at.type),
        _TASKS.c.published_at < bindparam("end", type_=_TASKS.c.published_at.type),
    )
    .order_by(_TASKS.c.published_at, _TASKS.c.id)
)
_OPEN_MAKEUPS = Prepared(
    select(_MEETINGS.c.id, _MEETINGS.c.started_at, _MEETINGS.c.topic)
    .join(_MAKEUPS, _MAKEUPS.c.meeting_id == _MEETINGS.c.id)
    .where(*_OPEN_MAKEUP)
    .order_by(_MAKEUPS.c.id)
)


def _kinds(rows: list[tuple[Any, ...]]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = defaultdict(list)
    for meeting_id, kind in rows:
        found[meeting_id].append(kind)
    return found


def member_stats(session: Session, branch: Branch, member: Member, period: Period) -> MemberStats:
    """Collect one member's attendance, study, volunteer hours and open 补课 for a period.

    This answers 「我的」, one of the commonest messages, so it runs five small prepared
    statements together (one round trip on PostgreSQL); `tests/storage/test_hot_path.py`
    checks it against the branch-wide queries.
    """
    stats = MemberStats(period)
    start, end = queries.bounds(period, branch.timezone)
    where = {"branch_id": branch.id, "member_id": member.id, "start": start, "end": end}
    kind_rows, meeting_rows, study_rows, volunteer_rows, makeup_rows = all_together(
        session,
        [
            (_MEMBER_KINDS, where),
            (_MEMBER_MEETINGS, where),
            (_MEMBER_STUDY, where),
            volunteer.member_total_read(branch.id, member.id, period.start, period.end),
            (_OPEN_MAKEUPS, {"member_id": member.id}),
        ],
    )
    kinds = _kinds(kind_rows)
    for meeting_id, started_at, topic, meeting_status, status in meeting_rows:
        if meeting_status != MEETING_CLOSED and status in (None, ATTEND_ABSENT):
            continue  # a meeting still open: not absent yet
        label = queries.sitting_label(started_at, kinds[meeting_id], topic, branch.timezone)
        if status in ATTENDED:
            stats.attended.append(label)
        elif status == ATTEND_LEAVE:
            stats.leave.append(label)
        else:
            stats.absent.append(label)
    for title, done in study_rows:
        (stats.study_done if done else stats.study_pending).append(title)
    stats.volunteer_records, stats.volunteer_hours = volunteer.member_total_from(volunteer_rows)
    stats.makeups_open = [
        queries.sitting_label(started_at, kinds[meeting_id], topic, branch.timezone)
        for meeting_id, started_at, topic in makeup_rows
    ]
    return stats
