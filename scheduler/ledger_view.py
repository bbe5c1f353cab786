"""The `Ledger` reminders read, for many branches at once: each kind of fact is loaded for every
branch of the batch in one query the first time any branch needs it.

A tick that sends 1 000 branches their monthly summaries therefore runs a handful of queries,
not a few dozen per branch; a preview is simply a batch of one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, distinct, func, select, true, union
from sqlalchemy.orm import InstrumentedAttribute, Session

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
    ROLE_SECRETARY,
    Attendance,
    Branch,
    MakeupItem,
    Meeting,
    MeetingAttendee,
    MeetingKind,
    Member,
    PlanEntry,
    PlanVersion,
    StudyConfirmation,
    StudyTask,
    VolunteerRecord,
)
from storage.periods import Period
from storage.roster import active_members

ATTENDED = (ATTEND_PRESENT, ATTEND_LATE, ATTEND_MAKEUP)
# Meetings this far back are enough for every period a reminder looks at (a year, and a bit).
HISTORY = timedelta(days=400)
LARGE_BATCH = 200


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


class PlanStore:
    """Every branch's latest stored plan per year, kept until any plan version is added.

    Versions are append-only, so (count, highest id) of the versions table tells whether
    anything changed; a scheduler checks that once per tick and reloads only then.
    """

    def __init__(self) -> None:
        self._stamp: tuple[int, int] | None = None
        self._years: dict[int, dict[int, tuple[PlanItem, ...]]] = {}

    def sync(self, session: Session) -> None:
        """Forget what was loaded if a plan version was saved since."""
        count, highest = (
            session.connection()
            .execute(select(func.count(PlanVersion.id), func.max(PlanVersion.id)))
            .one()
        )
        stamp = (int(count or 0), int(highest or 0))
        if stamp != self._stamp:
            self._stamp = stamp
            self._years.clear()

    def year(self, session: Session, year: int) -> dict[int, tuple[PlanItem, ...]]:
        """Branch id -> its latest stored plan for the year (branches without one are absent)."""
        if year not in self._years:
            latest = (
                select(PlanVersion.branch_id, func.max(PlanVersion.version).label("v"))
                .where(PlanVersion.year == year)
                .group_by(PlanVersion.branch_id)
                .subquery()
            )
            connection = session.connection()
            found: dict[int, list[PlanItem]] = {
                b: [] for (b,) in connection.execute(select(latest.c.branch_id))
            }
            for row in connection.execute(
                select(
                    PlanVersion.branch_id,
                    PlanEntry.date,
                    PlanEntry.kind,
                    PlanEntry.title,
                    PlanEntry.party_group,
                    PlanEntry.moved_from,
                    PlanEntry.note,
                )
                .join(
                    latest,
                    (latest.c.branch_id == PlanVersion.branch_id)
                    & (latest.c.v == PlanVersion.version),
                )
                .join(PlanEntry, PlanEntry.plan_version_id == PlanVersion.id)
                .where(PlanVersion.year == year)
                .order_by(PlanEntry.plan_version_id, PlanEntry.position)
            ):
                found[row.branch_id].append(
                    PlanItem(
                        row.date,
                        row.kind,
                        row.title,
                        row.party_group,
                        row.moved_from,
                        row.note or "",
                    )
                )
            self._years[year] = {b: tuple(items) for b, items in found.items()}
        return self._years[year]


@dataclass(frozen=True)
class _Sitting:
    id: int
    branch_id: int
    group: str | None
    started_at: datetime
    status: str
    topic: str
    kinds: tuple[str, ...]


@dataclass
class _Branch:
    branch: Branch
    config: BranchCalendar
    zone: ZoneInfo
    sittings: dict[str, list[Sitting]] = field(default_factory=dict)
    plans: dict[str, list[PlanItem]] = field(default_factory=dict)


class LedgerBatch:
    """The ledgers of several branches, loaded together on demand within one session."""

    def __init__(
        self,
        session: Session,
        branches: Sequence[tuple[Branch, BranchCalendar]],
        since: datetime,
        store: PlanStore | None = None,
    ) -> None:
        self.session = session
        self.store = store or PlanStore()
        self.since = since - HISTORY
        self._branches = {b.id: _Branch(b, c, ZoneInfo(b.timezone)) for b, c in branches}
        self._ids = list(self._branches)
        self._members: dict[int, list[Person]] | None = None
        self._meetings: dict[int, list[_Sitting]] | None = None
        self._by_id: dict[int, _Sitting] = {}
        self._headcount: dict[int, tuple[int, int]] | None = None
        self._makeups: dict[int, list[tuple[int, str]]] | None = None
        self._study: dict[str, dict[int, list[int]]] = {}
        self._confirmed: dict[int, set[int]] | None = None
        self._ledgers: dict[int, BranchLedger] = {}
        self._volunteer: dict[str, dict[int, tuple[Decimal, int]]] = {}

    def _of_batch(self, column: InstrumentedAttribute[int]) -> ColumnElement[bool]:
        """Rows of the batch's branches; for a large batch, all rows (filtered in Python),
        because a thousand-item IN list costs more to send and parse than the extra rows."""
        if len(self._ids) > LARGE_BATCH:
            return true()
        return column.in_(self._ids)

    def ledger(self, branch_id: int) -> BranchLedger:
        """One branch's view of the batch."""
        found = self._ledgers.get(branch_id)
        if found is None:
            found = self._ledgers[branch_id] = BranchLedger(self, branch_id)
        return found

    # --- loaders: one query (or two) for every branch of the batch -----------------------

    def members(self, branch_id: int) -> list[Person]:
        """Active members of a branch, in roster order."""
        if self._members is None:
            self._members = defaultdict(list)
            for row in self.session.connection().execute(
                select(
                    Member.id,
                    Member.branch_id,
                    Member.name,
                    Member.title,
                    Member.party_group,
                    Member.role,
                )
                .where(self._of_batch(Member.branch_id), Member.active.is_(True))
                .order_by(Member.id)
            ):
                self._members[row.branch_id].append(
                    Person(row.id, row.name, row.title, row.party_group, row.role == ROLE_SECRETARY)
                )
        return self._members.get(branch_id, [])

    def _load_sittings(self, where: object) -> list[_Sitting]:
        kinds: dict[int, list[str]] = defaultdict(list)
        rows: dict[int, tuple[int, str | None, datetime, str, str]] = {}
        for row in self.session.connection().execute(
            select(
                Meeting.id,
                Meeting.branch_id,
                Meeting.party_group,
                Meeting.started_at,
                Meeting.status,
                Meeting.topic,
                MeetingKind.kind,
            )
            .outerjoin(MeetingKind, MeetingKind.meeting_id == Meeting.id)
            .where(where)  # type: ignore[arg-type]
            .order_by(Meeting.started_at, Meeting.id, MeetingKind.position)
        ):
            rows[row.id] = (row.branch_id, row.party_group, row.started_at, row.status, row.topic)
            if row.kind:
                kinds[row.id].append(row.kind)
        found = [
            _Sitting(i, b, g, at, status, topic or "", tuple(kinds[i]))
            for i, (b, g, at, status, topic) in rows.items()
        ]
        self._by_id.update((s.id, s) for s in found)
        return found

    def meetings(self, branch_id: int) -> list[_Sitting]:
        """A branch's recent meetings, oldest first."""
        if self._meetings is None:
            self._meetings = defaultdict(list)
            recent = self._of_batch(Meeting.branch_id) & (Meeting.started_at >= self.since)
            for sitting in self._load_sittings(recent):
                self._meetings[sitting.branch_id].append(sitting)
        return self._meetings.get(branch_id, [])

    def headcount(self, meeting_id: int) -> tuple[int, int]:
        """(实到, 应到) of a meeting: expected members plus anyone with a current record."""
        if self._headcount is None:
            recent = select(Meeting.id).where(
                self._of_batch(Meeting.branch_id), Meeting.started_at >= self.since
            )
            people = union(
                select(MeetingAttendee.meeting_id, MeetingAttendee.member_id).where(
                    MeetingAttendee.meeting_id.in_(recent)
                ),
                select(Attendance.meeting_id, Attendance.member_id).where(
                    Attendance.meeting_id.in_(recent), Attendance.superseded_at.is_(None)
                ),
            ).subquery()
            expected: dict[int, int] = {}
            for sitting_id, count in self.session.execute(
                select(people.c.meeting_id, func.count(distinct(people.c.member_id))).group_by(
                    people.c.meeting_id
                )
            ):
                expected[int(sitting_id)] = int(count)
            came: dict[int, int] = {}
            for sitting_id, count in self.session.execute(
                select(Attendance.meeting_id, func.count())
                .where(
                    Attendance.meeting_id.in_(recent),
                    Attendance.superseded_at.is_(None),
                    Attendance.status.in_(ATTENDED),
                )
                .group_by(Attendance.meeting_id)
            ):
                came[int(sitting_id)] = int(count)
            self._headcount = {m: (came.get(m, 0), n) for m, n in expected.items()}
        return self._headcount.get(meeting_id, (0, 0))

    def makeups(self, branch_id: int) -> list[tuple[int, str]]:
        """(member id, meeting label) of a branch's open 补课, oldest meeting first."""
        if self._makeups is None:
            self.meetings(branch_id)
            self._makeups = defaultdict(list)
            rows = list(
                self.session.connection().execute(
                    select(MakeupItem.branch_id, MakeupItem.member_id, MakeupItem.meeting_id)
                    .where(
                        self._of_batch(MakeupItem.branch_id),
                        MakeupItem.done_at.is_(None),
                        MakeupItem.cancelled_at.is_(None),
                    )
                    .order_by(MakeupItem.meeting_id, MakeupItem.member_id)
                )
            )
            rows = [r for r in rows if r.branch_id in self._branches]
            older = {r.meeting_id for r in rows} - set(self._by_id)
            if older:
                self._load_sittings(Meeting.id.in_(sorted(older)))
            for row in rows:
                if row.branch_id not in self._branches:
                    continue  # a large batch reads every branch's rows
                sitting = self._by_id[row.meeting_id]
                zone = self._branches[row.branch_id].zone.key
                label = queries.sitting_label(
                    sitting.started_at, sitting.kinds, sitting.topic, zone
                )
                self._makeups[row.branch_id].append((row.member_id, label))
        return self._makeups.get(branch_id, [])

    def plan(self, branch_id: int, year: int) -> tuple[PlanItem, ...]:
        """A branch's plan for a year: the latest stored version, else its rules' plan."""
        stored = self.store.year(self.session, year).get(branch_id)
        if stored is not None:
            return stored
        groups = {p.party_group for p in self.members(branch_id) if p.party_group}
        rules = self._branches[branch_id].config.rules
        return generated(rules, year, tuple(sorted(groups)))

    def confirmed(self, task_id: int) -> set[int]:
        """Ids of members who confirmed a study task (recent tasks of all branches at once)."""
        if self._confirmed is None:
            self._confirmed = defaultdict(set)
            for confirmed_task, member_id in self.session.execute(
                select(StudyConfirmation.task_id, StudyConfirmation.member_id)
                .join(StudyTask, StudyTask.id == StudyConfirmation.task_id)
                .where(self._of_batch(StudyTask.branch_id), StudyTask.published_at >= self.since)
            ):
                self._confirmed[confirmed_task].add(member_id)
        if task_id not in self._confirmed:
            # An older task than the batch looked at: ask for it alone.
            self._confirmed[task_id] = study.confirmed_member_ids(self.session, task_id)
        return self._confirmed[task_id]

    def study_counts(self, branch_id: int, period: Period) -> list[int]:
        """Confirmation counts of the study tasks a branch published in a period."""
        if period.key not in self._study:
            by_branch: dict[int, list[int]] = defaultdict(list)
            # Wide enough for any time zone; each branch's own bounds are applied below.
            low = datetime.combine(period.start - timedelta(days=1), time(0), UTC)
            high = datetime.combine(period.end + timedelta(days=1), time(0), UTC)
            rows = self.session.execute(
                select(
                    StudyTask.id,
                    StudyTask.branch_id,
                    StudyTask.published_at,
                    func.count(StudyConfirmation.member_id),
                )
                .outerjoin(StudyConfirmation, StudyConfirmation.task_id == StudyTask.id)
                .where(
                    self._of_batch(StudyTask.branch_id),
                    StudyTask.published_at >= low,
                    StudyTask.published_at < high,
                )
                .group_by(StudyTask.id, StudyTask.branch_id, StudyTask.published_at)
                .order_by(StudyTask.published_at, StudyTask.id)
            )
            for _task_id, branch_id_, published, count in rows:
                if branch_id_ not in self._branches:
                    continue
                start, end = queries.bounds(period, self._branches[branch_id_].zone.key)
                if start <= published < end:
                    by_branch[branch_id_].append(int(count))
            self._study[period.key] = by_branch
        return self._study[period.key].get(branch_id, [])

    def volunteer(self, branch_id: int, period: Period) -> tuple[Decimal, int]:
        """A branch's volunteer hours in a period and how many members served."""
        if period.key not in self._volunteer:
            rows = self.session.execute(
                select(
                    VolunteerRecord.branch_id,
                    func.sum(VolunteerRecord.hours),
                    func.count(distinct(VolunteerRecord.member_id)),
                )
                .where(
                    self._of_batch(VolunteerRecord.branch_id),
                    VolunteerRecord.service_date >= period.start,
                    VolunteerRecord.service_date < period.end,
                )
                .group_by(VolunteerRecord.branch_id)
            )
            self._volunteer[period.key] = {
                b: (Decimal(str(hours or 0)).quantize(Decimal("0.01")), int(people))
                for b, hours, people in rows
            }
        return self._volunteer[period.key].get(branch_id, (Decimal(0), 0))


class BranchLedger:
    """One branch's ledger as reminders see it (implements `scheduler.compose.Ledger`)."""

    def __init__(self, batch: LedgerBatch, branch_id: int) -> None:
        self.batch = batch
        self.branch_id = branch_id
        self.entry = batch._branches[branch_id]

    def members(self) -> Sequence[Person]:
        """The branch's active members in roster order."""
        return self.batch.members(self.branch_id)

    def sittings(self, period: Period) -> Sequence[Sitting]:
        """Meetings opened in the period (a sitting counts from the moment it is opened)."""
        cache = self.entry.sittings
        if period.key not in cache:
            start, end = queries.bounds(period, self.entry.zone.key)
            cache[period.key] = [
                Sitting(
                    frozenset(s.kinds), s.group, s.started_at.astimezone(self.entry.zone).date()
                )
                for s in self.batch.meetings(self.branch_id)
                if start <= s.started_at < end
            ]
        return cache[period.key]

    def unconfirmed(self, task_id: int) -> Sequence[int]:
        """Ids of active members who have not confirmed a study task."""
        done = self.batch.confirmed(task_id)
        return [p.id for p in self.members() if p.id not in done]

    def open_makeups(self) -> Sequence[tuple[int, str]]:
        """(member id, meeting label) of every 补课 still owed, oldest meeting first."""
        return self.batch.makeups(self.branch_id)

    def plan(self, period: Period) -> Sequence[PlanItem]:
        """The branch's plan items in a period (its stored plan, else its rules')."""
        cache = self.entry.plans
        if period.key not in cache:
            found: list[PlanItem] = []
            for year in range(period.start.year, period.end.year + 1):
                found.extend(
                    i for i in self.batch.plan(self.branch_id, year) if period.contains(i.date)
                )
            cache[period.key] = found
        return cache[period.key]

    def summary(self, period: Period) -> Summary:
        """Meetings and attendance by kind, study, volunteer hours and 补课 owed."""
        facts = Summary()
        start, end = queries.bounds(period, self.entry.zone.key)
        for sitting in self.batch.meetings(self.branch_id):
            if not start <= sitting.started_at < end:
                continue
            came, expected = self.batch.headcount(sitting.id)
            for kind in sitting.kinds:
                facts.meetings[kind] = facts.meetings.get(kind, 0) + 1
                if sitting.status == MEETING_CLOSED:
                    total_came, total_expected = facts.attendance.get(kind, (0, 0))
                    facts.attendance[kind] = (total_came + came, total_expected + expected)
        roster_size = len(self.members())
        for confirmations in self.batch.study_counts(self.branch_id, period):
            facts.study_tasks += 1
            facts.study_expected += max(roster_size, confirmations)
            facts.study_done += confirmations
        facts.volunteer_hours, facts.volunteer_people = self.batch.volunteer(self.branch_id, period)
        names = {p.id: p.name for p in self.members()}
        facts.makeups = [
            (names[member_id], label)
            for member_id, label in self.open_makeups()
            if member_id in names
        ]
        return facts


def branch_ledger(
    session: Session,
    branch: Branch,
    config: BranchCalendar,
    since: datetime,
    store: PlanStore | None = None,
) -> BranchLedger:
    """The ledger of a single branch (a batch of one)."""
    return LedgerBatch(session, [(branch, config)], since, store).ledger(branch.id)
