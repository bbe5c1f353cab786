"""`zhibu serve` as a real process with both platforms on: callbacks in, the sender task out."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.cli_runner import ZHIBU, run_zhibu
from tests.e2e.conftest import WECOM_AES_KEY, WECOM_TOKEN
from tests.factories import DATA
from tests.fakes.dingtalk import (
    APP_KEY,
    APP_SECRET,
    FakeDingTalk,
    callback_payload,
    signed_callback,
)
from tests.fakes.wecom import WeComCallbacks, ai_bot_text

CID = "cidServeGroup=="


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, FakeDingTalk, subprocess.Popen[bytes]]]:
    """A running `zhibu serve` with WeCom callbacks and DingTalk (against a fake) switched on."""
    assert (
        run_zhibu(
            tmp_path, "roster", "import", DATA / "roster_sample.csv", "--branch", "机关第一党支部"
        ).returncode
        == 0
    )
    with FakeDingTalk(app_key=APP_KEY, app_secret=APP_SECRET) as fake:
        port = free_port()
        environ = {k: v for k, v in os.environ.items() if not k.startswith("ZHIBU_")}
        environ |= {
            "ZHIBU_DATABASE_URL": f"sqlite:///{tmp_path / 'zhibu.db'}",
            "ZHIBU_WECOM_TOKEN": WECOM_TOKEN,
            "ZHIBU_WECOM_AES_KEY": WECOM_AES_KEY,
            "ZHIBU_DINGTALK_APP_KEY": APP_KEY,
            "ZHIBU_DINGTALK_APP_SECRET": APP_SECRET,
            "ZHIBU_DINGTALK_API_BASE": fake.base_url,
            "ZHIBU_DINGTALK_OAPI_BASE": fake.base_url,
        }
        server = subprocess.Popen(
            [str(ZHIBU), "serve", "--port", str(port)],
            cwd=tmp_path,
            env=environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 20
            while True:
                assert server.poll() is None, server.communicate()[1].decode()
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "zhibu serve did not come up"
                time.sleep(0.1)
            yield base, fake, server
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()


def test_both_platforms_answer_and_the_sender_task_delivers(
    served: tuple[str, FakeDingTalk, subprocess.Popen[bytes]],
) -> None:
    base, fake, server = served
    now = datetime.now(UTC)
    wecom = WeComCallbacks(WECOM_TOKEN, WECOM_AES_KEY)
    query, body = wecom.json_callback(
        ai_bot_text(
            "@支部助手 开会 党员大会 学习党章", msgid="w1", userid="liming", chatid="wrkServe"
        ),
        now,
    )
    response = httpx.post(f"{base}/wecom/callback", params=query, content=body, timeout=5)
    assert response.status_code == 200
    assert "已发起签到" in wecom.open_json_reply(response.content)["stream"]["content"]

    payload = callback_payload(
        text="帮助",
        created_at=now,
        conversation_id=CID,
        msg_id="d1",
        sender_staff_id="0138223",
        sender_nick="赵磊",
        session_webhook=fake.session_webhook(CID),
    )
    headers, dbody = signed_callback(APP_SECRET, payload, now)
    assert (
        httpx.post(
            f"{base}/dingtalk/callback", headers=headers, content=dbody, timeout=5
        ).status_code
        == 200
    )
    deadline = time.monotonic() + 10
    while not fake.texts(CID) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(fake.texts(CID)) == 1
    assert "签到" in fake.texts(CID)[0]
    server.send_signal(signal.SIGTERM)
    _, err = server.communicate(timeout=15)
    log = err.decode("utf-8")
    assert "platform on: wecom" in log
    assert "platform on: dingtalk" in log
    assert "ledger writer: a child process" in log and "writer process stopped" in log
    assert APP_SECRET not in log
    assert WECOM_AES_KEY not in log
    assert "Traceback" not in log
