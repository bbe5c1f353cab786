"""`zhibu outbox list / retry`: failed sends are visible and can be queued again."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from storage import messages
from storage.db import Database
from storage.models import OutboxEntry
from tests.cli_runner import run_zhibu


def _seed(tmp_path: Path) -> int:
    assert run_zhibu(tmp_path, "db", "upgrade").returncode == 0
    db = Database(f"sqlite:///{tmp_path / 'zhibu.db'}")
    now = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    try:
        with db.transaction() as session:
            ok = messages.enqueue(
                session,
                dedup_key="a",
                platform="wecom",
                chat_external_id="g1",
                text="本月支委会提醒",
                at=now,
            )
            bad = messages.enqueue(
                session,
                dedup_key="b",
                platform="wecom",
                chat_external_id="g2",
                text="请假提醒",
                at=now,
            )
            messages.finish(session, ok.id, status=messages.OUTBOX_SENT, at=now, parts_sent=1)
            messages.finish(
                session,
                bad.id,
                status=messages.OUTBOX_FAILED,
                at=now,
                parts_sent=0,
                error="93000 invalid webhook url",
            )
            return bad.id
    finally:
        db.dispose()


def test_list_shows_failures_with_their_error(tmp_path: Path) -> None:
    bad = _seed(tmp_path)
    done = run_zhibu(tmp_path, "outbox", "list", "--status", "failed")
    assert done.returncode == 0
    assert f"#{bad} 失败 wecom:g2" in done.stdout
    assert "93000 invalid webhook url" in done.stdout
    assert "本月支委会提醒" not in done.stdout


def test_retry_puts_failed_rows_back(tmp_path: Path) -> None:
    bad = _seed(tmp_path)
    done = run_zhibu(tmp_path, "outbox", "retry", "--all-failed")
    assert done.returncode == 0
    assert "已放回发送队列 1 条" in done.stdout
    db = Database(f"sqlite:///{tmp_path / 'zhibu.db'}")
    try:
        with db.session() as session:
            row = session.get(OutboxEntry, bad)
            assert row is not None
            assert row.status == "pending"
    finally:
        db.dispose()
    again = run_zhibu(tmp_path, "outbox", "retry", str(bad))
    assert "已放回发送队列 0 条" in again.stdout  # only failed rows are requeued


def test_bad_arguments_are_clear(tmp_path: Path) -> None:
    _seed(tmp_path)
    assert "请给出消息编号" in run_zhibu(tmp_path, "outbox", "retry").stderr
    wrong = run_zhibu(tmp_path, "outbox", "list", "--status", "lost")
    assert wrong.returncode != 0
    assert "状态应为" in wrong.stderr
    assert "Traceback" not in wrong.stderr
