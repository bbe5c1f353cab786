"""The ASGI app: /healthz in-process on a built runtime, and `zhibu serve` as a real server on
loopback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from starlette.exceptions import StarletteDeprecationWarning

from bot.app import create_app
from bot.clock import FixedClock
from bot.config import Settings
from bot.runtime import build, describe
from storage import migrate
from storage.db import Database

with warnings.catch_warnings():
    # Starlette nudges towards httpx2; the httpx it still supports is what is installed.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

ZHIBU = Path(sys.executable).with_name("zhibu")


def test_healthz_on_a_built_runtime(tmp_path: Path) -> None:
    path = tmp_path / "data" / "zhibu.db"
    runtime = build(
        Settings(database_url=f"sqlite:///{path}"),
        FixedClock(datetime(2026, 11, 20, 10, 0, tzinfo=UTC)),
    )
    try:
        assert path.exists()  # build created and upgraded the database
        assert migrate.current_revision(runtime.db.engine) == migrate.head_revision()
        with TestClient(create_app(runtime)) as client:
            response = client.get("/healthz")
            assert response.status_code == 200
            assert response.json() == {"status": "ok", "database": "ok"}
            assert client.post("/healthz").status_code == 405
            assert client.get("/nowhere").status_code == 404
    finally:
        runtime.db.dispose()


def test_healthz_reports_an_unreachable_database(tmp_path: Path) -> None:
    runtime = build(Settings(database_url=f"sqlite:///{tmp_path / 'zhibu.db'}"))
    runtime.db.dispose()
    # Nothing listens on port 1 of loopback: every connection is refused at once.
    runtime.db = Database("postgresql+psycopg://zhibu@127.0.0.1:1/zhibu")
    with TestClient(create_app(runtime)) as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "degraded", "database": "error"}


def test_build_without_upgrade_refuses_an_old_schema(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'zhibu.db'}")
    with pytest.raises(migrate.SchemaMismatchError):
        build(settings, upgrade=False)
    build(settings).db.dispose()
    build(settings, upgrade=False).db.dispose()  # now at head: accepted


def test_describe_hides_the_password() -> None:
    text = describe(
        Settings(
            database_url="postgresql+psycopg://zhibu:s3cret@db.example/zhibu",
            redis_url="redis://:hunter2@cache.example:6379/0",
        )
    )
    assert "s3cret" not in text
    assert "hunter2" not in text
    assert "db.example" in text
    assert "cache.example:6379/0" in text


def free_port() -> int:
    """A TCP port on loopback that nothing is listening on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for_health(url: str, server: subprocess.Popen[bytes], seconds: float) -> httpx.Response:
    """Poll the health check until it answers, the server dies, or time runs out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"zhibu serve exited with {server.returncode} before answering")
        try:
            return httpx.get(url, timeout=1)
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail(f"zhibu serve did not answer {url} within {seconds} s")


def test_serve_answers_healthz_on_loopback(tmp_path: Path) -> None:
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ZHIBU_")}
    # No ZHIBU_DATABASE_URL: the default SQLite file in the working directory is used.
    server = subprocess.Popen(
        [str(ZHIBU), "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        response = wait_for_health(f"http://127.0.0.1:{port}/healthz", server, 20)
        assert response.status_code == 200
        assert response.json()["status"] == "ok"
        database = tmp_path / "zhibu.db"
        assert database.exists()
        db = Database(f"sqlite:///{database}")
        try:
            assert migrate.current_revision(db.engine) == migrate.head_revision()
        finally:
            db.dispose()
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            _, err = server.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.communicate()
            pytest.fail("zhibu serve did not stop on SIGTERM")
    log = err.decode("utf-8")
    # A clean shutdown: uvicorn finishes, then re-raises the signal so the status shows it.
    assert "Finished server process" in log
    assert server.returncode in (0, -signal.SIGTERM)
    assert "Traceback" not in log
    assert f"zhibu serving on http://127.0.0.1:{port}" in log
    assert "scheduler on: reminders every 60s" in log
    assert "reminders: first tick checked 0 branches" in log


def test_scheduler_runs_apart_from_a_server_without_one(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ZHIBU_")}
    port = free_port()
    server = subprocess.Popen(
        [str(ZHIBU), "serve", "--port", str(port), "--no-scheduler"],
        cwd=tmp_path,
        env=environ,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_health(f"http://127.0.0.1:{port}/healthz", server, 20)
        scheduler = subprocess.Popen(
            [str(ZHIBU), "scheduler"], cwd=tmp_path, env=environ, stderr=subprocess.PIPE
        )
        try:
            deadline = time.monotonic() + 20
            seen = b""
            assert scheduler.stderr is not None
            while b"first tick checked" not in seen and time.monotonic() < deadline:
                seen += scheduler.stderr.readline()
        finally:
            scheduler.send_signal(signal.SIGINT)
            _, rest = scheduler.communicate(timeout=15)
    finally:
        server.send_signal(signal.SIGTERM)
        _, err = server.communicate(timeout=15)
    scheduler_log = (seen + rest).decode("utf-8")
    assert "zhibu scheduler: reminders every 60s" in scheduler_log
    assert "reminders: first tick checked 0 branches: 0 queued" in scheduler_log
    assert "Traceback" not in scheduler_log
    server_log = err.decode("utf-8")
    assert "scheduler off in this process (--no-scheduler)" in server_log
    assert "first tick" not in server_log
