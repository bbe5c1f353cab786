"""The fast duplicate check, on the in-process substitute and on a real Redis when configured."""

from __future__ import annotations

import os
import time

import pytest

import storage.redis as redis_module
from storage.redis import SeenFilter, connect

REDIS_URL = os.environ.get("ZHIBU_TEST_REDIS_URL")


@pytest.fixture(params=["embedded", pytest.param("redis", marks=pytest.mark.postgres)])
def seen(request: pytest.FixtureRequest) -> SeenFilter:
    """A filter on the in-process substitute, then on the real server (with the PG runs)."""
    if request.param == "redis":
        if not REDIS_URL:
            pytest.skip("set ZHIBU_TEST_REDIS_URL to run against a real Redis")
        client = connect(REDIS_URL)
        client.flushdb()
        return SeenFilter(client)
    return SeenFilter(connect(None))


def test_an_id_is_new_once_per_platform(seen: SeenFilter) -> None:
    assert seen.first_sight("wecom", "m-1")
    assert not seen.first_sight("wecom", "m-1")
    assert seen.first_sight("dingtalk", "m-1")
    # A batch: repeats inside it and of earlier ids are both caught.
    assert seen.first_sight_many([("wecom", "m-2"), ("wecom", "m-1"), ("wecom", "m-2")]) == [
        True,
        False,
        False,
    ]


def test_the_local_check_forgets_expired_and_excess_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = SeenFilter(connect(None))
    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    assert seen.first_sight("wecom", "old")
    clock[0] += redis_module.SEEN_TTL_SECONDS + 1
    assert seen.first_sight("wecom", "old")  # expired: new again
    monkeypatch.setattr(redis_module, "LOCAL_SEEN_MAX", 3)
    assert all(seen.first_sight_many([("wecom", f"n-{i}") for i in range(5)]))
    assert seen.first_sight("wecom", "old")  # pushed out by the cap
    assert not seen.first_sight("wecom", "n-4")
