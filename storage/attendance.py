"""Attendance and leave at a sitting: 应到, who signed, who asked leave; corrections supersede.

The chat hot path (签到, 请假) runs here, so reads and writes are prepared statements on the
raw cursor (`storage.rawsql`); rows written here are never updated in place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, bindparam, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from storage import audit
from storage.audit import Actor
from storage.memo import memo
from storage.models import ATTEND_LEAVE, Attendance, LeaveRequest, Meeting, MeetingAttendee
from storage.rawsql import Prepared


def current_attendance(session: Session, meeting_id: int) -> dict[int, Attendance]:
    """Map member id to the member's current (not superseded) attendance row."""
    rows = session.scalars(
        select(Attendance).where(
            Attendance.meeting_id == meeting_id, Attendance.superseded_at.is_(None)
        )
    )
    return {row.member_id: row for row in rows}


class Unknown(Enum):
    """Marks an argument the caller did not look up."""

    TOKEN = 0


UNKNOWN = Unknown.TOKEN


@dataclass(frozen=True)
class AttendanceRow:
    """A member's current attendance at a meeting, as the chat path needs it."""

    id: int
    status: str
    reason: str | None
    recorded_at: datetime


_ATTENDANCE: Table = Attendance.__table__  # type: ignore[assignment]
_ATTENDEES: Table = MeetingAttendee.__table__  # type: ignore[assignment]


def _sitting_statements(
    meetings: Callable[[ColumnElement[int]], ColumnElement[bool]],
) -> tuple[Prepared, Prepared]:
    """Current attendance rows and 应到 rows (each led by the meeting id) of the meetings the
    condition `meetings` picks (given the meeting id column)."""
    current = select(
        _ATTENDANCE.c.meeting_id,
        _ATTENDANCE.c.member_id,
        _ATTENDANCE.c.id,
        _ATTENDANCE.c.status,
        _ATTENDANCE.c.reason,
        _ATTENDANCE.c.recorded_at,
    ).where(meetings(_ATTENDANCE.c.meeting_id), _ATTENDANCE.c.superseded_at.is_(None))
    expected = select(_ATTENDEES.c.meeting_id, _ATTENDEES.c.member_id).where(
        meetings(_ATTENDEES.c.meeting_id)
    )
    return Prepared(current), Prepared(expected)


_CURRENT_ROWS, _EXPECTED = _sitting_statements(lambda column: column == bindparam("meeting_id"))
_ADD_EXPECTED = Prepared(insert(_ATTENDEES), ("meeting_id", "member_id"))
_SUPERSEDE = Prepared(
    update(_ATTENDANCE)
    .where(_ATTENDANCE.c.id == bindparam("row_id"))
    .values(superseded_at=bindparam("when", type_=_ATTENDANCE.c.superseded_at.type))
)
_INSERT_ATTENDANCE = Prepared(
    insert(_ATTENDANCE).returning(_ATTENDANCE.c.id),
    (
        "meeting_id",
        "member_id",
        "status",
        "reason",
        "recorded_at",
        "recorded_by_member_id",
        "is_correction",
        "source_inbox_id",
        "supersedes_id",
    ),
)
_LEAVES: Table = LeaveRequest.__table__  # type: ignore[assignment]
ATTENDANCE_TABLE, LEAVE_TABLE = _ATTENDANCE.name, _LEAVES.name
_INSERT_LEAVE = Prepared(
    insert(_LEAVES).returning(_LEAVES.c.id),
    (
        "branch_id",
        "member_id",
        "meeting_id",
        "reason",
        "requested_at",
        "recorded_by_member_id",
        "source_inbox_id",
    ),
)


# Check-ins and leave at one meeting come in bursts, so the first lookup in a transaction
# reads the whole sitting (one query for a batch, not one per message) and writes made here
# keep that copy current. Every attendance and 应到 write goes through this module.


def _sitting(session: Session, meeting_id: int) -> dict[int, AttendanceRow]:
    cache = memo(session)
    found: dict[int, AttendanceRow] | None = cache.get(("attendance", meeting_id))
    if found is None:
        found = cache[("attendance", meeting_id)] = {
            row[1]: AttendanceRow(*row[2:])
            for row in _CURRENT_ROWS.all(session, meeting_id=meeting_id)
        }
    return found


def _expected(session: Session, meeting_id: int) -> set[int]:
    cache = memo(session)
    found: set[int] | None = cache.get(("expected", meeting_id))
    if found is None:
        found = cache[("expected", meeting_id)] = {
            row[1] for row in _EXPECTED.all(session, meeting_id=meeting_id)
        }
    return found


def sitting_reads(meeting_ids: Select[tuple[int]]) -> tuple[Prepared, Prepared]:
    """Statements reading the current attendance and the 应到 of the meetings whose ids
    `meeting_ids` selects, for `remember_sittings` (a batch reads them with its lookups)."""
    return _sitting_statements(lambda column: column.in_(meeting_ids))


def remember_sittings(
    session: Session,
    meeting_ids: Iterable[int],
    current_rows: Iterable[tuple[Any, ...]],
    expected_rows: Iterable[tuple[Any, ...]],
) -> None:
    """Keep what `sitting_reads` read as these meetings' sittings for the transaction."""
    cache = memo(session)
    sittings: dict[int, dict[int, AttendanceRow]] = {}
    expected: dict[int, set[int]] = {}
    for meeting_id in meeting_ids:
        sittings[meeting_id] = cache[("attendance", meeting_id)] = {}
        expected[meeting_id] = cache[("expected", meeting_id)] = set()
    for meeting_id, member_id, *row in current_rows:
        sittings[meeting_id][member_id] = AttendanceRow(*row)
    for meeting_id, member_id in expected_rows:
        expected[meeting_id].add(member_id)


def member_attendance(session: Session, meeting_id: int, member_id: int) -> AttendanceRow | None:
    """Return one member's current (not superseded) attendance at a meeting."""
    return _sitting(session, meeting_id).get(member_id)


def is_expected(session: Session, meeting_id: int, member_id: int) -> bool:
    """True when the member is on the meeting's expected list (应到)."""
    return member_id in _expected(session, meeting_id)


def expected_ids(session: Session, meeting_id: int) -> list[int]:
    """Return the ids of members expected at the meeting (应到)."""
    return list(
        session.scalars(
            select(MeetingAttendee.member_id)
            .where(MeetingAttendee.meeting_id == meeting_id)
            .order_by(MeetingAttendee.member_id)
        )
    )


def add_expected(
    session: Session, meeting: Meeting, member_id: int, *, has_record: bool = False
) -> None:
    """Add a member to the meeting's expected list (someone who came though not required).

    `has_record`: the member already has an attendance row here, so is on the list already
    (every row is written after this call, or for an expected member's pending leave).
    """
    if not has_record and not is_expected(session, meeting.id, member_id):
        _ADD_EXPECTED.execute_later(session, meeting_id=meeting.id, member_id=member_id)
        _expected(session, meeting.id).add(member_id)
        if "expected" in meeting.__dict__:  # a loaded collection would not show the new row
            session.expire(meeting, ["expected"])


def record_attendance(
    session: Session,
    actor: Actor,
    meeting: Meeting,
    member_id: int,
    status: str,
    *,
    reason: str | None = None,
    is_correction: bool = False,
    source_inbox_id: int | None = None,
    previous: AttendanceRow | Unknown | None = UNKNOWN,
) -> AttendanceRow:
    """Record a member's status at a meeting, superseding (never overwriting) an earlier one.

    `previous` is the member's current row when the caller has just read it (saves a query).
    """
    if isinstance(previous, Unknown):
        previous = member_attendance(session, meeting.id, member_id)
    if previous is not None:
        _SUPERSEDE.execute_later(session, row_id=previous.id, when=actor.at)
        loaded = session.identity_map.get(identity_key(Attendance, previous.id))
        if loaded is not None:  # the ORM copy of this row, if any, must not stay current
            session.expire(loaded)
    row_id = int(
        _INSERT_ATTENDANCE.insert(
            session,
            meeting_id=meeting.id,
            member_id=member_id,
            status=status,
            reason=reason,
            recorded_at=actor.at,
            recorded_by_member_id=actor.member_id,
            is_correction=is_correction,
            source_inbox_id=source_inbox_id if source_inbox_id is not None else actor.inbox_id,
            supersedes_id=previous.id if previous is not None else None,
        )
    )
    audit.record(
        session,
        actor,
        branch_id=meeting.branch_id,
        action="correct" if is_correction else "attend",
        entity="attendance",
        entity_id=row_id,
        meeting_id=meeting.id,
        member_id=member_id,
        status=status,
        previous=previous.status if previous is not None else None,
        reason=reason,
    )
    row = AttendanceRow(row_id, status, reason, actor.at)
    sitting: dict[int, AttendanceRow] | None = memo(session).get(("attendance", meeting.id))
    if sitting is not None:
        sitting[member_id] = row
    return row


def request_leave(
    session: Session,
    actor: Actor,
    *,
    branch_id: int,
    member_id: int,
    meeting: Meeting | None,
    reason: str,
    previous: AttendanceRow | Unknown | None = UNKNOWN,
) -> int:
    """Record a 请假 (at the open meeting when given, else pending for the next one); its id.

    `previous` is the member's current attendance row there, when the caller has read it.
    """
    meeting_id = meeting.id if meeting is not None else None
    leave_id = int(
        _INSERT_LEAVE.insert(
            session,
            branch_id=branch_id,
            member_id=member_id,
            meeting_id=meeting_id,
            reason=reason,
            requested_at=actor.at,
            recorded_by_member_id=actor.member_id,
            source_inbox_id=actor.inbox_id,
        )
    )
    audit.record(
        session,
        actor,
        branch_id=branch_id,
        action="leave",
        entity="leave_request",
        entity_id=leave_id,
        member_id=member_id,
        meeting_id=meeting_id,
        reason=reason,
    )
    if meeting is not None:
        if isinstance(previous, Unknown):
            previous = member_attendance(session, meeting.id, member_id)
        add_expected(session, meeting, member_id, has_record=previous is not None)
        record_attendance(
            session,
            actor,
            meeting,
            member_id,
            ATTEND_LEAVE,
            reason=reason,
            is_correction=actor.member_id != member_id,
            previous=previous,
        )
    return leave_id
