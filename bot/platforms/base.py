"""What every platform adapter offers the rest of the bot: inbound callbacks and outbound sends.

An adapter is the only code that knows a platform's wire format and credentials. Inbound, it
verifies and decodes a callback into a platform-neutral `Message` (plus the delivery routes the
callback teaches, such as a webhook URL). Outbound, the outbox sender hands it a `Delivery` and
gets back a `SendResult` saying whether to mark the row sent, retry it later, or give up.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Protocol

from bot.message import Card, DispatchResult, Message

log = logging.getLogger(__name__)

# Bodies larger than this are refused before any parsing (both platforms send a few KiB).
MAX_CALLBACK_BYTES = 64 * 1024


class CallbackRejectedError(Exception):
    """A callback that must not be processed: forged, stale, malformed or oversized."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class Outcome(StrEnum):
    """What the outbox does with a row after a send attempt."""

    SENT = "sent"
    RETRY = "retry"  # network error, 5xx, rate limited: try again later
    PERMANENT = "permanent"  # bad key, robot removed: stop and report


@dataclass(frozen=True)
class SendResult:
    """The result of one send attempt.

    `retry_after` (seconds) overrides the backoff; `parts_sent` says how many parts of a message
    that had to be split are now delivered, so a retry resumes instead of repeating them.
    """

    outcome: Outcome
    error: str | None = None
    retry_after: float | None = None
    parts_sent: int = 0


@dataclass(frozen=True)
class Delivery:
    """One outbox row as the platform needs it to send."""

    outbox_id: int
    platform: str
    chat_id: str
    text: str
    mentions: tuple[str, ...] = ()
    kind: str = "reply"
    # Platform-specific routes learned from callbacks or bound by a secretary (opaque here).
    routes: dict[str, str] = field(default_factory=dict)
    # Parts of a split message already delivered by earlier attempts.
    parts_sent: int = 0
    # An interactive card to show where the platform can (text is always the fallback).
    card: Card | None = None


@dataclass(frozen=True)
class RateLimit:
    """At most `per_minute` sends to the destination named by `key`."""

    key: str
    per_minute: int


class Sender(Protocol):
    """The outbound half of an adapter, used by the outbox sender."""

    name: str

    def rate_limit(self, delivery: Delivery) -> RateLimit:
        """Return the destination and its limit for this delivery."""
        ...

    async def send(self, delivery: Delivery) -> SendResult:
        """Try to deliver once; never raise for platform or network errors."""
        ...


class Inbox(Protocol):
    """What a callback endpoint hands verified messages to (dispatch, off the event loop)."""

    async def receive(self, message: Message) -> DispatchResult:
        """Store and handle the message exactly once; return its replies (replayed if repeated)."""
        ...

    async def delivered(self, outbox_ids: Sequence[int]) -> None:
        """Mark replies as delivered because they went back in the callback's own response."""
        ...


PartSender = Callable[[int, str], Awaitable[SendResult]]


async def send_parts(
    parts: Sequence[str], delivery: Delivery, send_one: PartSender, channel: str
) -> SendResult:
    """Send the parts not yet delivered, in order; stop at the first failure and keep the place.

    `send_one(index, text)` sends one part; the result's `parts_sent` is where a retry resumes.
    """
    for index in range(max(delivery.parts_sent, 0), len(parts)):
        result = await send_one(index, parts[index])
        if result.outcome is not Outcome.SENT:
            log.warning(
                "%s: part %d/%d of outbox row %s not sent: %s %s",
                channel,
                index + 1,
                len(parts),
                delivery.outbox_id,
                result.outcome,
                result.error,
            )
            return replace(result, parts_sent=index)
    return SendResult(Outcome.SENT, parts_sent=len(parts))
