"""The DingTalk app access token, cached in Redis and refreshed by one process at a time."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import datetime

import httpx
import redis
from redis.exceptions import LockError

log = logging.getLogger(__name__)

TOKEN_PATH = "/v1.0/oauth2/accessToken"  # noqa: S105 - a URL path, not a secret
REFRESH_MARGIN_SECONDS = 300  # stop using a token this long before DingTalk expires it
KEY_PREFIX = "zhibu:dingtalk:token:"


class TokenError(Exception):
    """No access token could be obtained (endpoint error, network, or a stuck refresher)."""


class TokenCache:
    """Hands out the app's access token; the first caller after expiry refreshes it for all."""

    def __init__(
        self,
        *,
        redis_client: redis.Redis,
        app_key: str,
        app_secret: str,
        api_base: str,
        clock: Callable[[], datetime],
        http: httpx.AsyncClient | None = None,
        timeout: float = 5.0,
        lock_timeout: float | None = None,
        wait_seconds: float = 10.0,
        poll_seconds: float = 0.05,
    ) -> None:
        self._redis = redis_client
        self._app_key = app_key
        self._app_secret = app_secret
        self._url = api_base.rstrip("/") + TOKEN_PATH
        self._clock = clock
        self._http = http
        self._owns_http = http is None
        self._timeout = timeout
        # The lock outlives one token request, so a slow refresher is never joined by a second.
        self._lock_timeout = lock_timeout if lock_timeout is not None else 2 * timeout + 5
        self._polls = max(1, int(wait_seconds / poll_seconds))
        self._poll_seconds = poll_seconds

    @property
    def key(self) -> str:
        """The Redis key holding this app's token."""
        return KEY_PREFIX + self._app_key

    async def get(self) -> str:
        """Return a valid token, refreshing it (under a cross-process lock) when needed."""
        try:
            return await self._get_shared()
        except redis.RedisError as exc:
            log.warning("dingtalk token: redis unavailable (%s), fetching without cache", exc)
            token, _ = await self._fetch()
            return token

    def invalidate(self, token: str | None = None) -> None:
        """Forget the cached token (only if it is still `token`, when given), after a 401."""
        try:
            if token is None or self._read() == token:
                self._redis.delete(self.key)
        except redis.RedisError as exc:
            log.warning("dingtalk token: could not invalidate (%s)", exc)

    async def aclose(self) -> None:
        """Close the HTTP client if this cache created it."""
        if self._http is not None and self._owns_http:
            await self._http.aclose()
            self._http = None

    async def _get_shared(self) -> str:
        for _ in range(self._polls):
            cached = self._read()
            if cached is not None:
                return cached
            lock = self._redis.lock(self.key + ":lock", timeout=self._lock_timeout)
            if lock.acquire(blocking=False):
                try:
                    cached = self._read()  # someone may have refreshed just before we locked
                    if cached is not None:
                        return cached
                    token, expire_in = await self._fetch()
                    self._write(token, expire_in)
                    return token
                finally:
                    try:
                        lock.release()
                    except LockError:
                        log.warning("dingtalk token: refresh lock expired before release")
            await asyncio.sleep(self._poll_seconds)
        raise TokenError("timed out waiting for another process to refresh the token")

    def _read(self) -> str | None:
        raw = self._redis.get(self.key)
        if raw is None:
            return None
        try:
            entry = json.loads(raw)
            token, expires_at = str(entry["token"]), float(entry["expires_at"])
        except (ValueError, KeyError, TypeError):
            return None
        if self._clock().timestamp() >= expires_at - REFRESH_MARGIN_SECONDS:
            return None
        return token

    def _write(self, token: str, expire_in: int) -> None:
        expires_at = self._clock().timestamp() + expire_in
        entry = json.dumps({"token": token, "expires_at": expires_at})
        try:
            self._redis.set(self.key, entry, ex=max(1, expire_in - REFRESH_MARGIN_SECONDS))
        except redis.RedisError as exc:
            log.warning("dingtalk token: could not cache the new token (%s)", exc)

    async def _fetch(self) -> tuple[str, int]:
        """Ask DingTalk for a new token; return it with its lifetime in seconds."""
        if self._http is None:
            self._http = httpx.AsyncClient()
        body = {"appKey": self._app_key, "appSecret": self._app_secret}
        try:
            response = await self._http.post(self._url, json=body, timeout=self._timeout)
        except httpx.HTTPError as exc:
            raise TokenError(f"token request failed: {type(exc).__name__}") from exc
        try:
            data = response.json()
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        token = data.get("accessToken")
        if response.status_code != 200 or not isinstance(token, str) or not token:
            code = data.get("code") or data.get("errcode") or "no token"
            raise TokenError(f"token request refused: HTTP {response.status_code} {code}")
        try:
            expire_in = int(data.get("expireIn", 7200))
        except (TypeError, ValueError):
            expire_in = 7200
        log.info("dingtalk token: refreshed for app %s (expires in %d s)", self._app_key, expire_in)
        return token, expire_in
