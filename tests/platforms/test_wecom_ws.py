"""The WeCom AI-bot long connection against a fake server on 127.0.0.1 (real WebSocket)."""

from __future__ import annotations

import asyncio
import itertools
import logging
import re

import pytest

from bot.message import Message
from bot.platforms.wecom_ws import WeComLongConnection, jittered
from bot.platforms.wecom_ws_frames import RESPOND_MSG
from tests.fakes.wecom import ai_bot_text
from tests.fakes.wecom_ws import NOW, FakeWeComWS, MemoryInbox, play

REQ_ID = re.compile(r"^aibot_subscribe_\d{13}_[0-9a-f]{8}$")


def test_it_subscribes_with_the_bot_id_and_secret() -> None:
    async def scenario(fake: FakeWeComWS, conn: WeComLongConnection, inbox: MemoryInbox) -> None:
        await fake.until(lambda: conn.connected)
        first = fake.frames[0]
        assert first.cmd == "aibot_subscribe"
        assert first.body == {"bot_id": "BOT1", "secret": "s3cr3t-bot-secret"}
        assert REQ_ID.match(first.req_id)
        assert fake.subscribed == 1

    play(scenario)


def test_a_text_callback_reaches_the_inbox_and_is_answered_with_a_stream() -> None:
    async def scenario(fake: FakeWeComWS, conn: WeComLongConnection, inbox: MemoryInbox) -> None:
        await fake.until(lambda: conn.connected)
        req_id = await fake.message(ai_bot_text("@党建助手\u2005签到"))
        await fake.until(lambda: inbox.delivered_ids == [1])
        (message,) = inbox.received
        assert message == Message(
            platform="wecom",
            message_id="MSG-1",
            chat_id="wrkGROUP1",
            sender_id="zhangsan",
            text="签到",
            sent_at=NOW,
            routes={"response_url": ai_bot_text("")["response_url"]},
            reply_inline=True,
        )
        (respond,) = fake.sent(RESPOND_MSG)
        assert respond.req_id == req_id
        stream = respond.body["stream"]
        assert respond.body["msgtype"] == "stream"
        assert (stream["finish"], stream["content"]) == (True, "已收到：签到")
        assert re.fullmatch(r"[0-9a-f]{32}", stream["id"])

    play(scenario)


def test_several_replies_go_in_one_stream() -> None:
    inbox = MemoryInbox(lambda message: ["已签到。", "本月还差 1 次学习。"])

    async def scenario(fake: FakeWeComWS, conn: WeComLongConnection, inbox: MemoryInbox) -> None:
        await fake.until(lambda: conn.connected)
        await fake.message(ai_bot_text("签到", chatid=None))
        await fake.until(lambda: inbox.delivered_ids == [1, 2])
        (respond,) = fake.sent(RESPOND_MSG)
        assert respond.body["stream"]["content"] == "已签到。\n\n本月还差 1 次学习。"
        assert inbox.received[0].chat_id == "single:zhangsan"

    play(scenario, inbox=inbox)


@pytest.mark.parametrize("failure", ["refused", "withheld"])
def test_an_unacknowledged_reply_stays_in_the_outbox(failure: str) -> None:
    fake = FakeWeComWS()
    if failure == "refused":
        fake.script(RESPOND_MSG, (40008, "invalid message type"))
    else:
        fake.withhold.add(RESPOND_MSG)

    async def scenario(fake: FakeWeComWS, conn: WeComLongConnection, inbox: MemoryInbox) -> None:
        await fake.until(lambda: conn.connected)
        await fake.message(ai_bot_text("签到"))
        await fake.until(lambda: len(fake.sent(RESPOND_MSG)) == 1)
        await asyncio.sleep(0.4)  # longer than the ack timeout
        assert inbox.delivered_ids == []
        await fake.message(ai_bot_text("到", msgid="MSG-2"))  # and the connection still works
        await fake.until(lambda: len(fake.sent(RESPOND_MSG)) == 2)

    play(scenario, fake=fake, ack_timeout=0.2)


def test_a_slow_dispatch_does_not_block_the_next_callback() -> None:
    async def scenario(fake: FakeWeComWS, conn: WeComLongConnection, inbox: MemoryInbox) -> None:
        gate = inbox.hold["慢"] = asyncio.Event()
        await fake.until(lambda: conn.connected)
        slow = await fake.message(ai_bot_text("慢", msgid="MSG-SLOW"))
        fast = await fake.message(ai_bot_text("快", msgid="MSG-FAST"))
        await fake.until(lambda: len(fake.sent(RESPOND_MSG)) == 1)
        assert fake.sent(RESPOND_MSG)[0].req_id == fast
        assert [m.text for m in inbox.received] == ["慢", "快"]
        gate.set()
        await fake.until(lambda: len(fake.sent(RESPOND_MSG)) == 2)
        assert fake.sent(RESPOND_MSG)[1].req_id == slow
        await fake.until(lambda: sorted(inbox.delivered_ids) == [1, 2])

    play(scenario)


def test_events_media_and_junk_are_not_dispatched() -> None:
    async def scenario(fake: FakeWeComWS, conn: WeComLongConnection, inbox: MemoryInbox) -> None:
        await fake.until(lambda: conn.connected)
        await fake.event("enter_chat")
        await fake.event("template_card_event", template_card_event={"event_key": "paid"})
        image = ai_bot_text("") | {"msgtype": "image", "image": {"url": "https://x"}}
        await fake.message(image)
        await fake.message({"msgtype": "text", "text": {"content": "无 msgid"}})
        await fake.current.send("not json")
        await fake.current.send("[1, 2]")
        refresh = await fake.message({"msgid": "M", "msgtype": "stream", "stream": {"id": "S1"}})
        await fake.message(ai_bot_text("签到"))
        await fake.until(lambda: len(fake.sent(RESPOND_MSG)) == 2)
        first, second = fake.sent(RESPOND_MSG)
        assert first.req_id == refresh  # a stream refresh gets its stream, finished and empty
        assert first.body["stream"] == {"id": "S1", "finish": True, "content": ""}
        assert second.body["stream"]["content"] == "已收到：签到"
        assert [m.text for m in inbox.received] == ["签到"]
        assert len(fake.opened) == 1

    play(scenario)


def test_pings_follow_the_heartbeat() -> None:
    async def scenario(fake: FakeWeComWS, conn: WeComLongConnection, inbox: MemoryInbox) -> None:
        await fake.until(lambda: len(fake.sent("ping")) >= 4)
        pings = fake.sent("ping")
        assert all(p.req_id.startswith("ping_") for p in pings)
        assert fake.frames[0].cmd == "aibot_subscribe"  # no ping before the subscribe
        gaps = [b.at - a.at for a, b in itertools.pairwise(pings)]
        assert all(0.04 <= gap < 0.5 for gap in gaps)
        assert len(fake.opened) == 1  # answered pings keep the connection

    play(scenario, heartbeat=0.05)


@pytest.mark.parametrize("code", [1000, 1001, 1011])
def test_it_reconnects_after_any_close(code: int) -> None:
    async def scenario(fake: FakeWeComWS, conn: WeComLongConnection, inbox: MemoryInbox) -> None:
        await fake.until(lambda: conn.connected)
        await fake.close(code)
        await fake.until(lambda: fake.subscribed == 2)
        await fake.until(lambda: conn.connected)
        await fake.message(ai_bot_text("签到"))  # and the new connection works
        await fake.until(lambda: inbox.delivered_ids == [1])
        assert fake.sent(RESPOND_MSG)[0].connection == 1

    play(scenario)


def test_it_reconnects_after_the_tcp_connection_drops() -> None:
    async def scenario(fake: FakeWeComWS, conn: WeComLongConnection, inbox: MemoryInbox) -> None:
        await fake.until(lambda: conn.connected)
        fake.drop()
        await fake.until(lambda: fake.subscribed == 2)
        assert [f.connection for f in fake.sent("aibot_subscribe")] == [0, 1]

    play(scenario)


def test_it_reconnects_when_pings_go_unanswered() -> None:
    fake = FakeWeComWS(answer_pings=False)

    async def scenario(fake: FakeWeComWS, conn: WeComLongConnection, inbox: MemoryInbox) -> None:
        await fake.until(lambda: len(fake.opened) == 2)
        first = [p for p in fake.sent("ping") if p.connection == 0]
        assert len(first) == 2  # two unanswered pings, then a new connection
        await fake.until(lambda: conn.connected)

    play(scenario, fake=fake, heartbeat=0.05)


def test_a_refused_subscribe_is_retried_with_growing_backoff(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    fake = FakeWeComWS(refuse_auth=3)

    async def scenario(fake: FakeWeComWS, conn: WeComLongConnection, inbox: MemoryInbox) -> None:
        await fake.until(lambda: conn.connected)
        assert (len(fake.refused), fake.subscribed, len(fake.opened)) == (3, 1, 4)
        gaps = [b - a for a, b in itertools.pairwise(fake.opened)]
        assert gaps[0] >= 0.025  # half the initial 0.05 s at least, then doubling
        assert gaps[1] >= 0.05
        assert gaps[2] >= 0.1
        assert max(gaps) < 0.2 + 0.5  # capped

    play(scenario, fake=fake, backoff_initial=0.05, backoff_max=0.2)
    assert "subscribe refused for bot BOT1 (errcode 40001" in caplog.text
    assert "s3cr3t-bot-secret" not in caplog.text


def test_another_connection_taking_over_is_logged_and_reconnected(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)

    async def scenario(fake: FakeWeComWS, conn: WeComLongConnection, inbox: MemoryInbox) -> None:
        await fake.until(lambda: conn.connected)
        await fake.event("disconnected_event")
        await fake.until(lambda: fake.subscribed == 2)

    play(scenario)
    assert "another connection for bot BOT1 took over" in caplog.text


def test_stop_ends_run_promptly_while_connected_and_mid_dispatch() -> None:
    async def main() -> None:
        async with FakeWeComWS() as fake:
            inbox = MemoryInbox()
            inbox.hold["慢"] = asyncio.Event()  # never released
            conn = WeComLongConnection(fake.bot_id, fake.secret, inbox, lambda: NOW, fake.url)
            stop = asyncio.Event()
            runner = asyncio.create_task(conn.run(stop))
            await fake.until(lambda: conn.connected)
            await fake.message(ai_bot_text("慢"))
            await fake.until(lambda: len(inbox.received) == 1)
            loop = asyncio.get_running_loop()
            started = loop.time()
            stop.set()
            await asyncio.wait_for(runner, 3.0)
            assert loop.time() - started < 1.0
            assert not conn.connected
            await fake.until(lambda: fake.current.close_code is not None)

    asyncio.run(main())


def test_stop_ends_run_promptly_while_nothing_listens() -> None:
    async def main() -> None:
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = next(iter(server.sockets)).getsockname()[1]
        server.close()
        await server.wait_closed()
        conn = WeComLongConnection(
            "BOT1", "s", MemoryInbox(), lambda: NOW, f"ws://127.0.0.1:{port}", backoff_max=30.0
        )
        stop = asyncio.Event()
        runner = asyncio.create_task(conn.run(stop))
        await asyncio.sleep(0.3)  # refused, backing off
        assert not runner.done()
        stop.set()
        await asyncio.wait_for(runner, 1.0)

    asyncio.run(main())


def test_backoff_jitter_stays_between_half_and_full() -> None:
    waits = [jittered(8.0) for _ in range(200)]
    assert all(4.0 <= w <= 8.0 for w in waits)
    assert len(set(waits)) > 1
