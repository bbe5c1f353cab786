"""A whole simulated year of reminders for one branch, and the scheduler under restarts and
several instances: the exact reminder set, off holidays and quiet hours, never twice."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections import Counter
from datetime import timedelta

import chinese_calendar
import pytest

from scheduler.reminders import Scheduler, preview
from storage.models import Branch
from tests.factories import ChatBot
from tests.scheduler.simulation import (
    GROUPS,
    SECRETARY,
    TZ,
    Event,
    default_plan,
    local,
    reminder_rows,
    rule_of,
    run,
    run_concurrently,
    sitting,
)

STUDY_CONFIRMED = ("王芳", "张伟", "刘洋")


def year_events() -> list[Event]:
    """What the branch holds in 2026 (everybody else forgets to sign in, so all owe 补课).

    - 支委会 and 主题党日 every month; 党小组会 for both groups January to June only;
    - Q1: 支部党员大会 and 党课 merged into one sitting; Q2: 党员大会 only (no 党课, though the plan
      has two: the quarterly one and 书记讲党课); Q3: neither; Q4: both, separately;
    - December: 组织生活会 and 民主评议党员 merged;
    - a study task published 5月6日 with deadline 5月20日, confirmed by three members.
    """
    events: list[Event] = []
    for item in default_plan(2026):
        quarter = (item.date.month - 1) // 3 + 1
        if item.kind == "支部委员会":
            events += sitting(item.date, "开会 支委会")
        elif item.kind == "主题党日":
            events += sitting(item.date, "开会 主题党日")
        elif item.kind == "党小组会" and item.date.month <= 6:
            events += sitting(item.date, f"开会 党小组会 {item.group}")
        elif item.kind == "支部党员大会":
            text = {1: "开会 支部党员大会+党课", 2: "开会 支部党员大会", 4: "开会 支部党员大会"}
            if quarter in text:
                events += sitting(item.date, text[quarter])
        elif item.kind == "党课" and quarter == 4:
            events += sitting(item.date, "开会 党课")
        elif item.kind == "组织生活会":
            events += sitting(item.date, "开会 组织生活会+民主评议党员")
    events.append((local(2026, 5, 6, 10), SECRETARY, "发布学习《党章》截止5月20日"))
    events += [(local(2026, 5, 7, 9), name, "已学习") for name in STUDY_CONFIRMED]
    # Sittings of one day open one after the other (one open meeting per chat).
    return _one_open_at_a_time(events)


def _one_open_at_a_time(events: list[Event]) -> list[Event]:
    by_day: dict[dt.date, list[str]] = {}
    for at, _who, text in events:
        if text.startswith("开会"):
            by_day.setdefault(at.date(), []).append(text)
    spaced: list[Event] = []
    for day, texts in by_day.items():
        for n, text in enumerate(texts):
            opened = local(day.year, day.month, day.day, 10 + 2 * n)
            spaced += [
                (opened, SECRETARY, text),
                (opened + timedelta(hours=1), SECRETARY, "结束签到"),
            ]
    others = [e for e in events if not e[2].startswith(("开会", "结束签到"))]
    return sorted(spaced + others)


def weeks_with_a_working_day(first_monday: dt.date, last_monday: dt.date) -> int:
    """How many weeks (by their Mondays) have at least one working day, per chinese_calendar."""
    count, monday = 0, first_monday
    while monday <= last_monday:
        days = (monday + timedelta(days=n) for n in range(7))
        count += any(chinese_calendar.is_workday(d) for d in days)
        monday += timedelta(days=7)
    return count


@pytest.fixture
def group(bot: ChatBot) -> ChatBot:
    """The sample branch with its WeCom group bound (the only branch binds itself)."""
    bot.clock.set(local(2025, 12, 20, 9))
    bot.say(SECRETARY, "帮助")
    return bot


def test_a_year_of_reminders_is_exactly_what_the_calendar_and_ledger_call_for(
    group: ChatBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="scheduler.reminders")
    scheduler = Scheduler(group.db)
    run(
        group,
        [scheduler],
        local(2026, 1, 1),
        local(2027, 1, 1),
        timedelta(minutes=30),
        year_events(),
    )
    rows = reminder_rows(group.db)
    sent = [r for r in rows if r.status == "pending"]
    counts = Counter(rule_of(r) for r in sent)
    makeup_weeks = weeks_with_a_working_day(dt.date(2026, 1, 5), dt.date(2026, 12, 28))
    assert counts == {
        # 60 meeting items in 2026 (12 支委会, 24 党小组会, 12 主题党日, 4 党员大会, 5 党课, 谈心谈话,
        # 组织生活会, 民主评议党员): a day-of notice each; the advance notices of the two first
        # January items fell on 2025-12-31 (below), while those of 2027's first two fall on
        # 2026-12-31.
        "day_of": 60,
        "notice": 60,
        "party_fee": 12,
        "node_prepare": 12,  # the twelve node days on by default (5·10 is off)
        "node_eve": 12,
        # 党小组会 × 2 groups × July–December, Q2 党课, Q3 党员大会 and 党课.
        "progress": 15,
        # Q4 2025 (nothing recorded yet), Q2 (党课), Q3 (党小组会, 党员大会, 党课); Q1 was complete.
        "gap": 3,
        # Twelve months (Dec 2025 – Nov 2026), four quarters, two half-years.
        "summary": 18,
        "study": 1,
        "makeup": makeup_weeks,  # every week with a working day, from the first 补课 owed
    }
    assert makeup_weeks == 51  # the Spring Festival week (2月16日–22日) has no working day

    # Never twice: one row per reminder and chat, whatever the number of ticks.
    assert len({r.dedup_key for r in rows}) == len(rows)
    # Quiet hours and rest days: every reminder went out at 08:30 or 09:00 on a working day.
    for row in sent:
        at = row.created_at.astimezone(TZ)
        assert (at.hour, at.minute) in {(8, 30), (9, 0)}, row.text
        assert chinese_calendar.is_workday(at.date()), (at, row.text)
        assert not (dt.date(2026, 10, 1) <= at.date() <= dt.date(2026, 10, 7))

    # National Day week: the October 主题党日 (first Friday, 10月2日) and 支委会 moved to the
    # working days after the holiday, and so did their day-of notices.
    day_of = {
        (r.created_at.astimezone(TZ).date(), r.text.split("召开")[1].split("，")[0])
        for r in sent
        if rule_of(r) == "day_of" and r.created_at.astimezone(TZ).month == 10
    }
    assert (dt.date(2026, 10, 8), "主题党日") in day_of
    assert (dt.date(2026, 10, 9), "支委会") in day_of

    # Who is @-mentioned: 支委 for a 支委会, one group for its 党小组会, the unconfirmed for study.
    def mentions(rule: str, needle: str) -> list[list[str]]:
        return [json.loads(r.mentions) for r in sent if rule_of(r) == rule and needle in r.text]

    assert all(len(m) == 4 for m in mentions("day_of", "支委会"))
    assert all(len(m) == 5 for m in mentions("day_of", "第一党小组"))
    assert all(len(m) == 10 for m in mentions("day_of", "主题党日"))
    (study,) = [r for r in sent if rule_of(r) == "study"]
    assert study.created_at.astimezone(TZ) == local(2026, 5, 19, 8, 30)
    assert "还有7位同志未确认" in study.text and len(json.loads(study.mentions)) == 7
    assert not any(name in study.text for name in STUDY_CONFIRMED)

    # Gap reviews name exactly the missing items, in plan order.
    gaps = {r.created_at.astimezone(TZ).date(): r.text for r in sent if rule_of(r) == "gap"}
    assert gaps[dt.date(2026, 7, 1)].startswith("⚠️ 2026年第二季度缺项：党课（缺2次）。")
    q3 = gaps[dt.date(2026, 10, 8)]  # 10月1日 is a holiday: the review follows on the 8th
    assert "7月第一党小组党小组会" in q3 and "9月第二党小组党小组会" in q3
    assert "支部党员大会" in q3 and "党课" in q3 and "支部委员会" not in q3

    # The bot was not running before 2026: the two advance notices due 2025-12-31 08:30 could
    # not go out in time (holiday, then stale) and were skipped, once, with a log line.
    skipped = [r for r in rows if r.status == "skipped"]
    assert sorted(rule_of(r) for r in skipped) == ["notice", "notice"]
    assert sum("skipped stale notice" in m for m in caplog.messages) == 2


def test_three_schedulers_ticking_together_queue_each_reminder_once(group: ChatBot) -> None:
    start, end = local(2026, 9, 25), local(2026, 10, 20)
    errors = run_concurrently(group.db, 3, start, end, timedelta(minutes=20))
    assert errors == []
    rows = reminder_rows(group.db)
    assert len({r.dedup_key for r in rows}) == len(rows)
    with group.db.session() as session:
        branch = session.query(Branch).one()
        expected = preview(session, branch, start, end)
    sent = [r for r in rows if r.status == "pending"]
    # Exactly what the preview (same rules, same ledger) says for the window, each once, queued
    # by the first tick at or after its time.
    got = sorted((r.text, r.created_at.astimezone(TZ)) for r in sent)
    want = sorted((draft.text, due.at) for due, _chat, draft in expected if due.at >= start)
    assert [text for text, _ in got] == [text for text, _ in want]
    for (_text, queued), (_same, due) in zip(got, want, strict=True):
        assert timedelta(0) <= queued - due < timedelta(minutes=20)
    assert len(sent) >= 10  # the holiday weeks are quiet, but not empty


def test_after_two_days_down_due_reminders_go_out_once_and_stale_ones_are_logged(
    group: ChatBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="scheduler.reminders")
    scheduler = Scheduler(group.db)
    step = timedelta(minutes=30)
    # Up until Wednesday 2026-04-01 07:00, down until Friday 04-03 10:00: missed are the Q1
    # gap review, a node-day preparation and two summaries (grace 3 days: still sent), the
    # 4月2日 day-of notice (grace 6 hours: stale) and the 4月3日 one (due 08:30: still sent).
    run(group, [scheduler], local(2026, 3, 1), local(2026, 4, 1, 7), step)
    before = {r.dedup_key for r in reminder_rows(group.db)}
    restarted = Scheduler(group.db)  # a new process: nothing remembered in memory
    restarted.tick(local(2026, 4, 3, 10))
    caught_up = [r for r in reminder_rows(group.db) if r.dedup_key not in before]
    by_status = Counter((rule_of(r), r.status) for r in caught_up)
    with group.db.session() as session:
        branch = session.query(Branch).one()
        missed = preview(session, branch, local(2026, 4, 1, 7), local(2026, 4, 3, 10))
    assert missed, "the window must hold reminders for this test to mean anything"
    for due, _chat, _draft in missed:
        late = local(2026, 4, 3, 10) - due.at
        status = "skipped" if late > due.grace else "pending"
        assert by_status[(due.rule, status)] >= 1, (due.rule, due.at, status)
    assert sum(by_status.values()) == len(missed)
    stale = [r for r in caught_up if r.status == "skipped"]
    assert stale and all("stale" in (r.last_error or "") for r in stale)
    assert len([m for m in caplog.messages if "skipped stale" in m]) == len(stale)
    # Caught-up reminders go out now, not at their old time; and only once.
    assert by_status[("day_of", "skipped")] == 1 and by_status[("day_of", "pending")] == 1
    assert by_status[("summary", "pending")] == 2 and by_status[("gap", "pending")] == 1
    assert all(r.not_before == local(2026, 4, 3, 10) for r in caught_up)
    for _ in range(3):
        restarted.tick(local(2026, 4, 3, 10, 30))
        Scheduler(group.db).tick(local(2026, 4, 3, 10, 30))
    assert len(reminder_rows(group.db)) == len(before) + len(caught_up)


def test_groups_and_plan_fixture_match_the_sample_roster(group: ChatBot) -> None:
    with group.db.session() as session:
        groups = {m.party_group for m in session.query(Branch).one().members if m.active}
    assert groups - {None} == set(GROUPS)
