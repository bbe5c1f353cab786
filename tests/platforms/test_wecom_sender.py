"""The WeCom webhook sender against a fake WeCom on 127.0.0.1 (real HTTP)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest

from bot.platforms.base import Delivery, Outcome, SendResult
from bot.platforms.wecom_sender import NO_ROUTE, WeComSender, resolve
from bot.platforms.wecom_text import split_numbered, utf8_len
from tests.fakes.wecom import (
    BUSY,
    DROPPED,
    PASS,
    RATE_LIMITED,
    SERVER_ERROR,
    FakeWeCom,
    slow,
)

KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
OTHER_KEY = "0b1c2d3e-0000-4000-8000-000000000000"


@pytest.fixture(scope="module")
def server() -> Iterator[FakeWeCom]:
    with FakeWeCom(KEY, OTHER_KEY) as running:
        yield running


@pytest.fixture
def fake(server: FakeWeCom) -> FakeWeCom:
    server.reset()
    return server


def delivery(text: str = "明天上午 9:00 主题党日，请准时参加。", **kw: Any) -> Delivery:
    fields: dict[str, Any] = {"outbox_id": 1, "platform": "wecom", "chat_id": "wrkGROUP1"}
    fields |= {"text": text, "routes": {"push_target": KEY}} | kw
    return Delivery(**fields)


def send(
    base: str, item: Delivery, timeout: float = 5.0
) -> SendResult:  # one event loop per call, like the outbox's drain
    async def go() -> SendResult:
        async with httpx.AsyncClient(trust_env=False) as client:
            return await WeComSender(base, client, timeout=timeout).send(item)

    return asyncio.run(go())


def test_a_text_is_sent_to_the_bound_key(fake: FakeWeCom) -> None:
    result = send(fake.base_url, delivery())
    assert result == SendResult(Outcome.SENT, parts_sent=1)
    assert fake.sent(KEY) == [
        {"msgtype": "text", "text": {"content": "明天上午 9:00 主题党日，请准时参加。"}}
    ]


def test_mentions_go_in_mentioned_list(fake: FakeWeCom) -> None:
    item = delivery("@张三 @李四 请补交学习心得", mentions=("zhangsan", "lisi"))
    assert send(fake.base_url, item).outcome is Outcome.SENT
    (body,) = fake.sent(KEY)
    assert body["text"] == {
        "content": "@张三 @李四 请补交学习心得",
        "mentioned_list": ["zhangsan", "lisi"],
    }


@pytest.mark.parametrize(
    "routes",
    [
        {"webhook_key": KEY},
        {"push_target": f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}"},
        {"push_target": f"  {KEY}  "},
    ],
)
def test_bound_routes_in_every_form_reach_the_fake(fake: FakeWeCom, routes: dict[str, str]) -> None:
    assert send(fake.base_url, delivery(routes=routes)).outcome is Outcome.SENT
    assert len(fake.sent(KEY)) == 1
    assert "chatid" not in fake.sent(KEY)[0]


def test_a_learned_webhook_url_keeps_its_key_on_the_overridden_api_base(fake: FakeWeCom) -> None:
    learned = f"http://in.qyapi.weixin.qq.com/cgi-bin/webhook/send?key={OTHER_KEY}"
    routes = {"webhook_url": learned, "push_target": KEY}
    assert send(fake.base_url, delivery(routes=routes)).outcome is Outcome.SENT
    assert fake.sent(KEY) == []
    (body,) = fake.sent(OTHER_KEY)
    assert body["chatid"] == "wrkGROUP1"  # a callback robot may serve several groups
    single = delivery(routes={"webhook_url": learned}, chat_id="single:zhangsan")
    assert send(fake.base_url, single).outcome is Outcome.SENT
    assert "chatid" not in fake.sent(OTHER_KEY)[1]


def test_the_url_choice() -> None:
    public = "https://qyapi.weixin.qq.com"
    learned = "http://in.qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K1"
    target = resolve(delivery(routes={"webhook_url": learned}), public)
    assert target is not None
    assert target.url == learned  # WeCom's own address, as handed out
    elsewhere = "https://attacker.invalid/cgi-bin/webhook/send?key=K1"
    target = resolve(delivery(routes={"push_target": elsewhere}), public)
    assert target is not None
    assert target.url == f"{public}/cgi-bin/webhook/send?key=K1"  # never another host
    assert resolve(delivery(routes={"push_target": "https://x.invalid/?nokey=1"}), public) is None
    assert resolve(delivery(routes={"push_target": "key with spaces"}), public) is None


def test_rate_limit_is_per_robot_key() -> None:
    sender = WeComSender("http://127.0.0.1:9")
    limit = sender.rate_limit(delivery())
    assert (limit.key, limit.per_minute) == (f"wecom:webhook:{KEY}", 20)
    assert sender.rate_limit(delivery(routes={})).key == "wecom:unbound:wrkGROUP1"
    asyncio.run(sender.aclose())


def long_text() -> str:
    lines = [
        f"{i:02d}. 党员{i}号：已完成第三季度理论学习，志愿服务 2 小时。" + "学" * 60
        for i in range(40)
    ]
    return "\n".join(lines)


def test_long_text_is_split_by_bytes_and_numbered(fake: FakeWeCom) -> None:
    text = long_text()
    assert utf8_len(text) > 3 * 2048
    item = delivery(text, mentions=("zhangsan",))
    result = send(fake.base_url, item)
    sent = fake.sent(KEY)
    assert result == SendResult(Outcome.SENT, parts_sent=len(sent))
    total = len(sent)
    assert total >= 4
    for i, body in enumerate(sent, start=1):
        content = body["text"]["content"]
        assert utf8_len(content) <= 2048
        assert content.endswith(f"\n（{i}/{total}）")
    assert "mentioned_list" in sent[0]["text"]
    assert all("mentioned_list" not in b["text"] for b in sent[1:])
    rebuilt = "\n".join(b["text"]["content"].rsplit("\n", 1)[0] for b in sent)
    assert rebuilt == text  # split only at line breaks, nothing lost


def test_a_single_overlong_line_is_cut_at_character_boundaries() -> None:
    text = "👍党" * 1000  # 7 000 bytes, no line break, 4- and 3-byte characters
    parts = split_numbered(text, 2048)
    assert len(parts) == 4
    assert all(utf8_len(p) <= 2048 for p in parts)
    assert "".join(p.rsplit("\n", 1)[0] for p in parts) == text
    assert split_numbered("短", 2048) == ["短"]


def test_a_retry_resumes_after_the_parts_already_sent(fake: FakeWeCom) -> None:
    text = long_text()
    expected = split_numbered(text, 2048)
    fake.fail_next(PASS, RATE_LIMITED)
    first = send(fake.base_url, delivery(text))
    assert first.outcome is Outcome.RETRY
    assert first.retry_after == 60
    assert first.parts_sent == 1
    again = send(fake.base_url, delivery(text, parts_sent=first.parts_sent))
    assert again == SendResult(Outcome.SENT, parts_sent=len(expected))
    assert fake.texts(KEY) == expected  # each part exactly once, in order


def test_already_complete_sends_nothing(fake: FakeWeCom) -> None:
    assert send(fake.base_url, delivery(parts_sent=1)) == SendResult(Outcome.SENT, parts_sent=1)
    assert fake.attempts() == []


@pytest.mark.parametrize(
    ("answer", "retry_after"),
    [(RATE_LIMITED, 60.0), (BUSY, None), (SERVER_ERROR, None), (DROPPED, None)],
)
def test_transient_failures_retry(fake: FakeWeCom, answer: Any, retry_after: float | None) -> None:
    fake.fail_next(answer)
    result = send(fake.base_url, delivery())
    assert result.outcome is Outcome.RETRY
    assert result.retry_after == retry_after
    assert result.parts_sent == 0
    assert result.error
    assert fake.sent(KEY) == []
    assert send(fake.base_url, delivery()).outcome is Outcome.SENT  # and then it goes


def test_a_slow_wecom_is_a_timeout_and_retries(fake: FakeWeCom) -> None:
    fake.fail_next(slow(2.0))
    result = send(fake.base_url, delivery(), timeout=0.3)
    assert result.outcome is Outcome.RETRY
    assert "超时" in (result.error or "")


def test_nothing_listening_retries() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before the send: refused
    result = send(f"http://127.0.0.1:{port}", delivery())
    assert result.outcome is Outcome.RETRY


def test_an_unknown_key_is_permanent(fake: FakeWeCom) -> None:
    result = send(fake.base_url, delivery(routes={"push_target": "removed-robot-key"}))
    assert result.outcome is Outcome.PERMANENT
    assert "93000" in (result.error or "")
    assert "绑定推送" in (result.error or "")


def test_no_route_is_permanent_with_a_chinese_instruction(fake: FakeWeCom) -> None:
    result = send(fake.base_url, delivery(routes={"response_url": "https://x"}))
    assert result == SendResult(Outcome.PERMANENT, NO_ROUTE)
    bad = send(fake.base_url, delivery(routes={"push_target": "https://x.invalid/no-key"}))
    assert bad.outcome is Outcome.PERMANENT
    assert "格式不对" in (bad.error or "")
    assert fake.attempts() == []


@pytest.mark.parametrize(
    ("status", "body", "outcome"),
    [
        (200, {"errcode": 40058, "errmsg": "exceed"}, Outcome.PERMANENT),
        (200, {"errcode": 45033, "errmsg": "concurrent"}, Outcome.RETRY),
        (200, {"unexpected": True}, Outcome.RETRY),
        (404, {}, Outcome.PERMANENT),
        (429, {}, Outcome.RETRY),
        (503, {}, Outcome.RETRY),
    ],
)
def test_other_answers(fake: FakeWeCom, status: int, body: Any, outcome: Outcome) -> None:
    from tests.fakes.http import Scripted

    fake.fail_next(Scripted(status, body))
    assert send(fake.base_url, delivery()).outcome is outcome


def test_unexpected_errors_never_escape() -> None:
    def explode(request: httpx.Request) -> httpx.Response:
        raise RuntimeError("bug in a transport")

    async def go() -> SendResult:
        async with httpx.AsyncClient(transport=httpx.MockTransport(explode)) as client:
            return await WeComSender("http://127.0.0.1:9", client).send(delivery(parts_sent=0))

    result = asyncio.run(go())
    assert result.outcome is Outcome.RETRY
    assert result.parts_sent == 0


def test_the_sender_fits_the_outbox_protocol() -> None:
    from bot.platforms.base import Sender

    sender: Sender = WeComSender("http://127.0.0.1:9")
    method: Callable[[Delivery], Awaitable[SendResult]] = sender.send
    assert sender.name == "wecom"
    assert callable(method)
    asyncio.run(WeComSender("http://127.0.0.1:9").aclose())
