"""Dates in chat text: past dates for volunteer records, future dates for study deadlines."""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from handlers.parsing.numbers import parse_int

# Day-of-month or month written with Arabic or Chinese numerals (十二, 二十八, 三十一).
_MD = r"(?:[0-9]{1,2}|[一二三四五六七八九十]{1,3})"
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "末": 5}
_WEEKDAYS.update({str(i + 1): i for i in range(7)})
_RELATIVE_DAYS = {
    "大前天": -3,
    "前天": -2,
    "昨天": -1,
    "昨日": -1,
    "昨儿": -1,
    "今天": 0,
    "今日": 0,
    "今儿": 0,
    "今早": 0,
    "今晚": 0,
    "明天": 1,
    "明日": 1,
    "后天": 2,
    "大后天": 3,
}


@dataclass(frozen=True)
class DateHit:
    """A date found in a text with its span; `value` is None when the written date is invalid."""

    value: date | None
    start: int
    end: int


_Handler = Callable[[re.Match[str], date, bool], date | None]


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _full(m: re.Match[str], today: date, future: bool) -> date | None:
    return _safe_date(int(m.group("y")), int(m.group("m")), int(m.group("d")))


def _month_day(m: re.Match[str], today: date, future: bool) -> date | None:
    month, day = parse_int(m.group("m")), parse_int(m.group("d"))
    if month is None or day is None:
        return None
    value = _safe_date(today.year, month, day)
    if value is None and month == 2 and day == 29:
        # 2月29日 in a non-leap year: only valid in the year it refers to.
        value = _safe_date(today.year + (1 if future else -1), month, day)
    if value is not None and future and value < today:
        value = _safe_date(today.year + 1, month, day)
    return value


def _day_only(m: re.Match[str], today: date, future: bool) -> date | None:
    day = parse_int(m.group("d"))
    if day is None:
        return None
    value = _safe_date(today.year, today.month, day)
    if value is not None and future and value < today:
        nxt = today.replace(day=1) + timedelta(days=32)
        value = _safe_date(nxt.year, nxt.month, day)
    return value


def _relative(m: re.Match[str], today: date, future: bool) -> date | None:
    return today + timedelta(days=_RELATIVE_DAYS[m.group("rel")])


def _week(m: re.Match[str], today: date, future: bool) -> date | None:
    prefix = (m.group("wp") or "").replace("个", "")
    target = _WEEKDAYS[m.group("wd")]
    monday = today - timedelta(days=today.weekday())
    offsets = {"上上": -14, "上": -7, "本": 0, "这": 0, "下": 7, "下下": 14}
    if prefix in offsets:
        return monday + timedelta(days=offsets[prefix] + target)
    value = monday + timedelta(days=target)
    # A bare weekday: the most recent one for past dates, the next one for deadlines.
    if future and value < today:
        return value + timedelta(days=7)
    if not future and value > today:
        return value - timedelta(days=7)
    return value


def _month_end(m: re.Match[str], today: date, future: bool) -> date | None:
    year, month = today.year, today.month
    if (m.group("me") or "").startswith("下"):
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return date(year, month, calendar.monthrange(year, month)[1])


def _year_end(m: re.Match[str], today: date, future: bool) -> date | None:
    return date(today.year, 12, 31)


def _within(m: re.Match[str], today: date, future: bool) -> date | None:
    count = parse_int(m.group("n"))
    if count is None:
        return None
    days = count * 7 if m.group("u") in ("周", "星期", "礼拜") else count
    if days > 3660:
        return None
    return today + timedelta(days=days)


def _this_week(m: re.Match[str], today: date, future: bool) -> date | None:
    return today + timedelta(days=6 - today.weekday())


_PATTERNS: tuple[tuple[re.Pattern[str], _Handler, bool], ...] = (
    (
        re.compile(
            r"(?<![0-9])(?P<y>(?:19|20)[0-9]{2}) ?[年./-] ?(?P<m>[0-9]{1,2}) ?[月./-] ?"
            r"(?P<d>[0-9]{1,2})(?![0-9]) ?[日号]?"
        ),
        _full,
        False,
    ),
    (re.compile(rf"(?<![0-9.])(?P<m>{_MD}) ?月 ?(?P<d>{_MD}) ?[日号]?"), _month_day, False),
    (
        re.compile(
            r"(?<![0-9./-])(?P<m>[0-9]{1,2})[./-](?P<d>[0-9]{1,2})"
            r"(?![0-9./-]| ?(?:个|小时|钟|h|分|天|%|点))"
        ),
        _month_day,
        False,
    ),
    (re.compile(rf"(?<![0-9月./-])(?P<d>{_MD}) ?[日号](?![内前后])"), _day_only, False),
    (
        re.compile(
            r"(?P<rel>大前天|大后天|前天|后天|昨天|昨日|昨儿|今天|今日|今儿|今早|今晚|明天|明日)"
        ),
        _relative,
        False,
    ),
    (
        re.compile(
            r"(?P<wp>上上|下下|上|本|这|下)?个? ?(?:周|星期|礼拜)(?P<wd>[一二三四五六日天末1-7])"
        ),
        _week,
        False,
    ),
    (re.compile(r"(?P<me>下个?|本|这个?|当)?月(?:底|末)"), _month_end, True),
    (re.compile(r"(?:本|今)?年(?:底|末)"), _year_end, True),
    (
        re.compile(
            r"(?P<n>[0-9]{1,3}|[一二两三四五六七八九十]{1,3}) ?个? ?(?P<u>天|日|周|星期|礼拜)"
            r" ?(?:之内|以内|内)"
        ),
        _within,
        True,
    ),
    (re.compile(r"(?:本|这)(?:周|星期)(?:之内|以内|内)"), _this_week, True),
)


def find_date(text: str, today: date, *, future: bool) -> DateHit | None:
    """Return the first date in `text`; `future` reads ambiguous dates as upcoming (deadlines)."""
    best: DateHit | None = None
    for pattern, handler, future_only in _PATTERNS:
        if future_only and not future:
            continue
        m = pattern.search(text)
        if m is None or (best is not None and m.start() >= best.start):
            continue
        best = DateHit(handler(m, today, future), m.start(), m.end())
    return best
