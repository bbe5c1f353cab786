"""Signed, time-limited download links for exported ledgers, and the route that serves them.

A token is `<payload>.<mac>`, both base64url without padding: the payload is
`v1:<branch id>:<period key>:<expiry unix seconds>`, the mac its HMAC-SHA256 under the link
secret. Nothing is stored on disk: the workbook is built when the link is opened. The secret is
`ZHIBU_LINK_SECRET`, or else one generated once and kept in the database (`app_secrets`), so
links outlive restarts and work on every instance behind the proxy.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot.attachments import AttachmentBuilder, AttachmentError
from bot.clock import Clock
from bot.config import Settings
from storage import app_secrets
from storage.attachments import LedgerRecipe, is_period_key
from storage.db import Database

log = logging.getLogger(__name__)

LEDGER_PATH = "/files/ledger/{token}"
SECRET_NAME = "link_secret"  # noqa: S105 - the name of the row, not a secret
_VERSION = "v1"
_MAX_TOKEN = 300

EXPIRED_TEXT = "下载链接已过期，请在群里重新发送：导出台账"
INVALID_TEXT = "下载链接无效"
GONE_TEXT = "找不到这份台账（支部可能已删除）"


class LinkError(Exception):
    """A token that must not be honoured; `status` and `text` are what the visitor gets."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


@dataclass(frozen=True)
class LedgerLink:
    """What a valid token names."""

    branch_id: int
    period_key: str
    expires: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class LinkSigner:
    """Signs and checks ledger download tokens; builds the public URL when one is configured."""

    def __init__(
        self, secret: bytes | Callable[[], bytes], public_url: str | None, ttl: timedelta
    ) -> None:
        # A callable is asked once, on first use (the app starts even if the database is down).
        self._secret = secret if isinstance(secret, bytes) else None
        self._load = None if isinstance(secret, bytes) else secret
        self._lock = threading.Lock()
        self.public_url = public_url.rstrip("/") if public_url else None
        self.ttl = ttl

    def __repr__(self) -> str:
        return f"LinkSigner(public_url={self.public_url!r}, ttl={self.ttl})"

    def _key(self) -> bytes:
        if self._secret is None:
            with self._lock:
                if self._secret is None and self._load is not None:
                    self._secret = self._load()
        if not self._secret:
            raise ValueError("the link secret must not be empty")
        return self._secret

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._key(), payload, hashlib.sha256).digest()

    def token(self, branch_id: int, period_key: str, now: datetime) -> str:
        """A token for the ledger of a branch and period, valid for `ttl` from `now`."""
        expires = int((now + self.ttl).timestamp())
        payload = f"{_VERSION}:{branch_id}:{period_key}:{expires}".encode()
        return f"{_b64(payload)}.{_b64(self._mac(payload))}"

    def url(self, branch_id: int, period_key: str, now: datetime) -> str | None:
        """The full download URL, or None without ZHIBU_PUBLIC_URL."""
        if self.public_url is None:
            return None
        path = LEDGER_PATH.format(token=self.token(branch_id, period_key, now))
        return f"{self.public_url}{path}"

    def verify(self, token: str, now: datetime) -> LedgerLink:
        """What a token names; LinkError(404) when malformed, (403) forged or expired."""
        if len(token) > _MAX_TOKEN or token.count(".") != 1:
            raise LinkError(404, INVALID_TEXT)
        head, mac = token.split(".")
        try:
            payload, given = _unb64(head), _unb64(mac)
        except (binascii.Error, ValueError) as exc:
            raise LinkError(404, INVALID_TEXT) from exc
        if not hmac.compare_digest(given, self._mac(payload)):
            raise LinkError(403, INVALID_TEXT)
        parts = payload.decode("utf-8", "replace").split(":")
        if len(parts) != 4 or parts[0] != _VERSION:
            raise LinkError(404, INVALID_TEXT)
        _, branch, period, expiry = parts
        if not branch.isdigit() or not expiry.isdigit() or not is_period_key(period):
            raise LinkError(404, INVALID_TEXT)
        expires = datetime.fromtimestamp(int(expiry), UTC)
        if now >= expires:
            raise LinkError(403, EXPIRED_TEXT)
        return LedgerLink(int(branch), period, expires)


def link_secret(settings: Settings, db: Database, now: datetime) -> bytes:
    """ZHIBU_LINK_SECRET, else the generated secret kept in the database (made on first use)."""
    if settings.link_secret is not None:
        return settings.link_secret.get_secret_value().encode("utf-8")
    with db.transaction() as session:
        return app_secrets.get_or_create(session, SECRET_NAME, now).encode("ascii")


def build_signer(settings: Settings, db: Database, clock: Clock) -> LinkSigner:
    """The link signer of these settings (a generated secret is read on first use)."""
    return LinkSigner(
        lambda: link_secret(settings, db, clock.now()),
        settings.public_url,
        timedelta(hours=settings.link_ttl_hours),
    )


def content_disposition(filename: str, fallback: str) -> str:
    """`attachment` with an ASCII fallback name and the real one in RFC 5987 `filename*`."""
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def ledger_route(signer: LinkSigner, builder: AttachmentBuilder, clock: Clock) -> Route:
    """`GET /files/ledger/{token}`: the workbook the token names, built now."""

    async def download(request: Request) -> Response:
        token = str(request.path_params.get("token", ""))
        try:
            link = await run_in_threadpool(signer.verify, token, clock.now())
        except LinkError as exc:
            # The token itself is never logged: it is a bearer credential until it expires.
            log.info("ledger link refused (%s)", exc.status)
            return PlainTextResponse(exc.text, status_code=exc.status)
        try:
            file = await run_in_threadpool(
                builder.build, LedgerRecipe(link.branch_id, link.period_key)
            )
        except AttachmentError:
            return PlainTextResponse(GONE_TEXT, status_code=404)
        log.info("ledger link: branch %s period %s downloaded", link.branch_id, link.period_key)
        fallback = f"ledger-{link.branch_id}-{link.period_key}.xlsx"
        return Response(
            file.data,
            media_type=file.content_type,
            headers={
                "Content-Disposition": content_disposition(file.filename, fallback),
                "Cache-Control": "private, no-store",
            },
        )

    return Route(LEDGER_PATH, download, methods=["GET"])
