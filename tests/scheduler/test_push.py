"""Reminder settings: quiet hours, where a reminder that falls in them goes, the time parsers,
and the branch's stored calendar JSON (`scheduler.branch_config`).

Working days are checked against `chinese_calendar` directly, so a test fails if the code under
test and the official holiday data disagree."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from scheduler import branch_config
from scheduler.branch_config import BranchCalendar
from scheduler.push import PushSettings, parse_quiet, parse_time
from scheduler.rules import Cadence, MonthDay, NthWorkday

TZ = ZoneInfo("Asia/Shanghai")
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A Shanghai moment."""
    return datetime.combine(day, time(hour, minute), TZ)


def is_workday(day: date) -> bool:
    """The official answer, independent of scheduler.workdays."""
    return bool(chinese_calendar.is_workday(day))


# --- quiet hours ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "quiet"),
    [
        (time(21, 0), True),
        (time(23, 59), True),
        (time(0, 0), True),
        (time(7, 59), True),
        (time(8, 0), False),
        (time(12, 0), False),
        (time(20, 59), False),
    ],
)
def test_default_quiet_hours_wrap_midnight(moment: time, quiet: bool) -> None:
    assert PushSettings().in_quiet_hours(moment) is quiet


@pytest.mark.parametrize(
    ("moment", "quiet"),
    [
        (time(11, 59), False),
        (time(12, 0), True),
        (time(13, 59), True),
        (time(14, 0), False),
        (time(23, 0), False),
        (time(0, 0), False),
    ],
)
def test_quiet_hours_within_one_day(moment: time, quiet: bool) -> None:
    settings = PushSettings(quiet_start=time(12, 0), quiet_end=time(14, 0))
    assert settings.in_quiet_hours(moment) is quiet


@pytest.mark.parametrize("edge", [time(0, 0), time(10, 0), time(21, 0)])
def test_equal_start_and_end_means_no_quiet_hours(edge: time) -> None:
    settings = PushSettings(quiet_start=edge, quiet_end=edge)
    for hour in range(24):
        for minute in (0, 29, 59):
            assert not settings.in_quiet_hours(time(hour, minute))


def test_settings_that_contradict_themselves_are_refused_in_chinese() -> None:
    with pytest.raises(ValueError, match="免打扰") as caught:
        PushSettings(notice_time=time(7, 45))  # inside the default 21:00-08:00
    assert CHINESE.search(str(caught.value))
    with pytest.raises(ValueError, match="免打扰"):
        PushSettings(quiet_start=time(22, 0), quiet_end=time(7, 30), notice_time=time(7, 15))
    # 07:45 is after 07:30, so it is a valid reminder time for 22:00-07:30.
    PushSettings(quiet_start=time(22, 0), quiet_end=time(7, 30), notice_time=time(7, 45))
    with pytest.raises(ValueError, match="0到30"):
        PushSettings(notice_days=31)
    with pytest.raises(ValueError, match="1到20"):
        PushSettings(progress_days=0)


# --- place: advance notices ("before") -----------------------------------------------------


def test_allowed_moments_are_not_moved() -> None:
    wednesday = date(2026, 10, 14)
    assert is_workday(wednesday)
    for placement in ("before", "after"):
        assert PushSettings().place(at(wednesday, 10), placement) == at(wednesday, 10)
        assert PushSettings().place(at(wednesday, 8), placement) == at(wednesday, 8)


def test_a_late_evening_notice_goes_to_the_same_morning() -> None:
    wednesday = date(2026, 10, 14)
    assert is_workday(wednesday)
    placed = PushSettings().place(at(wednesday, 22), "before")
    assert placed == at(wednesday, 8, 30)
    assert placed.tzinfo is TZ


def test_an_early_morning_notice_goes_to_the_previous_working_day() -> None:
    # 07:00 is quiet and the same day's 08:30 would be later than the notice: go back a day.
    wednesday = date(2026, 10, 14)
    assert is_workday(wednesday - timedelta(days=1))
    assert PushSettings().place(at(wednesday, 7), "before") == at(wednesday - timedelta(1), 8, 30)


def test_a_saturday_notice_goes_to_friday() -> None:
    saturday, friday = date(2026, 10, 17), date(2026, 10, 16)
    assert saturday.weekday() == 5 and not is_workday(saturday)
    assert is_workday(friday)
    assert PushSettings().place(at(saturday, 8, 30), "before") == at(friday, 8, 30)
    assert PushSettings().place(at(saturday, 15), "before") == at(friday, 8, 30)


def test_a_national_day_notice_goes_before_the_holiday() -> None:
    holiday = date(2026, 10, 3)
    assert not any(is_workday(date(2026, 10, d)) for d in range(1, 4))
    assert is_workday(date(2026, 9, 30))
    assert PushSettings().place(at(holiday, 8, 30), "before") == at(date(2026, 9, 30), 8, 30)


# --- place: follow-ups ("after") -----------------------------------------------------------


def test_a_late_evening_follow_up_goes_to_the_next_working_morning() -> None:
    wednesday, thursday = date(2026, 10, 14), date(2026, 10, 15)
    assert is_workday(thursday)
    assert PushSettings().place(at(wednesday, 22), "after") == at(thursday, 8, 30)


def test_an_early_morning_follow_up_waits_for_the_same_morning() -> None:
    wednesday = date(2026, 10, 14)
    assert PushSettings().place(at(wednesday, 7), "after") == at(wednesday, 8, 30)


def test_a_friday_night_follow_up_waits_for_monday() -> None:
    friday, monday = date(2026, 10, 16), date(2026, 10, 19)
    assert [is_workday(friday + timedelta(n)) for n in range(4)] == [True, False, False, True]
    assert PushSettings().place(at(friday, 22), "after") == at(monday, 8, 30)


def test_a_national_day_follow_up_waits_for_the_end_of_the_holiday() -> None:
    first, back = date(2026, 10, 1), date(2026, 10, 8)
    assert not any(is_workday(first + timedelta(n)) for n in range(7))
    assert is_workday(back)
    assert PushSettings().place(at(first, 9), "after") == at(back, 8, 30)


def test_a_sunday_follow_up_goes_to_monday() -> None:
    sunday, monday = date(2026, 10, 18), date(2026, 10, 19)
    assert sunday.weekday() == 6 and not is_workday(sunday) and is_workday(monday)
    assert PushSettings().place(at(sunday, 10), "after") == at(monday, 8, 30)


@pytest.mark.parametrize("sunday", [date(2026, 1, 4), date(2026, 9, 20)])
def test_a_working_sunday_counts_as_a_working_day(sunday: date) -> None:
    assert sunday.weekday() == 6
    assert is_workday(sunday)  # 调休
    settings = PushSettings()
    assert settings.allowed(at(sunday, 10))
    assert settings.place(at(sunday, 10), "after") == at(sunday, 10)
    assert settings.place(at(sunday, 10), "before") == at(sunday, 10)
    # The rest day before it sends its follow-ups to that Sunday, not to Monday.
    saturday = sunday - timedelta(days=1)
    assert not is_workday(saturday)
    assert settings.place(at(saturday, 10), "after") == at(sunday, 8, 30)


def test_rest_days_can_be_allowed() -> None:
    settings = PushSettings(quiet_on_rest_days=False)
    saturday, sunday = date(2026, 10, 17), date(2026, 10, 18)
    assert not is_workday(saturday) and not is_workday(sunday)
    assert settings.place(at(saturday, 10), "after") == at(saturday, 10)
    assert settings.place(at(saturday, 10), "before") == at(saturday, 10)
    assert settings.place(at(date(2026, 10, 3), 10), "before") == at(date(2026, 10, 3), 10)
    # Quiet hours still apply: the next morning, even a Sunday.
    assert settings.place(at(saturday, 22), "after") == at(sunday, 8, 30)
    assert settings.place(at(saturday, 22), "before") == at(saturday, 8, 30)


def test_a_custom_notice_time_is_the_slot() -> None:
    settings = PushSettings(quiet_start=time(22, 0), quiet_end=time(7, 30), notice_time=time(7, 45))
    wednesday = date(2026, 10, 14)
    assert settings.place(at(wednesday, 23), "after") == at(date(2026, 10, 15), 7, 45)
    assert settings.place(at(wednesday, 23), "before") == at(wednesday, 7, 45)
    assert settings.place(at(wednesday, 21, 30), "after") == at(wednesday, 21, 30)


# --- parse_time / parse_quiet --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8:30", time(8, 30)),
        ("08:30", time(8, 30)),
        ("08：30", time(8, 30)),
        (" 9:05 ", time(9, 5)),
        ("0:00", time(0, 0)),
        ("23:59", time(23, 59)),
    ],
)
def test_parse_time_accepts(text: str, expected: time) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize("text", ["25:00", "24:00", "08:60", "8点", "8:3", "0830", "", "八点半"])
def test_parse_time_refuses_in_chinese(text: str) -> None:
    with pytest.raises(ValueError, match="应写成 时:分") as caught:
        parse_time(text)
    assert CHINESE.search(str(caught.value))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("21:00-08:00", (time(21, 0), time(8, 0))),
        ("21：00 - 8:00", (time(21, 0), time(8, 0))),
        ("22:00~07:30", (time(22, 0), time(7, 30))),
        ("22:00至07:30", (time(22, 0), time(7, 30))),
        ("12:00-14:00", (time(12, 0), time(14, 0))),
        ("无", (time(0, 0), time(0, 0))),
        ("off", (time(0, 0), time(0, 0))),
    ],
)
def test_parse_quiet_accepts(text: str, expected: tuple[time, time]) -> None:
    assert parse_quiet(text) == expected


def test_no_quiet_hours_really_means_none() -> None:
    start, end = parse_quiet("无")
    settings = PushSettings(quiet_start=start, quiet_end=end)
    assert not settings.in_quiet_hours(time(23, 0))
    assert not settings.in_quiet_hours(time(3, 0))


@pytest.mark.parametrize("text", ["8点", "21:00", "21:00-08:00-09:00", "", "晚上"])
def test_parse_quiet_refuses_the_shape_in_chinese(text: str) -> None:
    with pytest.raises(ValueError, match="免打扰时段") as caught:
        parse_quiet(text)
    assert CHINESE.search(str(caught.value))


@pytest.mark.parametrize("text", ["25:00-08:00", "21:00-8点"])
def test_parse_quiet_refuses_a_bad_time_in_chinese(text: str) -> None:
    with pytest.raises(ValueError, match="应写成 时:分"):
        parse_quiet(text)


# --- branch_config: dump / load / describe -------------------------------------------------


def changed_calendar() -> BranchCalendar:
    """A calendar with something changed in every part that is stored."""
    rules = BranchCalendar().rules.with_day_rule("主题党日", MonthDay(10))
    rules = rules.with_node_days(["5-10"], enabled=True).with_node_days(["7-1"], enabled=False)
    rules = replace(
        rules,
        holiday_shift="before",
        activities=tuple(
            replace(a, cadence=Cadence("monthly", NthWorkday(3)))
            if a.key == "党课"
            else replace(a, enabled=False)
            if a.key == "谈心谈话"
            else a
            for a in rules.activities
        ),
    )
    push = PushSettings(
        enabled=False,
        notice_days=0,
        notice_time=time(7, 45),
        summary_time=time(9, 30),
        quiet_start=time(22, 0),
        quiet_end=time(7, 30),
        quiet_on_rest_days=False,
        progress_days=5,
    )
    return BranchCalendar(rules, push)


def test_defaults_are_stored_as_an_empty_object() -> None:
    assert branch_config.dump(BranchCalendar()) == "{}"
    for stored in (None, "", "{}"):
        assert branch_config.load(stored) == BranchCalendar()


def test_a_changed_calendar_round_trips() -> None:
    config = changed_calendar()
    assert config != BranchCalendar()
    stored = branch_config.dump(config)
    assert branch_config.load(stored) == config
    assert branch_config.dump(branch_config.load(stored)) == stored
    data = json.loads(stored)
    assert set(data) == {"holiday_shift", "activities", "node_days", "push"}
    # Only what differs is kept: untouched activities and node days are not stored.
    assert set(data["activities"]) == {"主题党日", "党课", "谈心谈话"}
    assert data["node_days"] == {"5-10": True, "7-1": False}
    assert data["push"]["quiet"] == "22:00-07:30"
    assert data["push"]["notice_time"] == "07:45"


def test_one_change_stores_only_that_change() -> None:
    config = BranchCalendar(push=PushSettings(notice_days=5))
    assert json.loads(branch_config.dump(config)) == {"push": {"notice_days": 5}}
    assert branch_config.load(branch_config.dump(config)) == config


def test_no_quiet_hours_round_trip_and_read_as_none() -> None:
    config = BranchCalendar(push=PushSettings(quiet_start=time(0), quiet_end=time(0)))
    assert branch_config.load(branch_config.dump(config)) == config
    assert "免打扰：无；休息日不推送" in branch_config.describe(config)


def test_describe_says_what_changed() -> None:
    lines = branch_config.describe(changed_calendar())
    assert "节假日调整：before" in lines
    assert "主题党日：每月10日" in lines
    assert "党课：每月第3个工作日" in lines
    assert "谈心谈话：每年11月的第二个周二（已停用）" in lines
    nodes = next(line for line in lines if line.startswith("节点日："))
    assert "5-10 5·10思廉日" in nodes and "7-1" not in nodes
    assert "提醒：关闭；提前 0 天及当天 07:45 预告" in lines
    assert "总结推送：每月1日 09:30；序时推进：期末前 5 天" in lines
    assert "免打扰：22:00-07:30；休息日照常推送" in lines


@pytest.mark.parametrize(
    ("stored", "words"),
    [
        ("{not json", "不是有效的 JSON"),
        ("[]", "已损坏"),
        ('"text"', "已损坏"),
        ('{"node_days": ["5-10"]}', "已损坏"),
        ('{"activities": [1]}', "已损坏"),
        ('{"push": "off"}', "已损坏"),
        ('{"push": {"notice_days": null}}', "已损坏"),
        ('{"push": {"notice_days": "x"}}', "已损坏"),
        ('{"push": {"notice_days": 99}}', "0到30"),
        ('{"push": {"notice_time": "25:00"}}', "应写成 时:分"),
        ('{"push": {"quiet": "8点"}}', "免打扰时段"),
        ('{"push": {"notice_time": "07:00"}}', "免打扰"),
        ('{"activities": {"无此活动": {"enabled": false}}}', "没有活动“无此活动”"),
        ('{"activities": {"主题党日": 3}}', "已损坏"),
        ('{"activities": {"主题党日": {"day": "每月40日"}}}', "1到31"),
        ('{"activities": {"主题党日": {"frequency": "weekly"}}}', "频次"),
        ('{"activities": {"主题党日": {"frequency": []}}}', "已损坏"),
        ('{"activities": {"党课": {"frequency": "quarterly", "month": "六"}}}', "已损坏"),
        ('{"node_days": {"5-11": true}}', "没有节点日"),
        ('{"holiday_shift": "sideways"}', "节假日调整方向"),
    ],
)
def test_broken_settings_raise_value_error_in_chinese(stored: str, words: str) -> None:
    with pytest.raises(ValueError, match=re.escape(words)) as caught:
        branch_config.load(stored)
    assert CHINESE.search(str(caught.value))
