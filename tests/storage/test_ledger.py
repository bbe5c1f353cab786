"""The ledger's guarantees: corrections supersede, the database guards the one-open-meeting and
one-current-attendance rules, closing a meeting settles everyone, leave waits for the next meeting,
timestamps are aware UTC, and every change leaves an audit entry."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session

from storage import attendance, meetings
from storage.audit import Actor
from storage.db import Database
from storage.models import (
    Attendance,
    AuditEntry,
    Branch,
    InboxEntry,
    LeaveRequest,
    MakeupItem,
    Meeting,
    Member,
)
from tests.factories import ChatBot

TZ = ZoneInfo("Asia/Shanghai")
COMMITTEE = ["李明", "王芳", "张伟", "刘洋"]  # 支委 in the sample roster: 书记 and the 委员 titles


def member_id(session: Session, name: str) -> int:
    """The id of a roster member by name."""
    found = session.scalar(select(Member.id).where(Member.name == name))
    assert found is not None, name
    return found


def only_meeting(session: Session) -> Meeting:
    """The single meeting in the ledger."""
    rows = list(session.scalars(select(Meeting)))
    assert len(rows) == 1
    return rows[0]


def attendance_rows(session: Session, meeting_id: int, name: str) -> list[Attendance]:
    """Every attendance row of a member at a meeting, oldest first."""
    return list(
        session.scalars(
            select(Attendance)
            .where(
                Attendance.meeting_id == meeting_id,
                Attendance.member_id == member_id(session, name),
            )
            .order_by(Attendance.id)
        )
    )


def audit_rows(session: Session) -> list[AuditEntry]:
    """The whole audit trail in order."""
    return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def test_correction_supersedes_and_keeps_the_old_row(bot: ChatBot) -> None:
    bot.say("李明", "开会 支委会 学习党章")
    assert "签到成功" in bot.say("张伟", "签到")
    bot.say("李明", "结束签到")
    bot.clock.advance(timedelta(hours=1))
    assert "已补录" in bot.say("李明", "补录 张伟 缺席")

    with bot.db.session() as session:
        meeting = only_meeting(session)
        old, new = attendance_rows(session, meeting.id, "张伟")
        assert old.status == "present"  # the original entry is kept as it was
        assert old.superseded_at == bot.clock.now()
        assert not old.is_correction
        assert new.status == "absent"
        assert new.superseded_at is None
        assert new.supersedes_id == old.id
        assert new.is_correction
        assert new.recorded_by_member_id == member_id(session, "李明")
        current = attendance.current_attendance(session, meeting.id)
        assert current[member_id(session, "张伟")].id == new.id
        assert set(current) == {member_id(session, n) for n in COMMITTEE}

    exported = bot.ledger()["meetings"][0]["attendance"]
    assert {"name": "张伟", "status": "absent"}.items() <= next(
        a for a in exported if a["name"] == "张伟"
    ).items()


def test_database_rejects_a_second_current_attendance_row(bot: ChatBot) -> None:
    bot.say("李明", "开会 支委会 学习党章")
    bot.say("张伟", "签到")
    with bot.db.session() as session:
        meeting = only_meeting(session)
        zhang = member_id(session, "张伟")
    values: dict[str, Any] = {
        "meeting_id": meeting.id,
        "member_id": zhang,
        "status": "absent",
        "recorded_at": bot.clock.now(),
        "is_correction": False,
    }
    with pytest.raises(IntegrityError), bot.db.transaction() as session:
        session.execute(insert(Attendance).values(**values))
    # A superseded row for the same pair is allowed: that is how history is kept.
    with bot.db.transaction() as session:
        session.execute(insert(Attendance).values(**values, superseded_at=bot.clock.now()))
    with bot.db.session() as session:
        assert len(attendance_rows(session, meeting.id, "张伟")) == 2
        assert attendance.current_attendance(session, meeting.id)[zhang].status == "present"


def test_database_allows_one_open_meeting_per_chat(bot: ChatBot) -> None:
    bot.say("李明", "开会 支委会 学习党章")
    reply = bot.say("李明", "开会 党员大会 讨论年度计划")
    assert "已有会议正在签到" in reply
    with bot.db.session() as session:
        meeting = only_meeting(session)
    values: dict[str, Any] = {
        "branch_id": meeting.branch_id,
        "chat_id": meeting.chat_id,
        "topic": "第二个",
        "status": "open",
        "started_at": bot.clock.now(),
    }
    with pytest.raises(IntegrityError), bot.db.transaction() as session:
        session.execute(insert(Meeting).values(**values))
    with bot.db.transaction() as session:  # closed meetings in the same chat are fine
        session.execute(insert(Meeting).values({**values, "status": "closed"}))

    bot.say("李明", "结束签到")
    assert "已发起签到" in bot.say("李明", "开会 党员大会 讨论年度计划")
    with bot.db.session() as session:
        statuses = sorted(session.scalars(select(Meeting.status)))
    assert statuses == ["closed", "closed", "open"]


def test_close_marks_the_unaccounted_absent_and_creates_makeups(bot: ChatBot) -> None:
    bot.say("李明", "开会 支委会 学习党章")
    bot.say("张伟", "签到")
    bot.say("王芳", "请假 出差")
    bot.clock.advance(timedelta(minutes=40))
    bot.say("刘洋", "签到")  # late
    summary = bot.say("李明", "结束签到")
    assert "应到 4 人，实到 2 人" in summary
    assert "请假 1 人，缺席 1 人" in summary

    with bot.db.session() as session:
        meeting = only_meeting(session)
        assert meeting.status == "closed"
        assert meeting.closed_at == bot.clock.now()
        current = attendance.current_attendance(session, meeting.id)
        by_name = {n: current[member_id(session, n)] for n in COMMITTEE}
        assert {n: r.status for n, r in by_name.items()} == {
            "李明": "absent",  # opened the meeting but never checked in
            "王芳": "leave",
            "张伟": "present",
            "刘洋": "late",
        }
        assert by_name["李明"].reason == "未签到"
        assert by_name["王芳"].reason == "出差"
        makeups = {
            m.member_id: m for m in session.scalars(select(MakeupItem)).all()
        }  # 补课 for the absent and the leave-taker only
        assert set(makeups) == {member_id(session, "李明"), member_id(session, "王芳")}
        assert all(m.meeting_id == meeting.id and m.done_at is None for m in makeups.values())
        # Members not expected at a 支委会 get nothing at all.
        assert member_id(session, "赵磊") not in current

    assert "没有正在签到的会议" in bot.say("李明", "结束签到")


def test_pending_leave_goes_to_the_next_meeting_that_expects_the_member(bot: ChatBot) -> None:
    reply = bot.say("赵磊", "请假 下周出差")
    assert "将计入下一次会议" in reply
    with bot.db.session() as session:
        leave = session.scalars(select(LeaveRequest)).one()
        assert leave.meeting_id is None
        assert leave.reason == "下周出差"

    # 赵磊 is not a 支委: the 支委会 leaves his leave pending.
    bot.clock.advance(timedelta(days=2))
    assert "已请假" not in bot.say("李明", "开会 支委会 学习党章")
    bot.say("李明", "结束签到")
    with bot.db.session() as session:
        assert session.scalars(select(LeaveRequest)).one().meeting_id is None

    bot.clock.advance(timedelta(days=1))
    opened = bot.say("李明", "开会 党员大会 讨论年度计划")
    assert "已请假 1 人（赵磊）" in opened
    with bot.db.session() as session:
        meeting = session.scalars(select(Meeting).where(Meeting.status == "open")).one()
        leave = session.scalars(select(LeaveRequest)).one()
        assert leave.meeting_id == meeting.id
        (row,) = attendance_rows(session, meeting.id, "赵磊")
        assert row.status == "leave"
        assert row.reason == "下周出差"
        assert row.source_inbox_id == leave.source_inbox_id

    assert "已为请假和缺席" in bot.say("李明", "结束签到")
    with bot.db.session() as session:
        makeup = session.scalars(
            select(MakeupItem).where(
                MakeupItem.meeting_id == meeting.id,
                MakeupItem.member_id == member_id(session, "赵磊"),
            )
        ).one()
        assert makeup.done_at is None


def test_utc_datetime_refuses_naive_values(db: Database) -> None:
    with db.transaction() as session:
        session.add(Branch(name="天真支部", created_at=datetime(2026, 11, 20, 10, 0)))
        with pytest.raises(StatementError) as caught:
            session.flush()
        session.rollback()
    assert isinstance(caught.value.orig, ValueError)
    assert "naive" in str(caught.value.orig)
    with db.session() as session:
        assert session.scalar(select(Branch).where(Branch.name == "天真支部")) is None


def test_utc_datetime_round_trips_aware_values_as_utc(db: Database) -> None:
    local = datetime(2026, 11, 20, 10, 0, 30, 123456, tzinfo=TZ)
    with db.transaction() as session:
        session.add(Branch(name="时间支部", created_at=local))
    with db.session() as session:
        stored = session.scalars(select(Branch.created_at)).one()
        assert stored == local
        assert stored.utcoffset() == timedelta(0)
        assert stored.replace(tzinfo=None) == datetime(2026, 11, 20, 2, 0, 30, 123456)
        # Comparisons with aware values in any zone are instant comparisons.
        just_before = datetime(2026, 11, 20, 2, 0, 30, tzinfo=UTC)
        assert session.scalar(select(Branch.name).where(Branch.created_at > just_before))
        assert not session.scalar(
            select(Branch.name).where(Branch.created_at > local + timedelta(microseconds=1))
        )
        raw = session.execute(text("SELECT created_at FROM branches")).scalar_one()
    # What is on disk is UTC: SQLite keeps the naive UTC text, PostgreSQL a timestamptz.
    if db.is_sqlite:
        assert str(raw).startswith("2026-11-20 02:00:30")
    else:
        assert raw == local


def test_every_change_leaves_an_audit_entry(bot: ChatBot) -> None:
    with bot.db.session() as session:
        before = len(audit_rows(session))
    bot.say("李明", "开会 支委会 学习党章")
    bot.say("张伟", "签到")
    bot.say("王芳", "请假 出差")
    bot.say("李明", "结束签到")
    bot.say("李明", "补录 王芳 签到")
    bot.say("张伟", "我的")  # a read: no audit entry

    with bot.db.session() as session:
        entries = audit_rows(session)[before:]
        inbox = {e.id: e.text for e in session.scalars(select(InboxEntry))}
        names = {m.id: m.name for m in session.scalars(select(Member))}
        trail = [
            (
                inbox.get(e.source_inbox_id or 0),
                names.get(e.actor_member_id or 0, e.actor),
                e.action,
                e.entity,
            )
            for e in entries
        ]
        detail = [json.loads(e.detail) for e in entries]
    assert trail == [
        (None, "system", "bind", "chat"),  # the only branch is bound on the first message
        ("开会 支委会 学习党章", "李明", "open", "meeting"),
        ("签到", "张伟", "attend", "attendance"),
        ("请假 出差", "王芳", "leave", "leave_request"),
        ("请假 出差", "王芳", "attend", "attendance"),
        ("结束签到", "李明", "attend", "attendance"),  # 李明 himself: absent
        ("结束签到", "李明", "create", "makeup"),
        ("结束签到", "李明", "create", "makeup"),  # 王芳 on leave
        ("结束签到", "李明", "attend", "attendance"),  # 刘洋: absent
        ("结束签到", "李明", "create", "makeup"),
        ("结束签到", "李明", "close", "meeting"),
        ("补录 王芳 签到", "李明", "correct", "attendance"),
        ("补录 王芳 签到", "李明", "cancel", "makeup"),
    ]
    assert detail[-2]["status"] == "present"
    assert detail[-2]["previous"] == "leave"
    assert detail[-3] == {"absent": 2, "expected": 4, "leave": 1, "present": 1}
    assert all(e.at == bot.clock.now() for e in entries)


def test_storage_writes_without_a_message_are_attributed(db: Database) -> None:
    """CLI/system writes have no inbox message but still name their actor."""
    at = datetime(2026, 11, 20, 10, 0, tzinfo=TZ)
    actor = Actor("cli:admin", at)
    with db.transaction() as session:
        branch = Branch(name="审计支部", timezone="Asia/Shanghai", created_at=at)
        session.add(branch)
        session.flush()
        meeting = meetings.open_meeting(
            session,
            actor,
            branch_id=branch.id,
            chat_id=None,
            kinds=["支部党员大会"],
            topic="",
            party_group=None,
            expected_member_ids=[],
        )
        meetings.close_meeting(session, actor, meeting)
    with db.session() as session:
        entries = audit_rows(session)
    assert [(e.actor, e.action, e.source_inbox_id) for e in entries] == [
        ("cli:admin", "open", None),
        ("cli:admin", "close", None),
    ]
