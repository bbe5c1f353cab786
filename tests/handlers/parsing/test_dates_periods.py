"""Unit tests for dates (past and deadline) and report periods."""

from __future__ import annotations

from datetime import date

import pytest

from handlers.parsing.dates import find_date
from handlers.parsing.periods import find_period

TODAY = date(2026, 11, 20)  # a Friday


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("11月18日", date(2026, 11, 18)),
        ("11.18", date(2026, 11, 18)),
        ("11/18", date(2026, 11, 18)),
        ("2026-11-18", date(2026, 11, 18)),
        ("2026年11月18日", date(2026, 11, 18)),
        ("2025.12.01", date(2025, 12, 1)),
        ("十一月十八日", date(2026, 11, 18)),
        ("18号", date(2026, 11, 18)),
        ("今天", TODAY),
        ("昨天", date(2026, 11, 19)),
        ("前天", date(2026, 11, 18)),
        ("大前天", date(2026, 11, 17)),
        ("上周五", date(2026, 11, 13)),
        ("周五", TODAY),
        ("星期五", TODAY),
        ("周三", date(2026, 11, 18)),
        ("周六", date(2026, 11, 14)),
        ("礼拜天", date(2026, 11, 15)),
        ("12月5日", date(2026, 12, 5)),  # future: the volunteer parser rejects it
        ("明天", date(2026, 11, 21)),
    ],
)
def test_past_dates(text: str, expected: date) -> None:
    hit = find_date(f"服务 {text} 社区", TODAY, future=False)
    assert hit is not None
    assert hit.value == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("截止12月10日", date(2026, 12, 10)),
        ("截止到12月10日", date(2026, 12, 10)),
        ("12月10日前", date(2026, 12, 10)),
        ("12.10前", date(2026, 12, 10)),
        ("11月1日", date(2027, 11, 1)),
        ("本周五", TODAY),
        ("周一", date(2026, 11, 23)),
        ("下周一", date(2026, 11, 23)),
        ("下周五", date(2026, 11, 27)),
        ("明天", date(2026, 11, 21)),
        ("后天", date(2026, 11, 22)),
        ("月底", date(2026, 11, 30)),
        ("本月底", date(2026, 11, 30)),
        ("下月底", date(2026, 12, 31)),
        ("年底", date(2026, 12, 31)),
        ("3天内", date(2026, 11, 23)),
        ("一周内", date(2026, 11, 27)),
        ("两周内", date(2026, 12, 4)),
        ("本周内", date(2026, 11, 22)),
        ("5号", date(2026, 12, 5)),
    ],
)
def test_deadlines(text: str, expected: date) -> None:
    hit = find_date(text, TODAY, future=True)
    assert hit is not None
    assert hit.value == expected


@pytest.mark.parametrize("text", ["2月30日", "13月1日", "2026-02-30"])
def test_invalid_dates_are_found_but_empty(text: str) -> None:
    hit = find_date(text, TODAY, future=False)
    assert hit is not None
    assert hit.value is None


def test_no_date() -> None:
    assert find_date("社区清扫", TODAY, future=False) is None
    assert find_date("月底前", TODAY, future=False) is None  # deadline words only for deadlines


def test_leap_day() -> None:
    past = find_date("2月29日", date(2029, 3, 1), future=False)
    assert past is not None
    assert past.value == date(2028, 2, 29)
    upcoming = find_date("2月29日", date(2027, 3, 1), future=True)
    assert upcoming is not None
    assert upcoming.value == date(2028, 2, 29)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("本月", "this_month"),
        ("这个月", "this_month"),
        ("当月", "this_month"),
        ("上月", "last_month"),
        ("上个月", "last_month"),
        ("本季度", "this_quarter"),
        ("这季度", "this_quarter"),
        ("本季", "this_quarter"),
        ("今年", "this_year"),
        ("本年", "this_year"),
        ("本年度", "this_year"),
        ("全年", "this_year"),
        ("去年", "2025"),
        ("上一年", "2025"),
        ("上季度", "2026-Q3"),
        ("2026年10月", "2026-10"),
        ("2026-10", "2026-10"),
        ("2026.10", "2026-10"),
        ("10月", "2026-10"),
        ("十月", "2026-10"),
        ("十一月份", "2026-11"),
        ("12月", "2025-12"),
        ("2026年", "2026"),
        ("2026", "2026"),
        ("2026年第四季度", "2026-Q4"),
        ("2026Q4", "2026-Q4"),
        ("2026-Q4", "2026-Q4"),
        ("四季度", "2026-Q4"),
        ("第一季度", "2026-Q1"),
        ("Q2", "2026-Q2"),
        ("上半年", "2026-H1"),
        ("下半年", "2026-H2"),
        ("2025年下半年", "2025-H2"),
        ("去年上半年", "2025-H1"),
        ("今年下半年", "2026-H2"),
        ("2026-H1", "2026-H1"),
        ("2026h2", "2026-H2"),
    ],
)
def test_periods(text: str, expected: str) -> None:
    hit = find_period(text, TODAY)
    assert hit is not None
    assert hit.value == expected


def test_last_quarter_wraps_year() -> None:
    hit = find_period("上季度", date(2026, 2, 1))
    assert hit is not None
    assert hit.value == "2025-Q4"


def test_second_half_early_in_the_year_is_last_years() -> None:
    hit = find_period("下半年", date(2026, 3, 1))
    assert hit is not None and hit.value == "2025-H2"


def test_no_period() -> None:
    assert find_period("统计", TODAY) is None
    assert find_period("2026年13月", TODAY) is None
