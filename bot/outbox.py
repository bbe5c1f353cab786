"""The outbox sender: drains queued messages to the platforms, in order per chat, exactly once.

Rows are claimed with a lease (so several processes can run senders, and a crashed sender's row
is picked up again), rate-limited per destination, retried with jittered exponential backoff on
transient errors and marked failed, loudly, on permanent ones. Nothing is dropped silently.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import cast

from starlette.concurrency import run_in_threadpool

from bot.attachments import FILE, IMAGE, AttachmentBuilder, AttachmentError, FileSender
from bot.clock import Clock
from bot.message import Card
from bot.platforms.base import Delivery, Outcome, Sender, SendResult
from bot.ratelimit import RateLimiter
from storage import messages, roster
from storage.attachments import ChartRecipe, LedgerRecipe, Recipe, RecipeError, recipe_from
from storage.db import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter: base·2^(n−1), capped, times a factor in [0.5, 1.5)."""

    base_seconds: float = 2.0
    max_seconds: float = 600.0

    def delay(self, attempts: int, rng: random.Random) -> float:
        """Seconds to wait before attempt number `attempts + 1`."""
        raw = min(self.max_seconds, self.base_seconds * 2.0 ** max(0, attempts - 1))
        return raw * (0.5 + rng.random())


@dataclass(frozen=True)
class _Claimed:
    """A claimed row: what to send, attempts so far, and its attachment recipe if any."""

    delivery: Delivery
    attempts: int
    recipe: Recipe | None = None
    bad_recipe: str | None = None


def _file_sender(sender: Sender, delivery: Delivery, kind: str) -> FileSender | None:
    """The sender as a FileSender when it can deliver this kind of file to this chat."""
    accepts = getattr(sender, "accepts", None)
    if accepts is None or not hasattr(sender, "send_file") or not accepts(delivery, kind):
        return None
    return cast(FileSender, sender)


class OutboxSender:
    """Sends due outbox rows of the configured platforms."""

    def __init__(
        self,
        db: Database,
        senders: Mapping[str, Sender],
        limiter: RateLimiter,
        clock: Clock,
        *,
        lease: timedelta = timedelta(seconds=60),
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
        attachments: AttachmentBuilder | None = None,
    ) -> None:
        self.db = db
        # Files are built at send time from the row's recipe (see bot/attachments.py).
        self.attachments = attachments or AttachmentBuilder(db, clock.now)
        self.senders = dict(senders)
        self.limiter = limiter
        self.clock = clock
        self.lease = lease
        self.backoff = backoff or Backoff()
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not secrecy
        self.wake = asyncio.Event()

    def _claim(self) -> list[_Claimed]:
        now = self.clock.now()
        claimed: list[_Claimed] = []
        with self.db.transaction() as session:
            heads = messages.queue_heads(session, list(self.senders))
            for row in heads:
                if not messages.claim(session, row.id, now, now + self.lease):
                    continue
                chat = roster.find_chat(session, row.platform, row.chat_external_id)
                delivery = Delivery(
                    outbox_id=row.id,
                    platform=row.platform,
                    chat_id=row.chat_external_id,
                    text=row.text,
                    mentions=tuple(messages.mentions_of(row)),
                    kind=row.kind,
                    routes=roster.chat_routes(chat) if chat else {},
                    parts_sent=row.parts_sent,
                    card=Card.from_dict(card) if (card := messages.card_of(row)) else None,
                )
                recipe: Recipe | None = None
                bad: str | None = None
                try:
                    stored = messages.attachment_of(row)
                    recipe = recipe_from(stored) if stored is not None else None
                except (RecipeError, ValueError) as exc:
                    bad = f"附件无法识别（{exc}）"
                claimed.append(_Claimed(delivery, row.attempts, recipe, bad))
        return claimed

    def _record(self, delivery: Delivery, result: SendResult, attempts_before: int) -> None:
        now = self.clock.now()
        status, not_before = messages.OUTBOX_SENT, None
        if result.outcome is Outcome.RETRY:
            wait = result.retry_after or self.backoff.delay(attempts_before + 1, self.rng)
            status, not_before = messages.OUTBOX_PENDING, now + timedelta(seconds=wait)
        elif result.outcome is Outcome.PERMANENT:
            status = messages.OUTBOX_FAILED
        with self.db.transaction() as session:
            messages.finish(
                session,
                delivery.outbox_id,
                status=status,
                at=now,
                parts_sent=result.parts_sent,
                error=result.error,
                not_before=not_before,
            )
        if result.outcome is Outcome.PERMANENT:
            log.error(
                "outbox %s to %s:%s failed permanently: %s",
                delivery.outbox_id,
                delivery.platform,
                delivery.chat_id,
                result.error,
            )
        elif result.outcome is Outcome.RETRY:
            log.warning(
                "outbox %s to %s:%s will be retried: %s",
                delivery.outbox_id,
                delivery.platform,
                delivery.chat_id,
                result.error,
            )

    def _postpone(self, outbox_id: int, wait: float) -> None:
        with self.db.transaction() as session:
            messages.postpone(session, outbox_id, self.clock.now() + timedelta(seconds=wait))

    async def _deliver(self, claimed: _Claimed) -> None:
        delivery, attempts = claimed.delivery, claimed.attempts
        sender = self.senders[delivery.platform]
        limit = sender.rate_limit(delivery)
        wait = await run_in_threadpool(
            self.limiter.acquire, limit.key, limit.per_minute, self.clock.now()
        )
        if wait > 0:
            await run_in_threadpool(self._postpone, delivery.outbox_id, wait)
            return
        try:
            if claimed.bad_recipe is not None:
                result = SendResult(Outcome.PERMANENT, claimed.bad_recipe)
            elif isinstance(claimed.recipe, LedgerRecipe):
                result = await self._send_ledger(sender, delivery, claimed.recipe)
            elif isinstance(claimed.recipe, ChartRecipe):
                result = await self._send_with_image(sender, delivery, claimed.recipe)
            else:
                result = await sender.send(delivery)
        except Exception as exc:  # an adapter bug must not stop the queue or lose the row
            log.exception("sender %s raised", delivery.platform)
            result = SendResult(
                Outcome.RETRY, error=f"{type(exc).__name__}: {exc}", parts_sent=delivery.parts_sent
            )
        await run_in_threadpool(self._record, delivery, result, attempts)

    async def _send_ledger(
        self, sender: Sender, delivery: Delivery, recipe: LedgerRecipe
    ) -> SendResult:
        """The workbook as a file where the chat takes files, else (or if refused) a link."""
        refused: SendResult | None = None
        files = _file_sender(sender, delivery, FILE)
        if files is not None:
            try:
                # Built in a worker thread: the event loop keeps serving callbacks meanwhile.
                file = await asyncio.to_thread(self.attachments.build, recipe)
            except AttachmentError as exc:
                log.error("outbox %s: ledger cannot be built: %s", delivery.outbox_id, exc)
                return SendResult(Outcome.PERMANENT, f"台账无法生成：{exc}")
            result = await files.send_file(delivery, file)
            if result.outcome is not Outcome.PERMANENT:
                return result
            refused = result
            log.warning(
                "outbox %s to %s:%s: file refused (%s); sending a download link instead",
                delivery.outbox_id,
                delivery.platform,
                delivery.chat_id,
                result.error,
            )
        text = await asyncio.to_thread(self.attachments.link_text, recipe)
        result = await sender.send(replace(delivery, text=text, parts_sent=0, mentions=()))
        if refused is not None and result.outcome is Outcome.SENT:
            return replace(result, error=f"文件未能发送，已改发链接：{refused.error}")
        return result

    async def _send_with_image(
        self, sender: Sender, delivery: Delivery, recipe: ChartRecipe
    ) -> SendResult:
        """The text first (resuming its parts), then the image where the chat takes images."""
        result = await sender.send(delivery)
        images = _file_sender(sender, delivery, IMAGE)
        if result.outcome is not Outcome.SENT or images is None:
            return result
        try:
            file = await asyncio.to_thread(self.attachments.build, recipe)
        except AttachmentError as exc:
            log.error("outbox %s: chart cannot be drawn: %s", delivery.outbox_id, exc)
            return replace(result, error=f"图表未发送：{exc}")
        image = await images.send_file(delivery, file)
        if image.outcome is Outcome.RETRY:
            # Parts already delivered stay delivered: the retry only sends the image.
            return replace(image, parts_sent=result.parts_sent)
        if image.outcome is Outcome.PERMANENT:
            log.error(
                "outbox %s to %s:%s: chart refused, text sent alone: %s",
                delivery.outbox_id,
                delivery.platform,
                delivery.chat_id,
                image.error,
            )
            return replace(result, error=f"图表未发送：{image.error}")
        return result

    async def drain_once(self) -> int:
        """Send every due queue head once (chats in parallel); return how many were tried."""
        claimed = await run_in_threadpool(self._claim)
        if claimed:
            await asyncio.gather(*(self._deliver(c) for c in claimed))
        return len(claimed)

    async def run(self, stop: asyncio.Event, interval: float = 0.5) -> None:
        """Drain until `stop` is set, waking early when `wake` is set by a new reply."""
        while not stop.is_set():
            try:
                sent = await self.drain_once()
            except Exception:
                log.exception("outbox drain failed; will try again")
                sent = 0
            if sent:
                continue
            self.wake.clear()
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self.wake.wait())]
            await asyncio.wait(waiters, timeout=interval, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()
