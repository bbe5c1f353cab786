"""A fake WeCom: the webhook send API on loopback, and callbacks encrypted the way WeCom does.

The callback builder uses wechatpy's own crypto (not the adapter's), so tests of the adapter
check it against an independent implementation of the protocol.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import xml.etree.ElementTree as ET
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from wechatpy.crypto import _get_signature
from wechatpy.enterprise.crypto import PrpCrypto, WeChatCrypto

from tests.fakes.http import FakeServer, Recorded, Scripted

SEND_PATH = "/cgi-bin/webhook/send"
UPLOAD_PATH = "/cgi-bin/webhook/upload_media"
OK = {"errcode": 0, "errmsg": "ok"}
RATE_LIMITED = Scripted(200, {"errcode": 45009, "errmsg": "api freq out of limit"})
INVALID_KEY = Scripted(200, {"errcode": 93000, "errmsg": "invalid webhook url"})
BUSY = Scripted(200, {"errcode": -1, "errmsg": "system busy"})
SERVER_ERROR = Scripted(500, {"error": "internal"})
DROPPED = Scripted(drop=True)
PASS = None  # in a fail_next script: answer this request normally


def slow(seconds: float) -> Scripted:
    """An answer that arrives only after `seconds` (longer than the client's timeout)."""
    return Scripted(200, OK, delay=seconds)


@dataclass(frozen=True)
class Upload:
    """A file uploaded through `webhook/upload_media`."""

    key: str
    media_id: str
    filename: str | None
    data: bytes
    type: str


class FakeWeCom:
    """`POST /cgi-bin/webhook/send?key=…` on 127.0.0.1: checks keys, records texts per key.

    Also `webhook/upload_media?key=…&type=file` (multipart field `media`, recorded in `uploads`),
    and `file` (known media_id) / `image` (base64 whose md5 matches) messages.
    """

    def __init__(self, *keys: str) -> None:
        self.server = FakeServer()
        self.keys = set(keys)
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self.uploads: list[Upload] = []
        self._script: deque[Scripted | None] = deque()
        self._lock = threading.Lock()
        self.server.route("POST", SEND_PATH, self._send)
        self.server.route("POST", UPLOAD_PATH, self._upload)

    def __enter__(self) -> FakeWeCom:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    @property
    def base_url(self) -> str:
        """The fake's http://127.0.0.1:PORT, to use as the sender's api_base."""
        return self.server.base_url

    def reset(self) -> None:
        """Forget recorded messages, requests and scripted answers (keys stay)."""
        with self._lock:
            self.messages.clear()
            self._script.clear()
            self.server.requests.clear()

    def fail_next(self, *answers: Scripted | None) -> None:
        """Answer the next sends with these (`PASS` = normally), then normally again."""
        with self._lock:
            self._script.extend(answers)

    def sent(self, key: str) -> list[dict[str, Any]]:
        """Message bodies accepted for `key`, in order."""
        with self._lock:
            return list(self.messages.get(key, []))

    def texts(self, key: str) -> list[str]:
        """The text contents accepted for `key`, in order."""
        return [m["text"]["content"] for m in self.sent(key) if m.get("msgtype") == "text"]

    def attempts(self) -> list[Recorded]:
        """Every request to the send API, accepted or not."""
        return self.server.received(SEND_PATH)

    def upload_attempts(self) -> list[Recorded]:
        """Every request to the upload API, accepted or not."""
        return self.server.received(UPLOAD_PATH)

    def fail_uploads(self, *answers: Scripted) -> None:
        """Answer the next uploads with these, then normally."""
        self.server.fail_next(UPLOAD_PATH, *answers)

    def of_type(self, key: str, msgtype: str) -> list[dict[str, Any]]:
        """Accepted messages of one msgtype for `key`."""
        return [m for m in self.sent(key) if m.get("msgtype") == msgtype]

    def media(self, media_id: str) -> Upload:
        """The upload a media_id names."""
        with self._lock:
            return next(u for u in self.uploads if u.media_id == media_id)

    def _upload(self, request: Recorded) -> Scripted:
        key = request.query.get("key", "")
        if key not in self.keys:
            return INVALID_KEY
        if request.query.get("type") not in {"file", "voice"}:
            return Scripted(200, {"errcode": 40004, "errmsg": "invalid media type"})
        media = request.form().get("media")
        if media is None or len(media[1]) < 5:
            return Scripted(200, {"errcode": 40005, "errmsg": "invalid file"})
        with self._lock:
            media_id = f"MEDIA{len(self.uploads) + 1}"
            self.uploads.append(Upload(key, media_id, media[0], media[1], "file"))
        body = {"errcode": 0, "errmsg": "ok", "type": "file", "media_id": media_id}
        return Scripted(200, body | {"created_at": "1380000000"})

    def _bad_media(self, body: dict[str, Any]) -> Scripted | None:
        if body.get("msgtype") == "file":
            media_id = body.get("file", {}).get("media_id")
            with self._lock:
                known = any(u.media_id == media_id for u in self.uploads)
            if not known:
                return Scripted(200, {"errcode": 40007, "errmsg": "invalid media_id"})
        if body.get("msgtype") == "image":
            image = body.get("image", {})
            try:
                data = base64.b64decode(image.get("base64", ""), validate=True)
            except ValueError:
                return Scripted(200, {"errcode": 40009, "errmsg": "invalid image"})
            if hashlib.md5(data, usedforsecurity=False).hexdigest() != image.get("md5"):
                return Scripted(200, {"errcode": 40009, "errmsg": "image md5 mismatch"})
        return None

    def _send(self, request: Recorded) -> Scripted:
        with self._lock:
            if self._script:
                scripted = self._script.popleft()
                if scripted is not None:
                    return scripted
        key = request.query.get("key", "")
        if key not in self.keys:
            return INVALID_KEY
        try:
            body = request.json()
        except ValueError:
            return Scripted(200, {"errcode": 40001, "errmsg": "invalid json"})
        content = body.get("text", {}).get("content", "")
        if body.get("msgtype") == "text" and len(content.encode("utf-8")) > 2048:
            return Scripted(200, {"errcode": 40058, "errmsg": "content exceed max length"})
        bad = self._bad_media(body)
        if bad is not None:
            return bad
        with self._lock:
            self.messages.setdefault(key, []).append(body)
        return Scripted(200, OK)


class WeComCallbacks:
    """Builds callbacks as WeCom sends them (ReceiveId "" for robots) and opens the replies."""

    def __init__(self, token: str, aes_key: str, receive_id: str = "") -> None:
        self.token = token
        self.aes_key = aes_key
        self.receive_id = receive_id
        self._wechat = WeChatCrypto(token, aes_key, receive_id)
        self._nonce = 1000

    def _next_nonce(self) -> str:
        self._nonce += 1
        return str(self._nonce)

    def encrypt(self, plaintext: str) -> str:
        """Encrypt like WeCom (wechatpy's implementation)."""
        return str(PrpCrypto(self._wechat.key).encrypt(plaintext, self.receive_id).decode())

    def sign(self, timestamp: str, nonce: str, encrypt: str) -> str:
        """msg_signature over these values (wechatpy's implementation)."""
        return str(_get_signature(self.token, timestamp, nonce, encrypt))

    def verification(self, echo: str, at: datetime) -> dict[str, str]:
        """Query parameters of a GET URL verification whose answer is `echo`."""
        timestamp, nonce = str(int(at.timestamp())), self._next_nonce()
        echostr = self.encrypt(echo)
        return {
            "msg_signature": self.sign(timestamp, nonce, echostr),
            "timestamp": timestamp,
            "nonce": nonce,
            "echostr": echostr,
        }

    def json_callback(self, payload: dict[str, Any], at: datetime) -> tuple[dict[str, str], bytes]:
        """(query, body) of an AI-bot (or JSON-mode robot) POST carrying `payload`."""
        timestamp, nonce = str(int(at.timestamp())), self._next_nonce()
        encrypt = self.encrypt(json.dumps(payload, ensure_ascii=False))
        query = {"msg_signature": self.sign(timestamp, nonce, encrypt)}
        query |= {"timestamp": timestamp, "nonce": nonce}
        return query, json.dumps({"encrypt": encrypt}).encode()

    def card_tap(
        self, event_key: str, task_id: str, at: datetime, **fields: Any
    ) -> tuple[dict[str, str], bytes]:
        """(query, body) of an encrypted AI-bot button tap (see `ai_bot_card_tap`)."""
        return self.json_callback(ai_bot_card_tap(event_key, task_id, **fields), at)

    def xml_callback(self, plaintext: str, at: datetime) -> tuple[dict[str, str], bytes]:
        """(query, body) of a group-robot XML POST carrying the XML `plaintext`."""
        timestamp, nonce = str(int(at.timestamp())), self._next_nonce()
        encrypt = self.encrypt(plaintext)
        query = {"msg_signature": self.sign(timestamp, nonce, encrypt)}
        query |= {"timestamp": timestamp, "nonce": nonce}
        body = f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
        return query, body.encode()

    def open_json_reply(self, body: bytes) -> dict[str, Any]:
        """Verify and decrypt an encrypted JSON passive reply; return its plaintext object."""
        envelope = json.loads(body)
        plain = self._wechat.check_signature(
            envelope["msgsignature"], envelope["timestamp"], envelope["nonce"], envelope["encrypt"]
        )
        decoded: dict[str, Any] = json.loads(plain)
        return decoded

    def open_xml_reply(self, body: bytes) -> ET.Element:
        """Verify and decrypt an encrypted XML passive reply; return its plaintext root."""
        envelope = ET.fromstring(body)
        plain = self._wechat.decrypt_message(
            body,
            envelope.findtext("MsgSignature"),
            envelope.findtext("TimeStamp"),
            envelope.findtext("Nonce"),
        )
        return ET.fromstring(plain)


def ai_bot_text(
    content: str,
    *,
    msgid: str = "MSG-1",
    userid: str = "zhangsan",
    chatid: str | None = "wrkGROUP1",
    response_url: str
    | None = "https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=RC",
) -> dict[str, Any]:
    """An AI-bot text callback payload (100719); chatid None makes it a single chat."""
    payload: dict[str, Any] = {
        "msgid": msgid,
        "aibotid": "AIBOTID",
        "chattype": "group" if chatid else "single",
        "from": {"userid": userid},
        "msgtype": "text",
        "text": {"content": content},
    }
    if chatid:
        payload["chatid"] = chatid
    if response_url:
        payload["response_url"] = response_url
    return payload


def robot_xml_text(
    content: str,
    *,
    msgid: str = "abcdabcdabcd",
    userid: str = "zhangsan",
    name: str = "张三",
    chatid: str = "wrkSFfCgAALFgnrSsWU38puiv4yvExuw",
    chattype: str = "group",
    webhook_url: str = "http://in.qyapi.weixin.qq.com/cgi-bin/webhook/send?key=WEBHOOK",
) -> str:
    """A group-robot XML text callback plaintext (doc 99399)."""
    return (
        f"<xml><WebhookUrl><![CDATA[{webhook_url}]]></WebhookUrl><MsgId>{msgid}</MsgId>"
        f"<ChatId><![CDATA[{chatid}]]></ChatId><ChatType>{chattype}</ChatType>"
        f"<From><UserId>{userid}</UserId><Name><![CDATA[{name}]]></Name>"
        "<Alias><![CDATA[alias]]></Alias></From>"
        "<GetChatInfoUrl><![CDATA[https://qyapi.weixin.qq.com/cgi-bin/webhook/get_chat_info?code=C]]>"
        "</GetChatInfoUrl>"
        f"<MsgType>text</MsgType><Text><Content><![CDATA[{content}]]></Content></Text></xml>"
    )


def ai_bot_card_tap(
    event_key: str,
    task_id: str,
    *,
    msgid: str = "TAP-1",
    userid: str = "zhangsan",
    chatid: str | None = "wrkGROUP1",
    flat: bool = False,
) -> dict[str, Any]:
    """An AI-bot `template_card_event` (a button tap) payload (101027), as the HTTP callback and
    the long connection's `aibot_event_callback` carry it; `flat` puts the fields directly under
    `event` (the Python SDK's type hints) instead of the documented nested form."""
    fields = {"card_type": "button_interaction", "event_key": event_key, "task_id": task_id}
    event: dict[str, Any] = {"eventtype": "template_card_event"}
    if flat:
        event |= fields
    else:
        event["template_card_event"] = fields
    payload: dict[str, Any] = {
        "msgid": msgid,
        "create_time": 1700000000,
        "aibotid": "AIBOTID",
        "chattype": "group" if chatid else "single",
        "from": {"userid": userid},
        "response_url": "https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=TAP",
        "msgtype": "event",
        "event": event,
    }
    if chatid:
        payload["chatid"] = chatid
    return payload
