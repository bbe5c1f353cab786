"""Benchmark: reminder ticks for N branches with a full year's plan (time and SQL per tick).

Usage: .venv/bin/python bench/scheduler.py [--branches 1000] [--ticks 20] [--database-url URL]
       [--sql N] [--profile N]     (URL: an empty database, e.g. postgresql+psycopg://...)
Seeds branches (members, a bound WeCom chat, past meetings with 补课, a study task, stored or
generated plans), then times a cold tick, steady-state ticks every 60 s of simulated time and
a tick when every branch's summaries are due. Not a test: nothing here asserts timing.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import logging
import pstats
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, event, func, insert, select

from scheduler.plan import generate
from scheduler.reminders import Scheduler, TickReport
from scheduler.rules import CalendarSettings
from scheduler.workdays import is_workday
from storage import meetings, migrate, plans, roster, study
from storage.audit import Actor
from storage.db import Database
from storage.models import (
    ATTEND_PRESENT,
    ROLE_MEMBER,
    ROLE_SECRETARY,
    Attendance,
    Branch,
    Member,
    MemberIdentity,
    OutboxEntry,
    StudyConfirmation,
    VolunteerRecord,
)

ZONE = "Asia/Shanghai"
PLATFORM = "wecom"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚"
TITLES = ("书记", "组织委员", "宣传委员")  # the first members; the rest are 党员
GROUPS = 3
CHUNK = 100  # branches per seeding transaction (meetings, study, plans)


@dataclass
class Seeded:
    """What the seed created (counts are printed; nothing else depends on them)."""

    branches: int = 0
    members: int = 0
    meetings: int = 0
    makeups: int = 0
    study_tasks: int = 0
    stored_plans: int = 0
    plan_entries: int = 0


@dataclass
class Measured:
    """One timed tick."""

    label: str
    now: datetime
    seconds: float
    statements: int
    report: TickReport
    shapes: Counter[str] = field(default_factory=Counter)


class CountingHandler(logging.Handler):
    """Counts log records instead of printing them (stale skips log one warning each)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        """Count the record (its message is formatted, as a real handler would)."""
        record.getMessage()
        self.count += 1


class StatementCounter:
    """Counts SQL statements sent to the database (a `before_cursor_execute` listener).

    Every cursor execution counts once (an executemany batch is one); on SQLite that includes
    the BEGIN the engine issues itself, psycopg begins implicitly. With `shapes`, statements
    are also tallied by their text (the compiled strings are cached, so this stays cheap).
    """

    def __init__(self, engine: Engine, shapes: bool = False) -> None:
        self.count = 0
        self.keep_shapes = shapes
        self.shapes: Counter[str] = Counter()
        event.listen(engine, "before_cursor_execute", self._on_execute)

    def _on_execute(self, *args: Any) -> None:
        self.count += 1
        if self.keep_shapes:
            self.shapes[args[2]] += 1

    def reset(self) -> None:
        """Start counting from zero."""
        self.count = 0
        self.shapes = Counter()


def member_names(count: int) -> list[str]:
    """Distinct synthetic Chinese names."""
    base = [s + g + h for s in SURNAMES for g in GIVEN for h in ("", "华")]
    return [
        base[i % len(base)] + (str(i // len(base)) if i >= len(base) else "") for i in range(count)
    ]


def _month_day(start: date, back: int, day: int) -> date:
    """The given day of the month `back` months before `start`'s month."""
    index = start.year * 12 + start.month - 1 - back
    return date(index // 12, index % 12 + 1, day)


def _stores_plan(index: int, fraction: float) -> bool:
    """Spread `fraction` of the branches evenly over the branch order."""
    return int((index + 1) * fraction) > int(index * fraction)


def seed(
    db: Database, branches: int, per_branch: int, year: int, fraction: float, start: datetime
) -> Seeded:
    """Create branches with members, a bound chat, past meetings, a study task and plans."""
    done = Seeded(branches=branches)
    zone = ZoneInfo(ZONE)
    created = start - timedelta(days=120)
    system = Actor("bench", created)
    names = member_names(per_branch)
    group_names = sorted({f"第{i % GROUPS + 1}党小组" for i in range(per_branch)})
    plan_rows = [
        plans.PlanRow(i.date, i.kind, i.title, i.group, i.moved_from, i.note or None)
        for i in generate(CalendarSettings(), year, group_names).items
    ]
    rng = random.Random(20260302)

    # Roster in bulk (no audit rows: the audit trail is not read by the tick).
    with db.transaction() as session:
        session.execute(
            insert(Branch),
            [
                {"name": f"基准第{b + 1}支部", "timezone": ZONE, "created_at": created}
                for b in range(branches)
            ],
        )
        branch_ids = list(session.scalars(select(Branch.id).order_by(Branch.id)))
        session.execute(
            insert(Member),
            [
                {
                    "branch_id": branch_id,
                    "name": names[i],
                    "title": TITLES[i] if i < len(TITLES) else "党员",
                    "party_group": f"第{i % GROUPS + 1}党小组",
                    "role": ROLE_SECRETARY if i < 2 else ROLE_MEMBER,
                    "created_at": created,
                    "updated_at": created,
                }
                for branch_id in branch_ids
                for i in range(per_branch)
            ],
        )
        roster_ids: dict[int, list[tuple[int, str | None]]] = {b: [] for b in branch_ids}
        for member_id, branch_id, group in session.execute(
            select(Member.id, Member.branch_id, Member.party_group).order_by(Member.id)
        ):
            roster_ids[branch_id].append((member_id, group))
        session.execute(
            insert(MemberIdentity),
            [
                {
                    "branch_id": branch_id,
                    "member_id": member_id,
                    "platform": PLATFORM,
                    "external_id": f"b{b}u{i}",
                }
                for b, branch_id in enumerate(branch_ids)
                for i, (member_id, _group) in enumerate(roster_ids[branch_id])
            ],
        )
        done.members = branches * per_branch
        chat_ids: dict[int, int] = {}
        for b, branch_id in enumerate(branch_ids):
            branch = session.get(Branch, branch_id)
            assert branch is not None
            chat = roster.ensure_chat(session, PLATFORM, f"chat-{b}", title=None, at=created)
            roster.bind_chat(session, system, chat, branch)
            chat_ids[branch_id] = chat.id
        session.flush()

    # Ledger history through the storage helpers, a chunk of branches per transaction.
    today = start.astimezone(zone).date()
    for first in range(0, branches, CHUNK):
        with db.transaction() as session:
            for b in range(first, min(first + CHUNK, branches)):
                branch_id = branch_ids[b]
                people = roster_ids[branch_id]
                everyone = [m for m, _g in people]
                secretary = everyone[0]
                group = f"第{b % GROUPS + 1}党小组"
                sittings: list[tuple[date, list[str], str | None, list[int]]] = [
                    (_month_day(today, 2, 12), ["支部委员会"], None, everyone[: len(TITLES)]),
                    (_month_day(today, 2, 20), ["支部党员大会", "党课"], None, everyone),
                    (
                        _month_day(today, 1, 10),
                        ["党小组会"],
                        group,
                        [m for m, g in people if g == group],
                    ),
                    (_month_day(today, 1, 24), ["主题党日"], None, everyone),
                ]
                for day, kinds, party_group, expected in sittings:
                    opened = datetime.combine(day, datetime.min.time(), zone) + timedelta(hours=15)
                    actor = Actor("bench", opened, member_id=secretary)
                    meeting = meetings.open_meeting(
                        session,
                        actor,
                        branch_id=branch_id,
                        chat_id=chat_ids[branch_id],
                        kinds=kinds,
                        topic="基准会议",
                        party_group=party_group,
                        expected_member_ids=expected,
                    )
                    present = [m for m in expected if m == secretary or rng.random() >= 0.1]
                    if present:
                        session.execute(
                            insert(Attendance),
                            [
                                {
                                    "meeting_id": meeting.id,
                                    "member_id": m,
                                    "status": ATTEND_PRESENT,
                                    "recorded_at": opened + timedelta(minutes=5),
                                    "recorded_by_member_id": m,
                                }
                                for m in present
                            ],
                        )
                    closed = meetings.close_meeting(
                        session, Actor("bench", opened + timedelta(hours=2), secretary), meeting
                    )
                    done.meetings += 1
                    done.makeups += closed.makeups_created
                published = start - timedelta(days=5)
                task = study.publish(
                    session,
                    Actor("bench", published, member_id=secretary),
                    branch_id=branch_id,
                    chat_id=chat_ids[branch_id],
                    title="《中国共产党章程》第一章",
                    deadline=today + timedelta(days=1),
                    link=None,
                )
                done.study_tasks += 1
                confirmed = [m for m in everyone if rng.random() < 0.6]
                if confirmed:
                    session.execute(
                        insert(StudyConfirmation),
                        [
                            {
                                "task_id": task.id,
                                "member_id": m,
                                "confirmed_at": published + timedelta(days=1),
                                "recorded_by_member_id": m,
                            }
                            for m in confirmed
                        ],
                    )
                session.execute(
                    insert(VolunteerRecord),
                    [
                        {
                            "branch_id": branch_id,
                            "member_id": m,
                            "service_date": _month_day(today, 1, 15),
                            "hours": Decimal("2.5"),
                            "activity": "社区服务",
                            "recorded_at": published,
                        }
                        for m in everyone[:5]
                    ],
                )
                if _stores_plan(b, fraction):
                    branch = session.get(Branch, branch_id)
                    assert branch is not None
                    plans.save_version(
                        session, system, branch, year, plan_rows, plans.SOURCE_GENERATED
                    )
                    done.stored_plans += 1
                    done.plan_entries += len(plan_rows)
    return done


def measure(
    label: str,
    scheduler: Scheduler,
    counter: StatementCounter,
    now: datetime,
    profile: cProfile.Profile | None = None,
) -> Measured:
    """Run one tick at `now`, timing it and counting its SQL statements."""
    counter.reset()
    started = time.perf_counter()
    if profile is not None:
        profile.enable()
    report = scheduler.tick(now)
    if profile is not None:
        profile.disable()
    seconds = time.perf_counter() - started
    return Measured(label, now, seconds, counter.count, report, counter.shapes)


def busy_moment(start: datetime) -> datetime:
    """09:00 on the first 1st-of-a-month after `start` that is a working day."""
    local = start.astimezone(ZoneInfo(ZONE))
    day = _month_day(local.date(), -1, 1)
    while not is_workday(day):
        day = _month_day(day, -1, 1)
    return datetime.combine(day, datetime.min.time(), local.tzinfo) + timedelta(hours=9)


def _row(m: Measured) -> str:
    r = m.report
    return (
        f"{m.label:<28} {m.now.astimezone(ZoneInfo(ZONE)):%Y-%m-%d %H:%M} "
        f"{1000 * m.seconds:>9.1f} {m.statements:>6} "
        f"{r.branches:>6} {r.considered:>6} {r.queued:>6} {r.skipped:>6} {r.already:>6}"
    )


def _print_shapes(m: Measured, top: int) -> None:
    print(f"  SQL of {m.label} (top {top} of {len(m.shapes)} shapes):")
    for statement, count in m.shapes.most_common(top):
        print(f"  {count:>7}  {' '.join(statement.split())[:110]}")


def _print_profile(label: str, profile: cProfile.Profile, top: int) -> None:
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats(order).print_stats(top)
        lines = out.getvalue().splitlines()
        body = [line for line in lines if line.strip()]
        print(f"--- profile of {label}, by {order} ---")
        print("\n".join(body[body.index(next(x for x in body if "ncalls" in x)) :]))


def main() -> None:
    """Seed, tick and print the numbers."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--branches", type=int, default=1000)
    parser.add_argument("--members", type=int, default=30, help="per branch, in 3 党小组")
    parser.add_argument("--ticks", type=int, default=20, help="steady-state ticks, 60 s apart")
    parser.add_argument(
        "--database-url", default=None, help="an empty database (default: temp SQLite)"
    )
    parser.add_argument("--year", type=int, default=2026)
    parser.add_argument(
        "--stored-plans", type=float, default=0.5, help="fraction of branches with a stored plan"
    )
    parser.add_argument(
        "--start",
        type=datetime.fromisoformat,
        default=datetime.fromisoformat("2026-03-02T08:30+08:00"),
        help="ISO datetime of the cold tick (a working-day morning)",
    )
    parser.add_argument(
        "--busy",
        type=datetime.fromisoformat,
        default=None,
        help="ISO datetime of the summary burst (default: 09:00 on the next working 1st)",
    )
    parser.add_argument("--sql", type=int, default=0, help="print the N most frequent statements")
    parser.add_argument("--profile", type=int, default=0, help="cProfile each tick, print top N")
    args = parser.parse_args()
    if args.start.tzinfo is None or (args.busy is not None and args.busy.tzinfo is None):
        parser.error("--start and --busy need a UTC offset, e.g. 2026-03-02T08:30+08:00")
    if not 0 <= args.stored_plans <= 1:
        parser.error("--stored-plans is a fraction between 0 and 1")
    if args.members < len(TITLES):
        parser.error(f"--members must be at least {len(TITLES)}")

    logged = CountingHandler()
    logging.basicConfig(level=logging.WARNING, handlers=[logged])
    tmp = tempfile.TemporaryDirectory()
    url = args.database_url or f"sqlite:///{tmp.name}/bench.db"
    db = Database(url)
    migrate.upgrade(db.engine)
    with db.session() as session:
        if roster.branch_count(session):
            sys.exit("the database already has branches: give an empty one")

    started = time.perf_counter()
    seeded = seed(db, args.branches, args.members, args.year, args.stored_plans, args.start)
    seeding = time.perf_counter() - started
    counter = StatementCounter(db.engine, shapes=bool(args.sql))
    busy = args.busy or busy_moment(args.start)
    profiles: list[tuple[str, cProfile.Profile]] = []

    def profiled(label: str) -> cProfile.Profile | None:
        if not args.profile:
            return None
        profile = cProfile.Profile()
        profiles.append((label, profile))
        return profile

    print(
        f"backend={db.engine.dialect.name} branches={seeded.branches} "
        f"members/branch={args.members} ({GROUPS} 党小组) stored plans={seeded.stored_plans} "
        f"({args.year}, {seeded.plan_entries} entries) generated={args.branches - seeded.stored_plans}"
    )
    print(
        f"seed: {seeding:.1f} s ({seeded.members} members, {seeded.meetings} meetings, "
        f"{seeded.makeups} 补课, {seeded.study_tasks} study tasks) — excluded below"
    )
    if args.profile:
        print("(cProfile is on: wall times below are inflated)")

    scheduler = Scheduler(db)  # a fresh process: nothing settled in memory
    results: list[Measured] = [
        measure("cold (fresh Scheduler)", scheduler, counter, args.start, profiled("cold tick"))
    ]
    steady: list[Measured] = []
    for i in range(1, args.ticks + 1):
        profile = profiled("last steady tick") if i == args.ticks else None
        steady.append(
            measure(
                f"steady {i}",
                scheduler,
                counter,
                args.start + timedelta(seconds=60 * i),
                profile,
            )
        )
    results.extend(steady)
    local_busy = busy.astimezone(ZoneInfo(ZONE))
    results.append(
        measure("busy: catch-up 1 min before", scheduler, counter, busy - timedelta(minutes=1))
    )
    results.append(measure("busy: summaries due", scheduler, counter, busy, profiled("busy tick")))

    print(
        f"busy moment {local_busy:%Y-%m-%d %H:%M %Z} is a working day: "
        f"{is_workday(local_busy.date())}"
    )
    print(
        f"{'tick':<28} {'at (local)':<16} {'wall ms':>9} {'SQL':>6} "
        f"{'branch':>6} {'consid':>6} {'queued':>6} {'skip':>6} {'alrdy':>6}"
    )
    for m in results:
        print(_row(m))
    if steady:
        walls = sorted(1000 * m.seconds for m in steady)
        sql = sorted(m.statements for m in steady)
        print(
            f"steady state ({len(steady)} ticks): wall ms p50={statistics.median(walls):.1f} "
            f"max={walls[-1]:.1f}; SQL p50={statistics.median(sql):.0f} max={sql[-1]}"
        )
    with db.session() as session:
        rows = dict(
            session.execute(
                select(OutboxEntry.status, func.count()).group_by(OutboxEntry.status)
            ).all()
        )
    print(f"outbox after the run: {rows}; warnings logged: {logged.count}")
    if args.sql:
        for shown in (results[0], *steady[-1:], results[-1]):
            _print_shapes(shown, args.sql)
    for label, profile in profiles:
        _print_profile(label, profile, args.profile)
    db.dispose()
    tmp.cleanup()


if __name__ == "__main__":
    main()
