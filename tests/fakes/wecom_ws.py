"""A fake WeCom AI-bot long-connection server on 127.0.0.1 (plain ws://, same event loop).

It checks the subscribe body, acknowledges every request (`{"headers":{"req_id"},"errcode",
"errmsg"}`), records every frame, pushes message and event callbacks to the newest connection,
and misbehaves on demand: refuse auth, ignore pings, delay or withhold acks, scripted errcodes,
close cleanly or with 1011, or drop the TCP connection without a close frame.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import logging
import secrets
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from bot.message import Card, DispatchResult, Message, Outgoing
from bot.platforms.wecom_ws import WeComLongConnection

OK = (0, "ok")
# The fake logs no frames: they carry the secret, and tests check the client never logs it.
_server_log = logging.getLogger("tests.fakes.wecom_ws")
_server_log.setLevel(logging.WARNING)
REFUSED = (40001, "invalid bot_id or secret")


@dataclass(frozen=True)
class Received:
    """One frame the fake received, on which connection (0, 1, …) and when (loop time)."""

    connection: int
    at: float
    data: dict[str, Any]

    @property
    def cmd(self) -> str:
        """The frame's cmd."""
        return str(self.data.get("cmd") or "")

    @property
    def req_id(self) -> str:
        """The frame's headers.req_id."""
        return str(self.data.get("headers", {}).get("req_id") or "")

    @property
    def body(self) -> dict[str, Any]:
        """The frame's body."""
        body: dict[str, Any] = self.data.get("body") or {}
        return body


@dataclass
class FakeWeComWS:
    """`async with FakeWeComWS() as fake:` then point the client at `fake.url`."""

    bot_id: str = "BOT1"
    secret: str = "s3cr3t-bot-secret"
    frames: list[Received] = field(default_factory=list)
    opened: list[float] = field(default_factory=list)  # loop time of each accepted connection
    refuse_auth: int = 0  # refuse this many subscribes (then accept)
    answer_pings: bool = True
    ack_delay: float = 0.0
    withhold: set[str] = field(default_factory=set)  # cmds never acknowledged
    errcodes: dict[str, deque[tuple[int, str]]] = field(default_factory=dict)
    refused: list[Received] = field(default_factory=list)
    # Media uploads: upload_id -> (init body, chunks so far); finished ones by media_id.
    uploading: dict[str, tuple[dict[str, Any], list[bytes]]] = field(default_factory=dict)
    media: dict[str, tuple[str, str, bytes]] = field(default_factory=dict)  # type, name, bytes
    _server: Server | None = None
    _connections: list[ServerConnection] = field(default_factory=list)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def __aenter__(self) -> FakeWeComWS:
        self._server = await serve(
            self._handle, "127.0.0.1", 0, ping_interval=None, logger=_server_log
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    @property
    def url(self) -> str:
        """ws://127.0.0.1:PORT of the running fake."""
        assert self._server is not None
        port = next(iter(self._server.sockets)).getsockname()[1]
        return f"ws://127.0.0.1:{port}"

    def sent(self, cmd: str) -> list[Received]:
        """Frames received with this cmd, in order."""
        return [f for f in self.frames if f.cmd == cmd]

    def script(self, cmd: str, *answers: tuple[int, str]) -> None:
        """Acknowledge the next `cmd` requests with these (errcode, errmsg), then with ok."""
        self.errcodes.setdefault(cmd, deque()).extend(answers)

    @property
    def subscribed(self) -> int:
        """How many subscribes were accepted."""
        return len(self.sent("aibot_subscribe")) - len(self.refused)

    @property
    def current(self) -> ServerConnection:
        """The newest connection."""
        return self._connections[-1]

    async def until(self, condition: Callable[[], bool], timeout: float = 3.0) -> None:
        """Wait until `condition()` holds (AssertionError after `timeout` seconds)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition():
            if loop.time() > deadline:
                raise AssertionError("condition not met in time")
            await asyncio.sleep(0.005)

    async def push(self, cmd: str, body: dict[str, Any], req_id: str | None = None) -> str:
        """Send a callback frame to the newest connection; return its req_id."""
        req_id = req_id or f"{cmd}_{secrets.token_hex(4)}"
        frame = {"cmd": cmd, "headers": {"req_id": req_id}, "body": body}
        await self.current.send(json.dumps(frame, ensure_ascii=False))
        return req_id

    async def message(self, body: dict[str, Any]) -> str:
        """Push an `aibot_msg_callback` carrying `body`; return its req_id."""
        return await self.push("aibot_msg_callback", body)

    async def event(self, eventtype: str, **extra: Any) -> str:
        """Push an `aibot_event_callback` of this event type; return its req_id."""
        body: dict[str, Any] = {"msgid": secrets.token_hex(8), "aibotid": self.bot_id}
        body |= {"msgtype": "event", "event": {"eventtype": eventtype, **extra}}
        return await self.push("aibot_event_callback", body)

    async def tap(self, body: dict[str, Any]) -> str:
        """Push a card tap: an `aibot_event_callback` carrying `body` (see `ai_bot_card_tap`)."""
        return await self.push("aibot_event_callback", body)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the newest connection with a close frame."""
        await self.current.close(code, reason)

    def drop(self) -> None:
        """Drop the newest connection's TCP without a close frame."""
        self.current.transport.abort()

    async def _handle(self, ws: ServerConnection) -> None:
        index = len(self._connections)
        self._connections.append(ws)
        loop = asyncio.get_running_loop()
        self.opened.append(loop.time())
        try:
            async for raw in ws:
                received = Received(index, loop.time(), json.loads(raw))
                self.frames.append(received)
                self._answer(ws, received)
        except ConnectionClosed:
            pass

    def _answer(self, ws: ServerConnection, received: Received) -> None:
        if received.cmd == "aibot_subscribe":
            expected = {"bot_id": self.bot_id, "secret": self.secret}
            if self.refuse_auth > 0 or received.body != expected:
                self.refuse_auth = max(self.refuse_auth - 1, 0)
                self.refused.append(received)
                self._ack(ws, received.req_id, REFUSED)
                return
        elif received.cmd == "ping" and not self.answer_pings:
            return
        if received.cmd in self.withhold:
            return
        queue = self.errcodes.get(received.cmd)
        answer = queue.popleft() if queue else OK
        body = self._media(received) if answer[0] == 0 else None
        self._ack(ws, received.req_id, answer, body)

    def _media(self, received: Received) -> dict[str, Any] | None:
        """Play the media upload steps; the ack body they return."""
        body = received.body
        if received.cmd == "aibot_upload_media_init":
            upload_id = f"UP{len(self.uploading) + 1}"
            self.uploading[upload_id] = (body, [])
            return {"upload_id": upload_id}
        if received.cmd == "aibot_upload_media_chunk":
            _init, chunks = self.uploading[body["upload_id"]]
            assert body["chunk_index"] == len(chunks), "chunks out of order"
            chunks.append(base64.b64decode(body["base64_data"]))
            return None
        if received.cmd == "aibot_upload_media_finish":
            init, chunks = self.uploading[body["upload_id"]]
            data = b"".join(chunks)
            assert len(chunks) == init["total_chunks"] and len(data) == init["total_size"]
            assert hashlib.md5(data, usedforsecurity=False).hexdigest() == init["md5"]
            media_id = f"WSMEDIA{len(self.media) + 1}"
            self.media[media_id] = (init["type"], init["filename"], data)
            return {"type": init["type"], "media_id": media_id, "created_at": "1700000000"}
        return None

    def _ack(
        self,
        ws: ServerConnection,
        req_id: str,
        answer: tuple[int, str],
        body: dict[str, Any] | None = None,
    ) -> None:
        frame: dict[str, Any] = {
            "headers": {"req_id": req_id},
            "errcode": answer[0],
            "errmsg": answer[1],
        }
        if body is not None:
            frame["body"] = body
        task = asyncio.create_task(self._send_later(ws, json.dumps(frame)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send_later(self, ws: ServerConnection, text: str) -> None:
        if self.ack_delay:
            await asyncio.sleep(self.ack_delay)
        with contextlib.suppress(ConnectionClosed):
            await ws.send(text)


class MemoryInbox:
    """An in-memory inbox: records messages, answers each with `answer(message)` texts.

    A message whose text is a key of `hold` waits in `receive` until that event is set; `card`,
    when given, puts its card (if any) on the first reply.
    """

    def __init__(
        self,
        answer: Callable[[Message], list[str]] | None = None,
        card: Callable[[Message], Card | None] | None = None,
    ) -> None:
        self.card = card
        self.received: list[Message] = []
        self.delivered_ids: list[int] = []
        self.hold: dict[str, asyncio.Event] = {}
        self.answer = answer or (lambda message: [f"已收到：{message.text}"])
        self._next_id = 0

    async def receive(self, message: Message) -> DispatchResult:
        """Record the message, wait if held, answer with numbered outbox replies."""
        self.received.append(message)
        gate = self.hold.get(message.text)
        if gate is not None:
            await gate.wait()
        replies: list[Outgoing] = []
        card = self.card(message) if self.card else None
        for text in self.answer(message):
            self._next_id += 1
            replies.append(
                Outgoing(self._next_id, message.chat_id, text, card=None if replies else card)
            )
        return DispatchResult(replies=tuple(replies))

    async def delivered(self, outbox_ids: Sequence[int]) -> None:
        """Record which replies went back in a stream."""
        self.delivered_ids.extend(outbox_ids)


Scenario = Callable[[FakeWeComWS, WeComLongConnection, MemoryInbox], Awaitable[None]]
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def play(
    scenario: Scenario,
    *,
    fake: FakeWeComWS | None = None,
    inbox: MemoryInbox | None = None,
    timeout: float = 8.0,
    **options: Any,
) -> None:
    """Run `scenario` against a fake server and a running connection, then stop both."""
    options = {"backoff_initial": 0.02, "backoff_max": 0.1, "ack_timeout": 1.0} | options

    async def main() -> None:
        async with fake or FakeWeComWS() as server:
            memory = inbox or MemoryInbox()
            connection = WeComLongConnection(
                server.bot_id, server.secret, memory, lambda: NOW, server.url, **options
            )
            stop = asyncio.Event()
            runner = asyncio.create_task(connection.run(stop))
            try:
                await asyncio.wait_for(scenario(server, connection, memory), timeout)
            finally:
                stop.set()
                # Closing may wait out the client's 2 s close handshake on a loaded machine;
                # promptness itself is asserted by test_stop_ends_run_promptly_*.
                await asyncio.wait_for(runner, 10.0)

    asyncio.run(main())
