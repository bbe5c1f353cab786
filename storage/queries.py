"""Read-side queries over a period: meetings with attendance, study, volunteer, leave, 补课."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, selectinload

from storage.models import (
    ATTEND_ABSENT,
    Attendance,
    Branch,
    LeaveRequest,
    MakeupItem,
    Meeting,
    MeetingAttendee,
    Member,
    StudyConfirmation,
    StudyTask,
    VolunteerRecord,
)
from storage.periods import Period


@dataclass
class MeetingView:
    """A meeting with every expected member's current status (one row each)."""

    meeting: Meeting
    status_by_member: dict[int, str] = field(default_factory=dict)
    reason_by_member: dict[int, str | None] = field(default_factory=dict)


def bounds(period: Period, tz: str) -> tuple[datetime, datetime]:
    """Return the aware datetimes that start and end the period in a time zone."""
    zone = ZoneInfo(tz)
    return (
        datetime.combine(period.start, time(0), zone),
        datetime.combine(period.end, time(0), zone),
    )


def members_by_id(session: Session, branch_id: int) -> dict[int, Member]:
    """Map id to member for every member the branch ever had (names survive deactivation)."""
    return {m.id: m for m in session.scalars(select(Member).where(Member.branch_id == branch_id))}


def _meetings(
    session: Session, branch: Branch, period: Period, *also: ColumnElement[bool]
) -> list[Meeting]:
    """The branch's meetings started in the period (and matching `also`), kinds loaded."""
    start, end = bounds(period, branch.timezone)
    return list(
        session.scalars(
            select(Meeting)
            .where(
                Meeting.branch_id == branch.id,
                Meeting.started_at >= start,
                Meeting.started_at < end,
                *also,
            )
            .options(selectinload(Meeting.kind_rows))
            .order_by(Meeting.started_at, Meeting.id)
        )
    )


def meetings_in(session: Session, branch: Branch, period: Period) -> list[MeetingView]:
    """Return the branch's meetings started in the period with their attendance."""
    meetings = _meetings(session, branch, period)
    ids = [m.id for m in meetings]
    expected: dict[int, list[int]] = defaultdict(list)
    current: dict[int, dict[int, Attendance]] = defaultdict(dict)
    if ids:
        for meeting_id, member_id in session.execute(
            select(MeetingAttendee.meeting_id, MeetingAttendee.member_id)
            .where(MeetingAttendee.meeting_id.in_(ids))
            .order_by(MeetingAttendee.member_id)
        ):
            expected[meeting_id].append(member_id)
        for row in session.scalars(
            select(Attendance).where(
                Attendance.meeting_id.in_(ids), Attendance.superseded_at.is_(None)
            )
        ):
            current[row.meeting_id][row.member_id] = row
    views = []
    for meeting in meetings:
        view = MeetingView(meeting)
        for member_id in expected[meeting.id] + sorted(
            set(current[meeting.id]) - set(expected[meeting.id])
        ):
            found = current[meeting.id].get(member_id)
            view.status_by_member[member_id] = found.status if found else ATTEND_ABSENT
            view.reason_by_member[member_id] = found.reason if found else None
        views.append(view)
    return views


def study_in(
    session: Session, branch: Branch, period: Period, member_id: int | None = None
) -> list[tuple[StudyTask, dict[int, StudyConfirmation]]]:
    """Return tasks published in the period with their confirmations (of one member, if given)."""
    start, end = bounds(period, branch.timezone)
    tasks = list(
        session.scalars(
            select(StudyTask)
            .where(
                StudyTask.branch_id == branch.id,
                StudyTask.published_at >= start,
                StudyTask.published_at < end,
            )
            .order_by(StudyTask.published_at, StudyTask.id)
        )
    )
    confirmations: dict[int, dict[int, StudyConfirmation]] = defaultdict(dict)
    if tasks:
        query = select(StudyConfirmation).where(
            StudyConfirmation.task_id.in_([t.id for t in tasks])
        )
        if member_id is not None:
            query = query.where(StudyConfirmation.member_id == member_id)
        for row in session.scalars(query):
            confirmations[row.task_id][row.member_id] = row
    return [(task, confirmations[task.id]) for task in tasks]


def volunteer_in(
    session: Session, branch_id: int, period: Period, member_id: int | None = None
) -> list[VolunteerRecord]:
    """Return volunteer records whose service date lies in the period."""
    query = select(VolunteerRecord).where(
        VolunteerRecord.branch_id == branch_id,
        VolunteerRecord.service_date >= period.start,
        VolunteerRecord.service_date < period.end,
    )
    if member_id is not None:
        query = query.where(VolunteerRecord.member_id == member_id)
    return list(session.scalars(query.order_by(VolunteerRecord.service_date, VolunteerRecord.id)))


def leave_in(session: Session, branch: Branch, period: Period) -> list[LeaveRequest]:
    """Return leave requests made in the period."""
    start, end = bounds(period, branch.timezone)
    return list(
        session.scalars(
            select(LeaveRequest)
            .where(
                LeaveRequest.branch_id == branch.id,
                LeaveRequest.requested_at >= start,
                LeaveRequest.requested_at < end,
            )
            .order_by(LeaveRequest.requested_at, LeaveRequest.id)
        )
    )


def makeups_for(session: Session, meeting_ids: list[int]) -> list[MakeupItem]:
    """Return the 补课 items owed for these meetings."""
    if not meeting_ids:
        return []
    return list(
        session.scalars(
            select(MakeupItem)
            .where(MakeupItem.meeting_id.in_(meeting_ids), MakeupItem.cancelled_at.is_(None))
            .order_by(MakeupItem.id)
        )
    )


def meeting_label(meeting: Meeting, tz: str) -> str:
    """Return a short human label: kinds, local date and topic."""
    return sitting_label(meeting.started_at, meeting.kinds, meeting.topic, tz)


def sitting_label(started_at: datetime, kinds: Sequence[str], topic: str | None, tz: str) -> str:
    """The label of `meeting_label` from plain values: local date, kinds and topic."""
    local = started_at.astimezone(ZoneInfo(tz))
    shown = f"（{topic}）" if topic else ""
    return f"{local:%Y-%m-%d} {'+'.join(kinds)}{shown}"
