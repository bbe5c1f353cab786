"""WeCom callbacks without HTTP: verify and decode requests, encode encrypted passive replies.

`WeComCodec.decode` turns query parameters plus a body into an `Inbound` or raises
`CallbackRejectedError` (4xx) before anything is decoded; `WeComCodec.reply` packs the
dispatcher's replies into the encrypted answer WeCom expects for that callback's flavour.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.message import Outgoing
from bot.platforms.base import MAX_CALLBACK_BYTES, CallbackRejectedError
from bot.platforms.wecom_cards import first_card, stream_with_card_body, update_card_body
from bot.platforms.wecom_crypto import WeComCrypto
from bot.platforms.wecom_payload import (
    Inbound,
    Kind,
    Wire,
    parse_json,
    parse_xml,
    parse_xml_tree,
    robot_json_reply,
    robot_xml_reply,
    stream_reply,
    xml_envelope,
)
from bot.platforms.wecom_text import pack, truncate

MAX_SKEW = timedelta(minutes=10)
STREAM_MAX_BYTES = 20480  # AI-bot stream content limit (UTF-8 bytes)
ROBOT_TEXT_MAX_BYTES = 2048  # group-robot text content limit (UTF-8 bytes)
REPLY_SEPARATOR = "\n\n"
TEXT_PLAIN = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class PassiveReply:
    """The HTTP answer to a callback, and which outbox rows it delivers."""

    body: bytes = b""
    media_type: str = TEXT_PLAIN
    outbox_ids: tuple[int, ...] = ()


def _param(params: Mapping[str, str], name: str) -> str:
    value = params.get(name)
    if not value:
        raise CallbackRejectedError(400, f"missing query parameter {name}")
    return value


def _unique(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


class WeComCodec:
    """Verifies, decrypts and decodes WeCom callbacks; encrypts their passive replies."""

    def __init__(
        self,
        token: str,
        aes_key: str,
        clock: Callable[[], datetime],
        receive_id: str = "",
        max_skew: timedelta = MAX_SKEW,
    ) -> None:
        self.crypto = WeComCrypto(token, aes_key, receive_id)
        self.clock = clock
        self.max_skew = max_skew

    def _check_time(self, timestamp: str) -> None:
        if not timestamp.isdigit() or len(timestamp) > 12:
            raise CallbackRejectedError(400, "timestamp is not a number")
        skew = abs(self.clock().timestamp() - int(timestamp))
        if skew > self.max_skew.total_seconds():
            raise CallbackRejectedError(403, "timestamp too far from now")

    def verify_url(self, params: Mapping[str, str]) -> str:
        """Answer the GET URL verification: the decrypted echostr."""
        signature, timestamp = _param(params, "msg_signature"), _param(params, "timestamp")
        nonce, echostr = _param(params, "nonce"), _param(params, "echostr")
        self._check_time(timestamp)
        return self.crypto.open(signature, timestamp, nonce, echostr)

    def decode(self, params: Mapping[str, str], body: bytes) -> Inbound:
        """Verify and decode a POSTed callback (AI-bot JSON or group-robot XML/JSON)."""
        if len(body) > MAX_CALLBACK_BYTES:
            raise CallbackRejectedError(413, "callback body too large")
        signature, timestamp = _param(params, "msg_signature"), _param(params, "timestamp")
        nonce = _param(params, "nonce")
        self._check_time(timestamp)
        stripped = body.lstrip()
        if stripped.startswith(b"<"):
            encrypt = (parse_xml_tree(stripped).findtext("Encrypt") or "").strip()
            parse = parse_xml
        elif stripped.startswith(b"{"):
            encrypt = self._json_encrypt(stripped)
            parse = parse_json
        else:
            raise CallbackRejectedError(400, "body is neither JSON nor XML")
        if not encrypt:
            raise CallbackRejectedError(400, "body has no encrypt field")
        plaintext = self.crypto.open(signature, timestamp, nonce, encrypt)
        return parse(plaintext, self.clock())

    @staticmethod
    def _json_encrypt(body: bytes) -> str:
        try:
            data = json.loads(body.decode("utf-8"))
        except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
            raise CallbackRejectedError(400, "malformed JSON body") from exc
        value = data.get("encrypt") if isinstance(data, dict) else None
        return value.strip() if isinstance(value, str) else ""

    def reply(self, inbound: Inbound, replies: Sequence[Outgoing] = ()) -> PassiveReply:
        """Build the encrypted passive reply for `inbound` carrying as many `replies` as fit."""
        if inbound.kind is Kind.STREAM:
            stream_id = inbound.stream_id or self._new_id()
            return self._seal_json(stream_reply(stream_id, ""), ())
        if inbound.kind is Kind.TAP:
            return self._card_update(inbound, replies)
        if inbound.kind is not Kind.MESSAGE or not replies:
            return PassiveReply()
        texts = [r.text for r in replies]
        if inbound.wire is Wire.AIBOT:
            count = pack(texts, STREAM_MAX_BYTES, REPLY_SEPARATOR)
            if count == 0:  # nowhere else to put it: cut the first reply
                content, count = truncate(texts[0], STREAM_MAX_BYTES), 1
            else:
                content = REPLY_SEPARATOR.join(texts[:count])
            ids = tuple(r.outbox_id for r in replies[:count] if r.outbox_id)
            stream_id = self._new_id()
            # A card goes with the text (stream_with_template_card): once per message.
            if (found := first_card(replies[:count])) is not None:
                body = stream_with_card_body(stream_id, content, found[1])
                return self._seal_json(json.dumps(body, ensure_ascii=False), ids)
            return self._seal_json(stream_reply(stream_id, content), ids)
        # Group robot: what does not fit in one text stays in the outbox for the webhook.
        count = pack(texts, ROBOT_TEXT_MAX_BYTES, REPLY_SEPARATOR)
        if count == 0:
            return PassiveReply()
        content = REPLY_SEPARATOR.join(texts[:count])
        mentions = _unique([m for r in replies[:count] for m in r.mentions])
        ids = tuple(r.outbox_id for r in replies[:count] if r.outbox_id)
        if inbound.wire is Wire.ROBOT_JSON:
            return self._seal_json(robot_json_reply(content, mentions), ids)
        return self._seal_xml(robot_xml_reply(content, mentions), ids)

    def _card_update(self, inbound: Inbound, replies: Sequence[Outgoing]) -> PassiveReply:
        """Answer a tap by replacing the tapped card for everyone (`update_template_card`).

        Only a card with the tapped card's task_id may replace it. The reply carrying that card
        counts as delivered: the refreshed card is its answer. Without one (a stale card) the
        answer is empty and the replies stay in the outbox.
        """
        via_card = inbound.message.via_card if inbound.message else None
        if inbound.wire is not Wire.AIBOT or not via_card:
            return PassiveReply()
        found = first_card(replies, key=via_card)
        if found is None:
            return PassiveReply()
        reply, card = found
        ids = (reply.outbox_id,) if reply.outbox_id else ()
        return self._seal_json(json.dumps(update_card_body(card), ensure_ascii=False), ids)

    @staticmethod
    def _new_id() -> str:
        return secrets.token_hex(16)

    def _stamp(self) -> tuple[str, str]:
        return str(int(self.clock().timestamp())), str(secrets.randbelow(10**10))

    def _seal_json(self, plaintext: str, ids: tuple[int, ...]) -> PassiveReply:
        timestamp, nonce = self._stamp()
        encrypt, signature = self.crypto.seal(plaintext, timestamp, nonce)
        envelope = {
            "encrypt": encrypt,
            "msgsignature": signature,
            "timestamp": timestamp,
            "nonce": nonce,
        }
        return PassiveReply(json.dumps(envelope).encode("utf-8"), TEXT_PLAIN, ids)

    def _seal_xml(self, plaintext: str, ids: tuple[int, ...]) -> PassiveReply:
        timestamp, nonce = self._stamp()
        encrypt, signature = self.crypto.seal(plaintext, timestamp, nonce)
        body = xml_envelope(encrypt, signature, timestamp, nonce)
        return PassiveReply(body.encode("utf-8"), TEXT_PLAIN, ids)
