"""WeCom template cards: rendering a `Card`, decoding button taps, and answering them.

HTTP through Starlette with an in-memory inbox; the long connection against the fake server.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.exceptions import StarletteDeprecationWarning

from bot.message import Button, Card, DispatchResult, Message, Outgoing
from bot.platforms.base import CallbackRejectedError
from bot.platforms.wecom_callback import WeComCodec
from bot.platforms.wecom_cards import (
    BUTTONS_MAX,
    HORIZONTAL_MAX,
    SUB_TITLE_MAX,
    VALUE_MAX,
    shorten_names,
    template_card,
    valid_task_id,
)
from bot.platforms.wecom_http import wecom_routes
from bot.platforms.wecom_payload import Kind, Wire
from bot.platforms.wecom_ws import WeComLongConnection
from bot.platforms.wecom_ws_frames import RESPOND_MSG, RESPOND_UPDATE_MSG
from tests.fakes.wecom import WeComCallbacks, ai_bot_card_tap, ai_bot_text, robot_xml_text
from tests.fakes.wecom_ws import FakeWeComWS, MemoryInbox, play
from tests.platforms.conftest import KEY, NOW, TOKEN

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

PATH = "/wecom/callback"
BUTTONS = (Button("签到", "签到"), Button("请假", "请假"))


def meeting_card(signed: str = "无", leave: str | None = None, key: str = "meeting-7") -> Card:
    lines = ["研究发展党员", "应到 10 人，已签到 1 人，请假 0 人", f"已签到：{signed}"]
    if leave:
        lines.append(f"请假：{leave}")
    return Card(key, "支部委员会 签到", tuple(lines), BUTTONS)


# --- rendering ---------------------------------------------------------------------------


def test_the_meeting_card_renders_as_a_button_interaction_card() -> None:
    assert template_card(meeting_card("赵磊", "王芳")) == {
        "card_type": "button_interaction",
        "main_title": {"title": "支部委员会 签到", "desc": "研究发展党员"},
        "sub_title_text": "应到 10 人，已签到 1 人，请假 0 人",
        "horizontal_content_list": [
            {"keyname": "已签到", "value": "赵磊"},
            {"keyname": "请假", "value": "王芳"},
        ],
        "button_list": [
            {"text": "签到", "style": 1, "key": "签到"},
            {"text": "请假", "style": 2, "key": "请假"},
        ],
        "task_id": "meeting-7",
    }


def test_a_card_without_topic_uses_the_counts_as_desc() -> None:
    card = Card(
        "meeting-1", "党员大会 签到", ("应到 3 人，已签到 0 人，请假 0 人", "已签到：无"), BUTTONS
    )
    rendered = template_card(card)
    assert rendered is not None
    assert rendered["main_title"]["desc"] == "应到 3 人，已签到 0 人，请假 0 人"
    assert rendered["horizontal_content_list"] == [{"keyname": "已签到", "value": "无"}]
    assert "sub_title_text" not in rendered


def test_long_name_lists_are_cut_at_whole_names_and_counted() -> None:
    names = [f"党员{i:02d}" for i in range(40)]
    rendered = template_card(meeting_card("、".join(names)))
    assert rendered is not None
    value = rendered["horizontal_content_list"][0]["value"]
    assert len(value) <= VALUE_MAX
    assert value.endswith("等40人")
    kept = value.removesuffix("等40人").split("、")
    assert kept == names[: len(kept)] and len(kept) >= 3
    assert shorten_names("张三、李四", 26) == "张三、李四"
    assert shorten_names("欧阳" * 20 + "、李四", 10) == "欧阳欧阳欧阳…等2人"  # 10 characters


def test_limits_on_titles_lines_and_buttons() -> None:
    lines = ["议题" * 40] + [f"项{i}：值{i}" for i in range(9)] + ["一句很长的说明" * 30]
    buttons = tuple(Button(f"按钮{i}号很长很长很长", f"cmd {i}") for i in range(9))
    card = Card("meeting-2", "标题" * 30, tuple(lines), buttons)
    rendered = template_card(card)
    assert rendered is not None
    assert len(rendered["main_title"]["title"]) == 26
    assert len(rendered["main_title"]["desc"]) == 30
    assert len(rendered["horizontal_content_list"]) == HORIZONTAL_MAX
    sub = rendered["sub_title_text"]
    assert len(sub) <= SUB_TITLE_MAX
    assert sub.startswith("项6：值6\n项7：值7\n项8：值8\n一句很长的说明")  # overflow kept in order
    assert len(rendered["button_list"]) == BUTTONS_MAX
    assert all(len(b["text"]) <= 10 for b in rendered["button_list"])
    assert [b["key"] for b in rendered["button_list"]] == [f"cmd {i}" for i in range(6)]


def test_button_keys_are_unique_whole_commands() -> None:
    buttons = (
        Button("签到", "签到"),
        Button("再签", "签到"),  # same key: left out
        Button("长", "x" * 1025),  # a cut key would be another command: left out
        Button("空", ""),
        Button("请假", "请假"),
    )
    rendered = template_card(Card("meeting-3", "签到", (), buttons))
    assert rendered is not None
    assert [b["key"] for b in rendered["button_list"]] == ["签到", "请假"]
    assert "desc" not in rendered["main_title"]
    assert template_card(Card("meeting-3", "签到", (), (Button("空", ""),))) is None
    assert template_card(Card("meeting-3", "签到", (), ())) is None


@pytest.mark.parametrize(
    ("key", "valid"),
    [
        ("meeting-12", True),
        ("a_b-c@d", True),
        ("x" * 128, True),
        ("x" * 129, False),
        ("meeting 1", False),
        ("会议-1", False),
        ("", False),
    ],
)
def test_task_id_rules(key: str, valid: bool) -> None:
    assert valid_task_id(key) is valid
    assert (template_card(Card(key, "t", (), BUTTONS)) is not None) is valid


# --- decoding taps -------------------------------------------------------------------------


@pytest.mark.parametrize("flat", [False, True])
def test_a_tap_decodes_like_the_typed_command(
    codec: WeComCodec, wecom: WeComCallbacks, flat: bool
) -> None:
    inbound = codec.decode(
        *wecom.card_tap("签到", "meeting-7", NOW, msgid="CAIQtap", userid="zhaolei", flat=flat)
    )
    assert (inbound.wire, inbound.kind) == (Wire.AIBOT, Kind.TAP)
    assert inbound.message == Message(
        platform="wecom",
        message_id="CAIQtap",
        chat_id="wrkGROUP1",
        sender_id="zhaolei",
        text="签到",
        sent_at=NOW,
        routes={"response_url": ai_bot_card_tap("", "")["response_url"]},
        reply_inline=True,
        via_card="meeting-7",
    )


def test_a_tap_in_a_single_chat_and_the_doc_table_spelling(
    codec: WeComCodec, wecom: WeComCallbacks
) -> None:
    payload = ai_bot_card_tap("请假", "meeting-7", chatid=None, userid="wangfang")
    payload["event"]["template_card_event"] = {"eventkey": "请假", "taskid": "meeting-7"}
    message = codec.decode(*wecom.json_callback(payload, NOW)).message
    assert message is not None
    assert (message.chat_id, message.text, message.via_card) == (
        "single:wangfang",
        "请假",
        "meeting-7",
    )


def _without(payload: dict[str, Any], path: str) -> dict[str, Any]:
    copy: dict[str, Any] = json.loads(json.dumps(payload))
    *parents, last = path.split(".")
    target = copy
    for name in parents:
        target = target[name]
    del target[last]
    return copy


@pytest.mark.parametrize(
    "missing",
    [
        "event.template_card_event.event_key",
        "event.template_card_event.task_id",
        "event.template_card_event",
        "msgid",
        "from.userid",
        "from",
    ],
)
def test_a_tap_with_missing_fields_is_rejected(
    codec: WeComCodec, wecom: WeComCallbacks, missing: str
) -> None:
    payload = _without(ai_bot_card_tap("签到", "meeting-7"), missing)
    with pytest.raises(CallbackRejectedError) as err:
        codec.decode(*wecom.json_callback(payload, NOW))
    assert err.value.status == 400


def test_a_non_string_event_key_is_rejected(codec: WeComCodec, wecom: WeComCallbacks) -> None:
    payload = ai_bot_card_tap("签到", "meeting-7")
    payload["event"]["template_card_event"]["event_key"] = ["签到"]
    with pytest.raises(CallbackRejectedError):
        codec.decode(*wecom.json_callback(payload, NOW))


# --- HTTP callback -------------------------------------------------------------------------


class CardInbox:
    """Answers like the core: an opening gets a card; a tap on a known card gets it refreshed."""

    def __init__(self) -> None:
        self.received: list[Message] = []
        self.delivered_ids: list[int] = []
        self.results: dict[str, DispatchResult] = {}
        self.signed: list[str] = []

    async def receive(self, message: Message) -> DispatchResult:
        self.received.append(message)
        if message.message_id in self.results:
            return replace(self.results[message.message_id], duplicate=True)
        outbox_id = len(self.results) + 1
        card: Card | None = None
        if message.text.startswith("开会"):
            text, card = "已发起签到", meeting_card()
        else:
            if message.sender_id not in self.signed:
                self.signed.append(message.sender_id)
            text = f"{message.sender_id} {message.text}成功"
            if message.via_card == "meeting-7":
                card = meeting_card("、".join(self.signed))
        reply = Outgoing(outbox_id, message.chat_id, text, card=card)
        result = DispatchResult(replies=(reply,))
        self.results[message.message_id] = result
        return result

    async def delivered(self, outbox_ids: Sequence[int]) -> None:
        self.delivered_ids.extend(outbox_ids)


@pytest.fixture
def inbox() -> CardInbox:
    return CardInbox()


@pytest.fixture
def client(inbox: CardInbox) -> TestClient:
    app = Starlette(routes=wecom_routes(TOKEN, KEY, inbox, lambda: NOW))
    return TestClient(app, raise_server_exceptions=False)


def test_a_reply_with_a_card_goes_back_as_stream_with_template_card(
    client: TestClient, inbox: CardInbox, wecom: WeComCallbacks
) -> None:
    query, body = wecom.json_callback(ai_bot_text("@助手\u2005开会 支委会", msgid="OPEN"), NOW)
    response = client.post(PATH, params=query, content=body)
    assert response.status_code == 200
    plain = wecom.open_json_reply(response.content)
    assert plain["msgtype"] == "stream_with_template_card"
    assert plain["stream"] | {"id": "-"} == {"id": "-", "finish": True, "content": "已发起签到"}
    assert plain["template_card"] == template_card(meeting_card())
    assert inbox.delivered_ids == [1]


def test_a_reply_without_a_card_is_still_a_plain_stream(
    client: TestClient, wecom: WeComCallbacks
) -> None:
    query, body = wecom.json_callback(ai_bot_text("签到", msgid="TYPED"), NOW)
    plain = wecom.open_json_reply(client.post(PATH, params=query, content=body).content)
    assert plain["msgtype"] == "stream"
    assert "template_card" not in plain


def test_the_group_robot_gets_text_only(client: TestClient, wecom: WeComCallbacks) -> None:
    query, body = wecom.xml_callback(robot_xml_text("@RobotA\u2005开会"), NOW)
    root = wecom.open_xml_reply(client.post(PATH, params=query, content=body).content)
    assert root.findtext("MsgType") == "text"
    assert root.findtext("Text/Content") == "已发起签到"


def test_a_tap_is_answered_by_updating_the_card_for_everyone(
    client: TestClient, inbox: CardInbox, wecom: WeComCallbacks
) -> None:
    query, body = wecom.card_tap("签到", "meeting-7", NOW, msgid="TAP-A", userid="zhaolei")
    response = client.post(PATH, params=query, content=body)
    assert response.status_code == 200
    plain = wecom.open_json_reply(response.content)
    assert plain == {
        "response_type": "update_template_card",
        "template_card": template_card(meeting_card("zhaolei")),
    }
    (message,) = inbox.received
    assert (message.text, message.via_card, message.sender_id) == ("签到", "meeting-7", "zhaolei")
    assert inbox.delivered_ids == [1]
    # The same tap again (a retry): the inbox replays, the answer is the same card.
    again = wecom.open_json_reply(client.post(PATH, params=query, content=body).content)
    assert again == plain


def test_a_tap_on_a_stale_card_gets_an_empty_answer(
    client: TestClient, inbox: CardInbox, wecom: WeComCallbacks
) -> None:
    query, body = wecom.card_tap("签到", "meeting-999", NOW, msgid="TAP-OLD")
    response = client.post(PATH, params=query, content=body)
    assert (response.status_code, response.content) == (200, b"")
    assert [m.via_card for m in inbox.received] == ["meeting-999"]
    assert inbox.delivered_ids == []  # the text reply stays in the outbox


def test_a_malformed_tap_is_refused_before_dispatch(
    client: TestClient, inbox: CardInbox, wecom: WeComCallbacks
) -> None:
    payload = _without(ai_bot_card_tap("签到", "meeting-7"), "event.template_card_event.task_id")
    query, body = wecom.json_callback(payload, NOW)
    assert client.post(PATH, params=query, content=body).status_code == 400
    assert inbox.received == []


# --- long connection -----------------------------------------------------------------------


def _cards(message: Message) -> Card | None:
    if message.text.startswith("开会"):
        return meeting_card()
    if message.via_card == "meeting-7":
        return meeting_card(message.sender_id)
    return None


def test_ws_a_reply_with_a_card_is_sent_with_the_stream() -> None:
    inbox = MemoryInbox(lambda m: ["已发起签到"], card=_cards)

    async def scenario(fake: FakeWeComWS, conn: WeComLongConnection, inbox: MemoryInbox) -> None:
        await fake.until(lambda: conn.connected)
        req_id = await fake.message(ai_bot_text("@助手\u2005开会 支委会"))
        await fake.until(lambda: inbox.delivered_ids == [1])
        (respond,) = fake.sent(RESPOND_MSG)
        assert respond.req_id == req_id
        assert respond.body["msgtype"] == "stream_with_template_card"
        assert (respond.body["stream"]["finish"], respond.body["stream"]["content"]) == (
            True,
            "已发起签到",
        )
        assert respond.body["template_card"] == template_card(meeting_card())

    play(scenario, inbox=inbox)


def test_ws_a_refused_card_reply_falls_back_to_the_text() -> None:
    fake = FakeWeComWS()
    fake.script(RESPOND_MSG, (40008, "invalid message type"))
    inbox = MemoryInbox(lambda m: ["已发起签到"], card=_cards)

    async def scenario(fake: FakeWeComWS, conn: WeComLongConnection, inbox: MemoryInbox) -> None:
        await fake.until(lambda: conn.connected)
        await fake.message(ai_bot_text("开会 支委会"))
        await fake.until(lambda: inbox.delivered_ids == [1])
        first, second = fake.sent(RESPOND_MSG)
        assert first.body["msgtype"] == "stream_with_template_card"
        assert second.body["msgtype"] == "stream"
        assert second.req_id == first.req_id
        assert second.body["stream"] == first.body["stream"]  # same id: one bubble

    play(scenario, fake=fake, inbox=inbox)


@pytest.mark.parametrize("flat", [False, True])
def test_ws_a_tap_updates_the_card_with_the_events_req_id(flat: bool) -> None:
    inbox = MemoryInbox(lambda m: [f"{m.sender_id} 签到成功"], card=_cards)

    async def scenario(fake: FakeWeComWS, conn: WeComLongConnection, inbox: MemoryInbox) -> None:
        await fake.until(lambda: conn.connected)
        tap = ai_bot_card_tap("签到", "meeting-7", userid="zhaolei", flat=flat)
        req_id = await fake.tap(tap)
        await fake.until(lambda: inbox.delivered_ids == [1])
        (update,) = fake.sent(RESPOND_UPDATE_MSG)
        assert update.req_id == req_id
        assert update.body == {
            "response_type": "update_template_card",
            "template_card": template_card(meeting_card("zhaolei")),
        }
        assert fake.sent(RESPOND_MSG) == []  # a tap's req_id takes only the update
        (message,) = inbox.received
        assert (message.message_id, message.text, message.via_card) == (
            "TAP-1",
            "签到",
            "meeting-7",
        )
        assert message.reply_inline

    play(scenario, inbox=inbox)


def test_ws_an_unacknowledged_update_stays_in_the_outbox() -> None:
    fake = FakeWeComWS()
    fake.script(RESPOND_UPDATE_MSG, (846605, "invalid req_id"))
    inbox = MemoryInbox(lambda m: ["签到成功"], card=_cards)

    async def scenario(fake: FakeWeComWS, conn: WeComLongConnection, inbox: MemoryInbox) -> None:
        await fake.until(lambda: conn.connected)
        await fake.tap(ai_bot_card_tap("签到", "meeting-7", msgid="T1"))
        await fake.until(lambda: len(fake.sent(RESPOND_UPDATE_MSG)) == 1)
        await fake.tap(ai_bot_card_tap("签到", "meeting-7", msgid="T2"))
        await fake.until(lambda: inbox.delivered_ids == [2])  # the second was acknowledged

    play(scenario, fake=fake, inbox=inbox)


def test_ws_stale_and_malformed_taps_send_nothing() -> None:
    inbox = MemoryInbox(lambda m: ["签到成功"], card=_cards)

    async def scenario(fake: FakeWeComWS, conn: WeComLongConnection, inbox: MemoryInbox) -> None:
        await fake.until(lambda: conn.connected)
        await fake.tap(ai_bot_card_tap("签到", "meeting-999", msgid="STALE"))
        broken = _without(ai_bot_card_tap("签到", "meeting-7"), "event.template_card_event")
        await fake.tap(broken)
        await fake.message(ai_bot_text("签到", msgid="AFTER"))  # a marker: all three handled
        await fake.until(lambda: len(fake.sent(RESPOND_MSG)) == 1)
        assert [m.message_id for m in inbox.received] == ["STALE", "AFTER"]
        assert fake.sent(RESPOND_UPDATE_MSG) == []
        assert inbox.delivered_ids == [2]

    play(scenario, inbox=inbox)
