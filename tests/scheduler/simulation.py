"""Drive a branch through simulated time: chat events at their moments, scheduler ticks between."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable, Sequence
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from scheduler.plan import PlanItem, generate
from scheduler.reminders import OUTBOX_KIND, Scheduler
from scheduler.rules import CalendarSettings
from storage.db import Database
from storage.models import OutboxEntry
from tests.factories import ChatBot

TZ = ZoneInfo("Asia/Shanghai")
GROUPS = ("第一党小组", "第二党小组")  # the sample roster's 党小组
SECRETARY = "李明"

Event = tuple[datetime, str, str]  # when, who, what they say in the group


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """An aware Asia/Shanghai moment."""
    return datetime(year, month, day, hour, minute, tzinfo=TZ)


def default_plan(year: int) -> tuple[PlanItem, ...]:
    """The plan the default rules give the sample branch for a year."""
    return generate(CalendarSettings(), year, GROUPS).items


def sitting(day: dt.date, text: str) -> list[Event]:
    """The secretary opens a meeting at 10:00 and closes check-in at 11:00 that day."""
    return [
        (datetime.combine(day, time(10), TZ), SECRETARY, text),
        (datetime.combine(day, time(11), TZ), SECRETARY, "结束签到"),
    ]


def run(
    bot: ChatBot,
    schedulers: Sequence[Scheduler],
    start: datetime,
    end: datetime,
    step: timedelta,
    events: Iterable[Event] = (),
) -> None:
    """Tick every scheduler each `step` from start to end; chat events happen in between."""
    pending = sorted(events)
    now = start
    while now < end:
        while pending and pending[0][0] <= now:
            at, who, text = pending.pop(0)
            bot.clock.set(at)
            bot.say(who, text)
        for scheduler in schedulers:
            scheduler.tick(now)
        now += step


def run_concurrently(
    db: Database, instances: int, start: datetime, end: datetime, step: timedelta
) -> list[BaseException]:
    """Several schedulers (threads, each its own instance) tick the same times at once."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(instances)

    def work() -> None:
        scheduler = Scheduler(db)
        now = start
        try:
            while now < end:
                barrier.wait(timeout=60)  # every instance ticks the same moment together
                scheduler.tick(now)
                now += step
        except BaseException as exc:  # reported to the test, not lost in a thread
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=work) for _ in range(instances)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def reminder_rows(db: Database) -> list[OutboxEntry]:
    """Every reminder row in the outbox, oldest first."""
    with db.session() as session:
        return list(
            session.scalars(
                select(OutboxEntry)
                .where(OutboxEntry.kind.like(f"{OUTBOX_KIND}.%"))
                .order_by(OutboxEntry.id)
            )
        )


def rule_of(row: OutboxEntry) -> str:
    """The reminder rule an outbox row was queued by (its kind is reminder.<rule>)."""
    return row.kind.removeprefix(f"{OUTBOX_KIND}.")
