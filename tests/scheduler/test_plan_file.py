"""The plan as YAML: dump → load gives the same items back, and every kind of bad file is refused
with a Chinese message naming the item."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
import yaml

from scheduler.plan import NODE_DAY, PlanItem, generate
from scheduler.plan_file import KNOWN_KINDS, dump_yaml, load_yaml
from scheduler.rules import CalendarSettings

BRANCH = "机关第一支部"
GOOD = {"日期": "2027-03-05", "类型": "党课", "名称": "专题党课"}


def plan_text(*items: object, year: object = 2027) -> str:
    """A plan file holding the given item mappings."""
    data = {"支部": BRANCH, "年度": year, "计划": list(items)}
    return str(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


def test_a_generated_plan_round_trips() -> None:
    plan = generate(CalendarSettings(), 2027, ["第一党小组", "第二党小组"])

    text = dump_yaml(BRANCH, 2027, plan.items)
    year, items = load_yaml(text)

    assert year == 2027
    # The file keeps no 筹备日期: everything else comes back as it was.
    assert items == [replace(item, prepare_on=None) for item in plan.items]
    assert load_yaml(dump_yaml(BRANCH, 2027, items)) == (2027, items)


def test_the_file_is_readable_chinese() -> None:
    items = [
        PlanItem(
            date(2027, 1, 4), "主题党日", "主题党日", moved_from=date(2027, 1, 1), note="顺延"
        ),
        PlanItem(date(2027, 7, 1), NODE_DAY, "七一建党纪念日"),
    ]
    text = dump_yaml(BRANCH, 2027, items)

    assert text.startswith(f"支部: {BRANCH}\n年度: 2027\n计划:\n")
    assert "- 日期: 2027-01-04\n  类型: 主题党日\n  名称: 主题党日\n" in text
    assert "原定日期: 2027-01-01" in text
    assert "类型: 节点日" in text
    assert "\\u" not in text
    for key in ("日期", "类型", "名称", "党小组", "原定日期", "备注"):
        assert text.count(f"  {key}: ") + text.count(f"- {key}: ") == 2


def test_load_sorts_by_date_and_accepts_loose_forms() -> None:
    text = plan_text(
        {"日期": "2027-05-10", "类型": "node_day", "名称": "思廉日"},
        {"日期": "2027-02-03", "类型": "党小组会", "名称": "党小组会", "党小组": "第一党小组"},
        {"日期": "2027-02-01", "类型": " 党课 ", "名称": "党课", "备注": None, "原定日期": ""},
    )
    year, items = load_yaml(text)
    assert year == 2027
    assert [i.date for i in items] == [date(2027, 2, 1), date(2027, 2, 3), date(2027, 5, 10)]
    assert items[0] == PlanItem(date(2027, 2, 1), "党课", "党课")
    assert items[1].group == "第一党小组"
    assert items[2].kind == NODE_DAY


def test_every_known_kind_is_accepted() -> None:
    items = [
        {**GOOD, "类型": kind, "党小组": "第一党小组" if kind == "党小组会" else None}
        for kind in (*KNOWN_KINDS, "节点日")
    ]
    assert len(load_yaml(plan_text(*items))[1]) == len(KNOWN_KINDS) + 1


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({**GOOD, "日期": "2027-13-01"}, "第2项：“日期”应为有效日期"),
        ({**GOOD, "日期": "2027/03/05"}, "第2项：“日期”应为有效日期"),
        ({**GOOD, "日期": "3月5日"}, "第2项：“日期”应为有效日期"),
        ({**GOOD, "日期": "2027-03-05 09:00:00"}, "第2项：“日期”应为有效日期"),
        ({"类型": "党课", "名称": "党课"}, "第2项：缺少“日期”"),
        ({**GOOD, "日期": "2028-01-05"}, "第2项：日期 2028-01-05 不在2027年内"),
        ({**GOOD, "原定日期": "2026-12-31"}, "第2项：原定日期 2026-12-31 不在2027年内"),
        ({**GOOD, "原定日期": "明天"}, "第2项：“原定日期”应为有效日期"),
        ({**GOOD, "类型": "茶话会"}, "第2项：类型“茶话会”不认识"),
        ({"日期": "2027-03-05", "名称": "党课"}, "第2项：缺少“类型”"),
        ({"日期": "2027-03-05", "类型": "党课"}, "第2项：缺少“名称”"),
        ({**GOOD, "名称": "  "}, "第2项：缺少“名称”"),
        ({**GOOD, "名称": ["a"]}, "第2项：“名称”应为文字"),
        ({**GOOD, "类型": "党小组会"}, "第2项：党小组会需要填写“党小组”"),
        ({**GOOD, "日其": "2027-03-05"}, "第2项：不认识的字段“日其”"),
        ("党课 2027-03-05", "第2项：应为含"),
    ],
)
def test_a_bad_item_is_named(item: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_yaml(plan_text(GOOD, item))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("计划: [\n  - 日期", "YAML 格式有误第2行附近"),
        ("- 日期: 2027-03-05", "应包含“年度”和“计划”"),
        ("", "应包含“年度”和“计划”"),
        (plan_text(GOOD, year="二〇二七"), "“年度”应为 2000–2100 之间的年份"),
        (plan_text(GOOD, year=1999), "“年度”应为"),
        (plan_text(GOOD, year=True), "“年度”应为"),
        ("年度: 2027\n计划: []\n", "“计划”应为非空列表"),
        ("年度: 2027\n", "“计划”应为非空列表"),
    ],
)
def test_a_bad_file_is_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_yaml(text)
