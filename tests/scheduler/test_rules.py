"""Day rules parsed from Chinese, cadences and the default settings."""

from __future__ import annotations

from datetime import date

import pytest

from handlers.parsing import MEETING_KINDS
from scheduler.rules import (
    Cadence,
    CalendarSettings,
    DayRule,
    MonthDay,
    NthWeekday,
    NthWorkday,
    normalise_node_key,
    parse_day_rule,
)


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("每月第一个周五", NthWeekday(1, 4)),
        ("每月第一周周五", NthWeekday(1, 4)),
        ("每月第2个星期三", NthWeekday(2, 2)),
        ("第三个周一", NthWeekday(3, 0)),
        ("每月第四个礼拜日", NthWeekday(4, 6)),
        ("每月最后一个周四", NthWeekday(-1, 3)),
        ("每月10日", MonthDay(10)),
        ("每月15号", MonthDay(15)),
        (" 每月 31日 ", MonthDay(31)),
        ("每月第5个工作日", NthWorkday(5)),
    ],
)
def test_parse_day_rule(text: str, rule: DayRule) -> None:
    assert parse_day_rule(text) == rule
    assert parse_day_rule(rule.describe()) == rule


@pytest.mark.parametrize(
    "text", ["", "每月初", "每月第五个周五", "每月32日", "每月0号", "每周五", "每月第0个工作日"]
)
def test_bad_day_rule_is_a_chinese_value_error(text: str) -> None:
    with pytest.raises(ValueError, match="每月") as caught:
        parse_day_rule(text)
    assert text.strip() in str(caught.value)


def test_resolve_weekday_rules() -> None:
    assert NthWeekday(1, 4).resolve(2026, 5) == date(2026, 5, 1)
    assert NthWeekday(-1, 3).resolve(2026, 12) == date(2026, 12, 31)
    assert NthWeekday(4, 0).resolve(2026, 2) == date(2026, 2, 23)


def test_month_day_is_clamped_to_the_month() -> None:
    assert MonthDay(31).resolve(2026, 2) == date(2026, 2, 28)
    assert MonthDay(31).resolve(2028, 2) == date(2028, 2, 29)
    assert MonthDay(10).resolve(2026, 10) == date(2026, 10, 10)


def test_nth_workday_rule() -> None:
    assert NthWorkday(2).resolve(2026, 10) == date(2026, 10, 9)


def test_cadence_months() -> None:
    assert Cadence("monthly", MonthDay(1)).months() == tuple(range(1, 13))
    assert Cadence("quarterly", MonthDay(1)).months() == (2, 5, 8, 11)
    assert Cadence("quarterly", MonthDay(1), month_in_quarter=3).months() == (3, 6, 9, 12)
    assert Cadence("yearly", MonthDay(1), month=11).months() == (11,)
    with pytest.raises(ValueError, match="季度"):
        Cadence("quarterly", MonthDay(1), month_in_quarter=4)
    with pytest.raises(ValueError, match="月份"):
        Cadence("yearly", MonthDay(1), month=13)


def test_default_activities() -> None:
    settings = CalendarSettings()
    assert {a.kind for a in settings.activities} <= {*MEETING_KINDS, "谈心谈话", "党费"}
    assert settings.activity("主题党日").cadence.day == NthWeekday(1, 4)
    assert settings.activity("党小组会").per_group
    assert settings.activity("书记讲党课").kind == "党课"
    assert settings.activity("组织生活会").cadence.months() == (12,)
    assert settings.activity("谈心谈话").cadence.months() == (11,)
    assert settings.holiday_shift == "after"
    with pytest.raises(KeyError):
        settings.activity("不存在")


def test_default_node_days() -> None:
    nodes = {n.key: n for n in CalendarSettings().node_days}
    for key in ("3-5", "5-4", "7-1", "8-1", "9-30", "10-1", "12-4", "12-5"):
        assert nodes[key].enabled
        assert nodes[key].theme
    assert not nodes["5-10"].enabled
    assert nodes["5-10"].name == "5·10思廉日"


def test_switch_node_days_on_and_off() -> None:
    settings = CalendarSettings().with_node_days(["5·10"])
    assert {n.key: n.enabled for n in settings.node_days}["5-10"]
    off = settings.with_node_days(["12-26"], enabled=False)
    assert not {n.key: n.enabled for n in off.node_days}["12-26"]
    with pytest.raises(ValueError, match="没有节点日"):
        settings.with_node_days(["2-30"])


def test_with_day_rule_changes_one_activity() -> None:
    settings = CalendarSettings().with_day_rule("主题党日", MonthDay(10))
    assert settings.activity("主题党日").cadence.day == MonthDay(10)
    assert settings.activity("支部委员会").cadence.day == NthWorkday(2)


@pytest.mark.parametrize("text", ["5-10", "5·10", "5.10", "05-10", "5月10日"])
def test_normalise_node_key(text: str) -> None:
    assert normalise_node_key(text) == "5-10"
