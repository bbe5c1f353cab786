"""Long-connection callbacks: decode, dispatch, answer in one finished stream or a card update.

The callback body is the AI bot's ordinary JSON payload (as in the HTTP callback, unencrypted),
so the HTTP adapter's decoding is reused. A message is answered with `aibot_respond_msg` (a
finished stream, with the reply's card as `stream_with_template_card` when it has one); a card
tap (`aibot_event_callback`, `template_card_event`) with `aibot_respond_update_msg` replacing the
tapped card. Replies that do not fit, or whose answer WeCom does not acknowledge, stay in the
outbox and go out later as pushes.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from bot.message import Message, Outgoing
from bot.platforms.base import CallbackRejectedError, Inbox
from bot.platforms.wecom_callback import REPLY_SEPARATOR, STREAM_MAX_BYTES
from bot.platforms.wecom_cards import first_card, stream_with_card_body, update_card_body
from bot.platforms.wecom_payload import Kind, parse_json
from bot.platforms.wecom_text import pack, truncate
from bot.platforms.wecom_ws_frames import RESPOND_MSG, RESPOND_UPDATE_MSG, body_of, stream_body

log = logging.getLogger(__name__)

# Sends this cmd (with the callback's req_id) and body; True once WeCom acknowledged it.
Respond = Callable[[str, dict[str, Any]], Awaitable[bool]]


def stream_content(replies: Sequence[Outgoing]) -> tuple[str, list[int], int]:
    """The stream text for as many replies as fit, the outbox ids it delivers, and how many."""
    texts = [r.text for r in replies]
    count = pack(texts, STREAM_MAX_BYTES, REPLY_SEPARATOR)
    if count == 0:  # one reply larger than a stream: cut it, as the HTTP callback does
        content, count = truncate(texts[0], STREAM_MAX_BYTES), 1
    else:
        content = REPLY_SEPARATOR.join(texts[:count])
    return content, [r.outbox_id for r in replies[:count] if r.outbox_id], count


async def answer_callback(
    data: dict[str, Any], inbox: Inbox, clock: Callable[[], datetime], respond: Respond
) -> None:
    """Hand a message or card-tap frame to the inbox and answer it with its replies."""
    try:
        inbound = parse_json(json.dumps(body_of(data), ensure_ascii=False), clock())
    except CallbackRejectedError as exc:
        log.warning("wecom long connection: callback rejected: %s", exc.reason)
        return
    if inbound.kind is Kind.STREAM:  # a refresh of a stream we already finished
        await respond(RESPOND_MSG, stream_body(inbound.stream_id or secrets.token_hex(16), ""))
        return
    if not inbound.dispatched or inbound.message is None:
        log.debug("wecom long connection: %s callback not dispatched", inbound.kind)
        return
    if inbound.kind is Kind.TAP:
        await _answer_tap(inbound.message, inbox, respond)
    else:
        await _answer_message(inbound.message, inbox, respond)


async def _answer_message(message: Message, inbox: Inbox, respond: Respond) -> None:
    result = await inbox.receive(message)
    if not result.replies:
        return
    content, ids, count = stream_content(result.replies)
    stream_id = secrets.token_hex(16)
    found = first_card(result.replies[:count])
    if found is not None:
        acknowledged = await respond(
            RESPOND_MSG, stream_with_card_body(stream_id, content, found[1])
        )
        if not acknowledged:  # the text at least: same stream id, so never two bubbles
            log.warning("wecom long connection: card reply refused; answering with text only")
            acknowledged = await respond(RESPOND_MSG, stream_body(stream_id, content))
    else:
        acknowledged = await respond(RESPOND_MSG, stream_body(stream_id, content))
    if acknowledged and ids:
        await inbox.delivered(ids)
    log.info(
        "wecom message %s in %s: %d replies (%d in the stream, card=%s, acknowledged=%s), "
        "duplicate=%s",
        message.message_id,
        message.chat_id,
        len(result.replies),
        len(ids),
        found is not None,
        acknowledged,
        result.duplicate,
    )


async def _answer_tap(message: Message, inbox: Inbox, respond: Respond) -> None:
    """Dispatch a tap like the typed command; replace the tapped card with the refreshed one."""
    result = await inbox.receive(message)
    found = first_card(result.replies, key=message.via_card)
    if found is None:  # a stale card: the text replies stay in the outbox
        log.info(
            "wecom card tap %s on %s: no refreshed card, %d replies left to the outbox",
            message.message_id,
            message.via_card,
            len(result.replies),
        )
        return
    reply, card = found
    acknowledged = await respond(RESPOND_UPDATE_MSG, update_card_body(card))
    if acknowledged and reply.outbox_id:
        await inbox.delivered([reply.outbox_id])
    log.info(
        "wecom card tap %s on %s in %s: card updated (acknowledged=%s), duplicate=%s",
        message.message_id,
        message.via_card,
        message.chat_id,
        acknowledged,
        result.duplicate,
    )
