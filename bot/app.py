"""The ASGI application `zhibu serve` runs: health check, platform callbacks, outbox sender."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.attachments import AttachmentBuilder
from bot.files import build_signer, ledger_route
from bot.inbox import DispatchInbox
from bot.outbox import OutboxSender
from bot.platforms import build_platforms
from bot.ratelimit import RateLimiter
from bot.runtime import Runtime
from bot.writer_process import ProcessInbox, WriterSpec
from scheduler.runner import ReminderTicker

log = logging.getLogger(__name__)


def create_app(
    runtime: Runtime,
    *,
    run_sender: bool = True,
    run_scheduler: bool = False,
    writer: WriterSpec | None = None,
) -> Starlette:
    """Build the ASGI app around a wired runtime; the sender (and scheduler) run in its lifespan.

    With a `writer`, messages are dispatched in a child process built from it; otherwise on a
    thread of this process with the runtime's own dispatcher (and clock).
    """

    def _database_ok() -> bool:
        try:
            with runtime.db.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception:
            log.exception("health check: database unreachable")
            return False
        return True

    async def healthz(_request: Request) -> JSONResponse:
        ok = await run_in_threadpool(_database_ok)
        body = {"status": "ok" if ok else "degraded", "database": "ok" if ok else "error"}
        return JSONResponse(body, status_code=200 if ok else 503)

    wake = asyncio.Event()
    inbox: DispatchInbox | ProcessInbox = (
        ProcessInbox(writer, on_queued=wake.set)
        if writer is not None
        else DispatchInbox(runtime.dispatcher, runtime.db, runtime.clock, on_queued=wake.set)
    )
    platforms = build_platforms(runtime.settings, inbox, runtime.clock.now, runtime.redis)
    signer = build_signer(runtime.settings, runtime.db, runtime.clock)
    attachments = AttachmentBuilder(
        runtime.db,
        runtime.clock.now,
        link=lambda branch_id, period: signer.url(branch_id, period, runtime.clock.now()),
        link_ttl_hours=runtime.settings.link_ttl_hours,
    )
    sender = OutboxSender(
        runtime.db,
        platforms.senders,
        RateLimiter(runtime.redis),
        runtime.clock,
        attachments=attachments,
    )
    sender.wake = wake

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        for mode in platforms.modes:
            log.info("platform on: %s", mode)
        if signer.public_url:
            log.info("ledger download links under %s/files/ledger/", signer.public_url)
        else:
            log.info("ledger download links off (set ZHIBU_PUBLIC_URL)")
        stop = asyncio.Event()
        task = asyncio.create_task(sender.run(stop)) if run_sender else None
        ticking = None
        if run_scheduler:
            loop = asyncio.get_running_loop()

            def wake_sender() -> None:
                loop.call_soon_threadsafe(wake.set)

            ticker = ReminderTicker(runtime.db, runtime.clock, on_queued=wake_sender)
            ticking = ticker.start_async(runtime.settings.scheduler_interval)
            log.info("scheduler on: reminders every %ds", runtime.settings.scheduler_interval)
        connections = [asyncio.create_task(run(stop)) for run in platforms.background]
        try:
            yield
        finally:
            if ticking is not None:
                ticking.shutdown(wait=False)
            stop.set()
            if task is not None:
                await task
            await asyncio.gather(*connections, return_exceptions=True)
            inbox.close()
            for platform_sender in platforms.senders.values():
                close = getattr(platform_sender, "aclose", None)
                if close is not None:
                    try:
                        await close()
                    except RuntimeError:  # its connections belong to a loop already closed
                        log.debug("sender %s: client already closed", platform_sender.name)

    app = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            ledger_route(signer, attachments, runtime.clock),
            *platforms.routes,
        ],
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.sender = sender
    app.state.links = signer
    app.state.inbox = inbox
    app.state.platforms = platforms
    return app
