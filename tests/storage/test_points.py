"""Points computed from a ledger built through chat: default rules, caps, floor, 补课, rule versions
(a change recomputes), and a fixed number of queries whatever the branch's size."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import yaml
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from storage import points, points_rules, roster
from storage.audit import Actor
from storage.models import AuditEntry, Branch
from storage.periods import resolve
from storage.points_rules import RulesInForce, default_text, parse_rules
from tests.factories import BRANCH, ChatBot
from tests.storage.points_ledger import MERGED, NOVEMBER, YEAR_TOTALS, build_year

TODAY = date(2026, 11, 27)
ORG = "市直机关工委"


@pytest.fixture
def year(bot: ChatBot) -> ChatBot:
    """The sample branch with its October and November ledger."""
    build_year(bot)
    return bot


def branch_of(session: Session) -> Branch:
    """The sample branch."""
    found = roster.get_branch(session, BRANCH)
    assert found is not None
    return found


def totals(bot: ChatBot, period: str = "2026", **kwargs: Any) -> dict[str, Decimal]:
    """Name -> total for a period."""
    with bot.db.session() as session:
        result = points.branch_points(
            session, branch_of(session), resolve(period, TODAY), today=TODAY, **kwargs
        )
        return {m.name: m.total for m in result.members}


def custom(text: str) -> RulesInForce:
    """Rules given inline, not stored."""
    return RulesInForce(parse_rules(text), None, None)


def variant(**changes: Any) -> str:
    """The default rules as YAML with some values changed (path segments joined by __)."""
    document = yaml.safe_load(default_text())
    for path, value in changes.items():
        *parents, last = path.split("__")
        target = document
        for key in parents:
            target = target[key]
        target[last] = value
    return yaml.safe_dump(document, allow_unicode=True)


def test_default_rules_over_the_year(year: ChatBot) -> None:
    assert totals(year) == YEAR_TOTALS


def test_a_month_counts_points_earned_in_it_without_base(year: ChatBot) -> None:
    assert totals(year, "2026-11") == NOVEMBER
    october = totals(year, "2026-10")
    assert october["李明"] == 2
    assert october["王芳"] == -2
    assert october["张伟"] == 0


def test_grounds_say_why(year: ChatBot) -> None:
    with year.db.session() as session:
        result = points.branch_points(
            session, branch_of(session), resolve("2026", TODAY), today=TODAY
        )
        zhang = result.of(next(m.member_id for m in result.members if m.name == "张伟"))
        huang = next(m for m in result.members if m.name == "黄丽")
    assert zhang is not None
    grounds = [(g.category, g.item, g.date, int(g.points)) for g in zhang.grounds]
    # A merged sitting counts once for each kind it covers.
    assert ("meetings", "支部党员大会", date(2026, 11, 20), 2) in grounds
    assert ("meetings", "党课", date(2026, 11, 20), 2) in grounds
    assert ("meetings", "主题党日", date(2026, 11, 20), 2) in grounds
    assert ("study", "《党章》", date(2026, 11, 20), 1) in grounds
    # 24 hours reported, 20 counted: 6 points, then the cap leaves 4.
    assert ("volunteer", "社区值守", date(2026, 11, 18), 6) in grounds
    assert ("volunteer", "防汛值守", date(2026, 11, 19), 4) in grounds
    capped = next(g for g in zhang.grounds if g.item == "防汛值守")
    assert "上限 20 小时" in capped.basis
    assert zhang.by_category() == {
        "meetings": (Decimal(6), 3),
        "study": (Decimal(1), 1),
        "volunteer": (Decimal(10), 2),
    }
    absences = [g for g in huang.grounds if g.category == "absence"]
    assert [g.date for g in absences] == [date(2026, 10, 15), date(2026, 11, 20)]
    assert "已补课" in absences[0].basis
    assert absences[1].basis == f"缺席 {MERGED}"


def test_late_check_in_earns_meeting_points_and_late_study_less(year: ChatBot) -> None:
    with year.db.session() as session:
        result = points.branch_points(
            session, branch_of(session), resolve("2026-11", TODAY), today=TODAY
        )
    zhao = next(m for m in result.members if m.name == "赵磊")
    chen = next(m for m in result.members if m.name == "陈静")
    assert [g.basis.split(" ")[0] for g in zhao.grounds if g.category == "meetings"] == [
        "迟到出席",
        "迟到出席",
    ]
    assert [(g.item, g.points, g.basis) for g in chen.grounds if g.category == "study"] == [
        ("《党章》", Decimal("0.5"), "逾期完成学习")
    ]


def test_makeup_can_cancel_the_absence_deduction(year: ChatBot) -> None:
    rules = custom(variant(absence__makeup_cancels=True))
    found = totals(year, rules=rules)
    assert found["黄丽"] == YEAR_TOTALS["黄丽"] + 2  # October's absence was made up
    assert found["刘洋"] == YEAR_TOTALS["刘洋"]  # no 补课: still deducted


def test_floor_holds_the_year_total(year: ChatBot) -> None:
    rules = custom(variant(base=0, absence__unexcused=-10, caps__absence=100))
    found = totals(year, rules=rules)
    assert found["刘洋"] == 0  # −20 held at the floor 0
    assert found["李明"] == 8
    # A month has no base and no floor.
    assert totals(year, "2026-11", rules=rules)["刘洋"] == -20


def test_category_and_kind_caps_apply_in_date_order(year: ChatBot) -> None:
    rules = custom(variant(meetings__caps={"党课": 1}, caps__meetings=5))
    with year.db.session() as session:
        result = points.branch_points(
            session, branch_of(session), resolve("2026", TODAY), today=TODAY, rules=rules
        )
    li = next(m for m in result.members if m.name == "李明")
    assert [(g.item, int(g.points)) for g in li.grounds] == [
        ("党小组会", 2),  # October
        ("支部党员大会", 2),
        ("党课", 1),  # the 党课 cap
        ("主题党日", 0),  # the 组织生活 cap of 5 is reached
    ]
    assert "已达组织生活上限 5 分" in li.grounds[-1].basis
    assert li.total == 65


def test_ranking_shares_places_on_ties(year: ChatBot) -> None:
    with year.db.session() as session:
        ranked = points.branch_points(
            session, branch_of(session), resolve("2026", TODAY), today=TODAY
        ).ranking()
    assert [(r.rank, r.points.name, r.tied) for r in ranked[:5]] == [
        (1, "张伟", False),
        (2, "李明", False),
        (3, "王芳", True),
        (3, "赵磊", True),
        (5, "陈静", False),
    ]
    assert [r.rank for r in ranked[-3:]] == [8, 8, 8]


def test_a_rule_change_recomputes_and_versions_are_kept(year: ChatBot) -> None:
    with year.db.transaction() as session:
        branch_of(session).organisation = ORG
    assert totals(year) == YEAR_TOTALS  # an organisation without rules uses the defaults

    actor = Actor("cli:admin", year.clock.now())
    richer = variant(base=80, name="工委积分规则")
    with year.db.transaction() as session:
        first = points_rules.save_version(session, actor, ORG, richer, date(2026, 1, 1), "首版")
        assert first.version == 1
    assert totals(year) == {name: total + 20 for name, total in YEAR_TOTALS.items()}

    later = variant(base=100)
    with year.db.transaction() as session:
        points_rules.save_version(session, actor, ORG, later, date(2027, 1, 1))
    assert totals(year)["李明"] == 88  # 2027's version is not in force in 2026
    with year.db.session() as session:
        history = points_rules.versions(session, ORG)
        assert [(v.version, v.effective_from, v.created_by) for v in history] == [
            (1, date(2026, 1, 1), "cli:admin"),
            (2, date(2027, 1, 1), "cli:admin"),
        ]
        in_force = points_rules.rules_on(session, ORG, date(2027, 3, 1))
        assert in_force.version is not None and in_force.version.version == 2
        assert in_force.rules.base == 100
        assert (
            points_rules.rules_on(session, ORG, TODAY).label == "工委积分规则（市直机关工委 第1版）"
        )
        trail = session.scalars(
            select(AuditEntry).where(AuditEntry.entity == "points_rules").order_by(AuditEntry.id)
        ).all()
        assert [a.action for a in trail] == ["create", "create"]
        assert all(a.actor == "cli:admin" for a in trail)


def test_invalid_rules_are_not_stored(year: ChatBot) -> None:
    actor = Actor("cli:admin", year.clock.now())
    with year.db.transaction() as session, pytest.raises(points_rules.PointsRulesError):
        points_rules.save_version(session, actor, ORG, "base: [1", date(2026, 1, 1))
    with year.db.session() as session:
        assert points_rules.versions(session, ORG) == []


def test_superseded_attendance_does_not_count(year: ChatBot) -> None:
    before = totals(year)["刘洋"]
    assert "已补录" in year.say("李明", "补录 刘洋 签到")  # the latest meeting: 主题党日
    after = totals(year)["刘洋"]
    assert after == before + 2 + 2  # the absence is gone and the attendance counts


@pytest.fixture
def statements(year: ChatBot) -> Iterator[list[str]]:
    """SQL statements the engine runs while the fixture is active."""
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(year.db.engine, "before_cursor_execute", count)
    yield seen
    event.remove(year.db.engine, "before_cursor_execute", count)


def test_a_branch_takes_a_fixed_handful_of_queries(year: ChatBot, statements: list[str]) -> None:
    with year.db.session() as session:
        branch = branch_of(session)
        statements.clear()
        result = points.branch_points(session, branch, resolve("2026", TODAY), today=TODAY)
        assert len(result.members) == 10
    assert len(statements) <= 7, statements


def test_one_member_alone_gets_the_same_points(year: ChatBot) -> None:
    with year.db.session() as session:
        zhang = roster.find_member_by_name(session, branch_of(session).id, "张伟")
        assert zhang is not None
        zhang_id = zhang.id
    assert totals(year, member_ids=[zhang_id]) == {"张伟": YEAR_TOTALS["张伟"]}
