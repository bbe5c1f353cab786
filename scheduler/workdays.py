"""Chinese working days: public holidays and 调休 from chinesecalendar, with a marked fallback.

The `chinesecalendar` package carries the State Council's holiday notices year by year. For a
year it does not cover (it is published each November for the next year), the fallback counts
weekends and the fixed-date statutory holidays (元旦 1/1, 劳动节 5/1, 国庆 10/1–10/3) as rest
days and has no 调休 working days; `coverage(year)` says so, in Chinese, so every plan built on
estimated data can carry the note.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Literal, get_args

import chinese_calendar
from chinese_calendar import constants as _cc_constants

Direction = Literal["before", "after", "nearest"]
DIRECTIONS: tuple[str, ...] = get_args(Direction)
DIRECTION_NAMES: dict[str, str] = {
    "before": "提前到前一个工作日",
    "after": "顺延到后一个工作日",
    "nearest": "移到最近的工作日（距离相同则提前）",
}
# Fixed-date statutory holidays used when the package has no data for a year.
FALLBACK_HOLIDAYS: tuple[tuple[int, int], ...] = ((1, 1), (5, 1), (10, 1), (10, 2), (10, 3))
# No holiday run in China is close to this long; the search stops here rather than loop forever.
_MAX_SEARCH_DAYS = 31


def parse_direction(text: str) -> Direction:
    """Check a holiday direction given as text; ValueError with a Chinese message otherwise."""
    for direction in get_args(Direction):
        if text == direction:
            return direction  # type: ignore[no-any-return]
    raise ValueError(f"节假日调整方向应为：{' / '.join(DIRECTIONS)}")


@dataclass(frozen=True)
class Coverage:
    """Whether a year's holidays come from official data (`exact`), and a note for people."""

    exact: bool
    note: str


@lru_cache(maxsize=1)
def covered_years() -> tuple[int, int]:
    """The first and last year the installed chinesecalendar package has holiday data for."""
    years = [day.year for day in _cc_constants.holidays]
    return min(years), max(years)


@lru_cache(maxsize=256)
def coverage(year: int) -> Coverage:
    """Say whether `year` uses the official holiday data or the weekend-based estimate."""
    first, last = covered_years()
    if first <= year <= last:
        return Coverage(True, f"{year}年的法定节假日和调休安排按国务院公布的安排计算。")
    if year > last:
        return Coverage(
            False,
            f"{year}年的法定节假日和调休安排尚未收录，暂按周末和固定日期节日估算，"
            "国务院公布后请升级 chinesecalendar 并重新生成。",
        )
    return Coverage(
        False,
        f"{year}年早于已收录的节假日数据（{first}—{last}年），暂按周末和固定日期节日估算。",
    )


@lru_cache(maxsize=8192)
def is_workday(day: date) -> bool:
    """True if `day` is a working day in China (调休 Saturdays/Sundays included)."""
    if coverage(day.year).exact:
        return bool(chinese_calendar.is_workday(day))
    return day.weekday() < 5 and (day.month, day.day) not in FALLBACK_HOLIDAYS


def is_rest_day(day: date) -> bool:
    """True if `day` is a weekend or public holiday and not a 调休 working day."""
    return not is_workday(day)


def _walk(day: date, step: int) -> date:
    """The first working day strictly after (step=1) or before (step=-1) `day`."""
    for offset in range(1, _MAX_SEARCH_DAYS + 1):
        candidate = day + timedelta(days=offset * step)
        if is_workday(candidate):
            return candidate
    raise ValueError(f"{day} 前后 {_MAX_SEARCH_DAYS} 天内没有工作日")


def shift(day: date, direction: Direction, *, keep_month: bool = True) -> date:
    """Move `day` to a working day in `direction`; a working day is returned unchanged.

    "nearest" picks the closer side and, on a tie, the earlier day. With `keep_month` (the
    default) a move that would leave the month goes the other way instead, provided that side
    stays in the month; if neither side does, the move in `direction` stands.
    """
    parse_direction(direction)
    if is_workday(day):
        return day
    before, after = _walk(day, -1), _walk(day, 1)
    if direction == "before":
        order = [before, after]
    elif direction == "after":
        order = [after, before]
    else:
        order = [before, after] if day - before <= after - day else [after, before]
    if keep_month:
        for candidate in order:
            if (candidate.year, candidate.month) == (day.year, day.month):
                return candidate
    return order[0]


def nth_workday(year: int, month: int, n: int) -> date:
    """The `n`-th working day (1-based) of a month; the month's last one if it has fewer."""
    if n < 1:
        raise ValueError("第几个工作日应从1开始")
    day = date(year, month, 1)
    found: date | None = None
    count = 0
    while day.month == month:
        if is_workday(day):
            found, count = day, count + 1
            if count == n:
                return day
        day += timedelta(days=1)
    if found is None:
        raise ValueError(f"{year}年{month}月没有工作日")
    return found
