"""WeCom AI bot (智能机器人) over its long connection: receive @-messages, reply, push.

One WebSocket per bot to `wss://openws.work.weixin.qq.com`: subscribe with the bot id and
secret, ping every `heartbeat` seconds, hand `aibot_msg_callback` bodies (the same JSON the HTTP
callback carries, unencrypted) to the inbox in their own tasks and answer each with a finished
stream (`aibot_respond_msg`, the callback's req_id; with the reply's card when it has one); card
taps (`aibot_event_callback` template_card_event) likewise, answered by
`aibot_respond_update_msg`. `push` sends proactive markdown
(`aibot_send_msg`), `push_media` a file or image (chunked upload, see wecom_ws_media). Unlike the official SDK it reconnects after ANY close, clean ones included,
with jittered exponential backoff, forever, until `stop` is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from bot.platforms.base import Inbox, Outcome, SendResult
from bot.platforms.wecom_ws_frames import (
    ACK_TIMEOUT,
    CONNECTION_LOST,
    DISCONNECTED_EVENT,
    EVENT_CALLBACK,
    MSG_CALLBACK,
    NOT_CONNECTED,
    PING,
    RESPOND_MSG,
    SEND_MSG,
    SUBSCRIBE,
    TEMPLATE_CARD_EVENT,
    decode,
    errcode,
    errmsg,
    event_type,
    frame,
    markdown_body,
    new_req_id,
    push_result,
    req_id_of,
)
from bot.platforms.wecom_ws_inbound import answer_callback
from bot.platforms.wecom_ws_media import send_media

if TYPE_CHECKING:
    from bot.attachments import OutboundFile

log = logging.getLogger(__name__)
# websockets logs every frame at DEBUG, the subscribe frame (with the secret) included: its
# logger for our connections never goes below INFO.
_socket_log = logging.getLogger(f"{__name__}.socket")
_socket_log.setLevel(logging.INFO)

DEFAULT_URL = "wss://openws.work.weixin.qq.com"
MISSED_PINGS = 2  # unacknowledged pings before the connection counts as dead
_random = secrets.SystemRandom()


def jittered(delay: float) -> float:
    """A wait between half of `delay` and `delay` (spreads reconnects of many instances)."""
    return _random.uniform(delay / 2, delay)


@dataclass
class _Session:
    """How one connection went, to choose the next backoff."""

    authenticated: bool = False
    kicked: bool = False
    started: float = 0.0


class WeComLongConnection:
    """The AI bot's long connection: `run` it in the background, `push` through it."""

    def __init__(
        self,
        bot_id: str,
        secret: str,
        inbox: Inbox,
        clock: Callable[[], datetime],
        url: str = DEFAULT_URL,
        *,
        heartbeat: float = 30.0,
        ack_timeout: float = 5.0,
        backoff_initial: float = 1.0,
        backoff_max: float = 30.0,
        open_timeout: float = 10.0,
    ) -> None:
        self.bot_id = bot_id
        self._secret = secret
        self.inbox = inbox
        self.clock = clock
        self.url = url
        self.heartbeat = heartbeat
        self.ack_timeout = ack_timeout
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.open_timeout = open_timeout
        self._ws: ClientConnection | None = None  # set only while subscribed
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._missed_pings = 0

    def __repr__(self) -> str:
        return f"WeComLongConnection(bot_id={self.bot_id!r}, url={self.url!r})"

    @property
    def connected(self) -> bool:
        """True while a subscribed connection is open."""
        return self._ws is not None

    async def run(self, stop: asyncio.Event) -> None:
        """Stay connected until `stop` is set; never raises (except cancellation)."""
        delay = self.backoff_initial
        loop = asyncio.get_running_loop()
        try:
            while not stop.is_set():
                session = _Session(started=loop.time())
                try:
                    await self._until_stopped(self._session(session), stop)
                except (OSError, TimeoutError, WebSocketException) as exc:
                    log.warning("wecom long connection to %s failed: %r", self.url, exc)
                except Exception:
                    log.exception("wecom long connection for bot %s failed", self.bot_id)
                if stop.is_set():
                    break
                stable = loop.time() - session.started >= min(self.heartbeat, self.backoff_max)
                if session.authenticated and stable and not session.kicked:
                    delay = self.backoff_initial
                wait = jittered(delay)
                log.info("wecom long connection: reconnecting in %.1f s", wait)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), wait)
                delay = min(delay * 2, self.backoff_max)
        finally:
            await self._shutdown()

    async def _until_stopped(self, work: Coroutine[Any, Any, None], stop: asyncio.Event) -> None:
        """Run `work` until it ends or `stop` is set (then cancel it and wait for it)."""
        task = asyncio.create_task(work)
        waiter = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            if not task.done():
                task.cancel()
            await asyncio.gather(task, waiter, return_exceptions=True)
        if not task.cancelled() and (error := task.exception()) is not None:
            raise error

    async def _shutdown(self) -> None:
        self._ws = None
        self._fail_pending()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _session(self, session: _Session) -> None:
        """One connection: open, subscribe, then read and ping until it ends."""
        async with connect(
            self.url,
            open_timeout=self.open_timeout,
            close_timeout=2.0,
            ping_interval=None,  # application pings, as the official SDKs do
            logger=_socket_log,
        ) as ws:
            tasks = [asyncio.create_task(self._read(ws, session))]
            try:
                if await self._subscribe(ws):
                    session.authenticated = True
                    self._missed_pings = 0
                    self._ws = ws
                    log.info(
                        "wecom long connection: bot %s subscribed at %s", self.bot_id, self.url
                    )
                    tasks.append(asyncio.create_task(self._heartbeat(ws)))
                    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            finally:
                self._ws = None
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                self._fail_pending()
        if session.authenticated:
            reason = f" {ws.close_reason}" if ws.close_reason else ""
            log.warning("wecom long connection closed (code %s%s)", ws.close_code, reason)

    async def _subscribe(self, ws: ClientConnection) -> bool:
        body = {"bot_id": self.bot_id, "secret": self._secret}
        try:
            ack = await self._request(ws, SUBSCRIBE, body)
        except TimeoutError:
            log.warning(
                "wecom long connection: no answer to subscribe within %.0f s", self.ack_timeout
            )
            return False
        except (ConnectionClosed, ConnectionError):
            log.warning("wecom long connection: closed before the subscribe was answered")
            return False
        code = errcode(ack)
        if code != 0:
            reason = errmsg(ack).replace(self._secret, "***") if self._secret else errmsg(ack)
            log.error(
                "wecom long connection: subscribe refused for bot %s (errcode %s: %s); "
                "check ZHIBU_WECOM_BOT_ID and ZHIBU_WECOM_BOT_SECRET",
                self.bot_id,
                code,
                reason,
            )
            return False
        return True

    async def _request(
        self, ws: ClientConnection, cmd: str, body: dict[str, Any], req_id: str | None = None
    ) -> dict[str, Any]:
        """Send one frame and wait for its ack (TimeoutError, ConnectionClosed on failure)."""
        req_id = req_id or new_req_id(cmd)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[req_id] = future
        try:
            await ws.send(frame(cmd, req_id, body))
            return await asyncio.wait_for(future, self.ack_timeout)
        finally:
            if self._pending.get(req_id) is future:
                del self._pending[req_id]

    def _fail_pending(self) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionError("wecom long connection closed"))
        self._pending.clear()

    async def _read(self, ws: ClientConnection, session: _Session) -> None:
        """Route incoming frames until the socket closes or another connection takes over."""
        try:
            async for raw in ws:
                data = decode(raw)
                cmd = data.get("cmd") if data is not None else None
                if data is None:
                    log.warning("wecom long connection: ignored a frame that is not JSON")
                elif cmd == MSG_CALLBACK:
                    self._spawn(self._on_message(ws, data))
                elif cmd != EVENT_CALLBACK:
                    self._on_ack(data)
                elif event_type(data) == TEMPLATE_CARD_EVENT:
                    self._spawn(self._on_message(ws, data))
                elif event_type(data) == DISCONNECTED_EVENT:
                    log.warning(
                        "wecom long connection: another connection for bot %s took over; "
                        "run one instance per bot (reconnecting after backoff)",
                        self.bot_id,
                    )
                    session.kicked = True
                    return
                else:  # enter_chat, feedback_event
                    log.debug("wecom long connection: event %s ignored", event_type(data) or "?")
        finally:
            self._fail_pending()  # nothing more will be acknowledged on this socket

    def _on_ack(self, data: dict[str, Any]) -> None:
        req_id = req_id_of(data)
        if req_id.startswith(f"{PING}_"):
            self._missed_pings = 0
            return
        future = self._pending.get(req_id)
        if future is not None and not future.done():
            future.set_result(data)
        else:
            log.debug("wecom long connection: unmatched frame %s", data.get("cmd") or req_id)

    async def _heartbeat(self, ws: ClientConnection) -> None:
        """Ping every `heartbeat` seconds; return when pings go unanswered."""
        while True:
            await asyncio.sleep(self.heartbeat)
            if self._missed_pings >= MISSED_PINGS:
                log.warning("wecom long connection: %d pings unanswered", self._missed_pings)
                return
            self._missed_pings += 1
            await ws.send(frame(PING, new_req_id(PING)))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _on_message(self, ws: ClientConnection, data: dict[str, Any]) -> None:
        """Dispatch one callback (message or card tap); answer it on the connection it came on."""
        req_id = req_id_of(data)

        async def respond(cmd: str, body: dict[str, Any]) -> bool:
            return await self._respond(ws, req_id, body, cmd)

        try:
            await answer_callback(data, self.inbox, self.clock, respond)
        except Exception:
            log.exception("wecom long connection: callback %s failed", req_id)

    async def _respond(
        self, ws: ClientConnection, req_id: str, body: dict[str, Any], cmd: str = RESPOND_MSG
    ) -> bool:
        """Answer a callback; True once WeCom acknowledged it (else the outbox sends later)."""
        try:
            ack = await self._request(ws, cmd, body, req_id=req_id)
        except (TimeoutError, ConnectionClosed, ConnectionError) as exc:
            log.warning(
                "wecom long connection: reply to %s not acknowledged (%s)",
                req_id,
                type(exc).__name__,
            )
            return False
        if errcode(ack) != 0:
            log.warning(
                "wecom long connection: reply to %s refused (%s: %s)",
                req_id,
                errcode(ack),
                errmsg(ack),
            )
            return False
        return True

    async def push_media(self, chat_id: str, file: OutboundFile) -> SendResult:
        """Upload a file or image on the connection and send it to a chat; never raises."""
        ws = self._ws
        if ws is None:
            return SendResult(Outcome.RETRY, NOT_CONNECTED)

        async def request(cmd: str, body: dict[str, Any]) -> dict[str, Any]:
            return await self._request(ws, cmd, body)

        try:
            return await send_media(request, chat_id, file)
        except TimeoutError:
            return SendResult(Outcome.RETRY, ACK_TIMEOUT)
        except (ConnectionClosed, ConnectionError):
            return SendResult(Outcome.RETRY, CONNECTION_LOST)
        except Exception as exc:
            log.exception("wecom long connection: file to %s failed unexpectedly", chat_id)
            return SendResult(Outcome.RETRY, f"企业微信长连接发送文件出错（{type(exc).__name__}）")

    async def push(self, chat_id: str, text: str, mentions: tuple[str, ...] = ()) -> SendResult:
        """Send one markdown message to a chat (`aibot_send_msg`); never raises.

        `mentions` are not rendered: the AI bot's markdown has no documented @-syntax, and the
        reply texts already name the members.
        """
        ws = self._ws
        if ws is None:
            return SendResult(Outcome.RETRY, NOT_CONNECTED)
        try:
            ack = await self._request(ws, SEND_MSG, markdown_body(chat_id, text))
        except TimeoutError:
            return SendResult(Outcome.RETRY, ACK_TIMEOUT)
        except (ConnectionClosed, ConnectionError):
            return SendResult(Outcome.RETRY, CONNECTION_LOST)
        except Exception as exc:
            log.exception("wecom long connection: push to %s failed unexpectedly", chat_id)
            return SendResult(Outcome.RETRY, f"企业微信长连接发送出错（{type(exc).__name__}）")
        return push_result(ack)
