"""DingTalk end to end: signed callbacks into the real app, replies through a fake DingTalk."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.testclient import TestClient

from bot.clock import FixedClock
from bot.runtime import Runtime
from storage.models import Attendance, InboxEntry, OutboxEntry
from tests.fakes.dingtalk import (
    APP_KEY,
    APP_SECRET,
    FakeDingTalk,
    callback_payload,
    signed_callback,
)

CID = "cidBranchGroup=="
STAFF = {"李明": "0138217", "王芳": "0138218", "赵磊": "0138223", "吴敏": "0138225"}
MakeApp = Callable[..., tuple[Runtime, Starlette, TestClient]]


class DingTalkGroup:
    """A DingTalk group whose members @ the bot; callbacks are signed like DingTalk's."""

    def __init__(self, client: TestClient, clock: FixedClock, fake: FakeDingTalk) -> None:
        self.client = client
        self.clock = clock
        self.fake = fake
        self.webhook = fake.session_webhook(CID)

    def post(
        self,
        name: str,
        text: str,
        msg_id: str,
        *,
        secret: str = APP_SECRET,
        at_offset: timedelta = timedelta(0),
        webhook: str | None = None,
    ) -> int:
        payload = callback_payload(
            text=text,
            created_at=self.clock.now(),
            conversation_id=CID,
            msg_id=msg_id,
            sender_staff_id=STAFF.get(name, "outsider"),
            sender_nick=name,
            session_webhook=webhook or self.webhook,
        )
        headers, body = signed_callback(secret, payload, self.clock.now() + at_offset)
        response = self.client.post("/dingtalk/callback", headers=headers, content=body)
        return int(response.status_code)


def drain(app: Starlette, clock: FixedClock, rounds: int = 5) -> None:
    async def run() -> None:
        for _ in range(rounds):
            await app.state.sender.drain_once()
            clock.advance(timedelta(seconds=30))

    asyncio.run(run())


def rows(runtime: Runtime, model: type[Any]) -> int:
    with runtime.db.session() as session:
        return int(session.query(model).count())


def settings_for(fake: FakeDingTalk) -> dict[str, Any]:
    return {
        "dingtalk_app_key": APP_KEY,
        "dingtalk_app_secret": APP_SECRET,
        "dingtalk_api_base": fake.base_url,
        "dingtalk_oapi_base": fake.base_url,
    }


def test_replies_go_through_the_session_webhook_once(make_app: MakeApp, clock: FixedClock) -> None:
    with FakeDingTalk(app_key=APP_KEY, app_secret=APP_SECRET) as fake:
        runtime, app, client = make_app(**settings_for(fake))
        group = DingTalkGroup(client, clock, fake)
        assert group.post("李明", "开会 党员大会 学习党章", "d1") == 200
        for _ in range(3):
            assert group.post("赵磊", "签到", "d2") == 200  # DingTalk retries: one record
        assert group.post("王芳", "请假 出差", "d3") == 200
        assert group.post("吴敏", "开会 党课", "d4") == 200
        drain(app, clock)
        texts = fake.texts(CID)
        assert len(texts) == 4
        assert "已发起签到" in texts[0]
        assert "赵磊 签到成功" in texts[1]
        assert "王芳 请假" in texts[2]
        assert "只有支部书记或管理员" in texts[3]
        assert rows(runtime, Attendance) == 2
        assert rows(runtime, InboxEntry) == 4
        assert all(m.via == "session" for m in fake.messages(CID))
        assert fake.tokens_issued == 0


def test_expired_session_falls_back_to_the_robot_openapi(
    make_app: MakeApp, clock: FixedClock
) -> None:
    with FakeDingTalk(app_key=APP_KEY, app_secret=APP_SECRET) as fake:
        _runtime, app, client = make_app(**settings_for(fake))
        group = DingTalkGroup(client, clock, fake)
        assert group.post("李明", "帮助", "e1") == 200
        fake.expire_session(group.webhook)
        drain(app, clock)
        assert [m.via for m in fake.messages(CID)] == ["openapi"]
        assert fake.tokens_issued == 1


def test_forged_and_stale_callbacks_write_nothing(make_app: MakeApp, clock: FixedClock) -> None:
    with FakeDingTalk(app_key=APP_KEY, app_secret=APP_SECRET) as fake:
        runtime, app, client = make_app(**settings_for(fake))
        group = DingTalkGroup(client, clock, fake)
        assert group.post("赵磊", "签到", "f1", secret="not the secret") == 403
        assert group.post("赵磊", "签到", "f2", at_offset=timedelta(hours=-2)) == 403
        assert client.post("/dingtalk/callback", content=b"{}").status_code == 403
        assert rows(runtime, InboxEntry) == 0
        assert rows(runtime, OutboxEntry) == 0
        drain(app, clock, rounds=1)
        assert fake.texts(CID) == []
