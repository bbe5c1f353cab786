"""Platform-neutral messages: what comes in from a chat, and what handlers answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Message:
    """A verified chat message, already normalised by its platform adapter."""

    platform: str
    message_id: str
    chat_id: str
    sender_id: str
    text: str
    sent_at: datetime
    sender_name: str | None = None
    chat_title: str | None = None
    mentions: tuple[str, ...] = ()
    # Delivery routes this callback teaches about its chat (e.g. a webhook URL), opaque to the
    # core: dispatch stores them on the chat, the platform's sender reads them back.
    routes: dict[str, str] = field(default_factory=dict)
    # The platform answers inside the callback's own response (WeCom passive replies): the
    # outbox holds such replies back for a while so the sender cannot deliver them twice.
    reply_inline: bool = False


@dataclass(frozen=True)
class Reply:
    """A handler's answer: text plus the members to @-mention."""

    text: str
    mention_member_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class Outgoing:
    """A reply as queued in the outbox for one platform chat."""

    outbox_id: int
    chat_id: str
    text: str
    mentions: tuple[str, ...] = ()


@dataclass(frozen=True)
class DispatchResult:
    """What dispatch did with a message: its replies, and whether it was a repeat."""

    replies: tuple[Outgoing, ...] = field(default_factory=tuple)
    duplicate: bool = False
    intent: str | None = None

    @property
    def text(self) -> str:
        """All reply texts joined, for logs and tests."""
        return "\n".join(r.text for r in self.replies)
