"""Hot-path statements run straight on the DB-API cursor, compiled once per database dialect.

A chat message costs a dozen small statements. Through SQLAlchemy each one pays ~40 µs of
compilation-cache lookup, parameter processing and result wrapping; the same statement on the
driver's cursor costs a few µs. `Prepared` keeps the SQLAlchemy statement as the single
definition (so types such as `UTCDateTime` still convert values both ways) and only skips the
per-call machinery. It runs in the session's own transaction; pending ORM changes are flushed
first so that a raw read never misses them. While a session defers writes (`defer_writes`),
writes wait in a buffer that every later statement sends ahead of itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Dialect, Engine, Integer, column, event, insert, text
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
_ROWS = "zhibu.rawsql.deferred.rows"
_IDS = "zhibu.rawsql.ids"
_UNSENT = "zhibu.rawsql.unsent"  # (table, id) -> the parameters of a buffered insert
# On the DB-API connection's info while a session defers writes on it (see `_flush_first`).
_OWNER = "zhibu.rawsql.owner"

Pending = list[tuple["Prepared", dict[str, Any]]]


def defer_writes(session: Session, rows: int = 16) -> None:
    """Let writes wait until a read, a flush or the commit needs them (or a rollback drops them).

    While deferring, `Prepared.execute_later` buffers its write and `Prepared.insert` hands out
    an id reserved from the table's sequence (where the database has sequences), so a batch
    of messages writes without waiting for the database. Every statement that reads - raw,
    ORM or Core - first sends what is buffered, so nothing reads around a deferred write; on
    PostgreSQL the buffered writes and the read travel in one round trip. `rows` says about
    how many rows a table gets (ids are reserved that many at a time; unused ones are gaps).
    """
    connection, _driver_connection = _driver(session)  # begin now, so its end ends deferring
    session.info.setdefault(_DEFERRED, [])
    session.info[_ROWS] = max(rows, 1)
    info = session.info[_OWNER] = connection.connection.info
    info[_OWNER] = session


def pending_writes(session: Session) -> int:
    """How many deferred writes wait in the buffer (tests and diagnostics)."""
    return len(session.info.get(_DEFERRED) or ())


def _take_pending(session: Session) -> Pending:
    if session.info.get(_POISONED):
        raise RuntimeError("deferred writes were mixed with a savepoint that rolled back")
    buffer: Pending | None = session.info.get(_DEFERRED)
    if not buffer:
        return []
    pending = list(buffer)
    buffer.clear()
    session.info.pop(_UNSENT, None)
    return pending


def amend_unsent(session: Session, table: str, row_id: int, **values: Any) -> bool:
    """Change columns of a row inserted by `Prepared.insert` that still waits in the buffer.

    Returns False when the row is already in the database (the caller updates it instead).
    Saves an UPDATE for rows that are settled later in the same batch (inbox rows).
    """
    params: dict[str, Any] | None = session.info.get(_UNSENT, {}).get((table, row_id))
    if params is None:
        return False
    params.update(values)
    return True


def _send_pending(cursor: Any, dialect: Dialect, pending: Pending) -> None:
    """Execute buffered writes in order; runs of one statement go as one `executemany`."""
    start = 0
    while start < len(pending):
        prepared = pending[start][0]
        end = start
        while end < len(pending) and pending[end][0] is prepared:
            end += 1
        compiled = prepared._compile(dialect)
        rows = [prepared._arguments(compiled, params) for _p, params in pending[start:end]]
        if len(rows) == 1:
            cursor.execute(compiled.sql, rows[0])
        else:
            cursor.executemany(compiled.sql, rows)
        start = end


def flush_deferred(session: Session) -> None:
    """Run the deferred writes now (in order) and keep deferring."""
    pending = _take_pending(session)
    if pending:
        _execute(session, pending, ())


def stop_deferring(session: Session) -> None:
    """Run what is deferred and write at once from now on."""
    flush_deferred(session)
    session.info.pop(_DEFERRED, None)


@event.listens_for(Engine, "before_cursor_execute")
def _flush_first(
    conn: Connection, _cursor: Any, _sql: str, _params: Any, _context: Any, _many: bool
) -> None:
    # Any statement through SQLAlchemy (an ORM query or flush, a lazy load, Core) may read or
    # reference a deferred row: send the buffer before it.
    owner: Session | None = conn.connection.info.get(_OWNER)
    if owner is not None and owner.info.get(_DEFERRED):
        flush_deferred(owner)


def _reserve_id(session: Session, table: str) -> int:
    """The next id reserved for `table` in this transaction (refilled from its sequence)."""
    pools: dict[str, list[int]] = session.info.setdefault(_IDS, {})
    if not pools.get(table):
        all_together(session, (), reserve={table: session.info.get(_ROWS, 16)})
    return pools[table].pop()


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
    if (
        _DEFERRED in session.info
        and not session.in_nested_transaction()
        and hasattr(_driver(session)[1], "pipeline")
    ):
        session.flush()  # ORM changes first; the buffer goes ahead of them
        if not (session.new or session.dirty or session.deleted):
            # The last writes and the COMMIT in one round trip; the driver's own commit
            # then finds no transaction and sends nothing.
            for cursor, _compiled in _execute(session, _take_pending(session), [_COMMIT]):
                cursor.close()
            session.info.pop(_DEFERRED, None)
            return
    stop_deferring(session)


@event.listens_for(Session, "after_transaction_end")
def _forget_deferring(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction: deferring ends with it
        for key in (_DEFERRED, _POISONED, _ROWS, _IDS, _UNSENT):
            session.info.pop(key, None)
        info = session.info.pop(_OWNER, None)
        if info is not None:
            info.pop(_OWNER, None)


def _result_processor(type_: TypeEngine[Any], dialect: Dialect) -> Processor:
    """The type's result processor; None where it depends on the cursor's column type."""
    try:
        return type_.dialect_impl(dialect).result_processor(dialect, None)
    except (TypeError, InvalidRequestError):
        # psycopg's NUMERIC asks for the column's type oid to choose; the driver already
        # returns Decimal for NUMERIC (the only such column type here), so keep its value.
        return None


Statement = tuple["Prepared", Mapping[str, Any]]


def _execute(
    session: Session,
    pending: Pending,
    statements: Sequence[Statement],
    many: Sequence[Mapping[str, Any]] = (),
) -> list[tuple[Any, _Compiled]]:
    """Send the pending writes, then the statements (or one statement `many` times), on the
    session's raw cursors; return each statement's cursor.

    On psycopg they all go in one pipeline: one round trip instead of one per statement.
    """
    connection, driver = _driver(session)
    dialect = connection.dialect
    dbapi_error = dialect.loaded_dbapi.Error
    batched = hasattr(driver, "pipeline") and (pending or len(statements) > 1)
    cursors: list[tuple[Any, _Compiled]] = []
    sql, arguments = "(deferred writes)", None
    try:
        with driver.pipeline() if batched else nullcontext():
            if pending:
                writes = driver.cursor()
                _send_pending(writes, dialect, pending)
                writes.close()
            for prepared, params in statements:
                compiled = prepared._compile(dialect)
                cursor = driver.cursor()
                cursors.append((cursor, compiled))
                sql = compiled.sql
                if many:
                    arguments = [prepared._arguments(compiled, p) for p in many]
                    cursor.executemany(sql, arguments)
                else:
                    arguments = prepared._arguments(compiled, params)
                    cursor.execute(sql, arguments)
    except dbapi_error as error:
        for cursor, _compiled in cursors:
            cursor.close()
        # The same exception classes as through SQLAlchemy (IntegrityError, ...), so
        # callers need not know which way a statement ran.
        raise DBAPIError.instance(sql, arguments, error, dbapi_error, dialect=dialect) from error
    return cursors


def _converted(compiled: _Compiled, rows: Sequence[Any]) -> list[tuple[Any, ...]]:
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


class Prepared:
    """A SQLAlchemy Core statement executed on the raw driver cursor of a session."""

    def __init__(self, statement: ClauseElement, columns: Sequence[str] | None = None) -> None:
        self.statement = statement
        # Inserts without explicit values take their parameter names from these column keys.
        self.columns = list(columns) if columns is not None else None
        self._compiled: dict[str, _Compiled] = {}
        self._with_id: Prepared | None = None

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
        ((cursor, compiled),) = _execute(session, _take_pending(session), [(self, params)], many)
        return cursor, compiled

    def execute_later(self, session: Session, **params: Any) -> None:
        """Run a write now, or, while the session defers writes, before the next read.

        Buffered writes run in order; consecutive rows of one statement go in one
        `executemany`. A failure shows at the statement that sends them (or the commit).
        """
        buffer: list[tuple[Prepared, dict[str, Any]]] | None = session.info.get(_DEFERRED)
        if buffer is None:
            self.execute(session, **params)
        else:
            buffer.append((self, params))

    def insert(self, session: Session, **params: Any) -> int:
        """Insert one row and return its id (the statement is `insert(t).returning(t.c.id)`).

        While the session defers writes on a database with sequences, the id is reserved
        ahead and the row waits in the buffer; otherwise the row is written now.
        """
        if _DEFERRED not in session.info or not _driver(session)[0].dialect.supports_sequences:
            return int(self.scalar(session, **params))
        if self._with_id is None:
            table = self.statement.table  # type: ignore[attr-defined]
            self._with_id = Prepared(insert(table), [*(self.columns or ()), "id"])
        table_name = self.statement.table.name  # type: ignore[attr-defined]
        new_id = _reserve_id(session, table_name)
        row = {"id": new_id, **params}
        session.info[_DEFERRED].append((self._with_id, row))
        session.info.setdefault(_UNSENT, {})[(table_name, new_id)] = row
        return new_id

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
        return _converted(compiled, rows)

    def scalar(self, session: Session, **params: Any) -> Any:
        """Run a statement and return the first column of its first row (None if no row)."""
        row = self.first(session, **params)
        return None if row is None else row[0]


def all_together(
    session: Session, reads: Sequence[Statement], reserve: Mapping[str, int] | None = None
) -> list[list[tuple[Any, ...]]]:
    """Run independent reads and return the rows of each; on psycopg in one round trip.

    `reserve` says how many ids of which tables `Prepared.insert` will want: while the
    session defers writes, they are reserved in the same round trip instead of their own.
    """
    if session.new or session.dirty or session.deleted:
        session.flush()
    pools: dict[str, list[int]] = session.info.setdefault(_IDS, {})
    wanted: Mapping[str, int] = {}
    if reserve and _DEFERRED in session.info and _driver(session)[0].dialect.supports_sequences:
        wanted = {t: max(count, 1) for t, count in reserve.items() if not pools.get(t)}
    tables = list(wanted)
    extra = [(_RESERVE, {"table": t, "count": count}) for t, count in wanted.items()]
    found = []
    for cursor, compiled in _execute(session, _take_pending(session), [*reads, *extra]):
        found.append(_converted(compiled, cursor.fetchall()))
        cursor.close()
    for table, rows in zip(tables, found[len(reads) :], strict=True):
        pools[table] = [int(row[0]) for row in reversed(rows)]
    return found[: len(reads)]


_COMMIT: Statement = (Prepared(text("COMMIT")), {})
# Ids for `Prepared.insert` while deferring, reserved `count` at a time (PostgreSQL only).
_RESERVE = Prepared(
    text(
        "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :count)"
    ).columns(column("id", Integer))
)
