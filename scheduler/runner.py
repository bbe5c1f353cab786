"""Drive the reminder tick with APScheduler: inside `zhibu serve`, or alone as `zhibu scheduler`.

APScheduler only says "tick now" (one interval job with a stable id and `replace_existing`);
what is due and whether it was already queued is decided from the database on every tick, so
restarts and several running schedulers are harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from bot.clock import Clock
from scheduler.reminders import Scheduler, TickReport
from storage.db import Database

log = logging.getLogger(__name__)

JOB_ID = "zhibu-reminders"
DEFAULT_INTERVAL_SECONDS = 60


class ReminderTicker:
    """Runs one reminder tick at the clock's time and reports what it queued."""

    def __init__(
        self, db: Database, clock: Clock, on_queued: Callable[[], None] | None = None
    ) -> None:
        self.scheduler = Scheduler(db)
        self.clock = clock
        self.on_queued = on_queued
        self._ticks = 0

    def tick(self) -> TickReport:
        """Queue whatever is due now; never raises (the next tick tries again)."""
        try:
            report = self.scheduler.tick(self.clock.now())
        except Exception:
            log.exception("reminder tick failed; the next tick will try again")
            return TickReport()
        self._ticks += 1
        if self._ticks == 1:
            log.info(
                "reminders: first tick checked %d branches: %d queued, %d stale skipped",
                report.branches,
                report.queued,
                report.skipped,
            )
        elif report.queued or report.skipped:
            log.info(
                "reminders: %d queued, %d stale skipped (%d branches)",
                report.queued,
                report.skipped,
                report.branches,
            )
        if report.queued and self.on_queued is not None:
            self.on_queued()
        return report

    def _job(self, scheduler: AsyncIOScheduler | BlockingScheduler, interval: int) -> None:
        scheduler.add_job(
            self.tick,
            "interval",
            seconds=interval,
            id=JOB_ID,
            replace_existing=True,
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC),  # catch up at once after a restart
        )

    def start_async(self, interval: int = DEFAULT_INTERVAL_SECONDS) -> AsyncIOScheduler:
        """Start ticking inside the running event loop (the tick runs on a worker thread)."""
        scheduler = AsyncIOScheduler(timezone=UTC)
        self._job(scheduler, interval)
        scheduler.start()
        return scheduler

    def run_blocking(self, interval: int = DEFAULT_INTERVAL_SECONDS) -> None:
        """Tick in the foreground until interrupted (`zhibu scheduler`)."""
        scheduler = BlockingScheduler(timezone=UTC)
        self._job(scheduler, interval)
        try:
            scheduler.start()
        except (KeyboardInterrupt, SystemExit):
            log.info("scheduler stopped")
