"""Reporting periods: `this_month`, `last_month`, `this_quarter`, `this_year`, YYYY-MM, YYYY, YYYY-Qn."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$", re.IGNORECASE)


@dataclass(frozen=True)
class Period:
    """A half-open date range [start, end) with its Chinese label."""

    key: str
    start: date
    end: date
    label: str

    @property
    def concrete_key(self) -> str:
        """The key with relative names resolved: YYYY-MM, YYYY-Qn or YYYY."""
        months = (self.end.year - self.start.year) * 12 + self.end.month - self.start.month
        if months == 1:
            return f"{self.start:%Y-%m}"
        if months == 3:
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        return f"{self.start.year}"

    def contains(self, day: date) -> bool:
        """True when the day lies in the period."""
        return self.start <= day < self.end


def _month(year: int, month: int, key: str) -> Period:
    end = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return Period(key, date(year, month, 1), end, f"{year}年{month}月")


def _quarter(year: int, quarter: int, key: str) -> Period:
    start = date(year, 3 * quarter - 2, 1)
    end = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
    return Period(key, start, end, f"{year}年第{'一二三四'[quarter - 1]}季度")


def resolve(key: str, today: date) -> Period:
    """Turn a period key into a date range relative to `today`; ValueError if unknown."""
    try:
        period = _resolve(key.strip(), today)
    except ValueError:  # a year the calendar cannot hold, such as 0000 or 9999-12
        period = None
    if period is None:
        raise ValueError(
            f"unknown period {key!r}: use this_month, last_month, this_quarter, "
            "this_year, YYYY-MM, YYYY or YYYY-Qn"
        )
    return period


def _resolve(key: str, today: date) -> Period | None:
    if key == "this_month":
        return _month(today.year, today.month, key)
    if key == "last_month":
        year, month = (today.year - 1, 12) if today.month == 1 else (today.year, today.month - 1)
        return _month(year, month, key)
    if key == "this_quarter":
        return _quarter(today.year, (today.month - 1) // 3 + 1, key)
    if key == "this_year":
        return Period(key, date(today.year, 1, 1), date(today.year + 1, 1, 1), f"{today.year}年")
    if m := _MONTH.match(key):
        year, month = int(m.group(1)), int(m.group(2))
        if 1 <= month <= 12:
            return _month(year, month, f"{year:04d}-{month:02d}")
    if m := _YEAR.match(key):
        year = int(m.group(1))
        return Period(key, date(year, 1, 1), date(year + 1, 1, 1), f"{year}年")
    if m := _QUARTER.match(key):
        return _quarter(int(m.group(1)), int(m.group(2)), key.upper())
    return None
