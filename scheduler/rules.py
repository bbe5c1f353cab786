"""A branch's calendar settings: cadences, day rules, node days and the holiday direction."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, replace
from datetime import date
from typing import Literal

from scheduler.workdays import Direction, nth_workday

Frequency = Literal["monthly", "quarterly", "yearly"]
WEEKDAY_NAMES = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
_ORDINALS = {"一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_EXAMPLES = "“每月第一个周五”“每月最后一个周四”“每月10日”“每月15号”“每月第5个工作日”"


@dataclass(frozen=True)
class NthWeekday:
    """The n-th (1–4) or last (-1) given weekday (0 = Monday) of a month."""

    n: int
    weekday: int

    def resolve(self, year: int, month: int) -> date:
        """The date this rule names in the given month."""
        days = [
            date(year, month, d)
            for d in range(1, calendar.monthrange(year, month)[1] + 1)
            if date(year, month, d).weekday() == self.weekday
        ]
        return days[-1] if self.n == -1 else days[self.n - 1]

    def describe(self) -> str:
        """The rule in Chinese, e.g. 每月第一个周五."""
        which = "最后一个" if self.n == -1 else f"第{'一二三四'[self.n - 1]}个"
        return f"每月{which}{WEEKDAY_NAMES[self.weekday]}"


@dataclass(frozen=True)
class MonthDay:
    """A fixed day of the month; 29–31 fall back to the month's last day in shorter months."""

    day: int

    def resolve(self, year: int, month: int) -> date:
        """The date this rule names in the given month."""
        return date(year, month, min(self.day, calendar.monthrange(year, month)[1]))

    def describe(self) -> str:
        """The rule in Chinese, e.g. 每月10日."""
        return f"每月{self.day}日"


@dataclass(frozen=True)
class NthWorkday:
    """The n-th working day of a month (holidays and 调休 counted)."""

    n: int

    def resolve(self, year: int, month: int) -> date:
        """The date this rule names in the given month."""
        return nth_workday(year, month, self.n)

    def describe(self) -> str:
        """The rule in Chinese, e.g. 每月第5个工作日."""
        return f"每月第{self.n}个工作日"


DayRule = NthWeekday | MonthDay | NthWorkday


def parse_day_rule(text: str) -> DayRule:
    """Parse a Chinese day rule such as 每月第一个周五 or 每月10日; ValueError if not understood."""
    s = re.sub(r"\s+", "", text or "").removeprefix("每月")
    weekday = r"(?:周|星期|礼拜)([一二三四五六日天])"
    if m := re.fullmatch(rf"第([一二三四1-4])(?:个|周)?{weekday}", s):
        return NthWeekday(_ORDINALS[m.group(1)], _WEEKDAYS[m.group(2)])
    if m := re.fullmatch(rf"最后一(?:个|周)?{weekday}", s):
        return NthWeekday(-1, _WEEKDAYS[m.group(1)])
    if m := re.fullmatch(r"第?(\d{1,2})[日号]", s):
        day = int(m.group(1))
        if not 1 <= day <= 31:
            raise ValueError(f"“{text}”里的日期应在1到31之间，例如{_EXAMPLES}")
        return MonthDay(day)
    if m := re.fullmatch(r"第(\d{1,2})个工作日", s):
        n = int(m.group(1))
        if not 1 <= n <= 20:
            raise ValueError(f"“{text}”里的工作日序号应在1到20之间")
        return NthWorkday(n)
    raise ValueError(f"看不懂日期规则“{text}”，可以这样写：{_EXAMPLES}")


@dataclass(frozen=True)
class Cadence:
    """How often an activity recurs and on which day of its month(s)."""

    frequency: Frequency
    day: DayRule
    month_in_quarter: int = 2  # quarterly: 1st, 2nd or 3rd month of each quarter
    month: int = 12  # yearly: the month it falls in

    def __post_init__(self) -> None:
        if not 1 <= self.month_in_quarter <= 3:
            raise ValueError("季度内的月份应为1、2或3")
        if not 1 <= self.month <= 12:
            raise ValueError("月份应在1到12之间")

    def months(self) -> tuple[int, ...]:
        """The months of a year this cadence falls in."""
        if self.frequency == "monthly":
            return tuple(range(1, 13))
        if self.frequency == "quarterly":
            return tuple(q * 3 + self.month_in_quarter for q in range(4))
        return (self.month,)

    def describe(self) -> str:
        """The cadence in Chinese, e.g. 每季度第2个月 每月第二个周三."""
        rule = self.day.describe().removeprefix("每月")
        if self.frequency == "monthly":
            return f"每月{rule}"
        if self.frequency == "quarterly":
            return f"每季度第{self.month_in_quarter}个月的{rule}"
        return f"每年{self.month}月的{rule}"


@dataclass(frozen=True)
class Activity:
    """One required action (规定动作) with its cadence; `per_group` means one per 党小组."""

    key: str
    kind: str  # a handlers.parsing.MEETING_KINDS name, 谈心谈话 or 党费
    title: str
    cadence: Cadence
    per_group: bool = False
    enabled: bool = True


@dataclass(frozen=True)
class NodeDay:
    """A commemorative date (节点日) a branch may switch on, with a suggested theme."""

    month: int
    day: int
    name: str
    theme: str
    enabled: bool = True

    @property
    def key(self) -> str:
        """The key used on the command line, e.g. 5-10."""
        return f"{self.month}-{self.day}"

    def on(self, year: int) -> date:
        """The node day's date in `year`."""
        return date(year, self.month, self.day)


DEFAULT_ACTIVITIES: tuple[Activity, ...] = (
    Activity("支部委员会", "支部委员会", "支委会", Cadence("monthly", NthWorkday(2))),
    Activity("党小组会", "党小组会", "党小组会", Cadence("monthly", MonthDay(15)), per_group=True),
    Activity("主题党日", "主题党日", "主题党日", Cadence("monthly", NthWeekday(1, 4))),
    Activity("党费", "党费", "党费收缴提醒", Cadence("monthly", NthWorkday(5))),
    Activity(
        "支部党员大会", "支部党员大会", "支部党员大会", Cadence("quarterly", NthWeekday(2, 2))
    ),
    Activity("党课", "党课", "党课", Cadence("quarterly", NthWeekday(3, 3))),
    Activity("书记讲党课", "党课", "书记讲党课", Cadence("yearly", NthWeekday(-1, 3), month=6)),
    Activity("谈心谈话", "谈心谈话", "谈心谈话", Cadence("yearly", NthWeekday(2, 1), month=11)),
    Activity(
        "组织生活会", "组织生活会", "组织生活会", Cadence("yearly", NthWeekday(2, 3), month=12)
    ),
    Activity(
        "民主评议党员",
        "民主评议党员",
        "民主评议党员",
        Cadence("yearly", NthWeekday(3, 3), month=12),
    ),
)

DEFAULT_NODE_DAYS: tuple[NodeDay, ...] = (
    NodeDay(3, 5, "学雷锋纪念日", "学雷锋志愿服务"),
    NodeDay(4, 15, "全民国家安全教育日", "总体国家安全观学习"),
    NodeDay(5, 4, "五四青年节", "传承五四精神，青年党员座谈"),
    NodeDay(5, 10, "5·10思廉日", "廉政教育、警示教育", enabled=False),
    NodeDay(7, 1, "建党纪念日", "重温入党誓词，书记讲党课"),
    NodeDay(8, 1, "建军节", "拥军优属志愿服务"),
    NodeDay(9, 3, "中国人民抗日战争胜利纪念日", "铭记历史，缅怀先烈"),
    NodeDay(9, 30, "烈士纪念日", "祭扫烈士陵园，缅怀英烈"),
    NodeDay(10, 1, "国庆节", "爱国主义教育"),
    NodeDay(12, 4, "国家宪法日", "宪法学习宣传"),
    NodeDay(12, 5, "国际志愿者日", "志愿服务活动"),
    NodeDay(12, 13, "南京大屠杀死难者国家公祭日", "国家公祭，勿忘国耻"),
    NodeDay(12, 26, "毛泽东同志诞辰纪念日", "学习老一辈革命家的崇高风范"),
)


@dataclass(frozen=True)
class CalendarSettings:
    """Everything the annual plan is generated from; the defaults follow domain.md (b)."""

    activities: tuple[Activity, ...] = DEFAULT_ACTIVITIES
    node_days: tuple[NodeDay, ...] = DEFAULT_NODE_DAYS
    holiday_shift: Direction = "after"
    prepare_days_before: int = 14  # node days: the 支委 prepare this many days ahead

    def activity(self, key: str) -> Activity:
        """The activity with this key; KeyError if there is none."""
        for item in self.activities:
            if item.key == key:
                return item
        raise KeyError(key)

    def with_day_rule(self, key: str, rule: DayRule) -> CalendarSettings:
        """A copy where the activity `key` uses the day rule `rule`."""
        self.activity(key)
        return replace(
            self,
            activities=tuple(
                replace(a, cadence=replace(a.cadence, day=rule)) if a.key == key else a
                for a in self.activities
            ),
        )

    def with_node_days(self, keys: list[str], *, enabled: bool = True) -> CalendarSettings:
        """A copy with the node days `keys` (e.g. "5-10" or "5·10") switched on (or off)."""
        wanted = {normalise_node_key(k) for k in keys}
        unknown = wanted - {n.key for n in self.node_days}
        if unknown:
            known = "、".join(n.key for n in self.node_days)
            raise ValueError(f"没有节点日“{'、'.join(sorted(unknown))}”，可选：{known}")
        return replace(
            self,
            node_days=tuple(
                replace(n, enabled=enabled) if n.key in wanted else n for n in self.node_days
            ),
        )


def normalise_node_key(text: str) -> str:
    """Turn 5·10, 5.10, 5月10日 or 05-10 into the key 5-10 (unchanged if not a date)."""
    m = re.fullmatch(r"\s*(\d{1,2})\s*[-·./月]\s*(\d{1,2})\s*日?\s*", text)
    return f"{int(m.group(1))}-{int(m.group(2))}" if m else text.strip()
