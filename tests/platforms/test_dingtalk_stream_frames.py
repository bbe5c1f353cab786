"""Stream frame parsing, ack bodies, backoff, and the wiring through build_platforms."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from bot.clock import FixedClock
from bot.config import Settings
from bot.message import DispatchResult, Message
from bot.platforms import build_platforms
from bot.platforms.dingtalk_stream_frames import (
    Backoff,
    FrameError,
    callback_ack,
    event_ack,
    open_request,
    parse_frame,
    system_ack,
)
from storage.redis import connect
from tests.fakes.dingtalk import APP_KEY, APP_SECRET, callback_payload
from tests.fakes.dingtalk_stream import FakeStreamGateway, eventually

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


class ListInbox:
    """Keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def receive(self, message: Message) -> DispatchResult:
        """Keep the message."""
        self.messages.append(message)
        return DispatchResult()

    async def delivered(self, outbox_ids: Sequence[int]) -> None:
        """Unused by DingTalk."""


def frame(frame_type: str, topic: str, data: object) -> str:
    """A server frame as text."""
    return json.dumps(
        {
            "specVersion": "1.0",
            "type": frame_type,
            "headers": {"messageId": "mid-1", "topic": topic, "time": "1790000000000"},
            "data": json.dumps(data),
        }
    )


def test_callback_ack_is_exactly_the_protocol_body() -> None:
    assert json.loads(callback_ack("mid-1")) == {
        "code": 200,
        "headers": {"messageId": "mid-1", "contentType": "application/json"},
        "message": "OK",
        "data": '{"response": null}',
    }


def test_event_ack_says_success() -> None:
    ack = json.loads(event_ack("mid-2"))
    assert ack["code"] == 200
    assert ack["headers"]["messageId"] == "mid-2"
    assert json.loads(ack["data"]) == {"status": "SUCCESS"}


def test_ping_answer_echoes_the_opaque() -> None:
    ping = parse_frame(frame("SYSTEM", "ping", {"opaque": "o-9"}))
    assert (ping.type, ping.topic, ping.message_id) == ("SYSTEM", "ping", "mid-1")
    ack = json.loads(system_ack(ping))
    assert ack["code"] == 200
    assert ack["headers"]["messageId"] == "mid-1"
    assert json.loads(ack["data"]) == {"opaque": "o-9"}


def test_callback_frame_carries_the_robot_message_body() -> None:
    payload = callback_payload(text="签到", created_at=NOW, msg_id="m1")
    parsed = parse_frame(frame("CALLBACK", "/v1.0/im/bot/messages/get", payload))
    assert parsed.topic == "/v1.0/im/bot/messages/get"
    assert parsed.data == payload


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "[1, 2]",
        '{"type": "OTHER", "headers": {}}',
        '{"headers": {}}',
        '{"type": "CALLBACK", "headers": [], "data": "{}"}',
        '{"type": "CALLBACK", "headers": {}, "data": "{broken"}',
        '{"type": "SYSTEM", "headers": {"time": "soon"}, "data": "{}"}',
        b"\xff\xfe",
    ],
)
def test_unusable_frames_raise_frame_error(raw: str | bytes) -> None:
    with pytest.raises(FrameError):
        parse_frame(raw)


def test_open_request_subscribes_to_robot_messages() -> None:
    body = open_request("key", "secret", "10.0.0.2")
    assert body["clientId"] == "key"
    assert body["clientSecret"] == "secret"
    assert body["subscriptions"] == [{"type": "CALLBACK", "topic": "/v1.0/im/bot/messages/get"}]


def test_backoff_doubles_to_the_cap_with_jitter_and_resets() -> None:
    highest = Backoff(1.0, 30.0, rand=lambda: 1.0)
    assert [highest.next() for _ in range(7)] == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    lowest = Backoff(1.0, 30.0, rand=lambda: 0.0)
    assert [lowest.next() for _ in range(3)] == [0.5, 1.0, 2.0]
    lowest.reset()
    assert lowest.current == 1.0
    with pytest.raises(ValueError, match="backoff"):
        Backoff(0.0, 1.0)


def test_stream_is_off_unless_switched_on() -> None:
    settings = Settings(dingtalk_app_key=APP_KEY, dingtalk_app_secret=SecretStr(APP_SECRET))
    found = build_platforms(settings, ListInbox(), FixedClock(NOW).now, connect(None))
    assert found.background == []
    assert not any("Stream" in mode for mode in found.modes)


def test_build_platforms_starts_a_stream_that_delivers_messages() -> None:
    inbox = ListInbox()

    async def main() -> None:
        async with FakeStreamGateway() as gateway:
            settings = Settings(
                dingtalk_app_key=APP_KEY,
                dingtalk_app_secret=SecretStr(APP_SECRET),
                dingtalk_stream=True,
                dingtalk_api_base=gateway.base_url,
            )
            found = build_platforms(settings, inbox, FixedClock(NOW).now, connect(None))
            assert len(found.background) == 1
            assert any("Stream" in mode for mode in found.modes)
            assert any("/dingtalk" in str(getattr(r, "path", "")) for r in found.routes)
            stop = asyncio.Event()
            task = asyncio.create_task(found.background[0](stop))
            try:
                connection = await gateway.connection(1)
                payload = callback_payload(text="到", created_at=NOW, msg_id="wired")
                await connection.ack_for(await connection.push_message(payload))
                await eventually(lambda: [m.message_id for m in inbox.messages] == ["wired"])
            finally:
                stop.set()
                await asyncio.wait_for(task, 5)

    asyncio.run(asyncio.wait_for(main(), 20))
