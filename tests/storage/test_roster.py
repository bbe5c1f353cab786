"""Roster import: members, roles from titles, platform identities, idempotent re-import, updates
and identity collisions."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.roster_csv import read_roster
from storage import roster
from storage.audit import Actor
from storage.db import Database
from storage.models import AuditEntry, Branch, Member, MemberIdentity
from storage.roster import ImportResult, RosterRow
from tests.factories import BRANCH, DATA, ChatBot

AT = datetime(2026, 11, 20, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
SAMPLE = read_roster(DATA / "roster_sample.csv").rows


def run_import(db: Database, rows: list[RosterRow], at: datetime = AT) -> ImportResult:
    """Import rows into the test branch in one transaction, as the CLI does."""
    with db.transaction() as session:
        actor = Actor("cli:test", at)
        branch = roster.ensure_branch(session, actor, BRANCH, "Asia/Shanghai")
        return roster.import_roster(session, actor, branch, rows)


def members(session: Session) -> dict[str, Member]:
    """Every member by name."""
    return {m.name: m for m in session.scalars(select(Member))}


def identities(session: Session) -> set[tuple[str, str, str]]:
    """(name, platform, user id) for every identity."""
    rows = session.execute(
        select(Member.name, MemberIdentity.platform, MemberIdentity.external_id).join(
            Member, Member.id == MemberIdentity.member_id
        )
    )
    return {(name, platform, external) for name, platform, external in rows}


def count(session: Session, model: type[object]) -> int:
    """Number of rows of a model."""
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_import_creates_members_roles_and_identities(db: Database) -> None:
    result = run_import(db, SAMPLE)

    assert result.created == [r.name for r in SAMPLE]
    assert result.updated == result.unchanged == []
    with db.session() as session:
        found = members(session)
        assert len(found) == 10
        secretaries = {n for n, m in found.items() if m.role == "secretary"}
        assert secretaries == {"李明", "王芳"}  # 书记 and 组织委员; 宣传委员 is not
        assert all(m.role == "member" for n, m in found.items() if n not in secretaries)
        assert found["孙强"].probationary
        assert not found["赵磊"].probationary
        assert found["张伟"].title == "宣传委员"
        assert found["张伟"].party_group == "第二党小组"
        assert found["张伟"].phone == "13800000003"
        assert found["张伟"].created_at == AT
        assert all(m.active for m in found.values())
        ids = identities(session)
        assert ("李明", "wecom", "liming") in ids
        assert ("李明", "dingtalk", "0138217") in ids
        assert len(ids) == 20
        branch = session.scalars(select(Branch)).one()
        assert branch.name == BRANCH
        assert (
            roster.find_member_by_identity(session, branch.id, "dingtalk", "0138219")
            == (found["张伟"])
        )


@pytest.mark.parametrize("title", ["书记", "副书记", "组织委员"])
def test_secretary_titles_give_the_secretary_role(db: Database, title: str) -> None:
    run_import(db, [RosterRow(name="周新", title=title)])
    with db.session() as session:
        assert members(session)["周新"].role == "secretary"


def test_an_explicit_role_beats_the_title(db: Database) -> None:
    run_import(
        db,
        [
            RosterRow(name="周新", title="书记", role="member"),
            RosterRow(name="郑好", title="党员", role="secretary"),
        ],
    )
    with db.session() as session:
        found = members(session)
        assert found["周新"].role == "member"
        assert found["郑好"].role == "secretary"


def test_reimport_of_the_same_file_changes_nothing(db: Database) -> None:
    run_import(db, SAMPLE)
    with db.session() as session:
        audit_before = count(session, AuditEntry)
        ids_before = identities(session)

    result = run_import(db, SAMPLE, AT + timedelta(days=1))

    assert result.created == result.updated == []
    assert result.unchanged == [r.name for r in SAMPLE]
    with db.session() as session:
        assert count(session, Member) == 10
        assert count(session, MemberIdentity) == 20
        assert count(session, Branch) == 1
        assert count(session, AuditEntry) == audit_before
        assert identities(session) == ids_before
        assert all(m.updated_at == AT for m in members(session).values())


def test_a_changed_row_updates_the_member(db: Database) -> None:
    run_import(db, SAMPLE)
    later = AT + timedelta(days=1)
    changed = [
        replace(r, title="副书记", party_group="第一党小组", identities={"wecom": "zhangwei2"})
        if r.name == "张伟"
        else r
        for r in SAMPLE
    ]

    result = run_import(db, changed, later)

    assert result.updated == ["张伟"]
    assert result.created == []
    assert len(result.unchanged) == 9
    with db.session() as session:
        zhang = members(session)["张伟"]
        assert (zhang.title, zhang.role, zhang.party_group) == ("副书记", "secretary", "第一党小组")
        assert zhang.updated_at == later
        ids = identities(session)
        assert ("张伟", "wecom", "zhangwei2") in ids
        assert ("张伟", "wecom", "zhangwei") not in ids
        assert ("张伟", "dingtalk", "0138219") in ids  # not in the row: left alone
        assert count(session, Member) == 10
        changes = list(
            session.scalars(
                select(AuditEntry).where(AuditEntry.at == later).order_by(AuditEntry.id)
            )
        )
        assert [(c.action, c.entity_id) for c in changes] == [
            ("update", zhang.id),
            ("set_identity", zhang.id),
        ]


def test_set_identity_refuses_an_id_held_by_another_member(db: Database) -> None:
    run_import(db, SAMPLE)
    with db.transaction() as session:
        found = members(session)
        actor = Actor("cli:test", AT)
        # Taking 李明's WeCom id is refused and changes nothing.
        assert not roster.set_identity(session, actor, found["张伟"], "wecom", "liming")
        # Setting one's own current id again is fine (and a no-op).
        assert roster.set_identity(session, actor, found["张伟"], "wecom", "zhangwei")
        # A new id replaces the member's old one on that platform.
        assert roster.set_identity(session, actor, found["张伟"], "wecom", "zw")
        # The same id on another platform is a different identity.
        assert roster.set_identity(session, actor, found["赵磊"], "dingtalk", "liming")
    with db.session() as session:
        ids = identities(session)
        assert ("李明", "wecom", "liming") in ids
        assert ("张伟", "wecom", "zw") in ids
        assert not any(n == "张伟" and p == "wecom" and e != "zw" for n, p, e in ids)
        assert ("赵磊", "dingtalk", "liming") in ids
        assert ("赵磊", "dingtalk", "0138223") not in ids
        assert count(session, MemberIdentity) == 20


def test_ids_are_unique_per_branch_not_globally(db: Database) -> None:
    run_import(db, SAMPLE)
    with db.transaction() as session:
        actor = Actor("cli:test", AT)
        other = roster.ensure_branch(session, actor, "机关第二党支部", "Asia/Shanghai")
        roster.import_roster(
            session, actor, other, [RosterRow("李明", identities={"wecom": "liming"})]
        )
    with db.session() as session:
        assert count(session, MemberIdentity) == 21


def test_import_with_a_colliding_id_reports_it_and_stays_idempotent(db: Database) -> None:
    run_import(db, SAMPLE)
    colliding = [*SAMPLE, RosterRow(name="周新", identities={"wecom": "liming"})]

    first = run_import(db, colliding)
    second = run_import(db, colliding)

    assert first.created == ["周新"]
    assert first.conflicts == ["周新"]
    assert second.created == second.updated == []
    assert second.conflicts == ["周新"]
    with db.session() as session:
        ids = identities(session)
        assert ("李明", "wecom", "liming") in ids  # the holder keeps it
        assert not any(n == "周新" for n, _, _ in ids)


def test_role_granted_in_chat_survives_reimport(bot: ChatBot) -> None:
    bot.say("李明", "设为书记 赵磊")
    bot.seed()  # the same file again: 赵磊 is 党员 there, with no 角色 column
    assert "已发起签到" in bot.say("赵磊", "开会 党员大会")
