"""Long-connection message callbacks: decode, dispatch, answer in one finished stream.

The callback body is the AI bot's ordinary JSON payload (as in the HTTP callback, unencrypted),
so the HTTP adapter's decoding is reused. Replies that do not fit in the stream, or whose stream
WeCom does not acknowledge, stay in the outbox and go out later as pushes.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from bot.message import Outgoing
from bot.platforms.base import CallbackRejectedError, Inbox
from bot.platforms.wecom_callback import REPLY_SEPARATOR, STREAM_MAX_BYTES
from bot.platforms.wecom_payload import Kind, parse_json
from bot.platforms.wecom_text import pack, truncate
from bot.platforms.wecom_ws_frames import body_of, stream_body

log = logging.getLogger(__name__)

# Sends `aibot_respond_msg` with this body; True once WeCom acknowledged it.
Respond = Callable[[dict[str, Any]], Awaitable[bool]]


def stream_content(replies: Sequence[Outgoing]) -> tuple[str, list[int]]:
    """The stream text for as many replies as fit, and the outbox ids it delivers."""
    texts = [r.text for r in replies]
    count = pack(texts, STREAM_MAX_BYTES, REPLY_SEPARATOR)
    if count == 0:  # one reply larger than a stream: cut it, as the HTTP callback does
        content, count = truncate(texts[0], STREAM_MAX_BYTES), 1
    else:
        content = REPLY_SEPARATOR.join(texts[:count])
    return content, [r.outbox_id for r in replies[:count] if r.outbox_id]


async def answer_callback(
    data: dict[str, Any], inbox: Inbox, clock: Callable[[], datetime], respond: Respond
) -> None:
    """Hand an `aibot_msg_callback` frame to the inbox and answer it with its replies."""
    try:
        inbound = parse_json(json.dumps(body_of(data), ensure_ascii=False), clock())
    except CallbackRejectedError as exc:
        log.warning("wecom long connection: callback rejected: %s", exc.reason)
        return
    if inbound.kind is Kind.STREAM:  # a refresh of a stream we already finished
        await respond(stream_body(inbound.stream_id or secrets.token_hex(16), ""))
        return
    if inbound.kind is not Kind.MESSAGE or inbound.message is None:
        log.debug("wecom long connection: %s callback not dispatched", inbound.kind)
        return
    message = inbound.message
    result = await inbox.receive(message)
    if not result.replies:
        return
    content, ids = stream_content(result.replies)
    acknowledged = await respond(stream_body(secrets.token_hex(16), content))
    if acknowledged and ids:
        await inbox.delivered(ids)
    log.info(
        "wecom message %s in %s: %d replies (%d in the stream, acknowledged=%s), duplicate=%s",
        message.message_id,
        message.chat_id,
        len(result.replies),
        len(ids),
        acknowledged,
        result.duplicate,
    )
