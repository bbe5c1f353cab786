"""The bridge from platform callbacks to dispatch: batched writers off the event loop.

Callbacks queue their message on a writer lane and await the answer. Each lane is one thread
that takes everything queued (up to `MAX_BATCH`), dispatches it in one transaction (group
commit; see `Dispatcher.dispatch_batch` for how one failing message is contained), and only
then answers every waiting callback. A chat always goes to the same lane, so its messages are
handled in arrival order.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.clock import Clock
from bot.dispatch import FAILURE_TEXT, Dispatcher
from bot.message import DispatchResult, Message, Outgoing
from storage import messages
from storage.db import Database

log = logging.getLogger(__name__)

# SQLite has one writer at a time, so one lane. PostgreSQL could overlap the round trips of a
# few, but on the 2-core machines we run on, lanes fight over the GIL and each gets smaller
# batches: bench/callback.py on PostgreSQL gave 1 lane 1 451/s (1 chat) and 1 303/s (20
# chats), 2 lanes 1 443 / 977, 4 lanes 1 425 / 661. So one lane there too.
LANES_SQLITE = 1
LANES_SERVER_DB = 1
# Enough to amortise a commit, small enough that the first message of a batch is not kept
# waiting long for the last.
MAX_BATCH = 64
# Inline replies whose delivery is still to be noted; older entries fall back to any lane.
OWNERS_KEPT = 10_000


@dataclass(frozen=True)
class _Job:
    message: Message
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[DispatchResult]


@dataclass(frozen=True)
class _Delivered:
    outbox_ids: tuple[int, ...]


@dataclass(frozen=True)
class _Barrier:
    event: threading.Event


_STOP = object()


def leaves_replies_queued(message: Message, result: DispatchResult) -> bool:
    """True when dispatch queued replies that only the outbox sender will deliver."""
    return bool(result.replies) and not result.duplicate and not message.reply_inline


def _settle(future: asyncio.Future[DispatchResult], result: DispatchResult) -> None:
    if not future.done():
        future.set_result(result)


class _Lane:
    """One writer thread draining its queue in batches."""

    def __init__(self, name: str, dispatcher: Dispatcher, db: Database, clock: Clock) -> None:
        self.dispatcher = dispatcher
        self.db = db
        self.clock = clock
        self.queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def _take(self) -> list[object]:
        batch = [self.queue.get()]
        while len(batch) < MAX_BATCH:
            try:
                batch.append(self.queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _run(self) -> None:
        while True:
            batch = self._take()
            delivered = [
                i for item in batch if isinstance(item, _Delivered) for i in item.outbox_ids
            ]
            jobs = [item for item in batch if isinstance(item, _Job)]
            if jobs:
                self._dispatch(jobs, delivered)
            elif delivered:
                self._mark(delivered)
            for item in batch:
                if isinstance(item, _Barrier):
                    item.event.set()
            if any(item is _STOP for item in batch):
                return

    def _dispatch(self, jobs: list[_Job], delivered: list[int]) -> None:
        try:
            results = self.dispatcher.dispatch_batch([job.message for job in jobs], delivered)
        except Exception:
            # dispatch_batch answers its own failures; this guards the lane itself.
            log.exception("dispatch lane failed on a batch of %d", len(jobs))
            if delivered:
                self._mark(delivered)
            results = [
                DispatchResult(replies=(Outgoing(0, job.message.chat_id, FAILURE_TEXT),))
                for job in jobs
            ]
        for job, result in zip(jobs, results, strict=True):
            try:
                job.loop.call_soon_threadsafe(_settle, job.future, result)
            except RuntimeError:  # the callback's loop is gone (shutdown)
                log.debug("dispatch: loop closed before %s was answered", job.message.message_id)

    def _mark(self, ids: list[int]) -> None:
        try:
            with self.db.transaction() as session:
                messages.mark_delivered(session, ids, self.clock.now())
        except Exception:
            # The outbox sender sends them after the grace period instead: at worst twice.
            log.exception("could not mark %d inline replies delivered", len(ids))


class DispatchInbox:
    """Implements the platforms' `Inbox` with the production dispatcher."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        db: Database,
        clock: Clock,
        on_queued: Callable[[], None] | None = None,
        lanes: int | None = None,
    ) -> None:
        self.dispatcher = dispatcher
        self.db = db
        self.clock = clock
        self.on_queued = on_queued
        count = lanes or (LANES_SQLITE if db.is_sqlite else LANES_SERVER_DB)
        self._lanes = [_Lane(f"zhibu-dispatch-{n}", dispatcher, db, clock) for n in range(count)]
        self._closed = False
        # Outbox id -> the lane that wrote it, for replies sent inline (event-loop thread only).
        self._owners: OrderedDict[int, _Lane] = OrderedDict()

    def _lane(self, chat_id: str) -> _Lane:
        return self._lanes[zlib.crc32(chat_id.encode("utf-8")) % len(self._lanes)]

    def close(self) -> None:
        """Let queued work finish and stop the writer threads."""
        if self._closed:
            return
        self._closed = True
        for lane in self._lanes:
            lane.queue.put(_STOP)
        for lane in self._lanes:
            lane.thread.join()

    async def receive(self, message: Message) -> DispatchResult:
        """Dispatch on the chat's writer lane (batched with others) and wake the sender."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[DispatchResult] = loop.create_future()
        lane = self._lane(message.chat_id)
        lane.queue.put(_Job(message, loop, future))
        result = await future
        if message.reply_inline:
            # Its delivery mark should ride in the same lane's next batch (see `delivered`).
            for reply in result.replies:
                if reply.outbox_id:
                    self._owners[reply.outbox_id] = lane
            while len(self._owners) > OWNERS_KEPT:
                self._owners.popitem(last=False)
        if self.on_queued is not None and leaves_replies_queued(message, result):
            self.on_queued()
        return result

    async def delivered(self, outbox_ids: Sequence[int]) -> None:
        """Note replies sent inside the callback's own response (recorded with the next batch).

        The callback does not wait for this write: until it lands, the reply's grace period
        keeps the outbox sender from sending it a second time.
        """
        ids = tuple(i for i in outbox_ids if i)
        if not ids:
            return
        lanes = [self._owners.pop(i, None) for i in ids]
        # The lane that wrote the reply is busy with that chat: marking there costs no commit
        # of its own (and no second writer contending for the same WAL flush).
        lane = lanes[0] or self._lanes[ids[0] % len(self._lanes)]
        lane.queue.put(_Delivered(ids))

    def drain(self) -> None:
        """Block until everything queued so far has been written (tests and shutdown)."""
        done = [threading.Event() for _ in self._lanes]
        for lane, event in zip(self._lanes, done, strict=True):
            lane.queue.put(_Barrier(event))
        for event in done:
            event.wait()
