"""Secrets the application generates for itself, kept in the database so every instance shares them."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage.models import AppSecret

_TABLE: Table = AppSecret.__table__  # type: ignore[assignment]


def get_or_create(session: Session, name: str, at: datetime, nbytes: int = 32) -> str:
    """Return the secret called `name`, generating and storing it first if there is none.

    Several processes may start at once: the insert does nothing when another one won, and
    everybody then reads the stored value.
    """
    found = session.scalar(select(AppSecret.value).where(AppSecret.name == name))
    if found is not None:
        return found
    dialect = session.connection().dialect.name
    dialect_insert: Any = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(
        dialect_insert(_TABLE)
        .values(name=name, value=secrets.token_urlsafe(nbytes), created_at=at)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    return str(session.scalar(select(AppSecret.value).where(AppSecret.name == name)))
