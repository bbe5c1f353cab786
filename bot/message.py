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
    # Set when the message is a tap on a card button: the key of that card (see `Card`).
    via_card: str | None = None


@dataclass(frozen=True)
class Button:
    """A card button; a tap is handled exactly as if the member had typed `command`."""

    label: str
    command: str


@dataclass(frozen=True)
class Card:
    """An interactive card, where the platform has them; elsewhere only the reply text shows.

    `key` names the card so that a later card with the same key replaces it (e.g. the
    check-in card of one meeting, updated as members sign).
    """

    key: str
    title: str
    lines: tuple[str, ...] = ()
    buttons: tuple[Button, ...] = ()

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready form for the outbox."""
        return {
            "key": self.key,
            "title": self.title,
            "lines": list(self.lines),
            "buttons": [[b.label, b.command] for b in self.buttons],
        }

    @staticmethod
    def from_dict(value: dict[str, object]) -> Card:
        """Rebuild a card stored with `as_dict`."""
        lines = value.get("lines") or []
        buttons = value.get("buttons") or []
        if not isinstance(lines, list) or not isinstance(buttons, list):
            raise ValueError(f"not a stored card: {value!r}")
        return Card(
            key=str(value["key"]),
            title=str(value["title"]),
            lines=tuple(str(x) for x in lines),
            buttons=tuple(Button(str(b[0]), str(b[1])) for b in buttons),
        )


@dataclass(frozen=True)
class Reply:
    """A handler's answer: text plus the members to @-mention, and optionally a card."""

    text: str
    mention_member_ids: tuple[int, ...] = ()
    card: Card | None = None


@dataclass(frozen=True)
class Outgoing:
    """A reply as queued in the outbox for one platform chat."""

    outbox_id: int
    chat_id: str
    text: str
    mentions: tuple[str, ...] = ()
    card: Card | None = None


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
