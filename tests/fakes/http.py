"""A real HTTP server on 127.0.0.1 for fake platform APIs: records requests, scripts failures."""

from __future__ import annotations

import email.policy
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Recorded:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)

    def form(self) -> dict[str, tuple[str | None, bytes]]:
        """A multipart/form-data body: field name -> (file name or None, bytes)."""
        head = f"Content-Type: {self.headers.get('content-type', '')}\r\n\r\n".encode()
        message = BytesParser(policy=email.policy.HTTP).parsebytes(head + self.body)
        fields: dict[str, tuple[str | None, bytes]] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if isinstance(name, str) and isinstance(payload, bytes):
                fields[name] = (part.get_filename(), payload)
        return fields


@dataclass
class Scripted:
    """A canned answer: status, JSON body, and an optional delay before answering."""

    status: int = 200
    body: Any = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False  # close the connection without answering


Route = Callable[["Recorded"], Scripted]


class FakeServer:
    """Routes by (method, path); answers scripted failures first, then the route's answer."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.routes: dict[tuple[str, str], Route] = {}
        self._script: dict[str, deque[Scripted]] = {}
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:PORT of the running server."""
        assert self._httpd is not None
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def route(self, method: str, path: str, handler: Route) -> None:
        """Answer requests to `path` with `handler`."""
        self.routes[(method, path)] = handler

    def fail_next(self, path: str, *answers: Scripted) -> None:
        """Answer the next requests to `path` with these, before the normal route."""
        with self._lock:
            self._script.setdefault(path, deque()).extend(answers)

    def received(self, path: str | None = None) -> list[Recorded]:
        """Requests received so far (for one path, if given)."""
        with self._lock:
            return [r for r in self.requests if path is None or r.path == path]

    def _answer(self, recorded: Recorded) -> Scripted:
        with self._lock:
            self.requests.append(recorded)
            queue = self._script.get(recorded.path)
            if queue:
                return queue.popleft()
        handler = self.routes.get((recorded.method, recorded.path))
        if handler is None:
            return Scripted(404, {"error": "no such route"})
        return handler(recorded)

    def start(self) -> None:
        """Listen on a free port of 127.0.0.1 in a background thread."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                recorded = Recorded(
                    method=self.command,
                    path=parts.path,
                    query={k: v[0] for k, v in parse_qs(parts.query).items()},
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                answer = fake._answer(recorded)
                if answer.delay:
                    time.sleep(answer.delay)
                if answer.drop:
                    self.close_connection = True
                    return
                payload = json.dumps(answer.body, ensure_ascii=False).encode("utf-8")
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _handle  # noqa: N815 - http.server's naming

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Shut the server down."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()


@contextmanager
def running(server: FakeServer) -> Iterator[FakeServer]:
    """Run a fake server for the duration of a with-block."""
    server.start()
    try:
        yield server
    finally:
        server.stop()
