"""DingTalk Stream wire pieces: the open-connection request, frame parsing, acks and backoff.

Frame parsing and ack bodies come from the `dingtalk-stream` SDK's frame models (the format its
server side expects); nothing here does I/O. See `dingtalk_stream.py` for the connection itself.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dingtalk_stream import AckMessage, CallbackMessage, ChatbotMessage, EventMessage, SystemMessage
from dingtalk_stream.version import VERSION_STRING

OPEN_PATH = "/v1.0/gateway/connections/open"
BOT_TOPIC: str = ChatbotMessage.TOPIC  # "/v1.0/im/bot/messages/get"
PING_TOPIC = "ping"
DISCONNECT_TOPIC: str = SystemMessage.TOPIC_DISCONNECT
SYSTEM: str = SystemMessage.TYPE
EVENT: str = EventMessage.TYPE
CALLBACK: str = CallbackMessage.TYPE
USER_AGENT = f"zhibu dingtalk-stream-sdk-python/{VERSION_STRING}"

_MODELS: dict[str, Any] = {SYSTEM: SystemMessage, EVENT: EventMessage, CALLBACK: CallbackMessage}


class FrameError(ValueError):
    """A frame that is not JSON, not an object, of an unknown type or with a bad `data`."""


@dataclass(frozen=True)
class Frame:
    """One frame from the server: its type, topic, message id and decoded `data`."""

    type: str
    topic: str
    message_id: str
    data: dict[str, Any] = field(default_factory=dict)


def open_request(app_key: str, app_secret: str, local_ip: str) -> dict[str, Any]:
    """The body of POST /v1.0/gateway/connections/open, subscribing to robot messages only."""
    return {
        "clientId": app_key,
        "clientSecret": app_secret,
        "subscriptions": [{"type": CALLBACK, "topic": BOT_TOPIC}],
        "ua": USER_AGENT,
        "localIp": local_ip,
    }


def parse_frame(raw: str | bytes) -> Frame:
    """Parse a server frame with the SDK's models; raise FrameError when it is unusable."""
    try:
        decoded = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise FrameError("frame is not JSON") from exc
    if not isinstance(decoded, dict):
        raise FrameError("frame is not a JSON object")
    frame_type = decoded.get("type")
    model = _MODELS.get(frame_type) if isinstance(frame_type, str) else None
    if model is None:
        raise FrameError(f"unknown frame type {str(frame_type)[:40]!r}")
    if not isinstance(decoded.get("headers", {}), dict):
        raise FrameError("frame headers are not an object")
    try:
        parsed = model.from_dict(decoded)
    except (TypeError, ValueError, AttributeError) as exc:
        raise FrameError("frame data is not JSON") from exc
    data = parsed.data if isinstance(parsed.data, dict) else {}
    return Frame(
        type=str(frame_type),
        topic=str(parsed.headers.topic or ""),
        message_id=str(parsed.headers.message_id or ""),
        data=data,
    )


def _ack(message_id: str, message: str, data: dict[str, Any]) -> str:
    ack = AckMessage()
    ack.code = AckMessage.STATUS_OK
    ack.headers.message_id = message_id
    ack.headers.content_type = "application/json"
    ack.message = message
    ack.data = data
    return json.dumps(ack.to_dict(), ensure_ascii=False)


def callback_ack(message_id: str) -> str:
    """The ack of a robot message: code 200, `data` `{"response": null}`."""
    return _ack(message_id, "OK", {"response": None})


def event_ack(message_id: str) -> str:
    """The ack of an EVENT frame: `data` `{"status": "SUCCESS"}` so it is not redelivered."""
    return _ack(message_id, "OK", {"status": "SUCCESS"})


def system_ack(frame: Frame) -> str:
    """The answer to a SYSTEM frame (ping): its `data`, `opaque` included, echoed back."""
    return _ack(frame.message_id, "OK", frame.data)


class Backoff:
    """Reconnect delays: `initial` doubling to `cap`, forever; each with equal jitter."""

    def __init__(
        self, initial: float = 1.0, cap: float = 30.0, rand: Callable[[], float] = random.random
    ) -> None:
        if initial <= 0 or cap < initial:
            raise ValueError("backoff needs 0 < initial <= cap")
        self._initial = initial
        self._cap = cap
        self._rand = rand
        self._current = initial

    @property
    def current(self) -> float:
        """The un-jittered delay the next call to `next` is based on."""
        return self._current

    def next(self) -> float:
        """Return the next delay, in [current/2, current], and double the base (up to the cap)."""
        delay = self._current * (0.5 + 0.5 * self._rand())
        self._current = min(self._cap, self._current * 2)
        return delay

    def reset(self) -> None:
        """Start again from the initial delay (after a connection that worked)."""
        self._current = self._initial
