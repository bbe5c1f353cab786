"""Intent-level checks that the annotated corpus does not express well: errors, fields, order."""

from __future__ import annotations

from datetime import date

import pytest

from handlers.parsing import MEETING_KINDS, Intent, parse
from tests.handlers.parsing.conftest import NOW


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("志愿服务 社区献血", "时长"),
        ("志愿服务 -3小时", "大于0"),
        ("志愿服务 100小时", "24小时"),
        ("志愿服务 999小时", "24小时"),
        ("志愿服务 0.5天", "小时"),
        ("志愿服务 2小时 12月5日", "晚于今天"),
        ("志愿服务 2小时 2月30日", "日期无效"),
    ],
)
def test_volunteer_errors_explain_and_give_an_example(text: str, hint: str) -> None:
    result = parse(text, NOW)
    assert result.intent is Intent.VOLUNTEER
    assert result.error is not None
    assert hint in result.error
    assert "例如" in result.error


def test_volunteer_error_keeps_understood_fields() -> None:
    result = parse("志愿服务 100小时 抗洪抢险 昨天", NOW)
    assert result.hours == 100
    assert result.activity == "抗洪抢险"
    assert result.date == date(2026, 11, 19)


def test_future_volunteer_date_is_kept_with_error() -> None:
    result = parse("志愿服务 2小时 社区清扫 12月5日", NOW)
    assert result.error is not None
    assert result.date == date(2026, 12, 5)


def test_open_meeting_without_kind() -> None:
    result = parse("开会 学习党章", NOW)
    assert result.intent is Intent.OPEN_MEETING
    assert result.error == "请说明会议类型，例如：开会 支委会 学习党章"
    assert result.kinds == ()


def test_kinds_are_canonical_and_ordered() -> None:
    result = parse("开会 党课、支委会、党课 学习", NOW)
    assert result.kinds == ("党课", "支部委员会")
    assert set(result.kinds) <= set(MEETING_KINDS)


def test_publish_without_title_has_error() -> None:
    result = parse("发布学习 截止12月10日", NOW)
    assert result.intent is Intent.PUBLISH_STUDY
    assert result.error is not None
    assert result.deadline == date(2026, 12, 10)


def test_link_is_first_url() -> None:
    result = parse("发布学习 《党章》 https://a.example/x https://b.example/y", NOW)
    assert result.link == "https://a.example/x"


def test_questions_are_never_actions() -> None:
    for text in [
        "签到了吗",
        "请假要写原因吗？",
        "志愿服务可以补报吗",
        "开会吗？",
        "已学习的怎么看？",
    ]:
        assert parse(text, NOW).intent in (Intent.UNKNOWN, Intent.HELP), text


def test_missing_is_a_command_even_as_question() -> None:
    assert parse("还有谁没签到？", NOW).target == "checkin"
    assert parse("谁还没学习呢", NOW).target == "study"


def test_named_checkin_records_the_name_in_extra() -> None:
    assert parse("张伟到", NOW).extra == {"name": "张伟"}


def test_correction_error_without_name() -> None:
    result = parse("补录 签到", NOW)
    assert result.intent is Intent.CORRECTION
    assert result.action == "checkin"
    assert result.error is not None


def test_set_role_and_add_member_fields() -> None:
    role = parse("取消管理员 @赵强", NOW)
    assert (role.name, role.action) == ("赵强", "member")
    member = parse("添加成员 王芳 第二党小组 预备党员 wangfang", NOW)
    assert (member.name, member.group, member.probationary, member.account) == (
        "王芳",
        "第二党小组",
        True,
        "wangfang",
    )


def test_relative_dates_follow_now_not_the_clock() -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    other = datetime(2025, 3, 3, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert parse("昨天志愿服务2小时 植树", other).date == date(2025, 3, 2)
    assert parse("统计 上季度", other).period == "2024-Q4"
