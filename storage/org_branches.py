"""Which organisation (机关工委) each branch belongs to: the field the work committee's report and
the whole organisation's 台账 group branches by. Set by an administrator, audited."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage import audit
from storage.audit import Actor
from storage.models import Branch, Member

ORGANISATION_MAX = 100  # the column's length


@dataclass(frozen=True)
class BranchLine:
    """One branch as `zhibu branch list` shows it."""

    name: str
    organisation: str | None
    members: int  # active members


def normalise_organisation(text: str | None) -> str | None:
    """The organisation name as stored: trimmed, None when empty; ValueError when too long."""
    name = (text or "").strip()
    if len(name) > ORGANISATION_MAX:
        raise ValueError(f"所属组织名称不能超过{ORGANISATION_MAX}字")
    return name or None


def set_organisation(
    session: Session, actor: Actor, branch: Branch, organisation: str | None
) -> bool:
    """Set (or clear, with None/empty) the branch's organisation; False when it was already so."""
    wanted = normalise_organisation(organisation)
    previous = branch.organisation
    if previous == wanted:
        return False
    branch.organisation = wanted
    audit.record(
        session,
        actor,
        branch_id=branch.id,
        action="set_organisation",
        entity="branch",
        entity_id=branch.id,
        organisation=wanted,
        previous=previous,
    )
    return True


def branch_lines(session: Session) -> list[BranchLine]:
    """Every branch by name with its organisation and number of active members (one query)."""
    active = (
        select(Member.branch_id, func.count().label("members"))
        .where(Member.active.is_(True))
        .group_by(Member.branch_id)
        .subquery()
    )
    rows = session.execute(
        select(Branch.name, Branch.organisation, func.coalesce(active.c.members, 0))
        .outerjoin(active, active.c.branch_id == Branch.id)
        .order_by(Branch.name)
    )
    return [BranchLine(name, organisation, int(members)) for name, organisation, members in rows]
