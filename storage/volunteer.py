"""Volunteer service records (志愿服务)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Table, and_, bindparam, case, func, insert, or_, select
from sqlalchemy.orm import Session

from storage import audit
from storage.audit import Actor
from storage.models import VolunteerRecord
from storage.rawsql import Prepared

CENT = Decimal("0.01")


_RECORDS: Table = VolunteerRecord.__table__  # type: ignore[assignment]
_MEMBER_TOTAL = Prepared(
    select(func.count(_RECORDS.c.id), func.sum(_RECORDS.c.hours)).where(
        _RECORDS.c.branch_id == bindparam("branch_id"),
        _RECORDS.c.member_id == bindparam("member_id"),
        _RECORDS.c.service_date >= bindparam("start", type_=_RECORDS.c.service_date.type),
        _RECORDS.c.service_date < bindparam("end", type_=_RECORDS.c.service_date.type),
    )
)
_INSERT_RECORD = Prepared(
    insert(_RECORDS).returning(_RECORDS.c.id),
    (
        "branch_id",
        "member_id",
        "service_date",
        "hours",
        "activity",
        "recorded_at",
        "recorded_by_member_id",
        "source_inbox_id",
    ),
)


_DAY = bindparam("day", type_=_RECORDS.c.service_date.type)
_IN_MONTH = and_(
    _RECORDS.c.service_date >= bindparam("start", type_=_RECORDS.c.service_date.type),
    _RECORDS.c.service_date < bindparam("end", type_=_RECORDS.c.service_date.type),
)
_DAY_AND_PERIOD = Prepared(
    select(
        func.sum(case((_RECORDS.c.service_date == _DAY, _RECORDS.c.hours), else_=0)),
        func.sum(case((_IN_MONTH, _RECORDS.c.hours), else_=0)),
    ).where(
        _RECORDS.c.branch_id == bindparam("branch_id"),
        _RECORDS.c.member_id == bindparam("member_id"),
        or_(_RECORDS.c.service_date == _DAY, _IN_MONTH),
    )
)


def _cents(value: object) -> Decimal:
    # SQLite keeps NUMERIC as binary floating point: round sums back to cents.
    return Decimal(str(value or 0)).quantize(CENT)


def day_and_period_hours(
    session: Session, branch_id: int, member_id: int, day: date, start: date, end: date
) -> tuple[Decimal, Decimal]:
    """A member's hours on one service date and in [start, end), in one query."""
    row = _DAY_AND_PERIOD.first(
        session, branch_id=branch_id, member_id=member_id, day=day, start=start, end=end
    )
    return (_cents(row[0]), _cents(row[1])) if row is not None else (Decimal(0), Decimal(0))


def member_total_read(
    branch_id: int, member_id: int, start: date, end: date
) -> tuple[Prepared, dict[str, object]]:
    """The query behind `member_total`, for running it together with others."""
    params = {"branch_id": branch_id, "member_id": member_id, "start": start, "end": end}
    return _MEMBER_TOTAL, params


def member_total_from(rows: list[tuple[object, ...]]) -> tuple[int, Decimal]:
    """Turn the rows of `member_total_read` into (record count, hours)."""
    count, total = rows[0] if rows else (0, None)
    return int(str(count or 0)), _cents(total)


def member_total(
    session: Session, branch_id: int, member_id: int, start: date, end: date
) -> tuple[int, Decimal]:
    """Return how many records a member has with service dates in [start, end), and their hours."""
    statement, params = member_total_read(branch_id, member_id, start, end)
    return member_total_from(statement.all(session, **params))


def add_record(
    session: Session,
    actor: Actor,
    *,
    branch_id: int,
    member_id: int,
    service_date: date,
    hours: Decimal,
    activity: str,
) -> int:
    """Record volunteer hours for a member; return the record's id."""
    row_id = int(
        _INSERT_RECORD.insert(
            session,
            branch_id=branch_id,
            member_id=member_id,
            service_date=service_date,
            hours=hours,
            activity=activity,
            recorded_at=actor.at,
            recorded_by_member_id=actor.member_id,
            source_inbox_id=actor.inbox_id,
        )
    )
    audit.record(
        session,
        actor,
        branch_id=branch_id,
        action="volunteer",
        entity="volunteer_record",
        entity_id=row_id,
        member_id=member_id,
        date=service_date,
        hours=str(hours),
        activity=activity,
    )
    return row_id
