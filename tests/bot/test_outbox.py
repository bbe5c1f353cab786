"""The outbox sender: in order per chat, retries with backoff, permanent failures, leases, limits."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

import redis

from bot.clock import FixedClock
from bot.outbox import Backoff, OutboxSender
from bot.platforms.base import Delivery, Outcome, RateLimit, SendResult
from bot.ratelimit import RateLimiter
from storage import messages, roster
from storage.db import Database
from storage.models import OutboxEntry
from storage.redis import connect


class ScriptedSender:
    """A platform double: records deliveries and answers from a script per text (then SENT)."""

    name = "wecom"

    def __init__(self, per_minute: int = 1000) -> None:
        self.sent: list[str] = []
        self.attempts: list[str] = []
        self.script: dict[str, list[SendResult]] = {}
        self.per_minute = per_minute

    def rate_limit(self, delivery: Delivery) -> RateLimit:
        return RateLimit(f"test:{delivery.chat_id}", self.per_minute)

    async def send(self, delivery: Delivery) -> SendResult:
        self.attempts.append(delivery.text)
        queued = self.script.get(delivery.text)
        if queued:
            result = queued.pop(0)
            if isinstance(result, Exception):
                raise result
            return result
        self.sent.append(delivery.text)
        return SendResult(Outcome.SENT, parts_sent=delivery.parts_sent)


def enqueue(db: Database, clock: FixedClock, chat: str, *texts: str) -> None:
    with db.transaction() as session:
        for text in texts:
            messages.enqueue(
                session,
                dedup_key=f"t:{chat}:{text}",
                platform="wecom",
                chat_external_id=chat,
                text=text,
                at=clock.now(),
            )


def make(
    db: Database, clock: FixedClock, sender: ScriptedSender, client: redis.Redis | None = None
) -> OutboxSender:
    return OutboxSender(
        db,
        {"wecom": sender},
        RateLimiter(client if client is not None else connect(None)),
        clock,
        backoff=Backoff(base_seconds=10, max_seconds=100),
        rng=random.Random(1),
    )


def drain(outbox: OutboxSender, times: int = 1) -> None:
    for _ in range(times):
        asyncio.run(outbox.drain_once())


def rows(db: Database) -> dict[str, OutboxEntry]:
    with db.session() as session:
        return {r.text: r for r in session.query(OutboxEntry).all()}


def test_messages_leave_in_order_per_chat(db: Database, clock: FixedClock) -> None:
    enqueue(db, clock, "A", "a1", "a2", "a3")
    enqueue(db, clock, "B", "b1", "b2")
    sender = ScriptedSender()
    drain(make(db, clock, sender), times=5)
    assert [t for t in sender.sent if t.startswith("a")] == ["a1", "a2", "a3"]
    assert [t for t in sender.sent if t.startswith("b")] == ["b1", "b2"]
    assert {r.status for r in rows(db).values()} == {"sent"}


def test_retry_waits_for_backoff_and_blocks_later_messages(db: Database, clock: FixedClock) -> None:
    enqueue(db, clock, "A", "a1", "a2")
    sender = ScriptedSender()
    sender.script["a1"] = [
        SendResult(Outcome.RETRY, error="HTTP 500"),
        SendResult(Outcome.RETRY, error="45009"),
    ]
    outbox = make(db, clock, sender)
    drain(outbox, times=3)
    assert sender.sent == []  # a1 waits for its backoff, a2 waits behind it
    assert sender.attempts == ["a1"]
    row = rows(db)["a1"]
    assert row.status == "pending"
    assert row.last_error == "HTTP 500"
    assert row.not_before > clock.now()
    clock.advance(timedelta(seconds=16))  # first delay: 10 s × jitter in [0.5, 1.5)
    drain(outbox)
    assert sender.attempts == ["a1", "a1"]
    clock.advance(timedelta(seconds=31))
    drain(outbox, times=3)
    assert sender.sent == ["a1", "a2"]
    assert rows(db)["a1"].attempts == 3


def test_retry_after_overrides_backoff(db: Database, clock: FixedClock) -> None:
    enqueue(db, clock, "A", "a1")
    sender = ScriptedSender()
    sender.script["a1"] = [SendResult(Outcome.RETRY, error="45009", retry_after=60)]
    outbox = make(db, clock, sender)
    drain(outbox)
    assert rows(db)["a1"].not_before == clock.now() + timedelta(seconds=60)


def test_permanent_failure_is_kept_and_does_not_block(db: Database, clock: FixedClock) -> None:
    enqueue(db, clock, "A", "a1", "a2")
    sender = ScriptedSender()
    sender.script["a1"] = [SendResult(Outcome.PERMANENT, error="93000 invalid webhook url")]
    drain(make(db, clock, sender), times=3)
    stored = rows(db)
    assert stored["a1"].status == "failed"
    assert stored["a1"].last_error == "93000 invalid webhook url"
    assert sender.sent == ["a2"]


def test_sender_bug_is_retried_not_lost(db: Database, clock: FixedClock) -> None:
    enqueue(db, clock, "A", "a1")
    sender = ScriptedSender()
    sender.script["a1"] = [RuntimeError("adapter bug")]  # type: ignore[list-item]
    outbox = make(db, clock, sender)
    drain(outbox)
    assert rows(db)["a1"].status == "pending"
    assert "adapter bug" in (rows(db)["a1"].last_error or "")
    clock.advance(timedelta(minutes=5))
    drain(outbox)
    assert sender.sent == ["a1"]


def test_claimed_row_is_not_sent_twice_and_lease_expiry_recovers(
    db: Database, clock: FixedClock
) -> None:
    enqueue(db, clock, "A", "a1")
    now = clock.now()
    with db.transaction() as session:  # a sender in another process claims and then crashes
        row_id = rows(db)["a1"].id
        assert messages.claim(session, row_id, now, now + timedelta(seconds=60))
    sender = ScriptedSender()
    outbox = make(db, clock, sender)
    drain(outbox)
    assert sender.attempts == []
    clock.advance(timedelta(seconds=61))
    drain(outbox)
    assert sender.sent == ["a1"]


def test_two_senders_deliver_each_row_once(db: Database, clock: FixedClock) -> None:
    for chat in "ABCDEFGH":
        enqueue(db, clock, chat, *(f"{chat}{i}" for i in range(4)))
    first, second = ScriptedSender(), ScriptedSender()

    async def both() -> None:
        a, b = make(db, clock, first), make(db, clock, second)
        for _ in range(6):
            await asyncio.gather(a.drain_once(), b.drain_once())

    asyncio.run(both())
    delivered = first.sent + second.sent
    assert sorted(delivered) == sorted(f"{c}{i}" for c in "ABCDEFGH" for i in range(4))


def test_rate_limit_spreads_a_burst(
    db: Database, clock: FixedClock, redis_client: redis.Redis
) -> None:
    enqueue(db, clock, "A", *(f"m{i:02d}" for i in range(25)))
    sender = ScriptedSender(per_minute=20)
    outbox = make(db, clock, sender, redis_client)
    drain(outbox, times=30)
    assert len(sender.sent) == 20
    assert rows(db)["m20"].status == "pending"
    clock.advance(timedelta(seconds=61))
    drain(outbox, times=10)
    assert sender.sent == [f"m{i:02d}" for i in range(25)]


def test_parts_sent_survive_a_retry(db: Database, clock: FixedClock) -> None:
    enqueue(db, clock, "A", "long")
    sender = ScriptedSender()
    sender.script["long"] = [SendResult(Outcome.RETRY, error="timeout", parts_sent=2)]
    outbox = make(db, clock, sender)
    drain(outbox)
    assert rows(db)["long"].parts_sent == 2
    seen: list[int] = []
    original = sender.send

    async def spy(delivery: Delivery) -> SendResult:
        seen.append(delivery.parts_sent)
        return await original(delivery)

    sender.send = spy  # type: ignore[method-assign]
    clock.advance(timedelta(minutes=5))
    drain(outbox)
    assert seen == [2]


def test_routes_of_the_chat_reach_the_sender(db: Database, clock: FixedClock) -> None:
    with db.transaction() as session:
        chat = roster.ensure_chat(session, "wecom", "A", title=None, at=clock.now())
        roster.merge_chat_routes(chat, {"push_target": "KEY-1"})
    enqueue(db, clock, "A", "hello")
    got: list[dict[str, str]] = []
    sender = ScriptedSender()
    original = sender.send

    async def spy(delivery: Delivery) -> SendResult:
        got.append(delivery.routes)
        return await original(delivery)

    sender.send = spy  # type: ignore[method-assign]
    drain(make(db, clock, sender))
    assert got == [{"push_target": "KEY-1"}]
