"""Prepared statements on the raw driver cursor behave like the same statements through SQLAlchemy."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Table, bindparam, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage import messages, roster
from storage.audit import Actor
from storage.db import Database
from storage.models import InboxEntry, Member, StudyConfirmation, StudyTask, VolunteerRecord
from storage.rawsql import Prepared, all_together, defer_writes, pending_writes
from storage.value_lists import any_of

AT = datetime(2026, 11, 20, 1, 2, 3, 456789, tzinfo=UTC)
_RECORDS: Table = VolunteerRecord.__table__  # type: ignore[assignment]
_INSERT_RECORD = Prepared(
    insert(_RECORDS).returning(_RECORDS.c.id),
    ("branch_id", "member_id", "service_date", "hours", "activity", "recorded_at"),
)
_RECORD = Prepared(
    select(_RECORDS.c.service_date, _RECORDS.c.hours, _RECORDS.c.recorded_at).where(
        _RECORDS.c.id == bindparam("row_id")
    )
)
_CONFIRMATIONS: Table = StudyConfirmation.__table__  # type: ignore[assignment]
_CONFIRM = Prepared(
    insert(_CONFIRMATIONS), ("task_id", "member_id", "confirmed_at", "late", "is_correction")
)
_MEMBERS: Table = Member.__table__  # type: ignore[assignment]
_ACTIVE_NAMED = Prepared(
    select(_MEMBERS.c.id).where(_MEMBERS.c.name == bindparam("name"), _MEMBERS.c.active.is_(True))
)


def _member(db: Database) -> tuple[int, int]:
    with db.transaction() as session:
        actor = Actor("test", AT)
        branch = roster.ensure_branch(session, actor, "测试支部", "Asia/Shanghai")
        roster.upsert_member(session, actor, branch, roster.RosterRow(name="张伟"))
        member = roster.find_member_by_name(session, branch.id, "张伟")
        assert member is not None
        return branch.id, member.id


def test_values_round_trip_exactly_as_through_the_orm(db: Database) -> None:
    branch_id, member_id = _member(db)
    with db.transaction() as session:
        row_id = _INSERT_RECORD.scalar(
            session,
            branch_id=branch_id,
            member_id=member_id,
            service_date=date(2026, 11, 19),
            hours=Decimal("1.35"),
            activity="社区服务",
            recorded_at=AT,
        )
        raw = _RECORD.first(session, row_id=row_id)
    assert raw is not None
    service_date, hours, recorded_at = raw
    assert service_date == date(2026, 11, 19) and recorded_at == AT
    assert Decimal(str(hours)).quantize(Decimal("0.01")) == Decimal("1.35")
    with db.session() as session:
        record = session.get(VolunteerRecord, row_id)
        assert record is not None
        assert (record.service_date, record.recorded_at, record.activity) == (
            date(2026, 11, 19),
            AT,
            "社区服务",
        )
        assert _RECORD.all(session, row_id=-1) == []


def test_pending_orm_changes_are_flushed_before_a_raw_read(db: Database) -> None:
    branch_id, _member_id = _member(db)
    with db.transaction() as session:
        session.add(
            Member(branch_id=branch_id, name="新成员", title="党员", created_at=AT, updated_at=AT)
        )
        # Not flushed yet: the raw statement must still see it (and the literal `active` bind).
        assert _ACTIVE_NAMED.scalar(session, name="新成员") is not None
        assert _ACTIVE_NAMED.scalar(session, name="无此人") is None


def test_driver_errors_arrive_as_the_usual_sqlalchemy_exceptions(db: Database) -> None:
    branch_id, member_id = _member(db)
    with db.transaction() as session:
        task = StudyTask(branch_id=branch_id, title="党章", published_at=AT)
        session.add(task)
        session.flush()
        values = {"task_id": task.id, "member_id": member_id, "confirmed_at": AT}
        assert _CONFIRM.execute(session, late=False, is_correction=False, **values) == 1
        with pytest.raises(IntegrityError), session.begin_nested():
            _CONFIRM.execute(session, late=True, is_correction=False, **values)
        # The savepoint rolled back; the transaction and the first row are intact.
        assert session.scalar(select(StudyConfirmation.late)) is False


def _confirm_later(session: Session, task_id: int, member_id: int, *, late: bool) -> None:
    _CONFIRM.execute_later(
        session,
        task_id=task_id,
        member_id=member_id,
        confirmed_at=AT,
        late=late,
        is_correction=False,
    )


def _inbox(session: Session, message_id: str) -> int:
    return messages.insert_inbox(
        session,
        platform="wecom",
        message_id=message_id,
        chat_external_id="c",
        sender_external_id="u",
        sender_name=None,
        text="签到",
        sent_at=AT,
        received_at=AT,
    )


def _confirmations(db: Database) -> int:
    with db.session() as session:
        return len(list(session.scalars(select(StudyConfirmation.id))))


def test_deferred_writes_wait_until_a_read_or_the_commit_needs_them(db: Database) -> None:
    branch_id, member_id = _member(db)
    with db.transaction() as session:
        tasks = [
            StudyTask(branch_id=branch_id, title=f"第{i}课", published_at=AT) for i in range(4)
        ]
        session.add_all(tasks)
        session.flush()
        defer_writes(session)
        for task in tasks[:2]:
            _confirm_later(session, task.id, member_id, late=False)
        assert pending_writes(session) == 2
        # Any read sends the buffer first, so it never misses a deferred write.
        assert session.scalar(select(func.count(StudyConfirmation.id))) == 2
        assert pending_writes(session) == 0
        _confirm_later(session, tasks[2].id, member_id, late=True)
        assert _ACTIVE_NAMED.scalar(session, name="张伟") == member_id
        assert pending_writes(session) == 0
        _confirm_later(session, tasks[3].id, member_id, late=True)
        assert pending_writes(session) == 1
    assert _confirmations(db) == 4  # the commit ran the last one


def test_deferred_inserts_get_their_ids_at_once_and_keep_references_in_order(
    db: Database,
) -> None:
    branch_id, member_id = _member(db)
    with db.transaction() as session:
        defer_writes(session, rows=2)
        # More rows than `rows`: the reserve is refilled.
        inbox_ids = [_inbox(session, f"m{n}") for n in range(3)]
        assert len(set(inbox_ids)) == 3
        # Reserved ahead on PostgreSQL, so rows wait (the refill's query sent the first two
        # along); written at once on SQLite.
        assert pending_writes(session) == (1 if db.engine.dialect.supports_sequences else 0)
        # An ORM row referencing a deferred row: the buffer goes first (the foreign key holds).
        task = StudyTask(
            branch_id=branch_id, title="党章", published_at=AT, source_inbox_id=inbox_ids[2]
        )
        session.add(task)
        session.flush()
        assert pending_writes(session) == 0
        row_id = _INSERT_RECORD.insert(
            session,
            branch_id=branch_id,
            member_id=member_id,
            service_date=date(2026, 11, 19),
            hours=Decimal("2.5"),
            activity="社区服务",
            recorded_at=AT,
        )
        assert _RECORD.first(session, row_id=row_id) == (date(2026, 11, 19), Decimal("2.5"), AT)
    with db.session() as session:
        stored = session.scalars(select(InboxEntry.id).order_by(InboxEntry.id)).all()
        assert stored == sorted(inbox_ids)


def test_a_failing_deferred_write_fails_the_read_that_sends_it(db: Database) -> None:
    _member(db)
    with db.transaction() as session:
        _inbox(session, "same")
    with db.session() as session, session.begin():
        defer_writes(session)

        def insert_then_read() -> None:
            _inbox(session, "same")
            _ACTIVE_NAMED.scalar(session, name="张伟")

        # At the insert on SQLite, at the read that sends it on PostgreSQL.
        with pytest.raises(IntegrityError):
            insert_then_read()
        session.rollback()
    with db.session() as session:
        assert session.scalar(select(func.count(InboxEntry.id))) == 1


def test_reads_run_together_return_what_each_returns_alone(db: Database) -> None:
    branch_id, member_id = _member(db)
    with db.transaction() as session:
        defer_writes(session)
        row_id = _INSERT_RECORD.insert(
            session,
            branch_id=branch_id,
            member_id=member_id,
            service_date=date(2026, 11, 19),
            hours=Decimal("1.5"),
            activity="社区服务",
            recorded_at=AT,
        )
        together = all_together(
            session,
            [
                (_RECORD, {"row_id": row_id}),
                (_ACTIVE_NAMED, {"name": "张伟"}),
                (_ACTIVE_NAMED, {"name": "无此人"}),
            ],
        )
        assert together == [
            _RECORD.all(session, row_id=row_id),
            _ACTIVE_NAMED.all(session, name="张伟"),
            [],
        ]
        assert together[0] == [(date(2026, 11, 19), Decimal("1.5"), AT)]


def test_a_rollback_drops_deferred_writes_and_a_savepoint_rollback_refuses(db: Database) -> None:
    branch_id, member_id = _member(db)
    with db.session() as session:
        task = StudyTask(branch_id=branch_id, title="党章", published_at=AT)
        session.add(task)
        session.commit()
        values = {"task_id": task.id, "member_id": member_id, "confirmed_at": AT}
        defer_writes(session)
        _CONFIRM.execute_later(session, late=False, is_correction=False, **values)
        session.rollback()
        session.commit()
        assert _confirmations(db) == 0
        defer_writes(session)
        _CONFIRM.execute_later(session, late=False, is_correction=False, **values)
        try:
            with session.begin_nested():
                raise LookupError("undo")
        except LookupError:
            pass
        with pytest.raises(RuntimeError, match="savepoint"):
            session.commit()
        session.rollback()
    assert _confirmations(db) == 0


def test_a_savepoint_rollback_undoes_raw_writes_made_inside_it(db: Database) -> None:
    branch_id, member_id = _member(db)
    with db.transaction() as session:
        task = StudyTask(branch_id=branch_id, title="党章", published_at=AT)
        session.add(task)
        session.flush()
        _ACTIVE_NAMED.scalar(session, name="张伟")  # the connection is looked up outside
        values = {"task_id": task.id, "member_id": member_id, "confirmed_at": AT}
        try:
            with session.begin_nested():
                _CONFIRM.execute(session, late=False, is_correction=False, **values)
                raise LookupError("undo")
        except LookupError:
            pass
        assert session.scalar(select(func.count(StudyConfirmation.id))) == 0


_NAMED_ANY = Prepared(
    select(_MEMBERS.c.name)
    .where(any_of(_MEMBERS.c.name, "names"), any_of(_MEMBERS.c.id, "ids"))
    .order_by(_MEMBERS.c.name)
)


def test_a_list_parameter_matches_any_of_its_values_on_every_backend(db: Database) -> None:
    _branch_id, member_id = _member(db)
    with db.transaction() as session:
        branch = roster.get_branch(session, "测试支部")
        assert branch is not None
        roster.upsert_member(session, Actor("test", AT), branch, roster.RosterRow(name="李明"))
    with db.session() as session:
        both = ["张伟", "李明", "无此人"]
        ids = [member_id, member_id + 1, 10**9]
        assert _NAMED_ANY.all(session, names=both, ids=ids) == [("张伟",), ("李明",)]
        assert _NAMED_ANY.all(session, names=["李明"], ids=ids) == [("李明",)]
        assert _NAMED_ANY.all(session, names=both, ids=[member_id]) == [("张伟",)]
        assert _NAMED_ANY.all(session, names=[], ids=ids) == []
        assert _NAMED_ANY.all(session, names=["'); DROP TABLE members; --"], ids=ids) == []
