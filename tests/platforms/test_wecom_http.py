"""The WeCom callback endpoint through Starlette, with an in-memory inbox."""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from httpx import Response
from starlette.applications import Starlette
from starlette.exceptions import StarletteDeprecationWarning
from starlette.types import Message as AsgiMessage

from bot.message import DispatchResult, Message, Outgoing
from bot.platforms.base import MAX_CALLBACK_BYTES
from bot.platforms.wecom_http import wecom_routes
from tests.fakes.wecom import WeComCallbacks, ai_bot_text, robot_xml_text
from tests.platforms.conftest import KEY, NOW, TOKEN

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

PATH = "/wecom/callback"


class MemoryInbox:
    """Counts calls; answers one reply per new message and replays it for a repeated id."""

    def __init__(self) -> None:
        self.received: list[Message] = []
        self.delivered_ids: list[list[int]] = []
        self.results: dict[str, DispatchResult] = {}
        self.fail_receive = False
        self.fail_delivered = False

    async def receive(self, message: Message) -> DispatchResult:
        self.received.append(message)
        if self.fail_receive:
            raise RuntimeError("database on fire")
        if message.message_id in self.results:
            return replace(self.results[message.message_id], duplicate=True)
        outbox_id = len(self.results) + 1
        reply = Outgoing(outbox_id, message.chat_id, f"✅ 已记录：{message.text}", ("zhangsan",))
        result = DispatchResult(replies=(reply,), intent="test")
        self.results[message.message_id] = result
        return result

    async def delivered(self, outbox_ids: Sequence[int]) -> None:
        if self.fail_delivered:
            raise RuntimeError("cannot mark")
        self.delivered_ids.append(list(outbox_ids))


@pytest.fixture
def inbox() -> MemoryInbox:
    return MemoryInbox()


@pytest.fixture
def app(inbox: MemoryInbox) -> Starlette:
    return Starlette(routes=wecom_routes(TOKEN, KEY, inbox, lambda: NOW))


@pytest.fixture
def client(app: Starlette) -> TestClient:
    return TestClient(app, raise_server_exceptions=False)


def test_get_verification_answers_the_bare_plaintext(
    client: TestClient, wecom: WeComCallbacks
) -> None:
    response = client.get(PATH, params=wecom.verification("5927782489442352469", NOW))
    assert response.status_code == 200
    assert response.content == b"5927782489442352469"


def test_get_verification_refusals(client: TestClient, wecom: WeComCallbacks) -> None:
    params = wecom.verification("1", NOW)
    assert client.get(PATH, params=params | {"msg_signature": "0" * 40}).status_code == 403
    assert client.get(PATH, params={"nonce": "1"}).status_code == 400
    stale = wecom.verification("1", NOW - timedelta(hours=1))
    assert client.get(PATH, params=stale).status_code == 403


def test_ai_bot_message_is_dispatched_and_answered_in_the_response(
    client: TestClient, inbox: MemoryInbox, wecom: WeComCallbacks
) -> None:
    query, body = wecom.json_callback(ai_bot_text("@台账助手\u2005签到", msgid="M1"), NOW)
    response = client.post(PATH, params=query, content=body)
    assert response.status_code == 200
    assert [m.text for m in inbox.received] == ["签到"]
    assert inbox.received[0].routes["response_url"].startswith("https://qyapi")
    plain = wecom.open_json_reply(response.content)
    assert plain["stream"] | {"id": "-"} == {
        "id": "-",
        "finish": True,
        "content": "✅ 已记录：签到",
    }
    assert inbox.delivered_ids == [[1]]


def test_a_repeated_callback_is_forwarded_and_the_inbox_replays(
    client: TestClient, inbox: MemoryInbox, wecom: WeComCallbacks
) -> None:
    query, body = wecom.json_callback(ai_bot_text("@bot 到", msgid="M2"), NOW)
    first = client.post(PATH, params=query, content=body)
    second = client.post(PATH, params=query, content=body)
    assert first.status_code == second.status_code == 200
    assert len(inbox.received) == 2  # the endpoint forwards; the inbox de-duplicates
    assert len(inbox.results) == 1
    assert wecom.open_json_reply(second.content)["stream"]["content"] == "✅ 已记录：到"
    assert inbox.delivered_ids == [[1], [1]]


def test_group_robot_xml_message_gets_an_xml_reply(
    client: TestClient, inbox: MemoryInbox, wecom: WeComCallbacks
) -> None:
    query, body = wecom.xml_callback(robot_xml_text("@RobotA 已学习", msgid="X1"), NOW)
    response = client.post(PATH, params=query, content=body)
    assert response.status_code == 200
    assert inbox.received[0].routes == {
        "webhook_url": "http://in.qyapi.weixin.qq.com/cgi-bin/webhook/send?key=WEBHOOK"
    }
    root = wecom.open_xml_reply(response.content)
    assert root.findtext("Text/Content") == "✅ 已记录：已学习"
    assert root.findtext("Text/MentionedList/Item") == "zhangsan"
    assert inbox.delivered_ids == [[1]]


@pytest.mark.parametrize(
    "payload",
    [
        {"msgid": "S", "aibotid": "A", "msgtype": "stream", "stream": {"id": "SID"}},
        {"msgid": "E", "aibotid": "A", "msgtype": "event", "event": {"eventtype": "enter_chat"}},
        {"msgid": "I", "aibotid": "A", "msgtype": "image", "image": {"url": "u"}},
    ],
)
def test_refreshes_and_events_are_answered_without_the_inbox(
    client: TestClient, inbox: MemoryInbox, wecom: WeComCallbacks, payload: dict[str, Any]
) -> None:
    response = send(client, wecom, payload)
    assert response.status_code == 200
    assert inbox.received == []
    assert inbox.delivered_ids == []
    if payload["msgtype"] == "stream":
        assert wecom.open_json_reply(response.content)["stream"]["finish"] is True
    else:
        assert response.content == b""


def send(client: TestClient, wecom: WeComCallbacks, payload: dict[str, Any]) -> Response:
    query, body = wecom.json_callback(payload, NOW)
    response: Response = client.post(PATH, params=query, content=body)
    return response


def post(client: TestClient, query: dict[str, str], body: bytes) -> int:
    response: Response = client.post(PATH, params=query, content=body)
    return response.status_code


def test_rejections_write_nothing(
    client: TestClient, inbox: MemoryInbox, wecom: WeComCallbacks
) -> None:
    query, body = wecom.json_callback(ai_bot_text("签到"), NOW)
    assert post(client, query | {"msg_signature": "1" * 40}, body) == 403
    assert post(client, query, b'{"encrypt": "bm90IG91cnM="}') == 403
    assert post(client, query, b"{broken") == 400
    assert post(client, query, b"<xml><Encrypt>") == 400
    assert post(client, {"nonce": "1"}, body) == 400
    stranger = WeComCallbacks(TOKEN, "c" * 43)
    assert post(client, *stranger.json_callback(ai_bot_text("签到"), NOW)) == 400
    corp = WeComCallbacks(TOKEN, KEY, receive_id="ww1436e0e65a779aee")
    assert post(client, *corp.json_callback(ai_bot_text("签到"), NOW)) == 403
    stale = wecom.json_callback(ai_bot_text("签到"), NOW - timedelta(minutes=11))
    assert post(client, *stale) == 403
    assert post(client, query, b"x" * (MAX_CALLBACK_BYTES + 1)) == 413
    assert inbox.received == []
    assert inbox.delivered_ids == []


def test_an_oversized_body_is_refused_before_it_is_read(app: Starlette, inbox: MemoryInbox) -> None:
    declared = asgi_post(app, chunks=10_000, content_length=str(10**9))
    assert declared == (413, 0)  # Content-Length alone decides: not one chunk read
    streamed = asgi_post(app, chunks=10_000, content_length=None)
    status, read = streamed
    assert status == 413
    assert read <= MAX_CALLBACK_BYTES // 1024 + 1  # stopped counting right after the cap
    assert asgi_post(app, chunks=1, content_length="12x")[0] == 400
    assert inbox.received == []


def asgi_post(app: Starlette, chunks: int, content_length: str | None) -> tuple[int, int]:
    """POST `chunks` KiB straight through ASGI; return (status, chunks the app pulled)."""
    headers = [(b"content-length", content_length.encode())] if content_length else []
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": PATH,
        "raw_path": PATH.encode(),
        "query_string": b"msg_signature=a&timestamp=1&nonce=1",
        "headers": headers,
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 1234),
        "root_path": "",
    }
    pulled = 0
    sent: list[AsgiMessage] = []

    async def receive() -> AsgiMessage:
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": b"x" * 1024, "more_body": pulled < chunks}

    async def send(message: AsgiMessage) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], pulled


def test_an_inbox_failure_is_a_plain_503_so_wecom_retries(
    client: TestClient, inbox: MemoryInbox, wecom: WeComCallbacks
) -> None:
    inbox.fail_receive = True
    response = send(client, wecom, ai_bot_text("签到"))
    assert response.status_code == 503
    assert "Traceback" not in response.text
    assert "fire" not in response.text


def test_a_failure_to_mark_delivered_still_answers(
    client: TestClient, inbox: MemoryInbox, wecom: WeComCallbacks
) -> None:
    inbox.fail_delivered = True
    response = send(client, wecom, ai_bot_text("签到"))
    assert response.status_code == 200
    assert wecom.open_json_reply(response.content)["stream"]["content"] == "✅ 已记录：签到"


def test_logs_hold_no_secrets_and_no_message_text(
    client: TestClient, wecom: WeComCallbacks, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    send(client, wecom, ai_bot_text("请假 机密事由"))
    query, body = wecom.json_callback(ai_bot_text("机密事由"), NOW)
    client.post(PATH, params=query | {"msg_signature": "0" * 40}, content=body)
    assert "wecom" in caplog.text
    for secret in (TOKEN, KEY, "机密事由"):
        assert secret not in caplog.text


def test_unknown_methods_are_not_routed(client: TestClient) -> None:
    assert client.put(PATH).status_code == 405
