"""WeCom end to end: encrypted AI-bot callbacks into the real app, pushes to a fake WeCom server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from starlette.applications import Starlette
from starlette.testclient import TestClient

from bot.clock import FixedClock
from bot.outbox import OutboxSender
from bot.runtime import Runtime
from scheduler.reminders import Scheduler
from storage import messages
from storage.models import Attendance, InboxEntry, OutboxEntry, VolunteerRecord
from tests.e2e.conftest import WECOM_AES_KEY, WECOM_TOKEN
from tests.fakes.wecom import (
    DROPPED,
    RATE_LIMITED,
    SERVER_ERROR,
    FakeWeCom,
    WeComCallbacks,
    ai_bot_text,
)

CHAT = "wrkGROUP1"
MakeApp = Callable[..., tuple[Runtime, Starlette, TestClient]]


class WeComGroup:
    """A WeCom group talking to the bot through signed, encrypted callbacks."""

    def __init__(self, client: TestClient, clock: FixedClock) -> None:
        self.client = client
        self.clock = clock
        self.callbacks = WeComCallbacks(WECOM_TOKEN, WECOM_AES_KEY)
        self.ids = 0

    def post(self, userid: str, text: str, msgid: str | None = None) -> tuple[int, str]:
        """Post one message; return the HTTP status and the decrypted passive reply text."""
        self.ids += 1
        payload = ai_bot_text(
            f"@支部助手\u2005{text}", msgid=msgid or f"m{self.ids}", userid=userid, chatid=CHAT
        )
        query, body = self.callbacks.json_callback(payload, self.clock.now())
        response = self.client.post("/wecom/callback", params=query, content=body)
        if response.status_code != 200:
            return response.status_code, ""
        reply: dict[str, Any] = self.callbacks.open_json_reply(response.content)
        return 200, str(reply["stream"]["content"])

    def say(self, userid: str, text: str, msgid: str | None = None) -> str:
        status, reply = self.post(userid, text, msgid)
        assert status == 200
        return reply


def count(runtime: Runtime, model: type[Any]) -> int:
    with runtime.db.session() as session:
        return session.query(model).count()


def drain_until_quiet(sender: OutboxSender, clock: FixedClock, rounds: int = 30) -> None:
    """Run the sender, moving the clock on between rounds, all in one event loop."""

    async def run() -> None:
        for _ in range(rounds):
            await sender.drain_once()
            clock.advance(timedelta(minutes=2))

    asyncio.run(run())


def test_a_meeting_day_through_encrypted_callbacks(make_app: MakeApp, clock: FixedClock) -> None:
    with FakeWeCom("693a91f6-7f0e-4bc4-97a0-0ec2a1fa5aaa") as fake:
        runtime, app, client = make_app(
            wecom_token=WECOM_TOKEN, wecom_aes_key=WECOM_AES_KEY, wecom_api_base=fake.base_url
        )
        group = WeComGroup(client, clock)
        assert "已发起签到" in group.say("liming", "开会 支委会+党员大会 讨论年度计划")
        first = group.say("zhaolei", "签到", msgid="dup")
        assert "赵磊 签到成功" in first
        assert [group.say("zhaolei", "签到", msgid="dup") for _ in range(3)] == [first] * 3
        assert "已记录 王芳 请假：出差" in group.say("wangfang", "请假 出差")
        assert "学习任务已发布" in group.say("liming", "发布学习《党章》截止12月10日")
        assert "完成学习《党章》" in group.say("huangli", "已学习")
        assert "志愿服务 2 小时" in group.say("wumin", "志愿服务 2小时 社区献血")
        assert "只有支部书记或管理员" in group.say("wumin", "结束签到")
        assert "不在本支部的党员名册中" in group.say("stranger", "签到")
        summary = group.say("liming", "结束签到")
        assert "应到 10 人，实到 1 人，请假 1 人，缺席 8 人" in summary
        assert count(runtime, Attendance) == 10
        assert count(runtime, VolunteerRecord) == 1
        assert count(runtime, InboxEntry) == 9  # the three repeats are not new messages
        # Every reply went back inside its callback response: none is sent again later.
        drain_until_quiet(app.state.sender, clock, rounds=3)
        assert fake.attempts() == []
        app.state.inbox.drain()  # inline replies are marked delivered behind the answer
        with runtime.db.session() as session:
            assert {r.status for r in session.query(OutboxEntry)} == {"sent"}


def test_forged_stale_and_oversized_callbacks_write_nothing(
    make_app: MakeApp, clock: FixedClock
) -> None:
    runtime, _app, client = make_app(wecom_token=WECOM_TOKEN, wecom_aes_key=WECOM_AES_KEY)
    group = WeComGroup(client, clock)
    payload = ai_bot_text("签到", msgid="x1", userid="zhaolei", chatid=CHAT)
    query, body = group.callbacks.json_callback(payload, clock.now())
    forged = {**query, "msg_signature": "0" * 40}
    assert client.post("/wecom/callback", params=forged, content=body).status_code == 403
    stale_query, stale_body = group.callbacks.json_callback(
        payload, clock.now() - timedelta(hours=2)
    )
    assert (
        400
        <= client.post("/wecom/callback", params=stale_query, content=stale_body).status_code
        < 500
    )
    wrong = WeComCallbacks(WECOM_TOKEN, "A" * 43)
    q, b = wrong.json_callback(payload, clock.now())
    assert 400 <= client.post("/wecom/callback", params=q, content=b).status_code < 500
    assert client.post("/wecom/callback", params=query, content=b"x" * 70_000).status_code == 413
    assert client.post("/wecom/callback", params=query, content=b"{not json").status_code in (
        400,
        403,
    )
    assert count(runtime, InboxEntry) == 0


def test_pushes_survive_an_outage_and_arrive_once_in_order(
    make_app: MakeApp, clock: FixedClock
) -> None:
    with FakeWeCom("693a91f6-7f0e-4bc4-97a0-0ec2a1fa5aaa") as fake:
        runtime, app, client = make_app(
            wecom_token=WECOM_TOKEN, wecom_aes_key=WECOM_AES_KEY, wecom_api_base=fake.base_url
        )
        group = WeComGroup(client, clock)
        assert "已设置本群的消息推送地址" in group.say(
            "liming", "绑定推送 693a91f6-7f0e-4bc4-97a0-0ec2a1fa5aaa"
        )
        reminders = [f"提醒 {i}：本月支委会尚未召开" for i in range(5)]
        with runtime.db.transaction() as session:
            for i, text in enumerate(reminders):
                messages.enqueue(
                    session,
                    dedup_key=f"reminder:{i}",
                    platform="wecom",
                    chat_external_id=CHAT,
                    text=text,
                    at=clock.now(),
                    kind="reminder",
                )
        fake.fail_next(SERVER_ERROR, SERVER_ERROR, RATE_LIMITED, DROPPED, SERVER_ERROR)
        drain_until_quiet(app.state.sender, clock)
        assert fake.texts("693a91f6-7f0e-4bc4-97a0-0ec2a1fa5aaa") == reminders
        with runtime.db.session() as session:
            rows = session.query(OutboxEntry).filter(OutboxEntry.kind == "reminder").all()
            assert {r.status for r in rows} == {"sent"}
            assert sum(r.attempts for r in rows) == 10  # five failures, then five deliveries


def test_platform_off_answers_404(make_app: MakeApp) -> None:
    _runtime, _app, client = make_app()
    assert client.get("/wecom/callback").status_code == 404
    assert client.post("/dingtalk/callback", content=b"{}").status_code == 404


def test_a_due_reminder_reaches_the_group_once_with_its_mentions(
    make_app: MakeApp, clock: FixedClock
) -> None:
    with FakeWeCom("693a91f6-7f0e-4bc4-97a0-0ec2a1fa5aaa") as fake:
        runtime, app, client = make_app(
            wecom_token=WECOM_TOKEN, wecom_aes_key=WECOM_AES_KEY, wecom_api_base=fake.base_url
        )
        group = WeComGroup(client, clock)
        group.say("liming", "绑定推送 693a91f6-7f0e-4bc4-97a0-0ec2a1fa5aaa")
        drain_until_quiet(app.state.sender, clock, rounds=2)
        fake.reset()
        # Tuesday 2026-12-01 08:30: the notice of Friday's 主题党日 (first Friday, 12月4日).
        due = datetime(2026, 12, 1, 8, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
        clock.set(due)
        for _ in range(3):  # a tick repeated (or run by several processes) queues it once
            Scheduler(runtime.db).tick(due)
        drain_until_quiet(app.state.sender, clock, rounds=3)
        sent = fake.sent("693a91f6-7f0e-4bc4-97a0-0ec2a1fa5aaa")
        notices = [m for m in sent if "会议预告" in m["text"]["content"]]
        assert len(notices) == 1
        text = notices[0]["text"]
        assert text["content"].startswith("📅 会议预告：12月4日（周五）（3天后）召开主题党日")
        assert len(text["mentioned_list"]) == 10 and "liming" in text["mentioned_list"]
        with runtime.db.session() as session:
            row = session.query(OutboxEntry).filter(OutboxEntry.kind == "reminder.notice").one()
            assert row.status == "sent"
