"""DingTalk Stream mode: robot messages over an outbound WebSocket, no public URL needed.

The SDK's own client (`DingTalkStreamClient.start`) is not used: it opens the connection with a
blocking `requests` call without a timeout, acks a message only after handling it, swallows the
first cancellation and sleeps a fixed 10 s between attempts. Here the open-connection request
goes through httpx with a timeout, the socket through `websockets`, and the SDK supplies the
frame models and ack format (`dingtalk_stream_frames`). A robot message is acked at once (DingTalk
never redelivers one) and then handed to the inbox in its own task; replies go through the
outbox to the session webhook, never back on the socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote_plus

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from bot.platforms.base import CallbackRejectedError, Inbox
from bot.platforms.dingtalk_callback import decode_message
from bot.platforms.dingtalk_stream_frames import (
    BOT_TOPIC,
    CALLBACK,
    DISCONNECT_TOPIC,
    EVENT,
    OPEN_PATH,
    SYSTEM,
    USER_AGENT,
    Backoff,
    Frame,
    FrameError,
    callback_ack,
    event_ack,
    open_request,
    parse_frame,
    system_ack,
)

log = logging.getLogger(__name__)

STABLE_SECONDS = 60.0  # a connection that lived this long resets the backoff
LINGER_SECONDS = 15.0  # after `disconnect`, keep reading the old socket this long at most
MAX_FRAME_BYTES = 1024 * 1024
CLOSE_SECONDS = 2.0  # how long a closing handshake may hold up a reconnect or a stop


@dataclass(frozen=True)
class _Ended:
    """Why a connection attempt ended, and whether it worked well enough to reset the backoff."""

    reason: str
    healthy: bool = False
    disconnect: bool = False


class DingTalkStream:
    """One Stream connection for one app, kept up (with backoff) until told to stop."""

    def __init__(
        self,
        app_key: str,
        app_secret: str,
        inbox: Inbox,
        *,
        api_base: str,
        clock: Callable[[], datetime],
        initial_backoff: float = 1.0,
        max_backoff: float = 30.0,
        timeout: float = 10.0,
        drain_seconds: float = 5.0,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self._app_key = app_key
        self._app_secret = app_secret
        self._inbox = inbox
        self._open_url = api_base.rstrip("/") + OPEN_PATH
        self._clock = clock
        self._backoff = Backoff(initial_backoff, max_backoff)
        self._timeout = timeout
        self._drain_seconds = drain_seconds
        self._http = http
        self._local_ip: str | None = None
        self._handling: set[asyncio.Task[None]] = set()  # messages acked, not yet in the inbox
        self._lingering: set[asyncio.Task[None]] = set()  # sockets told to disconnect

    async def run(self, stop: asyncio.Event) -> None:
        """Stay connected until `stop` is set, reconnecting after every failure; never raises."""
        client = self._http or httpx.AsyncClient(timeout=self._timeout)
        last_disconnect = False
        try:
            while not stop.is_set():
                ended = await _unless_stopped(stop, self._connect_once(client))
                if ended is None:
                    break
                if ended.healthy:
                    self._backoff.reset()
                # A `disconnect` is routine load balancing: reconnect at once, but only once in a row.
                immediate = ended.disconnect and not last_disconnect
                last_disconnect = ended.disconnect
                delay = 0.0 if immediate else self._backoff.next()
                log.info("dingtalk stream: %s; reconnecting in %.2f s", ended.reason, delay)
                if await _wait(stop, delay):
                    break
        except Exception:
            log.exception("dingtalk stream: unexpected failure, stream stopped")
        finally:
            await self._shutdown(client)
        log.info("dingtalk stream: stopped")

    async def _connect_once(self, client: httpx.AsyncClient) -> _Ended:
        try:
            return await self._session(client)
        except Exception as exc:  # a bug or an unforeseen error: log it and retry later
            log.exception("dingtalk stream: connection failed unexpectedly")
            return _Ended(f"error {type(exc).__name__}")

    async def _session(self, client: httpx.AsyncClient) -> _Ended:
        opened = await self._open(client)
        if opened is None:
            return _Ended("could not open a connection")
        endpoint, ticket = opened
        try:
            ws = await connect(
                f"{endpoint}?ticket={quote_plus(ticket)}",
                open_timeout=self._timeout,
                close_timeout=CLOSE_SECONDS,
                max_size=MAX_FRAME_BYTES,
                user_agent_header=USER_AGENT,
            )
        except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as exc:
            detail = type(exc).__name__ if isinstance(exc, InvalidURI) else _describe(exc)
            log.warning("dingtalk stream: cannot connect to %s: %s", endpoint, detail)
            return _Ended("websocket refused")
        log.info("dingtalk stream: connected to %s", endpoint)
        handed_over = False
        try:
            ended = await self._read(ws)
            if ended.disconnect:  # keep taking messages on the old socket while a new one opens
                self._spawn(self._lingering, self._linger(ws))
                handed_over = True
            return ended
        finally:
            if not handed_over:
                await ws.close()

    async def _open(self, client: httpx.AsyncClient) -> tuple[str, str] | None:
        if self._local_ip is None:
            self._local_ip = await asyncio.to_thread(_local_ip)
        body = open_request(self._app_key, self._app_secret, self._local_ip)
        try:
            response = await client.post(
                self._open_url, json=body, headers={"Accept": "application/json"}
            )
        except httpx.HTTPError as exc:
            log.warning("dingtalk stream: connections/open failed: %s", _describe(exc))
            return None
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.status_code != 200 or not isinstance(answer, dict):
            log.error(
                "dingtalk stream: connections/open refused for app %s: HTTP %s %s",
                self._app_key,
                response.status_code,
                self._redact(_error_text(answer, response.text)),
            )
            return None
        endpoint, ticket = answer.get("endpoint"), answer.get("ticket")
        if (
            not isinstance(endpoint, str)
            or not endpoint.startswith(("ws://", "wss://"))
            or not isinstance(ticket, str)
            or not ticket
        ):
            log.error("dingtalk stream: connections/open answered without endpoint/ticket")
            return None
        return endpoint, ticket

    async def _read(self, ws: ClientConnection) -> _Ended:
        opened_at = self._clock()
        got_frame = False
        try:
            async for raw in ws:
                got_frame = True
                if await self._on_frame(ws, raw):
                    return _Ended("server asked to reconnect", healthy=True, disconnect=True)
            reason = f"server closed the connection ({_close_code(ws)})"
        except ConnectionClosed as exc:
            reason = f"connection lost ({_describe(exc)})"
        lived = (self._clock() - opened_at).total_seconds()
        return _Ended(reason, healthy=got_frame or lived >= STABLE_SECONDS)

    async def _linger(self, ws: ClientConnection) -> None:
        try:
            async with asyncio.timeout(LINGER_SECONDS):
                await self._read(ws)
        except TimeoutError:
            pass
        finally:
            await ws.close()

    async def _on_frame(self, ws: ClientConnection, raw: str | bytes) -> bool:
        """Answer one frame; True when the server asks this connection to go away."""
        try:
            frame = parse_frame(raw)
        except FrameError as exc:
            log.warning("dingtalk stream: ignoring a frame: %s", exc)
            return False
        if frame.type == CALLBACK:
            if frame.topic != BOT_TOPIC:
                log.warning("dingtalk stream: ignoring callback topic %r", frame.topic[:80])
            await _send(ws, callback_ack(frame.message_id))  # ack first: handling may be slow
            if frame.topic == BOT_TOPIC:
                self._spawn(self._handling, self._deliver(frame))
        elif frame.type == EVENT:
            await _send(ws, event_ack(frame.message_id))
        elif frame.type == SYSTEM:
            await _send(ws, system_ack(frame))
            if frame.topic == DISCONNECT_TOPIC:
                return True
        return False

    async def _deliver(self, frame: Frame) -> None:
        try:
            message = decode_message(frame.data)
        except CallbackRejectedError as exc:
            log.warning("dingtalk stream: dropped frame %s: %s", frame.message_id, exc.reason)
            return
        if message is None:
            log.debug("dingtalk stream: ignored a non-text message %s", frame.message_id)
            return
        try:
            await self._inbox.receive(message)
        except Exception:
            log.exception("dingtalk stream: inbox failed on message %s", message.message_id)

    def _spawn(self, tasks: set[asyncio.Task[None]], coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def _shutdown(self, client: httpx.AsyncClient) -> None:
        for task in list(self._lingering):
            task.cancel()
        if self._handling:  # acked messages are lost unless they reach the inbox: give them time
            _, late = await asyncio.wait(set(self._handling), timeout=self._drain_seconds)
            for task in late:
                log.warning("dingtalk stream: gave up on an acked message at shutdown")
                task.cancel()
        await asyncio.gather(*self._lingering, *self._handling, return_exceptions=True)
        if self._http is None:
            await client.aclose()

    def _redact(self, text: str) -> str:
        return text.replace(self._app_secret, "***") if self._app_secret else text


async def _unless_stopped(stop: asyncio.Event, coro: Coroutine[Any, Any, _Ended]) -> _Ended | None:
    """Run `coro` until it ends or `stop` is set (then cancel it and return None)."""
    work = asyncio.create_task(coro)
    stopped = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({work, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
        if not work.done():
            work.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await work
    if work.cancelled():
        return None
    return work.result()


async def _wait(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep up to `seconds`; True when `stop` was set meanwhile."""
    if seconds <= 0:
        return stop.is_set()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await stop.wait()
    return stop.is_set()


async def _send(ws: ClientConnection, text: str) -> None:
    try:
        await ws.send(text)
    except ConnectionClosed:
        log.warning("dingtalk stream: connection closed before an ack could be sent")


def _local_ip() -> str:
    """This host's outbound IPv4 address, as the SDK reports it (a UDP connect sends nothing)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("8.8.8.8", 80))
            return str(probe.getsockname()[0])
    except OSError:
        return ""


def _error_text(answer: object, text: str) -> str:
    if isinstance(answer, dict):
        return f"{answer.get('code', '')} {answer.get('message', '')}".strip()[:200]
    return text[:200]


def _close_code(ws: ClientConnection) -> str:
    return f"code {ws.close_code}" if ws.close_code is not None else "no close frame"


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]
