"""`column IN <a list parameter>` that compiles to one fixed statement on every backend.

SQLAlchemy's `in_()` renders one placeholder per value, so its text changes with the list's
length and a `storage.rawsql.Prepared` statement cannot hold it. `any_of` binds the whole list
as one parameter instead: an array on PostgreSQL (`= ANY(...)`), JSON read back with
`json_each` on SQLite.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ARRAY, Boolean, Dialect, Text, bindparam
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from sqlalchemy.types import TypeDecorator, TypeEngine


class ValueList(TypeDecorator[list[Any]]):
    """A list parameter: an array of `item` on PostgreSQL, a JSON text elsewhere."""

    impl = Text
    cache_ok = True

    def __init__(self, item: TypeEngine[Any]) -> None:
        super().__init__()
        self.item = item

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """Bind as a typed array where the database has arrays."""
        if dialect.name == "postgresql":
            return dialect.type_descriptor(ARRAY(self.item))
        return dialect.type_descriptor(Text())

    def process_bind_param(self, value: Iterable[Any] | None, dialect: Dialect) -> Any:
        """Send the values as a list (PostgreSQL) or as JSON (SQLite)."""
        values = list(value or ())
        return values if dialect.name == "postgresql" else json.dumps(values)


class _AnyOf(ColumnElement[bool]):
    inherit_cache = True
    type = Boolean()

    def __init__(self, column: ColumnElement[Any], values: BindParameter[Any]) -> None:
        self.column = column
        self.values = values

    @property
    def _from_objects(self) -> list[Any]:
        return list(self.column._from_objects)


@compiles(_AnyOf, "postgresql")
def _any_of_postgresql(element: _AnyOf, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    return f"{column} = ANY({compiler.process(element.values, **kw)})"


@compiles(_AnyOf)
def _any_of_json(element: _AnyOf, compiler: SQLCompiler, **kw: Any) -> str:
    # Both parts are compiled SQL (a column and a placeholder), never values.
    column = compiler.process(element.column, **kw)
    values = compiler.process(element.values, **kw)
    return f"{column} IN (SELECT value FROM json_each({values}))"  # noqa: S608


def any_of(column: ColumnElement[Any], name: str) -> ColumnElement[bool]:
    """True where `column` equals one of the values passed as parameter `name` (a list)."""
    return _AnyOf(column, bindparam(name, type_=ValueList(column.type)))
