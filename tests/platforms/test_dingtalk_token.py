"""The DingTalk access-token cache: Redis-shared, refreshed before expiry, one refresher at once."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import fakeredis
import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from bot.clock import FixedClock
from bot.platforms.dingtalk_token import TokenCache, TokenError
from tests.fakes.dingtalk import APP_KEY, APP_SECRET, TOKEN_PATH, FakeDingTalk, openapi_error
from tests.fakes.http import Scripted

START = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


@pytest.fixture
def fake() -> Iterator[FakeDingTalk]:
    """A running fake DingTalk."""
    with FakeDingTalk() as server:
        yield server


REDIS_URL = os.environ.get("ZHIBU_TEST_REDIS_URL")
NewClient = Callable[[], redis.Redis]


@pytest.fixture(params=["fake", "real"])
def new_client(request: pytest.FixtureRequest) -> Iterator[NewClient]:
    """Makes clients (one per simulated process) of one shared Redis: the in-process
    substitute, and a real server too when ZHIBU_TEST_REDIS_URL is set."""
    if request.param == "fake":
        server: Any = fakeredis.FakeServer()

        def fake_client() -> redis.Redis:
            client: redis.Redis = fakeredis.FakeRedis(server=server)
            return client

        yield fake_client
        return
    if not REDIS_URL:
        pytest.skip("set ZHIBU_TEST_REDIS_URL to run against a real Redis")
    url = REDIS_URL
    clients: list[redis.Redis] = []

    def real_client() -> redis.Redis:
        client = redis.Redis.from_url(url)
        clients.append(client)
        return client

    cleaner = real_client()
    cleaner.delete(f"zhibu:dingtalk:token:{APP_KEY}", f"zhibu:dingtalk:token:{APP_KEY}:lock")
    yield real_client
    cleaner.delete(f"zhibu:dingtalk:token:{APP_KEY}", f"zhibu:dingtalk:token:{APP_KEY}:lock")
    for client in clients:
        client.close()


@pytest.fixture
def clock() -> FixedClock:
    """A clock standing at START."""
    return FixedClock(START)


def make_cache(
    fake: FakeDingTalk,
    new_client: NewClient,
    clock: FixedClock,
    app_secret: str = APP_SECRET,
    **options: Any,
) -> TokenCache:
    """A cache with its own Redis client, as a separate process would have."""
    return TokenCache(
        redis_client=new_client(),
        app_key=APP_KEY,
        app_secret=app_secret,
        api_base=fake.base_url,
        clock=clock.now,
        **options,
    )


def test_token_is_fetched_once_and_cached_in_redis(
    fake: FakeDingTalk, new_client: NewClient, clock: FixedClock
) -> None:
    async def scenario() -> list[str]:
        first, second = make_cache(fake, new_client, clock), make_cache(fake, new_client, clock)
        try:
            return [await first.get(), await first.get(), await second.get()]
        finally:
            await first.aclose()
            await second.aclose()

    assert asyncio.run(scenario()) == ["fake-token-1"] * 3
    assert fake.tokens_issued == 1
    body = fake.server.received(TOKEN_PATH)[0].json()
    assert body == {"appKey": APP_KEY, "appSecret": APP_SECRET}
    client = new_client()
    ttl = client.ttl(f"zhibu:dingtalk:token:{APP_KEY}")
    assert isinstance(ttl, int)
    assert 7200 - 300 - 5 <= ttl <= 7200 - 300


def test_token_is_refreshed_five_minutes_before_expiry(
    fake: FakeDingTalk, new_client: NewClient, clock: FixedClock
) -> None:
    async def scenario() -> list[str]:
        cache = make_cache(fake, new_client, clock)
        try:
            tokens = [await cache.get()]
            clock.advance(timedelta(seconds=7200 - 300 - 1))
            tokens.append(await cache.get())
            clock.advance(timedelta(seconds=1))
            tokens.append(await cache.get())
            tokens.append(await cache.get())
            return tokens
        finally:
            await cache.aclose()

    assert asyncio.run(scenario()) == [
        "fake-token-1",
        "fake-token-1",
        "fake-token-2",
        "fake-token-2",
    ]
    assert fake.tokens_issued == 2


def test_short_lived_token_is_refreshed_on_every_use(
    fake: FakeDingTalk, new_client: NewClient, clock: FixedClock
) -> None:
    fake.expire_in = 200  # shorter than the refresh margin

    async def scenario() -> list[str]:
        cache = make_cache(fake, new_client, clock)
        try:
            return [await cache.get(), await cache.get()]
        finally:
            await cache.aclose()

    assert asyncio.run(scenario()) == ["fake-token-1", "fake-token-2"]


def test_one_refresher_across_processes(fake: FakeDingTalk, new_client: NewClient) -> None:
    fake.token_delay = 0.3  # every process finds the cache empty while the first refresh runs
    workers = 8
    barrier = threading.Barrier(workers)
    results: list[str] = []
    errors: list[BaseException] = []

    def process() -> None:
        cache = make_cache(fake, new_client, FixedClock(START), poll_seconds=0.01)

        async def run() -> str:
            try:
                barrier.wait()
                return await cache.get()
            finally:
                await cache.aclose()

        try:
            results.append(asyncio.run(run()))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=process) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert results == ["fake-token-1"] * workers
    assert fake.tokens_issued == 1
    assert len(fake.server.received(TOKEN_PATH)) == 1


def test_one_refresher_among_tasks(
    fake: FakeDingTalk, new_client: NewClient, clock: FixedClock
) -> None:
    fake.token_delay = 0.2

    async def scenario() -> list[str]:
        caches = [make_cache(fake, new_client, clock, poll_seconds=0.01) for _ in range(5)]
        try:
            return list(await asyncio.gather(*(c.get() for c in caches)))
        finally:
            for cache in caches:
                await cache.aclose()

    assert asyncio.run(scenario()) == ["fake-token-1"] * 5
    assert fake.tokens_issued == 1


def test_invalidate_forces_a_new_token_but_spares_a_newer_one(
    fake: FakeDingTalk, new_client: NewClient, clock: FixedClock
) -> None:
    async def scenario() -> list[str]:
        cache = make_cache(fake, new_client, clock)
        try:
            first = await cache.get()
            cache.invalidate(first)
            second = await cache.get()
            cache.invalidate(first)  # a late 401 for the old token must not drop the new one
            third = await cache.get()
            cache.invalidate()
            return [first, second, third, await cache.get()]
        finally:
            await cache.aclose()

    assert asyncio.run(scenario()) == [
        "fake-token-1",
        "fake-token-2",
        "fake-token-2",
        "fake-token-3",
    ]


@pytest.mark.parametrize(
    "answer",
    [
        openapi_error(500, "ServiceUnavailable"),
        Scripted(200, {"expireIn": 7200}),
        Scripted(drop=True),
    ],
)
def test_token_endpoint_failures_raise_token_error(
    fake: FakeDingTalk, new_client: NewClient, clock: FixedClock, answer: Scripted
) -> None:
    fake.fail_next(TOKEN_PATH, answer)

    async def scenario() -> str:
        cache = make_cache(fake, new_client, clock)
        try:
            with pytest.raises(TokenError):
                await cache.get()
            return await cache.get()  # the lock was released: the next call refreshes
        finally:
            await cache.aclose()

    assert asyncio.run(scenario()) == "fake-token-1"


def test_wrong_secret_raises_token_error(
    fake: FakeDingTalk, new_client: NewClient, clock: FixedClock
) -> None:
    async def scenario() -> None:
        cache = make_cache(fake, new_client, clock, app_secret="wrong")
        try:
            with pytest.raises(TokenError, match="invalidClientIdOrSecret"):
                await cache.get()
        finally:
            await cache.aclose()

    asyncio.run(scenario())
    assert fake.tokens_issued == 0


def test_waiter_gives_up_when_the_refresher_is_stuck(
    fake: FakeDingTalk, new_client: NewClient, clock: FixedClock
) -> None:
    holder = new_client()
    lock = holder.lock(f"zhibu:dingtalk:token:{APP_KEY}:lock", timeout=60)
    assert lock.acquire(blocking=False)

    async def scenario() -> None:
        cache = make_cache(fake, new_client, clock, wait_seconds=0.1, poll_seconds=0.01)
        try:
            with pytest.raises(TokenError, match="timed out"):
                await cache.get()
        finally:
            await cache.aclose()

    asyncio.run(scenario())
    assert fake.tokens_issued == 0
    lock.release()


def test_unreachable_redis_still_yields_a_token(fake: FakeDingTalk, clock: FixedClock) -> None:
    down = redis.Redis(
        host="127.0.0.1", port=1, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0)
    )

    async def scenario() -> str:
        cache = TokenCache(
            redis_client=down,
            app_key=APP_KEY,
            app_secret=APP_SECRET,
            api_base=fake.base_url,
            clock=clock.now,
        )
        try:
            cache.invalidate()  # logs, does not raise
            return await cache.get()
        finally:
            await cache.aclose()

    assert asyncio.run(scenario()) == "fake-token-1"
