"""Dispatch in a child process: the ledger writer gets a core of its own.

`zhibu serve` spends about as much CPU verifying, decrypting and answering callbacks as it
spends writing the ledger, and one Python process runs only one of those at a time (the GIL).
`ProcessInbox` keeps the callbacks on the event loop and sends their messages to one writer
process over a pipe. While the writer handles a batch, newly arrived messages wait in the
parent and go over as the next batch when it is done: group commit with no timer, and one
writer, so a chat's messages are still handled in arrival order.

If the writer dies, it is started again and the unanswered batch is sent once more; dispatch
is idempotent by message id, so a batch that was in fact committed only replays its answers.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import multiprocessing.connection
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from typing import Any

from bot.inbox import MAX_BATCH, leaves_replies_queued
from bot.message import DispatchResult, Message, Outgoing

log = logging.getLogger(__name__)

# How long the writer may take to start (imports, database check) before serve gives up.
START_SECONDS = 60.0
STOP_SECONDS = 30.0
# A batch whose writer died twice is answered with an error instead of a third try.
RESENDS = 1


@dataclass(frozen=True)
class WriterSpec:
    """What the writer process needs to build its own dispatcher (no live objects cross)."""

    database_url: str
    redis_url: str | None
    tz: str
    log_level: str


class WriterGoneError(RuntimeError):
    """The writer process died while a batch was in flight, twice."""


def _child_main(spec: WriterSpec, conn: multiprocessing.connection.Connection) -> None:
    """The writer process: build a dispatcher, then answer batches until told to stop."""
    # Only the writer builds these (and bot.cli would be a cycle at import time).
    from bot.cli import setup_logging
    from bot.clock import SystemClock
    from bot.dispatch import FAILURE_TEXT, Dispatcher
    from storage import messages, migrate
    from storage.db import Database
    from storage.redis import SeenFilter, connect

    # Ctrl-C in a terminal reaches the whole process group; the parent shuts the writer down
    # in order (queued batches answered first), so the writer itself ignores it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    setup_logging(spec.log_level)
    # A connection that died in the pool fails its batch's first statement, and dispatch
    # retries the batch on a fresh one: no need to test every connection on the way out.
    db = Database(spec.database_url, pre_ping=False)
    migrate.check_schema(db.engine)
    clock = SystemClock()
    dispatcher = Dispatcher(db, SeenFilter(connect(spec.redis_url)), clock, spec.tz)
    # Modules, mappers and compiled statements live as long as the writer: without this, every
    # full collection walks them all, in the middle of some batch. A batch allocates many
    # short-lived objects; collecting every 700 allocations (the default) mostly finds none.
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
    conn.send(("ready",))
    while True:
        try:
            item = conn.recv()
        except EOFError:  # the parent is gone
            return
        if item[0] == "stop":
            conn.send(("stopped",))
            return
        _kind, batch, delivered = item
        try:
            if batch:
                results = dispatcher.dispatch_batch(batch, delivered)
            else:
                with db.transaction() as session:
                    messages.mark_delivered(session, delivered, clock.now())
                results = []
        except Exception:
            # dispatch_batch answers its own failures; this guards the process itself.
            log.exception("writer: batch of %d failed", len(batch))
            results = [
                DispatchResult(replies=(Outgoing(0, m.chat_id, FAILURE_TEXT),)) for m in batch
            ]
        conn.send(("done", results))


class ProcessInbox:
    """Implements the platforms' `Inbox` with dispatch in one writer process."""

    def __init__(self, spec: WriterSpec, on_queued: Callable[[], None] | None = None) -> None:
        self.spec = spec
        self.on_queued = on_queued
        self._context = multiprocessing.get_context("spawn")
        self._pending: list[tuple[Message, asyncio.Future[DispatchResult]]] = []
        self._delivered: list[int] = []
        self._inflight: list[tuple[Message, asyncio.Future[DispatchResult]]] | None = None
        self._inflight_delivered: list[int] = []
        self._resends = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._process: BaseProcess | None = None
        self._conn: multiprocessing.connection.Connection | None = None
        self._start()

    def _start(self) -> None:
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=_child_main, args=(self.spec, child), name="zhibu-writer", daemon=True
        )
        process.start()
        child.close()
        if not parent.poll(START_SECONDS) or parent.recv() != ("ready",):
            process.kill()
            raise RuntimeError("the writer process did not start")
        self._process, self._conn = process, parent
        log.info("writer process %d started", process.pid)

    def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is loop:
            return
        assert self._conn is not None
        self._loop = loop
        loop.add_reader(self._conn.fileno(), self._on_answer)

    async def receive(self, message: Message) -> DispatchResult:
        """Queue the message for the writer (batched with others) and await its answer."""
        if self._closed:
            raise RuntimeError("inbox is closed")
        self._watch()
        future: asyncio.Future[DispatchResult] = asyncio.get_running_loop().create_future()
        self._pending.append((message, future))
        self._pump()
        result = await future
        if self.on_queued is not None and leaves_replies_queued(message, result):
            self.on_queued()
        return result

    async def delivered(self, outbox_ids: Sequence[int]) -> None:
        """Note replies sent inside the callback's own response (written with the next batch)."""
        ids = [i for i in outbox_ids if i]
        if not ids or self._closed:
            return
        self._watch()
        self._delivered.extend(ids)
        self._pump()

    def _pump(self) -> None:
        """Send the next batch if the writer is idle."""
        if self._inflight is not None or not (self._pending or self._delivered):
            return
        assert self._conn is not None
        batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
        delivered, self._delivered = self._delivered, []
        self._inflight, self._inflight_delivered = batch, delivered
        self._conn.send(("batch", [m for m, _ in batch], delivered))

    def _on_answer(self) -> None:
        assert self._conn is not None
        try:
            answer = self._conn.recv()
        except (EOFError, OSError):
            self._writer_died()
            return
        self._settle(answer[1])
        self._pump()

    def _settle(self, results: list[DispatchResult]) -> None:
        inflight, self._inflight = self._inflight or [], None
        self._resends = 0
        for (_message, future), result in zip(inflight, results, strict=True):
            if not future.done():
                future.set_result(result)

    def _writer_died(self) -> None:
        """Start a new writer and send the unanswered batch again (or fail it, the second time)."""
        log.error("writer process died (exit code %s); starting a new one", self._exit_code())
        if self._loop is not None and self._conn is not None:
            self._loop.remove_reader(self._conn.fileno())
        self._loop = None
        inflight, self._inflight = self._inflight or [], None
        if self._resends >= RESENDS:
            for _message, future in inflight:
                if not future.done():
                    future.set_exception(WriterGoneError("writer process died twice"))
            inflight = []
            self._resends = 0
        else:
            self._resends += 1
            self._delivered = self._inflight_delivered + self._delivered
        self._pending = inflight + self._pending
        self._start()
        self._watch()
        self._pump()

    def _exit_code(self) -> int | None:
        if self._process is None:
            return None
        self._process.join(timeout=5)
        return self._process.exitcode

    def close(self) -> None:
        """Answer what is queued, then stop the writer process."""
        if self._closed:
            return
        self._closed = True
        if self._conn is None or self._process is None:
            return
        if self._loop is not None:
            self._loop.remove_reader(self._conn.fileno())
        try:
            while self._inflight is not None or self._pending or self._delivered:
                if self._inflight is None:
                    self._pump()
                answer: Any = self._conn.recv()
                self._settle(answer[1])
            self._conn.send(("stop",))
            if self._conn.poll(STOP_SECONDS):
                self._conn.recv()
        except (EOFError, OSError):
            log.warning("writer process ended before shutdown finished")
            # Unanswered callbacks get an error (the platform retries) instead of hanging.
            for _message, future in (self._inflight or []) + self._pending:
                if not future.done():
                    future.set_exception(WriterGoneError("writer process ended at shutdown"))
            self._inflight, self._pending = None, []
        self._process.join(timeout=STOP_SECONDS)
        if self._process.is_alive():
            self._process.kill()
        self._conn.close()
        log.info("writer process stopped")
