"""A per-session memo of hot lookups (chats, senders, open meetings), dropped on any rollback.

A batch of messages shares one transaction, so what one message looked up the next can reuse.
Entries are ORM objects of that same session; a rollback (even of one savepoint) may leave
them stale or transient, so the memo is cleared whenever the session rolls anything back.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

_KEY = "zhibu.memo"
MISSING = object()


def memo(session: Session) -> dict[tuple[Any, ...], Any]:
    """Return the session's memo (created on first use)."""
    found = session.info.get(_KEY)
    if not isinstance(found, dict):
        found = session.info[_KEY] = {}
    return found


def forget(session: Session) -> None:
    """Drop everything the session remembered."""
    session.info.pop(_KEY, None)


@event.listens_for(Session, "after_soft_rollback")
def _forget_on_rollback(session: Session, _previous: SessionTransaction) -> None:
    forget(session)


def note_batch_members(session: Session, member_ids: set[int]) -> None:
    """Record who sent the messages of the batch being handled (see `batch_members`)."""
    memo(session).setdefault(("batch_members",), set()).update(member_ids)


def batch_members(session: Session) -> frozenset[int]:
    """The senders of the batch in this transaction: lookups that would run once per message
    (hours so far, study confirmed) load their rows for all of them at once instead."""
    return frozenset(memo(session).get(("batch_members",), ()))
