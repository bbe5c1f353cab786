"""Outbound WeCom: text messages through the group robot / 消息推送 webhook (`webhook/send`).

Where to send comes from the chat's routes: `webhook_url` learned from a group-robot callback,
or `push_target` / `webhook_key` bound by a secretary (a full webhook address or its key).
Texts over 2048 UTF-8 bytes are split at line breaks and numbered; a retry resumes at the first
undelivered part. WeCom answers HTTP 200 even for errors, so `errcode` decides the outcome.

A chat without a usable webhook route falls back to `push`, when given: the AI bot's
long-connection `aibot_send_msg` (markdown, split at 4096 bytes). Its rate limit is unknown, so
all of one bot's pushes share one bucket of 20 a minute (`push_rate_key`, e.g.
`wecom:aibot:<bot_id>`), like a group robot's key.

Files and images (`send_file`): through the webhook, a file is uploaded first
(`webhook/upload_media?type=file`, multipart field `media`) and sent as `msgtype file`; an image
goes inline as `msgtype image` {base64, md5} (≤ 2 MB). Without a webhook, the long connection's
media upload and `aibot_send_msg` carry them (`push_media`). The HTTP-mode AI bot alone cannot
send files: `accepts` says no, and the outbox sends a download link instead.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import httpx

from bot.platforms.base import Delivery, Outcome, RateLimit, SendResult, send_parts
from bot.platforms.wecom_text import split_numbered

if TYPE_CHECKING:
    from bot.attachments import OutboundFile

log = logging.getLogger(__name__)

PUBLIC_API_BASE = "https://qyapi.weixin.qq.com"
SEND_PATH = "/cgi-bin/webhook/send"
UPLOAD_PATH = "/cgi-bin/webhook/upload_media"
IMAGE_MAX_BYTES = 2 * 1024 * 1024  # webhook `image` message, before base64
FILE_MAX_BYTES = 20 * 1024 * 1024
TEXT_MAX_BYTES = 2048
MARKDOWN_MAX_BYTES = 4096
PER_MINUTE = 20
RATE_LIMITED_WAIT = 60.0
ROUTE_NAMES = ("webhook_url", "push_target", "webhook_key")
Push = Callable[[str, str, tuple[str, ...]], Awaitable[SendResult]]
PushMedia = Callable[[str, "OutboundFile"], Awaitable[SendResult]]
_KEY = re.compile(r"^[A-Za-z0-9_-]{1,128}$")

NO_ROUTE = "本群未绑定企业微信消息推送地址，请书记发送：绑定推送 <webhook地址>"
BAD_ROUTE = "本群的企业微信消息推送地址格式不对，请书记重新发送：绑定推送 <webhook地址>"
INVALID_KEY = "企业微信消息推送地址已失效（93000），请书记重新发送：绑定推送 <webhook地址>"


@dataclass(frozen=True)
class Target:
    """Where one delivery goes: the webhook key, the URL to POST, and an optional chatid."""

    key: str
    url: str
    chatid: str | None = None


def _is_wecom_host(host: str) -> bool:
    return host == "qyapi.weixin.qq.com" or host.endswith(".qyapi.weixin.qq.com")


def mask(key: str) -> str:
    """A webhook key shortened for logs."""
    return f"{key[:4]}…" if len(key) > 4 else "…"


def resolve(delivery: Delivery, api_base: str) -> Target | None:
    """The send target of a delivery; None without a usable route (raises nothing)."""
    base = api_base.rstrip("/")
    for name in ROUTE_NAMES:
        value = (delivery.routes.get(name) or "").strip()
        if not value:
            continue
        if "://" not in value:
            key, host, learned = value, "", ""
        else:
            parts = urlsplit(value)
            key = (parse_qs(parts.query).get("key") or [""])[0].strip()
            host, learned = (parts.hostname or "").lower(), value
        if not _KEY.match(key):
            return None
        if learned and _is_wecom_host(host) and base == PUBLIC_API_BASE:
            url = learned  # the address WeCom itself handed out
        else:
            url = f"{base}{SEND_PATH}?key={key}"  # never POST to another host
        # A robot learned from a callback may sit in several groups: name the group.
        chatid = None
        if name == "webhook_url" and not delivery.chat_id.startswith("single:"):
            chatid = delivery.chat_id
        return Target(key, url, chatid)
    return None


def _errcode_result(code: int, errmsg: str) -> SendResult | None:
    """Map a WeCom errcode to an outcome; None means sent."""
    if code == 0:
        return None
    if 45000 <= code < 46000:  # 45009 api freq out of limit, and its kin
        return SendResult(Outcome.RETRY, f"企业微信限流（{code}）", retry_after=RATE_LIMITED_WAIT)
    if code == -1:
        return SendResult(Outcome.RETRY, "企业微信系统繁忙（-1）")
    if code == 93000:
        return SendResult(Outcome.PERMANENT, INVALID_KEY)
    return SendResult(Outcome.PERMANENT, f"企业微信拒绝发送（{code}：{errmsg[:100]}）")


class WeComSender:
    """The WeCom half of the outbox: one delivery, once, never raising."""

    name = "wecom"

    def __init__(
        self,
        api_base: str,
        client: httpx.AsyncClient | None = None,
        timeout: float = 5.0,
        *,
        push: Push | None = None,
        push_rate_key: str = "wecom:aibot",
        push_media: PushMedia | None = None,
    ) -> None:
        self.api_base = api_base.rstrip("/")
        self.timeout = timeout
        self.push = push
        self.push_media = push_media
        self.push_rate_key = push_rate_key
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(timeout=timeout)

    async def aclose(self) -> None:
        """Close the HTTP client if this sender created it."""
        if self._owns_client:
            await self._client.aclose()

    def rate_limit(self, delivery: Delivery) -> RateLimit:
        """20 messages a minute per robot key or pushing AI bot (else a per-chat bucket)."""
        target = resolve(delivery, self.api_base)
        if target is None and self.push is not None:
            return RateLimit(self.push_rate_key, PER_MINUTE)
        if target is None:
            return RateLimit(f"wecom:unbound:{delivery.chat_id}", PER_MINUTE)
        return RateLimit(f"wecom:webhook:{target.key}", PER_MINUTE)

    async def send(self, delivery: Delivery) -> SendResult:
        """Send the delivery's remaining parts in order; report how many are delivered."""
        try:
            return await self._send(delivery)
        except Exception as exc:  # never raise into the outbox
            log.exception("wecom send failed unexpectedly for outbox row %s", delivery.outbox_id)
            error = f"企业微信发送出错（{type(exc).__name__}）"
            return SendResult(Outcome.RETRY, error, parts_sent=delivery.parts_sent)

    async def _send(self, delivery: Delivery) -> SendResult:
        target = resolve(delivery, self.api_base)
        bound = any(delivery.routes.get(name) for name in ROUTE_NAMES)
        if target is None and self.push is not None:
            if bound:
                log.warning("wecom outbox row %s: bad webhook route, pushing", delivery.outbox_id)
            return await self._push_parts(delivery, self.push)
        if target is None:
            error = BAD_ROUTE if bound else NO_ROUTE
            return SendResult(Outcome.PERMANENT, error, parts_sent=delivery.parts_sent)

        async def one(index: int, content: str) -> SendResult:
            text: dict[str, Any] = {"content": content}
            if index == 0 and delivery.mentions:
                text["mentioned_list"] = list(delivery.mentions)
            body: dict[str, Any] = {"msgtype": "text", "text": text}
            if target.chatid:
                body["chatid"] = target.chatid
            return await self._post(target, body) or SendResult(Outcome.SENT)

        parts = split_numbered(delivery.text, TEXT_MAX_BYTES)
        return await send_parts(parts, delivery, one, f"wecom webhook {mask(target.key)}")

    def accepts(self, delivery: Delivery, kind: str) -> bool:
        """True when this chat has a webhook or a long connection that can carry a file/image."""
        if resolve(delivery, self.api_base) is not None:
            return True
        return self.push is not None and self.push_media is not None

    async def send_file(self, delivery: Delivery, file: OutboundFile) -> SendResult:
        """Send a file or image to the chat once (webhook, else long connection); never raise."""
        try:
            target = resolve(delivery, self.api_base)
            if target is not None:
                return await self._webhook_file(target, file)
            media = self.push_media if self.push is not None else None
            if media is None:
                return SendResult(Outcome.PERMANENT, "本群无法接收文件")
            return await media(delivery.chat_id, file)
        except Exception as exc:  # never raise into the outbox
            log.exception("wecom file send failed unexpectedly for row %s", delivery.outbox_id)
            return SendResult(Outcome.RETRY, f"企业微信发送文件出错（{type(exc).__name__}）")

    async def _webhook_file(self, target: Target, file: OutboundFile) -> SendResult:
        body: dict[str, Any]
        if file.kind == "image":
            if len(file.data) > IMAGE_MAX_BYTES:
                return SendResult(Outcome.PERMANENT, "图片超过企业微信 2MB 上限")
            encoded = base64.b64encode(file.data).decode("ascii")
            body = {"msgtype": "image", "image": {"base64": encoded, "md5": file.md5}}
        else:
            if not 5 <= len(file.data) <= FILE_MAX_BYTES:
                return SendResult(Outcome.PERMANENT, "文件大小超出企业微信限制（5B–20MB）")
            uploaded = await self._upload(target, file)
            if isinstance(uploaded, SendResult):
                return uploaded
            body = {"msgtype": "file", "file": {"media_id": uploaded}}
        if target.chatid:
            body["chatid"] = target.chatid
        result = await self._post(target, body) or SendResult(Outcome.SENT)
        log.info(
            "wecom webhook %s: %s %s: %s",
            mask(target.key),
            file.kind,
            file.filename,
            result.outcome,
        )
        return result

    async def _upload(self, target: Target, file: OutboundFile) -> str | SendResult:
        """Upload a file for this robot; its media_id, or why not."""
        parts = urlsplit(target.url)
        url = urlunsplit(
            (parts.scheme, parts.netloc, UPLOAD_PATH, f"key={target.key}&type=file", "")
        )
        media = {"media": (file.filename, file.data, file.content_type)}
        data = await self._call(url, files=media)
        if isinstance(data, SendResult):
            return data
        code = data.get("errcode")
        if not isinstance(code, int):
            return SendResult(Outcome.RETRY, "企业微信返回了无法识别的内容")
        failed = _errcode_result(code, str(data.get("errmsg") or ""))
        if failed is not None:
            return failed
        media_id = data.get("media_id")
        if not isinstance(media_id, str) or not media_id:
            return SendResult(Outcome.RETRY, "企业微信上传文件未返回 media_id")
        return media_id

    async def _push_parts(self, delivery: Delivery, push: Push) -> SendResult:
        """Send the remaining markdown parts through the long connection."""

        async def one(index: int, text: str) -> SendResult:
            return await push(delivery.chat_id, text, delivery.mentions if index == 0 else ())

        parts = split_numbered(delivery.text, MARKDOWN_MAX_BYTES)
        return await send_parts(parts, delivery, one, "wecom push")

    async def _post(self, target: Target, body: dict[str, Any]) -> SendResult | None:
        """POST one message; None when WeCom accepted it."""
        data = await self._call(target.url, json=body)
        if isinstance(data, SendResult):
            return data
        code = data.get("errcode")
        if not isinstance(code, int):
            return SendResult(Outcome.RETRY, "企业微信返回了无法识别的内容")
        return _errcode_result(code, str(data.get("errmsg") or ""))

    async def _call(self, url: str, **request: Any) -> dict[str, Any] | SendResult:
        """POST (JSON or multipart); the answer's JSON object, or a result saying what failed."""
        try:
            response = await self._client.post(url, timeout=self.timeout, **request)
        except httpx.TimeoutException:
            return SendResult(Outcome.RETRY, "企业微信接口超时")
        except httpx.HTTPError as exc:
            return SendResult(Outcome.RETRY, f"连接企业微信失败（{type(exc).__name__}）")
        status = response.status_code
        if status == 429:
            return SendResult(Outcome.RETRY, "企业微信限流（HTTP 429）", RATE_LIMITED_WAIT)
        if status >= 500:
            return SendResult(Outcome.RETRY, f"企业微信服务异常（HTTP {status}）")
        if status != 200:
            return SendResult(Outcome.PERMANENT, f"企业微信拒绝请求（HTTP {status}）")
        try:
            data = response.json()
        except ValueError:
            return SendResult(Outcome.RETRY, "企业微信返回了无法识别的内容")
        if not isinstance(data, dict):
            return SendResult(Outcome.RETRY, "企业微信返回了无法识别的内容")
        return data
