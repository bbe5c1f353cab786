"""Durations in hours: 2小时, 两个半小时, 1.5h, 90分钟, 1小时30分, 半个钟头, and days (flagged)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from handlers.parsing.numbers import NUMBER, parse_number


@dataclass(frozen=True)
class Duration:
    """A duration found in a text, with its character span."""

    hours: float
    start: int
    end: int
    in_days: bool = False


_NEG = r"(?P<neg>[-负]\s*)?"
_HOURS = re.compile(
    rf"(?<![0-9.]){_NEG}(?P<num>{NUMBER})\s*(?:个)?\s*(?P<half>半)?\s*(?:个\s*)?"
    r"(?:小时|钟头|钟|hours?|hrs?|h)(?![a-z])"
    rf"(?:\s*(?:零\s*)?(?P<min>{NUMBER})\s*(?:分钟|分)|\s*(?P<half2>半)(?![天日]))?",
    re.IGNORECASE,
)
_HALF_HOUR = re.compile(r"(?<![0-9零〇一二两三四五六七八九十百千个])半\s*个?\s*(?:小时|钟头|钟)")
_MINUTES = re.compile(
    rf"(?<![0-9.]){_NEG}(?P<num>{NUMBER})\s*(?:分钟|分|minutes?|mins?)(?![a-z])",
    re.IGNORECASE,
)
_DAYS = re.compile(
    rf"(?<![0-9.]){_NEG}(?P<num>{NUMBER}|半)\s*(?:个)?\s*(?:半)?\s*(?:天|days?)(?![a-z内])",
    re.IGNORECASE,
)


def _value(match: re.Match[str]) -> float | None:
    value = parse_number(match.group("num"))
    if value is None:
        return None
    return -value if match.group("neg") else value


def find_duration(text: str) -> Duration | None:
    """Return the first duration in `text` (hours), or None when there is none."""
    found: list[Duration] = []
    m = _HOURS.search(text)
    if m:
        value = _value(m)
        if value is not None:
            extra = 0.5 if m.group("half") or m.group("half2") else 0.0
            minutes = parse_number(m.group("min")) if m.group("min") else 0.0
            extra += (minutes or 0.0) / 60
            hours = value - extra if value < 0 else value + extra
            found.append(Duration(round(hours, 2), m.start(), m.end()))
    m = _HALF_HOUR.search(text)
    if m:
        found.append(Duration(0.5, m.start(), m.end()))
    m = _MINUTES.search(text)
    if m:
        value = _value(m)
        if value is not None:
            found.append(Duration(round(value / 60, 2), m.start(), m.end()))
    m = _DAYS.search(text)
    if m:
        value = _value(m)
        if value is not None:
            found.append(Duration(value * 24, m.start(), m.end(), in_days=True))
    if not found:
        return None
    return min(found, key=lambda d: d.start)
