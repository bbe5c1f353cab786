"""Unit tests for numerals and durations."""

from __future__ import annotations

import pytest

from handlers.parsing.durations import find_duration
from handlers.parsing.numbers import parse_int, parse_number


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("3", 3.0),
        ("1.5", 1.5),
        ("一", 1.0),
        ("两", 2.0),
        ("十", 10.0),
        ("十二", 12.0),
        ("二十", 20.0),
        ("二十五", 25.0),
        ("一百", 100.0),
        ("两百", 200.0),
        ("一百零五", 105.0),
        ("一千零一十", 1010.0),
        ("三万", 30000.0),
        ("〇", 0.0),
        ("零", 0.0),
        ("二〇二六", 2026.0),
        ("半", 0.5),
    ],
)
def test_parse_number(text: str, value: float) -> None:
    assert parse_number(text) == value


@pytest.mark.parametrize(
    "text", ["", "几", "十几", "三四十", "十百", "abc", "1.2.3", "一二三四五六七八九十一二三"]
)
def test_parse_number_rejects(text: str) -> None:
    assert parse_number(text) is None


def test_parse_int() -> None:
    assert parse_int("十八") == 18
    assert parse_int("1.5") is None
    assert parse_int("半") is None


@pytest.mark.parametrize(
    ("text", "hours"),
    [
        ("2小时", 2),
        ("2个小时", 2),
        ("两小时", 2),
        ("三个小时", 3),
        ("1.5h", 1.5),
        ("1.5H", 1.5),
        ("2hr", 2),
        ("3 hours", 3),
        ("90分钟", 1.5),
        ("90分", 1.5),
        ("30min", 0.5),
        ("半小时", 0.5),
        ("半个小时", 0.5),
        ("一个半小时", 1.5),
        ("两个半小时", 2.5),
        ("2小时半", 2.5),
        ("1小时30分钟", 1.5),
        ("1小时30分", 1.5),
        ("一个钟头", 1),
        ("两个钟", 2),
        ("十二小时", 12),
        ("-3小时", -3),
        ("负2小时", -2),
        ("20分钟", 0.33),
    ],
)
def test_durations(text: str, hours: float) -> None:
    found = find_duration(f"志愿服务 {text} 社区")
    assert found is not None
    assert found.hours == hours
    assert not found.in_days


def test_duration_span_covers_the_text() -> None:
    text = "服务 1小时30分钟 社区清扫"
    found = find_duration(text)
    assert found is not None
    assert text[found.start : found.end] == "1小时30分钟"


@pytest.mark.parametrize("text", ["0.5天", "1天", "两天", "半天"])
def test_days_are_flagged(text: str) -> None:
    found = find_duration(text)
    assert found is not None
    assert found.in_days


@pytest.mark.parametrize("text", ["社区献血", "几个小时", "3天内", "11.18", "5点钟"])
def test_no_duration(text: str) -> None:
    assert find_duration(text) is None
