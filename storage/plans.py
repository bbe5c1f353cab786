"""Stored annual plans: each save of a branch's year is a new numbered version, never an edit.

Platform- and scheduler-neutral: callers pass plain `PlanRow` values, whatever produced them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage import audit
from storage.audit import Actor
from storage.models import Branch, PlanEntry, PlanVersion

SOURCE_GENERATED = "generated"
SOURCE_IMPORTED = "imported"
SOURCES = (SOURCE_GENERATED, SOURCE_IMPORTED)


@dataclass(frozen=True)
class PlanRow:
    """One planned item as storage sees it."""

    date: dt.date
    kind: str
    title: str
    party_group: str | None = None
    moved_from: dt.date | None = None
    note: str | None = None


def save_version(
    session: Session,
    actor: Actor,
    branch: Branch,
    year: int,
    rows: Iterable[PlanRow],
    source: str,
    note: str | None = None,
) -> PlanVersion:
    """Store `rows` as the next version of `branch`'s plan for `year`, and audit it."""
    if source not in SOURCES:
        raise ValueError(f"unknown plan source {source!r}")
    items = list(rows)
    previous = session.scalar(
        select(func.max(PlanVersion.version)).where(
            PlanVersion.branch_id == branch.id, PlanVersion.year == year
        )
    )
    version = PlanVersion(
        branch_id=branch.id,
        year=year,
        version=(previous or 0) + 1,
        source=source,
        created_at=actor.at,
        created_by=actor.name,
        note=note,
    )
    session.add(version)
    session.flush()
    session.add_all(
        PlanEntry(
            plan_version_id=version.id,
            date=row.date,
            kind=row.kind,
            title=row.title,
            party_group=row.party_group,
            moved_from=row.moved_from,
            note=row.note or None,
            position=position,
        )
        for position, row in enumerate(items)
    )
    session.flush()
    audit.record(
        session,
        actor,
        branch_id=branch.id,
        action="create",
        entity="plan_version",
        entity_id=version.id,
        year=year,
        version=version.version,
        source=source,
        entries=len(items),
        note=note,
    )
    return version


def versions(session: Session, branch_id: int, year: int) -> list[PlanVersion]:
    """All stored versions of a branch's plan for `year`, oldest first."""
    return list(
        session.scalars(
            select(PlanVersion)
            .where(PlanVersion.branch_id == branch_id, PlanVersion.year == year)
            .order_by(PlanVersion.version)
        )
    )


def latest_version(session: Session, branch_id: int, year: int) -> PlanVersion | None:
    """The newest stored version of a branch's plan for `year`, if any."""
    return session.scalar(
        select(PlanVersion)
        .where(PlanVersion.branch_id == branch_id, PlanVersion.year == year)
        .order_by(PlanVersion.version.desc())
        .limit(1)
    )


def entries(session: Session, version_id: int) -> list[PlanEntry]:
    """The items of one plan version, in their stored order."""
    return list(
        session.scalars(
            select(PlanEntry)
            .where(PlanEntry.plan_version_id == version_id)
            .order_by(PlanEntry.position)
        )
    )


def entry_counts(session: Session, version_ids: Iterable[int]) -> dict[int, int]:
    """How many items each of the given plan versions holds."""
    ids = list(version_ids)
    if not ids:
        return {}
    counts = dict.fromkeys(ids, 0)
    for version_id, count in session.execute(
        select(PlanEntry.plan_version_id, func.count())
        .where(PlanEntry.plan_version_id.in_(ids))
        .group_by(PlanEntry.plan_version_id)
    ):
        counts[version_id] = count
    return counts


def as_rows(stored: Iterable[PlanEntry]) -> list[PlanRow]:
    """Stored entries back as plain `PlanRow` values."""
    return [PlanRow(e.date, e.kind, e.title, e.party_group, e.moved_from, e.note) for e in stored]
