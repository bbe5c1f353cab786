"""Numbers over a period for a branch and for one member, computed from the ledger."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy.orm import Session

from storage import queries, volunteer
from storage.models import (
    ATTEND_ABSENT,
    ATTEND_LATE,
    ATTEND_LEAVE,
    ATTEND_MAKEUP,
    ATTEND_PRESENT,
    MEETING_CLOSED,
    Branch,
    Member,
)
from storage.periods import Period
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


def member_stats(session: Session, branch: Branch, member: Member, period: Period) -> MemberStats:
    """Collect one member's attendance, study, volunteer hours and open 补课 for a period."""
    stats = MemberStats(period)
    for meeting, status in queries.member_meetings_in(session, branch, period, member.id):
        if meeting.status != MEETING_CLOSED and status == ATTEND_ABSENT:
            continue
        label = queries.meeting_label(meeting, branch.timezone)
        if status in ATTENDED:
            stats.attended.append(label)
        elif status == ATTEND_LEAVE:
            stats.leave.append(label)
        else:
            stats.absent.append(label)
    for task, confirmations in queries.study_in(session, branch, period, member.id):
        (stats.study_done if member.id in confirmations else stats.study_pending).append(task.title)
    stats.volunteer_records, stats.volunteer_hours = volunteer.member_total(
        session, branch.id, member.id, period.start, period.end
    )
    return stats
