"""Meetings and 补课: opening and closing 三会一课 and 主题党日 sittings (attendance: storage.attendance)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import audit
from storage.attendance import current_attendance, expected_ids, record_attendance
from storage.audit import Actor
from storage.memo import MISSING, memo
from storage.models import (
    ATTEND_ABSENT,
    ATTEND_LEAVE,
    ATTEND_MAKEUP,
    MEETING_CLOSED,
    MEETING_OPEN,
    LeaveRequest,
    MakeupItem,
    Meeting,
    MeetingAttendee,
    MeetingKind,
)

# A leave asked for while no meeting is open applies to a meeting opened within this window.
PENDING_LEAVE_WINDOW = timedelta(days=45)


@dataclass
class CloseSummary:
    """The tally of a closed meeting, member ids by outcome."""

    expected: list[int] = field(default_factory=list)
    present: list[int] = field(default_factory=list)
    late: list[int] = field(default_factory=list)
    leave: list[int] = field(default_factory=list)
    absent: list[int] = field(default_factory=list)
    makeups_created: int = 0


def open_meeting_in_chat(session: Session, chat_id: int) -> Meeting | None:
    """Return the meeting open for check-in in this chat, locked until the transaction ends.

    The lock serialises check-ins, leave and closing of one meeting across workers, so a
    check-in can never be overwritten by a concurrent close (PostgreSQL; SQLite serialises
    writers with BEGIN IMMEDIATE). The answer is remembered for the rest of the transaction:
    the lock keeps it true, and `open_meeting` / `close_meeting` keep it current.
    """
    key = ("open_meeting", chat_id)
    cache = memo(session)
    cached = cache.get(key, MISSING)
    if cached is None or (isinstance(cached, Meeting) and cached.status == MEETING_OPEN):
        return cached
    found = session.scalar(
        select(Meeting)
        .where(Meeting.chat_id == chat_id, Meeting.status == MEETING_OPEN)
        .with_for_update()
    )
    cache[key] = found
    return found


def open_meeting(
    session: Session,
    actor: Actor,
    *,
    branch_id: int,
    chat_id: int | None,
    kinds: Iterable[str],
    topic: str,
    party_group: str | None,
    expected_member_ids: Iterable[int],
    place: str | None = None,
    host_member_id: int | None = None,
    recorder_member_id: int | None = None,
) -> Meeting:
    """Open a sitting for check-in; pending leave requests of expected members are applied."""
    meeting = Meeting(
        branch_id=branch_id,
        chat_id=chat_id,
        topic=topic,
        party_group=party_group,
        opened_by_member_id=actor.member_id,
        host_member_id=host_member_id or actor.member_id,
        recorder_member_id=recorder_member_id,
        place=place,
        status=MEETING_OPEN,
        started_at=actor.at,
        source_inbox_id=actor.inbox_id,
    )
    meeting.kind_rows = [MeetingKind(kind=k, position=i) for i, k in enumerate(kinds)]
    expected = list(dict.fromkeys(expected_member_ids))
    meeting.expected = [MeetingAttendee(member_id=m) for m in expected]
    session.add(meeting)
    session.flush()
    if chat_id is not None:
        memo(session)[("open_meeting", chat_id)] = meeting
    audit.record(
        session,
        actor,
        branch_id=branch_id,
        action="open",
        entity="meeting",
        entity_id=meeting.id,
        kinds=meeting.kinds,
        topic=topic,
        expected=len(expected),
    )
    pending = session.scalars(
        select(LeaveRequest)
        .where(
            LeaveRequest.branch_id == branch_id,
            LeaveRequest.meeting_id.is_(None),
            LeaveRequest.member_id.in_(expected),
            LeaveRequest.requested_at >= actor.at - PENDING_LEAVE_WINDOW,
        )
        .order_by(LeaveRequest.id)
    )
    for leave in pending:
        leave.meeting_id = meeting.id
        record_attendance(
            session,
            actor,
            meeting,
            leave.member_id,
            ATTEND_LEAVE,
            reason=leave.reason,
            source_inbox_id=leave.source_inbox_id,
        )
    return meeting


def close_meeting(session: Session, actor: Actor, meeting: Meeting) -> CloseSummary:
    """Close check-in: the unaccounted are absent; absentees and leave-takers owe a 补课."""
    summary = CloseSummary(expected=expected_ids(session, meeting.id))
    current = current_attendance(session, meeting.id)
    for member_id in summary.expected:
        row = current.get(member_id)
        status = (
            row.status
            if row is not None
            else record_attendance(
                session, actor, meeting, member_id, ATTEND_ABSENT, reason="未签到"
            ).status
        )
        getattr(summary, status if status != ATTEND_MAKEUP else "present").append(member_id)
        if status in (ATTEND_ABSENT, ATTEND_LEAVE):
            ensure_makeup(session, actor, meeting, member_id)
            summary.makeups_created += 1
    meeting.status = MEETING_CLOSED
    meeting.closed_at = actor.at
    session.flush()
    audit.record(
        session,
        actor,
        branch_id=meeting.branch_id,
        action="close",
        entity="meeting",
        entity_id=meeting.id,
        expected=len(summary.expected),
        present=len(summary.present) + len(summary.late),
        leave=len(summary.leave),
        absent=len(summary.absent),
    )
    return summary


def open_makeups(session: Session, member_id: int) -> list[MakeupItem]:
    """Return the member's 补课 items not yet done, oldest first."""
    return list(
        session.scalars(
            select(MakeupItem)
            .where(
                MakeupItem.member_id == member_id,
                MakeupItem.done_at.is_(None),
                MakeupItem.cancelled_at.is_(None),
            )
            .order_by(MakeupItem.id)
        )
    )


def complete_makeup(session: Session, actor: Actor, item: MakeupItem) -> None:
    """Mark a 补课 done and record the member's attendance at that meeting as made up."""
    item.done_at = actor.at
    item.confirmed_by_member_id = actor.member_id
    record_attendance(
        session,
        actor,
        item.meeting,
        item.member_id,
        ATTEND_MAKEUP,
        reason="已补课",
        is_correction=True,
    )
    audit.record(
        session,
        actor,
        branch_id=item.branch_id,
        action="makeup_done",
        entity="makeup",
        entity_id=item.id,
        member_id=item.member_id,
    )


def latest_meeting(session: Session, branch_id: int, chat_id: int | None) -> Meeting | None:
    """Return the most recently started meeting of the branch (in the chat when given)."""
    query = select(Meeting).where(Meeting.branch_id == branch_id)
    if chat_id is not None:
        query = query.where(Meeting.chat_id == chat_id)
    return session.scalar(query.order_by(Meeting.started_at.desc(), Meeting.id.desc()).limit(1))


def makeup_for(session: Session, meeting_id: int, member_id: int) -> MakeupItem | None:
    """Return the 补课 item of a member for a meeting, if one was ever created."""
    return session.scalar(
        select(MakeupItem).where(
            MakeupItem.meeting_id == meeting_id, MakeupItem.member_id == member_id
        )
    )


def ensure_makeup(session: Session, actor: Actor, meeting: Meeting, member_id: int) -> MakeupItem:
    """Make sure the member owes a 补课 for the meeting (re-opening a cancelled one)."""
    item = makeup_for(session, meeting.id, member_id)
    if item is None:
        item = MakeupItem(
            branch_id=meeting.branch_id,
            meeting_id=meeting.id,
            member_id=member_id,
            created_at=actor.at,
            source_inbox_id=actor.inbox_id,
        )
        session.add(item)
        session.flush()
        audit.record(
            session,
            actor,
            branch_id=meeting.branch_id,
            action="create",
            entity="makeup",
            entity_id=item.id,
            member_id=member_id,
            meeting_id=meeting.id,
        )
    elif item.cancelled_at is not None:
        item.cancelled_at = None
        audit.record(
            session,
            actor,
            branch_id=meeting.branch_id,
            action="reopen",
            entity="makeup",
            entity_id=item.id,
            member_id=member_id,
        )
    return item


def cancel_makeup(session: Session, actor: Actor, meeting: Meeting, member_id: int) -> bool:
    """Cancel an open 补课 item when a correction shows the member attended; True if one was."""
    item = makeup_for(session, meeting.id, member_id)
    if item is None or item.cancelled_at is not None or item.done_at is not None:
        return False
    item.cancelled_at = actor.at
    audit.record(
        session,
        actor,
        branch_id=meeting.branch_id,
        action="cancel",
        entity="makeup",
        entity_id=item.id,
        member_id=member_id,
    )
    return True
