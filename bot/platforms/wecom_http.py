"""The WeCom callback endpoint: GET URL verification and POST messages at /wecom/callback."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot.platforms.base import MAX_CALLBACK_BYTES, CallbackRejectedError, Inbox
from bot.platforms.wecom_callback import WeComCodec

log = logging.getLogger(__name__)
CALLBACK_PATH = "/wecom/callback"


async def read_capped(request: Request, limit: int = MAX_CALLBACK_BYTES) -> bytes:
    """Read the request body, refusing (413) more than `limit` bytes before reading it all."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise CallbackRejectedError(400, "bad Content-Length")
        if int(declared) > limit:
            raise CallbackRejectedError(413, "callback body too large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise CallbackRejectedError(413, "callback body too large")
        chunks.append(chunk)
    return b"".join(chunks)


def _rejected(exc: CallbackRejectedError) -> Response:
    log.warning("wecom callback rejected (%d): %s", exc.status, exc.reason)
    return PlainTextResponse(exc.reason, status_code=exc.status)


def wecom_routes(
    token: str, aes_key: str, inbox: Inbox, clock: Callable[[], datetime]
) -> list[Route]:
    """Routes for the WeCom callback URL (AI bot JSON, group robot XML or JSON)."""
    codec = WeComCodec(token, aes_key, clock)

    async def verify(request: Request) -> Response:
        try:
            echo = codec.verify_url(request.query_params)
        except CallbackRejectedError as exc:
            return _rejected(exc)
        log.info("wecom callback URL verified")
        return PlainTextResponse(echo)

    async def handle(request: Request) -> Response:
        try:
            body = await read_capped(request)
            inbound = codec.decode(request.query_params, body)
        except CallbackRejectedError as exc:
            return _rejected(exc)
        if not inbound.dispatched or inbound.message is None:
            log.debug("wecom callback %s answered without dispatch", inbound.kind)
            answer = codec.reply(inbound)
            return Response(answer.body, media_type=answer.media_type)
        message = inbound.message
        result = await inbox.receive(message)
        answer = codec.reply(inbound, result.replies)
        if answer.outbox_ids:
            try:
                await inbox.delivered(list(answer.outbox_ids))
            except Exception:
                # The reply still goes out now; at worst the outbox sends it once more.
                log.exception("wecom: could not mark replies delivered")
        log.info(
            "wecom %s %s in %s: %d replies (%d passive), duplicate=%s",
            inbound.kind,
            message.message_id,
            message.chat_id,
            len(result.replies),
            len(answer.outbox_ids),
            result.duplicate,
        )
        return Response(answer.body, media_type=answer.media_type)

    async def receive(request: Request) -> Response:
        try:
            return await handle(request)
        except Exception:
            # Dispatch handles its own failures; this is the last resort. Not 200, so WeCom
            # retries later; no traceback in the response.
            log.exception("wecom: callback failed")
            return PlainTextResponse("temporarily unavailable", status_code=503)

    return [
        Route(CALLBACK_PATH, verify, methods=["GET"]),
        Route(CALLBACK_PATH, receive, methods=["POST"]),
    ]
