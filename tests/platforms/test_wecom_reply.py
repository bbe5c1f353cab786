"""Passive replies to WeCom callbacks: encrypted, within the byte limits, opened by wechatpy."""

from __future__ import annotations

import json

from bot.message import Outgoing
from bot.platforms.wecom_callback import WeComCodec
from bot.platforms.wecom_payload import Wire
from tests.fakes.wecom import WeComCallbacks, ai_bot_text, robot_xml_text
from tests.platforms.conftest import NOW, decode


def test_stream_refresh_is_answered_with_a_finished_empty_stream(
    codec: WeComCodec, wecom: WeComCallbacks
) -> None:
    payload = {"msgid": "S1", "aibotid": "A", "msgtype": "stream", "stream": {"id": "SID-7"}}
    inbound = decode(codec, wecom, payload)
    reply = codec.reply(inbound, [Outgoing(5, "c", "not used")])
    assert reply.outbox_ids == ()
    plain = wecom.open_json_reply(reply.body)
    assert plain == {"msgtype": "stream", "stream": {"id": "SID-7", "finish": True, "content": ""}}


def test_events_get_an_empty_answer(codec: WeComCodec, wecom: WeComCallbacks) -> None:
    payload = {"msgid": "E1", "aibotid": "A", "msgtype": "event", "event": {"eventtype": "x"}}
    reply = codec.reply(decode(codec, wecom, payload), [Outgoing(5, "c", "x")])
    assert reply.body == b""
    assert reply.outbox_ids == ()


def test_group_robot_json_mode(codec: WeComCodec, wecom: WeComCallbacks) -> None:
    payload = {
        "webhook_url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K9",
        "msgid": "J1",
        "chatid": "wrkJ",
        "chattype": "group",
        "from": {"userid": "u3", "name": "赵六", "alias": "z"},
        "msgtype": "text",
        "text": {"content": "@RobotA 签到"},
    }
    inbound = decode(codec, wecom, payload)
    assert inbound.wire is Wire.ROBOT_JSON
    assert inbound.message is not None
    assert inbound.message.sender_name == "赵六"
    assert inbound.message.routes == {"webhook_url": payload["webhook_url"]}
    reply = codec.reply(inbound, [Outgoing(3, "wrkJ", "✅ 已签到", ("u3",))])
    assert wecom.open_json_reply(reply.body) == {
        "msgtype": "text",
        "text": {"content": "✅ 已签到", "mentioned_list": ["u3"]},
    }
    assert reply.outbox_ids == (3,)


def test_ai_bot_reply_is_one_finished_stream(codec: WeComCodec, wecom: WeComCallbacks) -> None:
    inbound = decode(codec, wecom, ai_bot_text("@bot 签到"))
    replies = [Outgoing(11, "wrkGROUP1", "✅ 已签到：张三"), Outgoing(12, "wrkGROUP1", "还差 3 人")]
    reply = codec.reply(inbound, replies)
    assert reply.outbox_ids == (11, 12)
    envelope = json.loads(reply.body)
    assert set(envelope) == {"encrypt", "msgsignature", "timestamp", "nonce"}
    assert envelope["timestamp"] == str(int(NOW.timestamp()))
    plain = wecom.open_json_reply(reply.body)
    assert plain["msgtype"] == "stream"
    assert plain["stream"]["finish"] is True
    assert plain["stream"]["content"] == "✅ 已签到：张三\n\n还差 3 人"
    assert plain["stream"]["id"]
    again = wecom.open_json_reply(codec.reply(inbound, replies).body)
    assert again["stream"]["id"] != plain["stream"]["id"]


def test_ai_bot_reply_respects_the_stream_byte_limit(
    codec: WeComCodec, wecom: WeComCallbacks
) -> None:
    inbound = decode(codec, wecom, ai_bot_text("@bot 台账"))
    big = "党" * 6825  # 20 475 bytes
    reply = codec.reply(inbound, [Outgoing(1, "c", big), Outgoing(2, "c", "第二条")])
    content = wecom.open_json_reply(reply.body)["stream"]["content"]
    assert content == big  # the second would overflow 20 480 bytes: it stays in the outbox
    assert reply.outbox_ids == (1,)
    huge = "党" * 8000  # 24 000 bytes: cut, with a note
    reply = codec.reply(inbound, [Outgoing(3, "c", huge)])
    content = wecom.open_json_reply(reply.body)["stream"]["content"]
    assert len(content.encode()) <= 20480
    assert content.endswith("（内容过长，已截断）")
    assert reply.outbox_ids == (3,)


def test_ai_bot_reply_with_nothing_to_say_is_empty(
    codec: WeComCodec, wecom: WeComCallbacks
) -> None:
    assert codec.reply(decode(codec, wecom, ai_bot_text("x")), []).body == b""


def test_group_robot_reply_is_encrypted_xml_text_with_mentions(
    codec: WeComCodec, wecom: WeComCallbacks
) -> None:
    inbound = codec.decode(*wecom.xml_callback(robot_xml_text("@RobotA 到"), NOW))
    replies = [
        Outgoing(7, "wrkS", "@张三 ✅ 已签到 <b>&]]>", ("zhangsan",)),
        Outgoing(0, "wrkS", "忙", ("zhangsan", "lisi")),
    ]
    reply = codec.reply(inbound, replies)
    assert reply.outbox_ids == (7,)
    root = wecom.open_xml_reply(reply.body)
    assert root.findtext("MsgType") == "text"
    assert root.findtext("Text/Content") == "@张三 ✅ 已签到 <b>&]]>\n\n忙"
    assert [i.text for i in root.iterfind("Text/MentionedList/Item")] == ["zhangsan", "lisi"]


def test_group_robot_reply_too_long_is_left_to_the_webhook(
    codec: WeComCodec, wecom: WeComCallbacks
) -> None:
    inbound = codec.decode(*wecom.xml_callback(robot_xml_text("@RobotA 台账"), NOW))
    reply = codec.reply(inbound, [Outgoing(9, "wrkS", "党" * 700)])  # 2 100 bytes
    assert reply.body == b""
    assert reply.outbox_ids == ()
