"""DingTalk robot callbacks: verify the `timestamp`/`sign` headers and decode the JSON body.

Pure functions; the caller passes the current time. The body format is the same for the HTTP
callback and for Stream mode (`data` of a `/v1.0/im/bot/messages/get` frame), so
`decode_message` serves both.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

from bot.message import Message
from bot.platforms.base import MAX_CALLBACK_BYTES, CallbackRejectedError

PLATFORM = "dingtalk"
MAX_CLOCK_SKEW = timedelta(hours=1)
GROUP_CONVERSATION = "2"
SINGLE_CONVERSATION = "1"

# Leading @-mentions DingTalk leaves in text.content (the robot's own is usually already gone,
# leaving a space or U+2005); the handlers' normaliser drops the same tokens.
_LEADING_MENTIONS = re.compile(r"^\s*(?:@\S+\s+)*")
_DIGITS = re.compile(r"^[0-9]{1,16}$")
_NO_CONTENT_TYPES = frozenset({"picture", "file", "audio", "video"})


def compute_sign(app_secret: str, timestamp: str) -> str:
    """Return base64(HMAC-SHA256(appSecret, timestamp + "\\n" + appSecret)), as DingTalk signs."""
    digest = hmac.new(
        app_secret.encode("utf-8"),
        f"{timestamp}\n{app_secret}".encode(),
        hashlib.sha256,
    ).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_sign(app_secret: str, timestamp: str | None, sign: str | None, now: datetime) -> None:
    """Raise CallbackRejectedError (403) unless the headers were signed with the secret lately."""
    if not timestamp or not sign:
        raise CallbackRejectedError(403, "missing timestamp or sign")
    if not _DIGITS.match(timestamp):
        raise CallbackRejectedError(403, "bad timestamp")
    # Base64 never contains '%': a URL-encoded sign can be decoded without ambiguity.
    candidate = unquote(sign) if "%" in sign else sign
    expected = compute_sign(app_secret, timestamp)
    if not hmac.compare_digest(candidate.encode("utf-8"), expected.encode("ascii")):
        raise CallbackRejectedError(403, "bad sign")
    sent = datetime.fromtimestamp(int(timestamp) / 1000, UTC)
    if abs(now - sent) > MAX_CLOCK_SKEW:
        raise CallbackRejectedError(403, "stale timestamp")


def parse_body(body: bytes) -> dict[str, Any]:
    """Return the body as a JSON object; 413 when too large, 400 when not a JSON object."""
    if len(body) > MAX_CALLBACK_BYTES:
        raise CallbackRejectedError(413, "body too large")
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise CallbackRejectedError(400, "malformed JSON") from exc
    if not isinstance(payload, dict):
        raise CallbackRejectedError(400, "body is not a JSON object")
    return payload


def strip_leading_mentions(content: str) -> str:
    """Drop leading whitespace and @-mentions from a message text."""
    return _LEADING_MENTIONS.sub("", content, count=1).strip()


def decode_message(payload: Mapping[str, Any]) -> Message | None:
    """Turn a robot message body into a Message; None for types the bot ignores (pictures…)."""
    msgtype = _text_field(payload, "msgtype")
    if msgtype in _NO_CONTENT_TYPES:
        return None
    if msgtype == "text":
        content = _text_content(payload)
    elif msgtype == "richText":
        joined = _rich_text(payload)
        if joined is None:
            return None
        content = joined
    else:
        return None
    conversation_id = _text_field(payload, "conversationId")
    sender_id = _optional_text(payload, "senderStaffId") or _text_field(payload, "senderId")
    conversation_type = _optional_text(payload, "conversationType") or GROUP_CONVERSATION
    robot_code = _optional_text(payload, "robotCode")
    return Message(
        platform=PLATFORM,
        message_id=_text_field(payload, "msgId"),
        chat_id=conversation_id,
        sender_id=sender_id,
        text=strip_leading_mentions(content),
        sent_at=_ms_time(payload.get("createAt"), "createAt"),
        sender_name=_optional_text(payload, "senderNick"),
        chat_title=_optional_text(payload, "conversationTitle"),
        mentions=_mentions(payload),
        routes=_routes(payload, conversation_id, conversation_type, robot_code),
    )


def verify_and_decode(
    app_secret: str, headers: Mapping[str, str], body: bytes, now: datetime
) -> Message | None:
    """Verify the signed headers, then decode the body (None for ignored message types)."""
    verify_sign(app_secret, headers.get("timestamp"), headers.get("sign"), now)
    return decode_message(parse_body(body))


def _text_field(payload: Mapping[str, Any], name: str) -> str:
    value = payload.get(name)
    if not isinstance(value, str) or not value:
        raise CallbackRejectedError(400, f"missing field {name}")
    return value


def _optional_text(payload: Mapping[str, Any], name: str) -> str | None:
    value = payload.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value if isinstance(value, str) and value else None


def _text_content(payload: Mapping[str, Any]) -> str:
    text = payload.get("text")
    content = text.get("content") if isinstance(text, dict) else None
    if not isinstance(content, str):
        raise CallbackRejectedError(400, "missing field text.content")
    return content


def _rich_text(payload: Mapping[str, Any]) -> str | None:
    """Join the text parts of a richText body; a picture between parts starts a new line."""
    content = payload.get("content")
    if isinstance(content, str):  # some senders put the object in as a JSON string
        try:
            content = json.loads(content)
        except ValueError as exc:
            raise CallbackRejectedError(400, "malformed richText") from exc
    items = content.get("richText") if isinstance(content, dict) else None
    if not isinstance(items, list):
        raise CallbackRejectedError(400, "missing field content.richText")
    runs: list[str] = []
    current: list[str] = []
    for item in items:
        text = item.get("text") if isinstance(item, dict) else None
        if isinstance(text, str):
            current.append(text)
        elif current:
            runs.append("".join(current))
            current = []
    if current:
        runs.append("".join(current))
    joined = "\n".join(run for run in runs if run.strip())
    return joined or None


def _ms_time(value: Any, name: str) -> datetime:
    if isinstance(value, str) and _DIGITS.match(value):
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise CallbackRejectedError(400, f"missing field {name}")
    try:
        return datetime.fromtimestamp(value / 1000, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise CallbackRejectedError(400, f"bad field {name}") from exc


def _mentions(payload: Mapping[str, Any]) -> tuple[str, ...]:
    """Staff ids of the @-mentioned users, without the robot itself."""
    robot_id = payload.get("chatbotUserId")
    at_users = payload.get("atUsers")
    if not isinstance(at_users, list):
        return ()
    found: list[str] = []
    for user in at_users:
        if not isinstance(user, dict) or (robot_id and user.get("dingtalkId") == robot_id):
            continue
        staff_id = user.get("staffId")
        if isinstance(staff_id, str) and staff_id and staff_id not in found:
            found.append(staff_id)
    return tuple(found)


def _routes(
    payload: Mapping[str, Any],
    conversation_id: str,
    conversation_type: str,
    robot_code: str | None,
) -> dict[str, str]:
    routes = {"conversation_type": conversation_type}
    webhook = _optional_text(payload, "sessionWebhook")
    expires = _optional_text(payload, "sessionWebhookExpiredTime")
    if webhook and expires and _DIGITS.match(expires):
        routes["session_webhook"] = webhook
        routes["session_webhook_expires"] = expires
    if robot_code:
        routes["robot_code"] = robot_code
    if conversation_type == GROUP_CONVERSATION:
        routes["open_conversation_id"] = conversation_id
    return routes
