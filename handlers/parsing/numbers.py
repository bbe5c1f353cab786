"""Chinese and Arabic numerals to numbers."""

from __future__ import annotations

import re

CN_DIGITS: dict[str, int] = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
CN_UNITS: dict[str, int] = {"十": 10, "百": 100, "千": 1000, "万": 10000}

# Regex fragments for other modules; bounded so a long run of digits cannot backtrack badly.
ARABIC = r"[0-9]{1,6}(?:\.[0-9]{1,3})?"
CHINESE = r"[零〇一二两三四五六七八九十百千]{1,8}"
NUMBER = rf"(?:{ARABIC}|{CHINESE})"

_ARABIC_RE = re.compile(rf"{ARABIC}")
_MAX_LEN = 12


def _chinese_to_int(text: str) -> int | None:
    if any(ch not in CN_DIGITS and ch not in CN_UNITS for ch in text):
        return None
    if all(ch in CN_DIGITS for ch in text):
        # "二〇二六" is read digit by digit; a single digit is itself.
        value = 0
        for ch in text:
            value = value * 10 + CN_DIGITS[ch]
        return value
    total = 0
    section = 0
    digit: int | None = None
    last_unit = 10**9
    for ch in text:
        if ch in CN_DIGITS:
            if digit is not None and CN_DIGITS[ch] != 0:
                return None  # two digits in a row, e.g. "三四十"
            digit = CN_DIGITS[ch] if CN_DIGITS[ch] != 0 else None
            continue
        unit = CN_UNITS[ch]
        if unit == 10000:
            total += (section + (digit or 0)) * unit
            section, digit, last_unit = 0, None, 10**9
            continue
        if unit >= last_unit:
            return None  # "十百", "百百"
        section += (digit if digit is not None else 1) * unit
        digit, last_unit = None, unit
    return total + section + (digit or 0)


def parse_number(text: str) -> float | None:
    """Return the value of "12", "1.5", "十二", "二十五", "两百", "半" (0.5); None if not a number."""
    text = text.strip()
    if not text or len(text) > _MAX_LEN:
        return None
    if text == "半":
        return 0.5
    if _ARABIC_RE.fullmatch(text):
        return float(text)
    value = _chinese_to_int(text)
    return None if value is None else float(value)


def parse_int(text: str) -> int | None:
    """Return an integer for "18", "十八", "二〇二六"; None for anything else."""
    value = parse_number(text)
    if value is None or value != int(value) or text.strip() == "半":
        return None
    return int(value)
