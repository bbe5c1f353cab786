"""Small helpers for the Chinese text of replies."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

WEEKDAYS = "一二三四五六日"


def names(items: Iterable[str], empty: str = "无") -> str:
    """Join names with 、, or say `empty`."""
    joined = "、".join(items)
    return joined or empty


def mention_names(items: Iterable[str]) -> str:
    """Render names as @-mentions in the text."""
    return " ".join(f"@{n}" for n in items)


def day(value: date, weekday: bool = True) -> str:
    """Format a date the way people write it: 11月18日 周三 (or just 11月18日)."""
    text = f"{value.month}月{value.day}日"
    return f"{text} 周{WEEKDAYS[value.weekday()]}" if weekday else text


def clock(value: datetime) -> str:
    """Format a local time as 11月18日 14:05."""
    return f"{value.month}月{value.day}日 {value.hour:02d}:{value.minute:02d}"


def hours(value: float | Decimal) -> str:
    """Format hours without trailing zeros: 2, 1.5, 0.25."""
    text = f"{float(value):.2f}".rstrip("0").rstrip(".")
    return text or "0"


def percent(part: int, whole: int) -> str:
    """Format a rate as a whole percentage, or — when there is nothing to count."""
    if whole <= 0:
        return "—"
    return f"{round(100 * part / whole)}%"
