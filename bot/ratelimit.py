"""Per-destination send rate limits shared by every process through Redis (sliding window)."""

from __future__ import annotations

import itertools
import logging
import os
from datetime import datetime

import redis

from storage.redis import KEY_PREFIX

log = logging.getLogger(__name__)
WINDOW_SECONDS = 60.0

# Drop entries older than the window, then admit if under the limit; else return the wait.
_SLIDING_WINDOW = """
local key, now, window, limit, member = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]),
    tonumber(ARGV[3]), ARGV[4]
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZCARD', key) < limit then
  redis.call('ZADD', key, now, member)
  redis.call('PEXPIRE', key, math.ceil(window * 1000))
  return '0'
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return tostring(tonumber(oldest[2]) + window - now)
"""


class RateLimiter:
    """At most N sends per destination per minute, across all processes sharing the Redis."""

    def __init__(self, client: redis.Redis) -> None:
        self._client = client
        self._script = client.register_script(_SLIDING_WINDOW)
        self._ids = itertools.count()
        self._tag = f"{os.getpid()}-{id(self)}"

    def acquire(self, key: str, per_minute: int, now: datetime) -> float:
        """Take one slot now and return 0, or return the seconds to wait for the next slot."""
        member = f"{self._tag}-{next(self._ids)}"
        try:
            wait = self._script(
                keys=[f"{KEY_PREFIX}rate:{key}"],
                args=[now.timestamp(), WINDOW_SECONDS, per_minute, member],
            )
        except redis.RedisError:
            # Fail open: the platform's own throttling answer is retried by the outbox anyway.
            log.warning("rate limiter unavailable; sending without a shared limit", exc_info=True)
            return 0.0
        return max(0.0, float(wait.decode() if isinstance(wait, bytes) else wait))
