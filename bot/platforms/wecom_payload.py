"""Decrypted WeCom payloads: AI-bot JSON and group-robot XML/JSON in, passive-reply plaintexts out.

Pure functions, no crypto and no HTTP. A payload becomes an `Inbound`: a `Message` for text the
ledger should see, or nothing for events, stream refreshes and media without text.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.message import Message
from bot.platforms.base import CallbackRejectedError

PLATFORM = "wecom"
# A leading @-mention: "@name" then whitespace (WeCom puts U+2005 after a picked mention).
_LEADING_MENTION = re.compile(r"^\s*@\S+(?:\s+|$)")
_XML_FORBIDDEN = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
TEMPLATE_CARD_EVENT = "template_card_event"


class Wire(StrEnum):
    """Which WeCom callback flavour a request came in, which decides the reply's shape."""

    AIBOT = "aibot"  # 智能机器人: JSON, stream replies
    ROBOT_XML = "robot_xml"  # 群机器人 (beta): XML, text replies
    ROBOT_JSON = "robot_json"  # 群机器人 with robot_callback_format=json


class Kind(StrEnum):
    """What a decoded callback asks of the bot."""

    MESSAGE = "message"  # hand to the inbox, reply with its answers
    TAP = "tap"  # AI-bot card button tap: hand to the inbox, answer by updating the card
    STREAM = "stream"  # AI-bot stream refresh: answer a finished stream
    EVENT = "event"  # enter_chat, add_to_chat, feedback: answer empty
    IGNORED = "ignored"  # images, files, unknown types: answer empty


@dataclass(frozen=True)
class Inbound:
    """A verified, decoded callback."""

    wire: Wire
    kind: Kind
    message: Message | None = None
    stream_id: str | None = None

    @property
    def dispatched(self) -> bool:
        """True when the callback carries a message for the inbox (typed, or a card tap)."""
        return self.kind in (Kind.MESSAGE, Kind.TAP) and self.message is not None


def strip_mention(text: str) -> str:
    """Drop the leading @-mention (the bot's name) and surrounding whitespace."""
    return _LEADING_MENTION.sub("", text, count=1).strip()


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value.strip() if isinstance(value, str) else ""


def _json_text(data: dict[str, Any], msgtype: str) -> str | None:
    """The sender's own text of a JSON payload (quoted messages are not theirs), or None."""
    if msgtype in ("text", "voice"):
        content = _obj(data.get(msgtype)).get("content")
        return content if isinstance(content, str) else None
    if msgtype == "mixed":
        items = _obj(data.get("mixed") or data.get("mixed_message")).get("msg_item")
        texts = [
            _obj(item.get("text")).get("content")
            for item in (items if isinstance(items, list) else [])
            if isinstance(item, dict) and (item.get("msgtype") or item.get("msg_type")) == "text"
        ]
        parts = [t for t in texts if isinstance(t, str) and t.strip()]
        return "\n".join(parts) if parts else None
    return None


def _message(
    *,
    msgid: str,
    chattype: str,
    chatid: str,
    userid: str,
    text: str,
    now: datetime,
    name: str | None,
    routes: dict[str, str],
    via_card: str | None = None,
) -> Message:
    if not msgid or not userid:
        raise CallbackRejectedError(400, "message without msgid or sender")
    if chattype == "single" or not chatid:
        chatid = f"single:{userid}"
    return Message(
        platform=PLATFORM,
        message_id=msgid,
        chat_id=chatid,
        sender_id=userid,
        text=text if via_card else strip_mention(text),
        sent_at=now,
        sender_name=name or None,
        routes=routes,
        reply_inline=True,
        via_card=via_card,
    )


def _first_str(data: dict[str, Any], *names: str) -> str:
    for name in names:
        if value := _str(data.get(name)):
            return value
    return ""


def _tap(data: dict[str, Any], wire: Wire, routes: dict[str, str], now: datetime) -> Inbound:
    """A `template_card_event` (button tap) as the message its button's key stands for.

    The official form nests the fields under `event.template_card_event`; SDK type hints show
    them flat under `event`, and the docs' field tables spell them `eventkey`/`taskid`: all read.
    """
    event = _obj(data.get("event"))
    nested = _obj(event.get("template_card_event"))
    event_key = _first_str(nested, "event_key", "eventkey") or _first_str(
        event, "event_key", "eventkey"
    )
    task_id = _first_str(nested, "task_id", "taskid") or _first_str(event, "task_id", "taskid")
    if not event_key or not task_id:
        raise CallbackRejectedError(400, "card event without event_key or task_id")
    message = _message(
        msgid=_str(data.get("msgid")),
        chattype=_str(data.get("chattype")),
        chatid=_str(data.get("chatid")),
        userid=_str(_obj(data.get("from")).get("userid")),
        text=event_key,
        now=now,
        name=None,
        routes=routes,
        via_card=task_id,
    )
    return Inbound(wire, Kind.TAP, message=message)


def parse_json(plaintext: str, now: datetime) -> Inbound:
    """Decode a decrypted JSON payload (AI bot, or group robot in JSON mode)."""
    try:
        data = json.loads(plaintext)
    except (ValueError, RecursionError) as exc:
        raise CallbackRejectedError(400, "decrypted payload is not JSON") from exc
    if not isinstance(data, dict):
        raise CallbackRejectedError(400, "decrypted payload is not a JSON object")
    webhook_url = _str(data.get("webhook_url"))
    wire = Wire.ROBOT_JSON if webhook_url and "aibotid" not in data else Wire.AIBOT
    msgtype = _str(data.get("msgtype"))
    if msgtype == "stream":
        return Inbound(wire, Kind.STREAM, stream_id=_str(_obj(data.get("stream")).get("id")))
    routes = {"webhook_url": webhook_url} if webhook_url else {}
    if response_url := _str(data.get("response_url")):
        routes["response_url"] = response_url
    if msgtype == "event":
        if _str(_obj(data.get("event")).get("eventtype")) == TEMPLATE_CARD_EVENT:
            return _tap(data, wire, routes, now)
        return Inbound(wire, Kind.EVENT)
    text = _json_text(data, msgtype)
    if text is None:
        return Inbound(wire, Kind.IGNORED)
    sender = _obj(data.get("from"))
    message = _message(
        msgid=_str(data.get("msgid")),
        chattype=_str(data.get("chattype")),
        chatid=_str(data.get("chatid")),
        userid=_str(sender.get("userid")),
        text=text,
        now=now,
        name=_str(sender.get("name")),
        routes=routes,
    )
    return Inbound(wire, Kind.MESSAGE, message=message)


def parse_xml_tree(data: bytes) -> ET.Element:
    """Parse untrusted XML, refusing DTDs and entities outright."""
    if _XML_FORBIDDEN.search(data):
        raise CallbackRejectedError(400, "XML with a DTD is not accepted")
    try:
        return ET.fromstring(data)  # noqa: S314 - DTDs refused above, size capped by caller
    except ET.ParseError as exc:
        raise CallbackRejectedError(400, "malformed XML") from exc


def _xml_text(root: ET.Element, msgtype: str) -> str | None:
    if msgtype == "text":
        return root.findtext("Text/Content")
    if msgtype == "mixed":
        parts = [
            item.findtext("Text/Content") or ""
            for item in root.iterfind("MixedMessage/MsgItem")
            if (item.findtext("MsgType") or "").strip() == "text"
        ]
        parts = [p for p in parts if p.strip()]
        return "\n".join(parts) if parts else None
    return None


def parse_xml(plaintext: str, now: datetime) -> Inbound:
    """Decode a decrypted group-robot XML payload."""
    root = parse_xml_tree(plaintext.encode("utf-8"))
    msgtype = (root.findtext("MsgType") or "").strip()
    if msgtype == "event":
        return Inbound(Wire.ROBOT_XML, Kind.EVENT)
    text = _xml_text(root, msgtype)
    if text is None:
        return Inbound(Wire.ROBOT_XML, Kind.IGNORED)
    webhook_url = (root.findtext("WebhookUrl") or "").strip()
    message = _message(
        msgid=(root.findtext("MsgId") or "").strip(),
        chattype=(root.findtext("ChatType") or "").strip(),
        chatid=(root.findtext("ChatId") or "").strip(),
        userid=(root.findtext("From/UserId") or "").strip(),
        text=text,
        now=now,
        name=(root.findtext("From/Name") or "").strip(),
        routes={"webhook_url": webhook_url} if webhook_url else {},
    )
    return Inbound(Wire.ROBOT_XML, Kind.MESSAGE, message=message)


def stream_reply(stream_id: str, content: str) -> str:
    """AI-bot passive reply plaintext: one finished stream."""
    body = {"msgtype": "stream", "stream": {"id": stream_id, "finish": True, "content": content}}
    return json.dumps(body, ensure_ascii=False)


def robot_json_reply(content: str, mentions: Sequence[str]) -> str:
    """Group-robot (JSON mode) passive reply plaintext: a text message."""
    text: dict[str, Any] = {"content": content}
    if mentions:
        text["mentioned_list"] = list(mentions)
    return json.dumps({"msgtype": "text", "text": text}, ensure_ascii=False)


def robot_xml_reply(content: str, mentions: Sequence[str]) -> str:
    """Group-robot (XML) passive reply plaintext: a text message."""
    root = ET.Element("xml")
    ET.SubElement(root, "MsgType").text = "text"
    text = ET.SubElement(root, "Text")
    ET.SubElement(text, "Content").text = content
    if mentions:
        listed = ET.SubElement(text, "MentionedList")
        for userid in mentions:
            ET.SubElement(listed, "Item").text = userid
    return ET.tostring(root, encoding="unicode")


def xml_envelope(encrypt: str, msg_signature: str, timestamp: str, nonce: str) -> str:
    """The encrypted XML reply envelope."""
    root = ET.Element("xml")
    for tag, value in (
        ("Encrypt", encrypt),
        ("MsgSignature", msg_signature),
        ("TimeStamp", timestamp),
        ("Nonce", nonce),
    ):
        ET.SubElement(root, tag).text = value
    return ET.tostring(root, encoding="unicode")
