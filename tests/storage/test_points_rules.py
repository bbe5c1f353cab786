"""The points rules file: the shipped defaults, and strict validation with Chinese messages."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

from handlers.parsing.model import MEETING_KINDS
from storage.points_rules import (
    KNOWN_KINDS,
    PointsRulesError,
    default_rules,
    default_text,
    parse_rules,
    show,
)

ROOT = Path(__file__).resolve().parents[2]


def problems(text: str) -> list[str]:
    """The problems `parse_rules` reports for a document."""
    with pytest.raises(PointsRulesError) as caught:
        parse_rules(text)
    return caught.value.problems


def test_storage_knows_the_same_meeting_kinds_as_the_parser() -> None:
    assert KNOWN_KINDS == MEETING_KINDS


def test_default_rules_values() -> None:
    rules = default_rules()
    assert rules.name == "默认积分规则"
    assert (rules.base, rules.floor) == (Decimal(60), Decimal(0))
    assert set(rules.meeting_points) == set(MEETING_KINDS)
    assert rules.meeting_points["党课"] == 2
    assert rules.meeting_points["组织生活会"] == 3
    assert (rules.study_on_time, rules.study_late) == (Decimal(1), Decimal("0.5"))
    assert (rules.volunteer_per_hour, rules.volunteer_max_hours) == (Decimal("0.5"), Decimal(20))
    assert rules.absence_unexcused == -2
    assert rules.makeup_cancels_absence is False
    assert rules.caps == {
        "meetings": Decimal(20),
        "study": Decimal(10),
        "volunteer": Decimal(10),
        "absence": Decimal(10),
    }


def test_default_rules_ship_as_package_data_and_are_documented() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "points_default.yaml" in config["tool"]["setuptools"]["package-data"]["storage"]
    assert default_text() == (ROOT / "storage" / "points_default.yaml").read_text("utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "## 积分规则" in readme
    assert "zhibu points rules set" in readme


def test_every_problem_is_listed_in_chinese() -> None:
    found = problems(
        "base: abc\nmeetings:\n  points: {支委会: 2}\nstudy: {on_time: 1, late: 3}\n"
        "volunteer: {per_hour: 1}\nabsence: {unexcused: 2, makeup_cancels: maybe}\n"
        "caps: {foo: 1}\nextra: 1\n"
    )
    assert (
        "extra：未知的设置项，可用：absence、base、caps、floor、meetings、name、study、volunteer"
        in found
    )
    assert "floor：缺少此项" in found
    assert "base：应为数字，实际为“abc”" in found
    assert any(p.startswith("meetings.points.支委会：未知的会议类型") for p in found)
    assert "study.late：逾期完成的得分不应高于按时完成" in found
    assert "absence.unexcused：应在 -100 到 0 之间，实际为 2" in found
    assert "absence.makeup_cancels：应为 true 或 false，实际为“maybe”" in found
    assert any(p.startswith("caps.foo：未知的类别") for p in found)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "规则文件：应为“键: 值”形式的一组设置"),
        ("- 1\n- 2\n", "规则文件：应为“键: 值”形式的一组设置"),
        ("base: [1\n", "不是有效的 YAML"),
        ("base: .inf\n", "base：应为有限的数字"),
        ("base: true\n", "base：应为数字"),
        ("base: 1.234\n", "base：最多保留两位小数"),
        ("base: 5000\n", "base：应在 0 到 1000 之间"),
        ("base: 10\nfloor: 20\n", "floor：最低分 20 不能高于基础分 10"),
        ("name: ''\n", "name：应为 1–50 字的规则名称"),
    ],
)
def test_bad_values_are_refused(text: str, fragment: str) -> None:
    assert any(fragment in p for p in problems(text)), problems(text)


def test_a_huge_file_is_refused() -> None:
    assert problems("#" * 30_000) == ["规则文件过长（超过 20000 字符）"]


def test_show_drops_trailing_zeros() -> None:
    assert [show(Decimal(v)) for v in ("2.00", "0.50", "-2", "0.00", "-0")] == [
        "2",
        "0.5",
        "-2",
        "0",
        "0",
    ]
