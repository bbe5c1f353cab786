"""The annual plan for 2026 (exact holiday data) and 2027 (estimated)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta

import pytest

from scheduler.plan import NODE_DAY, Plan, generate
from scheduler.render import plan_as_dict, plan_as_text
from scheduler.rules import CalendarSettings, MonthDay
from scheduler.workdays import is_rest_day, is_workday

GROUPS = ["第一党小组", "第二党小组"]
SETTINGS = CalendarSettings()


@pytest.fixture(scope="module")
def plan_2026() -> Plan:
    return generate(SETTINGS, 2026, GROUPS)


def test_counts_per_kind(plan_2026: Plan) -> None:
    enabled_nodes = sum(1 for n in SETTINGS.node_days if n.enabled)
    assert plan_2026.count("支部委员会") == 12
    assert plan_2026.count("党小组会") == 12 * len(GROUPS)
    assert plan_2026.count("支部党员大会") == 4
    assert plan_2026.count("党课") == 4 + 1
    assert sum(1 for i in plan_2026.items if i.title == "书记讲党课") == 1
    assert plan_2026.count("主题党日") == 12
    assert plan_2026.count("组织生活会") == 1
    assert plan_2026.count("民主评议党员") == 1
    assert plan_2026.count("谈心谈话") == 1
    assert plan_2026.count("党费") == 12
    assert plan_2026.count(NODE_DAY) == enabled_nodes == 12
    assert len(plan_2026.items) == 12 + 24 + 4 + 5 + 12 + 1 + 1 + 1 + 12 + 12


def test_no_meeting_on_a_rest_day(plan_2026: Plan) -> None:
    for item in plan_2026.items:
        if item.kind != NODE_DAY:
            assert is_workday(item.date), item


def test_moved_items_came_from_rest_days_in_the_same_month(plan_2026: Plan) -> None:
    moved = [i for i in plan_2026.items if i.moved_from is not None]
    assert moved
    for item in moved:
        assert item.moved_from is not None
        assert is_rest_day(item.moved_from)
        assert item.moved_from.month == item.date.month
        assert "休息日" in item.note


def test_unmoved_items_have_no_moved_from(plan_2026: Plan) -> None:
    for item in plan_2026.items:
        if item.moved_from is None and item.kind != NODE_DAY:
            assert "原定" not in item.note


def test_known_2026_dates(plan_2026: Plan) -> None:
    theme_days = {i.date.month: i for i in plan_2026.items if i.kind == "主题党日"}
    # First Friday of October is 10/2, inside the National Day holiday: moved after it.
    assert theme_days[10].date == date(2026, 10, 8)
    assert theme_days[10].moved_from == date(2026, 10, 2)
    # First Friday of January is 1/2 (元旦); the next working day is the 调休 Sunday 1/4.
    assert theme_days[1].date == date(2026, 1, 4)
    groups_feb = [i for i in plan_2026.items if i.kind == "党小组会" and i.date.month == 2]
    assert {i.date for i in groups_feb} == {date(2026, 2, 24)}  # 2/15 is in 春节
    assert {i.group for i in groups_feb} == set(GROUPS)
    fees = [i.date for i in plan_2026.items if i.kind == "党费"]
    assert fees[9] == date(2026, 10, 13)  # 5th working day of October


def test_sorted_and_deterministic(plan_2026: Plan) -> None:
    dates = [i.date for i in plan_2026.items]
    assert dates == sorted(dates)
    assert generate(SETTINGS, 2026, reversed(GROUPS)) == plan_2026
    assert all(i.date.year == 2026 for i in plan_2026.items)


def test_node_days_stay_on_their_date(plan_2026: Plan) -> None:
    nodes = {i.date: i for i in plan_2026.items if i.kind == NODE_DAY}
    national = nodes[date(2026, 10, 1)]
    assert national.moved_from is None
    assert "休息日" in national.note
    for item in nodes.values():
        assert item.prepare_on is not None
        assert is_workday(item.prepare_on)
        assert item.date - timedelta(days=20) <= item.prepare_on <= item.date - timedelta(days=14)
    assert date(2026, 5, 10) not in nodes


def test_theme_day_mentions_node_days_of_its_month(plan_2026: Plan) -> None:
    july = next(i for i in plan_2026.items if i.kind == "主题党日" and i.date.month == 7)
    assert "建党纪念日" in july.note


def test_enabling_5_10() -> None:
    plan = generate(SETTINGS.with_node_days(["5-10"]), 2026, GROUPS)
    item = next(i for i in plan.items if i.date == date(2026, 5, 10) and i.kind == NODE_DAY)
    assert item.title == "5·10思廉日"
    assert "廉政" in item.note
    assert plan.count(NODE_DAY) == 13


def test_no_groups_no_group_meetings() -> None:
    plan = generate(SETTINGS, 2026, ["", "  "])
    assert plan.count("党小组会") == 0


def test_holiday_shift_before_uses_adjusted_saturday() -> None:
    plan = generate(replace(SETTINGS, holiday_shift="before"), 2026, ["一组"])
    feb = next(i for i in plan.items if i.kind == "党小组会" and i.date.month == 2)
    assert feb.date == date(2026, 2, 14)
    assert "提前" in feb.note


def test_custom_theme_day() -> None:
    plan = generate(SETTINGS.with_day_rule("主题党日", MonthDay(10)), 2026, GROUPS)
    october = next(i for i in plan.items if i.kind == "主题党日" and i.date.month == 10)
    assert october.date == date(2026, 10, 10)  # a 调休 Saturday is a working day


def test_2027_is_estimated_but_complete() -> None:
    plan = generate(SETTINGS, 2027, GROUPS)
    assert not plan.coverage.exact
    assert plan.count("支部委员会") == 12
    assert plan.count("党小组会") == 24
    for item in plan.items:
        if item.kind != NODE_DAY:
            assert item.date.weekday() < 5


def test_text_rendering(plan_2026: Plan) -> None:
    text = plan_as_text(plan_2026, "测试支部", SETTINGS)
    assert text.startswith("测试支部 2026年工作计划")
    assert "尚未收录" not in text
    for month in range(1, 13):
        assert f"\n{month}月（" in text
    assert "10月 8日 周四  主题党日" in text
    assert "【节点日】建党纪念日" in text
    estimated = plan_as_text(generate(SETTINGS, 2027, GROUPS), "测试支部", SETTINGS)
    assert "注意：2027年的法定节假日和调休安排尚未收录" in estimated


def test_json_rendering(plan_2026: Plan) -> None:
    data = plan_as_dict(plan_2026, "测试支部", SETTINGS)
    assert list(data) == ["schema", "branch", "year", "holidays", "settings", "counts", "items"]
    assert data["holidays"]["exact"] is True
    assert data["counts"]["支部委员会"] == 12
    first = data["items"][0]
    assert list(first) == [
        "date",
        "weekday",
        "kind",
        "title",
        "group",
        "moved_from",
        "prepare_on",
        "note",
    ]
    assert first["date"] == "2026-01-04"
    assert first["moved_from"] == "2026-01-02"
    json.dumps(data, ensure_ascii=False)
