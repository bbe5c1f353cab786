"""Volunteer service records (志愿服务)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    and_,
    bindparam,
    case,
    func,
    insert,
    or_,
    select,
)
from sqlalchemy.orm import Session

from storage import audit
from storage.audit import Actor
from storage.memo import batch_members, memo
from storage.models import VolunteerRecord
from storage.rawsql import Prepared
from storage.value_lists import any_of

CENT = Decimal("0.01")


_RECORDS: Table = VolunteerRecord.__table__  # type: ignore[assignment]
RECORDS_TABLE = _RECORDS.name
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
    """A member's hours on one service date and in [start, end), in one query.

    For a sender of the batch in hand, the sums of all its senders are read at once and kept
    current by `add_record` (the only writer of these rows) for the rest of the transaction.
    """
    key = ("volunteer_hours", branch_id, day, start, end)
    cache = memo(session)
    sums: dict[int, list[Decimal]] | None = cache.get(key)
    if sums is None and member_id in (members := batch_members(session)):
        rows = _SENDERS_HOURS.all(
            session, branch_id=branch_id, member_ids=sorted(members), day=day, start=start, end=end
        )
        remember_hours(session, [branch_id], (day, start, end), rows)
        sums = cache[key]
    if sums is not None and member_id in sums:
        on_day, in_period = sums[member_id]
        return on_day, in_period
    row = _DAY_AND_PERIOD.first(
        session, branch_id=branch_id, member_id=member_id, day=day, start=start, end=end
    )
    return (_cents(row[0]), _cents(row[1])) if row is not None else (Decimal(0), Decimal(0))


def _hours_read(branches: ColumnElement[bool], members: ColumnElement[bool]) -> Prepared:
    return Prepared(
        select(
            _RECORDS.c.branch_id,
            _RECORDS.c.member_id,
            func.sum(case((_RECORDS.c.service_date == _DAY, _RECORDS.c.hours), else_=0)),
            func.sum(case((_IN_MONTH, _RECORDS.c.hours), else_=0)),
        )
        .where(branches, members, or_(_RECORDS.c.service_date == _DAY, _IN_MONTH))
        .group_by(_RECORDS.c.branch_id, _RECORDS.c.member_id)
    )


def batch_hours_read(branch_ids: Select[Any], member_ids: Select[Any]) -> Prepared:
    """A statement summing, per branch and member, the hours on `day` and in [start, end) of
    the branches and members the two selects give, for `remember_hours`."""
    return _hours_read(_RECORDS.c.branch_id.in_(branch_ids), _RECORDS.c.member_id.in_(member_ids))


# The same sums for one branch and a list of members (a batch's senders).
_SENDERS_HOURS = _hours_read(
    _RECORDS.c.branch_id == bindparam("branch_id"), any_of(_RECORDS.c.member_id, "member_ids")
)


def remember_hours(
    session: Session,
    branch_ids: Iterable[int],
    period: tuple[date, date, date],
    rows: Iterable[tuple[Any, ...]],
) -> None:
    """Keep what `batch_hours_read` read for (day, start, end) as `day_and_period_hours`
    would have read it for the batch's senders."""
    day, start, end = period
    cache = memo(session)
    members = batch_members(session)
    sums = {
        branch_id: cache.setdefault(
            ("volunteer_hours", branch_id, day, start, end),
            {m: [Decimal(0), Decimal(0)] for m in members},
        )
        for branch_id in branch_ids
    }
    for branch_id, member_id, on_day, in_period in rows:
        if member_id in sums[branch_id]:
            sums[branch_id][member_id] = [_cents(on_day), _cents(in_period)]


def _count_in_memo(
    session: Session, branch_id: int, member_id: int, on: date, hours: Decimal
) -> None:
    for key, sums in memo(session).items():
        if key[0] != "volunteer_hours" or key[1] != branch_id or member_id not in sums:
            continue
        _kind, _branch, day, start, end = key
        if on == day:
            sums[member_id][0] += hours
        if start <= on < end:
            sums[member_id][1] += hours


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
    _count_in_memo(session, branch_id, member_id, service_date, hours)
    return row_id
