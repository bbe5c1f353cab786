"""DingTalkSender against the fake DingTalk over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import fakeredis
import httpx
import pytest

from bot.clock import FixedClock
from bot.platforms.base import Delivery, Outcome, Sender, SendResult
from bot.platforms.dingtalk_sender import NO_CONVERSATION, DingTalkSender, split_text
from bot.platforms.dingtalk_token import TokenCache
from tests.fakes.dingtalk import (
    APP_KEY,
    APP_SECRET,
    GROUP_SEND_PATH,
    SESSION_PATH,
    TOKEN_PATH,
    FakeDingTalk,
    Sent,
    errcode,
    openapi_error,
)
from tests.fakes.http import Scripted

START = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
CID = "cidGroupA=="


class Harness:
    """Sends one delivery per event loop, as a fresh process would; Redis state is shared."""

    def __init__(self, fake: FakeDingTalk) -> None:
        self.fake = fake
        self.clock = FixedClock(START)
        self.redis_server: Any = fakeredis.FakeServer()
        self.redis: Any = fakeredis.FakeRedis(server=self.redis_server)
        self.timeout = 2.0

    def sender(self, client: httpx.AsyncClient, tokens: TokenCache | None = None) -> DingTalkSender:
        """A sender wired to the fake (both API hosts) and the shared Redis."""
        tokens = tokens or TokenCache(
            redis_client=fakeredis.FakeRedis(server=self.redis_server),
            app_key=APP_KEY,
            app_secret=APP_SECRET,
            api_base=self.fake.base_url,
            clock=self.clock.now,
            http=client,
        )
        return DingTalkSender(
            app_key=APP_KEY,
            app_secret=APP_SECRET,
            robot_code=APP_KEY,
            api_base=self.fake.base_url,
            oapi_base=self.fake.base_url,
            tokens=tokens,
            clock=self.clock.now,
            client=client,
            timeout=self.timeout,
        )

    def send(self, delivery: Delivery, tokens: TokenCache | None = None) -> SendResult:
        """One send attempt."""

        async def once() -> SendResult:
            async with httpx.AsyncClient() as client:
                return await self.sender(client, tokens).send(delivery)

        return asyncio.run(once())

    def live_routes(self, lifetime: timedelta = timedelta(minutes=90)) -> dict[str, str]:
        """Routes of a fresh group callback whose session webhook lives `lifetime` from now."""
        expires = int((self.clock.now() + lifetime).timestamp() * 1000)
        return {
            "session_webhook": self.fake.session_webhook(CID),
            "session_webhook_expires": str(expires),
            "robot_code": APP_KEY,
            "open_conversation_id": CID,
            "conversation_type": "2",
        }


@pytest.fixture
def fake() -> Iterator[FakeDingTalk]:
    """A running fake DingTalk."""
    with FakeDingTalk() as server:
        yield server


@pytest.fixture
def h(fake: FakeDingTalk) -> Harness:
    """A harness around the fake."""
    return Harness(fake)


def delivery(text: str, routes: dict[str, str], **fields: Any) -> Delivery:
    """An outbox row for the group CID."""
    return Delivery(
        outbox_id=1, platform="dingtalk", chat_id=CID, text=text, routes=routes, **fields
    )


def openapi_routes() -> dict[str, str]:
    """Routes without a session webhook: only the OpenAPI can reach the group."""
    return {"open_conversation_id": CID, "conversation_type": "2", "robot_code": APP_KEY}


def test_sender_protocol_and_rate_limit(h: Harness) -> None:
    async def build() -> Sender:
        async with httpx.AsyncClient() as client:
            return h.sender(client)

    sender = asyncio.run(build())
    assert sender.name == "dingtalk"
    limit = sender.rate_limit(delivery("x", {}))
    assert (limit.key, limit.per_minute) == (f"dingtalk:chat:{CID}", 20)


def test_session_webhook_reply_with_mentions(h: Harness, fake: FakeDingTalk) -> None:
    result = h.send(delivery("✅ 已签到", h.live_routes(), mentions=("staff001", "staff002")))
    assert result == SendResult(Outcome.SENT, parts_sent=1)
    assert fake.messages(CID) == [Sent(CID, "✅ 已签到", ("staff001", "staff002"), "session")]
    assert fake.server.received(SESSION_PATH)[0].json() == {
        "msgtype": "text",
        "text": {"content": "✅ 已签到"},
        "at": {"atUserIds": ["staff001", "staff002"], "isAtAll": False},
    }
    assert fake.tokens_issued == 0


def test_real_oapi_webhook_is_redirected_to_the_configured_oapi_base(
    h: Harness, fake: FakeDingTalk
) -> None:
    routes = h.live_routes()
    session = routes["session_webhook"].split("?", 1)[1]
    routes["session_webhook"] = f"https://oapi.dingtalk.com{SESSION_PATH}?{session}"
    assert h.send(delivery("好的", routes)).outcome is Outcome.SENT
    assert fake.messages(CID) == [Sent(CID, "好的", (), "session")]


def test_webhook_on_a_foreign_host_is_not_used(h: Harness, fake: FakeDingTalk) -> None:
    routes = h.live_routes()
    routes["session_webhook"] = f"https://evil.example{SESSION_PATH}?session=x"
    assert h.send(delivery("好的", routes)).outcome is Outcome.SENT
    assert fake.messages(CID) == [Sent(CID, "好的", (), "openapi")]


@pytest.mark.parametrize(
    ("lifetime", "via"),
    [
        (timedelta(seconds=61), "session"),
        (timedelta(seconds=60), "openapi"),
        (timedelta(minutes=-5), "openapi"),
    ],
)
def test_webhook_close_to_expiry_gives_way_to_the_openapi(
    h: Harness, fake: FakeDingTalk, lifetime: timedelta, via: str
) -> None:
    result = h.send(delivery("提醒：明天主题党日", h.live_routes(lifetime), mentions=("staff001",)))
    assert result.outcome is Outcome.SENT
    [sent] = fake.messages(CID)
    assert (sent.text, sent.via) == ("提醒：明天主题党日", via)


def test_openapi_request_shape(h: Harness, fake: FakeDingTalk) -> None:
    assert h.send(delivery("本月学习任务已发布", openapi_routes())).outcome is Outcome.SENT
    [request] = fake.server.received(GROUP_SEND_PATH)
    assert request.headers["x-acs-dingtalk-access-token"] == "fake-token-1"
    body = request.json()
    assert body == {
        "robotCode": APP_KEY,
        "openConversationId": CID,
        "msgKey": "sampleText",
        "msgParam": body["msgParam"],
    }
    assert json.loads(body["msgParam"]) == {"content": "本月学习任务已发布"}


def test_session_gone_early_falls_back_to_the_openapi(h: Harness, fake: FakeDingTalk) -> None:
    routes = h.live_routes()
    fake.expire_session(routes["session_webhook"])  # DingTalk answers 300001 "session 不存在"
    assert h.send(delivery("收到", routes)).outcome is Outcome.SENT
    assert fake.messages(CID) == [Sent(CID, "收到", (), "openapi")]


def test_no_route_at_all_is_permanent(h: Harness, fake: FakeDingTalk) -> None:
    result = h.send(delivery("提醒", {"conversation_type": "1"}))
    assert result == SendResult(Outcome.PERMANENT, NO_CONVERSATION, parts_sent=0)
    assert fake.server.received() == []


def test_split_text_parts_fit_and_rebuild_the_text() -> None:
    lines = [f"第{i}行：" + "学" * 90 for i in range(100)]
    text = "\n".join(lines)
    parts = split_text(text)
    assert len(parts) == 3
    assert all(len(p) <= 4000 for p in parts)
    assert [p.rsplit("\n", 1)[1] for p in parts] == ["（1/3）", "（2/3）", "（3/3）"]
    assert "\n".join(p.rsplit("\n", 1)[0] for p in parts) == text
    assert split_text("短消息") == ["短消息"]
    unbroken = "党" * 9000
    assert "".join(p.rsplit("\n", 1)[0] for p in split_text(unbroken)) == unbroken


def test_long_text_is_split_and_a_retry_resumes(h: Harness, fake: FakeDingTalk) -> None:
    text = "\n".join(f"第{i}行：" + "学" * 90 for i in range(100))
    parts = split_text(text)
    routes = h.live_routes()
    fake.fail_nth(SESSION_PATH, 2, errcode(410100, "send too fast"))
    first = h.send(delivery(text, routes, mentions=("staff001",)))
    assert (first.outcome, first.parts_sent, first.retry_after) == (Outcome.RETRY, 1, 60.0)
    assert fake.texts(CID) == parts[:1]
    second = h.send(delivery(text, routes, mentions=("staff001",), parts_sent=first.parts_sent))
    assert second == SendResult(Outcome.SENT, parts_sent=3)
    assert fake.texts(CID) == parts
    assert [s.mentions for s in fake.messages(CID)] == [("staff001",), (), ()]
    done = h.send(delivery(text, routes, parts_sent=3))
    assert done == SendResult(Outcome.SENT, parts_sent=3)
    assert len(fake.messages(CID)) == 3


SESSION_ERRORS = [
    (errcode(410100, "send too fast"), Outcome.RETRY, 60.0),
    (errcode(-1, "系统繁忙"), Outcome.RETRY, 60.0),
    (errcode(400102, "机器人已停用"), Outcome.PERMANENT, None),
    (errcode(400106, "机器人不存在"), Outcome.PERMANENT, None),
    (errcode(400013, "群已被解散"), Outcome.PERMANENT, None),
    (errcode(310000, "keywords not in content"), Outcome.PERMANENT, None),
    (errcode(999999, "unknown"), Outcome.RETRY, None),
    (Scripted(429, {}), Outcome.RETRY, 60.0),
    (Scripted(500, {"errcode": -1}), Outcome.RETRY, None),
    (Scripted(502, "bad gateway"), Outcome.RETRY, None),
    (Scripted(drop=True), Outcome.RETRY, None),
    (Scripted(delay=1.0), Outcome.RETRY, None),
]


@pytest.mark.parametrize(("answer", "outcome", "retry_after"), SESSION_ERRORS)
def test_session_webhook_errors(
    h: Harness, fake: FakeDingTalk, answer: Scripted, outcome: Outcome, retry_after: float | None
) -> None:
    h.timeout = 0.2
    fake.fail_next(SESSION_PATH, answer)
    result = h.send(delivery("到", h.live_routes()))
    assert (result.outcome, result.retry_after, result.parts_sent) == (outcome, retry_after, 0)
    assert result.error
    assert fake.messages() == []
    assert fake.server.received(GROUP_SEND_PATH) == []  # no double send through the OpenAPI


OPENAPI_ERRORS = [
    (openapi_error(429, "Throttling.Api", "请求过于频繁"), Outcome.RETRY, 60.0),
    (openapi_error(403, "Forbidden.AccessDenied.QpsLimitForApi"), Outcome.RETRY, 60.0),
    (openapi_error(400, "invalidParameter.robotCode.empty"), Outcome.PERMANENT, None),
    (openapi_error(400, "invalidParameter.msgParam.invalid"), Outcome.PERMANENT, None),
    (openapi_error(400, "400106", "机器人不在群里"), Outcome.PERMANENT, None),
    (
        openapi_error(403, "Forbidden.AccessDenied.AccessTokenPermissionDenied"),
        Outcome.PERMANENT,
        None,
    ),
    (openapi_error(500, "ServiceUnavailable"), Outcome.RETRY, None),
    (openapi_error(503, "SystemBusy"), Outcome.RETRY, None),
    (Scripted(drop=True), Outcome.RETRY, None),
    (Scripted(delay=1.0), Outcome.RETRY, None),
]


@pytest.mark.parametrize(("answer", "outcome", "retry_after"), OPENAPI_ERRORS)
def test_openapi_errors(
    h: Harness, fake: FakeDingTalk, answer: Scripted, outcome: Outcome, retry_after: float | None
) -> None:
    h.timeout = 0.2
    fake.fail_next(GROUP_SEND_PATH, answer)
    result = h.send(delivery("提醒", openapi_routes()))
    assert (result.outcome, result.retry_after, result.parts_sent) == (outcome, retry_after, 0)
    assert result.error
    assert fake.messages() == []
    assert fake.tokens_issued == 1  # the token stays cached: only 401s invalidate it
    assert h.redis.exists(f"zhibu:dingtalk:token:{APP_KEY}") == 1


def test_token_401_invalidates_and_retries_then_succeeds(h: Harness, fake: FakeDingTalk) -> None:
    assert h.send(delivery("一", openapi_routes())).outcome is Outcome.SENT
    fake.revoke_tokens()  # DingTalk no longer accepts fake-token-1
    result = h.send(delivery("二", openapi_routes()))
    assert (result.outcome, result.retry_after) == (Outcome.RETRY, None)
    assert "InvalidAuthentication" in (result.error or "")
    assert h.redis.exists(f"zhibu:dingtalk:token:{APP_KEY}") == 0
    assert h.send(delivery("二", openapi_routes())) == SendResult(Outcome.SENT, parts_sent=1)
    assert fake.tokens_issued == 2
    sent_with = [
        r.headers["x-acs-dingtalk-access-token"] for r in fake.server.received(GROUP_SEND_PATH)
    ]
    assert sent_with == ["fake-token-1", "fake-token-1", "fake-token-2"]
    assert fake.texts(CID) == ["一", "二"]


@pytest.mark.parametrize("code", ["400101", "300001"])
def test_token_error_codes_invalidate_too(h: Harness, fake: FakeDingTalk, code: str) -> None:
    fake.fail_next(GROUP_SEND_PATH, openapi_error(400, code, "access_token不存在"))
    assert h.send(delivery("提醒", openapi_routes())).outcome is Outcome.RETRY
    assert h.redis.exists(f"zhibu:dingtalk:token:{APP_KEY}") == 0


def test_token_endpoint_failure_is_retry(h: Harness, fake: FakeDingTalk) -> None:
    fake.fail_next(TOKEN_PATH, openapi_error(500, "ServiceUnavailable"))
    result = h.send(delivery("提醒", openapi_routes()))
    assert (result.outcome, result.retry_after) == (Outcome.RETRY, None)
    assert "ServiceUnavailable" in (result.error or "")
    assert fake.server.received(GROUP_SEND_PATH) == []


def test_unexpected_failure_is_retry_not_an_exception(h: Harness, fake: FakeDingTalk) -> None:
    class BrokenTokens(TokenCache):
        async def get(self) -> str:
            raise RuntimeError("bug")

    broken = BrokenTokens(
        redis_client=h.redis,
        app_key=APP_KEY,
        app_secret=APP_SECRET,
        api_base=fake.base_url,
        clock=h.clock.now,
    )
    result = h.send(delivery("提醒", openapi_routes(), parts_sent=0), tokens=broken)
    assert (result.outcome, result.error) == (Outcome.RETRY, "unexpected: RuntimeError")
