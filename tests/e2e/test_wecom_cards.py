"""WeCom end to end with cards: the check-in card in the passive reply, taps updating it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.testclient import TestClient

from bot.clock import FixedClock
from bot.runtime import Runtime
from storage.models import Attendance, InboxEntry, Member, OutboxEntry
from tests.e2e.conftest import WECOM_AES_KEY, WECOM_TOKEN
from tests.e2e.test_wecom_flow import CHAT, drain_until_quiet
from tests.fakes.wecom import FakeWeCom, WeComCallbacks, ai_bot_text

MakeApp = Callable[..., tuple[Runtime, Starlette, TestClient]]
WEBHOOK_KEY = "693a91f6-7f0e-4bc4-97a0-0ec2a1fa5aaa"


class CardGroup:
    """A WeCom group whose members type to the bot and tap its cards (encrypted callbacks)."""

    def __init__(self, client: TestClient, clock: FixedClock) -> None:
        self.client = client
        self.clock = clock
        self.callbacks = WeComCallbacks(WECOM_TOKEN, WECOM_AES_KEY)

    def _post(self, query: dict[str, str], body: bytes) -> dict[str, Any] | None:
        response = self.client.post("/wecom/callback", params=query, content=body)
        assert response.status_code == 200
        return self.callbacks.open_json_reply(response.content) if response.content else None

    def say(self, userid: str, text: str, msgid: str) -> dict[str, Any]:
        """Post a typed message; return the decrypted passive reply."""
        payload = ai_bot_text(f"@支部助手\u2005{text}", msgid=msgid, userid=userid, chatid=CHAT)
        reply = self._post(*self.callbacks.json_callback(payload, self.clock.now()))
        assert reply is not None
        return reply

    def tap(self, userid: str, event_key: str, task_id: str, msgid: str) -> dict[str, Any] | None:
        """Tap a card button; return the decrypted answer (None for an empty one)."""
        query, body = self.callbacks.card_tap(
            event_key, task_id, self.clock.now(), msgid=msgid, userid=userid, chatid=CHAT
        )
        return self._post(query, body)


def attendance(runtime: Runtime) -> dict[str, str]:
    with runtime.db.session() as session:
        rows = (
            session.query(Member.name, Attendance.status)
            .join(Attendance, Attendance.member_id == Member.id)
            .filter(Attendance.superseded_at.is_(None))
            .all()
        )
        return {str(name): str(status) for name, status in rows}


def horizontal(card: dict[str, Any]) -> dict[str, str]:
    return {item["keyname"]: item["value"] for item in card.get("horizontal_content_list", [])}


def test_checkin_by_tapping_the_meeting_card(make_app: MakeApp, clock: FixedClock) -> None:
    with FakeWeCom(WEBHOOK_KEY) as fake:
        runtime, app, client = make_app(
            wecom_token=WECOM_TOKEN, wecom_aes_key=WECOM_AES_KEY, wecom_api_base=fake.base_url
        )
        group = CardGroup(client, clock)
        opened = group.say("liming", "开会 支委会 研究发展党员", msgid="open")
        assert opened["msgtype"] == "stream_with_template_card"
        assert "已发起签到" in opened["stream"]["content"]
        card = opened["template_card"]
        task_id = card["task_id"]
        assert card["card_type"] == "button_interaction"
        assert task_id.startswith("meeting-")
        assert card["main_title"]["title"] == "支部委员会 签到"
        assert [(b["text"], b["key"]) for b in card["button_list"]] == [
            ("签到", "签到"),
            ("请假", "请假"),
        ]
        assert horizontal(card)["已签到"] == "无"

        first = group.tap("zhaolei", "签到", task_id, msgid="tap-zhaolei")
        assert first is not None
        assert set(first) == {"response_type", "template_card"}  # no userids: everyone
        assert first["response_type"] == "update_template_card"
        updated = first["template_card"]
        assert updated["task_id"] == task_id
        assert horizontal(updated)["已签到"] == "赵磊"
        assert attendance(runtime) == {"赵磊": "present"}

        # WeCom (or a flaky proxy) delivers the same tap again: one record, the same answer.
        assert [group.tap("zhaolei", "签到", task_id, msgid="tap-zhaolei") for _ in range(3)] == [
            first
        ] * 3
        assert attendance(runtime) == {"赵磊": "present"}

        leave = group.tap("wangfang", "请假", task_id, msgid="tap-wangfang")
        assert leave is not None
        assert horizontal(leave["template_card"])["请假"] == "王芳"
        assert horizontal(leave["template_card"])["已签到"] == "赵磊"
        assert attendance(runtime) == {"赵磊": "present", "王芳": "leave"}

        # A typed check-in still works beside the card, answered in text.
        typed = group.say("huangli", "签到", msgid="typed-huangli")
        assert typed["msgtype"] == "stream"
        assert attendance(runtime)["黄丽"] == "present"

        with runtime.db.session() as session:
            assert session.query(InboxEntry).count() == 4  # the three repeats are not new
        # Every reply was answered in its callback (the taps by their card): nothing is pushed.
        drain_until_quiet(app.state.sender, clock, rounds=3)
        assert fake.attempts() == []
        app.state.inbox.drain()  # inline replies are marked delivered behind the answer
        with runtime.db.session() as session:
            assert {r.status for r in session.query(OutboxEntry)} == {"sent"}


def test_a_tap_on_an_unknown_card_is_recorded_but_updates_nothing(
    make_app: MakeApp, clock: FixedClock
) -> None:
    runtime, app, client = make_app(wecom_token=WECOM_TOKEN, wecom_aes_key=WECOM_AES_KEY)
    group = CardGroup(client, clock)
    group.say("liming", "开会 党员大会", msgid="open")
    assert group.tap("zhaolei", "签到", "meeting-999", msgid="stale") is None
    assert attendance(runtime) == {"赵磊": "present"}  # handled like the typed command
    app.state.inbox.drain()
    with runtime.db.session() as session:
        statuses = [r.status for r in session.query(OutboxEntry).order_by(OutboxEntry.id)]
    assert statuses[0] == "sent"
    assert statuses[1] != "sent"  # its text waits in the outbox
