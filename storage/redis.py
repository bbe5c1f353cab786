"""Redis: a real server when configured, else an in-process substitute (fakeredis)."""

from __future__ import annotations

from typing import Any

import fakeredis
import redis

KEY_PREFIX = "zhibu:"
SEEN_TTL_SECONDS = 3 * 24 * 3600


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

    def first_sight(self, platform: str, message_id: str) -> bool:
        """Mark the id seen; True when nobody had marked it. Redis errors count as first sight."""
        return self.first_sight_many([(platform, message_id)])[0]

    def first_sight_many(self, ids: list[tuple[str, str]]) -> list[bool]:
        """`first_sight` for many (platform, message id) pairs in one round trip."""
        try:
            pipe = self._client.pipeline(transaction=False)
            for platform, message_id in ids:
                pipe.set(
                    f"{KEY_PREFIX}seen:{platform}:{message_id}", b"1", nx=True, ex=SEEN_TTL_SECONDS
                )
            return [bool(answer) for answer in pipe.execute()]
        except redis.RedisError:
            return [True] * len(ids)
