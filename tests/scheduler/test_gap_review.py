"""Merged meetings satisfy every kind they hold; the gap review names exactly what is missing."""

from __future__ import annotations

from datetime import timedelta

from scheduler.branch_config import BranchCalendar
from scheduler.compose import compose, missing_items
from scheduler.dues import Due
from scheduler.ledger_view import branch_ledger
from storage.models import Branch
from storage.periods import resolve
from tests.factories import ChatBot
from tests.scheduler.simulation import (
    SECRETARY,
    Event,
    default_plan,
    local,
    run,
    sitting,
)


def first_quarter() -> list[Event]:
    """Q1 2026: 党员大会 and 党课 merged; 支委会 in January and February only; 主题党日 every
    month; 党小组会 for 第一党小组 only."""
    events: list[Event] = []
    for item in default_plan(2026):
        if item.date.month > 3:
            continue
        if item.kind == "支部党员大会":
            events += sitting(item.date, "开会 支部党员大会+党课")
        elif item.kind == "支部委员会" and item.date.month < 3:
            events += sitting(item.date, "开会 支委会")
        elif item.kind == "主题党日":
            events += sitting(item.date, "开会 主题党日")
        elif item.kind == "党小组会" and item.group == "第一党小组":
            # Two sittings may share a day: open them an hour apart.
            events += [
                (at + timedelta(hours=2), who, text)
                for at, who, text in sitting(item.date, "开会 党小组会 第一党小组")
            ]
    return events


def test_the_gap_review_names_exactly_the_missing_items(bot: ChatBot) -> None:
    bot.clock.set(local(2025, 12, 20, 9))
    bot.say(SECRETARY, "帮助")
    run(bot, [], local(2026, 1, 1), local(2026, 4, 1), timedelta(hours=12), first_quarter())
    quarter = resolve("2026-Q1", local(2026, 4, 1).date())
    with bot.db.session() as session:
        branch = session.query(Branch).one()
        ledger = branch_ledger(session, branch, BranchCalendar(), local(2026, 1, 1))
        assert missing_items(quarter, BranchCalendar(), ledger) == [
            "1月第二党小组党小组会",
            "2月第二党小组党小组会",
            "3月支部委员会",
            "3月第二党小组党小组会",
        ]
        due = Due(
            local(2026, 4, 1, 8, 30),
            local(2026, 4, 1, 8, 30),
            "gap",
            "gap",
            "2026-Q1",
            period=quarter,
        )
        draft = compose(due, BranchCalendar(), ledger)
    assert draft is not None
    assert draft.text.startswith(
        "⚠️ 2026年第一季度缺项：1月第二党小组党小组会、2月第二党小组党小组会、"
        "3月支部委员会、3月第二党小组党小组会。"
    )
    assert "党课" not in draft.text and "支部党员大会" not in draft.text  # the merged sitting


def test_one_merged_sitting_ticks_both_plan_items(bot: ChatBot) -> None:
    bot.clock.set(local(2025, 12, 20, 9))
    bot.say(SECRETARY, "帮助")
    (meeting_day,) = [
        i.date for i in default_plan(2026) if i.kind == "支部党员大会" and i.date.month == 2
    ]
    run(
        bot,
        [],
        local(2026, 2, 1),
        local(2026, 2, 28),
        timedelta(days=1),
        sitting(meeting_day, "开会 支部党员大会+党课"),
    )
    bot.clock.set(local(2026, 2, 27, 9))
    reply = bot.say(SECRETARY, "计划")
    assert "✓" in reply
    lines = {line.split(" ")[-1]: line[0] for line in reply.splitlines() if line[:1] in "✓✗"}
    assert lines["支部党员大会"] == "✓" and lines["党课"] == "✓"
    assert lines["支委会"] == "✗"  # nothing else was held
    with bot.db.session() as session:
        branch = session.query(Branch).one()
        ledger = branch_ledger(session, branch, BranchCalendar(), local(2026, 1, 1))
        missing = missing_items(resolve("2026-02", meeting_day), BranchCalendar(), ledger)
    assert "支部党员大会" not in missing and "党课" not in missing
