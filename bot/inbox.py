"""The bridge from platform callbacks to dispatch: off the event loop, then wake the sender."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from bot.clock import Clock
from bot.dispatch import Dispatcher
from bot.message import DispatchResult, Message
from storage import messages
from storage.db import Database

T = TypeVar("T")

# Dispatch is CPU-bound Python holding the GIL; dozens of pool threads contending for it (and
# for SQLite's single writer) cost more than they overlap. A few dedicated threads do better:
# one for SQLite, whose writes are serial anyway, a handful for PostgreSQL's round trips.
WRITERS_SQLITE = 1
WRITERS_SERVER_DB = 4


class DispatchInbox:
    """Implements the platforms' `Inbox` with the production dispatcher."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        db: Database,
        clock: Clock,
        on_queued: Callable[[], None] | None = None,
    ) -> None:
        self.dispatcher = dispatcher
        self.db = db
        self.clock = clock
        self.on_queued = on_queued
        workers = WRITERS_SQLITE if db.is_sqlite else WRITERS_SERVER_DB
        self._writers = ThreadPoolExecutor(workers, thread_name_prefix="zhibu-dispatch")

    async def _run(self, func: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._writers, func, *args)

    def close(self) -> None:
        """Let queued work finish and stop the dispatch threads."""
        self._writers.shutdown(wait=True)

    async def receive(self, message: Message) -> DispatchResult:
        """Dispatch on a dispatch thread (the database is synchronous) and wake the sender."""
        result = await self._run(self.dispatcher.dispatch, message)
        if (
            result.replies
            and not result.duplicate
            and not message.reply_inline
            and self.on_queued is not None
        ):
            self.on_queued()
        return result

    async def delivered(self, outbox_ids: Sequence[int]) -> None:
        """Mark replies sent that went back inside the callback's own response."""
        ids = [i for i in outbox_ids if i]
        if ids:
            await self._run(self._mark, ids)

    def _mark(self, ids: list[int]) -> None:
        with self.db.transaction() as session:
            messages.mark_delivered(session, ids, self.clock.now())
