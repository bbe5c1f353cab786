"""The DingTalk callback endpoint through Starlette's TestClient with an in-memory inbox."""

from __future__ import annotations

import asyncio
import json
import logging
import warnings
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.exceptions import StarletteDeprecationWarning
from starlette.requests import Request

from bot.message import DispatchResult, Message
from bot.platforms.base import MAX_CALLBACK_BYTES, CallbackRejectedError
from bot.platforms.dingtalk_http import CALLBACK_PATH, dingtalk_routes, read_capped_body
from tests.fakes.dingtalk import APP_SECRET, callback_payload, signed_callback

with warnings.catch_warnings():
    # Starlette nudges towards httpx2; the httpx it still supports is what is installed.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


class MemoryInbox:
    """Counts and keeps what the endpoint hands over."""

    def __init__(self, fail: bool = False) -> None:
        self.messages: list[Message] = []
        self.fail = fail

    async def receive(self, message: Message) -> DispatchResult:
        """Keep the message (or fail like a database outage)."""
        if self.fail:
            raise RuntimeError("database is down")
        self.messages.append(message)
        return DispatchResult()

    async def delivered(self, outbox_ids: Sequence[int]) -> None:
        """Unused by DingTalk: replies never go back in the response."""


@pytest.fixture
def inbox() -> MemoryInbox:
    """An empty in-memory inbox."""
    return MemoryInbox()


@pytest.fixture
def client(inbox: MemoryInbox) -> Iterator[TestClient]:
    """A test client for an app holding only the DingTalk routes, its clock fixed at NOW."""
    app = Starlette(routes=dingtalk_routes(APP_SECRET, inbox, lambda: NOW))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def test_signed_message_reaches_the_inbox_and_gets_empty_json(
    client: TestClient, inbox: MemoryInbox
) -> None:
    payload = callback_payload(text="签到", created_at=NOW, msg_id="m1")
    headers, body = signed_callback(APP_SECRET, payload, NOW)
    response = client.post(CALLBACK_PATH, content=body, headers=headers)
    assert response.status_code == 200
    assert response.json() == {}
    assert [(m.message_id, m.text, m.chat_id) for m in inbox.messages] == [
        ("m1", "签到", "cidGroupA==")
    ]


def test_forged_sign_is_403_and_never_reaches_the_inbox(
    client: TestClient, inbox: MemoryInbox
) -> None:
    payload = callback_payload(text="签到", created_at=NOW)
    headers, body = signed_callback("wrong secret", payload, NOW)
    response = client.post(CALLBACK_PATH, content=body, headers=headers)
    assert response.status_code == 403
    assert response.json() == {"error": "bad sign"}
    headers.pop("sign")
    assert client.post(CALLBACK_PATH, content=body, headers=headers).status_code == 403
    assert inbox.messages == []


def test_stale_timestamp_is_403(client: TestClient, inbox: MemoryInbox) -> None:
    sent = NOW - timedelta(hours=1, seconds=1)
    headers, body = signed_callback(APP_SECRET, callback_payload(text="到", created_at=sent), sent)
    response = client.post(CALLBACK_PATH, content=body, headers=headers)
    assert (response.status_code, response.json()) == (403, {"error": "stale timestamp"})
    assert inbox.messages == []


def test_oversized_body_is_413_by_length_and_by_stream(
    client: TestClient, inbox: MemoryInbox
) -> None:
    payload = callback_payload(text="签到", created_at=NOW)
    payload["padding"] = "x" * MAX_CALLBACK_BYTES
    headers, body = signed_callback(APP_SECRET, payload, NOW)
    assert client.post(CALLBACK_PATH, content=body, headers=headers).status_code == 413

    def chunks() -> Iterator[bytes]:  # chunked: no Content-Length to trust
        for start in range(0, len(body), 4096):
            yield body[start : start + 4096]

    response = client.post(CALLBACK_PATH, content=chunks(), headers=headers)
    assert response.status_code == 413
    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert inbox.messages == []


def test_chunked_body_under_the_limit_is_accepted(client: TestClient, inbox: MemoryInbox) -> None:
    headers, body = signed_callback(APP_SECRET, callback_payload(text="到", created_at=NOW), NOW)
    response = client.post(CALLBACK_PATH, content=iter([body[:10], body[10:]]), headers=headers)
    assert response.status_code == 200
    assert len(inbox.messages) == 1


def test_malformed_and_incomplete_bodies_are_400(client: TestClient, inbox: MemoryInbox) -> None:
    headers, _ = signed_callback(APP_SECRET, {}, NOW)
    for body in (b"{oops", json.dumps({"msgtype": "text", "text": {"content": "到"}}).encode()):
        response = client.post(CALLBACK_PATH, content=body, headers=headers)
        assert response.status_code == 400
        assert "error" in response.json()
    assert inbox.messages == []


def test_picture_is_acknowledged_but_not_dispatched(client: TestClient, inbox: MemoryInbox) -> None:
    payload = callback_payload(text="", created_at=NOW)
    payload["msgtype"] = "picture"
    payload["content"] = {"downloadCode": "dc"}
    headers, body = signed_callback(APP_SECRET, payload, NOW)
    response = client.post(CALLBACK_PATH, content=body, headers=headers)
    assert (response.status_code, response.json()) == (200, {})
    assert inbox.messages == []


def test_get_is_not_allowed(client: TestClient) -> None:
    assert client.get(CALLBACK_PATH).status_code == 405


def test_inbox_failure_is_503_json_without_traceback(caplog: pytest.LogCaptureFixture) -> None:
    inbox = MemoryInbox(fail=True)
    app = Starlette(routes=dingtalk_routes(APP_SECRET, inbox, lambda: NOW))
    payload = callback_payload(text="秘密内容", created_at=NOW, msg_id="m9")
    headers, body = signed_callback(APP_SECRET, payload, NOW)
    with (
        caplog.at_level(logging.INFO, logger="bot.platforms"),
        TestClient(app, raise_server_exceptions=False) as test_client,
    ):
        response = test_client.post(CALLBACK_PATH, content=body, headers=headers)
    assert response.status_code == 503
    assert response.json() == {"error": "temporarily unavailable"}
    assert "Traceback" not in response.text
    assert APP_SECRET not in caplog.text
    assert "秘密内容" not in caplog.text


def _request(chunks: list[bytes], consumed: list[int], length: int | None) -> Request:
    """A bare ASGI request whose body arrives in `chunks`, counting how many were read."""
    headers = [] if length is None else [(b"content-length", str(length).encode())]
    scope = {"type": "http", "method": "POST", "path": CALLBACK_PATH, "headers": headers}

    async def receive() -> dict[str, Any]:
        index = len(consumed)
        consumed.append(index)
        more = index + 1 < len(chunks)
        return {"type": "http.request", "body": chunks[index], "more_body": more}

    return Request(scope, receive)


def test_declared_oversize_is_refused_before_reading() -> None:
    consumed: list[int] = []
    request = _request([b"x" * 1024] * 200, consumed, length=200 * 1024)
    with pytest.raises(CallbackRejectedError) as caught:
        asyncio.run(read_capped_body(request))
    assert caught.value.status == 413
    assert consumed == []


def test_streamed_oversize_stops_reading_at_the_limit() -> None:
    consumed: list[int] = []
    request = _request([b"x" * 4096] * 1000, consumed, length=None)
    with pytest.raises(CallbackRejectedError) as caught:
        asyncio.run(read_capped_body(request))
    assert caught.value.status == 413
    assert len(consumed) == MAX_CALLBACK_BYTES // 4096 + 1


def test_body_at_the_limit_is_read_whole() -> None:
    consumed: list[int] = []
    body = asyncio.run(read_capped_body(_request([b"x" * 4096] * 16, consumed, length=None)))
    assert len(body) == MAX_CALLBACK_BYTES
