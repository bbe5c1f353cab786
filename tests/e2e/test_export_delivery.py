"""导出台账 end to end: the workbook reaches the chat as a file, once, or as a signed link."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook
from starlette.applications import Starlette
from starlette.testclient import TestClient

from bot.clock import FixedClock
from bot.files import LinkSigner
from bot.runtime import Runtime
from storage.attachments import OUTBOX_KIND_EXPORT
from storage.models import Branch, OutboxEntry
from storage.roster import get_branch
from tests.e2e.conftest import WECOM_AES_KEY, WECOM_TOKEN
from tests.e2e.test_dingtalk_flow import CID, DingTalkGroup, drain, settings_for
from tests.e2e.test_wecom_flow import WeComGroup, drain_until_quiet
from tests.factories import BRANCH
from tests.fakes.dingtalk import APP_KEY, APP_SECRET, FakeDingTalk
from tests.fakes.http import Scripted
from tests.fakes.wecom import SERVER_ERROR, FakeWeCom

KEY = "693a91f6-7f0e-4bc4-97a0-0ec2a1fa5aaa"
TOPIC = "讨论年度计划"
PUBLIC = "https://zhibu.example.org"
MakeApp = Callable[..., tuple[Runtime, Starlette, TestClient]]


def meetings_sheet_values(data: bytes) -> set[str]:
    """Every string in the 三会一课记录 sheet of a workbook."""
    book = load_workbook(io.BytesIO(data), read_only=True)
    sheet = book["三会一课记录"]
    return {str(v) for row in sheet.iter_rows(values_only=True) for v in row if v is not None}


def export_rows(runtime: Runtime) -> list[OutboxEntry]:
    with runtime.db.session() as session:
        return list(session.query(OutboxEntry).filter(OutboxEntry.kind == OUTBOX_KIND_EXPORT))


def wecom_group(make_app: MakeApp, clock: FixedClock, fake: FakeWeCom, **extra: Any) -> Any:
    runtime, app, client = make_app(
        wecom_token=WECOM_TOKEN,
        wecom_aes_key=WECOM_AES_KEY,
        wecom_api_base=fake.base_url,
        **extra,
    )
    group = WeComGroup(client, clock)
    group.say("liming", f"绑定推送 {KEY}")
    group.say("liming", f"开会 支委会 {TOPIC}")
    group.say("zhaolei", "签到")
    return runtime, app, client, group


def test_wecom_export_uploads_the_workbook_and_sends_it_once(
    make_app: MakeApp, clock: FixedClock
) -> None:
    with FakeWeCom(KEY) as fake:
        runtime, app, _client, group = wecom_group(make_app, clock, fake)
        reply = group.say("liming", "导出台账 本月", msgid="export-1")
        assert "会议 1 次" in reply and "台账文件（Excel）生成后发到本群" in reply
        for _ in range(3):  # WeCom replays the callback: same answer, nothing queued again
            assert group.say("liming", "导出台账 本月", msgid="export-1") == reply
        drain_until_quiet(app.state.sender, clock, rounds=4)
        assert len(fake.uploads) == 1
        upload = fake.uploads[0]
        assert upload.filename == f"{BRANCH}2026年11月台账.xlsx"
        assert TOPIC in meetings_sheet_values(upload.data)
        files = fake.of_type(KEY, "file")
        assert [m["file"]["media_id"] for m in files] == [upload.media_id]
        assert [r.status for r in export_rows(runtime)] == ["sent"]


def test_wecom_upload_failing_then_recovering_delivers_once(
    make_app: MakeApp, clock: FixedClock
) -> None:
    with FakeWeCom(KEY) as fake:
        runtime, app, _client, group = wecom_group(make_app, clock, fake)
        fake.fail_uploads(SERVER_ERROR, SERVER_ERROR)
        group.say("liming", "导出台账 本月")
        drain_until_quiet(app.state.sender, clock, rounds=8)
        assert len(fake.upload_attempts()) == 3
        assert len(fake.uploads) == 1 and len(fake.of_type(KEY, "file")) == 1
        (row,) = export_rows(runtime)
        assert row.status == "sent" and row.attempts == 3


def test_wecom_upload_refused_falls_back_to_a_link(
    make_app: MakeApp, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    with FakeWeCom(KEY) as fake:
        runtime, app, client, group = wecom_group(make_app, clock, fake, public_url=PUBLIC)
        fake.fail_uploads(Scripted(200, {"errcode": 40005, "errmsg": "invalid file type"}))
        group.say("liming", "导出台账 本月")
        drain_until_quiet(app.state.sender, clock, rounds=4)
        assert fake.uploads == [] and fake.of_type(KEY, "file") == []
        (link_text,) = [t for t in fake.texts(KEY) if "/files/ledger/" in t]
        assert "24 小时内" in link_text
        (row,) = export_rows(runtime)
        assert row.status == "sent" and "已改发链接" in (row.last_error or "")
        assert "sending a download link instead" in caplog.text
        url = link_text.split("\n")[-1]
        assert url.startswith(f"{PUBLIC}/files/ledger/")
        response = client.get(url.removeprefix(PUBLIC))
        assert response.status_code == 200
        assert TOPIC in meetings_sheet_values(response.content)


def test_member_cannot_export_and_nothing_is_queued(make_app: MakeApp, clock: FixedClock) -> None:
    with FakeWeCom(KEY) as fake:
        runtime, app, _client, group = wecom_group(make_app, clock, fake)
        reply = group.say("zhaolei", "导出台账 本月")
        assert "只有支部书记或管理员可以操作" in reply
        assert export_rows(runtime) == []
        drain_until_quiet(app.state.sender, clock, rounds=2)
        assert fake.uploads == []


def test_dingtalk_export_uploads_media_and_sends_sample_file(
    make_app: MakeApp, clock: FixedClock
) -> None:
    with FakeDingTalk(app_key=APP_KEY, app_secret=APP_SECRET) as fake:
        runtime, app, client = make_app(**settings_for(fake))
        group = DingTalkGroup(client, clock, fake)
        assert group.post("李明", f"开会 支委会 {TOPIC}", "k1") == 200
        for _ in range(3):
            assert group.post("李明", "导出台账 本月", "k2") == 200
        drain(app, clock)
        (sent,) = fake.files(CID)
        assert sent.msg_key == "sampleFile" and sent.param is not None
        assert sent.param["fileName"] == f"{BRANCH}2026年11月台账.xlsx"
        assert sent.param["fileType"] == "xlsx"
        media = fake.media(sent.param["mediaId"])
        assert media.type == "file" and media.filename == sent.param["fileName"]
        assert TOPIC in meetings_sheet_values(media.data)
        assert len(fake.uploads) == 1
        assert any("台账文件（Excel）生成后发到本群" in t for t in fake.texts(CID))
        assert [r.status for r in export_rows(runtime)] == ["sent"]


def branch_id(runtime: Runtime) -> int:
    with runtime.db.session() as session:
        branch = get_branch(session, BRANCH)
        assert isinstance(branch, Branch)
        return branch.id


def test_signed_link_serves_the_workbook_and_refuses_bad_tokens(
    make_app: MakeApp, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    runtime, app, client = make_app(public_url=PUBLIC, link_secret="s3cret-link-key")
    signer: LinkSigner = app.state.links
    token = signer.token(branch_id(runtime), "2026-11", clock.now())
    response = client.get(f"/files/ledger/{token}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment; filename=")
    encoded = disposition.split("filename*=UTF-8''")[1]
    assert unquote(encoded) == f"{BRANCH}2026年11月台账.xlsx"
    assert "三会一课记录" in load_workbook(io.BytesIO(response.content)).sheetnames

    head, mac = token.split(".")
    other = LinkSigner(b"another secret", PUBLIC, timedelta(hours=24))
    forged = other.token(branch_id(runtime), "2026-11", clock.now())
    tampered_head = other.token(branch_id(runtime) + 1, "2026-11", clock.now()).split(".")[0]
    for bad in (forged, f"{tampered_head}.{mac}", f"{head}.{mac[:-2]}AA"):
        refused = client.get(f"/files/ledger/{bad}")
        assert refused.status_code == 403 and "链接无效" in refused.text
    for junk in ("nonsense", "a.b.c", f"{head}!.{mac}"):
        assert client.get(f"/files/ledger/{junk}").status_code in (403, 404)
    clock.advance(timedelta(hours=24, seconds=1))
    expired = client.get(f"/files/ledger/{token}")
    assert expired.status_code == 403 and "已过期" in expired.text
    # Neither the bearer token nor the secret reaches the server's logs (the test client's
    # own httpx request log is not the server's).
    server_logs = "\n".join(r.getMessage() for r in caplog.records if r.name != "httpx")
    assert "ledger link refused (403)" in server_logs
    assert mac not in server_logs and "s3cret-link-key" not in server_logs


def test_generated_link_secret_is_kept_in_the_database(
    make_app: MakeApp, clock: FixedClock
) -> None:
    runtime, first, _client = make_app(public_url=PUBLIC)
    url = first.state.links.url(branch_id(runtime), "2026", clock.now())
    assert url is not None and url.startswith(f"{PUBLIC}/files/ledger/")
    # A restart (or another instance) reads the same secret: the link still works there.
    _runtime, _second, client = make_app(public_url=PUBLIC)
    assert client.get(url.removeprefix(PUBLIC)).status_code == 200
    _runtime, _third, other = make_app(public_url=PUBLIC, link_secret="configured secret")
    assert other.get(url.removeprefix(PUBLIC)).status_code == 403
