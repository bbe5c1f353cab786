"""Test factories: a seeded branch and a chat that talks to the bot through real dispatch."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import func, select

from bot.clock import FixedClock
from bot.dispatch import Dispatcher
from bot.message import DispatchResult, Message
from bot.roster_csv import read_roster
from storage import roster
from storage.audit import Actor
from storage.db import Database
from storage.export import ledger
from storage.models import Base, Branch, Member
from storage.periods import resolve
from storage.redis import SeenFilter, connect

DATA = Path(__file__).parent / "data"
BRANCH = "机关第一党支部"
SECRETARY = "李明"


class ChatBot:
    """One group chat on one platform; `say` returns the bot's reply text."""

    def __init__(
        self,
        db: Database,
        clock: FixedClock,
        platform: str = "wecom",
        chat_id: str = "wrk-chat-1",
        redis_client: redis.Redis | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.platform = platform
        self.chat_id = chat_id
        self.redis = redis_client if redis_client is not None else connect(None)
        self.seen = SeenFilter(self.redis)
        self.dispatcher = Dispatcher(db, self.seen, clock, "Asia/Shanghai")
        self._ids = itertools.count(1)

    def seed(self, name: str = BRANCH, roster_file: str = "roster_sample.csv") -> Branch:
        """Create a branch from a roster file in tests/data."""
        rows = read_roster(DATA / roster_file).rows
        with self.db.transaction() as session:
            actor = Actor("test", self.clock.now())
            branch = roster.ensure_branch(session, actor, name, "Asia/Shanghai")
            roster.import_roster(session, actor, branch, rows)
            return branch

    def user_id(self, name: str) -> str:
        """The platform user id of a roster member, or the name itself for outsiders."""
        with self.db.session() as session:
            member = session.scalar(select(Member).where(Member.name == name))
            if member is None:
                return name
            ids = roster.identities_for(session, [member.id], self.platform)
            return ids.get(member.id, name)

    def send(
        self, who: str, text: str, *, message_id: str | None = None, chat_id: str | None = None
    ) -> DispatchResult:
        """Send a message as a roster member (by name) and return what dispatch did."""
        return self.dispatcher.dispatch(
            Message(
                platform=self.platform,
                message_id=message_id or f"msg-{next(self._ids)}",
                chat_id=chat_id or self.chat_id,
                sender_id=self.user_id(who),
                sender_name=who,
                text=text,
                sent_at=self.clock.now(),
            )
        )

    def say(self, who: str, text: str, **kwargs: Any) -> str:
        """Send a message and return the reply text."""
        return self.send(who, text, **kwargs).text

    def ledger(self, period: str = "this_month", branch: str = BRANCH) -> dict[str, Any]:
        """The exported ledger of the period."""
        with self.db.session() as session:
            target = roster.get_branch(session, branch)
            assert target is not None
            today = self.clock.now().date()
            return ledger(session, target, resolve(period, today))

    def count(self, table: str) -> int:
        """Number of rows in a table."""
        model = Base.metadata.tables[table]
        with self.db.session() as session:
            return session.scalar(select(func.count()).select_from(model)) or 0

    def counts(self) -> dict[str, int]:
        """Row counts of every ledger table except the inbox, outbox and chats."""
        skip = {"inbox", "outbox", "chats", "alembic_version"}
        return {t: self.count(t) for t in Base.metadata.tables if t not in skip}
