"""DingTalk callback verification (sign, timestamp, size, JSON) and decoding into a Message."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.platforms.base import MAX_CALLBACK_BYTES, CallbackRejectedError
from bot.platforms.dingtalk_callback import (
    compute_sign,
    decode_message,
    parse_body,
    strip_leading_mentions,
    verify_and_decode,
    verify_sign,
)
from tests.fakes.dingtalk import APP_SECRET, callback_payload, signed_callback

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
VECTOR_SECRET = "this is secret"
VECTOR_TIMESTAMP = "1577262236757"
VECTOR_SIGN = "hmPWwU+7lVdm3ZZz0r9tSfx0L4Q26jWOZr9+Gs6EZQM="
VECTOR_NOW = datetime.fromtimestamp(1577262236757 / 1000, UTC)


def _rejected(call: Any, *args: Any) -> CallbackRejectedError:
    with pytest.raises(CallbackRejectedError) as caught:
        call(*args)
    return caught.value


def test_sign_matches_the_check_value() -> None:
    assert compute_sign(VECTOR_SECRET, VECTOR_TIMESTAMP) == VECTOR_SIGN
    verify_sign(VECTOR_SECRET, VECTOR_TIMESTAMP, VECTOR_SIGN, VECTOR_NOW)


def test_url_encoded_sign_is_accepted() -> None:
    encoded = "hmPWwU%2B7lVdm3ZZz0r9tSfx0L4Q26jWOZr9%2BGs6EZQM%3D"
    verify_sign(VECTOR_SECRET, VECTOR_TIMESTAMP, encoded, VECTOR_NOW)


@pytest.mark.parametrize(
    ("timestamp", "sign"),
    [
        (VECTOR_TIMESTAMP, None),
        (None, VECTOR_SIGN),
        ("", ""),
        (VECTOR_TIMESTAMP, "hmPWwU+7lVdm3ZZz0r9tSfx0L4Q26jWOZr9+Gs6EZQN="),
        (VECTOR_TIMESTAMP, compute_sign("another secret", VECTOR_TIMESTAMP)),
        ("1577262236758", VECTOR_SIGN),
        ("15772622367x7", VECTOR_SIGN),
    ],
)
def test_missing_or_forged_sign_is_403(timestamp: str | None, sign: str | None) -> None:
    error = _rejected(verify_sign, VECTOR_SECRET, timestamp, sign, VECTOR_NOW)
    assert error.status == 403


@pytest.mark.parametrize(
    ("skew", "ok"),
    [
        (timedelta(minutes=59), True),
        (timedelta(minutes=-59), True),
        (timedelta(minutes=61), False),
        (timedelta(minutes=-61), False),
        (timedelta(days=400), False),
    ],
)
def test_timestamp_must_be_within_an_hour(skew: timedelta, ok: bool) -> None:
    now = VECTOR_NOW + skew
    if ok:
        verify_sign(VECTOR_SECRET, VECTOR_TIMESTAMP, VECTOR_SIGN, now)
    else:
        error = _rejected(verify_sign, VECTOR_SECRET, VECTOR_TIMESTAMP, VECTOR_SIGN, now)
        assert (error.status, error.reason) == (403, "stale timestamp")


def test_oversized_body_is_413() -> None:
    payload = callback_payload(text="签到", created_at=NOW)
    payload["padding"] = "x" * MAX_CALLBACK_BYTES
    headers, body = signed_callback(APP_SECRET, payload, NOW)
    assert _rejected(verify_and_decode, APP_SECRET, headers, body, NOW).status == 413


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b"\xff\xfe", b"", b'"text"', b"null"])
def test_malformed_json_is_400(body: bytes) -> None:
    assert _rejected(parse_body, body).status == 400


@pytest.mark.parametrize(
    "field", ["msgId", "conversationId", "createAt", "msgtype", "text", "senderId"]
)
def test_missing_field_is_400(field: str) -> None:
    payload = callback_payload(text="签到", created_at=NOW, sender_staff_id=None)
    del payload[field]
    error = _rejected(decode_message, payload)
    assert error.status == 400
    assert "missing field" in error.reason


def test_signed_group_message_decodes() -> None:
    payload = callback_payload(
        text="签到",
        created_at=NOW,
        msg_id="msgABC",
        session_webhook="https://oapi.dingtalk.com/robot/sendBySession?session=s1",
    )
    headers, body = signed_callback(APP_SECRET, payload, NOW + timedelta(seconds=3))
    message = verify_and_decode(APP_SECRET, headers, body, NOW + timedelta(seconds=4))
    assert message is not None
    assert message.platform == "dingtalk"
    assert message.message_id == "msgABC"
    assert message.chat_id == "cidGroupA=="
    assert message.chat_title == "第一党支部"
    assert message.sender_id == "staff001"
    assert message.sender_name == "张三"
    assert message.text == "签到"
    assert message.sent_at == NOW
    assert message.mentions == ()
    expires = int(NOW.timestamp() * 1000) + 90 * 60 * 1000
    assert message.routes == {
        "session_webhook": "https://oapi.dingtalk.com/robot/sendBySession?session=s1",
        "session_webhook_expires": str(expires),
        "robot_code": "dingfakeappkey",
        "open_conversation_id": "cidGroupA==",
        "conversation_type": "2",
    }


def test_forged_callback_is_rejected_before_decoding() -> None:
    payload = callback_payload(text="签到", created_at=NOW)
    headers, body = signed_callback("a different secret", payload, NOW)
    assert _rejected(verify_and_decode, APP_SECRET, headers, body, NOW).status == 403


def test_single_chat_has_no_open_conversation_and_falls_back_to_sender_id() -> None:
    payload = callback_payload(
        text="我的台账", created_at=NOW, group=False, sender_staff_id=None, conversation_id="cidP"
    )
    message = decode_message(payload)
    assert message is not None
    assert message.sender_id == "$:LWCP_v1:$sender001"
    assert message.chat_title is None
    assert message.routes["conversation_type"] == "1"
    assert "open_conversation_id" not in message.routes
    assert message.text == "我的台账"


def test_mentions_exclude_the_robot_and_leading_mentions_are_stripped() -> None:
    payload = callback_payload(text="", created_at=NOW, at_staff_ids=("staff007", "staff008"))
    payload["atUsers"][0]["staffId"] = "robotStaffId"  # in case the robot's entry carries one
    payload["text"]["content"] = "\u2005@李四 @王五\u2005 添加成员 李四 第一党小组 "
    message = decode_message(payload)
    assert message is not None
    assert message.mentions == ("staff007", "staff008")
    assert message.text == "添加成员 李四 第一党小组"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (" 签到", "签到"),
        ("@机器人 已学习", "已学习"),
        ("  @a @b 请假 出差", "请假 出差"),
        ("请假 @张三", "请假 @张三"),
        ("签到@机器人", "签到@机器人"),
    ],
)
def test_strip_leading_mentions(content: str, expected: str) -> None:
    assert strip_leading_mentions(content) == expected


def test_rich_text_joins_its_text_parts() -> None:
    payload = callback_payload(text="", created_at=NOW)
    del payload["text"]
    payload["msgtype"] = "richText"
    payload["content"] = {
        "richText": [
            {"text": " 志愿服务 "},
            {"text": "2小时"},
            {"type": "picture", "downloadCode": "dc1", "pictureDownloadCode": "p1"},
            {"text": "社区献血"},
        ]
    }
    message = decode_message(payload)
    assert message is not None
    assert message.text == "志愿服务 2小时\n社区献血"


def test_rich_text_as_json_string_and_picture_only() -> None:
    payload = callback_payload(text="", created_at=NOW)
    payload["msgtype"] = "richText"
    payload["content"] = json.dumps({"richText": [{"text": "已学习"}]})
    message = decode_message(payload)
    assert message is not None
    assert message.text == "已学习"
    payload["content"] = {"richText": [{"type": "picture", "downloadCode": "dc"}]}
    assert decode_message(payload) is None


@pytest.mark.parametrize("msgtype", ["picture", "file", "audio", "video", "unknownType"])
def test_non_text_messages_are_ignored(msgtype: str) -> None:
    payload = callback_payload(text="", created_at=NOW)
    payload["msgtype"] = msgtype
    del payload["text"]
    payload["content"] = {"downloadCode": "dc"}
    assert decode_message(payload) is None
