"""Stored annual plans: version numbers per branch and year, entries round-trip, every save audited."""

from __future__ import annotations

import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from storage import plans, roster
from storage.audit import Actor
from storage.db import Database
from storage.models import AuditEntry, Branch, PlanEntry
from storage.plans import PlanRow

AT = datetime(2026, 11, 20, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
ACTOR = Actor("cli:test", AT)
ROWS = [
    PlanRow(date(2027, 1, 4), "主题党日", "主题党日", None, date(2027, 1, 1), "原定1月1日为休息日"),
    PlanRow(date(2027, 1, 15), "党小组会", "党小组会（第一党小组）", "第一党小组"),
    PlanRow(date(2027, 7, 1), "node_day", "七一建党纪念日", note="建议主题：重温入党誓词"),
]


def branch(db: Database, name: str = "机关第一支部") -> int:
    """Create (or find) a branch and return its id."""
    with db.transaction() as session:
        return roster.ensure_branch(session, ACTOR, name, "Asia/Shanghai").id


def save(
    db: Database,
    branch_id: int,
    year: int,
    rows: list[PlanRow] = ROWS,
    source: str = plans.SOURCE_GENERATED,
    note: str | None = None,
) -> int:
    """Save rows as a new version and return its number."""
    with db.transaction() as session:
        target = session.get_one(Branch, branch_id)
        return plans.save_version(session, ACTOR, target, year, rows, source, note).version


def test_versions_count_per_branch_and_year(db: Database) -> None:
    first, second = branch(db), branch(db, "机关第二支部")

    assert [save(db, first, 2027), save(db, first, 2027), save(db, first, 2027)] == [1, 2, 3]
    assert save(db, first, 2028) == 1
    assert save(db, second, 2027) == 1

    with db.session() as session:
        assert [v.version for v in plans.versions(session, first, 2027)] == [1, 2, 3]
        assert [v.version for v in plans.versions(session, second, 2027)] == [1]
        assert plans.versions(session, second, 2029) == []
        latest = plans.latest_version(session, first, 2027)
        assert latest is not None
        assert latest.version == 3
        assert plans.latest_version(session, first, 2029) is None


def test_entries_round_trip_in_order(db: Database) -> None:
    branch_id = branch(db)
    save(db, branch_id, 2027, note="第一稿")
    edited = [ROWS[1], ROWS[0]]
    save(db, branch_id, 2027, edited, plans.SOURCE_IMPORTED)

    with db.session() as session:
        first, second = plans.versions(session, branch_id, 2027)
        assert plans.as_rows(plans.entries(session, first.id)) == ROWS
        assert plans.as_rows(plans.entries(session, second.id)) == edited
        assert [e.position for e in plans.entries(session, first.id)] == [0, 1, 2]
        assert (first.source, first.note, first.created_by) == ("generated", "第一稿", "cli:test")
        assert (second.source, second.note) == ("imported", None)
        assert first.created_at == AT
        assert plans.entry_counts(session, [first.id, second.id]) == {first.id: 3, second.id: 2}
        assert plans.entry_counts(session, []) == {}


def test_an_empty_plan_is_a_version_too(db: Database) -> None:
    branch_id = branch(db)
    assert save(db, branch_id, 2027, []) == 1
    with db.session() as session:
        latest = plans.latest_version(session, branch_id, 2027)
        assert latest is not None
        assert plans.entries(session, latest.id) == []
        assert plans.entry_counts(session, [latest.id]) == {latest.id: 0}


def test_every_save_is_audited(db: Database) -> None:
    branch_id = branch(db)
    save(db, branch_id, 2027)
    save(db, branch_id, 2027, ROWS[:1], plans.SOURCE_IMPORTED, "改期")

    with db.session() as session:
        audits = list(
            session.scalars(
                select(AuditEntry)
                .where(AuditEntry.entity == "plan_version")
                .order_by(AuditEntry.id)
            )
        )
        stored = plans.versions(session, branch_id, 2027)
    assert [a.entity_id for a in audits] == [v.id for v in stored]
    assert {(a.action, a.actor, a.branch_id) for a in audits} == {("create", "cli:test", branch_id)}
    details = [json.loads(a.detail) for a in audits]
    assert details[1] == {
        "entries": 1,
        "note": "改期",
        "source": "imported",
        "version": 2,
        "year": 2027,
    }
    assert details[0]["entries"] == 3


def test_an_unknown_source_is_refused_and_nothing_is_stored(db: Database) -> None:
    branch_id = branch(db)
    with pytest.raises(ValueError, match="source"):
        save(db, branch_id, 2027, source="typed")
    with db.session() as session:
        assert plans.versions(session, branch_id, 2027) == []
        assert session.scalars(select(PlanEntry)).all() == []
