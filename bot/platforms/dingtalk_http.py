"""The DingTalk robot's HTTP callback endpoint: verify, decode, hand to the inbox, answer `{}`.

Replies never go back in the response; the outbox sender delivers them through the message's
sessionWebhook (or the robot OpenAPI), so the endpoint answers as soon as the inbox has the
message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.platforms.base import MAX_CALLBACK_BYTES, CallbackRejectedError, Inbox
from bot.platforms.dingtalk_callback import decode_message, parse_body, verify_sign

log = logging.getLogger(__name__)

CALLBACK_PATH = "/dingtalk/callback"


async def read_capped_body(request: Request, limit: int = MAX_CALLBACK_BYTES) -> bytes:
    """Read the request body, refusing (413) anything over `limit` bytes without buffering it."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise CallbackRejectedError(400, "bad Content-Length")
        if int(declared) > limit:
            raise CallbackRejectedError(413, "body too large")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise CallbackRejectedError(413, "body too large")
    return bytes(body)


def dingtalk_routes(app_secret: str, inbox: Inbox, clock: Callable[[], datetime]) -> list[Route]:
    """Return the `POST /dingtalk/callback` route bound to the app secret and the inbox."""

    async def callback(request: Request) -> JSONResponse:
        try:
            headers = request.headers
            verify_sign(app_secret, headers.get("timestamp"), headers.get("sign"), clock())
            message = decode_message(parse_body(await read_capped_body(request)))
        except CallbackRejectedError as exc:
            log.warning("dingtalk callback rejected (%s): %s", exc.status, exc.reason)
            return JSONResponse({"error": exc.reason}, status_code=exc.status)
        except ClientDisconnect:
            log.info("dingtalk callback: client went away before sending the body")
            return JSONResponse({"error": "client disconnected"}, status_code=400)
        if message is None:
            log.debug("dingtalk callback: message type ignored")
            return JSONResponse({})
        try:
            await inbox.receive(message)
        except Exception:
            log.exception("dingtalk callback: inbox failed for message %s", message.message_id)
            return JSONResponse({"error": "temporarily unavailable"}, status_code=503)
        return JSONResponse({})

    return [Route(CALLBACK_PATH, callback, methods=["POST"])]
