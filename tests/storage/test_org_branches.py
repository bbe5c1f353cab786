"""A branch's organisation (what the work committee's report groups by): set, cleared, audited,
and the branch list with member counts, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update

from storage import roster
from storage.audit import Actor
from storage.db import Database
from storage.models import AuditEntry, Member
from storage.org_branches import BranchLine, branch_lines, normalise_organisation, set_organisation
from tests.factories import BRANCH, ChatBot

ACTOR = Actor("cli:test", datetime(2026, 11, 20, 2, 0, tzinfo=UTC))


def test_set_clear_and_list(db: Database, bot: ChatBot) -> None:
    with db.transaction() as session:
        empty = roster.ensure_branch(session, ACTOR, "空支部", "Asia/Shanghai")
        branch = roster.get_branch(session, BRANCH)
        assert branch is not None
        assert set_organisation(session, ACTOR, branch, " 市直机关工委 ")
        assert not set_organisation(session, ACTOR, branch, "市直机关工委")
        assert set_organisation(session, ACTOR, empty, "区直机关工委")
        assert set_organisation(session, ACTOR, empty, "")
        session.execute(update(Member).where(Member.name == "孙强").values(active=False))
    with db.session() as session:
        assert sorted(branch_lines(session), key=lambda b: b.members) == [
            BranchLine("空支部", None, 0),
            BranchLine(BRANCH, "市直机关工委", 9),  # active members only
        ]
        details = session.scalars(
            select(AuditEntry.detail).where(AuditEntry.action == "set_organisation")
        ).all()
    assert len(details) == 3


def test_names_are_checked() -> None:
    assert normalise_organisation(None) is None
    assert normalise_organisation("  ") is None
    assert normalise_organisation(" 工委 ") == "工委"
    with pytest.raises(ValueError, match="100"):
        normalise_organisation("长" * 101)
