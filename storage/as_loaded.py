"""ORM objects from rows read on the raw cursor, as if a query of the session had loaded them.

A batch of messages reads its rows in one round trip (`storage.rawsql.all_together`); the
handlers still want ORM objects. `make_transient_to_detached` marks an object built from a
full row as loaded (no history, nothing expired), and adding it makes it persistent - without
the ORM's per-query compile and loading cost.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from sqlalchemy import inspect
from sqlalchemy.orm import Session, make_transient_to_detached

Model = TypeVar("Model")


def detached(session: Session, model: type[Model], values: Mapping[str, Any]) -> Model:
    """The session's object for this row, or a new one as if loaded and not yet attached.

    `values` holds every column (by attribute name) and may hold loaded relationships. An
    object of a collection is attached with its parent, so it stays detached here.
    """
    mapper = inspect(model)
    key = session.identity_key(model, tuple(values[c.key] for c in mapper.primary_key))
    found = session.identity_map.get(key)
    if found is not None:
        return found  # type: ignore[no-any-return]
    instance = model(**values)
    make_transient_to_detached(instance)
    return instance


def attached(session: Session, model: type[Model], values: Mapping[str, Any]) -> Model:
    """The session's object for this row: the one it holds, or a new one as if loaded."""
    instance = detached(session, model, values)
    if instance not in session:
        session.add(instance)
    return instance
