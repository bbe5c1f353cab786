"""Dispatch: one verified message in, its ledger effect and replies out, exactly once.

The inbox row, the ledger change and the queued replies are written in one transaction, so a
message is either fully handled or not at all, and a repeat of its id only replays the answer.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.message import Card, DispatchResult, Message, Outgoing, Reply
from handlers.context import Context
from handlers.parsing import Intent, Parsed, parse
from handlers.registry import INTENT_NAMES, ROUTES, SECRETARY_ONLY_TEXT
from handlers.roster import unknown_branch
from storage import messages, prefetch, roster
from storage.audit import Actor
from storage.db import Database
from storage.models import Branch, Chat, Member
from storage.rawsql import defer_writes
from storage.redis import SeenFilter

log = logging.getLogger(__name__)

# Longest text kept in the inbox; the parser sees at most this much too.
MAX_STORED_TEXT = 10_000
ATTEMPTS = 3
# A reply the platform takes inside the callback response is marked delivered within
# milliseconds; only if that never happens (a crash) does the outbox sender send it itself.
INLINE_REPLY_GRACE = timedelta(seconds=30)

UNBOUND_TEXT = "本群还没有绑定支部。请支部书记发送：绑定 支部名称"
UNKNOWN_SENDER_TEXT = (
    "您还不在本支部的党员名册中，本次未做记录。请联系支部书记把您添加到名册（添加成员 姓名）。"
)
FAILURE_TEXT = "抱歉，系统暂时出了问题，本条消息已保存但未处理，请稍后再试或联系书记。"
BUSY_TEXT = "系统繁忙，本条消息未处理，请稍后再发一次。"


_CONTROL = dict.fromkeys(c for c in range(32) if chr(c) not in "\n\t")


def clean_text(value: str) -> str:
    """Drop control characters and replace unencodable code points (lone surrogates)."""
    return value.translate(_CONTROL).encode("utf-8", "replace").decode("utf-8")


def clean_id(value: str, limit: int = 128) -> str:
    """Make an id storable: clean, and hashed when longer than its column."""
    value = clean_text(value)
    if len(value) <= limit:
        return value
    return "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()


def sanitized(message: Message) -> Message:
    """Return the message with text and ids safe for every database backend."""
    return replace(
        message,
        message_id=clean_id(message.message_id),
        chat_id=clean_id(message.chat_id),
        sender_id=clean_id(message.sender_id),
        text=clean_text(message.text)[:MAX_STORED_TEXT],
        sender_name=clean_text(message.sender_name)[:100] if message.sender_name else None,
        chat_title=clean_text(message.chat_title)[:200] if message.chat_title else None,
    )


def card_from(stored: dict[str, object] | None) -> Card | None:
    """Rebuild a card kept in the outbox (None when the row has none)."""
    return Card.from_dict(stored) if stored else None


@dataclass(frozen=True)
class _Resolved:
    chat: Chat
    branch: Branch | None
    member: Member | None


class Dispatcher:
    """Turns messages into ledger writes and queued replies."""

    def __init__(self, db: Database, seen: SeenFilter, clock: Clock, default_tz: str) -> None:
        self.db = db
        self.seen = seen
        self.clock = clock
        self.default_tz = default_tz

    def dispatch(self, message: Message) -> DispatchResult:
        """Handle a message once; a repeated message id gets the first answer again."""
        return self.dispatch_batch([message])[0]

    def dispatch_batch(
        self, batch: Sequence[Message], delivered: Sequence[int] = ()
    ) -> list[DispatchResult]:
        """Handle messages in order in one transaction (group commit).

        `delivered` lists outbox rows that earlier callbacks answered inline; they are marked
        sent in the same transaction, saving a commit of their own.

        The batch first runs without savepoints (they cost as much as a simple message); if any
        message fails, the whole transaction rolls back and the batch runs again with each
        message in its own savepoint, so one failure is contained to its message. A failed
        commit retries the batch. Nothing is answered before the commit that makes it durable.
        """
        cleaned = [sanitized(m) for m in batch]
        first = self.seen.first_sight_many([(m.platform, m.message_id) for m in cleaned])
        seen_before = [not f for f in first]
        careful = False
        attempts = 0
        while attempts < ATTEMPTS:
            try:
                with self.db.transaction() as session:
                    if not careful:
                        # Rows wait and go in together, at the latest with the commit.
                        defer_writes(session, rows=len(cleaned))
                    self._prefetch(session, cleaned)
                    if delivered:
                        messages.mark_delivered(session, delivered, self.clock.now())
                    handle = self._one if careful else self._unguarded
                    # What is still deferred goes with the COMMIT as the block ends.
                    return [
                        handle(session, message, seen)
                        for message, seen in zip(cleaned, seen_before, strict=True)
                    ]
            except OperationalError:
                attempts += 1
                log.warning(
                    "database busy while committing %d messages", len(cleaned), exc_info=True
                )
            except Exception:
                if careful:
                    raise
                # Some message failed: run the batch again, each message guarded on its own.
                careful = True
        return [DispatchResult(replies=(Outgoing(0, m.chat_id, BUSY_TEXT),)) for m in cleaned]

    def _unguarded(self, session: Session, message: Message, seen_before: bool) -> DispatchResult:
        """Handle one message of a batch without a savepoint; any failure fails the batch."""
        if seen_before:
            replay = self._replay_in(session, message)
            if replay is not None:
                return replay
        return self._process(session, message)

    def _prefetch(self, session: Session, batch: Sequence[Message]) -> None:
        """Look up every chat, sender and open meeting of the batch at once, not per message."""
        today = self.clock.now().astimezone(ZoneInfo(self.default_tz)).date()
        for platform in {m.platform for m in batch}:
            mine = [m for m in batch if m.platform == platform]
            prefetch.batch(
                session,
                platform,
                {m.chat_id for m in mine},
                {m.sender_id for m in mine},
                today=today,
                reserve=dict.fromkeys(messages.MESSAGE_TABLES, len(mine)),
            )

    def _one(self, session: Session, message: Message, seen_before: bool) -> DispatchResult:
        """Handle one message of a batch inside its own savepoint."""
        if seen_before:
            replay = self._replay_in(session, message)
            if replay is not None:
                return replay
        for _attempt in range(ATTEMPTS):
            try:
                with session.begin_nested():
                    return self._process(session, message)
            except IntegrityError:
                # Either the same message won a race in another worker, or a concurrent
                # write took a unique slot (a check-in, an open meeting): look again.
                replay = self._replay_in(session, message)
                if replay is not None:
                    return replay
            except OperationalError:
                log.warning(
                    "database busy while handling %s:%s",
                    message.platform,
                    message.message_id,
                    exc_info=True,
                )
            except Exception:
                log.exception("handler failed for %s:%s", message.platform, message.message_id)
                return self._store_failure(session, message)
        return DispatchResult(replies=(Outgoing(0, message.chat_id, BUSY_TEXT),))

    def _replay_in(self, session: Session, message: Message) -> DispatchResult | None:
        entry = messages.find_inbox(session, message.platform, message.message_id)
        if entry is None:
            return None
        rows = messages.replies_to(session, entry.id)
        replies = tuple(
            Outgoing(
                r.id,
                r.chat_external_id,
                r.text,
                tuple(messages.mentions_of(r)),
                card_from(messages.card_of(r)),
            )
            for r in rows
        )
        return DispatchResult(replies=replies, duplicate=True, intent=entry.intent)

    def _store_inbox(
        self,
        session: Session,
        message: Message,
        at: datetime,
        intent: str | None = None,
        reply_text: str | None = None,
    ) -> int:
        return messages.insert_inbox(
            session,
            platform=message.platform,
            message_id=message.message_id,
            chat_external_id=message.chat_id,
            sender_external_id=message.sender_id,
            sender_name=message.sender_name,
            text=message.text,
            sent_at=message.sent_at,
            received_at=at,
            intent=intent,
            reply_text=reply_text,
        )

    def _process(self, session: Session, message: Message) -> DispatchResult:
        received = self.clock.now()
        inbox_id = self._store_inbox(session, message, received)
        resolved = self._resolve(session, message, received)
        zone = ZoneInfo(resolved.branch.timezone if resolved.branch else self.default_tz)
        parsed = parse(message.text, received.astimezone(zone))
        branch, member = resolved.branch, resolved.member
        if parsed.intent is Intent.BIND and parsed.name:
            target = roster.get_branch(session, parsed.name.strip())
            if target is not None and branch is None:
                branch = target
                member = roster.find_member_by_identity(
                    session, target.id, message.platform, message.sender_id
                )
        reply = self._answer(
            session, message, parsed, inbox_id, resolved.chat, branch, member, received
        )
        messages.settle_inbox(
            session,
            inbox_id,
            intent=parsed.intent.value,
            member_id=member.id if member else None,
            reply_text=reply.text,
        )
        return DispatchResult(
            replies=(self._enqueue(session, message, inbox_id, reply, received),),
            intent=parsed.intent.value,
        )

    def _resolve(self, session: Session, message: Message, at: datetime) -> _Resolved:
        chat = roster.ensure_chat(
            session, message.platform, message.chat_id, title=message.chat_title, at=at
        )
        if message.routes:
            roster.merge_chat_routes(chat, message.routes)
        branch = chat.branch
        if branch is None:
            only = roster.only_branch(session)
            if only is not None:
                roster.bind_chat(session, Actor("system", at), chat, only)
                branch = only
        member = (
            roster.find_member_by_identity(session, branch.id, message.platform, message.sender_id)
            if branch
            else None
        )
        return _Resolved(chat, branch, member)

    def _answer(
        self,
        session: Session,
        message: Message,
        parsed: Parsed,
        inbox_id: int,
        chat: Chat,
        branch: Branch | None,
        member: Member | None,
        at: datetime,
    ) -> Reply:
        if branch is None:
            if parsed.intent is Intent.BIND and parsed.name:
                return unknown_branch(session, parsed.name.strip())
            return Reply(UNBOUND_TEXT)
        if member is None:
            return Reply(UNKNOWN_SENDER_TEXT)
        route = ROUTES[parsed.intent]
        if route.secretary_only and not member.is_secretary:
            return Reply(SECRETARY_ONLY_TEXT.format(what=INTENT_NAMES.get(parsed.intent, "该操作")))
        if parsed.error:
            return Reply(parsed.error)
        actor = Actor(name=member.name, at=at, member_id=member.id, inbox_id=inbox_id)
        ctx = Context(
            session=session,
            message=message,
            parsed=parsed,
            branch=branch,
            chat=chat,
            member=member,
            actor=actor,
            now=at.astimezone(ZoneInfo(branch.timezone)),
        )
        return route.handler(ctx)

    def _enqueue(
        self, session: Session, message: Message, inbox_id: int, reply: Reply, at: datetime
    ) -> Outgoing:
        mentions: tuple[str, ...] = ()
        if reply.mention_member_ids:
            ids = roster.identities_for(session, list(reply.mention_member_ids), message.platform)
            mentions = tuple(ids[m] for m in reply.mention_member_ids if m in ids)
        row_id = messages.enqueue_reply(
            session,
            inbox_id=inbox_id,
            platform=message.platform,
            chat_external_id=message.chat_id,
            text=reply.text,
            at=at,
            mentions=mentions,
            not_before=at + INLINE_REPLY_GRACE if message.reply_inline else at,
            card=json.dumps(reply.card.as_dict(), ensure_ascii=False) if reply.card else None,
        )
        return Outgoing(row_id, message.chat_id, reply.text, mentions, reply.card)

    def _store_failure(self, session: Session, message: Message) -> DispatchResult:
        """Keep the message in the inbox with an apology so nothing received is lost."""
        try:
            with session.begin_nested():
                at = self.clock.now()
                inbox_id = self._store_inbox(session, message, at, "error", FAILURE_TEXT)
                out = self._enqueue(session, message, inbox_id, Reply(FAILURE_TEXT), at)
                return DispatchResult(replies=(out,), intent="error")
        except Exception:
            log.exception(
                "could not store failed message %s:%s", message.platform, message.message_id
            )
            return DispatchResult(replies=(Outgoing(0, message.chat_id, FAILURE_TEXT),))
