"""A fake DingTalk Stream gateway on 127.0.0.1: HTTP connections/open plus the WebSocket.

The HTTP half runs in a thread (tests/fakes/http.py); the WebSocket half runs on the test's
event loop, so start it inside `asyncio.run` with `async with FakeStreamGateway() as gateway`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import secrets
import threading
from collections.abc import Callable
from http import HTTPStatus
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from tests.fakes.dingtalk import APP_KEY, APP_SECRET
from tests.fakes.http import FakeServer, Recorded, Scripted

OPEN_PATH = "/v1.0/gateway/connections/open"
WS_PATH = "/connect"
BOT_TOPIC = "/v1.0/im/bot/messages/get"


async def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait until `check()` is true, polling; TimeoutError after `timeout` seconds."""
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.005)


class StreamConnection:
    """One accepted WebSocket: what the client sent, and what the test pushes to it."""

    def __init__(self, ws: ServerConnection) -> None:
        self.ws = ws
        self.received: list[dict[str, Any]] = []
        self.closed = asyncio.Event()
        self._ids = itertools.count(1)

    async def push(self, frame_type: str, topic: str, data: dict[str, Any]) -> str:
        """Send a frame of any type; return its messageId."""
        message_id = f"{frame_type.lower()}-{next(self._ids)}-{secrets.token_hex(4)}"
        frame = {
            "specVersion": "1.0",
            "type": frame_type,
            "headers": {
                "appId": "fake-app-id",
                "connectionId": "fake-connection",
                "contentType": "application/json",
                "messageId": message_id,
                "time": "1790000000000",
                "topic": topic,
            },
            "data": json.dumps(data, ensure_ascii=False),
        }
        await self.ws.send(json.dumps(frame, ensure_ascii=False))
        return message_id

    async def push_message(self, payload: dict[str, Any]) -> str:
        """Push a robot message (a `callback_payload` body) as a CALLBACK frame."""
        return await self.push("CALLBACK", BOT_TOPIC, payload)

    async def ping(self, opaque: str) -> str:
        """Send SYSTEM ping with an `opaque` the client must echo."""
        return await self.push("SYSTEM", "ping", {"opaque": opaque})

    async def disconnect(self) -> str:
        """Send SYSTEM disconnect (the server's routine load-balancing request)."""
        return await self.push("SYSTEM", "disconnect", {"reason": "fake rebalance"})

    async def push_event(self, event_type: str = "user_add_org") -> str:
        """Send an EVENT frame."""
        return await self.push("EVENT", "*", {"eventType": event_type})

    async def send_raw(self, text: str) -> None:
        """Send any text, e.g. a malformed frame."""
        await self.ws.send(text)

    async def ack_for(self, message_id: str, timeout: float = 5.0) -> dict[str, Any]:
        """Wait for the client's answer to `message_id`."""
        await eventually(lambda: self._find(message_id) is not None, timeout)
        found = self._find(message_id)
        assert found is not None
        return found

    def _find(self, message_id: str) -> dict[str, Any] | None:
        for frame in self.received:
            headers = frame.get("headers")
            if isinstance(headers, dict) and headers.get("messageId") == message_id:
                return frame
        return None

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close cleanly with a close frame."""
        await self.ws.close(code, reason)

    def drop(self) -> None:
        """Cut the TCP connection without a close frame."""
        self.ws.transport.abort()


class FakeStreamGateway:
    """connections/open (checks the credentials, issues one-use tickets) and the WS endpoint."""

    def __init__(self, *, app_key: str = APP_KEY, app_secret: str = APP_SECRET) -> None:
        self.app_key = app_key
        self.app_secret = app_secret
        self.http = FakeServer()
        self.http.route("POST", OPEN_PATH, self._open)
        self.connections: list[StreamConnection] = []
        self.rejected = 0  # WebSocket handshakes refused for a bad ticket
        self._tickets: set[str] = set()
        self._lock = threading.Lock()
        self._server: Server | None = None
        self._port = 0

    async def __aenter__(self) -> FakeStreamGateway:
        self._server = await serve(self._handle, "127.0.0.1", 0, process_request=self._check_ticket)
        self._port = next(iter(self._server.sockets)).getsockname()[1]
        self.http.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.http.stop()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    @property
    def base_url(self) -> str:
        """Use as `api_base` of the client."""
        return self.http.base_url

    @property
    def ws_url(self) -> str:
        """The endpoint connections/open hands out."""
        return f"ws://127.0.0.1:{self._port}{WS_PATH}"

    def opens(self) -> list[Recorded]:
        """The connections/open requests received so far."""
        return self.http.received(OPEN_PATH)

    def fail_next_open(self, *answers: Scripted) -> None:
        """Answer the next connections/open requests with these."""
        self.http.fail_next(OPEN_PATH, *answers)

    async def connection(self, n: int = 1, timeout: float = 5.0) -> StreamConnection:
        """Wait for the n-th accepted WebSocket (1-based) and return it."""
        await eventually(lambda: len(self.connections) >= n, timeout)
        return self.connections[n - 1]

    def _open(self, request: Recorded) -> Scripted:
        try:
            body = request.json()
        except ValueError:
            body = {}
        if (
            not isinstance(body, dict)
            or body.get("clientId") != self.app_key
            or body.get("clientSecret") != self.app_secret
        ):
            return Scripted(401, {"code": "invalidClientIdOrSecret", "message": "无效的clientId"})
        subscriptions = body.get("subscriptions")
        wanted = {"type": "CALLBACK", "topic": BOT_TOPIC}
        if not isinstance(subscriptions, list) or wanted not in subscriptions:
            return Scripted(400, {"code": "invalidParameter", "message": "subscriptions"})
        ticket = secrets.token_urlsafe(12)
        with self._lock:
            self._tickets.add(ticket)
        return Scripted(200, {"endpoint": self.ws_url, "ticket": ticket})

    def _check_ticket(self, connection: ServerConnection, request: Request) -> Response | None:
        parts = urlsplit(request.path)
        ticket = parse_qs(parts.query).get("ticket", [""])[0]
        with self._lock:
            valid = parts.path == WS_PATH and ticket in self._tickets
            self._tickets.discard(ticket)  # one connection per ticket
        if valid:
            return None
        self.rejected += 1
        return connection.respond(HTTPStatus.FORBIDDEN, "bad ticket\n")

    async def _handle(self, ws: ServerConnection) -> None:
        connection = StreamConnection(ws)
        self.connections.append(connection)
        try:
            with contextlib.suppress(ConnectionClosed):  # a dropped client is a normal end
                async for raw in ws:
                    decoded = json.loads(raw)
                    if isinstance(decoded, dict):
                        connection.received.append(decoded)
        finally:
            connection.closed.set()
