"""Working days from chinesecalendar (2026 checked against the package) and the estimate beyond it."""

from __future__ import annotations

from datetime import date

import pytest

from scheduler.workdays import (
    coverage,
    covered_years,
    is_rest_day,
    is_workday,
    nth_workday,
    parse_direction,
    shift,
)

# 2026 Mid-Autumn (9/25–27) and National Day (10/1–7), with 调休 working days 9/20 (Sun) and
# 10/10 (Sat), as the installed chinesecalendar 1.11.0 has them.
REST_2026 = [date(2026, 9, 25), date(2026, 9, 27), *(date(2026, 10, d) for d in range(1, 8))]
WORK_2026 = [date(2026, 9, 20), date(2026, 9, 28), date(2026, 10, 8), date(2026, 10, 10)]


@pytest.mark.parametrize("day", REST_2026)
def test_2026_golden_week_is_rest(day: date) -> None:
    assert is_rest_day(day)
    assert not is_workday(day)


@pytest.mark.parametrize("day", WORK_2026)
def test_2026_adjusted_weekend_days_are_work(day: date) -> None:
    assert is_workday(day)


def test_plain_weekend_after_golden_week_is_rest() -> None:
    assert is_rest_day(date(2026, 10, 11))  # Sunday, no 调休


def test_2026_is_covered_exactly() -> None:
    first, last = covered_years()
    assert first <= 2026 <= last
    assert coverage(2026).exact


def test_2027_falls_back_with_a_note() -> None:
    info = coverage(2027)
    assert not info.exact
    assert info.note == (
        "2027年的法定节假日和调休安排尚未收录，暂按周末和固定日期节日估算，"
        "国务院公布后请升级 chinesecalendar 并重新生成。"
    )


def test_fallback_counts_weekends_and_fixed_holidays() -> None:
    assert is_rest_day(date(2027, 1, 1))  # Friday, 元旦
    assert is_rest_day(date(2027, 10, 1))  # Friday
    assert is_rest_day(date(2027, 10, 9))  # Saturday; no 调休 in the estimate
    assert is_workday(date(2027, 10, 4))  # Monday: only 10/1–10/3 are fixed
    assert is_workday(date(2027, 2, 8))  # Monday
    assert is_rest_day(date(2027, 2, 6))  # Saturday


def test_year_before_the_data_is_estimated_too() -> None:
    info = coverage(covered_years()[0] - 1)
    assert not info.exact
    assert "早于" in info.note


def test_workday_is_not_moved() -> None:
    assert shift(date(2026, 9, 30), "before") == date(2026, 9, 30)


def test_shift_after_skips_the_whole_holiday() -> None:
    assert shift(date(2026, 10, 2), "after") == date(2026, 10, 8)


def test_shift_before_stays_in_the_month_by_going_the_other_way() -> None:
    assert shift(date(2026, 10, 2), "before") == date(2026, 10, 8)
    assert shift(date(2026, 10, 2), "before", keep_month=False) == date(2026, 9, 30)


def test_shift_after_at_month_end_goes_back() -> None:
    assert shift(date(2026, 1, 31), "after") == date(2026, 1, 30)  # Saturday
    assert shift(date(2026, 1, 31), "after", keep_month=False) == date(2026, 2, 2)


def test_shift_before_uses_an_adjusted_saturday() -> None:
    assert shift(date(2026, 2, 15), "before") == date(2026, 2, 14)  # 调休 Saturday
    assert shift(date(2026, 2, 15), "after") == date(2026, 2, 24)


def test_nearest_picks_the_closer_side() -> None:
    assert shift(date(2026, 6, 20), "nearest") == date(2026, 6, 18)  # 端午 6/19–21
    assert shift(date(2026, 6, 21), "nearest") == date(2026, 6, 22)


def test_nearest_tie_goes_before() -> None:
    assert shift(date(2026, 4, 5), "nearest") == date(2026, 4, 3)  # 清明 4/4–6, 2 days each way


def test_nearest_at_month_start_stays_in_month() -> None:
    assert shift(date(2026, 8, 1), "nearest") == date(2026, 8, 3)
    assert shift(date(2026, 8, 1), "nearest", keep_month=False) == date(2026, 7, 31)


def test_bad_direction() -> None:
    with pytest.raises(ValueError, match="节假日调整方向"):
        parse_direction("later")
    with pytest.raises(ValueError, match="节假日调整方向"):
        shift(date(2026, 10, 1), "later")  # type: ignore[arg-type]
    assert parse_direction("nearest") == "nearest"


def test_nth_workday_counts_holidays_and_adjusted_days() -> None:
    assert nth_workday(2026, 10, 1) == date(2026, 10, 8)
    assert nth_workday(2026, 1, 1) == date(2026, 1, 4)  # Sunday worked after 元旦
    assert nth_workday(2026, 2, 5) == date(2026, 2, 6)
    assert nth_workday(2026, 10, 99) == date(2026, 10, 30)  # fewer: the last one


def test_nth_workday_rejects_zero() -> None:
    with pytest.raises(ValueError, match="第几个工作日"):
        nth_workday(2026, 1, 0)
