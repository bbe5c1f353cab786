"""The `Ledger` reminders read, over a database session for one branch (queries run on demand)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.branch_config import BranchCalendar
from scheduler.compose import Person, Sitting, Summary
from scheduler.plan import PlanItem, generate
from scheduler.rules import CalendarSettings
from storage import plans, queries, study
from storage.models import (
    ATTEND_LATE,
    ATTEND_MAKEUP,
    ATTEND_PRESENT,
    MEETING_CLOSED,
    Branch,
    MakeupItem,
    Meeting,
)
from storage.periods import Period
from storage.roster import active_members

ATTENDED = (ATTEND_PRESENT, ATTEND_LATE, ATTEND_MAKEUP)


@lru_cache(maxsize=512)
def generated(rules: CalendarSettings, year: int, groups: tuple[str, ...]) -> tuple[PlanItem, ...]:
    """The plan a branch's rules give for a year (branches with equal rules share it)."""
    return generate(rules, year, groups).items


def year_plan(
    session: Session, branch_id: int, rules: CalendarSettings, year: int
) -> tuple[tuple[PlanItem, ...], int | None]:
    """A branch's plan for a year: its latest stored version (and its number), else generated."""
    stored = plans.latest_version(session, branch_id, year)
    if stored is not None:
        items = tuple(
            PlanItem(e.date, e.kind, e.title, e.party_group, e.moved_from, e.note or "")
            for e in plans.entries(session, stored.id)
        )
        return items, stored.version
    groups = {m.party_group for m in active_members(session, branch_id) if m.party_group}
    return generated(rules, year, tuple(sorted(groups))), None


class SessionLedger:
    """One branch's ledger as reminders see it; each answer is remembered for this view."""

    def __init__(self, session: Session, branch: Branch, config: BranchCalendar) -> None:
        self.session = session
        self.branch = branch
        self.config = config
        self.zone = ZoneInfo(branch.timezone)
        self._members: list[Person] | None = None
        self._sittings: dict[str, list[Sitting]] = {}
        self._years: dict[int, tuple[PlanItem, ...]] = {}

    def plan(self, period: Period) -> Sequence[PlanItem]:
        """The branch's plan items in a period (its stored plan, else its rules')."""
        found: list[PlanItem] = []
        for year in range(period.start.year, period.end.year + 1):
            if year not in self._years:
                self._years[year], _ = year_plan(
                    self.session, self.branch.id, self.config.rules, year
                )
            found.extend(i for i in self._years[year] if period.contains(i.date))
        return found

    def members(self) -> Sequence[Person]:
        """The branch's active members in roster order."""
        if self._members is None:
            self._members = [
                Person(m.id, m.name, m.title, m.party_group, m.is_secretary)
                for m in active_members(self.session, self.branch.id)
            ]
        return self._members

    def sittings(self, period: Period) -> Sequence[Sitting]:
        """Meetings opened in the period (a sitting counts from the moment it is opened)."""
        if period.key not in self._sittings:
            start, end = queries.bounds(period, self.branch.timezone)
            rows = self.session.scalars(
                select(Meeting).where(
                    Meeting.branch_id == self.branch.id,
                    Meeting.started_at >= start,
                    Meeting.started_at < end,
                )
            )
            self._sittings[period.key] = [
                Sitting(
                    frozenset(m.kinds), m.party_group, m.started_at.astimezone(self.zone).date()
                )
                for m in rows
            ]
        return self._sittings[period.key]

    def unconfirmed(self, task_id: int) -> Sequence[int]:
        """Ids of active members who have not confirmed a study task."""
        done = study.confirmed_member_ids(self.session, task_id)
        return [p.id for p in self.members() if p.id not in done]

    def open_makeups(self) -> Sequence[tuple[int, str]]:
        """(member id, meeting label) of every 补课 still owed, oldest meeting first."""
        rows = self.session.scalars(
            select(MakeupItem)
            .where(
                MakeupItem.branch_id == self.branch.id,
                MakeupItem.done_at.is_(None),
                MakeupItem.cancelled_at.is_(None),
            )
            .order_by(MakeupItem.meeting_id, MakeupItem.member_id)
        )
        return [
            (row.member_id, queries.meeting_label(row.meeting, self.branch.timezone))
            for row in rows
        ]

    def summary(self, period: Period) -> Summary:
        """Meetings and attendance by kind, study, volunteer hours and 补课 owed."""
        facts = Summary()
        for view in queries.meetings_in(self.session, self.branch, period):
            closed = view.meeting.status == MEETING_CLOSED
            statuses = list(view.status_by_member.values())
            for kind in view.meeting.kinds:
                facts.meetings[kind] = facts.meetings.get(kind, 0) + 1
                if closed:
                    came, expected = facts.attendance.get(kind, (0, 0))
                    facts.attendance[kind] = (
                        came + sum(s in ATTENDED for s in statuses),
                        expected + len(statuses),
                    )
        roster_size = len(self.members())
        for _task, confirmations in queries.study_in(self.session, self.branch, period):
            facts.study_tasks += 1
            facts.study_expected += max(roster_size, len(confirmations))
            facts.study_done += len(confirmations)
        records = queries.volunteer_in(self.session, self.branch.id, period)
        facts.volunteer_hours = sum((r.hours for r in records), Decimal(0))
        facts.volunteer_people = len({r.member_id for r in records})
        names = {p.id: p.name for p in self.members()}
        facts.makeups = [
            (names[member_id], label)
            for member_id, label in self.open_makeups()
            if member_id in names
        ]
        return facts
