"""What a handler gets: the parsed message, who sent it, where, and the open ledger session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from bot.message import Message
from handlers.parsing import Parsed
from storage.audit import Actor
from storage.models import Branch, Chat, Member


@dataclass(frozen=True)
class Context:
    """A message in the context of its branch; the session is committed by dispatch."""

    session: Session
    message: Message
    parsed: Parsed
    branch: Branch
    chat: Chat
    member: Member
    actor: Actor
    now: datetime  # local time in the branch's zone

    @property
    def today(self) -> date:
        """The local date of the message."""
        return self.now.date()
