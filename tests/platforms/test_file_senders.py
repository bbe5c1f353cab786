"""Files and images through each platform's sender, against the fakes over real sockets."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os

import httpx

from bot.attachments import FILE, IMAGE, PNG_TYPE, XLSX_TYPE, OutboundFile
from bot.platforms.base import Delivery, Outcome, SendResult
from bot.platforms.wecom_sender import WeComSender
from bot.platforms.wecom_ws import WeComLongConnection
from bot.platforms.wecom_ws_frames import SEND_MSG
from bot.platforms.wecom_ws_media import UPLOAD_CHUNK, UPLOAD_INIT
from scheduler.chart_png import render_chart
from tests.fakes.dingtalk import APP_KEY, APP_SECRET, MEDIA_UPLOAD_PATH, FakeDingTalk
from tests.fakes.http import Scripted
from tests.fakes.wecom import FakeWeCom
from tests.fakes.wecom_ws import FakeWeComWS, MemoryInbox, play
from tests.platforms.test_dingtalk_sender import Harness

KEY = "693a91f6-7f0e-4bc4-97a0-0ec2a1fa5aaa"
WORKBOOK = OutboundFile(
    FILE, "第一党支部2026年11月台账.xlsx", b"PK\x03\x04" + b"x" * 100, XLSX_TYPE
)
CHART = OutboundFile(IMAGE, "chart.png", render_chart([1, 2], [50, 100], [None, 80]), PNG_TYPE)


def delivery(**routes: str) -> Delivery:
    return Delivery(outbox_id=1, platform="wecom", chat_id="wrkGROUP1", text="", routes=routes)


def wecom_send(fake: FakeWeCom, target: Delivery, file: OutboundFile) -> SendResult:
    async def once() -> SendResult:
        async with httpx.AsyncClient() as client:
            sender = WeComSender(fake.base_url, client)
            assert sender.accepts(target, file.kind)
            return await sender.send_file(target, file)

    return asyncio.run(once())


def test_wecom_webhook_uploads_a_file_then_sends_it() -> None:
    with FakeWeCom(KEY) as fake:
        assert wecom_send(fake, delivery(push_target=KEY), WORKBOOK) == SendResult(Outcome.SENT)
        (upload,) = fake.uploads
        assert upload.filename == WORKBOOK.filename and upload.data == WORKBOOK.data
        assert fake.upload_attempts()[0].query == {"key": KEY, "type": "file"}
        assert fake.of_type(KEY, "file") == [{"msgtype": "file", "file": {"media_id": "MEDIA1"}}]


def test_wecom_webhook_sends_an_image_inline_with_its_md5() -> None:
    with FakeWeCom(KEY) as fake:
        assert wecom_send(fake, delivery(push_target=KEY), CHART).outcome is Outcome.SENT
        (message,) = fake.of_type(KEY, "image")
        assert base64.b64decode(message["image"]["base64"]) == CHART.data
        assert message["image"]["md5"] == hashlib.md5(CHART.data).hexdigest()
        assert fake.uploads == []


def test_wecom_bad_key_is_permanent() -> None:
    with FakeWeCom(KEY) as fake:
        result = wecom_send(fake, delivery(push_target="not-the-key"), WORKBOOK)
        assert result.outcome is Outcome.PERMANENT and "93000" in (result.error or "")


def test_wecom_without_webhook_or_long_connection_takes_no_files() -> None:
    sender = WeComSender("http://127.0.0.1:9")
    assert not sender.accepts(delivery(), FILE) and not sender.accepts(delivery(), IMAGE)


def test_wecom_long_connection_uploads_in_chunks_and_sends_the_file() -> None:
    big = OutboundFile(FILE, "台账.xlsx", os.urandom(600 * 1024), XLSX_TYPE)

    async def scenario(fake: FakeWeComWS, conn: WeComLongConnection, inbox: MemoryInbox) -> None:
        await fake.until(lambda: conn.connected)
        sender = WeComSender("http://127.0.0.1:9", push=conn.push, push_media=conn.push_media)
        target = delivery()  # no webhook: the long connection carries it
        assert sender.accepts(target, FILE)
        assert await sender.send_file(target, big) == SendResult(Outcome.SENT)
        (init,) = fake.sent(UPLOAD_INIT)
        assert init.body["total_chunks"] == 2 and init.body["filename"] == "台账.xlsx"
        assert [c.body["chunk_index"] for c in fake.sent(UPLOAD_CHUNK)] == [0, 1]
        (media_id,) = fake.media
        assert fake.media[media_id] == ("file", "台账.xlsx", big.data)
        (send,) = fake.sent(SEND_MSG)
        assert send.body == {
            "chatid": "wrkGROUP1",
            "msgtype": "file",
            "file": {"media_id": media_id},
        }
        assert await sender.send_file(target, CHART) == SendResult(Outcome.SENT)
        assert fake.sent(SEND_MSG)[-1].body["msgtype"] == "image"

    play(scenario)


def test_wecom_long_connection_refused_upload_is_reported() -> None:
    async def scenario(fake: FakeWeComWS, conn: WeComLongConnection, inbox: MemoryInbox) -> None:
        await fake.until(lambda: conn.connected)
        fake.script(UPLOAD_INIT, (40008, "invalid media type"))
        result = await conn.push_media("wrkGROUP1", WORKBOOK)
        assert result.outcome is Outcome.PERMANENT and "上传初始化" in (result.error or "")
        assert fake.sent(SEND_MSG) == []

    play(scenario)


def dingtalk_send(fake: FakeDingTalk, file: OutboundFile, **routes: str) -> SendResult:
    harness = Harness(fake)

    async def once() -> SendResult:
        async with httpx.AsyncClient() as client:
            sender = harness.sender(client)
            target = Delivery(1, "dingtalk", "cidA==", "", routes=routes)
            if not sender.accepts(target, file.kind):
                return SendResult(Outcome.PERMANENT, "no route")
            return await sender.send_file(target, file)

    return asyncio.run(once())


def test_dingtalk_uploads_media_and_sends_file_and_image() -> None:
    with FakeDingTalk(app_key=APP_KEY, app_secret=APP_SECRET) as fake:
        routes = {"open_conversation_id": "cidA=="}
        assert dingtalk_send(fake, WORKBOOK, **routes).outcome is Outcome.SENT
        assert dingtalk_send(fake, CHART, **routes).outcome is Outcome.SENT
        file_msg, image_msg = fake.files("cidA==")
        assert file_msg.msg_key == "sampleFile" and file_msg.param is not None
        assert file_msg.param["fileName"] == WORKBOOK.filename
        assert fake.media(file_msg.param["mediaId"]).data == WORKBOOK.data
        assert image_msg.msg_key == "sampleImageMsg" and image_msg.param is not None
        image = fake.media(image_msg.param["photoURL"])
        assert image.type == "image" and image.data == CHART.data


def test_dingtalk_without_conversation_id_takes_no_files() -> None:
    with FakeDingTalk(app_key=APP_KEY, app_secret=APP_SECRET) as fake:
        result = dingtalk_send(fake, WORKBOOK, session_webhook="https://oapi.dingtalk.com/x")
        assert result.error == "no route" and fake.uploads == []


def test_dingtalk_upload_5xx_is_retried() -> None:
    with FakeDingTalk(app_key=APP_KEY, app_secret=APP_SECRET) as fake:
        fake.fail_next(MEDIA_UPLOAD_PATH, Scripted(503, {}))
        result = dingtalk_send(fake, WORKBOOK, open_conversation_id="cidA==")
        assert result.outcome is Outcome.RETRY and fake.files() == []
        assert dingtalk_send(fake, WORKBOOK, open_conversation_id="cidA==").outcome is Outcome.SENT
