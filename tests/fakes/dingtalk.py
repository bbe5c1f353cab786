"""A fake DingTalk on 127.0.0.1 (token, robot OpenAPI, session webhooks) and signed callbacks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.http import FakeServer, Recorded, Scripted

TOKEN_PATH = "/v1.0/oauth2/accessToken"
GROUP_SEND_PATH = "/v1.0/robot/groupMessages/send"
SESSION_PATH = "/robot/sendBySession"
MEDIA_UPLOAD_PATH = "/media/upload"
FILE_KEYS = ("sampleFile", "sampleImageMsg")

APP_KEY = "dingfakeappkey"
APP_SECRET = "fake-app-secret-for-tests"
ROBOT_USER_ID = "$:LWCP_v1:$robot"


@dataclass(frozen=True)
class Sent:
    """A message the fake accepted for a conversation."""

    conversation_id: str
    text: str
    mentions: tuple[str, ...]
    via: str  # "session" or "openapi"
    msg_key: str = "sampleText"
    param: dict[str, Any] | None = None  # msgParam of a file or image message


@dataclass(frozen=True)
class Media:
    """A file uploaded to `/media/upload`."""

    media_id: str
    type: str
    filename: str | None
    data: bytes


def errcode(code: int, message: str = "error") -> Scripted:
    """A session-webhook answer: HTTP 200 with a DingTalk errcode."""
    return Scripted(200, {"errcode": code, "errmsg": message})


def openapi_error(status: int, code: str, message: str = "error") -> Scripted:
    """An OpenAPI answer: an HTTP error status with `{code, message}`."""
    return Scripted(status, {"code": code, "message": message, "requestid": "fake"})


class FakeDingTalk:
    """DingTalk's token endpoint, group-message OpenAPI and session webhooks, over real HTTP."""

    def __init__(
        self,
        *,
        app_key: str = APP_KEY,
        app_secret: str = APP_SECRET,
        robot_code: str | None = None,
        expire_in: int = 7200,
    ) -> None:
        self.app_key = app_key
        self.app_secret = app_secret
        self.robot_code = robot_code or app_key
        self.expire_in = expire_in
        self.token_delay = 0.0  # seconds the token endpoint takes (to widen races in tests)
        self.tokens_issued = 0
        self.server = FakeServer()
        self._lock = threading.Lock()
        self._valid_tokens: set[str] = set()
        self._sessions: dict[str, str] = {}
        self._sent: list[Sent] = []
        self._ids = itertools.count(1)
        self._failures: dict[str, list[list[Any]]] = {}  # path -> [[requests to skip, answer]]
        self.uploads: list[Media] = []
        self.server.route("POST", MEDIA_UPLOAD_PATH, self._media_upload)
        self.server.route("POST", TOKEN_PATH, self._token)
        self.server.route("POST", GROUP_SEND_PATH, self._group_send)
        self.server.route("POST", SESSION_PATH, self._session_send)

    def start(self) -> FakeDingTalk:
        """Start listening on 127.0.0.1."""
        self.server.start()
        return self

    def stop(self) -> None:
        """Stop the server."""
        self.server.stop()

    def __enter__(self) -> FakeDingTalk:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """Use as both `dingtalk_api_base` and `dingtalk_oapi_base`."""
        return self.server.base_url

    def session_webhook(self, conversation_id: str) -> str:
        """Open a session for a conversation and return its webhook URL (on this fake)."""
        session = secrets.token_hex(8)
        with self._lock:
            self._sessions[session] = conversation_id
        return f"{self.base_url}{SESSION_PATH}?session={session}"

    def expire_session(self, url: str) -> None:
        """Make a session webhook answer errcode 300001 ("session 不存在") from now on."""
        session = parse_qs(urlsplit(url).query).get("session", [""])[0]
        with self._lock:
            self._sessions.pop(session, None)

    def revoke_tokens(self) -> None:
        """Invalidate every issued access token (the OpenAPI then answers 401)."""
        with self._lock:
            self._valid_tokens.clear()

    def messages(self, conversation_id: str | None = None) -> list[Sent]:
        """Messages accepted so far (for one conversation, if given)."""
        with self._lock:
            return [s for s in self._sent if conversation_id in (None, s.conversation_id)]

    def texts(self, conversation_id: str | None = None) -> list[str]:
        """Just the texts of the accepted messages."""
        return [s.text for s in self.messages(conversation_id)]

    def fail_next(self, path: str, *answers: Scripted) -> None:
        """Answer the next requests to `path` with these (errors, delays, drops)."""
        self.server.fail_next(path, *answers)

    def fail_nth(self, path: str, n: int, answer: Scripted) -> None:
        """Answer the n-th next request to `path` (1 = the next one) with `answer`; the requests
        before it are served normally (so earlier parts of a split message are recorded)."""
        with self._lock:
            self._failures.setdefault(path, []).append([n - 1, answer])

    def _failure(self, path: str) -> Scripted | None:
        with self._lock:
            pending = self._failures.get(path, [])
            due = next((entry for entry in pending if entry[0] == 0), None)
            for entry in pending:
                entry[0] -= 1
            if due is None:
                return None
            pending.remove(due)
            answer: Scripted = due[1]
            return answer

    def _token(self, request: Recorded) -> Scripted:
        failure = self._failure(TOKEN_PATH)
        if failure is not None:
            return failure
        body = _json(request)
        if body.get("appKey") != self.app_key or body.get("appSecret") != self.app_secret:
            return openapi_error(400, "invalidClientIdOrSecret", "无效的clientId或clientSecret")
        if self.token_delay:
            time.sleep(self.token_delay)
        with self._lock:
            self.tokens_issued += 1
            token = f"fake-token-{self.tokens_issued}"
            self._valid_tokens.add(token)
        return Scripted(200, {"accessToken": token, "expireIn": self.expire_in})

    def _group_send(self, request: Recorded) -> Scripted:
        failure = self._failure(GROUP_SEND_PATH)
        if failure is not None:
            return failure
        with self._lock:
            valid = request.headers.get("x-acs-dingtalk-access-token") in self._valid_tokens
        if not valid:
            return openapi_error(401, "InvalidAuthentication", "不合法的access_token")
        body = _json(request)
        if body.get("robotCode") != self.robot_code:
            return openapi_error(400, "invalidParameter.robotCode.invalid", "robotCode 无效")
        key = body.get("msgKey")
        if key not in ("sampleText", *FILE_KEYS):
            return openapi_error(400, "invalidParameter.msgKey.invalid", "msgKey 无效")
        conversation = body.get("openConversationId")
        if not isinstance(conversation, str) or not conversation:
            return openapi_error(400, "invalidParameter.openConversationId.empty", "缺少会话")
        if key in FILE_KEYS:
            return self._file_send(conversation, str(key), body.get("msgParam"))
        try:
            content = json.loads(body["msgParam"])["content"]
        except (KeyError, TypeError, ValueError):
            return openapi_error(400, "invalidParameter.msgParam.invalid", "msgParam 无效")
        self._record(Sent(conversation, str(content), (), "openapi"))
        return Scripted(200, {"processQueryKey": f"pqk-{next(self._ids)}"})

    def _file_send(self, conversation: str, key: str, raw: object) -> Scripted:
        try:
            param = json.loads(str(raw))
            media_id = param["mediaId"] if key == "sampleFile" else param["photoURL"]
        except (KeyError, TypeError, ValueError):
            return openapi_error(400, "invalidParameter.msgParam.invalid", "msgParam 无效")
        with self._lock:
            known = any(m.media_id == media_id for m in self.uploads)
        if not known:
            return openapi_error(400, "invalidParameter.mediaId.invalid", "mediaId 无效")
        self._record(Sent(conversation, f"[{key}] {media_id}", (), "openapi", key, param))
        return Scripted(200, {"processQueryKey": f"pqk-{next(self._ids)}"})

    def _media_upload(self, request: Recorded) -> Scripted:
        failure = self._failure(MEDIA_UPLOAD_PATH)
        if failure is not None:
            return failure
        with self._lock:
            valid = request.query.get("access_token") in self._valid_tokens
        if not valid:
            return errcode(40014, "不合法的access_token")
        form = request.form()
        kind = form.get("type", (None, b""))[1].decode()
        media = form.get("media")
        if kind not in ("file", "image") or media is None:
            return errcode(40004, "不合法的媒体文件类型")
        with self._lock:
            media_id = f"@lA{len(self.uploads) + 1:04d}"
            self.uploads.append(Media(media_id, kind, media[0], media[1]))
        return Scripted(200, {"errcode": 0, "errmsg": "ok", "type": kind, "media_id": media_id})

    def media(self, media_id: str) -> Media:
        """The upload a media id names."""
        with self._lock:
            return next(m for m in self.uploads if m.media_id == media_id)

    def files(self, conversation_id: str | None = None) -> list[Sent]:
        """Accepted file and image messages."""
        return [s for s in self.messages(conversation_id) if s.msg_key in FILE_KEYS]

    def _session_send(self, request: Recorded) -> Scripted:
        failure = self._failure(SESSION_PATH)
        if failure is not None:
            return failure
        with self._lock:
            conversation = self._sessions.get(request.query.get("session", ""))
        if conversation is None:
            return errcode(300001, "session 不存在")
        body = _json(request)
        text = body.get("text")
        if body.get("msgtype") != "text" or not isinstance(text, dict) or "content" not in text:
            return errcode(400105, "不支持的消息类型")
        at = body.get("at") if isinstance(body.get("at"), dict) else {}
        mentions = tuple(str(u) for u in (at or {}).get("atUserIds") or ())
        self._record(Sent(conversation, str(text["content"]), mentions, "session"))
        return errcode(0, "ok")

    def _record(self, sent: Sent) -> None:
        with self._lock:
            self._sent.append(sent)


def _json(request: Recorded) -> dict[str, Any]:
    try:
        body = request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def callback_payload(
    *,
    text: str,
    created_at: datetime,
    conversation_id: str = "cidGroupA==",
    group: bool = True,
    msg_id: str | None = None,
    sender_staff_id: str | None = "staff001",
    sender_id: str = "$:LWCP_v1:$sender001",
    sender_nick: str = "张三",
    title: str = "第一党支部",
    session_webhook: str | None = None,
    session_lifetime: timedelta = timedelta(minutes=90),
    at_staff_ids: tuple[str, ...] = (),
    robot_code: str = APP_KEY,
) -> dict[str, Any]:
    """A robot message body as DingTalk posts it (msgtype text, @robot already removed)."""
    created_ms = int(created_at.timestamp() * 1000)
    at_users: list[dict[str, str]] = [{"dingtalkId": ROBOT_USER_ID}] if group else []
    at_users += [{"dingtalkId": f"$:LWCP_v1:${s}", "staffId": s} for s in at_staff_ids]
    payload: dict[str, Any] = {
        "msgtype": "text",
        "text": {"content": f" {text}"},
        "msgId": msg_id or f"msg{secrets.token_hex(8)}",
        "createAt": created_ms,
        "conversationType": "2" if group else "1",
        "conversationId": conversation_id,
        "senderId": sender_id,
        "senderNick": sender_nick,
        "senderCorpId": "dingcorp",
        "chatbotUserId": ROBOT_USER_ID,
        "chatbotCorpId": "dingcorp",
        "isAdmin": False,
        "isInAtList": group,
        "atUsers": at_users,
        "robotCode": robot_code,
        "sessionWebhook": session_webhook
        or f"https://oapi.dingtalk.com{SESSION_PATH}?session={secrets.token_hex(8)}",
        "sessionWebhookExpiredTime": created_ms + int(session_lifetime.total_seconds() * 1000),
    }
    if group:
        payload["conversationTitle"] = title
    if sender_staff_id is not None:
        payload["senderStaffId"] = sender_staff_id
    return payload


def signed_headers(app_secret: str, now: datetime) -> dict[str, str]:
    """The `timestamp` and `sign` headers DingTalk adds to a callback sent at `now`."""
    timestamp = str(int(now.timestamp() * 1000))
    mac = hmac.new(app_secret.encode(), (timestamp + "\n" + app_secret).encode(), hashlib.sha256)
    return {
        "timestamp": timestamp,
        "sign": base64.b64encode(mac.digest()).decode(),
        "content-type": "application/json; charset=utf-8",
    }


def signed_callback(
    app_secret: str, payload: dict[str, Any], now: datetime
) -> tuple[dict[str, str], bytes]:
    """Headers and body of a callback exactly as DingTalk would POST it."""
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return signed_headers(app_secret, now), body
