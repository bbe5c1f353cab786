"""WeCom AI-bot long-connection frames: commands, request ids, frame building and ack outcomes.

Every frame is JSON `{"cmd", "headers": {"req_id"}, "body"}`; the server acknowledges a request
with `{"headers": {"req_id"}, "errcode", "errmsg"}` carrying the same req_id. Pure functions.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from bot.platforms.base import Outcome, SendResult

SUBSCRIBE = "aibot_subscribe"
PING = "ping"
MSG_CALLBACK = "aibot_msg_callback"
EVENT_CALLBACK = "aibot_event_callback"
RESPOND_MSG = "aibot_respond_msg"
RESPOND_UPDATE_MSG = "aibot_respond_update_msg"
SEND_MSG = "aibot_send_msg"

DISCONNECTED_EVENT = "disconnected_event"
TEMPLATE_CARD_EVENT = "template_card_event"
THROTTLED_WAIT = 60.0

NOT_CONNECTED = "企业微信长连接未连接"
ACK_TIMEOUT = "企业微信长连接未确认发送（超时）"
CONNECTION_LOST = "企业微信长连接已断开"


def new_req_id(prefix: str) -> str:
    """A request id like the official SDK's: `prefix_<ms>_<8 hex>`."""
    return f"{prefix}_{int(time.time() * 1000)}_{secrets.token_hex(4)}"


def frame(cmd: str, req_id: str, body: dict[str, Any] | None = None) -> str:
    """Serialise one request frame (UTF-8 text, Chinese unescaped)."""
    data: dict[str, Any] = {"cmd": cmd, "headers": {"req_id": req_id}}
    if body is not None:
        data["body"] = body
    return json.dumps(data, ensure_ascii=False)


def decode(raw: str | bytes) -> dict[str, Any] | None:
    """Parse an incoming frame; None for anything that is not a JSON object."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    return data if isinstance(data, dict) else None


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def req_id_of(data: dict[str, Any]) -> str:
    """The frame's `headers.req_id`, or ""."""
    value = _obj(data.get("headers")).get("req_id")
    return value if isinstance(value, str) else ""


def body_of(data: dict[str, Any]) -> dict[str, Any]:
    """The frame's body object ({} when missing)."""
    return _obj(data.get("body"))


def event_type(data: dict[str, Any]) -> str:
    """`body.event.eventtype` of an event callback, or ""."""
    value = _obj(body_of(data).get("event")).get("eventtype")
    return value if isinstance(value, str) else ""


def errcode(ack: dict[str, Any]) -> int | None:
    """The ack's integer errcode; None when missing or not an integer."""
    code = ack.get("errcode")
    return code if isinstance(code, int) and not isinstance(code, bool) else None


def errmsg(ack: dict[str, Any]) -> str:
    """The ack's errmsg, shortened for logs and outbox errors."""
    return str(ack.get("errmsg") or "")[:100]


def markdown_body(chat_id: str, text: str) -> dict[str, Any]:
    """An `aibot_send_msg` body: markdown to a group chatid or (single chats) a userid."""
    return {
        "chatid": chat_id.removeprefix("single:"),
        "msgtype": "markdown",
        "markdown": {"content": text},
    }


def stream_body(stream_id: str, content: str) -> dict[str, Any]:
    """An `aibot_respond_msg` body: one finished stream."""
    return {"msgtype": "stream", "stream": {"id": stream_id, "finish": True, "content": content}}


def push_result(ack: dict[str, Any]) -> SendResult:
    """Map an `aibot_send_msg` ack to an outbox outcome."""
    code = errcode(ack)
    if code is None:
        return SendResult(Outcome.RETRY, "企业微信返回了无法识别的确认")
    if code == 0:
        return SendResult(Outcome.SENT)
    if 45000 <= code < 46000:  # 45009 api freq out of limit, and its kin
        return SendResult(Outcome.RETRY, f"企业微信限流（{code}）", retry_after=THROTTLED_WAIT)
    if code == -1:
        return SendResult(Outcome.RETRY, "企业微信系统繁忙（-1）")
    return SendResult(Outcome.PERMANENT, f"企业微信拒绝推送（{code}：{errmsg(ack)}）")
