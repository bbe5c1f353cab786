"""Engines and transactional sessions for SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

WRITE_OPTION = "zhibu_write"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Turn on WAL, foreign keys and a busy timeout for every SQLite connection."""
    # Let SQLAlchemy's begin event issue BEGIN itself (pysqlite's implicit BEGIN comes too late).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    """Start write transactions with BEGIN IMMEDIATE so read-then-write cannot interleave."""
    write = connection.get_execution_options().get(WRITE_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def make_engine(url: str, *, pre_ping: bool = True) -> Engine:
    """Create an engine for the URL, with SQLite tuned for one writer and durable commits.

    `pre_ping` tests each PostgreSQL connection as it leaves the pool; a caller that retries
    on `OperationalError` anyway (the ledger writer) saves that round trip per transaction.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=pre_ping)


class Database:
    """The ledger database: an engine plus a session factory."""

    def __init__(self, url: str, *, pre_ping: bool = True) -> None:
        self.url = url
        self.engine = make_engine(url, pre_ping=pre_ping)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer at a time; queueing writers of this process on a lock is far
        # cheaper than letting them spin in SQLite's busy handler (which sleeps and retries).
        self._write_lock = threading.Lock() if self.is_sqlite else None

    @property
    def is_sqlite(self) -> bool:
        """True when the backend is SQLite."""
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Yield a session whose work is committed on success and rolled back on any error."""
        if self._write_lock is None:
            with self._sessions() as session, session.begin():
                yield session
            return
        with self._write_lock, self._sessions() as session, session.begin():
            session.connection(execution_options={WRITE_OPTION: True})
            yield session

    def session(self) -> Session:
        """Return a plain session for read-only use; the caller closes it."""
        return self._sessions()

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
