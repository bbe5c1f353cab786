"""Sending to DingTalk groups: the message's sessionWebhook while it lives, else the robot OpenAPI.

Files and images need the OpenAPI (session webhooks cannot carry them): the bytes are uploaded to
`oapi /media/upload` (multipart `type` + `media`) for a media id, then sent with msgKey
`sampleFile` {mediaId, fileName, fileType} or `sampleImageMsg` {photoURL: media id}.
Never raises: every platform or network failure becomes a `SendResult` the outbox understands.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from bot.platforms.base import Delivery, Outcome, RateLimit, SendResult, send_parts
from bot.platforms.dingtalk_token import TokenCache, TokenError

if TYPE_CHECKING:
    from bot.attachments import OutboundFile

log = logging.getLogger(__name__)

GROUP_SEND_PATH = "/v1.0/robot/groupMessages/send"
MEDIA_UPLOAD_PATH = "/media/upload"
MEDIA_MAX_BYTES = 20 * 1024 * 1024
OAPI_TOKEN_CODES = frozenset({"40014", "42001", "88"})  # invalid / expired access_token
REAL_OAPI_HOST = "oapi.dingtalk.com"
MAX_PART_CHARS = 4000
LABEL_RESERVE = 16  # room for "\n（12/12）" in every part of a split text
PER_MINUTE = 20
WEBHOOK_MARGIN_MS = 60_000  # don't start a send on a webhook that dies within a minute
THROTTLED_RETRY_AFTER = 60.0

RETRY_CODES = frozenset({"410100", "-1", "130101"})
PERMANENT_CODES = frozenset({"400102", "400105", "400106", "400013", "310000"})
TOKEN_CODES = frozenset({"400101", "300001", "300005", "InvalidAuthentication"})
NO_CONVERSATION = (
    "没有可用的群会话标识（openConversationId），无法主动发送；请先在群里@机器人说一句话。"
)


def split_text(text: str, limit: int = MAX_PART_CHARS) -> list[str]:
    """Cut text into parts of at most `limit` characters, numbered "（i/n）" only when split.

    Cuts prefer a line break in the second half of the window; the split is deterministic, so a
    retry that resumes at part k sends the same parts as the first attempt would have.
    """
    if len(text) <= limit:
        return [text]
    budget = limit - LABEL_RESERVE
    chunks: list[str] = []
    while len(text) > budget:
        cut = text.rfind("\n", 0, budget + 1)
        if cut <= budget // 2:
            chunks.append(text[:budget])
            text = text[budget:]
        else:
            chunks.append(text[:cut])
            text = text[cut + 1 :]
    chunks.append(text)
    total = len(chunks)
    return [f"{chunk}\n（{i}/{total}）" for i, chunk in enumerate(chunks, start=1)]


def is_token_error(code: str, status: int = 200) -> bool:
    """True when DingTalk says the access token is missing, invalid or expired."""
    lowered = code.lower()
    stale = "accesstoken" in lowered and ("invalid" in lowered or "expired" in lowered)
    return code in TOKEN_CODES or status == 401 or stale


def classify(code: str, status: int = 200) -> SendResult | None:
    """Map a DingTalk error code (errcode or OpenAPI `code`) to a result; None when unknown."""
    lowered = code.lower()
    if is_token_error(code, status):
        # No fixed wait: the next attempt fetches a fresh token; the outbox backs off if not.
        return SendResult(Outcome.RETRY, f"token: {code or status}")
    if code in RETRY_CODES or status == 429 or "throttl" in lowered or "qpslimit" in lowered:
        return SendResult(Outcome.RETRY, f"throttled: {code or status}", THROTTLED_RETRY_AFTER)
    if code in PERMANENT_CODES or code.startswith(("invalidParameter", "4301")):
        return SendResult(Outcome.PERMANENT, f"refused: {code}")
    return None


class DingTalkSender:
    """The DingTalk `Sender`: session webhook replies, OpenAPI group messages otherwise."""

    name = "dingtalk"

    def __init__(
        self,
        *,
        app_key: str,
        app_secret: str,
        robot_code: str,
        api_base: str,
        oapi_base: str,
        tokens: TokenCache,
        clock: Callable[[], datetime],
        client: httpx.AsyncClient | None = None,
        timeout: float = 5.0,
    ) -> None:
        self.app_key = app_key
        self._app_secret = app_secret  # held for symmetry; the token cache does the signing-in
        self._robot_code = robot_code or app_key
        self._api_base = api_base.rstrip("/")
        self._oapi_base = oapi_base.rstrip("/")
        self._tokens = tokens
        self._clock = clock
        self._client = client
        self._owns_client = client is None
        self._timeout = timeout

    def rate_limit(self, delivery: Delivery) -> RateLimit:
        """DingTalk throttles a robot at 20 messages a minute per group."""
        return RateLimit(f"dingtalk:chat:{delivery.chat_id}", PER_MINUTE)

    async def send(self, delivery: Delivery) -> SendResult:
        """Deliver the remaining parts of the message; never raise."""
        try:
            return await self._send(delivery)
        except Exception as exc:  # a bug must not kill the outbox loop
            log.exception("dingtalk send %s: unexpected failure", delivery.outbox_id)
            return SendResult(
                Outcome.RETRY, f"unexpected: {type(exc).__name__}", parts_sent=delivery.parts_sent
            )

    async def aclose(self) -> None:
        """Close the HTTP client if this sender created it."""
        if self._client is not None and self._owns_client:
            await self._client.aclose()
            self._client = None

    async def _send(self, delivery: Delivery) -> SendResult:
        async def one(index: int, text: str) -> SendResult:
            return await self._send_part(delivery, text, delivery.mentions if index == 0 else ())

        return await send_parts(split_text(delivery.text), delivery, one, "dingtalk")

    async def _send_part(
        self, delivery: Delivery, text: str, mentions: tuple[str, ...]
    ) -> SendResult:
        webhook = self._live_webhook(delivery.routes)
        if webhook is not None:
            result = await self._post_session(webhook, text, mentions)
            if result is not None:
                return result
            log.info("dingtalk send %s: session webhook gone, using OpenAPI", delivery.outbox_id)
        return await self._post_openapi(delivery.routes, text)

    def _live_webhook(self, routes: dict[str, str]) -> str | None:
        """The session webhook URL to use, if it is trusted and lives past the margin."""
        url, expires = routes.get("session_webhook"), routes.get("session_webhook_expires")
        if not url or not expires or not expires.isdigit():
            return None
        now_ms = self._clock().timestamp() * 1000
        if int(expires) - now_ms <= WEBHOOK_MARGIN_MS:
            return None
        parts, ours = urlsplit(url), urlsplit(self._oapi_base)
        if (parts.scheme, parts.netloc) == (ours.scheme, ours.netloc):
            return url
        if parts.scheme == "https" and parts.hostname == REAL_OAPI_HOST:
            # Learned from real DingTalk while oapi_base points elsewhere (tests, staging).
            return self._oapi_base + parts.path + (f"?{parts.query}" if parts.query else "")
        log.warning("dingtalk: ignoring a session webhook on an unexpected host")
        return None

    async def _post_session(
        self, url: str, text: str, mentions: tuple[str, ...]
    ) -> SendResult | None:
        """Post to a session webhook; None when the session is gone (use the OpenAPI)."""
        body = {
            "msgtype": "text",
            "text": {"content": text},
            "at": {"atUserIds": list(mentions), "isAtAll": False},
        }
        response = await self._post(url, body, {})
        if isinstance(response, SendResult):
            return response
        status, data = response
        if status == 429 or status >= 500:
            return classify("", status) or SendResult(Outcome.RETRY, f"HTTP {status}")
        if status != 200:
            return None  # 4xx: the session URL is no longer valid
        code = str(data.get("errcode", 0))
        if code == "0":
            return SendResult(Outcome.SENT)
        if code in TOKEN_CODES:  # 300001 "session 不存在": expired early
            return None
        message = str(data.get("errmsg", ""))[:200]
        known = classify(code)
        if known is not None:
            return replace(known, error=f"{known.error} {message}".strip())
        return SendResult(Outcome.RETRY, f"errcode {code} {message}".strip())

    def accepts(self, delivery: Delivery, kind: str) -> bool:
        """Files and images go through the OpenAPI: the chat needs its openConversationId."""
        return bool(delivery.routes.get("open_conversation_id"))

    async def send_file(self, delivery: Delivery, file: OutboundFile) -> SendResult:
        """Upload the file (or image) and send it to the group once; never raise."""
        try:
            return await self._send_file(delivery, file)
        except Exception as exc:  # a bug must not kill the outbox loop
            log.exception("dingtalk file %s: unexpected failure", delivery.outbox_id)
            return SendResult(Outcome.RETRY, f"unexpected: {type(exc).__name__}")

    async def _send_file(self, delivery: Delivery, file: OutboundFile) -> SendResult:
        if not delivery.routes.get("open_conversation_id"):
            return SendResult(Outcome.PERMANENT, NO_CONVERSATION)
        if len(file.data) > MEDIA_MAX_BYTES:
            return SendResult(Outcome.PERMANENT, "文件超过钉钉 20MB 上限")
        uploaded = await self._upload(file)
        if isinstance(uploaded, SendResult):
            return uploaded
        if file.kind == "image":
            key, param = "sampleImageMsg", {"photoURL": uploaded}
        else:
            key = "sampleFile"
            param = {"mediaId": uploaded, "fileName": file.filename, "fileType": file.extension}
        result = await self._openapi(delivery.routes, key, param)
        log.info(
            "dingtalk %s %s to row %s: %s", key, file.filename, delivery.outbox_id, result.outcome
        )
        return result

    async def _upload(self, file: OutboundFile) -> str | SendResult:
        """Upload to the media API; the media id, or the result saying why not."""
        try:
            token = await self._tokens.get()
        except TokenError as exc:
            return SendResult(Outcome.RETRY, f"token: {exc}")
        if self._client is None:
            self._client = httpx.AsyncClient()
        kind = "image" if file.kind == "image" else "file"
        try:
            response = await self._client.post(
                self._oapi_base + MEDIA_UPLOAD_PATH,
                params={"access_token": token},
                data={"type": kind},
                files={"media": (file.filename, file.data, file.content_type)},
                timeout=max(self._timeout, 30.0),
            )
        except httpx.HTTPError as exc:
            return SendResult(Outcome.RETRY, f"upload network: {type(exc).__name__}")
        status = response.status_code
        if status == 429 or status >= 500:
            return SendResult(Outcome.RETRY, f"upload HTTP {status}")
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return SendResult(Outcome.RETRY, f"upload HTTP {status}: not JSON")
        code = str(data.get("errcode", "0" if status == 200 else status))
        media_id = data.get("media_id")
        if code == "0" and isinstance(media_id, str) and media_id:
            return media_id
        message = str(data.get("errmsg") or "")[:200]
        if code in OAPI_TOKEN_CODES:
            self._tokens.invalidate(token)
            return SendResult(Outcome.RETRY, f"upload token: {code}")
        known = classify(code, status)
        if known is not None:
            return replace(known, error=f"upload {known.error} {message}".strip())
        outcome = Outcome.RETRY if code == "0" else Outcome.PERMANENT
        return SendResult(outcome, f"upload refused: {code} {message}".strip())

    async def _post_openapi(self, routes: dict[str, str], text: str) -> SendResult:
        return await self._openapi(routes, "sampleText", {"content": text})

    async def _openapi(
        self, routes: dict[str, str], msg_key: str, msg_param: dict[str, str]
    ) -> SendResult:
        """One robot OpenAPI group message of any msgKey."""
        conversation = routes.get("open_conversation_id")
        if not conversation:
            return SendResult(Outcome.PERMANENT, NO_CONVERSATION)
        try:
            token = await self._tokens.get()
        except TokenError as exc:
            return SendResult(Outcome.RETRY, f"token: {exc}")
        body = {
            "robotCode": self._robot_code,
            "openConversationId": conversation,
            "msgKey": msg_key,
            "msgParam": json.dumps(msg_param, ensure_ascii=False),
        }
        headers = {"x-acs-dingtalk-access-token": token}
        response = await self._post(self._api_base + GROUP_SEND_PATH, body, headers)
        if isinstance(response, SendResult):
            return response
        status, data = response
        if 200 <= status < 300:
            return SendResult(Outcome.SENT)
        code = str(data.get("code") or "")
        message = str(data.get("message") or "")[:200]
        result = classify(code, status)
        if is_token_error(code, status):
            self._tokens.invalidate(token)
        if result is None:
            outcome = Outcome.RETRY if status >= 500 else Outcome.PERMANENT
            result = SendResult(outcome, f"HTTP {status} {code}".strip())
        return replace(result, error=f"{result.error} {message}".strip())

    async def _post(
        self, url: str, body: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, dict[str, Any]] | SendResult:
        """POST JSON; return (status, JSON object) or a RETRY result for network failures."""
        if self._client is None:
            self._client = httpx.AsyncClient()
        try:
            response = await self._client.post(
                url, json=body, headers=headers, timeout=self._timeout
            )
        except httpx.HTTPError as exc:
            return SendResult(Outcome.RETRY, f"network: {type(exc).__name__}")
        try:
            data = response.json()
        except ValueError:
            data = {}
        return response.status_code, data if isinstance(data, dict) else {}
