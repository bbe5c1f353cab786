"""The wired-up bot: settings, database, Redis and dispatcher, built once per process."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import redis

from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.dispatch import Dispatcher
from storage import migrate
from storage.db import Database
from storage.redis import SeenFilter, connect

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """Everything a command needs to handle messages."""

    settings: Settings
    db: Database
    dispatcher: Dispatcher
    clock: Clock
    redis: redis.Redis


def build(settings: Settings, clock: Clock | None = None, *, upgrade: bool = True) -> Runtime:
    """Open the database (upgrading it unless told not to) and wire the dispatcher."""
    db = Database(settings.database_url)
    if upgrade:
        migrate.upgrade(db.engine)
    migrate.check_schema(db.engine)
    the_clock = clock or SystemClock()
    client = connect(settings.redis_url)
    dispatcher = Dispatcher(db, SeenFilter(client), the_clock, settings.tz)
    return Runtime(settings, db, dispatcher, the_clock, client)


def describe(settings: Settings) -> str:
    """One line saying which database and Redis are in use, with no secrets."""
    db = Database(settings.database_url)
    url = db.engine.url.render_as_string(hide_password=True)
    db.dispose()
    redis = (
        "Redis " + settings.redis_url.split("@")[-1]
        if settings.redis_url
        else ("in-process Redis substitute")
    )
    return f"database {url}; {redis}; time zone {settings.tz}"
