"""Hot-path statements run straight on the DB-API cursor, compiled once per database dialect.

A chat message costs a dozen small statements. Through SQLAlchemy each one pays ~40 µs of
compilation-cache lookup, parameter processing and result wrapping; the same statement on the
driver's cursor costs a few µs. `Prepared` keeps the SQLAlchemy statement as the single
definition (so types such as `UTCDateTime` still convert values both ways) and only skips the
per-call machinery. It runs in the session's own transaction; pending ORM changes are flushed
first so that a raw read never misses them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Dialect, event
from sqlalchemy.exc import DBAPIError, InvalidRequestError
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.sql.expression import ReturnsRows
from sqlalchemy.types import TypeEngine

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Compiled:
    sql: str
    positional: tuple[str, ...] | None
    processors: tuple[tuple[str, Callable[[Any], Any]], ...]
    defaults: dict[str, Any]
    results: tuple[Processor, ...]


_DRIVER = "zhibu.rawsql.driver"


def _driver(session: Session) -> tuple[Connection, Any]:
    """The session's connection and its DB-API connection, looked up once per transaction."""
    found: tuple[Connection, Any] | None = session.info.get(_DRIVER)
    if found is None:
        connection = session.connection()
        found = session.info[_DRIVER] = (connection, connection.connection.driver_connection)
    return found


@event.listens_for(Session, "after_transaction_create")
@event.listens_for(Session, "after_transaction_end")
def _forget_driver(session: Session, _transaction: SessionTransaction) -> None:
    # A new savepoint is only emitted when its session transaction first asks for the
    # connection, so every transaction (nested ones too) must look it up again.
    session.info.pop(_DRIVER, None)


_DEFERRED = "zhibu.rawsql.deferred"
_POISONED = "zhibu.rawsql.deferred.poisoned"


def defer_writes(session: Session) -> None:
    """Let `Prepared.execute_later` writes wait until `flush_deferred` (or a rollback)."""
    _driver(session)  # begin the transaction now, so that its end also ends the deferring
    session.info.setdefault(_DEFERRED, [])


def flush_deferred(session: Session) -> None:
    """Run the deferred writes, one `executemany` per statement, and keep deferring."""
    if session.info.get(_POISONED):
        raise RuntimeError("deferred writes were mixed with a savepoint that rolled back")
    buffer: list[tuple[Prepared, dict[str, Any]]] | None = session.info.get(_DEFERRED)
    if not buffer:
        return
    pending = list(buffer)
    buffer.clear()
    by_statement: dict[int, tuple[Prepared, list[dict[str, Any]]]] = {}
    for prepared, params in pending:
        by_statement.setdefault(id(prepared), (prepared, []))[1].append(params)
    for prepared, rows in by_statement.values():
        cursor, _compiled = prepared._run(session, {}, rows)
        cursor.close()


def stop_deferring(session: Session) -> None:
    """Run what is deferred and write at once from now on."""
    flush_deferred(session)
    session.info.pop(_DEFERRED, None)


@event.listens_for(Session, "after_soft_rollback")
def _drop_deferred(session: Session, previous: SessionTransaction) -> None:
    buffer = session.info.get(_DEFERRED)
    if not buffer:
        return
    if previous.nested:
        # Which deferred writes belonged inside the savepoint is unknown: refuse to guess.
        session.info[_POISONED] = True
    buffer.clear()  # the writes belonged to work that is being undone


@event.listens_for(Session, "before_commit")
def _flush_before_commit(session: Session) -> None:
    stop_deferring(session)


@event.listens_for(Session, "after_transaction_end")
def _forget_deferring(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction: deferring ends with it
        session.info.pop(_DEFERRED, None)
        session.info.pop(_POISONED, None)


def _result_processor(type_: TypeEngine[Any], dialect: Dialect) -> Processor:
    """The type's result processor; None where it depends on the cursor's column type."""
    try:
        return type_.dialect_impl(dialect).result_processor(dialect, None)
    except (TypeError, InvalidRequestError):
        # psycopg's NUMERIC asks for the column's type oid to choose; the driver already
        # returns Decimal for NUMERIC (the only such column type here), so keep its value.
        return None


class Prepared:
    """A SQLAlchemy Core statement executed on the raw driver cursor of a session."""

    def __init__(self, statement: ClauseElement, columns: Sequence[str] | None = None) -> None:
        self.statement = statement
        # Inserts without explicit values take their parameter names from these column keys.
        self.columns = list(columns) if columns is not None else None
        self._compiled: dict[str, _Compiled] = {}

    def _compile(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is not None:
            return found
        compiled = self.statement.compile(dialect=dialect, column_keys=self.columns)
        assert isinstance(compiled, SQLCompiler)
        processors = tuple(
            (name, proc)
            for name, bind in compiled.binds.items()
            if (proc := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None
        )
        # Literal values compiled into the statement (e.g. `status == "open"`) travel as binds.
        defaults = {
            name: bind.value
            for name, bind in compiled.binds.items()
            if not bind.required and bind.value is not None
        }
        results: tuple[Processor, ...] = ()
        if isinstance(self.statement, ReturnsRows):
            results = tuple(
                _result_processor(column.type, dialect)
                for column in self.statement.exported_columns
            )
        positional = tuple(compiled.positiontup or ()) if compiled.positional else None
        found = _Compiled(compiled.string, positional, processors, defaults, results)
        self._compiled[dialect.name] = found
        return found

    def _arguments(self, compiled: _Compiled, params: Mapping[str, Any]) -> Any:
        values = {**compiled.defaults, **params} if compiled.defaults else dict(params)
        for name, proc in compiled.processors:
            if name in values:
                values[name] = proc(values[name])
        if compiled.positional is not None:
            return [values[name] for name in compiled.positional]
        return values

    def _run(
        self, session: Session, params: Mapping[str, Any], many: Sequence[Mapping[str, Any]] = ()
    ) -> tuple[Any, _Compiled]:
        if session.new or session.dirty or session.deleted:
            session.flush()
        connection, driver = _driver(session)
        compiled = self._compile(connection.dialect)
        cursor = driver.cursor()
        dbapi_error = connection.dialect.loaded_dbapi.Error
        try:
            if many:
                arguments = [self._arguments(compiled, p) for p in many]
                cursor.executemany(compiled.sql, arguments)
            else:
                arguments = self._arguments(compiled, params)
                cursor.execute(compiled.sql, arguments)
        except dbapi_error as error:
            cursor.close()
            # The same exception classes as through SQLAlchemy (IntegrityError, ...), so
            # callers need not know which way a statement ran.
            raise DBAPIError.instance(
                compiled.sql, arguments, error, dbapi_error, dialect=connection.dialect
            ) from error
        return cursor, compiled

    def execute_later(self, session: Session, **params: Any) -> None:
        """Run a write now, or at `flush_deferred` while the session defers writes.

        Only for writes nothing reads back before the flush (audit entries, settling an
        inbox row); deferred rows of one statement go to the database in one `executemany`.
        """
        buffer: list[tuple[Prepared, dict[str, Any]]] | None = session.info.get(_DEFERRED)
        if buffer is None:
            self.execute(session, **params)
        else:
            buffer.append((self, params))

    def execute(self, session: Session, **params: Any) -> int:
        """Run a statement that returns no rows; return how many rows it changed."""
        cursor, _compiled = self._run(session, params)
        count = int(cursor.rowcount)
        cursor.close()
        return count

    def first(self, session: Session, **params: Any) -> tuple[Any, ...] | None:
        """Run a statement and return its first row, converted to Python values (None if none)."""
        cursor, compiled = self._run(session, params)
        row = cursor.fetchone()
        cursor.close()
        if row is None:
            return None
        return tuple(
            proc(value) if proc is not None else value
            for proc, value in zip(compiled.results, row, strict=True)
        )

    def all(self, session: Session, **params: Any) -> list[tuple[Any, ...]]:
        """Run a statement and return all its rows, converted to Python values."""
        cursor, compiled = self._run(session, params)
        rows = cursor.fetchall()
        cursor.close()
        results = compiled.results
        if not any(results):
            return [tuple(row) for row in rows]
        return [
            tuple(
                proc(value) if proc is not None else value
                for proc, value in zip(results, row, strict=True)
            )
            for row in rows
        ]

    def scalar(self, session: Session, **params: Any) -> Any:
        """Run a statement and return the first column of its first row (None if no row)."""
        row = self.first(session, **params)
        return None if row is None else row[0]
