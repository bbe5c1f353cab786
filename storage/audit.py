"""The append-only audit trail and the actor that every ledger write is attributed to."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from storage.models import AuditEntry
from storage.rawsql import Prepared

_AUDIT: Table = AuditEntry.__table__  # type: ignore[assignment]
_INSERT = Prepared(
    insert(_AUDIT),
    (
        "branch_id",
        "actor_member_id",
        "actor",
        "action",
        "entity",
        "entity_id",
        "detail",
        "at",
        "source_inbox_id",
    ),
)


@dataclass(frozen=True)
class Actor:
    """Who is writing, when, and from which received message (None for CLI/system writes)."""

    name: str
    at: datetime
    member_id: int | None = None
    inbox_id: int | None = None


def record(
    session: Session,
    actor: Actor,
    *,
    branch_id: int | None,
    action: str,
    entity: str,
    entity_id: int | None = None,
    **detail: Any,
) -> None:
    """Append one audit entry for a change made by `actor`, in the same transaction."""
    _INSERT.execute_later(
        session,
        branch_id=branch_id,
        actor_member_id=actor.member_id,
        actor=actor.name,
        action=action,
        entity=entity,
        entity_id=entity_id,
        detail=json.dumps(detail, ensure_ascii=False, default=str, sort_keys=True),
        at=actor.at,
        source_inbox_id=actor.inbox_id,
    )
