"""Reporting periods: relative keys against a given day, explicit keys, and the bad ones."""

from __future__ import annotations

from datetime import date

import pytest

from storage.periods import Period, resolve

TODAY = date(2026, 11, 20)


def span(period: Period) -> tuple[date, date]:
    """The half-open range of a period."""
    return period.start, period.end


def test_this_month() -> None:
    period = resolve("this_month", TODAY)
    assert span(period) == (date(2026, 11, 1), date(2026, 12, 1))
    assert period.key == "this_month"
    assert period.concrete_key == "2026-11"
    assert period.label == "2026年11月"


def test_this_month_in_december_ends_next_year() -> None:
    period = resolve("this_month", date(2026, 12, 31))
    assert span(period) == (date(2026, 12, 1), date(2027, 1, 1))
    assert period.concrete_key == "2026-12"


@pytest.mark.parametrize(
    ("today", "start", "end", "label"),
    [
        (date(2026, 11, 20), date(2026, 10, 1), date(2026, 11, 1), "2026年10月"),
        (date(2027, 1, 1), date(2026, 12, 1), date(2027, 1, 1), "2026年12月"),
        (date(2027, 1, 31), date(2026, 12, 1), date(2027, 1, 1), "2026年12月"),
        (date(2026, 3, 31), date(2026, 2, 1), date(2026, 3, 1), "2026年2月"),
        (date(2026, 12, 1), date(2026, 11, 1), date(2026, 12, 1), "2026年11月"),
    ],
)
def test_last_month(today: date, start: date, end: date, label: str) -> None:
    period = resolve("last_month", today)
    assert span(period) == (start, end)
    assert period.label == label
    assert period.concrete_key == f"{start:%Y-%m}"


@pytest.mark.parametrize("month", range(1, 13))
def test_this_quarter_for_every_month(month: int) -> None:
    quarter = (month - 1) // 3 + 1
    period = resolve("this_quarter", date(2026, month, 15))
    first = 3 * quarter - 2
    end = date(2027, 1, 1) if quarter == 4 else date(2026, first + 3, 1)
    assert span(period) == (date(2026, first, 1), end)
    assert period.concrete_key == f"2026-Q{quarter}"
    assert period.label == f"2026年第{'一二三四'[quarter - 1]}季度"
    assert period.contains(date(2026, month, 15))


def test_this_year() -> None:
    period = resolve("this_year", TODAY)
    assert span(period) == (date(2026, 1, 1), date(2027, 1, 1))
    assert period.concrete_key == "2026"
    assert period.label == "2026年"


@pytest.mark.parametrize(
    ("key", "normal", "start", "end"),
    [
        ("2026-11", "2026-11", date(2026, 11, 1), date(2026, 12, 1)),
        ("2026-1", "2026-01", date(2026, 1, 1), date(2026, 2, 1)),
        ("2025-12", "2025-12", date(2025, 12, 1), date(2026, 1, 1)),
        ("2024-02", "2024-02", date(2024, 2, 1), date(2024, 3, 1)),
        (" 2026-11 ", "2026-11", date(2026, 11, 1), date(2026, 12, 1)),
        ("2026", "2026", date(2026, 1, 1), date(2027, 1, 1)),
        ("2026-Q1", "2026-Q1", date(2026, 1, 1), date(2026, 4, 1)),
        ("2026-Q2", "2026-Q2", date(2026, 4, 1), date(2026, 7, 1)),
        ("2026-Q3", "2026-Q3", date(2026, 7, 1), date(2026, 10, 1)),
        ("2026-Q4", "2026-Q4", date(2026, 10, 1), date(2027, 1, 1)),
        ("2026-q4", "2026-Q4", date(2026, 10, 1), date(2027, 1, 1)),
        ("2026-H1", "2026-H1", date(2026, 1, 1), date(2026, 7, 1)),
        ("2026-h2", "2026-H2", date(2026, 7, 1), date(2027, 1, 1)),
    ],
)
def test_explicit_keys(key: str, normal: str, start: date, end: date) -> None:
    period = resolve(key, TODAY)
    assert span(period) == (start, end)
    assert period.key == normal
    assert period.concrete_key == normal


def test_half_years_have_chinese_labels() -> None:
    assert resolve("2026-H1", TODAY).label == "2026年上半年"
    assert resolve("2026-H2", TODAY).label == "2026年下半年"
    assert resolve("2026-H2", TODAY).months == 6


def test_explicit_keys_do_not_depend_on_today() -> None:
    assert resolve("2025-03", date(2030, 6, 1)) == resolve("2025-03", date(2020, 1, 1))


def test_contains_is_half_open() -> None:
    period = resolve("2026-11", TODAY)
    assert period.contains(date(2026, 11, 1))
    assert period.contains(date(2026, 11, 30))
    assert not period.contains(date(2026, 12, 1))
    assert not period.contains(date(2026, 10, 31))


@pytest.mark.parametrize(
    "key",
    [
        "",
        "   ",
        "2026-13",
        "2026-00",
        "2026-Q0",
        "2026-Q5",
        "2026-H3",
        "2026-H0",
        "9999-H2",
        "26-11",
        "2026/11",
        "2026-11-01",
        "202611",
        "本月",
        "next_month",
        "THIS_MONTH",
        "0000",
        "9999-12",
    ],
)
def test_invalid_keys_raise_value_error(key: str) -> None:
    with pytest.raises(ValueError, match="unknown period"):
        resolve(key, TODAY)
