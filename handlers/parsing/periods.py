"""Report periods for 统计/导出: this_month, last_month, this_quarter, this_year, YYYY, YYYY-MM,
YYYY-Qn and YYYY-Hn (上半年 / 下半年)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from handlers.parsing.numbers import parse_int

DEFAULT_PERIOD = "this_month"

_QUARTER_CN = "一二三四1234"
_Q = r"(?:第 ?)?(?P<{name}>[一二三四1-4]) ?季度?"
_PERIOD_RE = re.compile(
    "|".join(
        (
            r"(?P<yq_y>(?:19|20)[0-9]{2}) ?(?:年|年度)? ?(?:[-.]? ?[Qq](?P<yq_q1>[1-4])|"
            + _Q.format(name="yq_q2")
            + ")",
            r"(?P<ym_y>(?:19|20)[0-9]{2}) ?(?:年 ?(?P<ym_m1>[0-9]{1,2}|十[一二]?|[一二三四五六七八九])"
            r" ?月份?|[-./](?P<ym_m2>[0-9]{1,2})(?![0-9]))",
            r"(?:(?P<h_y>(?:19|20)[0-9]{2}) ?年度? ?|(?P<h_kw>今年|去年|本年度?) ?)?(?P<h>[上下])半年度?",
            r"(?P<hk_y>(?:19|20)[0-9]{2}) ?[-.]? ?[Hh](?P<hk>[12])(?![0-9])",
            r"(?P<y>(?:19|20)[0-9]{2})(?![0-9]) ?(?:年度|年|全年)?",
            r"(?P<kw>本月份?|这个?月|当月|本月度|上个?月|上一个?月|本季度?|这个?季度|当季度?|本年度?|"
            r"今年|全年|这一?年|当年|去年|上一?年度?|前年|上个?季度|上一季度?)",
            r"(?<![0-9])(?P<q_only>(?:第 ?)?[一二三四1-4] ?季度|[Qq][1-4](?![0-9]))",
            r"(?<![0-9年上下本个])(?P<m>[0-9]{1,2}|十[一二]?|[一二三四五六七八九]) ?月份?(?![底末内])",
        )
    )
)


@dataclass(frozen=True)
class PeriodHit:
    """A period found in a text with its span."""

    value: str
    start: int
    end: int


def _quarter_of(month: int) -> int:
    return (month - 1) // 3 + 1


def _quarter_number(text: str) -> int:
    for ch in text:
        if ch in _QUARTER_CN:
            return _QUARTER_CN.index(ch) % 4 + 1
    return 0


def _keyword(kw: str, today: date) -> str:
    if kw.startswith(("本月", "这", "当月")) and "季" not in kw and "年" not in kw:
        return "this_month"
    if kw.startswith("上") and "月" in kw:
        return "last_month"
    if "季" in kw:
        if kw.startswith("上"):
            q = _quarter_of(today.month) - 1
            return f"{today.year}-Q{q}" if q else f"{today.year - 1}-Q4"
        return "this_quarter"
    if kw == "去年" or kw.startswith("上"):
        return str(today.year - 1)
    if kw == "前年":
        return str(today.year - 2)
    return "this_year"


def _month_value(year: int, month: int | None) -> str | None:
    if month is None or not 1 <= month <= 12:
        return None
    return f"{year}-{month:02d}"


def find_period(text: str, today: date) -> PeriodHit | None:
    """Return the first period expression in `text`, or None."""
    m = _PERIOD_RE.search(text)
    if m is None:
        return None
    value: str | None
    if m.group("yq_y"):
        q = m.group("yq_q1") or m.group("yq_q2")
        value = f"{m.group('yq_y')}-Q{_quarter_number(q)}"
    elif m.group("ym_y"):
        month = parse_int(m.group("ym_m1") or m.group("ym_m2"))
        value = _month_value(int(m.group("ym_y")), month)
    elif m.group("h"):
        if m.group("h_y"):
            year = int(m.group("h_y"))
        elif m.group("h_kw") == "去年":
            year = today.year - 1
        elif m.group("h_kw"):
            year = today.year
        else:  # 上半年 alone: this year's, or last year's while the first half is not over
            year = today.year if m.group("h") == "上" or today.month > 6 else today.year - 1
        value = f"{year}-H{1 if m.group('h') == '上' else 2}"
    elif m.group("hk_y"):
        value = f"{m.group('hk_y')}-H{m.group('hk')}"
    elif m.group("y"):
        value = m.group("y")
    elif m.group("kw"):
        value = _keyword(m.group("kw").replace(" ", ""), today)
    elif m.group("q_only"):
        q = _quarter_number(m.group("q_only").replace("Q", "").replace("q", ""))
        year = today.year if _quarter_of(today.month) >= q else today.year - 1
        value = f"{year}-Q{q}"
    else:
        month = parse_int(m.group("m"))
        year = today.year if month is not None and month <= today.month else today.year - 1
        value = _month_value(year, month)
    if value is None:
        return None
    return PeriodHit(value, m.start(), m.end())
