"""Branches, chats, members and their platform identities."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, bindparam, event, func, select
from sqlalchemy.orm import Session

from storage import audit
from storage.audit import Actor
from storage.memo import forget, memo
from storage.models import ROLE_MEMBER, ROLE_SECRETARY, Branch, Chat, Member, MemberIdentity
from storage.rawsql import Prepared

# Titles (职务) that carry the secretary role unless the roster says otherwise.
SECRETARY_TITLES = frozenset({"书记", "副书记", "组织委员"})

_MEMBERS: Table = Member.__table__  # type: ignore[assignment]


def _names_statement(branches: ColumnElement[bool]) -> Prepared:
    """Active members' (branch id, name, id) in the branches the condition picks."""
    return Prepared(
        select(_MEMBERS.c.branch_id, _MEMBERS.c.name, _MEMBERS.c.id)
        .where(branches, _MEMBERS.c.active.is_(True))
        .order_by(_MEMBERS.c.branch_id, _MEMBERS.c.id.desc())
    )


# Names of a branch's active members, read once per transaction: most lookups ask about a
# word that names nobody (a 请假 reason). Should two share a name, the earliest one counts.
_ACTIVE_NAMES = _names_statement(_MEMBERS.c.branch_id == bindparam("branch_id"))


@dataclass(frozen=True)
class RosterRow:
    """One member as a roster file describes them (platform ids keyed by platform name)."""

    name: str
    title: str = "党员"
    party_group: str | None = None
    probationary: bool = False
    phone: str | None = None
    role: str | None = None  # None: derived from the title
    identities: dict[str, str] = field(default_factory=dict)


@dataclass
class ImportResult:
    """What a roster import changed."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    # Members whose platform id in the file is held by another member (left unset).
    conflicts: list[str] = field(default_factory=list)


def get_branch(session: Session, name: str) -> Branch | None:
    """Return the branch with this exact name, if any."""
    return session.scalar(select(Branch).where(Branch.name == name))


def list_branches(session: Session) -> list[Branch]:
    """Return all branches by name."""
    return list(session.scalars(select(Branch).order_by(Branch.name)))


def ensure_branch(session: Session, actor: Actor, name: str, timezone: str) -> Branch:
    """Return the branch with this name, creating it if needed."""
    branch = get_branch(session, name)
    if branch is None:
        branch = Branch(name=name, timezone=timezone, created_at=actor.at)
        session.add(branch)
        session.flush()
        audit.record(
            session,
            actor,
            branch_id=branch.id,
            action="create",
            entity="branch",
            entity_id=branch.id,
            name=name,
        )
    return branch


def ensure_chat(
    session: Session, platform: str, external_id: str, *, title: str | None, at: datetime
) -> Chat:
    """Return the chat row for a platform chat id, creating it on first sight."""
    key = ("chat", platform, external_id)
    cache = memo(session)
    chat = cache.get(key) or find_chat(session, platform, external_id)
    if chat is None:
        chat = Chat(platform=platform, external_id=external_id, title=title, created_at=at)
        session.add(chat)
        session.flush()
    cache[key] = chat
    return chat


def bind_chat(session: Session, actor: Actor, chat: Chat, branch: Branch) -> None:
    """Bind a chat to a branch and record it in the audit trail."""
    previous = chat.branch_id
    chat.branch_id = branch.id
    audit.record(
        session,
        actor,
        branch_id=branch.id,
        action="bind",
        entity="chat",
        entity_id=chat.id,
        platform=chat.platform,
        chat=chat.external_id,
        previous_branch_id=previous,
    )


def branch_count(session: Session) -> int:
    """Return how many branches exist."""
    return session.scalar(select(func.count(Branch.id))) or 0


def only_branch(session: Session) -> Branch | None:
    """Return the single branch when exactly one exists."""
    branches = list(session.scalars(select(Branch).limit(2)))
    return branches[0] if len(branches) == 1 else None


def find_member_by_identity(
    session: Session, branch_id: int, platform: str, external_id: str
) -> Member | None:
    """Return the active member of the branch with this platform user id."""
    key = ("member", branch_id, platform, external_id)
    cache = memo(session)
    cached = cache.get(key)
    if isinstance(cached, Member) and cached.active and cached.branch_id == branch_id:
        return cached
    found = session.scalar(
        select(Member)
        .join(MemberIdentity, MemberIdentity.member_id == Member.id)
        .where(
            MemberIdentity.branch_id == branch_id,
            MemberIdentity.platform == platform,
            MemberIdentity.external_id == external_id,
            Member.active.is_(True),
        )
    )
    if found is not None:
        cache[key] = found
    return found


def names_read(branch_ids: Select[Any]) -> Prepared:
    """A statement reading the active members' names of the branches `branch_ids` selects,
    for `remember_names` (a batch reads them with its lookups)."""
    return _names_statement(_MEMBERS.c.branch_id.in_(branch_ids))


def remember_names(
    session: Session, branch_ids: Iterable[int], rows: Iterable[tuple[Any, ...]]
) -> None:
    """Keep what `names_read` read for `find_member_by_name`."""
    cache = memo(session)
    names: dict[int, dict[str, int]] = {}
    for branch_id in branch_ids:
        names[branch_id] = cache[("member_names", branch_id)] = {}
    for branch_id, name, member_id in rows:
        names[branch_id][name] = member_id


def find_member_by_name(session: Session, branch_id: int, name: str) -> Member | None:
    """Return the active member of the branch with this exact name."""
    key = ("member_names", branch_id)
    cache = memo(session)
    names: dict[str, int] | None = cache.get(key)
    if names is None:
        rows = _ACTIVE_NAMES.all(session, branch_id=branch_id)
        remember_names(session, [branch_id], rows)
        names = cache[key]
    member_id = names.get(name)
    return session.get(Member, member_id) if member_id is not None else None


@event.listens_for(Session, "before_flush")
def _forget_names(session: Session, _context: object, _instances: object) -> None:
    # Names change only through ORM members (added, renamed, deactivated): look them up again.
    if any(isinstance(o, Member) for o in (*session.new, *session.dirty, *session.deleted)):
        cache = memo(session)
        for key in [k for k in cache if k[0] == "member_names"]:
            del cache[key]


def active_members(session: Session, branch_id: int) -> list[Member]:
    """Return the branch's active members in roster order."""
    return list(
        session.scalars(
            select(Member)
            .where(Member.branch_id == branch_id, Member.active.is_(True))
            .order_by(Member.id)
        )
    )


def identities_for(session: Session, member_ids: list[int], platform: str) -> dict[int, str]:
    """Map member ids to their user id on a platform (members without one are left out)."""
    if not member_ids:
        return {}
    rows = session.execute(
        select(MemberIdentity.member_id, MemberIdentity.external_id).where(
            MemberIdentity.member_id.in_(member_ids), MemberIdentity.platform == platform
        )
    )
    return dict(rows.all())


def set_identity(
    session: Session, actor: Actor, member: Member, platform: str, external_id: str
) -> bool:
    """Give a member a platform user id; False when another member of the branch holds it."""
    holder = session.scalar(
        select(MemberIdentity).where(
            MemberIdentity.branch_id == member.branch_id,
            MemberIdentity.platform == platform,
            MemberIdentity.external_id == external_id,
        )
    )
    if holder is not None:
        return holder.member_id == member.id
    forget(session)  # a sender may now be someone else
    existing = session.scalar(
        select(MemberIdentity).where(
            MemberIdentity.member_id == member.id, MemberIdentity.platform == platform
        )
    )
    if existing is not None:
        existing.external_id = external_id
    else:
        session.add(
            MemberIdentity(
                branch_id=member.branch_id,
                member_id=member.id,
                platform=platform,
                external_id=external_id,
            )
        )
    audit.record(
        session,
        actor,
        branch_id=member.branch_id,
        action="set_identity",
        entity="member",
        entity_id=member.id,
        platform=platform,
        external_id=external_id,
    )
    session.flush()
    return True


def role_for(row: RosterRow) -> str:
    """Return the role a roster row gives: explicit, else derived from the title."""
    if row.role:
        return row.role
    return ROLE_SECRETARY if row.title in SECRETARY_TITLES else ROLE_MEMBER


def upsert_member(session: Session, actor: Actor, branch: Branch, row: RosterRow) -> str:
    """Create or update one member; return "created", "updated" or "unchanged"."""
    member = session.scalar(
        select(Member).where(Member.branch_id == branch.id, Member.name == row.name)
    )
    wanted = {
        "title": row.title,
        "party_group": row.party_group,
        "probationary": row.probationary,
        "phone": row.phone,
        "role": role_for(row),
        "active": True,
    }
    if member is not None and row.role is None and member.title == row.title:
        # A role granted in chat (设为书记) survives re-importing a file that names no role.
        wanted["role"] = member.role
    outcome = "unchanged"
    if member is None:
        member = Member(
            branch_id=branch.id, name=row.name, created_at=actor.at, updated_at=actor.at, **wanted
        )
        session.add(member)
        session.flush()
        audit.record(
            session,
            actor,
            branch_id=branch.id,
            action="create",
            entity="member",
            entity_id=member.id,
            **wanted,
            name=row.name,
        )
        outcome = "created"
    else:
        changes = {k: v for k, v in wanted.items() if getattr(member, k) != v}
        if changes:
            for key, value in changes.items():
                setattr(member, key, value)
            member.updated_at = actor.at
            audit.record(
                session,
                actor,
                branch_id=branch.id,
                action="update",
                entity="member",
                entity_id=member.id,
                **changes,
            )
            outcome = "updated"
    for platform, external_id in row.identities.items():
        current = identities_for(session, [member.id], platform).get(member.id)
        if (
            current != external_id
            and set_identity(session, actor, member, platform, external_id)
            and outcome == "unchanged"
        ):
            outcome = "updated"
    return outcome


def _holds_identities(session: Session, branch: Branch, row: RosterRow) -> bool:
    """True when the row's member has every platform id the row gives."""
    member_id = session.scalar(
        select(Member.id).where(Member.branch_id == branch.id, Member.name == row.name)
    )
    return member_id is not None and all(
        identities_for(session, [member_id], platform).get(member_id) == external_id
        for platform, external_id in row.identities.items()
    )


def import_roster(
    session: Session, actor: Actor, branch: Branch, rows: list[RosterRow]
) -> ImportResult:
    """Create or update every row's member; never duplicates on re-import."""
    result = ImportResult()
    for row in rows:
        outcome = upsert_member(session, actor, branch, row)
        getattr(result, outcome).append(row.name)
        if row.identities and not _holds_identities(session, branch, row):
            result.conflicts.append(row.name)
    return result


def set_role(session: Session, actor: Actor, member: Member, role: str) -> bool:
    """Change a member's role; False when it already was that role."""
    if member.role == role:
        return False
    audit.record(
        session,
        actor,
        branch_id=member.branch_id,
        action="set_role",
        entity="member",
        entity_id=member.id,
        old=member.role,
        new=role,
    )
    member.role = role
    member.updated_at = actor.at
    return True


def chat_routes(chat: Chat) -> dict[str, str]:
    """Return the chat's delivery routes."""
    value = json.loads(chat.routes or "{}")
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def merge_chat_routes(chat: Chat, routes: dict[str, str]) -> bool:
    """Add or replace delivery routes on a chat; True when something changed."""
    current = chat_routes(chat)
    merged = {**current, **routes}
    if merged == current:
        return False
    chat.routes = json.dumps(merged, ensure_ascii=False, sort_keys=True)
    return True


def find_chat(session: Session, platform: str, external_id: str) -> Chat | None:
    """Return the chat row of a platform chat id, if known."""
    return session.scalar(
        select(Chat).where(Chat.platform == platform, Chat.external_id == external_id)
    )
