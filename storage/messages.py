"""The inbox of received messages and the outbox of messages to send."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String, Table, and_, any_, bindparam, func, insert, or_, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage.models import InboxEntry, OutboxEntry
from storage.rawsql import Prepared, amend_unsent
from storage.value_lists import any_of

OUTBOX_PENDING = "pending"
OUTBOX_SENT = "sent"
OUTBOX_FAILED = "failed"


def find_inbox(session: Session, platform: str, message_id: str) -> InboxEntry | None:
    """Return the inbox entry of a platform message id, if it was received before."""
    # Deferred writes of the batch (the row itself, its settling) go out before this query.
    return session.scalar(
        select(InboxEntry).where(
            InboxEntry.platform == platform, InboxEntry.message_id == message_id
        )
    )


_INBOX: Table = InboxEntry.__table__  # type: ignore[assignment]
_OUTBOX: Table = OutboxEntry.__table__  # type: ignore[assignment]
# Every handled chat message writes a row to each (ids for a batch are reserved up front).
MESSAGE_TABLES = (_INBOX.name, _OUTBOX.name)
_INBOX_COLUMNS = (
    "platform",
    "message_id",
    "chat_external_id",
    "sender_external_id",
    "sender_name",
    "text",
    "sent_at",
    "received_at",
    "intent",
    "reply_text",
    "member_id",
)
_OUTBOX_COLUMNS = (
    "dedup_key",
    "platform",
    "chat_external_id",
    "kind",
    "text",
    "mentions",
    "card",
    "status",
    "attempts",
    "parts_sent",
    "lease_until",
    "created_at",
    "not_before",
    "sent_at",
    "last_error",
    "in_reply_to",
)
_INSERT_INBOX = Prepared(insert(_INBOX).returning(_INBOX.c.id), _INBOX_COLUMNS)
_SETTLE_INBOX = Prepared(
    update(_INBOX)
    .where(_INBOX.c.id == bindparam("inbox_id"))
    .values(
        intent=bindparam("intent"),
        member_id=bindparam("member_id"),
        reply_text=bindparam("reply_text"),
    )
)
_INSERT_OUTBOX = Prepared(insert(_OUTBOX).returning(_OUTBOX.c.id), _OUTBOX_COLUMNS)


def insert_inbox(
    session: Session,
    *,
    platform: str,
    message_id: str,
    chat_external_id: str,
    sender_external_id: str,
    sender_name: str | None,
    text: str,
    sent_at: datetime,
    received_at: datetime,
    intent: str | None = None,
    reply_text: str | None = None,
) -> int:
    """Insert an inbox row on the hot path (no ORM object); the unique key rejects repeats."""
    return int(
        _INSERT_INBOX.insert(
            session,
            platform=platform,
            message_id=message_id,
            chat_external_id=chat_external_id,
            sender_external_id=sender_external_id,
            sender_name=sender_name,
            text=text,
            sent_at=sent_at,
            received_at=received_at,
            intent=intent,
            reply_text=reply_text,
            member_id=None,
        )
    )


def settle_inbox(
    session: Session, inbox_id: int, *, intent: str, member_id: int | None, reply_text: str
) -> None:
    """Record how an inbox row was understood and answered."""
    values = {"intent": intent, "member_id": member_id, "reply_text": reply_text}
    if amend_unsent(session, "inbox", inbox_id, **values):
        return  # its insert has not gone out yet: it goes out settled
    _SETTLE_INBOX.execute_later(
        session, inbox_id=inbox_id, intent=intent, member_id=member_id, reply_text=reply_text
    )


def enqueue_reply(
    session: Session,
    *,
    inbox_id: int,
    platform: str,
    chat_external_id: str,
    text: str,
    at: datetime,
    not_before: datetime,
    mentions: Sequence[str] = (),
    card: str | None = None,
) -> int:
    """Queue the answer to a new inbox row (its key cannot exist yet); return the row id."""
    return int(
        _INSERT_OUTBOX.insert(
            session,
            dedup_key=f"reply:{inbox_id}",
            platform=platform,
            chat_external_id=chat_external_id,
            kind="reply",
            text=text,
            mentions=json.dumps(list(mentions), ensure_ascii=False),
            card=card,
            status=OUTBOX_PENDING,
            attempts=0,
            parts_sent=0,
            lease_until=None,
            created_at=at,
            not_before=not_before,
            sent_at=None,
            last_error=None,
            in_reply_to=inbox_id,
        )
    )


def existing_keys(session: Session, keys: Sequence[str], chunk: int = 500) -> set[str]:
    """Return which of these outbox keys are already taken."""
    found: set[str] = set()
    unique = list(dict.fromkeys(keys))
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # One array parameter instead of hundreds of placeholders to send and parse.
        wanted = bindparam("keys", type_=ARRAY(String))
        query = select(_OUTBOX.c.dedup_key).where(_OUTBOX.c.dedup_key == any_(wanted))
        found.update(connection.execute(query, {"keys": unique}).scalars())
        return found
    for i in range(0, len(unique), chunk):
        part = unique[i : i + chunk]
        found.update(
            connection.execute(
                select(_OUTBOX.c.dedup_key).where(_OUTBOX.c.dedup_key.in_(part))
            ).scalars()
        )
    return found


@dataclass(frozen=True)
class OutboxRow:
    """A message to queue under a key nobody may have taken yet."""

    dedup_key: str
    platform: str
    chat_external_id: str
    kind: str
    text: str
    mentions: tuple[str, ...] = ()
    status: str = OUTBOX_PENDING
    last_error: str | None = None
    attachment: str | None = None  # JSON recipe of a file or image to send with the text


def enqueue_many(
    session: Session, rows: Sequence[OutboxRow], *, at: datetime, chunk: int = 500
) -> set[str]:
    """Queue rows whose keys are free (any process may race us); return the keys queued here.

    INSERT … ON CONFLICT DO NOTHING RETURNING, sent in multi-row batches: a key another process
    took first is skipped by the database, never sent twice.
    """
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        return _enqueue_many_postgres(session, rows, at)
    dialect_insert: Any = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    statement = (
        dialect_insert(_OUTBOX)
        .on_conflict_do_nothing(index_elements=["dedup_key"])
        .returning(_OUTBOX.c.dedup_key)
    )
    queued: set[str] = set()
    for i in range(0, len(rows), chunk):
        values = [
            {
                "dedup_key": row.dedup_key,
                "platform": row.platform,
                "chat_external_id": row.chat_external_id,
                "kind": row.kind,
                "text": row.text,
                "mentions": json.dumps(list(row.mentions), ensure_ascii=False),
                "card": None,
                "attachment": row.attachment,
                "status": row.status,
                "attempts": 0,
                "parts_sent": 0,
                "lease_until": None,
                "created_at": at,
                "not_before": at,
                "sent_at": None,
                "last_error": row.last_error,
                "in_reply_to": None,
            }
            for row in rows[i : i + chunk]
        ]
        # One compiled statement, sent in multi-row batches ("insertmanyvalues").
        queued.update(connection.execute(statement, values).scalars())
    return queued


_UNNEST_INSERT = text(
    """
    INSERT INTO outbox (dedup_key, platform, chat_external_id, kind, text, mentions, status,
                        attempts, parts_sent, created_at, not_before, last_error, attachment)
    SELECT k, p, c, kd, t, m, st, 0, 0, :at, :at, e, a
    FROM unnest(CAST(:keys AS text[]), CAST(:platforms AS text[]), CAST(:chats AS text[]),
                CAST(:kinds AS text[]), CAST(:texts AS text[]), CAST(:mentions AS text[]),
                CAST(:statuses AS text[]), CAST(:errors AS text[]), CAST(:attachments AS text[]))
         AS rows(k, p, c, kd, t, m, st, e, a)
    ON CONFLICT (dedup_key) DO NOTHING
    RETURNING dedup_key
    """
)


def _enqueue_many_postgres(session: Session, rows: Sequence[OutboxRow], at: datetime) -> set[str]:
    """`enqueue_many` as one statement with array parameters (no per-row placeholders)."""
    if not rows:
        return set()
    result = session.connection().execute(
        _UNNEST_INSERT,
        {
            "at": at.astimezone(UTC),
            "keys": [r.dedup_key for r in rows],
            "platforms": [r.platform for r in rows],
            "chats": [r.chat_external_id for r in rows],
            "kinds": [r.kind for r in rows],
            "texts": [r.text for r in rows],
            "mentions": [json.dumps(list(r.mentions), ensure_ascii=False) for r in rows],
            "statuses": [r.status for r in rows],
            "errors": [r.last_error for r in rows],
            "attachments": [r.attachment for r in rows],
        },
    )
    return {str(key) for key in result.scalars()}


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
    card: str | None = None,
    fresh: bool = False,
) -> OutboxEntry:
    """Queue a message for sending; a key already queued returns the existing row.

    `fresh=True` skips that lookup for keys that cannot exist yet (a reply to a new inbox row);
    the unique constraint still guards them.
    """
    if not fresh:
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
        card=card,
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


def card_of(row: OutboxEntry) -> dict[str, object] | None:
    """Return the card an outbox row carries, as stored (JSON object), or None."""
    if not row.card:
        return None
    value = json.loads(row.card)
    return value if isinstance(value, dict) else None


def attachment_of(row: OutboxEntry) -> dict[str, object] | None:
    """Return the attachment recipe an outbox row carries (JSON object), or None."""
    if not row.attachment:
        return None
    value = json.loads(row.attachment)
    return value if isinstance(value, dict) else None


def enqueue_attachment(
    session: Session,
    *,
    dedup_key: str,
    platform: str,
    chat_external_id: str,
    kind: str,
    text: str,
    attachment: dict[str, object],
    at: datetime,
) -> bool:
    """Queue a file or image to send (built by the sender from `attachment`); False if the key
    was already taken, so a repeated request queues nothing."""
    row = OutboxRow(
        dedup_key=dedup_key,
        platform=platform,
        chat_external_id=chat_external_id,
        kind=kind,
        text=text,
        attachment=json.dumps(attachment, ensure_ascii=False, sort_keys=True),
    )
    return dedup_key in enqueue_many(session, [row], at=at)


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


OUTBOX_SENDING = "sending"


def queue_heads(session: Session, platforms: Sequence[str]) -> list[OutboxEntry]:
    """Return the oldest unfinished row of every chat's queue (messages leave in order)."""
    if not platforms:
        return []
    heads = (
        select(func.min(OutboxEntry.id))
        .where(
            OutboxEntry.platform.in_(platforms),
            OutboxEntry.status.in_((OUTBOX_PENDING, OUTBOX_SENDING)),
        )
        .group_by(OutboxEntry.platform, OutboxEntry.chat_external_id)
    )
    return list(
        session.scalars(
            select(OutboxEntry).where(OutboxEntry.id.in_(heads)).order_by(OutboxEntry.id)
        )
    )


def claim(session: Session, row_id: int, now: datetime, lease_until: datetime) -> bool:
    """Take a due row for sending until `lease_until`; False when another sender has it."""
    result = session.execute(
        update(OutboxEntry)
        .where(
            OutboxEntry.id == row_id,
            OutboxEntry.not_before <= now,
            or_(
                OutboxEntry.status == OUTBOX_PENDING,
                and_(OutboxEntry.status == OUTBOX_SENDING, OutboxEntry.lease_until < now),
            ),
        )
        .values(status=OUTBOX_SENDING, lease_until=lease_until)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def finish(
    session: Session,
    row_id: int,
    *,
    status: str,
    at: datetime,
    parts_sent: int,
    error: str | None = None,
    not_before: datetime | None = None,
) -> None:
    """Record the outcome of a send attempt: sent, failed, or pending again from `not_before`."""
    values: dict[str, object] = {
        "status": status,
        "lease_until": None,
        "parts_sent": parts_sent,
        "attempts": OutboxEntry.attempts + 1,
        "last_error": error,
    }
    if status == OUTBOX_SENT:
        values["sent_at"] = at
    if not_before is not None:
        values["not_before"] = not_before
    session.execute(
        update(OutboxEntry)
        .where(OutboxEntry.id == row_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def postpone(session: Session, row_id: int, not_before: datetime) -> None:
    """Put a claimed row back without counting an attempt (e.g. the rate limit is reached)."""
    session.execute(
        update(OutboxEntry)
        .where(OutboxEntry.id == row_id)
        .values(status=OUTBOX_PENDING, lease_until=None, not_before=not_before)
        .execution_options(synchronize_session=False)
    )


_MARK_DELIVERED = Prepared(
    update(_OUTBOX)
    .where(any_of(_OUTBOX.c.id, "row_ids"), _OUTBOX.c.status != OUTBOX_SENT)
    .values(
        status=OUTBOX_SENT,
        sent_at=bindparam("at", type_=_OUTBOX.c.sent_at.type),
        attempts=_OUTBOX.c.attempts + 1,
    )
)


def mark_delivered(session: Session, row_ids: Sequence[int], at: datetime) -> None:
    """Mark rows sent that were delivered in a callback's own response (deferred if deferring)."""
    if row_ids:
        _MARK_DELIVERED.execute_later(session, row_ids=list(row_ids), at=at)


def outbox_rows(session: Session, status: str | None = None, limit: int = 50) -> list[OutboxEntry]:
    """Return outbox rows, newest first, optionally of one status."""
    query = select(OutboxEntry)
    if status is not None:
        query = query.where(OutboxEntry.status == status)
    return list(session.scalars(query.order_by(OutboxEntry.id.desc()).limit(limit)))


def requeue(session: Session, row_ids: Sequence[int], at: datetime) -> int:
    """Put failed rows back in the queue to be sent again now; return how many were."""
    if not row_ids:
        return 0
    result = session.execute(
        update(OutboxEntry)
        .where(OutboxEntry.id.in_(row_ids), OutboxEntry.status == OUTBOX_FAILED)
        .values(status=OUTBOX_PENDING, not_before=at, lease_until=None)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
