"""Proactive pushes over the WeCom long connection, the sender's fallback to them, the wiring."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from bot.config import Settings
from bot.platforms import build_platforms
from bot.platforms.base import Delivery, Outcome, SendResult
from bot.platforms.wecom_sender import NO_ROUTE, WeComSender
from bot.platforms.wecom_text import split_numbered, utf8_len
from bot.platforms.wecom_ws import WeComLongConnection
from bot.platforms.wecom_ws_frames import SEND_MSG
from tests.fakes.wecom_ws import NOW, FakeWeComWS, MemoryInbox, play

NOTICE = "**明天上午 9:00 主题党日**，请准时参加。"


def test_push_sends_markdown_to_the_chat_and_is_sent_on_ack() -> None:
    async def scenario(fake: FakeWeComWS, conn: WeComLongConnection, inbox: MemoryInbox) -> None:
        await fake.until(lambda: conn.connected)
        assert await conn.push("wrkGROUP1", NOTICE, ()) == SendResult(Outcome.SENT)
        assert await conn.push("single:zhangsan", "请补交学习心得", ("zhangsan",)) == SendResult(
            Outcome.SENT
        )
        group, single = fake.sent(SEND_MSG)
        assert group.body == {
            "chatid": "wrkGROUP1",
            "msgtype": "markdown",
            "markdown": {"content": NOTICE},
        }
        assert single.body["chatid"] == "zhangsan"  # a single chat is addressed by userid
        assert re.fullmatch(r"aibot_send_msg_\d{13}_[0-9a-f]{8}", group.req_id)
        assert group.req_id != single.req_id

    play(scenario)


@pytest.mark.parametrize(
    ("answer", "outcome", "retry_after"),
    [
        ((40008, "invalid message type"), Outcome.PERMANENT, None),
        ((93006, "invalid chatid"), Outcome.PERMANENT, None),
        ((45009, "api freq out of limit"), Outcome.RETRY, 60.0),
        ((-1, "system busy"), Outcome.RETRY, None),
    ],
)
def test_push_maps_ack_errcodes(
    answer: tuple[int, str], outcome: Outcome, retry_after: float | None
) -> None:
    async def scenario(fake: FakeWeComWS, conn: WeComLongConnection, inbox: MemoryInbox) -> None:
        await fake.until(lambda: conn.connected)
        fake.script(SEND_MSG, answer)
        result = await conn.push("wrkGROUP1", NOTICE, ())
        assert (result.outcome, result.retry_after) == (outcome, retry_after)
        assert str(answer[0]) in (result.error or "")
        if outcome is Outcome.PERMANENT:
            assert answer[1] in (result.error or "")

    play(scenario)


def test_push_retries_when_not_connected() -> None:
    conn = WeComLongConnection("BOT1", "s", MemoryInbox(), lambda: NOW, "ws://127.0.0.1:9")
    result = asyncio.run(conn.push("wrkGROUP1", NOTICE, ()))
    assert result.outcome is Outcome.RETRY
    assert "未连接" in (result.error or "")


def test_push_retries_when_the_ack_does_not_come() -> None:
    fake = FakeWeComWS(withhold={SEND_MSG})

    async def scenario(fake: FakeWeComWS, conn: WeComLongConnection, inbox: MemoryInbox) -> None:
        await fake.until(lambda: conn.connected)
        loop = asyncio.get_running_loop()
        started = loop.time()
        result = await conn.push("wrkGROUP1", NOTICE, ())
        assert result.outcome is Outcome.RETRY
        assert "超时" in (result.error or "")
        assert 0.2 <= loop.time() - started < 1.0

    play(scenario, fake=fake, ack_timeout=0.2)


def test_push_retries_when_the_connection_is_lost_before_the_ack() -> None:
    fake = FakeWeComWS(withhold={SEND_MSG})

    async def scenario(fake: FakeWeComWS, conn: WeComLongConnection, inbox: MemoryInbox) -> None:
        await fake.until(lambda: conn.connected)
        pushing = asyncio.create_task(conn.push("wrkGROUP1", NOTICE, ()))
        await fake.until(lambda: len(fake.sent(SEND_MSG)) == 1)
        fake.drop()
        result = await pushing
        assert result.outcome is Outcome.RETRY
        assert "断开" in (result.error or "")

    play(scenario, fake=fake, ack_timeout=5.0)


def test_a_delayed_ack_within_the_timeout_is_sent() -> None:
    fake = FakeWeComWS(ack_delay=0.1)

    async def scenario(fake: FakeWeComWS, conn: WeComLongConnection, inbox: MemoryInbox) -> None:
        await fake.until(lambda: conn.connected)
        assert (await conn.push("wrkGROUP1", NOTICE, ())).outcome is Outcome.SENT

    play(scenario, fake=fake)


def delivery(text: str = NOTICE, **kw: Any) -> Delivery:
    fields: dict[str, Any] = {"outbox_id": 7, "platform": "wecom", "chat_id": "wrkGROUP1"}
    return Delivery(**(fields | {"text": text} | kw))


class RecordingPush:
    """A push function that records its calls and answers from a script (then SENT)."""

    def __init__(self, *answers: SendResult) -> None:
        self.calls: list[tuple[str, str, tuple[str, ...]]] = []
        self.answers = list(answers)

    async def __call__(self, chat_id: str, text: str, mentions: tuple[str, ...]) -> SendResult:
        self.calls.append((chat_id, text, mentions))
        return self.answers.pop(0) if self.answers else SendResult(Outcome.SENT)


def unreachable(request: httpx.Request) -> httpx.Response:
    raise AssertionError("no webhook call expected")


def sender_send(sender_push: RecordingPush | None, item: Delivery) -> SendResult:
    async def go() -> SendResult:
        async with httpx.AsyncClient(transport=httpx.MockTransport(unreachable)) as client:
            sender = WeComSender("http://127.0.0.1:9", client, push=sender_push)
            return await sender.send(item)

    return asyncio.run(go())


def test_the_sender_pushes_where_no_webhook_is_bound() -> None:
    push = RecordingPush()
    item = delivery(mentions=("zhangsan",), routes={"response_url": "https://x"})
    assert sender_send(push, item) == SendResult(Outcome.SENT, parts_sent=1)
    assert push.calls == [("wrkGROUP1", NOTICE, ("zhangsan",))]
    bad_route = delivery(routes={"push_target": "https://x.invalid/no-key"})
    assert sender_send(push, bad_route).outcome is Outcome.SENT
    assert sender_send(None, delivery()) == SendResult(Outcome.PERMANENT, NO_ROUTE)


def test_the_sender_splits_long_pushes_at_4096_bytes_and_resumes() -> None:
    text = "\n".join(f"{i:02d}. 党员{i}号：已完成学习。" + "学" * 80 for i in range(60))
    parts = split_numbered(text, 4096)
    assert len(parts) >= 4
    push = RecordingPush(SendResult(Outcome.SENT), SendResult(Outcome.RETRY, "断开"))
    first = sender_send(push, delivery(text, mentions=("zhangsan",)))
    assert (first.outcome, first.parts_sent, first.error) == (Outcome.RETRY, 1, "断开")
    again = sender_send(push, delivery(text, parts_sent=first.parts_sent))
    assert again == SendResult(Outcome.SENT, parts_sent=len(parts))
    texts = [call[1] for call in push.calls]
    assert texts == [parts[0], parts[1], *parts[1:]]  # part 2 retried, part 1 not repeated
    assert all(utf8_len(t) <= 4096 for t in texts)
    assert push.calls[0][2] == ("zhangsan",)
    assert all(call[2] == () for call in push.calls[1:])


def test_a_permanent_push_failure_is_reported() -> None:
    push = RecordingPush(SendResult(Outcome.PERMANENT, "企业微信拒绝推送（40008：x）"))
    result = sender_send(push, delivery())
    assert (result.outcome, result.parts_sent) == (Outcome.PERMANENT, 0)


def test_a_bound_webhook_still_wins_over_the_push() -> None:
    push = RecordingPush()

    def ok(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})

    async def go() -> SendResult:
        async with httpx.AsyncClient(transport=httpx.MockTransport(ok)) as client:
            sender = WeComSender("http://127.0.0.1:9", client, push=push, push_rate_key="k")
            assert sender.rate_limit(delivery(routes={"push_target": "KEY1"})).key == (
                "wecom:webhook:KEY1"
            )
            assert sender.rate_limit(delivery()).key == "k"
            return await sender.send(delivery(routes={"push_target": "KEY1"}))

    assert asyncio.run(go()).outcome is Outcome.SENT
    assert push.calls == []


def test_build_platforms_wires_the_long_connection_and_the_push_fallback() -> None:
    async def main() -> None:
        async with FakeWeComWS() as fake:
            settings = Settings(
                wecom_bot_id=fake.bot_id,
                wecom_bot_secret=SecretStr(fake.secret),
                wecom_ws_url=fake.url,
            )
            platforms = build_platforms(settings, MemoryInbox(), lambda: NOW, None)
            (run,) = platforms.background
            sender = platforms.senders["wecom"]
            assert isinstance(sender, WeComSender)
            assert sender.push is not None
            assert sender.accepts(delivery(), "file")  # files go on the same connection
            assert sender.rate_limit(delivery()).key == f"wecom:aibot:{fake.bot_id}"
            assert any("long connection" in mode for mode in platforms.modes)
            assert all(fake.secret not in mode for mode in platforms.modes)
            stop = asyncio.Event()
            task = asyncio.create_task(run(stop))
            await fake.until(lambda: fake.subscribed == 1)
            result = SendResult(Outcome.RETRY)
            for _ in range(100):  # the subscribe ack may still be on its way
                result = await sender.send(delivery())
                if result.outcome is Outcome.SENT:
                    break
                await asyncio.sleep(0.01)
            assert result == SendResult(Outcome.SENT, parts_sent=1)
            assert fake.sent(SEND_MSG)[0].body["markdown"]["content"] == NOTICE
            stop.set()
            await asyncio.wait_for(task, 3.0)
            await sender.aclose()

    asyncio.run(main())


def test_build_platforms_without_bot_credentials_has_no_connection() -> None:
    platforms = build_platforms(Settings(), MemoryInbox(), lambda: NOW, None)
    assert platforms.background == []
    sender = platforms.senders["wecom"]
    assert isinstance(sender, WeComSender)
    assert sender.push is None
    asyncio.run(sender.aclose())
