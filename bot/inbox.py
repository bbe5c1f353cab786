"""The bridge from platform callbacks to dispatch: off the event loop, then wake the sender."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from starlette.concurrency import run_in_threadpool

from bot.clock import Clock
from bot.dispatch import Dispatcher
from bot.message import DispatchResult, Message
from storage import messages
from storage.db import Database


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

    async def receive(self, message: Message) -> DispatchResult:
        """Dispatch in a worker thread (the database is synchronous) and wake the sender."""
        result = await run_in_threadpool(self.dispatcher.dispatch, message)
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
            await run_in_threadpool(self._mark, ids)

    def _mark(self, ids: list[int]) -> None:
        with self.db.transaction() as session:
            messages.mark_delivered(session, ids, self.clock.now())
