"""When a branch may be pushed to: reminder times, quiet hours and rest days.

A reminder that falls in quiet hours (default 21:00–08:00) or, by default, on an official rest
day (weekends and public holidays; 调休 working days count as working days) is moved to the
branch's slot time (08:30) on a working day: the latest one before it for advance notices
(`Direction` "before"), the earliest one after it for follow-ups ("after").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal

from scheduler.workdays import is_rest_day

Placement = Literal["before", "after"]
# Far more than any run of rest days; the search stops here rather than loop forever.
_MAX_DAYS = 40


@dataclass(frozen=True)
class PushSettings:
    """A branch's reminder settings; every field has the default domain.md suggests."""

    enabled: bool = True
    notice_days: int = 3  # advance notice this many days before a plan item
    notice_time: time = time(8, 30)  # advance notices, day-of notices and moved reminders
    summary_time: time = time(9, 0)  # monthly / quarterly / half-year summaries on the 1st
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    quiet_on_rest_days: bool = True
    progress_days: int = 3  # 序时推进: this many days before a period ends

    def __post_init__(self) -> None:
        if not 0 <= self.notice_days <= 30:
            raise ValueError("提前提醒天数应在0到30之间")
        if not 1 <= self.progress_days <= 20:
            raise ValueError("序时推进提醒应在期末前1到20天")
        if self.in_quiet_hours(self.notice_time):
            raise ValueError("提醒时间不能落在免打扰时段内")

    def in_quiet_hours(self, moment: time) -> bool:
        """True when a local time of day lies in the quiet hours."""
        start, end = self.quiet_start, self.quiet_end
        if start == end:
            return False
        if start < end:
            return start <= moment < end
        return moment >= start or moment < end

    def allowed(self, moment: datetime) -> bool:
        """True when a push may go out at this local moment."""
        if self.in_quiet_hours(moment.time()):
            return False
        return not (self.quiet_on_rest_days and is_rest_day(moment.date()))

    def open_day(self, day: date) -> bool:
        """True when pushes may go out on this date at all (rest days may be closed)."""
        return not (self.quiet_on_rest_days and is_rest_day(day))

    def place(self, due: datetime, placement: Placement) -> datetime:
        """The moment a reminder due at `due` (local, aware) actually goes out."""
        return _place(self, due, placement)

    def _place(self, due: datetime, placement: Placement) -> datetime:
        if self.allowed(due):
            return due
        step = -1 if placement == "before" else 1
        day = due.date()
        for offset in range(_MAX_DAYS):
            candidate_day = day + timedelta(days=offset * step)
            if not self.open_day(candidate_day):
                continue
            slot = datetime.combine(candidate_day, self.notice_time, due.tzinfo)
            if (placement == "before" and slot <= due) or (placement == "after" and slot >= due):
                return slot
        raise ValueError(f"{due:%Y-%m-%d} 前后 {_MAX_DAYS} 天内找不到可以推送的时间")


@lru_cache(maxsize=65536)
def _place(settings: PushSettings, due: datetime, placement: Placement) -> datetime:
    return settings._place(due, placement)


_HM = re.compile(r"^\s*(\d{1,2})[:：](\d{2})\s*$")


def parse_time(text: str) -> time:
    """Parse 08:30 or 8:30 (full-width colon too); ValueError with a Chinese message otherwise."""
    m = _HM.match(text or "")
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ValueError(f"时间“{text}”应写成 时:分，例如 08:30")
    return time(int(m.group(1)), int(m.group(2)))


def parse_quiet(text: str) -> tuple[time, time]:
    """Parse quiet hours such as 21:00-08:00; "无" or "off" means none."""
    if (text or "").strip().lower() in {"无", "off", "none", "关"}:
        return time(0, 0), time(0, 0)
    parts = re.split(r"\s*[-~—至到]\s*", (text or "").strip())
    if len(parts) != 2:
        raise ValueError(f"免打扰时段“{text}”应写成 开始-结束，例如 21:00-08:00")
    return parse_time(parts[0]), parse_time(parts[1])
