"""Reporting periods: `this_month`, `last_month`, `this_quarter`, `this_year`, YYYY-MM, YYYY,
YYYY-Qn and YYYY-H1/H2 (half years). One parser for the chat, the CLI and the reports."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$", re.IGNORECASE)
_HALF = re.compile(r"^(\d{4})-H([12])$", re.IGNORECASE)
# The accepted keys, for a user's error message.
PERIOD_HINT = "2026、2026-H2、2026-Q4、2026-10、this_month、last_month、this_quarter、this_year"


@dataclass(frozen=True)
class Period:
    """A half-open date range [start, end) with its Chinese label."""

    key: str
    start: date
    end: date
    label: str

    @property
    def concrete_key(self) -> str:
        """The key with relative names resolved: YYYY-MM, YYYY-Qn, YYYY-Hn or YYYY."""
        months = self.months
        if months == 1:
            return f"{self.start:%Y-%m}"
        if months == 3:
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        if months == 6:
            return f"{self.start.year}-H{1 if self.start.month == 1 else 2}"
        return f"{self.start.year}"

    @property
    def months(self) -> int:
        """How many calendar months the period spans (1, 3, 6 or 12)."""
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month

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
            "this_year, YYYY-MM, YYYY, YYYY-Qn or YYYY-Hn"
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
    if m := _HALF.match(key):
        year, half = int(m.group(1)), int(m.group(2))
        start = date(year, 1 if half == 1 else 7, 1)
        end = date(year, 7, 1) if half == 1 else date(year + 1, 1, 1)
        return Period(key.upper(), start, end, f"{year}年{'上下'[half - 1]}半年")
    return None
