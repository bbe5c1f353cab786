"""End-to-end fixtures: the real ASGI app on a migrated database, with fake platform servers."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from bot.app import create_app
from bot.clock import FixedClock
from bot.config import Settings
from bot.roster_csv import read_roster
from bot.runtime import Runtime, build
from storage import roster
from storage.audit import Actor
from tests.factories import BRANCH, DATA

# The official sample EncodingAESKey (platforms.md vector A); any 43-character key works.
WECOM_TOKEN = "QDG6eK"
WECOM_AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
DINGTALK_KEY = "dingappkey"
DINGTALK_SECRET = "this is secret"


@pytest.fixture
def make_app(
    database_url: str, clock: FixedClock
) -> Iterator[Callable[..., tuple[Runtime, Starlette, TestClient]]]:
    """Build (runtime, app, client) for settings overrides; the sender is driven by the test."""
    opened: list[TestClient] = []
    redis_url = os.environ.get("ZHIBU_TEST_REDIS_URL")

    def make(**overrides: Any) -> tuple[Runtime, Starlette, TestClient]:
        settings = Settings(
            database_url=database_url,
            redis_url=redis_url if redis_url and not database_url.startswith("sqlite") else None,
            **overrides,
        )
        runtime = build(settings, clock)
        if runtime.settings.redis_url:
            runtime.redis.flushdb()
        with runtime.db.transaction() as session:
            actor = Actor("test", clock.now())
            branch = roster.ensure_branch(session, actor, BRANCH, "Asia/Shanghai")
            roster.import_roster(
                session, actor, branch, read_roster(DATA / "roster_sample.csv").rows
            )
        app = create_app(runtime, run_sender=False)
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        opened.append(client)
        return runtime, app, client

    yield make
    for client in opened:
        client.__exit__(None, None, None)
