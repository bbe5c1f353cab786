"""Decoding WeCom callbacks and encoding passive replies, without HTTP."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.platforms.base import MAX_CALLBACK_BYTES, CallbackRejectedError
from bot.platforms.wecom_callback import WeComCodec
from bot.platforms.wecom_payload import Kind, Wire, strip_mention
from tests.fakes.wecom import WeComCallbacks, ai_bot_text, robot_xml_text
from tests.platforms.conftest import KEY, NOW, TOKEN, decode


def test_url_verification_returns_the_plain_echostr(
    codec: WeComCodec, wecom: WeComCallbacks
) -> None:
    assert codec.verify_url(wecom.verification("8731520019838374", NOW)) == "8731520019838374"


def test_url_verification_with_official_vector_a() -> None:
    at = datetime.fromtimestamp(1476416373, UTC)
    codec = WeComCodec(TOKEN, KEY, lambda: at, receive_id="ww1436e0e65a779aee")
    params = {
        "msg_signature": "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb",
        "timestamp": "1476416373",
        "nonce": "47744683",
        "echostr": "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA==",
    }
    assert codec.verify_url(params) == "1288432023552776189"


def test_url_verification_refuses_a_bad_signature_or_missing_params(
    codec: WeComCodec, wecom: WeComCallbacks
) -> None:
    params = wecom.verification("123", NOW) | {"msg_signature": "f" * 40}
    with pytest.raises(CallbackRejectedError) as err:
        codec.verify_url(params)
    assert err.value.status == 403
    with pytest.raises(CallbackRejectedError) as err:
        codec.verify_url({"timestamp": "1"})
    assert err.value.status == 400


def test_ai_bot_group_text(codec: WeComCodec, wecom: WeComCallbacks) -> None:
    inbound = decode(codec, wecom, ai_bot_text("@台账助手\u2005签到", msgid="CAIQ16HMjQYY"))
    assert inbound.wire is Wire.AIBOT
    assert inbound.kind is Kind.MESSAGE
    message = inbound.message
    assert message.platform == "wecom"
    assert message.message_id == "CAIQ16HMjQYY"
    assert message.chat_id == "wrkGROUP1"
    assert message.sender_id == "zhangsan"
    assert message.text == "签到"
    assert message.sent_at == NOW
    assert message.routes == {
        "response_url": "https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=RC"
    }


def test_ai_bot_single_chat_uses_the_user_as_chat(codec: WeComCodec, wecom: WeComCallbacks) -> None:
    payload = ai_bot_text("请假 出差", chatid=None, response_url=None, userid="lisi")
    message = decode(codec, wecom, payload).message
    assert message.chat_id == "single:lisi"
    assert message.text == "请假 出差"
    assert message.routes == {}
    numeric = decode(codec, wecom, ai_bot_text("到") | {"msgid": 4363689963896700987})
    assert numeric.message.message_id == "4363689963896700987"


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("@台账助手 签到", "签到"),
        ("@台账助手\u2005志愿服务 2小时 社区献血", "志愿服务 2小时 社区献血"),
        ("  @bot\u2005\u2005到  ", "到"),
        ("@bot", ""),
        ("签到", "签到"),
        ("签到 @bot", "签到 @bot"),
        ("@bot @张三 请假", "@张三 请假"),  # only the leading mention (the bot's) goes
        ("email a@b.c", "email a@b.c"),
    ],
)
def test_leading_mention_is_stripped(raw: str, text: str) -> None:
    assert strip_mention(raw) == text


def test_mixed_message_keeps_its_text_parts(codec: WeComCodec, wecom: WeComCallbacks) -> None:
    payload = ai_bot_text("")
    payload["msgtype"] = "mixed"
    del payload["text"]
    payload["mixed"] = {
        "msg_item": [
            {"msgtype": "text", "text": {"content": "@台账助手\u2005志愿服务 2小时"}},
            {"msgtype": "image", "image": {"url": "https://example.invalid/a.png"}},
            {"msgtype": "text", "text": {"content": "社区献血"}},
        ]
    }
    assert decode(codec, wecom, payload).message.text == "志愿服务 2小时\n社区献血"


def test_quote_takes_only_the_senders_own_text(codec: WeComCodec, wecom: WeComCallbacks) -> None:
    payload = ai_bot_text("@台账助手 已学习")
    payload["quote"] = {"msgtype": "text", "text": {"content": "请大家学习第三章"}}
    assert decode(codec, wecom, payload).message.text == "已学习"


def test_voice_uses_its_transcript(codec: WeComCodec, wecom: WeComCallbacks) -> None:
    payload = ai_bot_text("", chatid=None)
    payload["msgtype"] = "voice"
    payload["voice"] = {"content": "签到"}
    assert decode(codec, wecom, payload).message.text == "签到"


@pytest.mark.parametrize(
    ("payload", "kind"),
    [
        ({"msgid": "S1", "msgtype": "stream", "stream": {"id": "STREAMID"}}, Kind.STREAM),
        ({"msgid": "E1", "msgtype": "event", "event": {"eventtype": "enter_chat"}}, Kind.EVENT),
        (
            {"msgid": "E2", "msgtype": "event", "event": {"eventtype": "feedback_event"}},
            Kind.EVENT,
        ),
        ({"msgid": "I1", "msgtype": "image", "image": {"url": "u"}}, Kind.IGNORED),
        ({"msgid": "M1", "msgtype": "mixed", "mixed": {"msg_item": []}}, Kind.IGNORED),
    ],
)
def test_non_text_callbacks_carry_no_message(
    codec: WeComCodec, wecom: WeComCallbacks, payload: dict[str, Any], kind: Kind
) -> None:
    base = {"aibotid": "AIBOTID", "chattype": "single", "from": {"userid": "u1"}}
    inbound = decode(codec, wecom, base | payload)
    assert inbound.kind is kind
    assert inbound.message is None


def test_group_robot_xml_text(codec: WeComCodec, wecom: WeComCallbacks) -> None:
    query, body = wecom.xml_callback(robot_xml_text("@RobotA\u2005到"), NOW)
    inbound = codec.decode(query, body)
    assert inbound.wire is Wire.ROBOT_XML
    message = inbound.message
    assert message is not None
    assert message.message_id == "abcdabcdabcd"
    assert message.chat_id == "wrkSFfCgAALFgnrSsWU38puiv4yvExuw"
    assert (message.sender_id, message.sender_name) == ("zhangsan", "张三")
    assert message.text == "到"
    assert message.routes == {
        "webhook_url": "http://in.qyapi.weixin.qq.com/cgi-bin/webhook/send?key=WEBHOOK"
    }


def test_group_robot_xml_mixed_and_event(codec: WeComCodec, wecom: WeComCallbacks) -> None:
    mixed = (
        "<xml><MsgId>m2</MsgId><ChatId>wrkC</ChatId><ChatType>group</ChatType>"
        "<From><UserId>u2</UserId></From><MsgType>mixed</MsgType><MixedMessage>"
        "<MsgItem><MsgType>text</MsgType><Text><Content>@RobotA 已学习</Content></Text></MsgItem>"
        "<MsgItem><MsgType>image</MsgType><Image><ImageUrl>u</ImageUrl></Image></MsgItem>"
        "</MixedMessage></xml>"
    )
    message = codec.decode(*wecom.xml_callback(mixed, NOW)).message
    assert message is not None
    assert (message.text, message.chat_id, message.routes) == ("已学习", "wrkC", {})
    event = (
        "<xml><ChatId>wrkC</ChatId><MsgType>event</MsgType>"
        "<Event><EventType>add_to_chat</EventType></Event></xml>"
    )
    assert codec.decode(*wecom.xml_callback(event, NOW)).kind is Kind.EVENT


def test_group_robot_single_chat(codec: WeComCodec, wecom: WeComCallbacks) -> None:
    plain = robot_xml_text("签到", chattype="single", userid="wangwu")
    message = codec.decode(*wecom.xml_callback(plain, NOW)).message
    assert message is not None
    assert message.chat_id == "single:wangwu"


# --- rejections: nothing is decoded, the status says why ---------------------------------------


def test_forged_signature(codec: WeComCodec, wecom: WeComCallbacks) -> None:
    query, body = wecom.json_callback(ai_bot_text("签到"), NOW)
    with pytest.raises(CallbackRejectedError) as err:
        codec.decode(query | {"msg_signature": "0" * 40}, body)
    assert err.value.status == 403


def test_body_swapped_under_a_valid_signature(codec: WeComCodec, wecom: WeComCallbacks) -> None:
    query, _ = wecom.json_callback(ai_bot_text("签到"), NOW)
    _, other = wecom.json_callback(ai_bot_text("请假"), NOW)
    with pytest.raises(CallbackRejectedError) as err:
        codec.decode(query, other)
    assert err.value.status == 403


def test_wrong_aes_key(codec: WeComCodec) -> None:
    stranger = WeComCallbacks(TOKEN, "b" * 43)  # same token, other key: the signature holds
    query, body = stranger.json_callback(ai_bot_text("签到"), NOW)
    with pytest.raises(CallbackRejectedError) as err:
        codec.decode(query, body)
    assert 400 <= err.value.status < 500


def test_receive_id_other_than_empty(codec: WeComCodec) -> None:
    app = WeComCallbacks(TOKEN, KEY, receive_id="ww1436e0e65a779aee")
    with pytest.raises(CallbackRejectedError) as err:
        codec.decode(*app.json_callback(ai_bot_text("签到"), NOW))
    assert err.value.status == 403


@pytest.mark.parametrize("offset", [timedelta(minutes=11), timedelta(minutes=-11)])
def test_timestamp_more_than_ten_minutes_off(
    codec: WeComCodec, wecom: WeComCallbacks, offset: timedelta
) -> None:
    with pytest.raises(CallbackRejectedError) as err:
        codec.decode(*wecom.json_callback(ai_bot_text("签到"), NOW + offset))
    assert err.value.status == 403
    within = codec.decode(*wecom.json_callback(ai_bot_text("签到"), NOW + offset * 0.9))
    assert within.message is not None


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"encrypt=abc",
        b"{not json",
        b'["encrypt"]',
        b'{"encrypt": 5}',
        b'{"encrypt": "@@@not-base64@@@"}',
        b"<xml><Encrypt>unclosed",
        b"<xml><Nothing/></xml>",
        b'<!DOCTYPE x [<!ENTITY a "b">]><xml><Encrypt>&a;</Encrypt></xml>',
        b"\xff\xfe{",
        b'{"encrypt":' + b"[" * 60000,  # nesting deep enough to exhaust the recursion limit
        b"<xml>" + b"<a>" * 20000 + b"</xml>",
    ],
)
def test_malformed_bodies(codec: WeComCodec, wecom: WeComCallbacks, body: bytes) -> None:
    query, _ = wecom.json_callback(ai_bot_text("签到"), NOW)
    with pytest.raises(CallbackRejectedError) as err:
        codec.decode(query, body)
    assert 400 <= err.value.status < 500


def test_correctly_signed_but_malformed_plaintext(codec: WeComCodec) -> None:
    wecom = WeComCallbacks(TOKEN, KEY)
    for plain in ("not json at all", "[1, 2]"):
        query = {"timestamp": str(int(NOW.timestamp())), "nonce": "1"}
        encrypt = wecom.encrypt(plain)
        query["msg_signature"] = wecom.sign(query["timestamp"], "1", encrypt)
        with pytest.raises(CallbackRejectedError) as err:
            codec.decode(query, json.dumps({"encrypt": encrypt}).encode())
        assert err.value.status == 400
    query, body = wecom.json_callback({"msgtype": "text", "text": {"content": "x"}}, NOW)
    with pytest.raises(CallbackRejectedError):  # no msgid, no sender
        codec.decode(query, body)


def test_oversized_body(codec: WeComCodec, wecom: WeComCallbacks) -> None:
    query, _ = wecom.json_callback(ai_bot_text("签到"), NOW)
    with pytest.raises(CallbackRejectedError) as err:
        codec.decode(query, b" " * (MAX_CALLBACK_BYTES + 1))
    assert err.value.status == 413
