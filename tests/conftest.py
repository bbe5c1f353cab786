"""Shared fixtures: a migrated database (SQLite, and PostgreSQL when configured), a clock, a chat."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import redis
from sqlalchemy import create_engine, text

from bot.clock import FixedClock
from storage import migrate
from storage.db import Database
from storage.redis import connect
from tests.factories import ChatBot

TZ = ZoneInfo("Asia/Shanghai")
PG_URL = os.environ.get("ZHIBU_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("ZHIBU_TEST_REDIS_URL")
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(autouse=True)
def _no_outside_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep a developer's environment and .env out of the tests."""
    for key in list(os.environ):
        if key.startswith("ZHIBU_") and not key.startswith("ZHIBU_TEST_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once is much faster)."""
    path = tmp_path_factory.mktemp("template") / "zhibu.db"
    db = Database(f"sqlite:///{path}")
    migrate.upgrade(db.engine)
    db.dispose()
    return path


def reset_postgres(url: str) -> None:
    """Drop and recreate the public schema of the test database."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """An empty, migrated database URL for each backend in turn."""
    if request.param == "postgres":
        if not PG_URL:
            pytest.skip("set ZHIBU_TEST_DATABASE_URL to run PostgreSQL tests")
        reset_postgres(PG_URL)
        engine = create_engine(PG_URL)
        migrate.upgrade(engine)
        engine.dispose()
        return PG_URL
    path = tmp_path / "zhibu.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """The migrated ledger database."""
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def redis_client(database_url: str) -> Iterator[redis.Redis]:
    """The in-process substitute next to SQLite; a real Redis next to PostgreSQL when configured.

    So one run covers both production shapes: embedded defaults, and PostgreSQL + Redis.
    """
    if REDIS_URL and not database_url.startswith("sqlite"):
        client = redis.Redis.from_url(REDIS_URL)
        client.flushdb()
        yield client
        client.flushdb()
        client.close()
    else:
        yield connect(None)


@pytest.fixture
def clock() -> FixedClock:
    """Friday 2026-11-20 10:00 in Shanghai, the date the parse examples assume."""
    return FixedClock(datetime(2026, 11, 20, 10, 0, tzinfo=TZ))


@pytest.fixture
def bot(db: Database, clock: FixedClock, redis_client: redis.Redis) -> ChatBot:
    """A WeCom group chat of the sample branch, driven through production dispatch."""
    chat = ChatBot(db, clock, redis_client=redis_client)
    chat.seed()
    return chat
