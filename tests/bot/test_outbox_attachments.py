"""Outbox rows with attachments: files where the chat takes them, links or text alone elsewhere."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from bot.attachments import FILE, IMAGE, AttachmentBuilder, OutboundFile
from bot.clock import FixedClock
from bot.outbox import Backoff, OutboxSender
from bot.platforms.base import Delivery, Outcome, RateLimit, SendResult
from bot.ratelimit import RateLimiter
from storage import messages, roster
from storage.attachments import LedgerRecipe, chart_recipe
from storage.audit import Actor
from storage.db import Database
from storage.models import OutboxEntry
from storage.redis import connect

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class TextOnlySender:
    """A platform that can only send text (no `send_file`): e.g. a chat without a file route."""

    name = "wecom"

    def __init__(self) -> None:
        self.sent: list[str] = []

    def rate_limit(self, delivery: Delivery) -> RateLimit:
        return RateLimit(f"test:{delivery.chat_id}", 1000)

    async def send(self, delivery: Delivery) -> SendResult:
        if delivery.parts_sent < 1:  # one part per text; a retry resumes after it
            self.sent.append(delivery.text)
        return SendResult(Outcome.SENT, parts_sent=1)


@dataclass
class FileCapableSender(TextOnlySender):
    """Also takes files; answers file sends from a script (then SENT)."""

    files: list[OutboundFile] = field(default_factory=list)
    file_script: list[SendResult] = field(default_factory=list)
    file_attempts: int = 0

    def __post_init__(self) -> None:
        super().__init__()

    def accepts(self, delivery: Delivery, kind: str) -> bool:
        return kind in (FILE, IMAGE)

    async def send_file(self, delivery: Delivery, file: OutboundFile) -> SendResult:
        self.file_attempts += 1
        if self.file_script:
            return self.file_script.pop(0)
        self.files.append(file)
        return SendResult(Outcome.SENT)


def outbox(
    db: Database, clock: FixedClock, sender: TextOnlySender, url: str | None = None
) -> OutboxSender:
    link = (lambda b, p: f"{url}/files/ledger/TOKEN-{b}-{p}") if url else None
    return OutboxSender(
        db,
        {"wecom": sender},
        RateLimiter(connect(None)),
        clock,
        backoff=Backoff(base_seconds=1, max_seconds=2),
        rng=random.Random(1),
        attachments=AttachmentBuilder(db, clock.now, link=link, link_ttl_hours=24),
    )


def drain(sender: OutboxSender, clock: FixedClock, times: int = 4) -> None:
    async def run() -> None:
        for _ in range(times):
            await sender.drain_once()

    asyncio.run(run())


def queue(db: Database, clock: FixedClock, kind: str, attachment: dict[str, object]) -> int:
    with db.transaction() as session:
        assert messages.enqueue_attachment(
            session,
            dedup_key=f"k:{kind}",
            platform="wecom",
            chat_external_id="G1",
            kind=kind,
            text="📊 2026年11月月总结",
            attachment=attachment,
            at=clock.now(),
        )
        # The same key again queues nothing.
        assert not messages.enqueue_attachment(
            session,
            dedup_key=f"k:{kind}",
            platform="wecom",
            chat_external_id="G1",
            kind=kind,
            text="again",
            attachment=attachment,
            at=clock.now(),
        )
        return session.query(OutboxEntry).filter(OutboxEntry.dedup_key == f"k:{kind}").one().id


def branch_id(db: Database, clock: FixedClock) -> int:
    with db.transaction() as session:
        return roster.ensure_branch(
            session, Actor("t", clock.now()), "测试支部", "Asia/Shanghai"
        ).id


def row(db: Database, row_id: int) -> OutboxEntry:
    with db.session() as session:
        found = session.get(OutboxEntry, row_id)
        assert found is not None
        return found


CHART = chart_recipe(2026, [9, 10, 11], [80, None, 100], [50, 75, None]).as_dict()


def test_ledger_without_a_file_route_is_sent_as_a_link(db: Database, clock: FixedClock) -> None:
    row_id = queue(db, clock, "export", LedgerRecipe(branch_id(db, clock), "2026-11").as_dict())
    sender = TextOnlySender()
    drain(outbox(db, clock, sender, url="https://z.example"), clock)
    (text,) = sender.sent
    assert "测试支部2026年11月台账" in text and "24 小时内" in text
    assert text.endswith("https://z.example/files/ledger/TOKEN-" + text.split("TOKEN-")[1])
    assert row(db, row_id).status == "sent"


def test_ledger_link_without_public_url_names_the_cli(db: Database, clock: FixedClock) -> None:
    queue(db, clock, "export", LedgerRecipe(branch_id(db, clock), "2026-Q4").as_dict())
    sender = TextOnlySender()
    drain(outbox(db, clock, sender), clock)
    (text,) = sender.sent
    assert "未配置下载地址" in text and "zhibu export --branch 测试支部 --period 2026-Q4" in text


def test_ledger_file_retries_then_is_delivered_once(db: Database, clock: FixedClock) -> None:
    row_id = queue(db, clock, "export", LedgerRecipe(branch_id(db, clock), "2026-11").as_dict())
    sender = FileCapableSender()
    sender.file_script = [SendResult(Outcome.RETRY, "HTTP 502")]
    drain(outbox(db, clock, sender), clock, times=1)
    assert row(db, row_id).status == "pending" and sender.files == []
    clock.advance(timedelta(minutes=1))
    drain(outbox(db, clock, sender), clock, times=3)
    assert [f.filename for f in sender.files] == ["测试支部2026年11月台账.xlsx"]
    assert sender.files[0].data[:2] == b"PK" and sender.sent == []
    assert row(db, row_id).status == "sent"


def test_ledger_of_a_missing_branch_fails_loudly(
    db: Database, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    row_id = queue(db, clock, "export", LedgerRecipe(999_999, "2026-11").as_dict())
    drain(outbox(db, clock, FileCapableSender()), clock)
    assert row(db, row_id).status == "failed"
    assert "台账无法生成" in (row(db, row_id).last_error or "")
    assert "ledger cannot be built" in caplog.text


def test_chart_goes_after_the_text_where_images_are_possible(
    db: Database, clock: FixedClock
) -> None:
    row_id = queue(db, clock, "reminder.summary", CHART)
    sender = FileCapableSender()
    drain(outbox(db, clock, sender), clock)
    assert sender.sent == ["📊 2026年11月月总结"]
    (image,) = sender.files
    assert image.kind == IMAGE and image.data.startswith(PNG_SIGNATURE)
    assert row(db, row_id).status == "sent"


def test_chart_is_left_out_where_images_are_impossible(db: Database, clock: FixedClock) -> None:
    row_id = queue(db, clock, "reminder.summary", CHART)
    sender = TextOnlySender()
    drain(outbox(db, clock, sender), clock)
    assert sender.sent == ["📊 2026年11月月总结"]
    assert row(db, row_id).status == "sent"


def test_chart_retry_does_not_repeat_the_text(db: Database, clock: FixedClock) -> None:
    row_id = queue(db, clock, "reminder.summary", CHART)
    sender = FileCapableSender()
    sender.file_script = [SendResult(Outcome.RETRY, "HTTP 500")]
    box = outbox(db, clock, sender)
    drain(box, clock, times=1)
    clock.advance(timedelta(minutes=1))
    drain(box, clock, times=2)
    assert sender.sent == ["📊 2026年11月月总结"] and len(sender.files) == 1
    assert sender.file_attempts == 2 and row(db, row_id).status == "sent"


def test_chart_refused_keeps_the_text_and_records_why(db: Database, clock: FixedClock) -> None:
    row_id = queue(db, clock, "reminder.summary", CHART)
    sender = FileCapableSender()
    sender.file_script = [SendResult(Outcome.PERMANENT, "40009 invalid image")]
    drain(outbox(db, clock, sender), clock)
    stored = row(db, row_id)
    assert stored.status == "sent" and "图表未发送" in (stored.last_error or "")


def test_unreadable_recipe_fails_the_row(db: Database, clock: FixedClock) -> None:
    row_id = queue(db, clock, "reminder.summary", {"type": "hologram"})
    sender = FileCapableSender()
    drain(outbox(db, clock, sender), clock)
    assert row(db, row_id).status == "failed" and sender.sent == []
