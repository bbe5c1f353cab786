"""Redis: a real server when configured, else an in-process substitute (fakeredis)."""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

import fakeredis
import redis

KEY_PREFIX = "zhibu:"
SEEN_TTL_SECONDS = 3 * 24 * 3600
# The in-process check forgets the oldest ids beyond this many (the database still decides).
LOCAL_SEEN_MAX = 200_000


def connect(url: str | None) -> redis.Redis:
    """Return a client for the URL, or a private in-process substitute when the URL is unset."""
    if url:
        client: redis.Redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        return client
    server: Any = fakeredis.FakeServer()
    fake: redis.Redis = fakeredis.FakeRedis(server=server)
    return fake


class SeenFilter:
    """A fast, best-effort check for repeated platform message ids (the database decides)."""

    def __init__(self, client: redis.Redis) -> None:
        self._client = client
        # The in-process substitute is private to this process anyway: a dict with expiry
        # gives the same answers without encoding every command as RESP and parsing it back.
        self._local: OrderedDict[str, float] | None = (
            OrderedDict() if isinstance(client, fakeredis.FakeRedis) else None
        )

    def first_sight(self, platform: str, message_id: str) -> bool:
        """Mark the id seen; True when nobody had marked it. Redis errors count as first sight."""
        return self.first_sight_many([(platform, message_id)])[0]

    def first_sight_many(self, ids: list[tuple[str, str]]) -> list[bool]:
        """`first_sight` for many (platform, message id) pairs in one round trip."""
        keys = [f"{KEY_PREFIX}seen:{platform}:{message_id}" for platform, message_id in ids]
        if self._local is not None:
            return self._first_sight_local(keys)
        try:
            pipe = self._client.pipeline(transaction=False)
            for key in keys:
                pipe.set(key, b"1", nx=True, ex=SEEN_TTL_SECONDS)
            return [bool(answer) for answer in pipe.execute()]
        except redis.RedisError:
            return [True] * len(keys)

    def _first_sight_local(self, keys: list[str]) -> list[bool]:
        seen = self._local
        assert seen is not None
        now = time.monotonic()
        while seen:  # entries are in expiry order: drop the expired ones from the front
            oldest = next(iter(seen))
            if seen[oldest] > now:
                break
            del seen[oldest]
        found = []
        for key in keys:
            first = key not in seen
            if first:
                seen[key] = now + SEEN_TTL_SECONDS
            found.append(first)
        while len(seen) > LOCAL_SEEN_MAX:
            seen.popitem(last=False)
        return found
