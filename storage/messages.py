"""The inbox of received messages and the outbox of messages to send."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import InboxEntry, OutboxEntry

OUTBOX_PENDING = "pending"
OUTBOX_SENT = "sent"
OUTBOX_FAILED = "failed"


def find_inbox(session: Session, platform: str, message_id: str) -> InboxEntry | None:
    """Return the inbox entry of a platform message id, if it was received before."""
    return session.scalar(
        select(InboxEntry).where(
            InboxEntry.platform == platform, InboxEntry.message_id == message_id
        )
    )


def add_inbox(session: Session, entry: InboxEntry) -> InboxEntry:
    """Insert an inbox entry; the unique constraint rejects a second copy of a message."""
    session.add(entry)
    session.flush()
    return entry


def enqueue(
    session: Session,
    *,
    dedup_key: str,
    platform: str,
    chat_external_id: str,
    text: str,
    at: datetime,
    mentions: Sequence[str] = (),
    kind: str = "reply",
    in_reply_to: int | None = None,
    not_before: datetime | None = None,
) -> OutboxEntry:
    """Queue a message for sending; a key already queued returns the existing row."""
    existing = session.scalar(select(OutboxEntry).where(OutboxEntry.dedup_key == dedup_key))
    if existing is not None:
        return existing
    row = OutboxEntry(
        dedup_key=dedup_key,
        platform=platform,
        chat_external_id=chat_external_id,
        kind=kind,
        text=text,
        mentions=json.dumps(list(mentions), ensure_ascii=False),
        status=OUTBOX_PENDING,
        attempts=0,
        created_at=at,
        not_before=not_before or at,
        in_reply_to=in_reply_to,
    )
    session.add(row)
    session.flush()
    return row


def pending_for(
    session: Session, platform: str, chat_external_id: str | None = None, limit: int = 100
) -> list[OutboxEntry]:
    """Return pending outbox rows of a platform (and chat), oldest first."""
    query = select(OutboxEntry).where(
        OutboxEntry.platform == platform, OutboxEntry.status == OUTBOX_PENDING
    )
    if chat_external_id is not None:
        query = query.where(OutboxEntry.chat_external_id == chat_external_id)
    return list(session.scalars(query.order_by(OutboxEntry.id).limit(limit)))


def mark_sent(session: Session, row: OutboxEntry, at: datetime) -> None:
    """Mark an outbox row delivered."""
    row.status = OUTBOX_SENT
    row.sent_at = at
    row.attempts += 1


def mentions_of(row: OutboxEntry) -> list[str]:
    """Return the platform user ids an outbox row @-mentions."""
    value = json.loads(row.mentions or "[]")
    return [str(v) for v in value] if isinstance(value, list) else []


def replies_to(session: Session, inbox_id: int) -> list[OutboxEntry]:
    """Return the outbox rows queued in answer to an inbox entry."""
    return list(
        session.scalars(
            select(OutboxEntry).where(OutboxEntry.in_reply_to == inbox_id).order_by(OutboxEntry.id)
        )
    )
