"""DingTalkStream against the fake Stream gateway (HTTP + WebSocket) on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from bot.clock import FixedClock
from bot.message import DispatchResult, Message
from bot.platforms.dingtalk_callback import decode_message
from bot.platforms.dingtalk_stream import DingTalkStream
from tests.fakes.dingtalk import APP_KEY, APP_SECRET, callback_payload
from tests.fakes.dingtalk_stream import FakeStreamGateway, eventually
from tests.fakes.http import Scripted

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


class SlowInbox:
    """Keeps messages; with `hold`, each receive waits for `release` (a slow dispatch)."""

    def __init__(self, *, hold: bool = False, fail: bool = False) -> None:
        self.hold = hold
        self.fail = fail
        self.release = asyncio.Event()
        self.started: list[Message] = []
        self.finished: list[Message] = []

    async def receive(self, message: Message) -> DispatchResult:
        """Record the message, maybe wait, maybe fail like a database outage."""
        self.started.append(message)
        if self.hold:
            await self.release.wait()
        if self.fail:
            raise RuntimeError("database is down")
        self.finished.append(message)
        return DispatchResult()

    async def delivered(self, outbox_ids: Sequence[int]) -> None:
        """Unused by DingTalk."""


@dataclass
class Case:
    """What a scenario gets: the fake, the inbox, the stop event and the running task."""

    gateway: FakeStreamGateway
    inbox: SlowInbox
    stop: asyncio.Event
    task: asyncio.Task[None]


def run_stream(
    scenario: Callable[[Case], Awaitable[None]],
    *,
    inbox: SlowInbox | None = None,
    app_secret: str = APP_SECRET,
    api_base: str | None = None,
    initial_backoff: float = 0.01,
    max_backoff: float = 0.05,
    drain_seconds: float = 0.5,
    prepare: Callable[[FakeStreamGateway], None] | None = None,
) -> None:
    """Run DingTalkStream against a fresh fake in its own event loop, bounded in time."""

    async def main() -> None:
        async with FakeStreamGateway() as gateway:
            if prepare is not None:
                prepare(gateway)
            stop = asyncio.Event()
            held = inbox or SlowInbox()
            stream = DingTalkStream(
                APP_KEY,
                app_secret,
                held,
                api_base=api_base or gateway.base_url,
                clock=FixedClock(NOW).now,
                initial_backoff=initial_backoff,
                max_backoff=max_backoff,
                timeout=2.0,
                drain_seconds=drain_seconds,
            )
            task = asyncio.create_task(stream.run(stop))
            try:
                await scenario(Case(gateway, held, stop, task))
            finally:
                stop.set()
                await asyncio.wait({task}, timeout=5)
            assert task.done()
            if not task.cancelled():
                task.result()  # run never raises

    asyncio.run(asyncio.wait_for(main(), 20))


def expected_ack(message_id: str) -> dict[str, object]:
    """The robot-message ack, exactly as the protocol wants it."""
    return {
        "code": 200,
        "headers": {"messageId": message_id, "contentType": "application/json"},
        "message": "OK",
        "data": '{"response": null}',
    }


def test_handshake_sends_credentials_subscribes_and_uses_the_ticket() -> None:
    async def scenario(case: Case) -> None:
        await case.gateway.connection(1)
        (request,) = case.gateway.opens()
        body = request.json()
        assert body["clientId"] == APP_KEY
        assert body["clientSecret"] == APP_SECRET
        assert {"type": "CALLBACK", "topic": "/v1.0/im/bot/messages/get"} in body["subscriptions"]
        assert case.gateway.rejected == 0

    run_stream(scenario)


def test_robot_message_is_acked_before_the_inbox_finishes_then_delivered() -> None:
    payload = callback_payload(text="签到", created_at=NOW, msg_id="m1", at_staff_ids=("s2",))

    async def scenario(case: Case) -> None:
        connection = await case.gateway.connection(1)
        message_id = await connection.push_message(payload)
        ack = await connection.ack_for(message_id)
        assert ack == expected_ack(message_id)
        assert case.inbox.finished == []  # the slow inbox has not returned, yet the ack is out
        await eventually(lambda: len(case.inbox.started) == 1)
        case.inbox.release.set()
        await eventually(lambda: len(case.inbox.finished) == 1)
        assert case.inbox.finished == [decode_message(payload)]
        message = case.inbox.finished[0]
        assert (message.platform, message.message_id, message.text) == ("dingtalk", "m1", "签到")
        assert message.mentions == ("s2",)
        assert "session_webhook" in message.routes
        assert len(connection.received) == 1  # nothing but the ack went back on the socket

    run_stream(scenario, inbox=SlowInbox(hold=True))


def test_messages_are_not_serialised_behind_a_slow_one() -> None:
    async def scenario(case: Case) -> None:
        connection = await case.gateway.connection(1)
        ids = [
            await connection.push_message(
                callback_payload(text=f"到{n}", created_at=NOW, msg_id=f"m{n}")
            )
            for n in range(3)
        ]
        for message_id in ids:
            assert (await connection.ack_for(message_id))["code"] == 200
        await eventually(lambda: len(case.inbox.started) == 3)
        case.inbox.release.set()
        await eventually(lambda: len(case.inbox.finished) == 3)

    run_stream(scenario, inbox=SlowInbox(hold=True))


def test_ping_is_answered_with_its_opaque() -> None:
    async def scenario(case: Case) -> None:
        connection = await case.gateway.connection(1)
        message_id = await connection.ping("opaque-123")
        ack = await connection.ack_for(message_id)
        assert ack["code"] == 200
        assert ack["headers"]["messageId"] == message_id
        assert json.loads(ack["data"])["opaque"] == "opaque-123"

    run_stream(scenario)


def test_event_frames_are_acked_as_success_and_ignored() -> None:
    async def scenario(case: Case) -> None:
        connection = await case.gateway.connection(1)
        ack = await connection.ack_for(await connection.push_event())
        assert ack["code"] == 200
        assert json.loads(ack["data"]) == {"status": "SUCCESS"}
        await asyncio.sleep(0.05)
        assert case.inbox.started == []

    run_stream(scenario)


def test_disconnect_reconnects_at_once_and_the_old_socket_still_delivers() -> None:
    async def scenario(case: Case) -> None:
        first = await case.gateway.connection(1)
        await first.ack_for(await first.disconnect())
        second = await case.gateway.connection(2, timeout=1.0)
        # Until the server closes the old socket, a message sent there is still taken.
        late = callback_payload(text="到", created_at=NOW, msg_id="late")
        await first.ack_for(await first.push_message(late))
        await eventually(lambda: [m.message_id for m in case.inbox.finished] == ["late"])
        await first.close()
        await asyncio.wait_for(first.closed.wait(), 2)
        await second.ack_for(await second.ping("still here"))
        assert len(case.gateway.connections) == 2

    # A long backoff shows the reconnect after `disconnect` does not wait for it.
    run_stream(scenario, initial_backoff=5.0, max_backoff=5.0)


def test_clean_close_error_close_and_drop_all_reconnect() -> None:
    async def scenario(case: Case) -> None:
        await (await case.gateway.connection(1)).close(1000, "bye")
        await (await case.gateway.connection(2)).close(1011, "server error")
        (await case.gateway.connection(3)).drop()
        fourth = await case.gateway.connection(4)
        payload = callback_payload(text="已学习", created_at=NOW, msg_id="after")
        await fourth.ack_for(await fourth.push_message(payload))
        await eventually(lambda: len(case.inbox.finished) == 1)
        assert len(case.gateway.opens()) == 4  # a fresh ticket for every connection

    run_stream(scenario)


def test_bad_credentials_are_retried_with_backoff_and_logged_without_the_secret(
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "wrong-secret-never-logged"

    async def scenario(case: Case) -> None:
        await eventually(lambda: len(case.gateway.opens()) >= 4)
        assert case.gateway.connections == []

    with caplog.at_level(logging.DEBUG):
        run_stream(scenario, app_secret=secret)
    refused = [r for r in caplog.records if "refused" in r.getMessage()]
    assert refused
    assert APP_KEY in refused[0].getMessage()
    assert "401" in refused[0].getMessage()
    assert "invalidClientIdOrSecret" in refused[0].getMessage()
    assert refused[0].levelno == logging.ERROR
    assert any("reconnecting in" in r.getMessage() for r in caplog.records)
    assert secret not in caplog.text
    assert all(secret not in str(r.args) for r in caplog.records)


def test_gateway_errors_and_a_bad_ticket_are_retried_until_connected() -> None:
    def prepare(gateway: FakeStreamGateway) -> None:
        gateway.fail_next_open(
            Scripted(503, {"code": "ServiceUnavailable", "message": "busy"}),
            Scripted(200, {"unexpected": True}),
            Scripted(200, {"endpoint": gateway.ws_url, "ticket": "forged"}),
        )

    async def scenario(case: Case) -> None:
        await case.gateway.connection(1)
        assert len(case.gateway.opens()) == 4
        assert case.gateway.rejected == 1

    run_stream(scenario, prepare=prepare)


def test_unreachable_gateway_is_retried_and_stop_still_works() -> None:
    async def scenario(case: Case) -> None:
        await asyncio.sleep(0.2)
        assert not case.task.done()

    run_stream(scenario, api_base="http://127.0.0.1:9")


def test_stop_exits_promptly_while_connected_and_closes_the_socket() -> None:
    async def scenario(case: Case) -> None:
        connection = await case.gateway.connection(1)
        started = time.monotonic()
        case.stop.set()
        await asyncio.wait_for(case.task, 2)
        assert time.monotonic() - started < 1.0
        await asyncio.wait_for(connection.closed.wait(), 2)

    run_stream(scenario)


def test_stop_exits_promptly_during_a_long_backoff() -> None:
    async def scenario(case: Case) -> None:
        await eventually(lambda: len(case.gateway.opens()) == 1)
        await asyncio.sleep(0.05)  # now sleeping its 15-30 s backoff
        started = time.monotonic()
        case.stop.set()
        await asyncio.wait_for(case.task, 2)
        assert time.monotonic() - started < 1.0

    run_stream(scenario, app_secret="wrong", initial_backoff=30.0, max_backoff=30.0)


def test_stop_gives_an_acked_message_a_bounded_time_to_reach_the_inbox() -> None:
    async def scenario(case: Case) -> None:
        connection = await case.gateway.connection(1)
        payload = callback_payload(text="签到", created_at=NOW)
        await connection.ack_for(await connection.push_message(payload))
        await eventually(lambda: len(case.inbox.started) == 1)
        started = time.monotonic()
        case.stop.set()
        await asyncio.wait_for(case.task, 3)
        assert 0.2 <= time.monotonic() - started < 1.5  # waited its drain time, then gave up
        assert case.inbox.finished == []

    run_stream(scenario, inbox=SlowInbox(hold=True), drain_seconds=0.3)


def test_bad_frames_pictures_and_inbox_failures_keep_the_connection() -> None:
    async def scenario(case: Case) -> None:
        connection = await case.gateway.connection(1)
        await connection.send_raw("not json")
        await connection.send_raw('{"type": "NOPE", "headers": {}}')
        await connection.send_raw('{"type": "CALLBACK", "headers": {}, "data": "{broken"}')
        picture = callback_payload(text="", created_at=NOW, msg_id="pic")
        picture["msgtype"] = "picture"
        await connection.ack_for(await connection.push_message(picture))
        broken = {"msgtype": "text", "text": {"content": "到"}}  # no msgId, no conversation
        await connection.ack_for(await connection.push_message(broken))
        failing = callback_payload(text="到", created_at=NOW, msg_id="fails")
        await connection.ack_for(await connection.push_message(failing))
        await eventually(lambda: len(case.inbox.started) == 1)
        assert (await connection.ack_for(await connection.ping("alive")))["code"] == 200
        assert len(case.gateway.connections) == 1
        assert case.inbox.finished == []

    run_stream(scenario, inbox=SlowInbox(fail=True))


def test_cancelling_run_is_not_swallowed() -> None:
    async def scenario(case: Case) -> None:
        connection = await case.gateway.connection(1)
        case.task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(case.task, 2)
        assert case.task.cancelled()
        await asyncio.wait_for(connection.closed.wait(), 2)

    run_stream(scenario)
