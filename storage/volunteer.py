"""Volunteer service records (志愿服务)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage import audit
from storage.audit import Actor
from storage.models import VolunteerRecord

CENT = Decimal("0.01")


def member_total(
    session: Session, branch_id: int, member_id: int, start: date, end: date
) -> tuple[int, Decimal]:
    """Return how many records a member has with service dates in [start, end), and their hours."""
    count, total = session.execute(
        select(func.count(VolunteerRecord.id), func.sum(VolunteerRecord.hours)).where(
            VolunteerRecord.branch_id == branch_id,
            VolunteerRecord.member_id == member_id,
            VolunteerRecord.service_date >= start,
            VolunteerRecord.service_date < end,
        )
    ).one()
    # SQLite keeps NUMERIC as binary floating point: round the sum back to cents.
    return int(count), Decimal(str(total or 0)).quantize(CENT)


def add_record(
    session: Session,
    actor: Actor,
    *,
    branch_id: int,
    member_id: int,
    service_date: date,
    hours: Decimal,
    activity: str,
) -> VolunteerRecord:
    """Record volunteer hours for a member."""
    row = VolunteerRecord(
        branch_id=branch_id,
        member_id=member_id,
        service_date=service_date,
        hours=hours,
        activity=activity,
        recorded_at=actor.at,
        recorded_by_member_id=actor.member_id,
        source_inbox_id=actor.inbox_id,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        branch_id=branch_id,
        action="volunteer",
        entity="volunteer_record",
        entity_id=row.id,
        member_id=member_id,
        date=service_date,
        hours=str(hours),
        activity=activity,
    )
    return row
